"""CPU twins of the text kernels: ``prange`` over documents around the shared cores."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.text_core import (char_ngrams_doc, count_codepoints, normalize_doc,
                               tokenize_doc, word_ngrams_doc)


@njit(parallel=True, cache=True)
def normalize_lengths(data, offsets, flags, map_off, map_len, map_cps):
    nd = offsets.size - 1
    lens = np.empty(nd, np.int64)
    dummy = np.empty(0, np.uint8)
    for d in prange(nd):
        lens[d] = normalize_doc(data, offsets[d], offsets[d + 1], flags, map_off, map_len,
                                map_cps, dummy, 0, False)
    return lens


@njit(parallel=True, cache=True)
def normalize_write(data, offsets, flags, map_off, map_len, map_cps, lens, out_offsets, out):
    for d in prange(offsets.size - 1):
        if lens[d] >= 0:
            normalize_doc(data, offsets[d], offsets[d + 1], flags, map_off, map_len,
                          map_cps, out, out_offsets[d], True)


@njit(parallel=True, cache=True)
def token_counts(norm, offsets, flags):
    nd = offsets.size - 1
    counts = np.empty(nd, np.int64)
    d64 = np.empty(0, np.int64)
    d32 = np.empty(0, np.int32)
    dh = np.empty(0, np.uint64)
    for d in prange(nd):
        counts[d] = tokenize_doc(norm, offsets[d], offsets[d + 1], flags, d64, d32, d32, dh, 0, False)
    return counts


@njit(parallel=True, cache=True)
def token_write(norm, offsets, flags, tok_offsets, tok_start, tok_len, tok_nch, tok_hash):
    for d in prange(offsets.size - 1):
        tokenize_doc(norm, offsets[d], offsets[d + 1], flags, tok_start, tok_len, tok_nch,
                     tok_hash, tok_offsets[d], True)


@njit(parallel=True, cache=True)
def word_ngrams(tok_hash, tok_offsets, n, out_offsets, out_hash, out_first):
    for d in prange(tok_offsets.size - 1):
        word_ngrams_doc(tok_hash, tok_offsets[d], tok_offsets[d + 1], n, out_hash, out_first,
                        out_offsets[d])


@njit(parallel=True, cache=True)
def codepoint_counts(norm, offsets):
    nd = offsets.size - 1
    out = np.empty(nd, np.int64)
    for d in prange(nd):
        out[d] = count_codepoints(norm, offsets[d], offsets[d + 1])
    return out


@njit(parallel=True, cache=True)
def char_ngrams(norm, offsets, n, out_offsets, out_hash, out_start, out_len):
    for d in prange(offsets.size - 1):
        char_ngrams_doc(norm, offsets[d], offsets[d + 1], n, out_hash, out_start, out_len,
                        out_offsets[d])
