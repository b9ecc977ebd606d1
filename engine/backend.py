"""Backends: the same kernel calls on the CPU (numpy + numba njit) or a GPU (cupy + numba.cuda).

``get_backend("auto" | "cpu" | "gpu")``.  Nothing here imports cupy or numba.cuda at
module level: the GPU is probed only when asked for.  Under the CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, tests only) ``gpu`` runs the real numba.cuda kernels in the
simulator with the strict array module (:mod:`engine.gpu.strict_xp`) as ``xp``; ``auto``
never picks the simulator.

One dispatch mechanism for everything that differs by device:

* ``backend.kernels.<module>.<name>(n, *args)``: the twin of kernel ``<name>`` of
  ``kernels.cpu.<module>`` or ``kernels.cuda.<module>``, launched over ``n`` items (a grid
  of ``n`` threads on a GPU; the njit twin parallelises itself on the CPU).  Twins take the
  same arguments, outputs included.
* ``backend.pick(cpu=..., gpu=...)``: the device's own version of a step whose algorithm
  differs (the CPU fuses whole passes per thread where the GPU chains kernels).

Every copy between host and device goes through :meth:`Backend.to_device` and
:meth:`Backend.to_host`, which count the bytes (:meth:`Backend.count_into` adds them to a
job's :class:`engine.stats.JobStats`).
"""
from __future__ import annotations

import contextlib
import importlib
import os
from functools import cached_property

import numpy as np

from engine.errors import ParameterError

__all__ = ["Backend", "CPUBackend", "GPUBackend", "BackendUnavailable", "get_backend",
           "gpu_status", "simulator_enabled", "set_gpu_memory"]

DEVICES = ("auto", "cpu", "gpu")


class BackendUnavailable(RuntimeError):
    """The requested device cannot be used (message is one line for the user)."""


def simulator_enabled() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


#: where numba.cuda itself looks for the driver (numba_cuda's ``locate_driver_and_loader``):
#: the names through the dynamic loader (ld.so cache, ``LD_LIBRARY_PATH``), then two folders
CUDA_DRIVER_CANDIDATES = {"linux": ("libcuda.so", "libcuda.so.1", "/usr/lib/libcuda.so", "/usr/lib/libcuda.so.1",
                                    "/usr/lib64/libcuda.so", "/usr/lib64/libcuda.so.1"),
                          "win32": ("nvcuda.dll",),
                          "darwin": ("libcuda.dylib", "/usr/local/cuda/lib/libcuda.dylib")}


def _cuda_driver_present() -> bool:
    """Cheap check for the CUDA driver library, before paying for importing numba.cuda (~0.6 s).

    ``NUMBA_CUDA_DRIVER`` (numba's own override) first, then the libraries numba.cuda would
    load, opened directly: ``ctypes.util.find_library`` runs ``ldconfig``, ``gcc`` and ``ld``
    in subprocesses (20-50 ms of every ``--device auto`` command on a machine without GPU).
    """
    import ctypes
    import sys
    if os.environ.get("NUMBA_CUDA_DRIVER"):
        return True
    loader = getattr(ctypes, "WinDLL", ctypes.CDLL) if sys.platform == "win32" else ctypes.CDLL
    for name in CUDA_DRIVER_CANDIDATES.get(sys.platform, CUDA_DRIVER_CANDIDATES["linux"]):
        try:
            loader(name)
            return True
        except OSError:
            continue
    return False


def gpu_status() -> tuple[bool, str]:
    """(usable, description): a real GPU usable through both numba.cuda and cupy."""
    if simulator_enabled():
        return False, "CUDA simulator (NUMBA_ENABLE_CUDASIM=1), not a real GPU"
    if not _cuda_driver_present():
        return False, "no CUDA driver (libcuda) on this machine"
    try:
        from numba import cuda
        if not cuda.is_available():
            return False, "numba.cuda finds no CUDA driver/device"
    except Exception as e:  # numba-cuda missing or broken: any failure means "not usable"
        return False, f"numba.cuda unusable ({type(e).__name__}: {e})"
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return False, "cupy sees no CUDA device"
        props = cupy.cuda.runtime.getDeviceProperties(0)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        return True, f"{name}, {props['totalGlobalMem'] / 2**30:.1f} GiB"
    except ImportError:
        return False, "cupy is not installed (pip install 'corpus-engine[gpu]')"
    except Exception as e:  # cupy raises CUDARuntimeError and others: the probe's answer is "no"
        return False, f"cupy cannot use a GPU ({type(e).__name__})"


# ---------------------------------------------------------------------------- kernel dispatch
def _cpu_norm_tok_counts(data, offsets, flags, map_off, map_len, map_cps, d8, d64, d32, dh, lens, ntok):
    lens[:], ntok[:] = _cpu_text().norm_tok_counts(data, offsets, flags, map_off, map_len, map_cps)


def _cpu_codepoint_counts(norm, offsets, out):
    out[:] = _cpu_text().codepoint_counts(norm, offsets)


def _cpu_text():
    from kernels.cpu import text
    return text


# The two CPU twins that return their outputs instead of writing into given ones, as the
# CUDA twins must: adapted here so that every caller has one signature.
CPU_ADAPTERS = {("text", "norm_tok_counts"): _cpu_norm_tok_counts,
                ("text", "codepoint_counts"): _cpu_codepoint_counts}


class _KernelModule:
    """The launchers of one kernel module of a backend (``backend.kernels.minhash``)."""

    def __init__(self, backend: "Backend", module: str):
        self._backend, self._module = backend, module
        self._mod = importlib.import_module(f"kernels.{backend.kernel_package}.{module}")

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        launch = self._backend._launcher(self._module, name, self._mod)
        setattr(self, name, launch)   # resolved once per backend
        return launch


class _Kernels:
    def __init__(self, backend: "Backend"):
        self._backend = backend

    def __getattr__(self, module: str) -> _KernelModule:
        if module.startswith("_"):
            raise AttributeError(module)
        mod = _KernelModule(self._backend, module)
        setattr(self, module, mod)
        return mod


class Backend:
    """Array module, kernel dispatch and counted host/device copies (see the module docstring)."""
    name = "base"
    xp = np
    simulated = False

    def __init__(self):
        self.h2d_bytes = 0
        self.d2h_bytes = 0
        self.scalar_bytes = 0    # of d2h_bytes: one-value reads (scalar), a synchronisation each

    @cached_property
    def kernels(self) -> _Kernels:
        """``kernels.<module>.<name>(n, *args)``: the device's twin of a kernel, launched over ``n``."""
        return _Kernels(self)

    def pick(self, cpu, gpu):
        """This device's version of a step (``cpu`` or ``gpu``)."""
        raise NotImplementedError

    def _launcher(self, module: str, name: str, mod):
        raise NotImplementedError

    # -- copies ------------------------------------------------------------------------
    def to_device(self, a):
        """``a`` (host array) on the device; the copy is counted (none on the CPU)."""
        return np.asarray(a)

    asarray = to_device

    def to_host(self, a) -> np.ndarray:
        """``a`` (device array) as a host numpy array; the copy is counted (none on the CPU)."""
        return np.asarray(a)

    def scalar(self, a):
        """The value of a one-element device array (a size, a flag, a maximum) as a Python
        scalar: a counted copy of its bytes (``int(a)`` of a CuPy array would read it too,
        uncounted; the strict array module refuses that).  A host value is returned as is."""
        if isinstance(a, (int, float, bool)):
            return a
        if isinstance(a, np.generic):
            return a.item()
        before = self.d2h_bytes
        value = self.to_host(a).reshape(()).item()
        self.scalar_bytes += self.d2h_bytes - before   # the share of d2h_bytes that were such reads
        return value

    def copied(self) -> tuple[int, int]:
        """(host-to-device, device-to-host) bytes copied so far."""
        return self.h2d_bytes, self.d2h_bytes

    def charge(self, stats, since: tuple[int, int]) -> None:
        """Add the bytes copied each way after ``since`` (from :meth:`copied`) to ``stats``."""
        stats.host_to_device_bytes += self.h2d_bytes - since[0]
        stats.device_to_host_bytes += self.d2h_bytes - since[1]

    @contextlib.contextmanager
    def count_into(self, stats):
        """Add the bytes copied each way inside the ``with`` block to ``stats`` (a JobStats)."""
        since = self.copied()
        try:
            yield stats
        finally:
            self.charge(stats, since)

    def device_free_bytes(self) -> int | None:
        """Free memory of the device (None: the host's, or unknown)."""
        return None

    def memory_budget(self) -> int | None:
        """Device memory a bounded step may plan for (None: no device budget)."""
        return None

    # -- text kernels with their outputs allocated (one implementation for every device) --
    def tables(self, t):
        """The normalisation tables of ``t`` as backend arrays (flags, map_off, map_len, map_cps)."""
        return (t.flags, t.map_off, t.map_len, t.map_cps)

    def norm_tok_counts(self, data, offsets, t):
        """(normalised bytes, tokens) per document; -1 bytes: the document needs the slow path."""
        xp, nd = self.xp, int(offsets.size) - 1
        lens, ntok = xp.empty(nd, np.int64), xp.empty(nd, np.int64)
        self.kernels.text.norm_tok_counts(nd, data, offsets, *self.tables(t), xp.empty(1, np.uint8),
                                          xp.empty(1, np.int64), xp.empty(1, np.int32),
                                          xp.empty(1, np.uint64), lens, ntok)
        return lens, ntok

    def norm_tok_write(self, data, offsets, t, lens, out_offsets, out, tok_offsets, tok_start,
                       tok_len, tok_nch, tok_hash):
        self.kernels.text.norm_tok_write(int(offsets.size) - 1, data, offsets, *self.tables(t), lens,
                                         out_offsets, out, tok_offsets, tok_start, tok_len, tok_nch, tok_hash)

    def word_ngrams(self, tok_hash, tok_offsets, n, out_offsets, out_hash, out_first):
        self.kernels.text.word_ngrams(int(tok_offsets.size) - 1, tok_hash, tok_offsets, np.int64(n),
                                      out_offsets, out_hash, out_first)

    def codepoint_counts(self, norm, offsets):
        out = self.xp.empty(int(offsets.size) - 1, np.int64)
        self.kernels.text.codepoint_counts(out.size, norm, offsets, out)
        return out

    def char_ngrams(self, norm, offsets, n, out_offsets, out_hash, out_start, out_len):
        self.kernels.text.char_ngrams(int(offsets.size) - 1, norm, offsets, np.int64(n),
                                      out_offsets, out_hash, out_start, out_len)

    def describe(self) -> str:
        return self.name


class CPUBackend(Backend):
    name = "cpu"
    kernel_package = "cpu"
    xp = np

    def pick(self, cpu, gpu):
        return cpu

    def _launcher(self, module, name, mod):
        fn = CPU_ADAPTERS.get((module, name)) or getattr(mod, name)

        def launch(n, *args):   # n: the GPU's grid; the njit twin splits its own loop
            return fn(*args)
        launch.__name__ = name
        return launch

    def describe(self) -> str:
        import numba
        return f"cpu (numba {numba.__version__}, {numba.get_num_threads()} threads)"


class GPUBackend(Backend):
    """numba.cuda kernels with cupy arrays; under the simulator, the strict array module.

    Parameters
    ----------
    simulated : run in the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1`` must be set).
    strict : under the simulator, arrays of :mod:`engine.gpu.strict_xp` (what CuPy refuses is
        refused, copies are counted); ``False``: plain numpy arrays, for tests that launch
        kernels on host arrays directly.
    memory : the device memory the jobs' bounded steps may plan for (``"8GB"``, bytes);
        default (None): :func:`set_gpu_memory`'s (the CLI's ``--gpu-memory``), else the
        ``CORPUS_GPU_MEMORY`` environment variable, else ``MEMORY_FRACTION`` of the memory
        free when asked.

    The bounds on one thread's work (long documents split, :mod:`engine.gpu.split`) are
    read from the ``CORPUS_GPU_SPLIT`` environment variable
    (:meth:`engine.gpu.split.SplitParams.parse`; a bad value is a ParameterError).
    """
    name = "gpu"
    kernel_package = "cuda"
    THREADS = 128
    MEMORY_FRACTION = 0.5

    def __init__(self, simulated: bool = False, strict: bool = True, memory=None):
        super().__init__()
        self.simulated = simulated
        self.strict = simulated and strict
        if memory is None:
            memory = _GPU_MEMORY[0] if _GPU_MEMORY[0] is not None else os.environ.get("CORPUS_GPU_MEMORY")
        self.memory = None if memory is None else _parse_gpu_memory(memory)
        from engine.gpu.split import SplitParams  # numpy only; read now: a bad value fails at once
        self.split_params = SplitParams.from_environment()
        if not simulated:
            import cupy
            self.xp = cupy
        elif self.strict:
            from engine.gpu.strict_xp import StrictXP
            self.xp = StrictXP
        else:
            self.xp = np
        self._tables: dict = {}

    def pick(self, cpu, gpu):
        return gpu

    # -- copies ------------------------------------------------------------------------
    def _on_device(self, a) -> bool:
        if self.strict:
            from engine.gpu.strict_xp import StrictArray
            return isinstance(a, StrictArray)
        if self.simulated:
            return False
        return isinstance(a, self.xp.ndarray)

    def to_device(self, a):
        if self._on_device(a):
            return a
        # A copy, under the simulator too (it writes every argument back after a launch,
        # so read-only host buffers must not be passed).
        host = np.array(a) if self.simulated else np.ascontiguousarray(a)
        self.h2d_bytes += host.nbytes
        if self.strict:
            from engine.gpu.strict_xp import StrictArray
            return StrictArray(host)
        return host if self.simulated else self.xp.asarray(host)

    asarray = to_device

    def to_host(self, a) -> np.ndarray:
        if isinstance(a, np.ndarray) and not self.simulated:
            return a
        if self.strict:
            from engine.gpu.strict_xp import StrictArray
            if not isinstance(a, StrictArray):
                return np.asarray(a)     # already a host array: no copy
            out = a._a.copy()
        elif self.simulated:
            out = np.asarray(a)
        else:
            out = self.xp.asnumpy(a)
        self.d2h_bytes += out.nbytes
        return out

    def device_free_bytes(self) -> int | None:
        if self.simulated:
            return None
        # blocks cupy's pool holds for reuse are free to this process too
        return int(self.xp.cuda.Device().mem_info[0]) + int(self.xp.get_default_memory_pool().free_bytes())

    def memory_budget(self) -> int | None:
        """Bytes of device memory a bounded step may plan for: ``memory`` when given, else
        ``MEMORY_FRACTION`` of the free memory (None under the simulator: no device)."""
        if self.memory is not None:
            return self.memory
        free = self.device_free_bytes()
        return None if free is None else int(free * self.MEMORY_FRACTION)

    # -- kernels ------------------------------------------------------------------------
    def _launcher(self, module, name, mod):
        kernel = getattr(mod, name)

        def launch(n, *args):
            self.launch(kernel, n, *args)
        launch.__name__ = name
        return launch

    def launch(self, kernel, n, *args):
        """``kernel`` over ``n`` threads (blocks of ``THREADS``); nothing when ``n`` is 0."""
        n = int(n)
        if n <= 0:
            return
        if self.strict:
            args = [self._kernel_arg(a) for a in args]
        threads = min(self.THREADS, n) if self.simulated else self.THREADS
        blocks = (n + threads - 1) // threads
        kernel[blocks, threads](*args)

    @staticmethod
    def _kernel_arg(a):
        from engine.gpu.strict_xp import StrictArray, StrictError
        if isinstance(a, StrictArray):
            return a._a
        if isinstance(a, np.ndarray):
            raise StrictError(f"a host array {a.dtype}{list(a.shape)} passed to a kernel (numba would copy "
                              "it both ways behind the backend's back: backend.to_device it first)")
        return a

    # -- text kernels: long documents split into parts (engine.gpu.split) ----------------
    @cached_property
    def splitter(self):
        """The split steps (``splitter.params``: an :class:`engine.gpu.split.SplitParams`)."""
        from engine.gpu.split import TextSplitter
        return TextSplitter(self, self.split_params)

    def norm_tok_counts(self, data, offsets, t):
        r = self.splitter.norm_tok_counts(data, offsets, self.tables(t))
        return super().norm_tok_counts(data, offsets, t) if r is None else r

    def norm_tok_write(self, data, offsets, t, lens, out_offsets, out, tok_offsets, tok_start,
                       tok_len, tok_nch, tok_hash):
        if not self.splitter.norm_tok_write(data, offsets, self.tables(t), lens, out_offsets, out,
                                            tok_offsets, tok_start, tok_len, tok_nch, tok_hash):
            super().norm_tok_write(data, offsets, t, lens, out_offsets, out, tok_offsets, tok_start,
                                   tok_len, tok_nch, tok_hash)

    def word_ngrams(self, tok_hash, tok_offsets, n, out_offsets, out_hash, out_first):
        if not self.splitter.word_ngrams(tok_hash, tok_offsets, n, out_offsets, out_hash, out_first):
            super().word_ngrams(tok_hash, tok_offsets, n, out_offsets, out_hash, out_first)

    def codepoint_counts(self, norm, offsets):
        r = self.splitter.codepoint_counts(norm, offsets)
        return super().codepoint_counts(norm, offsets) if r is None else r

    def char_ngrams(self, norm, offsets, n, out_offsets, out_hash, out_start, out_len):
        if not self.splitter.char_ngrams(norm, offsets, n, out_offsets, out_hash, out_start, out_len):
            super().char_ngrams(norm, offsets, n, out_offsets, out_hash, out_start, out_len)

    def tables(self, t):
        key = id(t)
        if key not in self._tables:
            self._tables[key] = (t, tuple(self.to_device(a) for a in (t.flags, t.map_off, t.map_len, t.map_cps)))
        return self._tables[key][1]

    def describe(self) -> str:
        if self.simulated:
            return "gpu (CUDA simulator" + (", strict array module)" if self.strict else ")")
        return f"gpu ({gpu_status()[1]})"


_GPU_MEMORY: list = [None]   # set_gpu_memory's bytes, the default of every GPUBackend made after


def set_gpu_memory(spec) -> None:
    """The default memory budget of GPU backends made from now on (``"8GB"``; None: unset).

    Raises
    ------
    engine.errors.ParameterError
        ``spec`` is not a size (``gpu_memory must be a size like 512MB or 4GB``).
    """
    _GPU_MEMORY[0] = None if spec is None else _parse_gpu_memory(spec)


def _parse_gpu_memory(spec) -> int:
    from engine.ngrams.config import parse_memory
    try:
        return parse_memory(spec)
    except ParameterError as e:
        raise ParameterError(str(e).replace("memory", "gpu_memory", 1), param="gpu_memory") from None


def get_backend(device: str = "auto", gpu_memory=None) -> Backend:
    """The backend for ``device`` (``auto``, ``cpu``, ``gpu``, or a Backend, returned as is).

    ``gpu_memory``: the GPU backend's memory budget (see :class:`GPUBackend`).

    Raises
    ------
    engine.errors.ParameterError
        An unknown device name: a bad parameter (CLI exit 2).
    BackendUnavailable
        ``gpu`` with no usable GPU: the machine, not the parameter, is at fault (exit 1).
    """
    if isinstance(device, Backend):
        return device
    if device not in DEVICES:
        raise ParameterError(f"--device must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "cpu":
        return CPUBackend()
    if device == "gpu" and simulator_enabled():
        return GPUBackend(simulated=True, memory=gpu_memory)
    ok, why = gpu_status()
    if ok:
        return GPUBackend(memory=gpu_memory)
    if device == "gpu":
        raise BackendUnavailable(f"--device gpu: no usable GPU: {why}")
    return CPUBackend()
