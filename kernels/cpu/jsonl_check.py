"""CPU twin of the JSONL chunk check: ``prange`` over lines around the shared core
(``kernels.jsonl_core.line_flaw``)."""
from __future__ import annotations

from numba import njit, prange

from kernels.jsonl_core import line_flaw


@njit(parallel=True, cache=True)
def line_flaws(data, ends, end, text_pat, id_pat, out):
    """``out[l]``: the flaw code of line ``l`` of the chunk ``data[:end]`` (newlines at
    ``ends``; a last line without one when ``out.size > ends.size``), 0 when it has none."""
    for line in prange(out.size):
        s = 0 if line == 0 else ends[line - 1] + 1
        e = ends[line] if line < ends.size else end
        out[line] = line_flaw(data, s, e, end, text_pat, id_pat)
