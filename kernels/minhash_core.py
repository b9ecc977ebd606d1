"""Scalar and per-document cores of the MinHash kernels, shared by the CPU and CUDA twins.

Every function is a plain ``@numba.njit`` function with no allocation: the CPU
kernels (``kernels.cpu.minhash``) call them inside ``prange`` loops, the CUDA
kernels (``kernels.cuda.minhash``) call them from one thread per item, so the
arithmetic, and therefore every signature bit, is the same on both targets.

Permutation family: *affine32* (datasketch 2.0's default scheme):
``pi_k(h) = (a_k * h32 + b_k) mod 2**32`` with ``a_k`` odd (a bijection on 32
bits) and ``h32`` the high 32 bits of the 64-bit shingle hash.  The shingle
hashes are already xxHash64 / SplitMix64 outputs, so datasketch's extra
pre-mix of the input is not needed.  It is the fastest family in numba (one
32-bit multiply-add per shingle and permutation, vectorised) and its estimates
stay within the binomial error of 128 permutations on real text (tests).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from kernels.hashing import combine, mix64, xxh64
from kernels.text_core import char_ngrams_doc, word_ngrams_doc

EMPTY = np.uint32(0xFFFFFFFF)
_SH32 = np.uint64(32)


@njit(cache=True, inline="always")
def permute(h, a, b):
    """``(a * h + b) mod 2**32`` for 32-bit ``h``, ``a`` (odd) and ``b``."""
    return np.uint32(a * h + b)


@njit(cache=True)
def word_shingles_doc(tok_hash, a, b, n, out_hash, out_first, o):
    """Word n-gram shingles of tokens ``a..b-1``; fewer than ``n`` tokens -> one shingle of all."""
    m = b - a
    if m >= n:
        return word_ngrams_doc(tok_hash, a, b, n, out_hash, out_first, o)
    if m <= 0:
        return 0
    # Same fold as word_ngrams_doc with the shorter length as starting state:
    # the shingle is the m-gram of the whole token sequence.
    h = np.uint64(m)
    for k in range(m):
        h = combine(h, tok_hash[a + k])
    out_hash[o] = h
    out_first[o] = a
    return 1


@njit(cache=True)
def char_shingles_doc(norm, s, e, n, ncp, out_hash, out_start, out_len, o):
    """Character n-gram shingles of ``norm[s:e]`` (``ncp`` code points); shorter -> one shingle.

    ``ncp`` must be ``count_codepoints(norm, s, e)``: then exactly ``max(ncp - n + 1, 1)``
    shingles are written (0 when empty), whatever the bytes.
    """
    if ncp >= n:
        return char_ngrams_doc(norm, s, e, n, out_hash, out_start, out_len, o)
    if ncp <= 0:
        return 0
    out_hash[o] = xxh64(norm, s, e - s, np.int64(0))
    out_start[o] = s
    out_len[o] = e - s
    return 1


@njit(cache=True)
def minhash_doc(hashes, s, e, pa, pb, k0, k1, sig, d):
    """``sig[d, k] = min over shingles hashes[s:e] of pi_k`` for permutations ``k0..k1-1``.

    The CPU kernel calls it with the whole permutation range (the inner loop
    over ``k`` vectorises; four shingles per pass cut the loads and stores of
    ``sig`` by four); a CUDA thread calls it for one permutation.
    """
    for k in range(k0, k1):
        sig[d, k] = EMPTY
    i = s
    while i + 4 <= e:
        h0 = hashes[i] >> _SH32
        h1 = hashes[i + 1] >> _SH32
        h2 = hashes[i + 2] >> _SH32
        h3 = hashes[i + 3] >> _SH32
        for k in range(k0, k1):
            a = pa[k]
            b = pb[k]
            m01 = min(permute(h0, a, b), permute(h1, a, b))
            m23 = min(permute(h2, a, b), permute(h3, a, b))
            sig[d, k] = min(sig[d, k], min(m01, m23))
        i += 4
    while i < e:
        h = hashes[i] >> _SH32
        for k in range(k0, k1):
            sig[d, k] = min(sig[d, k], permute(h, pa[k], pb[k]))
        i += 1


@njit(cache=True)
def band_key(sig, d, j, rows):
    """64-bit key of band ``j`` (signature slots ``j*rows .. j*rows+rows-1``) of document ``d``.

    Slots are packed two per 64-bit word (injective) before the fold, so a band of
    ``rows`` slots costs ``ceil(rows / 2)`` mixes.
    """
    h = mix64(np.uint64(j) + np.uint64(0x9E3779B97F4A7C15))
    base = j * rows
    t = 0
    while t + 2 <= rows:
        h = combine(h, (np.uint64(sig[d, base + t]) << _SH32) | np.uint64(sig[d, base + t + 1]))
        t += 2
    if t < rows:
        h = combine(h, np.uint64(sig[d, base + t]))
    return h


@njit(cache=True)
def equal_slots(sig, i, j, k):
    """Number of the first ``k`` signature slots where documents ``i`` and ``j`` agree."""
    c = 0
    for t in range(k):
        if sig[i, t] == sig[j, t]:
            c += 1
    return c


@njit(cache=True)
def intersect_sorted(h, sa, ea, sb, eb):
    """Size of the intersection of the sorted, duplicate-free runs ``h[sa:ea]`` and ``h[sb:eb]``."""
    c = 0
    i = sa
    j = sb
    while i < ea and j < eb:
        x = h[i]
        y = h[j]
        if x == y:
            c += 1
            i += 1
            j += 1
        elif x < y:
            i += 1
        else:
            j += 1
    return c


@njit(cache=True)
def bucket_pairs(docs, s, e, bound, out_a, out_b, o):
    """Write the candidate pairs of bucket ``docs[s:e]`` (ascending) at ``out_*[o:]``.

    A bucket of at most ``bound`` documents yields all its pairs; a larger one
    (a hot bucket, e.g. thousands of copies of a boilerplate page) is linked as
    a chain of consecutive documents, ``size - 1`` pairs, which keeps it one
    connected component without a quadratic number of pairs.
    """
    size = e - s
    k = o
    if size > bound:
        for i in range(s, e - 1):
            out_a[k] = docs[i]
            out_b[k] = docs[i + 1]
            k += 1
    else:
        for i in range(s, e):
            for j in range(i + 1, e):
                out_a[k] = docs[i]
                out_b[k] = docs[j]
                k += 1
    return k - o
