"""CUDA twins of the MinHash kernels: one thread per item around the shared cores.

Lazy ``@cuda.jit(cache=True)`` (no eager signature): importing this module needs no driver;
compiled kernels are cached beside the module like the njit ones.
Signatures use one thread per (document, permutation), so a batch of a few
thousand documents already fills a GPU; the thread runs the same core as the
CPU kernel over its one permutation.

The ``*_ranges`` kernels and :func:`signature_parts` split a long document's work among
threads (``engine.gpu.split`` builds the parts): shingles by ranges of start positions, the
signature as an atomic minimum over parts of its shingles (a minimum in any order is the
minimum, so the bits are the CPU's).
"""
from __future__ import annotations

from numba import cuda

from kernels import minhash_core, split_core, text_core
from kernels.cuda import device

word_shingles_doc = device(minhash_core.word_shingles_doc)
char_shingles_doc = device(minhash_core.char_shingles_doc)
minhash_doc = device(minhash_core.minhash_doc)
band_key = device(minhash_core.band_key)
bucket_pairs = device(minhash_core.bucket_pairs)
equal_slots = device(minhash_core.equal_slots)
intersect_sorted = device(minhash_core.intersect_sorted)
char_ngrams_doc = device(text_core.char_ngrams_doc)
char_window_end = device(split_core.char_window_end)


@cuda.jit(cache=True)
def word_shingles(tok_hash, tok_offsets, n, out_offsets, out_hash, out_first):
    d = cuda.grid(1)
    if d < tok_offsets.size - 1:
        word_shingles_doc(tok_hash, tok_offsets[d], tok_offsets[d + 1], n, out_hash, out_first,
                          out_offsets[d])


@cuda.jit(cache=True)
def char_shingles(norm, offsets, ncp, n, out_offsets, out_hash, out_start, out_len):
    d = cuda.grid(1)
    if d < offsets.size - 1:
        char_shingles_doc(norm, offsets[d], offsets[d + 1], n, ncp[d], out_hash, out_start,
                          out_len, out_offsets[d])


@cuda.jit(cache=True)
def signatures(hashes, offsets, pa, pb, sig):
    t = cuda.grid(1)
    k = pa.size
    if t < sig.shape[0] * k:
        d = t // k
        p = t - d * k
        minhash_doc(hashes, offsets[d], offsets[d + 1], pa, pb, p, p + 1, sig, d)


@cuda.jit(cache=True)
def word_shingles_ranges(tok_hash, lo, hi, n, out_offsets, out_hash, out_first):
    """Shingles of tokens ``lo[u]..hi[u]-1``: a range of start positions of a document with at
    least ``n`` tokens (plus the ``n - 1`` after it), or a shorter document whole."""
    u = cuda.grid(1)
    if u < lo.size:
        word_shingles_doc(tok_hash, lo[u], hi[u], n, out_hash, out_first, out_offsets[u])


@cuda.jit(cache=True)
def char_shingles_ranges(norm, bounds, chunk_doc, offsets, ncp, n, out_offsets, out_hash, out_start,
                         out_len):
    """Shingles starting in chunk ``u`` of document ``d = chunk_doc[u]``: its windows when ``d``
    has at least ``n`` code points, else (first chunk only) the one shingle of the document."""
    u = cuda.grid(1)
    if u < chunk_doc.size:
        d = chunk_doc[u]
        bs = bounds[u]
        e = offsets[d + 1]
        if ncp[d] >= n:
            end = char_window_end(norm, bs, bounds[u + 1], e, n)
            char_ngrams_doc(norm, bs, end, n, out_hash, out_start, out_len, out_offsets[u])
        elif bs == offsets[d]:
            char_shingles_doc(norm, bs, e, n, ncp[d], out_hash, out_start, out_len, out_offsets[u])


@cuda.jit(cache=True)
def signature_parts(hashes, bounds, part_doc, pa, pb, part, sig):
    """Minimum of permutation ``p`` over part ``u`` (``hashes[bounds[u]:bounds[u + 1]]``) into
    ``part[u, p]``, then atomically into ``sig[part_doc[u], p]`` (filled with EMPTY first)."""
    t = cuda.grid(1)
    k = pa.size
    if t < part.shape[0] * k:
        u = t // k
        p = t - u * k
        minhash_doc(hashes, bounds[u], bounds[u + 1], pa, pb, p, p + 1, part, u)
        cuda.atomic.min(sig, (part_doc[u], p), part[u, p])


@cuda.jit(cache=True)
def band_keys(sig, bands, rows, keys):
    t = cuda.grid(1)
    if t < sig.shape[0] * bands:
        d = t // bands
        j = t - d * bands
        keys[j, d] = band_key(sig, d, j, rows)


@cuda.jit(cache=True)
def candidate_pairs(docs, starts, ends, bound, out_offsets, out_a, out_b):
    u = cuda.grid(1)
    if u < starts.size:
        bucket_pairs(docs, starts[u], ends[u], bound, out_a, out_b, out_offsets[u])


@cuda.jit(cache=True)
def pair_equal(sig, pa, pb, k, out):
    p = cuda.grid(1)
    if p < pa.size:
        out[p] = equal_slots(sig, pa[p], pb[p], k)


@cuda.jit(cache=True)
def pair_intersections(h, offsets, pa, pb, out):
    p = cuda.grid(1)
    if p < pa.size:
        a = pa[p]
        b = pb[p]
        out[p] = intersect_sorted(h, offsets[a], offsets[a + 1], offsets[b], offsets[b + 1])


@cuda.jit(cache=True)
def equal_matrix(sig, k, out):
    t = cuda.grid(1)
    n = sig.shape[0]
    if t < n * n:
        i = t // n
        j = t - i * n
        out[i, j] = equal_slots(sig, i, j, k)


_U8, _I64, _I32, _U32, _U64 = "uint8[::1]", "int64[::1]", "int32[::1]", "uint32[::1]", "uint64[::1]"
_SIG = "uint32[:, ::1]"
PTX_SIGNATURES = {
    "word_shingles": f"void({_U64}, {_I64}, int64, {_I64}, {_U64}, {_I64})",
    "char_shingles": f"void({_U8}, {_I64}, {_I64}, int64, {_I64}, {_U64}, {_I64}, {_I32})",
    "signatures": f"void({_U64}, {_I64}, {_U32}, {_U32}, {_SIG})",
    "word_shingles_ranges": f"void({_U64}, {_I64}, {_I64}, int64, {_I64}, {_U64}, {_I64})",
    "char_shingles_ranges": f"void({_U8}, {_I64}, {_I64}, {_I64}, {_I64}, int64, {_I64}, {_U64}, {_I64}, {_I32})",
    "signature_parts": f"void({_U64}, {_I64}, {_I64}, {_U32}, {_U32}, {_SIG}, {_SIG})",
    "band_keys": f"void({_SIG}, int64, int64, uint64[:, ::1])",
    "candidate_pairs": f"void({_I64}, {_I64}, {_I64}, int64, {_I64}, {_I64}, {_I64})",
    "pair_equal": f"void({_SIG}, {_I64}, {_I64}, int64, {_I64})",
    "pair_intersections": f"void({_U64}, {_I64}, {_I64}, {_I64}, {_I64})",
    "equal_matrix": f"void({_SIG}, int64, int64[:, ::1])",
}
