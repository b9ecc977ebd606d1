"""Backends: the same kernel calls on the CPU (numpy + numba njit) or a GPU (cupy + numba.cuda).

``get_backend("auto" | "cpu" | "gpu")``.  Nothing here imports cupy or
numba.cuda at module level: the GPU is probed only when asked for.  Under the
CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, tests only) ``gpu`` runs the real
numba.cuda kernels in the simulator with numpy as array module; ``auto`` never
picks the simulator.
"""
from __future__ import annotations

import os
from functools import cached_property

import numpy as np

from engine.errors import ParameterError

__all__ = ["Backend", "CPUBackend", "GPUBackend", "BackendUnavailable", "get_backend",
           "gpu_status", "simulator_enabled"]

DEVICES = ("auto", "cpu", "gpu")


class BackendUnavailable(RuntimeError):
    """The requested device cannot be used (message is one line for the user)."""


def simulator_enabled() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def _cuda_driver_present() -> bool:
    """Cheap check for the CUDA driver library, before paying for importing numba.cuda (~0.6 s)."""
    import ctypes.util
    if ctypes.util.find_library("cuda"):
        return True
    return any(os.path.exists(p) for p in ("/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib64/libcuda.so.1",
                                           "/usr/lib/aarch64-linux-gnu/libcuda.so.1", "/usr/lib/wsl/lib/libcuda.so.1",
                                           "/usr/local/cuda/compat/libcuda.so.1"))


def gpu_status() -> tuple[bool, str]:
    """(usable, description): a real GPU usable through both numba.cuda and cupy."""
    if simulator_enabled():
        return False, "CUDA simulator (NUMBA_ENABLE_CUDASIM=1), not a real GPU"
    if not os.environ.get("NUMBA_CUDA_DRIVER") and not _cuda_driver_present():
        return False, "no CUDA driver (libcuda) on this machine"
    try:
        from numba import cuda
        if not cuda.is_available():
            return False, "numba.cuda finds no CUDA driver/device"
    except Exception as e:  # numba-cuda missing or broken
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
    except Exception as e:
        return False, f"cupy cannot use a GPU ({type(e).__name__})"


class Backend:
    """Array module plus the text kernels, with the same signatures on every device."""
    name = "base"
    xp = np

    def asarray(self, a):
        return self.xp.asarray(a)

    def to_host(self, a) -> np.ndarray:
        return np.asarray(a)

    def tables(self, t):
        """The normalisation tables of ``t`` as backend arrays (flags, map_off, map_len, map_cps)."""
        return (t.flags, t.map_off, t.map_len, t.map_cps)

    def describe(self) -> str:
        return self.name


class CPUBackend(Backend):
    name = "cpu"
    xp = np

    @cached_property
    def k(self):
        from kernels.cpu import text
        return text

    def norm_tok_counts(self, data, offsets, t):
        return self.k.norm_tok_counts(data, offsets, t.flags, t.map_off, t.map_len, t.map_cps)

    def norm_tok_write(self, data, offsets, t, lens, out_offsets, out, tok_offsets, tok_start,
                       tok_len, tok_nch, tok_hash):
        self.k.norm_tok_write(data, offsets, t.flags, t.map_off, t.map_len, t.map_cps, lens,
                              out_offsets, out, tok_offsets, tok_start, tok_len, tok_nch, tok_hash)

    def word_ngrams(self, tok_hash, tok_offsets, n, out_offsets, out_hash, out_first):
        self.k.word_ngrams(tok_hash, tok_offsets, n, out_offsets, out_hash, out_first)

    def codepoint_counts(self, norm, offsets):
        return self.k.codepoint_counts(norm, offsets)

    def char_ngrams(self, norm, offsets, n, out_offsets, out_hash, out_start, out_len):
        self.k.char_ngrams(norm, offsets, n, out_offsets, out_hash, out_start, out_len)

    def describe(self) -> str:
        import numba
        return f"cpu (numba {numba.__version__}, {numba.get_num_threads()} threads)"


class GPUBackend(Backend):
    """numba.cuda kernels with cupy arrays, or numpy arrays under the simulator."""
    name = "gpu"
    THREADS = 128

    def __init__(self, simulated: bool = False):
        self.simulated = simulated
        if simulated:
            self.xp = np
        else:
            import cupy
            self.xp = cupy
        self._tables: dict = {}

    def asarray(self, a):
        # A transfer to the device is a copy; under the simulator too (it writes
        # every argument back after a launch, so read-only host buffers must not be passed).
        return np.array(a) if self.simulated else self.xp.asarray(a)

    def to_host(self, a) -> np.ndarray:
        if self.simulated or isinstance(a, np.ndarray):
            return np.asarray(a)
        return self.xp.asnumpy(a)

    @cached_property
    def k(self):
        from kernels.cuda import text
        return text

    def launch(self, kernel, n, *args):
        if n <= 0:
            return
        threads = min(self.THREADS, n) if self.simulated else self.THREADS
        blocks = (n + threads - 1) // threads
        kernel[blocks, threads](*args)

    def tables(self, t):
        key = id(t)
        if key not in self._tables:
            self._tables[key] = (t, tuple(self.asarray(a) for a in (t.flags, t.map_off, t.map_len, t.map_cps)))
        return self._tables[key][1]

    def norm_tok_counts(self, data, offsets, t):
        nd = offsets.size - 1
        xp = self.xp
        lens, ntok = xp.empty(nd, np.int64), xp.empty(nd, np.int64)
        self.launch(self.k.norm_tok_counts, nd, data, offsets, *self.tables(t), xp.empty(1, np.uint8),
                    xp.empty(1, np.int64), xp.empty(1, np.int32), xp.empty(1, np.uint64), lens, ntok)
        return lens, ntok

    def norm_tok_write(self, data, offsets, t, lens, out_offsets, out, tok_offsets, tok_start,
                       tok_len, tok_nch, tok_hash):
        self.launch(self.k.norm_tok_write, offsets.size - 1, data, offsets, *self.tables(t), lens,
                    out_offsets, out, tok_offsets, tok_start, tok_len, tok_nch, tok_hash)

    def word_ngrams(self, tok_hash, tok_offsets, n, out_offsets, out_hash, out_first):
        self.launch(self.k.word_ngrams, tok_offsets.size - 1, tok_hash, tok_offsets, np.int64(n),
                    out_offsets, out_hash, out_first)

    def codepoint_counts(self, norm, offsets):
        out = self.xp.empty(offsets.size - 1, np.int64)
        self.launch(self.k.codepoint_counts, offsets.size - 1, norm, offsets, out)
        return out

    def char_ngrams(self, norm, offsets, n, out_offsets, out_hash, out_start, out_len):
        self.launch(self.k.char_ngrams, offsets.size - 1, norm, offsets, np.int64(n),
                    out_offsets, out_hash, out_start, out_len)

    def describe(self) -> str:
        if self.simulated:
            return "gpu (CUDA simulator)"
        return f"gpu ({gpu_status()[1]})"


def get_backend(device: str = "auto") -> Backend:
    """The backend for ``device`` (``auto``, ``cpu``, ``gpu``, or a Backend, returned as is).

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
        return GPUBackend(simulated=True)
    ok, why = gpu_status()
    if ok:
        return GPUBackend()
    if device == "gpu":
        raise BackendUnavailable(f"--device gpu: no usable GPU: {why}")
    return CPUBackend()
