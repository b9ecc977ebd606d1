"""CUDA twins of the text kernels: one thread per document around the shared cores.

The ``*_ranges`` kernels and :func:`split_cuts` are the GPU's own: one thread per part of a
document (a segment of a long document, a range of n-gram start positions, a chunk of
normalised bytes), built by ``engine.gpu.split`` so that no thread gets a whole long document
(see ``kernels.split_core`` for why the parts give exactly the whole document's results).

Lazy ``@cuda.jit(cache=True)`` (no eager signature): importing this module needs no driver;
compiled kernels are cached beside the module like the njit ones.
Arrays may be cupy arrays (real GPU) or numpy arrays (CUDA simulator).
"""
from __future__ import annotations

from numba import cuda

from kernels import split_core, text_core
from kernels.cuda import device

char_ngrams_doc = device(text_core.char_ngrams_doc)
count_codepoints = device(text_core.count_codepoints)
normalize_tokenize_doc = device(text_core.normalize_tokenize_doc)
word_ngrams_doc = device(text_core.word_ngrams_doc)
quiet_cut = device(split_core.quiet_cut)
char_window_end = device(split_core.char_window_end)


@cuda.jit(cache=True)
def norm_tok_counts(data, offsets, flags, map_off, map_len, map_cps, d8, d64, d32, dh, lens, ntok):
    d = cuda.grid(1)
    if d < lens.size:
        ln, nt = normalize_tokenize_doc(data, offsets[d], offsets[d + 1], flags, map_off, map_len,
                                        map_cps, d8, 0, d64, d32, d32, dh, 0, False)
        lens[d] = ln
        ntok[d] = nt


@cuda.jit(cache=True)
def norm_tok_write(data, offsets, flags, map_off, map_len, map_cps, lens, out_offsets, out,
                   tok_offsets, tok_start, tok_len, tok_nch, tok_hash):
    d = cuda.grid(1)
    if d < lens.size and lens[d] >= 0:
        normalize_tokenize_doc(data, offsets[d], offsets[d + 1], flags, map_off, map_len, map_cps,
                               out, out_offsets[d], tok_start, tok_len, tok_nch, tok_hash,
                               tok_offsets[d], True)


@cuda.jit(cache=True)
def word_ngrams(tok_hash, tok_offsets, n, out_offsets, out_hash, out_first):
    d = cuda.grid(1)
    if d < tok_offsets.size - 1:
        word_ngrams_doc(tok_hash, tok_offsets[d], tok_offsets[d + 1], n, out_hash, out_first,
                        out_offsets[d])


@cuda.jit(cache=True)
def codepoint_counts(norm, offsets, out):
    d = cuda.grid(1)
    if d < out.size:
        out[d] = count_codepoints(norm, offsets[d], offsets[d + 1])


@cuda.jit(cache=True)
def char_ngrams(norm, offsets, n, out_offsets, out_hash, out_start, out_len):
    d = cuda.grid(1)
    if d < offsets.size - 1:
        char_ngrams_doc(norm, offsets[d], offsets[d + 1], n, out_hash, out_start, out_len,
                        out_offsets[d])


@cuda.jit(cache=True)
def split_cuts(data, offsets, tgt_doc, tgt_off, seg, flags, map_off, map_len, map_cps, cuts):
    """Cut ``t`` of document ``d = tgt_doc[t]`` (its ``k``-th, from 1): the first exact cut
    in the window ``[s + k*seg, s + (k+1)*seg)`` of the document ``[s, e)``, or -1."""
    t = cuda.grid(1)
    if t < cuts.size:
        d = tgt_doc[t]
        s = offsets[d]
        e = offsets[d + 1]
        lo = s + (t - tgt_off[d] + 1) * seg
        hi = min(lo + seg, e)
        cuts[t] = quiet_cut(data, lo, hi, e, flags, map_off, map_len, map_cps)


@cuda.jit(cache=True)
def word_ngrams_ranges(tok_hash, lo, hi, n, out_offsets, out_hash, out_first):
    """The n-grams of tokens ``lo[u]..hi[u]-1`` (a range of start positions of one document
    and the ``n - 1`` tokens after it) to ``out_offsets[u]`` on."""
    u = cuda.grid(1)
    if u < lo.size:
        word_ngrams_doc(tok_hash, lo[u], hi[u], n, out_hash, out_first, out_offsets[u])


@cuda.jit(cache=True)
def char_ngrams_ranges(norm, bounds, chunk_doc, offsets, n, out_offsets, out_hash, out_start, out_len):
    """The char n-grams starting in chunk ``u`` (``norm[bounds[u]:bounds[u + 1]]``) of document
    ``chunk_doc[u]``, to ``out_offsets[u]`` on."""
    u = cuda.grid(1)
    if u < chunk_doc.size:
        bs = bounds[u]
        end = char_window_end(norm, bs, bounds[u + 1], offsets[chunk_doc[u] + 1], n)
        char_ngrams_doc(norm, bs, end, n, out_hash, out_start, out_len, out_offsets[u])

_U8, _I64, _I32, _U64 = "uint8[::1]", "int64[::1]", "int32[::1]", "uint64[::1]"
_TABLES = "uint8[::1], int32[::1], uint8[::1], int32[::1]"
PTX_SIGNATURES = {
    "norm_tok_counts": f"void({_U8}, {_I64}, {_TABLES}, {_U8}, {_I64}, {_I32}, {_U64}, {_I64}, {_I64})",
    "norm_tok_write": f"void({_U8}, {_I64}, {_TABLES}, {_I64}, {_I64}, {_U8}, {_I64}, {_I64}, {_I32}, {_I32}, {_U64})",
    "word_ngrams": f"void({_U64}, {_I64}, int64, {_I64}, {_U64}, {_I64})",
    "codepoint_counts": f"void({_U8}, {_I64}, {_I64})",
    "char_ngrams": f"void({_U8}, {_I64}, int64, {_I64}, {_U64}, {_I64}, {_I32})",
    "split_cuts": f"void({_U8}, {_I64}, {_I64}, {_I64}, int64, {_TABLES}, {_I64})",
    "word_ngrams_ranges": f"void({_U64}, {_I64}, {_I64}, int64, {_I64}, {_U64}, {_I64})",
    "char_ngrams_ranges": f"void({_U8}, {_I64}, {_I64}, {_I64}, int64, {_I64}, {_U64}, {_I64}, {_I32})",
}
