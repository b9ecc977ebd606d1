"""CPU twins of the co-occurrence kernels (numba njit) around ``kernels.cooc_core``.

Counting by key on the CPU is fused with pair generation: the pair keys go
straight into open-addressing tables, never into a materialised pair array.
The key space is split into ``nparts`` partitions (by the high bits of the
mixed key); ``prange`` runs one partition per thread, each thread scans every
pair and adds the keys of its own partition to its own table.  The tables are
disjoint, so there is no merge and no lock, and the integer sums do not depend
on the thread count.  Pairs of two frequent terms (ids < ``dense_k``, ids are
in frequency order) go to a packed dense upper triangle instead, shared by the
threads: partition p owns the rows b with b % nparts == p (contiguous memory).  A table that reaches its load limit stops at a token (or
row) boundary and records where (``resume``); the caller grows it and calls
again, so memory tracks the number of distinct pairs, bounded by the vocabulary.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.cooc_core import (EMPTY, LOW32, dense_index, doc_pairs_row, hash_slot, part_of,
                               table_add, term_id, window_pairs)
from kernels.hashing import mix64


@njit(cache=True)
def type_count(tkeys, tvals, tpos, tlen, mask, used, limit, pool, pool_used,
               hashes, counts, starts, lens, norm, i0):
    """Count token hashes into the type table (one thread: it is memory-bound and cheap).

    A new type records its normalised bytes in ``pool`` (for its string later).
    ``counts`` empty means 1 per hash.  Stops before the table passes ``limit``
    entries; returns (next index, used, pool_used).
    """
    n = hashes.size
    unit = counts.size == 0
    i = i0
    while i < n:
        if used >= limit:
            break
        h = hashes[i]
        s = hash_slot(tkeys, mask, h, h)
        c = 1 if unit else counts[i]
        if tkeys[s] == h:
            tvals[s] += c
        else:
            tkeys[s] = h
            tvals[s] = c
            st = starts[i]
            ln = lens[i]
            tpos[s] = pool_used
            tlen[s] = ln
            for k in range(ln):
                pool[pool_used + k] = norm[st + k]
            pool_used += ln
            used += 1
        i += 1
    return i, used, pool_used


@njit(cache=True)
def type_rehash(okeys, ovals, opos, olen, nkeys, nvals, npos, nlen, mask):
    for s in range(okeys.size):
        h = okeys[s]
        if ovals[s] != 0:
            t = hash_slot(nkeys, mask, h, h)
            nkeys[t] = h
            nvals[t] = ovals[s]
            npos[t] = opos[s]
            nlen[t] = olen[s]


@njit(parallel=True, cache=True)
def lookup_ids(sorted_hashes, sorted_ids, hashes):
    """Term id of every token (-1 for a pruned term)."""
    out = np.empty(hashes.size, np.int32)
    for i in prange(hashes.size):
        out[i] = term_id(sorted_hashes, sorted_ids, hashes[i])
    return out


@njit(cache=True)
def _add(key, w, p, nparts, dense, dense_k, tab, base, mask):
    b = key & LOW32
    if b < dense_k:
        if np.int64(b % np.uint64(nparts)) == p:
            dense[dense_index(key >> np.uint64(32), b)] += w
        return 0
    h = mix64(key)
    if part_of(h, nparts) == p:
        return table_add(tab, base, mask, h, key, np.uint64(w))
    return 0


@njit(parallel=True, cache=True)
def window_count(ids, doc_off, window, wtab, nparts, dense, dense_k, tab, tbase, tmask, tused,
                 tlimit, resume):
    """Window pairs of every document added to the partition tables (see the module doc)."""
    n = ids.size
    for p in prange(nparts):
        i = resume[p]
        if i >= n:
            continue
        kb = np.empty(window + 1, np.uint64)
        wb = np.empty(window + 1, np.int64)
        d = np.searchsorted(doc_off, i, side="right") - 1
        base = tbase[p]
        mask = tmask[p]
        used = tused[p]
        lim = tlimit[p]
        stopped = False
        while i < n:
            while doc_off[d + 1] <= i:
                d += 1
            if used >= lim:
                stopped = True
                break
            m = window_pairs(ids, i, doc_off[d + 1], window, wtab, kb, wb, 0, True)
            for k in range(m):
                used += _add(kb[k], wb[k], p, nparts, dense, dense_k, tab, base, mask)
            i += 1
        tused[p] = used
        resume[p] = i if stopped else n


@njit(parallel=True, cache=True)
def doc_unique(ids, doc_off, out, counts):
    """Sorted distinct term ids (>= 0) of each document, written at the document's own offset."""
    for d in prange(doc_off.size - 1):
        s = doc_off[d]
        e = doc_off[d + 1]
        v = np.sort(ids[s:e])
        u = 0
        prev = -1
        for k in range(v.size):
            x = v[k]
            if x >= 0 and x != prev:
                out[s + u] = x
                u += 1
                prev = x
        counts[d] = u


@njit(parallel=True, cache=True)
def doc_count(uids, row_end, maxrow, nparts, dense, dense_k, tab, tbase, tmask, tused, tlimit, resume):
    """Document pairs (each row of each document's unique ids) added to the partition tables."""
    n = uids.size
    for p in prange(nparts):
        r = resume[p]
        if r >= n:
            continue
        kb = np.empty(maxrow, np.uint64)
        wb = np.empty(maxrow, np.int64)
        base = tbase[p]
        mask = tmask[p]
        used = tused[p]
        lim = tlimit[p]
        stopped = False
        while r < n:
            if used >= lim:
                stopped = True
                break
            m = doc_pairs_row(uids, r, row_end[r], kb, wb, 0)
            for k in range(m):
                used += _add(kb[k], wb[k], p, nparts, dense, dense_k, tab, base, mask)
            r += 1
        tused[p] = used
        resume[p] = r if stopped else n


@njit(cache=True)
def table_rehash(old, obase, ocap, new, nbase, nmask):
    for s in range(obase, obase + ocap):
        k = old[2 * s]
        if k != EMPTY:
            table_add(new, nbase, nmask, mix64(k), k, old[2 * s + 1])


# --- pair arrays (the CPU twins of the CUDA pair kernels; tests and small inputs) ---------
@njit(parallel=True, cache=True)
def window_pair_counts(ids, tok_end, window, wtab):
    out = np.empty(ids.size, np.int64)
    kd = np.empty(0, np.uint64)
    wd = np.empty(0, np.int64)
    for i in prange(ids.size):
        out[i] = window_pairs(ids, i, tok_end[i], window, wtab, kd, wd, 0, False)
    return out


@njit(parallel=True, cache=True)
def window_pair_write(ids, tok_end, window, wtab, out_off, keys, wts):
    for i in prange(ids.size):
        window_pairs(ids, i, tok_end[i], window, wtab, keys, wts, out_off[i], True)


@njit(parallel=True, cache=True)
def doc_pair_write(uids, row_end, out_off, keys, wts):
    for r in prange(uids.size):
        doc_pairs_row(uids, r, row_end[r], keys, wts, out_off[r])


@njit(cache=True)
def marginal_sums(a, b, raw, n):
    """Row sums of the symmetric matrix whose upper triangle is (a, b, raw): exact int64."""
    m = np.zeros(n, np.int64)
    for k in range(a.size):
        m[a[k]] += raw[k]
        m[b[k]] += raw[k]
    return m
