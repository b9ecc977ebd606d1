"""CPU kernel of the host reader's document check fast path (``engine.corpus.stats``)."""
from __future__ import annotations

import numpy as np
from numba import njit

from kernels.constants import FLAW_BLANK
from kernels.text_core import is_blank


@njit(cache=True, nogil=True)
def blank_flaws(data, offsets, flags):
    """Per document (int8): FLAW_BLANK when ``data[offsets[d]:offsets[d + 1]]`` is empty or
    only whitespace (``is_blank``), else 0.

    ``kernels.cpu.text.doc_flaws`` without its UTF-8 check, for documents known to hold no
    NUL byte (the caller checked their bytes at once, SIMD-fast): then the codes are equal.
    ``is_blank`` stops at a document's first non-space code point, so the cost is a few
    bytes per document; serial, because a parallel launch per Arrow chunk of ~1 MB costs
    more than that (much more on a loaded machine, where it waits for a descheduled worker).
    """
    nd = offsets.size - 1
    out = np.zeros(nd, np.int8)
    for d in range(nd):
        if is_blank(data, offsets[d], offsets[d + 1], flags):
            out[d] = FLAW_BLANK
    return out

