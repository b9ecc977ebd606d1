"""Scalar cores of the co-occurrence kernels, shared by the CPU and CUDA twins.

A pair of term ids ``a, b`` (both >= 0) is packed into one uint64 key with
the smaller id in the high word, so a key names an unordered pair and the
upper triangle of the symmetric matrix.  Weights are integers: 1 per pair, or
``L // d`` for a pair at distance ``d`` under harmonic weighting, with
``L = lcm(1..W)``, so every sum is exact and independent of the order in which
threads add it (the float weight ``1/d`` is ``(L // d) / L``).

Every core is a plain ``@numba.njit`` function without allocation: the CPU
kernels (``kernels.cpu.cooc``) call them inside ``prange`` loops, the CUDA
kernels (``kernels.cuda.cooc``) from one thread per token or per piece of a row.  The CPU
pair pass does not materialise every pair (it counts frequent ones in a dense
block), but it walks the same windows (:func:`window_stop`) and builds the same
keys (:func:`ordered_pair`, :func:`pack_pair`) as :func:`window_pairs`.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from kernels.constants import LOW32
from kernels.hashing import find_sorted

_SH32 = np.uint64(32)


@njit(cache=True, inline="always")
def ordered_pair(a, b):
    """``(min(a, b), max(a, b))``: the upper-triangle cell of the unordered pair ``a, b``."""
    if a > b:
        return b, a
    return a, b


@njit(cache=True, inline="always")
def pack_pair(lo, hi):
    """uint64 key of the cell ``lo <= hi``: ``lo`` in the high word, ``hi`` in the low word."""
    return (np.uint64(lo) << _SH32) | np.uint64(hi)


@njit(cache=True, inline="always")
def pair_first(key):
    """The smaller id of the pair ``key`` (its high word, as uint64)."""
    return key >> _SH32


@njit(cache=True, inline="always")
def pair_second(key):
    """The larger id of the pair ``key`` (its low word, as uint64)."""
    return key & LOW32


@njit(cache=True)
def pair_key(a, b):
    """uint64 key of the unordered pair of term ids ``a, b`` (min in the high word)."""
    lo, hi = ordered_pair(a, b)
    return pack_pair(lo, hi)


@njit(cache=True, inline="always")
def window_stop(i, e, window):
    """Last token paired with token ``i``: ``min(i + window, e - 1)``, ``e`` the end of its document."""
    stop = i + window
    if stop > e - 1:
        stop = e - 1
    return stop


@njit(cache=True)
def window_pairs(ids, i, e, window, wtab, keys, wts, o, write):
    """Pairs (i, j) with i < j <= min(i + window, e - 1) whose ids are both >= 0.

    ``ids[i]`` is the term id of token ``i`` (-1 when pruned: the token keeps
    its position but makes no pair), ``e`` the end of its document.  Writes
    key and weight ``wtab[j - i]`` at ``o, o + 1, ...`` when ``write``;
    returns the number of pairs.
    """
    a = ids[i]
    if a < 0:
        return 0
    n = 0
    for j in range(i + 1, window_stop(i, e, window) + 1):
        b = ids[j]
        if b >= 0:
            if write:
                keys[o + n] = pair_key(a, b)
                wts[o + n] = wtab[j - i]
            n += 1
    return n


@njit(cache=True)
def doc_pairs_span(uids, r, q0, q1, keys, wts, o):
    """Pairs (uids[r], uids[q]) for q in ``q0 .. q1`` of a document's sorted unique ids, written
    at ``o, o + 1, ...`` (weight 1); returns their number.

    Row ``r`` of a document ending at ``e`` is ``q0 = r .. q1 = e`` (the pair q == r is the term
    itself: summed over documents, its document frequency); a long row is written in pieces.
    """
    a = uids[r]
    for q in range(q0, q1):
        keys[o + q - q0] = pair_key(a, uids[q])
        wts[o + q - q0] = 1
    return q1 - q0


@njit(cache=True)
def term_id(sorted_hashes, sorted_ids, h):
    """Vocabulary id of the token hash ``h`` (-1 when the term was pruned)."""
    k = find_sorted(sorted_hashes, h)
    if k < 0:
        return -1
    return sorted_ids[k]
