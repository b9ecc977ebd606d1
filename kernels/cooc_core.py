"""Scalar cores of the co-occurrence kernels, shared by the CPU and CUDA twins.

A pair of term ids ``a, b`` (both >= 0) is packed into one uint64 key with
the smaller id in the high word, so a key names an unordered pair and the
upper triangle of the symmetric matrix.  Weights are integers: 1 per pair, or
``L // d`` for a pair at distance ``d`` under harmonic weighting, with
``L = lcm(1..W)``, so every sum is exact and independent of the order in which
threads add it (the float weight ``1/d`` is ``(L // d) / L``).

Every core is a plain ``@numba.njit`` function without allocation: the CPU
kernels call it inside ``prange`` loops, the CUDA kernels from one thread per
token or per row.  The open-addressing table helpers are used by the CPU
kernels only (the GPU counts by sort + reduce).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from kernels.hashing import mix64

EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)  # never a pair key: ids are < 2**31
LOW32 = np.uint64(0xFFFFFFFF)


@njit(cache=True)
def pair_key(a, b):
    """uint64 key of the unordered pair of term ids ``a, b`` (min in the high word)."""
    if a > b:
        a, b = b, a
    return (np.uint64(a) << np.uint64(32)) | np.uint64(b)


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
    stop = i + window
    if stop > e - 1:
        stop = e - 1
    n = 0
    for j in range(i + 1, stop + 1):
        b = ids[j]
        if b >= 0:
            if write:
                keys[o + n] = pair_key(a, b)
                wts[o + n] = wtab[j - i]
            n += 1
    return n


@njit(cache=True)
def doc_pairs_row(uids, r, e, keys, wts, o):
    """Row ``r`` of a document's sorted unique ids ``uids[.. e)``: pairs (uids[r], uids[q]), q >= r.

    The pair q == r is the term itself: summed over documents it is the
    document frequency.  Returns the number of pairs written (``e - r``).
    """
    a = uids[r]
    for q in range(r, e):
        keys[o + q - r] = pair_key(a, uids[q])
        wts[o + q - r] = 1
    return e - r


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


@njit(cache=True)
def term_id(sorted_hashes, sorted_ids, h):
    """Vocabulary id of the token hash ``h`` (-1 when the term was pruned)."""
    k = find_sorted(sorted_hashes, h)
    if k < 0:
        return -1
    return sorted_ids[k]


# --- open addressing (CPU) ---------------------------------------------------------------
@njit(cache=True)
def part_of(h, nparts):
    """Partition of a mixed key: high bits, so the slot (low bits) stays independent."""
    return np.int64((h >> np.uint64(40)) % np.uint64(nparts))


@njit(cache=True)
def table_add(tab, base, mask, h, key, val):
    """Add ``val`` (uint64) to ``key`` in the table at slot ``base`` of ``tab``; 1 if the key is new.

    Key and value are interleaved (``tab[2 s]``, ``tab[2 s + 1]``): one cache
    line per probe instead of two.
    """
    s = np.int64(h & np.uint64(mask))
    while True:
        i = 2 * (base + s)
        k = tab[i]
        if k == key:
            tab[i + 1] += val
            return 0
        if k == EMPTY:
            tab[i] = key
            tab[i + 1] = val
            return 1
        s = (s + 1) & mask


@njit(cache=True)
def dense_index(a, b):
    """Index of the pair a <= b in a packed upper triangle (row b holds a = 0..b)."""
    return np.int64(b * (b + np.uint64(1)) // np.uint64(2) + a)


@njit(cache=True)
def hash_slot(tkeys, mask, h, key):
    """Slot of ``key`` (found, or the empty slot where it goes) in a table at base 0."""
    s = np.int64(mix64(h) & np.uint64(mask))
    while True:
        k = tkeys[s]
        if k == key or k == EMPTY:
            return s
        s = (s + 1) & mask
