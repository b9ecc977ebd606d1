"""CPU twins of the MinHash kernels: ``prange`` over documents / pairs / buckets around the shared cores."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.minhash_core import (band_key, bucket_pairs, char_shingles_doc,
                                  equal_slots, intersect_sorted, minhash_doc, word_shingles_doc)


@njit(parallel=True, cache=True)
def word_shingles(tok_hash, tok_offsets, n, out_offsets, out_hash, out_first):
    for d in prange(tok_offsets.size - 1):
        word_shingles_doc(tok_hash, tok_offsets[d], tok_offsets[d + 1], n, out_hash, out_first,
                          out_offsets[d])


@njit(parallel=True, cache=True)
def char_shingles(norm, offsets, ncp, n, out_offsets, out_hash, out_start, out_len):
    for d in prange(offsets.size - 1):
        char_shingles_doc(norm, offsets[d], offsets[d + 1], n, ncp[d], out_hash, out_start,
                          out_len, out_offsets[d])


@njit(parallel=True, cache=True)
def sort_unique(h, offsets):
    """Sort each document's run of ``h`` in place, move its distinct values first; return their counts."""
    nd = offsets.size - 1
    counts = np.empty(nd, np.int64)
    for d in prange(nd):
        s, e = offsets[d], offsets[d + 1]
        if e - s < 2:
            counts[d] = e - s
            continue
        seg = h[s:e]
        seg.sort()
        w = 1
        for i in range(1, e - s):
            if seg[i] != seg[w - 1]:
                seg[w] = seg[i]
                w += 1
        counts[d] = w
    return counts


@njit(parallel=True, cache=True)
def compact(h, offsets, counts, out_offsets, out):
    for d in prange(offsets.size - 1):
        s = offsets[d]
        o = out_offsets[d]
        for i in range(counts[d]):
            out[o + i] = h[s + i]


@njit(parallel=True, cache=True)
def signatures(hashes, offsets, pa, pb, sig):
    for d in prange(offsets.size - 1):
        minhash_doc(hashes, offsets[d], offsets[d + 1], pa, pb, 0, pa.size, sig, d)


@njit(parallel=True, cache=True)
def band_keys(sig, bands, rows, keys):
    for d in prange(sig.shape[0]):
        for j in range(bands):
            keys[d, j] = band_key(sig, d, j, rows)


@njit(parallel=True, cache=True)
def candidate_pairs(docs, starts, ends, bound, out_offsets, out_a, out_b):
    for u in prange(starts.size):
        bucket_pairs(docs, starts[u], ends[u], bound, out_a, out_b, out_offsets[u])


@njit(parallel=True, cache=True)
def pair_equal(sig, pa, pb, k, out):
    for p in prange(pa.size):
        out[p] = equal_slots(sig, pa[p], pb[p], k)


@njit(parallel=True, cache=True)
def pair_intersections(h, offsets, pa, pb, out):
    for p in prange(pa.size):
        a, b = pa[p], pb[p]
        out[p] = intersect_sorted(h, offsets[a], offsets[a + 1], offsets[b], offsets[b + 1])


@njit(parallel=True, cache=True)
def equal_matrix(sig, k, out):
    n = sig.shape[0]
    for i in prange(n):
        for j in range(n):
            out[i, j] = equal_slots(sig, i, j, k)
