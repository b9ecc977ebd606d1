"""The n-gram output order: count descending, then string ascending (UTF-8 byte order = code
point order), with one sort of one 64-bit key per row.

Most rows of an n-gram table have small counts (on 100 MB of English, 6.5 M rows, nearly
all below 255).  For those, count and string prefix fit one ``uint64``: ``(255 - count) <<
56 | first 7 bytes`` (big-endian, zero padded), so numpy's argsort of that one array gives
the (count desc, 7-byte prefix) order directly, where :mod:`kernels.cpu.sort` sorts by
prefix and then stably by count (two passes over the rows).  Runs tying on the key are
then sorted by the next 8-byte words of their strings (the first of them read in row
order, sequentially, before the sort), recursively, as in :mod:`kernels.cpu.sort`.  The
few rows with count 255 or more come first, ordered by :func:`kernels.cpu.sort.order_rows`.

Strings never contain NUL (readers reject it), so zero padding sorts a shorter string
before its extensions, as byte comparison does, and a word of 0 means the string ended.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.cpu.sort import _sort_run, word_at  # one run sort: depth counts 8-byte words

SMALL_COUNT = 255      # rows with counts below this are keyed: 8 bits of count, 7 bytes of string
PREFIX_BYTES = 7


@njit(parallel=True, cache=True)
def _keys(counts, data, starts, ends, key, word1):
    """Row r's key (``(SMALL_COUNT - count) << 56 | its first 7 bytes``, 0 for a count of
    SMALL_COUNT or more: those are ordered apart) and its string's bytes 7..14 (``word1``)."""
    for r in prange(counts.size):
        c = counts[r]
        w = word_at(data, starts, ends, r, 0)
        key[r] = (np.uint64(SMALL_COUNT - c) << np.uint64(56)) | (w >> np.uint64(8)) if c < SMALL_COUNT \
            else np.uint64(0)
        word1[r] = word_at(data, starts, ends, r, PREFIX_BYTES)


@njit(cache=True, nogil=True)
def _refine(order, key, word1, data, starts, ends):
    """Sort every run of ``order`` whose rows tie on ``key`` by their later 8-byte words:
    the first from ``word1`` (bytes 7..14), deeper ones read from ``data``."""
    m = order.size
    kbuf = np.empty(m, np.uint64)
    stack = [(np.int64(0), np.int64(0), np.int64(0))]
    stack.pop()
    lo = 0
    while lo < m:
        k = key[order[lo]]
        hi = lo + 1
        while hi < m and key[order[hi]] == k:
            hi += 1
        if hi - lo > 1:
            for x in range(lo, hi):
                kbuf[x] = word1[order[x]]
            _sort_run(order, kbuf, np.int64(lo), np.int64(hi), stack, np.int64(1))
        lo = hi
    while len(stack) > 0:
        # word ``depth`` of a string starts at byte PREFIX_BYTES + 8 * (depth - 1): word 1 is
        # ``word1``; all rows of the run share the bytes before it
        lo, hi, depth = stack.pop()
        at = PREFIX_BYTES + 8 * (depth - 1)
        for x in range(lo, hi):
            kbuf[x] = word_at(data, starts, ends, order[x], at)
        _sort_run(order, kbuf, lo, hi, stack, depth)


def _order_range(rows, keys, word1, key, data, starts, ends):
    """``rows`` (their keys ``keys``) ordered by key, ties refined (one thread's share)."""
    order = rows[np.argsort(keys)]
    _refine(order, key, word1, data, starts, ends)
    return order


def order_rows(counts: np.ndarray, data: np.ndarray, starts: np.ndarray, ends: np.ndarray,
               parts: int | None = None, min_parallel: int = 200_000) -> np.ndarray:
    """Permutation sorting rows by (count desc, string asc); row r's string is
    ``data[starts[r]:ends[r]]`` (distinct strings, no NUL).  The same result as
    :func:`kernels.cpu.sort.order_rows`, with a smaller peak of memory (row indices in
    int32 while they fit, no per-row part array).

    The keyed rows are split into ``parts`` ranges of key values (splitters from a
    sample; rows of one key always in one range) sorted in parallel threads (numpy's
    argsort and the numba refinement release the GIL).
    """
    from kernels.cpu.sort import order_rows as order_by_parts
    m = counts.size
    idx = np.int32 if m < 2**31 else np.int64
    key, word1 = np.empty(m, np.uint64), np.empty(m, np.uint64)
    if m:
        _keys(counts, data, starts, ends, key, word1)
    big = np.flatnonzero(key == 0)
    first = big[order_by_parts(counts[big], data, starts[big], ends[big])].astype(idx)
    rows = np.flatnonzero(key).astype(idx) if big.size else np.arange(m, dtype=idx)
    if parts is None:
        import numba
        parts = numba.get_num_threads()
    keys = key[rows]
    if parts <= 1 or rows.size < max(min_parallel, 2):
        return np.concatenate([first, _order_range(rows, keys, word1, key, data, starts, ends)])
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng(0)
    cuts = np.sort(keys[rng.choice(keys.size, size=min(keys.size, 20_000), replace=False)])
    cuts = np.unique(cuts[(np.arange(1, parts) * cuts.size) // parts]).tolist()
    bounds = [None] + cuts + [None]
    groups = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):   # (lo, hi]: equal keys in one range
        sel = np.ones(keys.size, bool) if lo is None else keys > np.uint64(lo)
        if hi is not None:
            sel &= keys <= np.uint64(hi)
        groups.append((rows[sel], keys[sel]))
    del rows, keys
    with ThreadPoolExecutor(len(groups)) as ex:
        ordered = list(ex.map(lambda g: _order_range(g[0], g[1], word1, key, data, starts, ends), groups))
    return np.concatenate([first] + ordered)
