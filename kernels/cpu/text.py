"""CPU twins of the text kernels: ``prange`` over documents around the shared cores."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.text_core import (char_ngrams_doc, count_codepoints, is_blank, normalize_tokenize_doc,
                               tokenize_doc, word_ngrams_doc)
from kernels.hashing import utf8_error


@njit(parallel=True, cache=True)
def norm_tok_counts(data, offsets, flags, map_off, map_len, map_cps):
    """Per document: normalised byte length (-1: slow path) and token count."""
    nd = offsets.size - 1
    lens = np.empty(nd, np.int64)
    ntok = np.empty(nd, np.int64)
    d8 = np.empty(0, np.uint8)
    d64 = np.empty(0, np.int64)
    d32 = np.empty(0, np.int32)
    dh = np.empty(0, np.uint64)
    for d in prange(nd):
        lens[d], ntok[d] = normalize_tokenize_doc(data, offsets[d], offsets[d + 1], flags, map_off,
                                                  map_len, map_cps, d8, 0, d64, d32, d32, dh, 0, False)
    return lens, ntok


@njit(parallel=True, cache=True)
def norm_tok_write(data, offsets, flags, map_off, map_len, map_cps, lens, out_offsets, out,
                   tok_offsets, tok_start, tok_len, tok_nch, tok_hash):
    for d in prange(offsets.size - 1):
        if lens[d] >= 0:
            normalize_tokenize_doc(data, offsets[d], offsets[d + 1], flags, map_off, map_len, map_cps,
                                   out, out_offsets[d], tok_start, tok_len, tok_nch, tok_hash,
                                   tok_offsets[d], True)


@njit(cache=True)
def tokenize_normalized(norm, offsets, flags):
    """Tokens of already-normalised documents (the few that take the slow path)."""
    nd = offsets.size - 1
    d64 = np.empty(0, np.int64)
    d32 = np.empty(0, np.int32)
    dh = np.empty(0, np.uint64)
    counts = np.empty(nd, np.int64)
    for d in range(nd):
        counts[d] = tokenize_doc(norm, offsets[d], offsets[d + 1], flags, d64, d32, d32, dh, 0, False)
    total = counts.sum()
    ts, tl, tn, th = (np.empty(total, np.int64), np.empty(total, np.int32),
                      np.empty(total, np.int32), np.empty(total, np.uint64))
    k = 0
    for d in range(nd):
        k += tokenize_doc(norm, offsets[d], offsets[d + 1], flags, ts, tl, tn, th, k, True)
    return counts, ts, tl, tn, th


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


@njit(parallel=True, cache=True)
def doc_flaws(data, offsets, flags, check_utf8):
    """Per document: 3 when it is not valid UTF-8 (checked with ``check_utf8``: the kernels
    assume valid UTF-8), 1 when empty or only whitespace, 2 when it holds a NUL byte, else 0."""
    nd = offsets.size - 1
    out = np.zeros(nd, np.int8)
    for d in prange(nd):
        s = offsets[d]
        e = offsets[d + 1]
        if check_utf8 and utf8_error(data, s, e) >= 0:
            out[d] = 3
        elif is_blank(data, s, e, flags):   # NUL is not whitespace: a blank document has none
            out[d] = 1
        else:
            for i in range(s, e):
                if data[i] == 0:
                    out[d] = 2
                    break
    return out
