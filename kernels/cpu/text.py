"""CPU twins of the text kernels: ``prange`` over documents around the shared cores."""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.constants import FLAW_BLANK, FLAW_NUL, FLAW_UTF8  # noqa: F401  doc_flaws codes (0: usable)
from kernels.flaws_core import doc_flaw
from kernels.hashing import find_sorted
from kernels.text_core import (
    char_ngrams_doc,
    count_codepoints,
    normalize_tokenize_doc,
    tokenize_doc,
    word_ngrams_doc,
)


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
                                                  map_len, map_cps, d8, np.int64(0), d64, d32, d32, dh,
                                                  np.int64(0), False)
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
    """Per document: its flaw code (``kernels.flaws_core.doc_flaw``: FLAW_UTF8, FLAW_BLANK,
    FLAW_NUL or 0).  Safe on any bytes (the other kernels are too: invalid sequences read
    as U+FFFD), but only valid UTF-8 tokenises as the definition says."""
    nd = offsets.size - 1
    out = np.zeros(nd, np.int8)
    for d in prange(nd):
        out[d] = doc_flaw(data, offsets[d], offsets[d + 1], flags, check_utf8)
    return out


@njit(parallel=True, cache=True)
def count_byte(data, value):
    """Occurrences of the byte ``value`` in ``data`` (line counting of the JSONL reader)."""
    step = 1 << 20
    nb = (data.size + step - 1) // step
    parts = np.zeros(nb, np.int64)
    for b in prange(nb):
        c = 0
        for i in range(b * step, min(data.size, (b + 1) * step)):
            c += data[i] == value
        parts[b] = c
    return parts.sum()


# ---------------------------------------------------------------------------- one document in scratch
SCRATCH_BIG = 1 << 20   # normalised bytes above which a document is sized exactly first


@njit(cache=True)
def token_scratch():
    """Scratch buffers of :func:`doc_tokens` (norm, start, len, nch, hash), grown on demand."""
    return (np.empty(256, np.uint8), np.empty(64, np.int64), np.empty(64, np.int32),
            np.empty(64, np.int32), np.empty(64, np.uint64))


@njit(cache=True)
def doc_tokens(data, s, e, flags, map_off, map_len, map_cps, max_expand, stop, min_len, sc):
    """Tokens of the raw UTF-8 document ``data[s:e]`` in scratch, for the fused CPU kernels.

    Normalise + tokenise (``normalize_tokenize_doc``, the core of ``tokenize``), then
    drop stop words (``stop``: sorted hashes) and tokens shorter than ``min_len`` code
    points, as ``engine.text.tokenize`` does.  Returns ``(tokens, normalised bytes, sc)``
    with ``sc = (norm, start, len, nch, hash)`` holding them; ``tokens = -1``: the
    document needs the exact slow normalisation path.
    """
    norm, t_start, t_len, t_nch, t_hash = sc
    # an invalid byte reads as U+FFFD (3 bytes normalised): the bound must cover it too,
    # whatever tables ``max_expand`` was computed from
    nb = (e - s) * max(max_expand, 3)
    nt = nb // 2 + 2
    if nb > SCRATCH_BIG:
        nb, nt = normalize_tokenize_doc(data, s, e, flags, map_off, map_len, map_cps, norm, np.int64(0),
                                        t_start, t_len, t_nch, t_hash, np.int64(0), False)
        if nb < 0:
            return -1, 0, sc
    if nb > norm.size:
        norm = np.empty(nb, np.uint8)
    if nt > t_hash.size:
        t_start = np.empty(nt, np.int64)
        t_len = np.empty(nt, np.int32)
        t_nch = np.empty(nt, np.int32)
        t_hash = np.empty(nt, np.uint64)
    ln, nt = normalize_tokenize_doc(data, s, e, flags, map_off, map_len, map_cps, norm, np.int64(0),
                                    t_start, t_len, t_nch, t_hash, np.int64(0), True)
    sc = (norm, t_start, t_len, t_nch, t_hash)
    if ln < 0:
        return -1, 0, sc
    if min_len > 1 or stop.size > 0:
        k = 0
        for t in range(nt):
            if min_len > 1 and t_nch[t] < min_len:
                continue
            if stop.size > 0 and find_sorted(stop, t_hash[t]) >= 0:
                continue
            t_hash[k] = t_hash[t]
            t_start[k] = t_start[t]
            t_len[k] = t_len[t]
            t_nch[k] = t_nch[t]
            k += 1
        nt = k
    return nt, ln, sc
