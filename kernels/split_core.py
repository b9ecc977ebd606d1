"""Scalar cores for splitting long documents into independent GPU work units.

The CUDA text kernels run one thread per work unit; when that unit is a whole document, the
longest document of a batch keeps one thread busy while the rest of the device idles.  These
cores let the GPU glue (``engine.gpu.split``) cut the work at points where the per-document
cores of :mod:`kernels.text_core` carry no state across, so that running a core on each part
and concatenating gives exactly what the core gives on the whole document.

Why a cut is exact (``normalize_tokenize_doc``)
-----------------------------------------------
Between two code points the tokenizer's whole state is: the output position ``j`` and token
index ``k`` (positional: a segment starts at the output and token offsets the previous
segments end at), the token in progress (``ts``, ``nch``), and ``prev_space`` (the last
normalised code point written was whitespace; collapses runs).  Mappings of several code
points are applied inside the step of the one code point they come from, nothing looks ahead,
and a context-sensitive (UNSAFE) code point sends the whole document to the slow path
wherever it is.  A segment starts in the state ``ts = -1, prev_space = False``.  The state
at a position ``c`` reached from the document's start equals that initial state when the last
normalised code point before ``c`` is neither \\w nor \\s (rule a: the token is closed,
``prev_space`` is False).  When that code point is \\s (rule b) ``ts = -1`` but
``prev_space`` is True; it is read only by the next \\s code point written, so the states are
equivalent when the first normalised code point after ``c`` is not \\s (it resets
``prev_space`` on both sides before anything reads it).  The two parts also decode the same
code points: the decoder (``kernels.hashing.utf8_next``) consumes only continuation bytes
(80-BF) after a sequence's first byte, so every other byte starts a code point, and a
sequence that ends at ``c`` in the whole document decodes identically with the range cut at
``c`` (a byte at ``c`` that ends it early ends it at the same length as the cut does).

:func:`quiet_cut` looks for the first such position in a window; ``-1`` when there is none (a
run of word characters, a document that is one token): the segment then extends to the next
window's cut.
"""
from __future__ import annotations

from numba import njit

from kernels.constants import IDENT, SPACE, WORD
from kernels.hashing import utf8_decode
from kernels.text_core import _cp_end


@njit(cache=True)
def image_ends(cp, flags, map_off, map_len, map_cps):
    """(first, last) code point of ``cp``'s normalised image (the tables' mapping), or
    (-1, -1) when it maps to nothing."""
    if flags[cp] & IDENT:
        return cp, cp
    m = map_len[cp]
    if m == 0:
        return -1, -1
    a = map_off[cp]
    return map_cps[a], map_cps[a + m - 1]


@njit(cache=True)
def quiet_cut(data, lo, hi, e, flags, map_off, map_len, map_cps):
    """First position ``c`` (``lo < c < e``) ending a code point that starts in ``data[lo:hi]``
    where the document ``data[..:e]`` can be cut exactly (rules a and b of the module
    docstring); -1 when there is none.

    Code points are delimited from the first byte of ``data[lo:hi]`` that is not a
    continuation byte (it starts a code point of the whole document, see the module
    docstring), decoding with the document's end ``e`` as the whole-document pass does.
    Windows ``[lo, hi)`` that do not overlap give strictly increasing cuts.
    """
    i = lo
    while i < hi and (data[i] & 0xC0) == 0x80:
        i += 1
    while i < hi:
        cp, n = utf8_decode(data, i, e)
        c = i + n
        if c >= e:
            return -1
        first, last = image_ends(cp, flags, map_off, map_len, map_cps)
        if last >= 0:
            fl = flags[last]
            if not (fl & (WORD | SPACE)):
                return c                                    # rule a
            if (fl & SPACE) and not (fl & WORD):
                y, _ = utf8_decode(data, c, e)
                fy, _ = image_ends(y, flags, map_off, map_len, map_cps)
                if fy >= 0 and not (flags[fy] & SPACE):
                    return c                                # rule b
        i = c
    return -1


@njit(cache=True)
def char_window_end(norm, bs, be, e, n):
    """Where :func:`kernels.text_core.char_ngrams_doc` must stop reading for the windows of
    ``n`` code points that start in ``norm[bs:be]`` of the document ending at ``e``.

    That is the end of the window of the last code point starting in ``[bs, be)`` (or ``e``
    when it does not fit): called on ``norm[bs:end]``, ``char_ngrams_doc`` then writes exactly
    the windows starting there, with the bytes it writes for them on the whole document (code
    points start at every byte that is not a continuation byte, and a window's end read with
    the bound ``end`` is the one read with ``e``: ``end`` is a code point boundary).  ``bs``
    when no code point starts in the range.
    """
    p = be - 1
    while p >= bs and (norm[p] & 0xC0) == 0x80:
        p -= 1
    if p < bs:
        return bs
    j = p
    c = 0
    while c < n and j < e:
        j = _cp_end(norm, j, e)
        c += 1
    return j
