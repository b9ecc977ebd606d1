"""CUDA twin of the JSONL chunk check (engine.gpu.jsonl_check): one thread per line around
the shared core, the same codes as ``kernels.cpu.jsonl_check``."""
from __future__ import annotations

from numba import cuda

from kernels import jsonl_core
from kernels.cuda import device

line_flaw = device(jsonl_core.line_flaw)


@cuda.jit(cache=True)
def line_flaws(data, ends, end, text_pat, id_pat, out):
    """``out[l]``: the flaw code of line ``l`` of the chunk ``data[:end]``, as on the CPU."""
    line = cuda.grid(1)
    if line < out.size:
        s = 0 if line == 0 else ends[line - 1] + 1
        e = ends[line] if line < ends.size else end
        out[line] = line_flaw(data, s, e, end, text_pat, id_pat)


PTX_SIGNATURES = {"line_flaws": "void(uint8[::1], int64[::1], int64, uint8[::1], uint8[::1], int8[::1])"}
