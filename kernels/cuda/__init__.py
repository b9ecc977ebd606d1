"""CUDA kernels (numba.cuda.jit). Import only when a GPU or the CUDA simulator is in use.

The kernels call the shared scalar cores (plain ``@numba.njit`` functions,
also used by the CPU kernels) through :func:`device`.  On a GPU, and in the
PTX test, ``device`` returns the core itself and numba-cuda compiles it as a
device function.  Under the CUDA simulator kernels run as Python and the
simulator hands them wrapped arrays that compiled code cannot take, so there
``device`` unwraps the arrays and calls the compiled core: the kernels' own
code (indexing, bounds, launch geometry, atomics) runs in the simulator, the
core runs exactly as on the CPU, and PTX compilation type-checks it for CUDA.
"""
import os

_SIM = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def _unwrap(a):
    item = getattr(a, "_item", None)  # FakeWithinKernelCUDAArray -> FakeCUDAArray -> ndarray
    return item._ary if item is not None and hasattr(item, "_ary") else a


def device(fn):
    """``fn`` as callable from a CUDA kernel (see the module docstring)."""
    if not _SIM:
        return fn

    def call(*args):
        return fn(*[_unwrap(a) for a in args])

    call.__name__ = getattr(fn, "__name__", "device_fn")
    call.py_core = fn
    return call


def _stamp_cuda_cache() -> None:
    """numba-cuda keeps its own copy of numba's caching, stamped by mtime: give it the
    kernels tree stamp too (kernels.jit_cache).  numba's built-in numba.cuda uses numba's
    caching, already stamped when ``kernels`` was imported."""
    try:
        from numba.cuda.core import caching
    except ImportError:
        return
    from kernels.jit_cache import install
    install(caching)


_stamp_cuda_cache()
