"""Array idioms of the GPU glue, written once for every array module the backend may hold
(numpy, CuPy 13 and 14, the simulator's strict module): only calls their common subset
accepts (no array-valued ``repeat``, sorts stable by request).  An idiom whose output size
is a device value reads it through the backend (``backend.scalar``: counted), so it takes the
backend rather than its array module.
"""
from __future__ import annotations

import numpy as np

__all__ = ["segment_of", "offsets_of", "reduce_by_key"]


def segment_of(xp, offsets, m: int):
    """Segment index of each of the ``m`` items of the segments ``offsets`` (int64[n + 1]).

    ``repeat(arange(n), diff(offsets))`` without an array of repeats (CuPy < 14.1 refuses
    one): item ``i`` belongs to the last segment starting at or before it, which skips
    the empty segments that start there too.
    """
    return xp.searchsorted(offsets, xp.arange(m, dtype=np.int64), side="right") - 1


def offsets_of(xp, counts):
    """int64 offsets (``n + 1``, from 0) of segments of ``counts`` items each."""
    off = xp.zeros(int(counts.size) + 1, dtype=np.int64)
    xp.cumsum(counts, out=off[1:])
    return off


def reduce_by_key(xp, keys, vals):
    """Sort ``keys`` and sum ``vals`` per distinct key (integers: exact in any order)."""
    if keys.size == 0:
        return keys, vals
    o = xp.argsort(keys, kind="stable")
    k, v = keys[o], vals[o]
    last = xp.empty(k.size, dtype=bool)
    last[-1] = True
    last[:-1] = k[1:] != k[:-1]
    ends = xp.flatnonzero(last)
    cs = xp.cumsum(v)
    sums = cs[ends]
    sums[1:] = sums[1:] - cs[ends[:-1]]
    return k[ends], sums


def gather_spans(be, data, start, length):
    """``data[start[r]:start[r] + length[r]]`` for every r, concatenated: (bytes, int64 offsets).

    On the device of backend ``be``, so that only the gathered strings cross to the host, not
    ``data`` (their total size is read back, counted).
    """
    xp = be.xp
    off = offsets_of(xp, length.astype(np.int64))
    total = be.scalar(off[-1])
    seg = segment_of(xp, off, total)
    src = start[seg] + (xp.arange(total, dtype=np.int64) - off[seg])
    return data[src], off


def gather_word_ngrams(be, norm, tok_start, tok_len, first, n: int):
    """Strings of the word n-grams starting at tokens ``first``: their ``n`` tokens joined by
    one space (as ``kernels.cpu.count.gather_word_ngrams``), on the device of backend ``be``."""
    xp = be.xp
    m = int(first.size)
    k = xp.arange(n, dtype=np.int64)
    tok = (first.astype(np.int64).reshape(m, 1) + k.reshape(1, n)).ravel()
    inner = (k < n - 1).astype(np.int64)          # each token but the last takes one byte more...
    piece = (tok_len[tok].astype(np.int64).reshape(m, n) + inner.reshape(1, n)).ravel()
    data, piece_off = gather_spans(be, norm, tok_start[tok], piece)
    if n > 1:                                     # ...overwritten by the separating space
        ends = (piece_off[1:] - 1).reshape(m, n)[:, :n - 1].ravel()
        data[ends] = 32
    off = piece_off[xp.arange(m + 1, dtype=np.int64) * n]
    return data, off
