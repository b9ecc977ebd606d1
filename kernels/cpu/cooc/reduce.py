"""Exact reduction of the buffered pair keys of the CPU pair pass (``kernels.cpu.cooc.pairs``).

:func:`bucket_plan` cuts the rows into ranges of about ``BUCKET_KEYS`` keys,
:func:`rest_scatter` groups the keys by range (counting sort), and :func:`rest_reduce`
sorts each range in parallel with an LSD radix sort that stays in the L2 cache (about
half of these keys are distinct: a sort beats a hash table) and sums equal keys; ranges
are ordered, so :func:`rest_compact` yields one run sorted by key.  :func:`merge_sorted`
adds two sorted runs (when buffers fill more than once, and to combine partitions).  Big
arrays are allocated by the caller with numpy (huge pages), not in the kernels.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.cooc_core import pack_pair, pair_first, pair_second

BUCKET_KEYS = 1 << 15   # buffered keys per reduction range (its radix sort stays in L2)


@njit(cache=True)
def bucket_plan(rest_k, rest_n, n_rows, target):
    """Bucket of each row (ranges of consecutive rows with about ``target`` keys), bucket sizes
    and the first row of each bucket."""
    hist = np.zeros(n_rows, np.int64)
    for t in range(rest_n.size):
        for i in range(rest_n[t]):
            hist[np.int64(pair_first(rest_k[t, i]))] += 1
    row_bucket = np.empty(n_rows, np.int32)
    sizes = np.zeros(n_rows + 1, np.int64)
    first = np.zeros(n_rows + 2, np.int64)
    b = 0
    for r in range(n_rows):
        if sizes[b] > 0 and sizes[b] + hist[r] > target:
            b += 1
            first[b] = r
        row_bucket[r] = b
        sizes[b] += hist[r]
    first[b + 1] = n_rows
    return row_bucket, sizes[:b + 1], first[:b + 2]


@njit(cache=True)
def _bits(x):
    """Number of bits of ``x >= 0`` (0 for 0)."""
    n = 0
    while x > 0:
        n += 1
        x >>= 1
    return n


@njit(cache=True)
def rest_scatter(rest_k, rest_w, rest_n, unit, row_bucket, start, sk, sw):
    """The buffered keys (and weights) of every thread, grouped by bucket (stable)."""
    pos = start[:-1].copy()
    for t in range(rest_n.size):
        for i in range(rest_n[t]):
            key = rest_k[t, i]
            b = row_bucket[np.int64(pair_first(key))]
            sk[pos[b]] = key
            if not unit:
                sw[pos[b]] = rest_w[t, i]
            pos[b] += 1


@njit(parallel=True, cache=True)
def rest_reduce(sk, sw, unit, start, first, b_bits, c2, w2, out_v, out_n):
    """Per bucket ``start[q] .. start[q + 1]``: LSD radix sort (8-bit digits) of the composite
    (row - first row, b), in ``sk`` / ``c2`` (weights in ``sw`` / ``w2``), then one key per
    distinct pair at the start of the bucket's range of ``sk``, its summed weight in ``out_v``."""
    bmask = np.uint64((1 << b_bits) - 1)
    for bkt in prange(start.size - 1):
        s = start[bkt]
        e = start[bkt + 1]
        n = e - s
        out_n[bkt] = 0
        if n == 0:
            continue
        a0 = np.uint64(first[bkt])
        nbits = _bits(first[bkt + 1] - 1 - first[bkt]) + b_bits
        c = sk[s:e]
        c_o = c2[s:e]
        w = sw[s:e]
        w_o = w2[s:e]
        for i in range(n):
            key = c[i]
            c[i] = ((pair_first(key) - a0) << np.uint64(b_bits)) | pair_second(key)
        cnt = np.empty(256, np.int64)
        shift = 0
        flip = False
        while shift < nbits:
            cnt[:] = 0
            sh = np.uint64(shift)
            for i in range(n):
                cnt[np.int64((c[i] >> sh) & np.uint64(255))] += 1
            tot = 0
            for d in range(256):
                x = cnt[d]
                cnt[d] = tot
                tot += x
            for i in range(n):
                d = np.int64((c[i] >> sh) & np.uint64(255))
                c_o[cnt[d]] = c[i]
                if not unit:
                    w_o[cnt[d]] = w[i]
                cnt[d] += 1
            c, c_o = c_o, c
            w, w_o = w_o, w
            flip = not flip
            shift += 8
        u = 0
        i = 0
        while i < n:
            x = c[i]
            v = 0
            while i < n and c[i] == x:
                v += 1 if unit else w[i]
                i += 1
            c[u] = pack_pair((x >> np.uint64(b_bits)) + a0, x & bmask)
            out_v[s + u] = v
            u += 1
        if flip:   # the distinct keys back in sk (u <= n: cheap, still in cache)
            sk[s:s + u] = c[:u]
        out_n[bkt] = u


@njit(cache=True)
def rest_compact(sk, out_v, start, out_n):
    """The distinct keys of every bucket moved one after the other (sorted), in place;
    returns their number."""
    o = 0
    for bkt in range(start.size - 1):
        s = start[bkt]
        for q in range(out_n[bkt]):
            sk[o] = sk[s + q]
            out_v[o] = out_v[s + q]
            o += 1
    return o


@njit(cache=True)
def merge_sorted(k1, v1, k2, v2, ok, ov):
    """Union of two runs sorted by key (distinct keys each) into ``ok``, ``ov``, values of equal
    keys added; returns the number of keys."""
    i = j = n = 0
    while i < k1.size and j < k2.size:
        if k1[i] < k2[j]:
            ok[n] = k1[i]
            ov[n] = v1[i]
            i += 1
        elif k2[j] < k1[i]:
            ok[n] = k2[j]
            ov[n] = v2[j]
            j += 1
        else:
            ok[n] = k1[i]
            ov[n] = v1[i] + v2[j]
            i += 1
            j += 1
        n += 1
    while i < k1.size:
        ok[n] = k1[i]
        ov[n] = v1[i]
        i += 1
        n += 1
    while j < k2.size:
        ok[n] = k2[j]
        ov[n] = v2[j]
        j += 1
        n += 1
    return n
