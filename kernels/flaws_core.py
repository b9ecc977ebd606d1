"""Per-document core of the reader's flaw rules, shared by the CPU twin
(``kernels.cpu.text.doc_flaws``, a ``prange`` over documents) and the CUDA twin
(``kernels.cuda.ingest.doc_flaws``, a thread a document, for documents cuDF read into
device memory): the same codes (kernels.constants) on both."""
from __future__ import annotations

from numba import njit

from kernels.constants import FLAW_BLANK, FLAW_NUL, FLAW_UTF8
from kernels.hashing import utf8_error
from kernels.text_core import is_blank


@njit(cache=True)
def doc_flaw(data, s, e, flags, check_utf8):
    """FLAW_UTF8 when ``data[s:e]`` is not valid UTF-8 (checked with ``check_utf8``: Python's
    strict decoder's rules), FLAW_BLANK when empty or only whitespace, FLAW_NUL when it holds
    a NUL byte, else 0."""
    if check_utf8 and utf8_error(data, s, e) >= 0:
        return FLAW_UTF8
    if is_blank(data, s, e, flags):   # NUL is not whitespace: a blank document has none
        return FLAW_BLANK
    for i in range(s, e):
        if data[i] == 0:
            return FLAW_NUL
    return 0
