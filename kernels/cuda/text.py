"""CUDA twins of the text kernels: one thread per document around the shared cores.

Lazy ``@cuda.jit(cache=True)`` (no eager signature): importing this module needs no driver;
compiled kernels are cached beside the module like the njit ones.
Arrays may be cupy arrays (real GPU) or numpy arrays (CUDA simulator).
"""
from __future__ import annotations

from numba import cuda

from kernels import text_core
from kernels.cuda import device

char_ngrams_doc = device(text_core.char_ngrams_doc)
count_codepoints = device(text_core.count_codepoints)
normalize_tokenize_doc = device(text_core.normalize_tokenize_doc)
word_ngrams_doc = device(text_core.word_ngrams_doc)


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

_U8, _I64, _I32, _U64 = "uint8[::1]", "int64[::1]", "int32[::1]", "uint64[::1]"
_TABLES = "uint8[::1], int32[::1], uint8[::1], int32[::1]"
PTX_SIGNATURES = {
    "norm_tok_counts": f"void({_U8}, {_I64}, {_TABLES}, {_U8}, {_I64}, {_I32}, {_U64}, {_I64}, {_I64})",
    "norm_tok_write": f"void({_U8}, {_I64}, {_TABLES}, {_I64}, {_I64}, {_U8}, {_I64}, {_I64}, {_I32}, {_I32}, {_U64})",
    "word_ngrams": f"void({_U64}, {_I64}, int64, {_I64}, {_U64}, {_I64})",
    "codepoint_counts": f"void({_U8}, {_I64}, {_I64})",
    "char_ngrams": f"void({_U8}, {_I64}, int64, {_I64}, {_U64}, {_I64}, {_I32})",
}
