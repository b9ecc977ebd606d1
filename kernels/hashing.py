"""Scalar hash and UTF-8 helpers, written once and compiled for both targets.

Every function here is a plain ``@numba.njit`` function with no allocation and
no Python objects, so the CPU kernels call it directly and the CUDA kernels
call it as a device function (numba-cuda compiles ``njit`` callees for the GPU).

The token hash is xxHash64 (seed 0) of the token's normalised UTF-8 bytes,
the documented algorithm of https://github.com/Cyan4973/xxHash, checked in the
tests against the ``xxhash`` package.  Word n-gram hashes combine the token
hashes with :func:`combine`, a documented fold (see its docstring), so an
n-gram hash never needs its tokens to be contiguous in memory.

UTF-8 is never trusted: :func:`utf8_next` validates each sequence within the
range it is given (Python's strict rules), :func:`utf8_decode` reads an invalid
one as U+FFFD, and :func:`utf8_error` reports the first one, all by that one
function, so the reader check and the kernels cannot disagree.
"""
from __future__ import annotations

import numpy as np
from numba import njit

P1 = np.uint64(0x9E3779B185EBCA87)
P2 = np.uint64(0xC2B2AE3D27D4EB4F)
P3 = np.uint64(0x165667B19E3779F9)
P4 = np.uint64(0x85EBCA77C2B2AE63)
P5 = np.uint64(0x27D4EB2F165667C5)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@njit(cache=True, inline="always")   # one line: inlined, not compiled once per literal shift
def rotl64(x, r):
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


@njit(cache=True)
def _read64(buf, i):
    v = np.uint64(0)
    for k in range(8):
        v |= np.uint64(buf[i + k]) << np.uint64(8 * k)
    return v


@njit(cache=True)
def _read32(buf, i):
    v = np.uint64(0)
    for k in range(4):
        v |= np.uint64(buf[i + k]) << np.uint64(8 * k)
    return v


@njit(cache=True)
def _round(acc, lane):
    acc = acc + lane * P2
    acc = rotl64(acc, 31)
    return acc * P1


@njit(cache=True)
def _merge(acc, val):
    acc = acc ^ _round(np.uint64(0), val)
    return acc * P1 + P4


@njit(cache=True)
def xxh64(buf, start, length, seed):
    """xxHash64 of ``buf[start:start + length]`` (uint8 array) with a uint64 seed."""
    seed = np.uint64(seed)
    i = start
    end = start + length
    if length >= 32:
        v1 = seed + P1 + P2
        v2 = seed + P2
        v3 = seed
        v4 = seed - P1
        limit = end - 32
        while i <= limit:
            v1 = _round(v1, _read64(buf, i))
            v2 = _round(v2, _read64(buf, i + 8))
            v3 = _round(v3, _read64(buf, i + 16))
            v4 = _round(v4, _read64(buf, i + 24))
            i += 32
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18)
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
    else:
        h = seed + P5
    h = h + np.uint64(length)
    while i + 8 <= end:
        k1 = _round(np.uint64(0), _read64(buf, i))
        h = h ^ k1
        h = rotl64(h, 27) * P1 + P4
        i += 8
    if i + 4 <= end:
        h = h ^ (_read32(buf, i) * P1)
        h = rotl64(h, 23) * P2 + P3
        i += 4
    while i < end:
        h = h ^ (np.uint64(buf[i]) * P5)
        h = rotl64(h, 11) * P1
        i += 1
    h = h ^ (h >> np.uint64(33))
    h = h * P2
    h = h ^ (h >> np.uint64(29))
    h = h * P3
    h = h ^ (h >> np.uint64(32))
    return h


@njit(cache=True)
def mix64(x):
    """SplitMix64 finaliser (Steele, Lea, Flood 2014): a bijection on uint64."""
    x = x ^ (x >> np.uint64(30))
    x = x * M1
    x = x ^ (x >> np.uint64(27))
    x = x * M2
    x = x ^ (x >> np.uint64(31))
    return x


@njit(cache=True)
def combine(h, x):
    """Fold token hash ``x`` into the running n-gram hash ``h``.

    ``combine(h, x) = mix64(h * 0x9E3779B185EBCA87 + x)`` with wrapping uint64
    arithmetic; an n-gram of tokens t1..tn hashes to
    ``combine(...combine(combine(n, t1), t2)..., tn)``, so n-grams of different
    lengths never share a starting state.
    """
    return mix64(h * P1 + x)


REPLACEMENT = 0xFFFD   # U+FFFD, what an invalid sequence decodes to


@njit(cache=True)
def utf8_next(buf, i, e):
    """Decode and validate the sequence at ``buf[i]``, ``i < e``: (code point, byte length).

    The one validation rule of the kernels (:func:`utf8_decode` and :func:`utf8_error`
    both come here), that of Python's strict decoder: continuation
    bytes 80-BF, no overlong form (C0, C1; E0 + 80-9F; F0 + 80-8F), no surrogate
    (ED + A0-BF), nothing above U+10FFFF (F4 + 90-BF; F5-FF), no sequence past ``e``.
    An invalid sequence gives ``(-1, n)``: ``n >= 1`` is the length of its *maximal
    subpart*, the longest prefix that could still start a valid sequence (Unicode
    ch. 3, "U+FFFD substitution of maximal subparts"), which is what
    ``bytes.decode("utf-8", "replace")`` turns into one U+FFFD.  So ``i + n <= e``
    whatever the bytes, and a code point is in 0..0x10FFFF and never a surrogate:
    a safe index for the per-code-point tables.
    """
    b0 = np.int32(buf[i])
    if b0 < 0x80:
        return b0, 1
    # allowed range of the second byte, by lead byte; every later byte is 80-BF.  One
    # loop for the three lengths: measured 5-20 % faster in the tokenizer than
    # straight-line code per length or a fast path plus a separate slow one
    lo = 0x80
    hi = 0xBF
    if b0 < 0xC2:          # continuation byte, or an overlong 2-byte lead
        return np.int32(-1), 1
    elif b0 < 0xE0:
        n = 2
        cp = b0 & 0x1F
    elif b0 < 0xF0:
        n = 3
        cp = b0 & 0x0F
        if b0 == 0xE0:
            lo = 0xA0      # overlong below U+0800
        elif b0 == 0xED:
            hi = 0x9F      # surrogates U+D800-DFFF
    elif b0 < 0xF5:
        n = 4
        cp = b0 & 0x07
        if b0 == 0xF0:
            lo = 0x90      # overlong below U+10000
        elif b0 == 0xF4:
            hi = 0x8F      # above U+10FFFF
    else:                  # F5-FF: above U+10FFFF, or no UTF-8 lead byte at all
        return np.int32(-1), 1
    for k in range(1, n):
        if i + k >= e:     # cut short by the end of the range
            return np.int32(-1), k
        c = np.int32(buf[i + k])
        if c < lo or c > hi:
            return np.int32(-1), k
        cp = (cp << 6) | (c & 0x3F)
        lo = 0x80
        hi = 0xBF
    return cp, n


@njit(cache=True)
def utf8_decode(buf, i, e):
    """Decode the code point starting at ``buf[i]`` of the range ending at ``e``; return
    (code point, byte length).

    Bytes are not trusted (a reader may let invalid UTF-8 through): an invalid
    sequence decodes to U+FFFD and consumes its maximal subpart (see
    :func:`utf8_next`), as ``bytes.decode("utf-8", "replace")`` does, so
    ``i + length <= e`` and the code point indexes the 0x110000-entry tables safely.
    """
    cp, n = utf8_next(buf, i, e)
    if cp < 0:
        return np.int32(REPLACEMENT), n
    return cp, n


@njit(cache=True)
def utf8_error(buf, s, e):
    """Offset (from ``s``) of the first byte of ``buf[s:e]`` that starts an invalid UTF-8
    sequence, or -1: the rules of Python's strict decoder (no overlong forms, no
    surrogates, nothing above U+10FFFF, no truncated sequence), i.e. :func:`utf8_next`'s,
    so what this accepts is exactly what :func:`utf8_decode` decodes without U+FFFD."""
    i = s
    while i < e:
        if buf[i] < 0x80:
            i += 1
            continue
        cp, n = utf8_next(buf, i, e)
        if cp < 0:
            return i - s
        i += n
    return -1


@njit(cache=True)
def utf8_len(cp):
    if cp < 0x80:
        return 1
    if cp < 0x800:
        return 2
    if cp < 0x10000:
        return 3
    return 4


@njit(cache=True)
def utf8_write(out, j, cp):
    """Encode code point ``cp`` into ``out[j:]``; return the number of bytes written."""
    if cp < 0x80:
        out[j] = cp
        return 1
    if cp < 0x800:
        out[j] = 0xC0 | (cp >> 6)
        out[j + 1] = 0x80 | (cp & 0x3F)
        return 2
    if cp < 0x10000:
        out[j] = 0xE0 | (cp >> 12)
        out[j + 1] = 0x80 | ((cp >> 6) & 0x3F)
        out[j + 2] = 0x80 | (cp & 0x3F)
        return 3
    out[j] = 0xF0 | (cp >> 18)
    out[j + 1] = 0x80 | ((cp >> 12) & 0x3F)
    out[j + 2] = 0x80 | ((cp >> 6) & 0x3F)
    out[j + 3] = 0x80 | (cp & 0x3F)
    return 4


@njit(cache=True)
def find_sorted(sorted_keys, h):
    """Index of ``h`` in the ascending array ``sorted_keys``, or -1."""
    lo = 0
    hi = sorted_keys.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if sorted_keys[mid] < h:
            lo = mid + 1
        else:
            hi = mid
    if lo < sorted_keys.size and sorted_keys[lo] == h:
        return lo
    return -1
