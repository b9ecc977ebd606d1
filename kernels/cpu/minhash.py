"""CPU twins of the MinHash kernels: ``prange`` over documents / pairs / buckets around the shared cores.

``text_signatures`` is CPU-only: it chains the cores that the unfused kernels (and
their CUDA twins) run one after the other, per document, in scratch memory; the
tests check it against the unfused path bit for bit.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.cpu.text import doc_tokens, token_scratch
from kernels.minhash_core import (
    band_key,
    bucket_pairs,
    char_shingles_doc,
    equal_slots,
    intersect_sorted,
    minhash_doc,
    word_shingles_doc,
)
from kernels.text_core import count_codepoints


@njit(cache=True)   # serial: under 1% of a 100 MB run, a parallel compile costs more
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


@njit(cache=True)   # serial: under 1% of a 100 MB run, a parallel compile costs more
def signatures(hashes, offsets, pa, pb, sig):
    for d in prange(offsets.size - 1):
        minhash_doc(hashes, offsets[d], offsets[d + 1], pa, pb, 0, pa.size, sig, np.int64(d))


@njit(cache=True)   # serial: under 1% of a minhash run, a parallel compile costs more
def band_keys(sig, bands, rows, keys):
    for d in prange(sig.shape[0]):
        for j in range(bands):
            keys[j, d] = band_key(sig, np.int64(d), j, rows)


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
            out[i, j] = equal_slots(sig, np.int64(i), j, k)


# ---------------------------------------------------------------------------- fused text -> signature
@njit(cache=True)
def _scratch():
    """Per-chunk scratch of :func:`doc_shingles`: the tokens' (``token_scratch``), then the
    shingles' (hash, first, length), grown on demand."""
    return (token_scratch(), np.empty(64, np.uint64), np.empty(64, np.int64), np.empty(64, np.int32))


@njit(cache=True)
def doc_shingles(data, s, e, flags, map_off, map_len, map_cps, max_expand, stop, min_len, char, n, sc):
    """Raw shingle hashes of the raw UTF-8 document ``data[s:e]``, in scratch.

    Returns ``(m, sc)``: the shingles are ``sc[1][:m]``; ``m = -1`` for a document
    that needs the exact slow normalisation path.  Tokens as ``engine.text.tokenize``
    gives them (``doc_tokens``: stop words and short tokens dropped in word mode),
    then shingles (``word_shingles_doc`` / ``char_shingles_doc``): the cores of the
    unfused path, hence the same bits.  Any bytes are safe: invalid UTF-8 reads as U+FFFD,
    and ``count_codepoints`` counts exactly the windows ``char_shingles_doc`` writes.
    """
    tsc, sh, s_first, s_len = sc
    if char:
        nt, ln, tsc = doc_tokens(data, s, e, flags, map_off, map_len, map_cps, max_expand,
                                 stop[:0], np.int64(1), tsc)
    else:
        nt, ln, tsc = doc_tokens(data, s, e, flags, map_off, map_len, map_cps, max_expand,
                                 stop, min_len, tsc)
    if nt < 0:
        return -1, (tsc, sh, s_first, s_len)
    norm = tsc[0]
    t_hash = tsc[4]
    if char:
        ncp = count_codepoints(norm, np.int64(0), ln)
        m = ncp - n + 1 if ncp >= n else (1 if ncp > 0 else 0)
        if m > sh.size:
            sh = np.empty(m, np.uint64)
            s_first = np.empty(m, np.int64)
            s_len = np.empty(m, np.int32)
        char_shingles_doc(norm, np.int64(0), ln, n, ncp, sh, s_first, s_len, np.int64(0))
    else:
        m = nt - n + 1 if nt >= n else (1 if nt > 0 else 0)
        if m > sh.size:
            sh = np.empty(m, np.uint64)
            s_first = np.empty(m, np.int64)
        word_shingles_doc(t_hash, np.int64(0), nt, n, sh, s_first, np.int64(0))
    return m, (tsc, sh, s_first, s_len)


_CHUNK = 32  # documents per scratch owner (one prange item)


@njit(parallel=True, cache=True, nogil=True)
def text_signatures(data, offsets, flags, map_off, map_len, map_cps, max_expand, stop, min_len,
                    char, n, pa, pb, sig, nsh):
    """Raw UTF-8 documents -> signatures in one pass, no corpus-wide intermediate array.

    Per document: :func:`doc_shingles` in scratch, then the minimum per permutation
    (``minhash_doc``), the same cores as the unfused path (tokenize -> shingles ->
    signatures, and its CUDA twins), hence bit-identical signatures.  ``nsh[d]`` =
    raw shingle count, or -1 for a slow-path document (its row is left to the caller).
    """
    nd = offsets.size - 1
    for c in prange((nd + _CHUNK - 1) // _CHUNK):
        sc = _scratch()
        for d in range(c * _CHUNK, min(nd, (c + 1) * _CHUNK)):
            m, sc = doc_shingles(data, offsets[d], offsets[d + 1], flags, map_off, map_len, map_cps,
                                 max_expand, stop, min_len, char, n, sc)
            nsh[d] = m
            if m >= 0:
                minhash_doc(sc[1], np.int64(0), m, pa, pb, 0, pa.size, sig, d)


@njit(parallel=True, cache=True, nogil=True)
def text_shingle_sets(data, offsets, flags, map_off, map_len, map_cps, max_expand, stop, min_len,
                      char, n, out_offsets, out, counts):
    """Raw UTF-8 documents -> sorted distinct shingles, one pass (exact verification).

    ``out_offsets`` come from the raw shingle counts of the signature pass; document
    ``d``'s distinct hashes go first in its slot, ``counts[d]`` of them (-1: slow path,
    slot left to the caller).  Equals tokenize -> shingles -> ``sort_unique``.
    """
    nd = offsets.size - 1
    for c in prange((nd + _CHUNK - 1) // _CHUNK):
        sc = _scratch()
        for d in range(c * _CHUNK, min(nd, (c + 1) * _CHUNK)):
            m, sc = doc_shingles(data, offsets[d], offsets[d + 1], flags, map_off, map_len, map_cps,
                                 max_expand, stop, min_len, char, n, sc)
            if m < 0:
                counts[d] = -1
                continue
            o = out_offsets[d]
            seg = out[o:o + m]
            seg[:] = sc[1][:m]
            if m < 2:
                counts[d] = m
                continue
            seg.sort()
            w = 1
            for i in range(1, m):
                if seg[i] != seg[w - 1]:
                    seg[w] = seg[i]
                    w += 1
            counts[d] = w


@njit(parallel=True, cache=True)
def gather_ranges(data, starts, out_offsets, out):
    """``out[out_offsets[i]:out_offsets[i+1]] = data[starts[i]:...]``: documents picked from a batch."""
    for i in prange(starts.size):
        s = starts[i]
        o = out_offsets[i]
        for t in range(out_offsets[i + 1] - o):
            out[o + t] = data[s + t]
