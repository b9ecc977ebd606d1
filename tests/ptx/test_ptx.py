"""Every CUDA kernel compiles to PTX for compute capability 8.0 and 9.0, with no GPU.

Each module of ``kernels.cuda`` lists its kernels' signatures in
``PTX_SIGNATURES``; this test fails if a kernel of a module is missing from it,
so no kernel escapes type-checking.  numba-cuda asks the (absent) current
device for its compute capability when it compiles a kernel that calls other
functions: we stand in for the device with the target capability.
"""
import importlib
import pkgutil

import pytest

numba_cuda = pytest.importorskip("numba.cuda")
from numba import cuda  # noqa: E402
from numba.cuda import dispatcher  # noqa: E402

import kernels.cuda as kc  # noqa: E402

MODULES = sorted(m.name for m in pkgutil.iter_modules(kc.__path__))
CCS = [(8, 0), (9, 0)]


def _kernels(mod):
    return {name: obj for name, obj in vars(mod).items()
            if type(obj).__name__ == "CUDADispatcher" and obj.__module__ == mod.__name__}


class _FakeDevice:
    def __init__(self, cc):
        self.compute_capability = cc


def test_every_module_lists_every_kernel():
    assert MODULES, "no CUDA kernel modules found"
    for name in MODULES:
        mod = importlib.import_module(f"kernels.cuda.{name}")
        sigs = getattr(mod, "PTX_SIGNATURES", {})
        missing = set(_kernels(mod)) - set(sigs)
        assert not missing, f"kernels.cuda.{name}: no PTX signature for {sorted(missing)}"


CASES = []
for _name in MODULES:
    _mod = importlib.import_module(f"kernels.cuda.{_name}")
    for _k, _sig in getattr(_mod, "PTX_SIGNATURES", {}).items():
        for _cc in CCS:
            CASES.append(pytest.param(_name, _k, _sig, _cc, id=f"{_name}.{_k}-sm{_cc[0]}{_cc[1]}"))


@pytest.mark.parametrize("module,kernel,sig,cc", CASES)
def test_compiles_to_ptx(module, kernel, sig, cc, monkeypatch):
    monkeypatch.setattr(dispatcher, "get_current_device", lambda: _FakeDevice(cc))
    mod = importlib.import_module(f"kernels.cuda.{module}")
    fn = getattr(mod, kernel).py_func
    ptx, _ = cuda.compile_ptx(fn, sig, cc=cc)
    assert f".target sm_{cc[0]}{cc[1]}" in ptx
    assert ".entry" in ptx
