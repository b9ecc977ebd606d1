"""The n-gram output rows gathered in output order: strings, n, count, doc_freq in one pass.

The rows come in output order (count desc, string asc), scattered over the partial's
arrays, so every read is a cache miss: one parallel pass per thread's range reads each
row's string bounds and columns (the next rows' prefetched), a second copies the strings
(their bytes prefetched), with Arrow-ready offsets (int32 while the bytes fit, as Arrow's
plain string type wants) and no intermediate per-row arrays but the source starts.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.cpu.count import PREFETCH_AHEAD, prefetch_at


@njit(parallel=True, cache=True)
def _columns(rows, offsets, n, counts, doc_freq, cuts, src, lens, n_out, c_out, df_out, total):
    """Per output position i (row ``rows[i]``): its string's start (``src``) and length
    (``lens[i + 1]``), n, count, doc_freq; ``total[t]``: the bytes of range t."""
    for t in prange(cuts.size - 1):
        lo, hi = cuts[t], cuts[t + 1]
        acc = 0
        for i in range(lo, hi):
            if i + PREFETCH_AHEAD < hi:
                r2 = rows[i + PREFETCH_AHEAD]
                prefetch_at(offsets, r2)
                prefetch_at(counts, r2)
                prefetch_at(doc_freq, r2)
            r = rows[i]
            s = offsets[r]
            ln = offsets[r + 1] - s
            src[i] = s
            lens[i + 1] = ln
            n_out[i] = n[r]
            c_out[i] = counts[r]
            df_out[i] = doc_freq[r]
            acc += ln
        total[t] = acc


@njit(parallel=True, cache=True)
def _strings(data, src, cuts, base, off, out):
    """Copy range t's strings to ``out`` from byte ``base[t]``, turning the lengths in
    ``off[i + 1]`` into end offsets (each range touches only its own entries)."""
    for t in prange(cuts.size - 1):
        lo, hi = cuts[t], cuts[t + 1]
        o = base[t]
        for i in range(lo, hi):
            if i + PREFETCH_AHEAD < hi:   # the strings are scattered in ``data``
                prefetch_at(data, src[i + PREFETCH_AHEAD])
            ln = off[i + 1]
            s = src[i]
            for b in range(ln):
                out[o + b] = data[s + b]
            o += ln
            off[i + 1] = o


def gather_rows(rows: np.ndarray, data: np.ndarray, offsets: np.ndarray, n: np.ndarray,
                counts: np.ndarray, doc_freq: np.ndarray, parts: int | None = None,
                min_part: int = 100_000):
    """The output columns of ``rows`` (indices into the partial's arrays, in output order).

    Parameters
    ----------
    rows : int array of row indices.
    data, offsets : the strings (row r: ``data[offsets[r]:offsets[r + 1]]``).
    n, counts, doc_freq : the per-row columns.
    parts : ranges gathered in parallel (default: numba's thread count).
    min_part : fewer ranges so that each has at least this many rows.

    Returns
    -------
    (string bytes, string offsets (``rows.size + 1``; int32 while the bytes fit, else
    int64), n, counts, doc_freq), all in the order of ``rows``.
    """
    if parts is None:
        import numba
        parts = numba.get_num_threads()
    m = rows.size
    parts = max(1, min(parts, m // max(1, min_part)))
    cuts = (np.arange(parts + 1, dtype=np.int64) * m) // parts
    src = np.empty(m, np.int64)
    off_type = np.int32 if offsets[-1] < 2**31 else np.int64   # every row's bytes, at most
    off = np.empty(m + 1, off_type)
    off[0] = 0
    n_out, c_out, df_out = np.empty(m, n.dtype), np.empty(m, counts.dtype), np.empty(m, doc_freq.dtype)
    total = np.zeros(parts, np.int64)
    _columns(rows, offsets, n, counts, doc_freq, cuts, src, off, n_out, c_out, df_out, total)
    base = np.zeros(parts, np.int64)
    np.cumsum(total[:-1], out=base[1:])
    out = np.empty(int(total.sum()), np.uint8)
    _strings(data, src, cuts, base, off, out)
    return out, off, n_out, c_out, df_out
