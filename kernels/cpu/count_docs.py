"""Per-document distinct keys, the first step of counting on the host.

Each document's n-gram keys are reduced to its distinct keys, in order of first
occurrence, with their count in the document and the position of the first one, in a
small hash set that stays in the L1/L2 cache.  The big table
(:mod:`kernels.cpu.count`) then takes one entry per (document, key): a key's document
frequency is its number of entries, so the table needs no "last document" field, and
it sees fewer, only distinct, probes (unigrams repeat within a document a lot).

Entries of document ``d`` (of the chunk ``d0 <= d < d1``) are written from
``e0 = item_off[d] - item_off[d0]`` of the entry arrays (the room of its n-grams, of
which it uses the first ``pbeg[d - d0, parts]``), grouped by table partition (the key's
top bits, ``key >> part_shift``): partition ``p``'s, in order of first occurrence, at
``[e0 + pbeg[d - d0, p], e0 + pbeg[d - d0, p + 1])``.  A thread of the table walks the
documents and reads its own partition's entries only, in corpus order, with no
partition pass over all of them.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.hashing import combine


@njit(cache=True, inline="always")
def _set_size(m):
    """Slots of a document's set for ``m`` n-grams: a power of two, at most half full."""
    cap = 16
    while cap < 2 * m:
        cap <<= 1
    return cap


@njit(cache=True)
def _distinct(src, s0, m, seen, tk, tc, tp):
    """The distinct keys of ``src[s0:s0 + m]`` (one document's) in order of first
    occurrence: key, count and first index to ``tk``/``tc``/``tp``; returns their number.
    ``seen`` (at least :func:`_set_size` slots) holds ``1 + index`` of each key in ``tk``
    at its slot (low bits mixed with high ones: the table partitions by the top bits)."""
    cap = _set_size(m)
    mask = np.uint64(cap - 1)
    seen[:cap] = 0
    nd = 0
    for i in range(m):
        k = src[s0 + i]
        h = np.int64((k ^ (k >> np.uint64(31))) & mask)
        while True:
            s = seen[h]
            if s == 0:
                tk[nd] = k
                tc[nd] = 1
                tp[nd] = i
                nd += 1
                seen[h] = nd
                break
            if tk[s - 1] == k:
                tc[s - 1] += 1
                break
            h = (h + 1) & (cap - 1)
    return nd


@njit(cache=True)
def _group(nd, tk, tc, tp, e0, keys, cnt, pos, part_shift, parts, pb):
    """Write the document's ``nd`` distinct keys (``tk``/``tc``/``tp``) from ``e0``, grouped
    by partition, each group in order of first occurrence (a stable counting sort);
    the group bounds to ``pb[:parts + 1]``."""
    sh = np.uint64(part_shift)
    pb[:] = 0
    for j in range(nd):
        p = np.int64(tk[j] >> sh) if parts > 1 else 0
        pb[p + 1] += 1
    for p in range(parts):
        pb[p + 1] += pb[p]
    for j in range(nd):   # pb[p] as partition p's cursor: it ends at the next group's start
        p = np.int64(tk[j] >> sh) if parts > 1 else 0
        e = e0 + pb[p]
        keys[e] = tk[j]
        cnt[e] = tc[j]
        pos[e] = tp[j]
        pb[p] += 1
    for p in range(parts - 1, 0, -1):
        pb[p] = pb[p - 1]
    pb[0] = 0


_CHUNKS = 64   # per call: enough for the threads to balance uneven documents


@njit(cache=True)
def _chunk_scratch(item_off, da, db):
    """Scratch arrays for documents ``[da, db)``: sized for the largest of them."""
    big = 1
    for d in range(da, db):
        big = max(big, item_off[d + 1] - item_off[d])
    cap = _set_size(big)
    return (np.zeros(cap, np.int32), np.empty(big, np.uint64), np.empty(big, np.int64),
            np.empty(big, np.int64))


@njit(parallel=True, cache=True)
def distinct_word_ngrams(tok_hash, tok_off, n, d0, d1, item_off, part_shift, parts, keys, cnt, pos, pbeg):
    """Distinct word n-grams of documents ``d0 <= d < d1``, hashed here (the fold of
    ``kernels.text_core.word_ngrams_doc``, the same ``combine``): document d's tokens are
    ``[tok_off[d], tok_off[d+1])``, its n-grams ``item_off[d+1] - item_off[d]``.  Writes
    key, count in the document and position (token index in the document) of each
    distinct key, grouped by partition, and the groups' bounds ``pbeg[d - d0]`` (module
    docstring)."""
    base = item_off[d0]
    nd_docs = d1 - d0
    nch = min(_CHUNKS, max(nd_docs, 1))
    for c in prange(nch):
        da, db = d0 + c * nd_docs // nch, d0 + (c + 1) * nd_docs // nch
        seen, tk, tc, tp = _chunk_scratch(item_off, da, db)
        hk = np.empty(tk.size, np.uint64)
        for d in range(da, db):
            a = tok_off[d]
            m = item_off[d + 1] - item_off[d]
            for i in range(m):
                k = np.uint64(n)
                for j in range(n):
                    k = combine(k, tok_hash[a + i + j])
                hk[i] = k
            nd = _distinct(hk, 0, m, seen, tk, tc, tp)
            _group(nd, tk, tc, tp, item_off[d] - base, keys, cnt, pos, part_shift, parts, pbeg[d - d0])


@njit(parallel=True, cache=True)
def distinct_keys(items, d0, d1, item_off, part_shift, parts, keys, cnt, pos, pbeg):
    """:func:`distinct_word_ngrams` of keys already hashed: document d's are
    ``items[item_off[d]:item_off[d+1]]``; ``pos`` is the index within the document."""
    base = item_off[d0]
    nd_docs = d1 - d0
    nch = min(_CHUNKS, max(nd_docs, 1))
    for c in prange(nch):
        da, db = d0 + c * nd_docs // nch, d0 + (c + 1) * nd_docs // nch
        seen, tk, tc, tp = _chunk_scratch(item_off, da, db)
        for d in range(da, db):
            nd = _distinct(items, item_off[d], item_off[d + 1] - item_off[d], seen, tk, tc, tp)
            _group(nd, tk, tc, tp, item_off[d] - base, keys, cnt, pos, part_shift, parts, pbeg[d - d0])
