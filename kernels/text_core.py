"""Per-document scalar cores of the text kernels, shared by the CPU and CUDA twins.

Each core handles one document and is a plain ``@numba.njit`` function: the CPU
kernels (``kernels.cpu.text``) call it inside ``prange`` over documents, the CUDA
kernels (``kernels.cuda.text``) call it from one thread per document.  Every
core has a counting mode (``write=False``: nothing is written, the size is
returned) and a writing mode, so both targets size their outputs with a prefix
sum instead of growing arrays.

No core trusts its bytes: every code point is decoded with ``utf8_decode(buf, i, e)``
(bounded by the end of the document; an invalid sequence reads as U+FFFD, as
``bytes.decode("utf-8", "replace")`` reads it), so whatever a reader lets through,
reads stay inside the document and every table index is a code point below 0x110000.
Char n-gram windows and ``count_codepoints`` delimit code points by the same rule, so
a size computed in a counting pass is exactly what the writing pass writes.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from kernels.constants import IDENT, SPACE, UNSAFE, WORD  # the code-point flags of the tables
from kernels.hashing import combine, utf8_decode, utf8_len, utf8_write, xxh64


@njit(cache=True)
def _close_token(out, ts, j, nch, tok_start, tok_len, tok_nch, tok_hash, k, write):
    if write:
        tok_start[k] = ts
        tok_len[k] = j - ts
        if tok_nch.size:   # empty: not asked for
            tok_nch[k] = nch
        tok_hash[k] = xxh64(out, ts, j - ts, np.int64(0))
    return k + 1


@njit(cache=True)
def normalize_tokenize_doc(data, s, e, flags, map_off, map_len, map_cps, out, o,
                           tok_start, tok_len, tok_nch, tok_hash, k0, write):
    """Normalise ``data[s:e]`` and tokenise it in the same pass.

    Normalisation: per-code-point NFKC + casefold (+ accent strip) mapping from the
    tables, whitespace runs collapsed to one space.  Tokens: maximal runs of
    word code points of the normalised text.  Returns (normalised byte length,
    token count), or (-1, 0) when the document holds a code point that is
    context-sensitive under NFKC (it then takes the exact slow path).  With
    ``write`` the bytes go to ``out[o:]`` and the tokens (byte start, byte length,
    code points, xxHash64) to index ``k0`` on; otherwise only sizes are computed.
    """
    i = s
    j = o
    k = k0
    # typed starting values, not literals: numba would otherwise compile the callees once
    # more for the literal types it sees first (Literal[int](-1), Literal[int](0))
    ts = np.int64(-1)
    nch = np.int64(0)
    prev_space = False
    while i < e:
        b0 = data[i]
        if b0 < 0x80 and flags[b0] & WORD:
            # ASCII fast path for runs of word bytes: NFKC + casefold maps A-Z to a-z and the
            # other ASCII word code points to themselves (engine.normalize checks this when it
            # builds the tables); other bytes take the general path below
            if ts < 0:
                ts = j
                nch = 0
            while True:
                if write:
                    out[j] = b0 + np.uint8(32) if np.uint8(b0 - np.uint8(65)) < np.uint8(26) else b0
                j += 1
                nch += 1
                i += 1
                if i >= e:
                    break
                b0 = data[i]
                if b0 >= 0x80 or not (flags[b0] & WORD):
                    break
            prev_space = False
            continue
        cp, n = utf8_decode(data, i, e)
        i += n
        f = flags[cp]
        if f & UNSAFE:
            return -1, 0
        if f & IDENT:
            a = -1
            cnt = 1
        else:
            a = map_off[cp]
            cnt = np.int32(map_len[cp])
        for m in range(cnt):
            x = cp if a < 0 else map_cps[a + m]
            fx = flags[x]
            if fx & WORD:
                if ts < 0:
                    ts = j
                    nch = 0
                nch += 1
            elif ts >= 0:
                k = _close_token(out, ts, j, nch, tok_start, tok_len, tok_nch, tok_hash, k, write)
                ts = -1
            if fx & SPACE:
                if not prev_space:
                    if write:
                        out[j] = 32
                    j += 1
                prev_space = True
            else:
                if write:
                    utf8_write(out, j, x)
                j += utf8_len(x)
                prev_space = False
    if ts >= 0:
        k = _close_token(out, ts, j, nch, tok_start, tok_len, tok_nch, tok_hash, k, write)
    return j - o, k - k0


@njit(cache=True)
def tokenize_doc(norm, s, e, flags, tok_start, tok_len, tok_nch, tok_hash, k0, write):
    """Tokens of already-normalised ``norm[s:e]`` (the slow-path documents); returns the count."""
    k = k0
    i = s
    ts = np.int64(-1)   # typed, not literal: see normalize_tokenize_doc
    nch = np.int64(0)
    while i < e:
        cp, n = utf8_decode(norm, i, e)
        if flags[cp] & WORD:
            if ts < 0:
                ts = i
                nch = 0
            nch += 1
        elif ts >= 0:
            k = _close_token(norm, ts, i, nch, tok_start, tok_len, tok_nch, tok_hash, k, write)
            ts = -1
        i += n
    if ts >= 0:
        k = _close_token(norm, ts, e, nch, tok_start, tok_len, tok_nch, tok_hash, k, write)
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
def is_blank(data, s, e, flags):
    """No code point of ``data[s:e]`` is outside re's \\s (i.e. ``not text.strip()``)."""
    i = s
    while i < e:
        cp, n = utf8_decode(data, i, e)
        if not (flags[cp] & SPACE):
            return False
        i += n
    return True


@njit(cache=True)
def _cp_end(norm, i, e):
    """End of the code point that starts at ``norm[i]``: the next byte (or ``e``) that is not a
    UTF-8 continuation byte (80-BF).  No decoding: the char n-gram kernels only need boundaries."""
    i += 1
    while i < e and (norm[i] & 0xC0) == 0x80:
        i += 1
    return i


@njit(cache=True)
def count_codepoints(norm, s, e):
    """Code points of ``norm[s:e]``: its bytes that are not continuation bytes (80-BF).

    Exact on valid UTF-8 (normalised text always is: the tokenizer writes U+FFFD for
    invalid input); on any bytes it is the count :func:`char_ngrams_doc` walks
    (``_cp_end``), so ``count - n + 1`` windows is exactly what that kernel writes
    and output sized with it is never overrun.
    """
    c = 0
    for i in range(s, e):   # the test written out, not called: the loop then vectorises
        if (norm[i] & 0xC0) != 0x80:
            c += 1
    return c


@njit(cache=True)
def char_ngrams_doc(norm, s, e, n, out_hash, out_start, out_len, o):
    """Hash every window of ``n`` code points of normalised ``norm[s:e]``.

    Code points are delimited as :func:`count_codepoints` counts them, so this writes
    ``max(count_codepoints(norm, s, e) - n + 1, 0)`` windows (``n >= 1``) whatever the
    bytes; continuation bytes before the first code point (invalid input only) are in
    no window.
    """
    k = o
    i = s
    while i < e and (norm[i] & 0xC0) == 0x80:
        i += 1
    while i < e:
        j = i
        c = 0
        while c < n and j < e:
            j = _cp_end(norm, j, e)
            c += 1
        if c < n:
            break
        out_hash[k] = xxh64(norm, i, j - i, np.int64(0))
        out_start[k] = i
        out_len[k] = j - i
        k += 1
        i = _cp_end(norm, i, e)
    return k - o
