"""CUDA twin of ``kernels.cpu.text.doc_flaws`` for documents read by cuDF straight into
device memory (engine.gpu.ingest): one thread per document, the same core and codes."""
from __future__ import annotations

from numba import cuda

from kernels import flaws_core
from kernels.cuda import device

doc_flaw = device(flaws_core.doc_flaw)


@cuda.jit(cache=True)
def doc_flaws(data, offsets, flags, check_utf8, out):
    """``out[d]``: FLAW_UTF8 (when ``check_utf8``), FLAW_BLANK, FLAW_NUL or 0, as on the CPU."""
    d = cuda.grid(1)
    if d < out.size:
        out[d] = doc_flaw(data, offsets[d], offsets[d + 1], flags, check_utf8)


PTX_SIGNATURES = {"doc_flaws": "void(uint8[::1], int64[::1], uint8[::1], boolean, int8[::1])"}
