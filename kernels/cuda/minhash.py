"""CUDA twins of the MinHash kernels: one thread per item around the shared cores.

Lazy ``@cuda.jit(cache=True)`` (no eager signature): importing this module needs no driver;
compiled kernels are cached beside the module like the njit ones.
Signatures use one thread per (document, permutation), so a batch of a few
thousand documents already fills a GPU; the thread runs the same core as the
CPU kernel over its one permutation.
"""
from __future__ import annotations

from numba import cuda

from kernels import minhash_core
from kernels.cuda import device

word_shingles_doc = device(minhash_core.word_shingles_doc)
char_shingles_doc = device(minhash_core.char_shingles_doc)
minhash_doc = device(minhash_core.minhash_doc)
band_key = device(minhash_core.band_key)
bucket_pairs = device(minhash_core.bucket_pairs)
equal_slots = device(minhash_core.equal_slots)
intersect_sorted = device(minhash_core.intersect_sorted)


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
    "band_keys": f"void({_SIG}, int64, int64, uint64[:, ::1])",
    "candidate_pairs": f"void({_I64}, {_I64}, {_I64}, int64, {_I64}, {_I64}, {_I64})",
    "pair_equal": f"void({_SIG}, {_I64}, {_I64}, int64, {_I64})",
    "pair_intersections": f"void({_U64}, {_I64}, {_I64}, {_I64}, {_I64})",
    "equal_matrix": f"void({_SIG}, int64, int64[:, ::1])",
}
