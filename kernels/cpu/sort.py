"""Result ordering: count descending, then string ascending (UTF-8 byte order = code point order).

numpy's lexsort orders rows by (count desc, 8-byte big-endian string prefix);
a numba pass then sorts each run whose counts and prefixes tie by the next
8 bytes, recursively.  Faster than Arrow's multi-key sort_indices, with the
same result (see the figures in the README).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _word(data, starts, ends, r, depth):
    """Bytes [8*depth, 8*depth + 8) of row r as a big-endian uint64, zero padded.

    Strings never contain NUL (readers reject it), so padding sorts a shorter
    string before its extensions, as byte comparison does.
    """
    s = starts[r] + 8 * depth
    n = min(8, ends[r] - s)
    v = np.uint64(0)
    for k in range(8):
        v = v << np.uint64(8)
        if k < n:
            v |= np.uint64(data[s + k])
    return v


@njit(cache=True, nogil=True, parallel=True)
def _prefixes(data, starts, ends, depth):
    m = starts.size
    pre = np.empty(m, np.uint64)
    for r in prange(m):
        pre[r] = _word(data, starts, ends, r, depth)
    return pre


@njit(cache=True, nogil=True)
def _refine(order, c_sorted, p_sorted, data, starts, ends):
    """Sort, by later 8-byte words, every run of rows tying on count and 8-byte prefix.

    ``c_sorted``/``p_sorted`` are counts and prefixes in ``order`` (scanned sequentially).
    """
    m = order.size
    stack = []
    lo = 0
    while lo < m:
        hi = lo + 1
        while hi < m and c_sorted[hi] == c_sorted[lo] and p_sorted[hi] == p_sorted[lo]:
            hi += 1
        if hi - lo > 1:
            stack.append((lo, hi, 1))
        lo = hi
    while len(stack) > 0:
        lo, hi, depth = stack.pop()
        # all rows of a run share their first 8*depth bytes; rows that end there tie for good
        keys = np.empty(hi - lo, np.uint64)
        alive = False
        for x in range(lo, hi):
            r = order[x]
            keys[x - lo] = _word(data, starts, ends, r, depth)
            if ends[r] - starts[r] > 8 * depth:
                alive = True
        if not alive:
            continue
        perm = np.argsort(keys, kind="mergesort")
        seg = order[lo:hi].copy()
        for x in range(hi - lo):
            order[lo + x] = seg[perm[x]]
        ks = keys[perm]
        a = 0
        while a < hi - lo:
            b = a + 1
            while b < hi - lo and ks[b] == ks[a]:
                b += 1
            if b - a > 1:
                stack.append((lo + a, lo + b, depth + 1))
            a = b


def _order_part(idx, counts, pre, data, starts, ends):
    order = idx[np.lexsort((pre[idx], -counts[idx]))]
    _refine(order, counts[order], pre[order], data, starts, ends)
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
    if parts is None:
        import numba
        parts = numba.get_num_threads()
    if parts <= 1 or m < min_parallel:
        return _order_part(np.arange(m), counts, pre, data, starts, ends)
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
        ordered = list(ex.map(lambda g: _order_part(g, counts, pre, data, starts, ends), groups))
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
