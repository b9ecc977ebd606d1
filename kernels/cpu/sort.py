"""Result ordering: count descending, then string ascending (UTF-8 byte order = code point order).

numpy's lexsort orders rows by (count desc, 8-byte big-endian string prefix);
a numba pass then sorts each run whose counts and prefixes tie by the next
8 bytes, recursively.  Faster than Arrow's multi-key sort_indices, with the
same result (see the figures in the README).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def word_at(data, starts, ends, r, at):
    """Bytes ``[at, at + 8)`` of row r's string as a big-endian uint64, zero padded.

    Strings never contain NUL (readers reject it), so padding sorts a shorter
    string before its extensions, as byte comparison does.
    """
    s = starts[r] + at
    n = min(8, ends[r] - s)
    v = np.uint64(0)
    for k in range(8):
        v = v << np.uint64(8)
        if k < n:
            v |= np.uint64(data[s + k])
    return v


@njit(cache=True)
def _word(data, starts, ends, r, depth):
    """Bytes [8*depth, 8*depth + 8) of row r as a big-endian uint64, zero padded."""
    return word_at(data, starts, ends, r, 8 * depth)


@njit(cache=True, nogil=True)   # serial: under 0.5% of a run, a parallel compile costs more
def _prefixes(data, starts, ends, depth):
    m = starts.size
    pre = np.empty(m, np.uint64)
    for r in prange(m):
        pre[r] = _word(data, starts, ends, np.int64(r), depth)
    return pre


SMALL_RUN = 24   # runs this short are insertion-sorted in place: no arrays to make


@njit(cache=True, nogil=True)
def sort_pairs(order, kbuf, lo, hi):
    """Sort ``order[lo:hi]`` by ``kbuf[lo:hi]``, moving both (runs of up to SMALL_RUN by
    insertion, in place: no arrays to make)."""
    if hi - lo <= SMALL_RUN:
        for x in range(lo + 1, hi):
            kx, ox = kbuf[x], order[x]
            y = x - 1
            while y >= lo and kbuf[y] > kx:
                kbuf[y + 1] = kbuf[y]
                order[y + 1] = order[y]
                y -= 1
            kbuf[y + 1] = kx
            order[y + 1] = ox
    else:
        perm = np.argsort(kbuf[lo:hi], kind="mergesort")
        seg, ks = order[lo:hi].copy(), kbuf[lo:hi].copy()
        for x in range(hi - lo):
            order[lo + x] = seg[perm[x]]
            kbuf[lo + x] = ks[perm[x]]


@njit(cache=True, nogil=True)
def _sort_run(order, kbuf, lo, hi, stack, depth):
    """Sort ``order[lo:hi]`` by ``kbuf[lo:hi]`` (its rows' words at ``depth``, moved along)
    and push every run still tying, unless its rows ended (word 0: no NUL in strings)."""
    sort_pairs(order, kbuf, lo, hi)
    a = lo
    while a < hi:
        b = a + 1
        while b < hi and kbuf[b] == kbuf[a]:
            b += 1
        if b - a > 1 and kbuf[a] != 0:
            stack.append((a, b, depth + 1))
        a = b


@njit(cache=True, nogil=True)
def _refine(order, c_sorted, p_sorted, p1_sorted, data, starts, ends):
    """Sort, by later 8-byte words, every run of rows tying on count and 8-byte prefix.

    ``c_sorted``/``p_sorted``/``p1_sorted`` are counts, first and second words in
    ``order`` (scanned sequentially: the second word, where most ties end, needs no random
    read of the strings); deeper words are read from ``data``.
    """
    m = order.size
    kbuf = p1_sorted.copy()
    stack = [(0, 0, 0)]
    stack.pop()
    lo = 0
    while lo < m:
        hi = lo + 1
        while hi < m and c_sorted[hi] == c_sorted[lo] and p_sorted[hi] == p_sorted[lo]:
            hi += 1
        if hi - lo > 1:
            _sort_run(order, kbuf, np.int64(lo), hi, stack, np.int64(1))
        lo = hi
    while len(stack) > 0:
        lo, hi, depth = stack.pop()
        # all rows of a run share their first 8*depth bytes
        for x in range(lo, hi):
            kbuf[x] = _word(data, starts, ends, order[x], depth)
        _sort_run(order, kbuf, lo, hi, stack, depth)


COUNT_CAP = 1 << 16   # counts bucketed directly; the few rows above are sorted apart


@njit(cache=True, nogil=True)
def _by_count_desc(order, counts, cap):
    """``order`` stably reordered by count descending (a counting sort on ``min(count,
    cap)``: the rows at or above ``cap`` come first, in their order); returns (the new
    order, the number of rows at or above ``cap``)."""
    hist = np.zeros(cap + 1, np.int64)
    for r in order:
        hist[min(counts[r], cap)] += 1
    at = np.empty(cap + 1, np.int64)
    o = 0
    for c in range(cap, -1, -1):
        at[c] = o
        o += hist[c]
    out = np.empty_like(order)
    for r in order:
        c = min(counts[r], cap)
        out[at[c]] = r
        at[c] += 1
    return out, hist[cap]


def _order_part(idx, counts, pre, pre1, data, starts, ends):
    # by prefix (one key, numpy's fastest sort; no two rows tie on the whole string, so
    # stability is not needed), then stably by count: (count desc, prefix asc) as a
    # lexsort would give, in a fraction of its time
    order, big = _by_count_desc(idx[np.argsort(pre[idx])], counts, COUNT_CAP)
    if big > 1:
        top = order[:big]
        order[:big] = top[np.lexsort((pre[top], -counts[top]))]
    _refine(order, counts[order], pre[order], pre1[order], data, starts, ends)
    return order


def order_rows(counts: np.ndarray, data: np.ndarray, starts: np.ndarray, ends: np.ndarray,
               parts: int | None = None, min_parallel: int = 200_000) -> np.ndarray:
    """Permutation sorting rows by (count desc, string asc); row r's string is data[starts[r]:ends[r]].

    The rows are split into ``parts`` contiguous ranges of the (count, prefix)
    order, by splitters from a sample, and the ranges are sorted in parallel
    threads (numpy's sorts and the numba refinement release the GIL).
    """
    m = counts.size
    pre = _prefixes(data, starts, ends, 0)
    pre1 = _prefixes(data, starts, ends, 1)   # the second words, read in row order
    if parts is None:
        import numba
        parts = numba.get_num_threads()
    if parts <= 1 or m < min_parallel:
        return _order_part(np.arange(m), counts, pre, pre1, data, starts, ends)
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng(0)
    sample = rng.choice(m, size=min(m, 20_000), replace=False)
    sample = sample[np.lexsort((pre[sample], -counts[sample]))]
    cuts = [sample[(k * sample.size) // parts] for k in range(1, parts)]
    # rank of each row among the splitters: rows tying a splitter go above it, so
    # runs of equal (count, prefix) never straddle two ranges
    part = np.zeros(m, np.int64)
    for c in cuts:
        part += (-counts > -counts[c]) | ((counts == counts[c]) & (pre >= pre[c]))
    groups = [np.flatnonzero(part == k) for k in range(parts)]
    with ThreadPoolExecutor(parts) as ex:
        ordered = list(ex.map(lambda g: _order_part(g, counts, pre, pre1, data, starts, ends), groups))
    return np.concatenate(ordered)


@njit(cache=True)
def _count_histogram(counts, cap):
    hist = np.zeros(cap + 1, np.int64)
    for c in counts:
        hist[min(c, cap)] += 1
    return hist


def kth_largest(counts: np.ndarray, k: int, cap: int = 1 << 16):
    """The k-th largest value of ``counts``, exactly.

    Counts (non-negative ints): np.partition degenerates on Zipf counts (most values
    tie at 1-3), so this uses a histogram of ``min(count, cap)`` and sorts only the few
    counts at or above ``cap``.  Floats (association measures): a strided sample guesses
    a value below the k-th largest; when at least k values reach the guess, the k-th
    largest is among them and only they are partitioned (a few thousand instead of
    millions); otherwise the whole array is.
    """
    if k <= 0 or counts.size < k:
        raise ValueError("k must be in [1, counts.size]")
    if counts.dtype.kind == "f":
        return _kth_largest_sampled(counts, k)
    hist = _count_histogram(counts, cap)
    if hist[cap] >= k:
        big = counts[counts >= cap]
        return int(np.partition(big, big.size - k)[big.size - k])
    seen = 0
    for v in range(cap, -1, -1):
        seen += hist[v]
        if seen >= k:
            return v
    return 0


def _kth_largest_sampled(key: np.ndarray, k: int) -> float:
    n = key.size
    if n > 64 * k:
        step = n // (32 * k)
        sample = key[::step]
        rank = min(sample.size - 1, 2 * (k * sample.size // n) + 16)   # twice the expected rank
        guess = np.partition(sample, sample.size - 1 - rank)[sample.size - 1 - rank]
        cand = key[key >= guess]
        if cand.size >= k:
            return np.partition(cand, cand.size - k)[cand.size - k]
    return np.partition(key, n - k)[n - k]
