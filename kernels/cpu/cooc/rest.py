"""Exact reduction of the pairs outside the dense block (``engine.cooc.cpu_pairs``), by row bucket.

Walk 1 of the pair pass gives a histogram of these pairs by row (their smaller id, ``lo``);
:func:`row_buckets` cuts the rows into buckets of about ``target`` pairs, and walk 2 writes
each pair straight into its bucket (``kernels.cpu.cooc.pairs.window_rest_write``).  Every
pair has ``hi >= k`` (``k``: the dense block's side), so a bucket of rows ``a0 .. a1`` is a
``(a1 - a0) x (n - k)`` rectangle of the matrix.  :func:`reduce_buckets` reduces each
bucket within one thread's cache:

- *dense* buckets (few rows: a frequent term's row and the rare terms it meets, 92 % of
  these pairs on English text): one counter a cell, then the non-zero cells in order;
- *sorted* buckets (many rare rows): an LSD radix sort of the cell number, then the sums
  of equal cells.

Either way the bucket's distinct pairs, sorted, end at the start of its range;
:func:`compact_buckets` writes them one bucket after the other as uint64 keys
(``kernels.cooc_core.pack_pair``): one run sorted by key.  Every sum is an integer sum.
Two sorted runs are merged by :func:`merge_sorted` (one thread: the GPU's spilled runs, the
combination of partitions) or :func:`merge_parallel` (segments cut at the same keys), both
around one core, :func:`_merge_segment`.
Pairs are written as ``lo << sh | hi`` in uint32 when the ids fit 16 bits (``sh = 16``:
half the memory traffic), else uint64 (``sh = 32``).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.cooc_core import pack_pair

BUCKET_KEYS = 1 << 15   # pairs a bucket holds at most (a row is never split): its reduction stays in L2
DENSE_CELLS = 1 << 17   # counters of a dense bucket (512 kB in int32: within the L2 cache)
DENSE_RATIO = 8         # a bucket is dense when its cells are at most this many times its pairs


@njit(cache=True)
def row_buckets(hist, k, n, target, max_cells, ratio):
    """Buckets of consecutive rows: ``hist[t, r]`` pairs of row ``r`` written by thread ``t``.

    Returns ``row_bucket`` (bucket of each row), ``first`` (first row of each bucket, and
    ``n`` after the last), ``start`` (first place of each bucket, and the total after),
    ``pos`` (first place of each thread's pairs in each bucket: thread ``t`` writes after
    threads ``< t``) and ``dense`` (1 when the bucket is reduced by counters).  A bucket
    closes before a row that would take it past ``target`` pairs (a row is never split), or
    past ``max_cells`` cells while it is dense (at most ``ratio`` cells a pair).
    """
    nt = hist.shape[0]
    tot = np.zeros(n, np.int64)
    for t in range(nt):
        for r in range(n):
            tot[r] += hist[t, r]
    row_bucket = np.empty(n, np.int32)
    first = np.zeros(n + 1, np.int64)
    size = np.zeros(n + 1, np.int64)
    ncols = max(n - k, 1)
    b = 0
    for r in range(n):
        if size[b] > 0:
            cells = (r - first[b]) * ncols
            # a dense bucket stays dense: it closes before the row that would exceed max_cells
            if size[b] + tot[r] > target or (cells <= ratio * size[b] and cells + ncols > max_cells):
                b += 1
                first[b] = r
        row_bucket[r] = b
        size[b] += tot[r]
    nb = b + 1
    first[nb] = n
    start = np.zeros(nb + 1, np.int64)
    dense = np.zeros(nb, np.int8)
    for q in range(nb):
        start[q + 1] = start[q] + size[q]
        cells = (first[q + 1] - first[q]) * ncols
        if cells <= max_cells and cells <= ratio * size[q]:
            dense[q] = 1
    pos = np.empty((nt, nb), np.int64)
    for q in range(nb):
        pos[0, q] = start[q]
    for t in range(1, nt):
        for q in range(nb):
            pos[t, q] = pos[t - 1, q]
        for r in range(n):
            pos[t, row_bucket[r]] += hist[t - 1, r]
    return row_bucket, first[:nb + 1], start, pos, dense


@njit(cache=True)
def _bits(x):
    """Number of bits of ``x >= 0`` (0 for 0)."""
    n = 0
    while x > 0:
        n += 1
        x >>= 1
    return n


@njit(cache=True)
def _dense_bucket(keys, wts, unit, s, e, a0, a1, k, ncols, sh, cnt, vals):
    """Reduce bucket ``s .. e`` (rows ``a0 .. a1``) with one counter a cell; returns its
    distinct pairs, written sorted at ``keys[s:]`` and ``vals[s:]``."""
    shift = np.uint64(sh)
    mask = np.uint64((1 << sh) - 1)
    for i in range(s, e):
        x = np.uint64(keys[i])
        c = np.int64(x >> shift) - a0
        cnt[c * ncols + np.int64(x & mask) - k] += 1 if unit else wts[i]
    u = s
    for r in range(a1 - a0):
        base = r * ncols
        for c in range(ncols):
            v = cnt[base + c]
            if v != 0:
                keys[u] = (np.uint64(a0 + r) << shift) | np.uint64(k + c)
                vals[u] = v
                cnt[base + c] = 0
                u += 1
    return u - s


@njit(cache=True)
def _sorted_bucket(keys, wts, unit, s, e, a0, a1, k, ncols, sh, c, c_o, w, w_o, vals):
    """Reduce bucket ``s .. e`` by an LSD radix sort of the cell numbers (digits of at most
    12 bits) in the scratch ``c`` / ``c_o`` (weights ``w`` / ``w_o``), then sums of equal
    cells; returns its distinct pairs, written sorted at ``keys[s:]`` and ``vals[s:]``."""
    shift = np.uint64(sh)
    mask = np.uint64((1 << sh) - 1)
    n = e - s
    for i in range(n):
        x = np.uint64(keys[s + i])
        c[i] = np.uint64((np.int64(x >> shift) - a0) * ncols + np.int64(x & mask) - k)
        if not unit:
            w[i] = wts[s + i]
    nbits = _bits((a1 - a0) * ncols - 1)
    passes = max(1, -(-nbits // 12))
    digit = -(-nbits // passes)
    dmask = np.uint64((1 << digit) - 1)
    cnt = np.empty(1 << digit, np.int64)
    for p in range(passes):
        sd = np.uint64(p * digit)
        cnt[:] = 0
        for i in range(n):
            cnt[np.int64((c[i] >> sd) & dmask)] += 1
        tot = 0
        for d in range(cnt.size):
            x = cnt[d]
            cnt[d] = tot
            tot += x
        for i in range(n):
            d = np.int64((c[i] >> sd) & dmask)
            c_o[cnt[d]] = c[i]
            if not unit:
                w_o[cnt[d]] = w[i]
            cnt[d] += 1
        c, c_o = c_o, c
        w, w_o = w_o, w
    u = s
    i = 0
    while i < n:
        x = c[i]
        v = 0
        while i < n and c[i] == x:
            v += 1 if unit else w[i]
            i += 1
        cell = np.int64(x)
        keys[u] = (np.uint64(a0 + cell // ncols) << shift) | np.uint64(k + cell % ncols)
        vals[u] = v
        u += 1
    return u - s


@njit(parallel=True, cache=True)
def reduce_buckets(keys, wts, unit, start, first, dense, bcut, k, n, sh, cnt, c, c_o, w, w_o, vals, out_n):
    """Reduce every bucket (thread ``t``: buckets ``bcut[t] .. bcut[t + 1]``, its scratch
    ``cnt[t]``, ``c[t]``, ``c_o[t]``, ``w[t]``, ``w_o[t]``); ``out_n[q]``: distinct pairs
    of bucket ``q``, at the start of its range of ``keys`` / ``vals``."""
    ncols = max(n - k, 1)
    for t in prange(bcut.size - 1):
        for q in range(bcut[t], bcut[t + 1]):
            s = start[q]
            e = start[q + 1]
            if e == s:
                out_n[q] = 0
            elif dense[q]:
                out_n[q] = _dense_bucket(keys, wts, unit, s, e, first[q], first[q + 1], k, ncols, sh, cnt[t],
                                         vals)
            else:
                out_n[q] = _sorted_bucket(keys, wts, unit, s, e, first[q], first[q + 1], k, ncols, sh, c[t],
                                          c_o[t], w[t], w_o[t], vals)


@njit(parallel=True, cache=True)
def compact_buckets(keys, vals, start, out_n, out_off, sh, out_k, out_v):
    """The distinct pairs of every bucket one after the other (``out_off``: cumulated
    ``out_n``) as uint64 keys ``pack_pair(lo, hi)`` and int64 values."""
    shift = np.uint64(sh)
    mask = np.uint64((1 << sh) - 1)
    for q in prange(out_n.size):
        s = start[q]
        o = out_off[q]
        for j in range(out_n[q]):
            x = np.uint64(keys[s + j])
            out_k[o + j] = pack_pair(x >> shift, x & mask)
            out_v[o + j] = vals[s + j]


@njit(cache=True)
def _merge_segment(k1, v1, i, i1, k2, v2, j, j1, ok, ov, o, write):
    """Merge ``k1[i:i1]`` and ``k2[j:j1]`` (sorted, distinct each; values of equal keys added)
    at ``ok[o:]`` when ``write``; returns the number of keys."""
    n = 0
    while i < i1 and j < j1:
        a = k1[i]
        b = k2[j]
        if write:
            if a < b:
                ok[o + n] = a
                ov[o + n] = v1[i]
            elif b < a:
                ok[o + n] = b
                ov[o + n] = v2[j]
            else:
                ok[o + n] = a
                ov[o + n] = v1[i] + v2[j]
        if a <= b:
            i += 1
        if b <= a:
            j += 1
        n += 1
    if write:
        for q in range(i1 - i):
            ok[o + n + q] = k1[i + q]
            ov[o + n + q] = v1[i + q]
        for q in range(j1 - j):
            ok[o + n + (i1 - i) + q] = k2[j + q]
            ov[o + n + (i1 - i) + q] = v2[j + q]
    return n + (i1 - i) + (j1 - j)


@njit(parallel=True, cache=True)
def merge_parallel(k1, v1, k2, v2, c1, c2, out_off, ok, ov, write):
    """Union of two runs sorted by key in segments ``c1[s] .. c1[s + 1]`` of ``k1`` and
    ``c2[s] .. c2[s + 1]`` of ``k2`` (cut at the same keys), one segment a thread task:
    ``write`` false counts each segment's keys into ``out_off[s + 1]``; true writes them at
    ``out_off[s]`` (the cumulated counts)."""
    for s in prange(c1.size - 1):
        n = _merge_segment(k1, v1, c1[s], c1[s + 1], k2, v2, c2[s], c2[s + 1], ok, ov, out_off[s], write)
        if not write:
            out_off[s + 1] = n


@njit(cache=True)
def merge_sorted(k1, v1, k2, v2, ok, ov):
    """Union of two runs sorted by key (distinct keys each) into ``ok``, ``ov``, values of equal
    keys added; returns the number of keys."""
    return _merge_segment(k1, v1, 0, k1.size, k2, v2, 0, k2.size, ok, ov, 0, True)
