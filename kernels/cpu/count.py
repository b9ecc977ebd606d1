"""Counting by key on the host: an open-addressing hash table, and string gathering.

The table is one ``int64[capacity, 4]`` array, a row per slot holding
(key bits, count, doc_freq, last doc), so a probe touches one cache line;
count 0 marks an empty slot.  Insertion stops (and returns where) when the
table would pass its fill bound, so the caller can grow it and resume.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _slot(k, mask):
    return np.int64((k ^ (k >> np.uint64(29))) & np.uint64(mask))


@njit(cache=True)
def insert_occurrences(table, keys, docs, start, max_size, size, new_slots, new_refs):
    """Count ``keys[start:]`` (one per occurrence, in corpus order, ``docs`` their documents).

    Returns (next index, table size, number of new keys); new keys' slots and the
    index of their first occurrence go to ``new_slots``/``new_refs``.
    """
    mask = table.shape[0] - 1
    n_new = 0
    i = start
    n = keys.size
    cap_new = new_slots.size
    while i < n:
        k = keys[i]
        kk = np.int64(k)
        h = _slot(k, mask)
        while True:
            c = table[h, 1]
            if c == 0:
                if size >= max_size or n_new >= cap_new:
                    return i, size, n_new
                table[h, 0] = kk
                table[h, 1] = 1
                table[h, 2] = 1
                table[h, 3] = docs[i]
                new_slots[n_new] = h
                new_refs[n_new] = i
                n_new += 1
                size += 1
                break
            if table[h, 0] == kk:
                table[h, 1] = c + 1
                if table[h, 3] != docs[i]:
                    table[h, 2] += 1
                    table[h, 3] = docs[i]
                break
            h = (h + 1) & mask
        i += 1
    return i, size, n_new


@njit(cache=True)
def insert_aggregated(table, keys, counts, dfs, start, max_size, size, new_slots, new_refs):
    """Add pre-reduced rows (key, count, doc_freq); same protocol as insert_occurrences."""
    mask = table.shape[0] - 1
    n_new = 0
    i = start
    n = keys.size
    cap_new = new_slots.size
    while i < n:
        k = keys[i]
        kk = np.int64(k)
        h = _slot(k, mask)
        while True:
            c = table[h, 1]
            if c == 0:
                if size >= max_size or n_new >= cap_new:
                    return i, size, n_new
                table[h, 0] = kk
                table[h, 1] = counts[i]
                table[h, 2] = dfs[i]
                table[h, 3] = -1
                new_slots[n_new] = h
                new_refs[n_new] = i
                n_new += 1
                size += 1
                break
            if table[h, 0] == kk:
                table[h, 1] = c + counts[i]
                table[h, 2] += dfs[i]
                break
            h = (h + 1) & mask
        i += 1
    return i, size, n_new


@njit(cache=True)
def rehash(old, old_sid, new, new_sid):
    mask = new.shape[0] - 1
    for s in range(old.shape[0]):
        if old[s, 1] != 0:
            h = _slot(np.uint64(old[s, 0]), mask)
            while new[h, 1] != 0:
                h = (h + 1) & mask
            for j in range(4):
                new[h, j] = old[s, j]
            new_sid[h] = old_sid[s]


@njit(parallel=True, cache=True)
def gather_word_ngrams(norm, tok_start, tok_len, first, n):
    """Strings of word n-grams starting at tokens ``first``: tokens joined by one space."""
    m = first.size
    lens = np.empty(m, np.int64)
    for r in prange(m):
        t = first[r]
        s = n - 1
        for k in range(n):
            s += tok_len[t + k]
        lens[r] = s
    off = np.zeros(m + 1, np.int64)
    for r in range(m):
        off[r + 1] = off[r] + lens[r]
    out = np.empty(off[m], np.uint8)
    for r in prange(m):
        t = first[r]
        j = off[r]
        for k in range(n):
            if k > 0:
                out[j] = 32
                j += 1
            s = tok_start[t + k]
            for b in range(tok_len[t + k]):
                out[j] = norm[s + b]
                j += 1
    return out, off


@njit(parallel=True, cache=True)
def gather_spans(norm, start, length):
    """Concatenate ``norm[start[r]:start[r] + length[r]]`` for every r."""
    m = start.size
    off = np.zeros(m + 1, np.int64)
    for r in range(m):
        off[r + 1] = off[r] + length[r]
    out = np.empty(off[m], np.uint8)
    for r in prange(m):
        s = start[r]
        j = off[r]
        for b in range(length[r]):
            out[j + b] = norm[s + b]
    return out, off
