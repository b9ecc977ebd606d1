"""Per-document scalar cores of the text kernels, shared by the CPU and CUDA twins.

Each core handles one document and is a plain ``@numba.njit`` function: the CPU
kernels (``kernels.cpu.text``) call it inside ``prange`` over documents, the CUDA
kernels (``kernels.cuda.text``) call it from one thread per document.  Every
core has a counting mode (``write=False``: nothing is written, the size is
returned) and a writing mode, so both targets size their outputs with a prefix
sum instead of growing arrays.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from kernels.hashing import combine, utf8_decode, utf8_len, utf8_write, xxh64

WORD = 1
SPACE = 2
UNSAFE = 4
IDENT = 8


@njit(cache=True)
def _emit(out, j, cp, flags, prev_space, write):
    if flags[cp] & SPACE:
        if prev_space:
            return j, True
        if write:
            out[j] = 32
        return j + 1, True
    if write:
        utf8_write(out, j, cp)
    return j + utf8_len(cp), False


@njit(cache=True)
def normalize_doc(data, s, e, flags, map_off, map_len, map_cps, out, o, write):
    """NFKC + casefold (+ accent strip) + whitespace collapse of ``data[s:e]``.

    Returns the normalised byte length, or -1 when the document holds a code
    point that is context-sensitive under NFKC (it then takes the exact slow path).
    """
    i = s
    j = o
    prev_space = False
    while i < e:
        cp, n = utf8_decode(data, i)
        i += n
        f = flags[cp]
        if f & UNSAFE:
            return -1
        if f & IDENT:
            j, prev_space = _emit(out, j, cp, flags, prev_space, write)
        else:
            a = map_off[cp]
            for k in range(a, a + map_len[cp]):
                j, prev_space = _emit(out, j, map_cps[k], flags, prev_space, write)
    return j - o


@njit(cache=True)
def tokenize_doc(norm, s, e, flags, tok_start, tok_len, tok_nch, tok_hash, k0, write):
    """Maximal runs of word code points in normalised ``norm[s:e]``; returns the count.

    Writes, per token, its byte start and length, its length in code points and
    its xxHash64 (seed 0).
    """
    k = k0
    i = s
    ts = -1
    nch = 0
    while i <= e:
        is_word = False
        n = 1
        if i < e:
            cp, n = utf8_decode(norm, i)
            is_word = (flags[cp] & WORD) != 0
        if is_word:
            if ts < 0:
                ts = i
                nch = 0
            nch += 1
        elif ts >= 0:
            if write:
                tok_start[k] = ts
                tok_len[k] = i - ts
                tok_nch[k] = nch
                tok_hash[k] = xxh64(norm, ts, i - ts, 0)
            k += 1
            ts = -1
        i += n
    return k - k0


@njit(cache=True)
def word_ngrams_doc(tok_hash, a, b, n, out_hash, out_first, o):
    """Hash every n-gram of tokens ``a..b-1`` (one document) into ``out_hash[o:]``."""
    m = b - a - n + 1
    for t in range(m):
        h = np.uint64(n)
        for k in range(n):
            h = combine(h, tok_hash[a + t + k])
        out_hash[o + t] = h
        out_first[o + t] = a + t
    return m if m > 0 else 0


@njit(cache=True)
def count_codepoints(norm, s, e):
    c = 0
    for i in range(s, e):
        if (norm[i] & 0xC0) != 0x80:
            c += 1
    return c


@njit(cache=True)
def char_ngrams_doc(norm, s, e, n, out_hash, out_start, out_len, o):
    """Hash every window of ``n`` code points of normalised ``norm[s:e]``."""
    k = o
    i = s
    while i < e:
        j = i
        c = 0
        while c < n and j < e:
            j += utf8_len(utf8_decode(norm, j)[0])
            c += 1
        if c < n:
            break
        out_hash[k] = xxh64(norm, i, j - i, 0)
        out_start[k] = i
        out_len[k] = j - i
        k += 1
        i += utf8_len(utf8_decode(norm, i)[0])
    return k - o
