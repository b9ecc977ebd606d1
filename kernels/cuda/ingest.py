"""CUDA twin of ``kernels.cpu.text.doc_flaws`` for documents read by cuDF straight into
device memory (engine.gpu.ingest): one thread per document, the same cores and codes."""
from __future__ import annotations

from numba import cuda

from kernels import hashing, text_core
from kernels.constants import FLAW_BLANK, FLAW_NUL, FLAW_UTF8
from kernels.cuda import device

is_blank = device(text_core.is_blank)
utf8_error = device(hashing.utf8_error)


@cuda.jit(cache=True)
def doc_flaws(data, offsets, flags, check_utf8, out):
    """``out[d]``: FLAW_UTF8 (when ``check_utf8``), FLAW_BLANK, FLAW_NUL or 0, as on the CPU."""
    d = cuda.grid(1)
    if d < out.size:
        s = offsets[d]
        e = offsets[d + 1]
        out[d] = 0
        if check_utf8 and utf8_error(data, s, e) >= 0:
            out[d] = FLAW_UTF8
        elif is_blank(data, s, e, flags):
            out[d] = FLAW_BLANK
        else:
            for i in range(s, e):
                if data[i] == 0:
                    out[d] = FLAW_NUL
                    break


PTX_SIGNATURES = {"doc_flaws": "void(uint8[::1], int64[::1], uint8[::1], boolean, int8[::1])"}
