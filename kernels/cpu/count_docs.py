"""Per-document distinct keys, the first step of counting on the host, and the key sample
that sizes the table ahead.

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

Keys come either hashed already (``items``, one per occurrence: character n-grams) or
as word n-grams hashed here from the token hashes (``word``), the same fold as
``kernels.text_core.word_ngrams_doc``; both take the one core :func:`_entries`.
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
    if parts == 1:   # one group: the keys as they are
        for j in range(nd):
            keys[e0 + j] = tk[j]
            cnt[e0 + j] = tc[j]
            pos[e0 + j] = tp[j]
        pb[0] = 0
        pb[1] = nd
        return
    pb[:] = 0
    for j in range(nd):
        pb[np.int64(tk[j] >> sh) + 1] += 1
    for p in range(parts):
        pb[p + 1] += pb[p]
    for j in range(nd):   # pb[p] as partition p's cursor: it ends at the next group's start
        p = np.int64(tk[j] >> sh)
        e = e0 + pb[p]
        keys[e] = tk[j]
        cnt[e] = tc[j]
        pos[e] = tp[j]
        pb[p] += 1
    for p in range(parts - 1, 0, -1):
        pb[p] = pb[p - 1]
    pb[0] = 0


@njit(cache=True)
def word_keys(tok_hash, a, n, m, out):
    """The keys of the ``m`` word n-grams of order ``n`` from token ``a`` on (one
    document's) into ``out[:m]``: ``kernels.text_core.word_ngrams_doc``'s fold."""
    for i in range(m):
        k = np.uint64(n)
        for j in range(n):
            k = combine(k, tok_hash[a + i + j])
        out[i] = k


_CHUNKS = 64   # per call: enough for the threads to balance uneven documents


@njit(cache=True)
def _largest(item_off, da, db):
    """Items of the largest document of ``[da, db)`` (at least 1)."""
    big = 1
    for d in range(da, db):
        big = max(big, item_off[d + 1] - item_off[d])
    return big


@njit(parallel=True, cache=True)
def _entries(word, tok_hash, tok_off, n, items, d0, d1, item_off, part_shift, parts, keys, cnt, pos, pbeg):
    """The entries of documents ``d0 <= d < d1`` (module docstring): document d's keys
    are ``word_keys`` of its tokens ``tok_off[d]:`` (``word``) or
    ``items[item_off[d]:item_off[d+1]]``."""
    base = item_off[d0]
    nd_docs = d1 - d0
    nch = min(_CHUNKS, max(nd_docs, 1))
    for c in prange(nch):
        da, db = d0 + c * nd_docs // nch, d0 + (c + 1) * nd_docs // nch
        big = _largest(item_off, da, db)
        seen = np.zeros(_set_size(big), np.int32)
        tk, tc, tp = np.empty(big, np.uint64), np.empty(big, np.int64), np.empty(big, np.int64)
        hk = np.empty(big if word else 0, np.uint64)
        for d in range(da, db):
            m = item_off[d + 1] - item_off[d]
            if word:
                word_keys(tok_hash, tok_off[d], n, m, hk)
                nd = _distinct(hk, np.int64(0), m, seen, tk, tc, tp)   # int64 as below: one compilation
            else:
                nd = _distinct(items, item_off[d], m, seen, tk, tc, tp)
            _group(nd, tk, tc, tp, item_off[d] - base, keys, cnt, pos, part_shift, parts, pbeg[d - d0])


_NO_U64 = np.empty(0, np.uint64)
_NO_I64 = np.empty(0, np.int64)


def distinct_word_ngrams(tok_hash, tok_off, n, d0, d1, item_off, part_shift, parts, keys, cnt, pos, pbeg):
    """Distinct word n-grams of documents ``d0 <= d < d1``, hashed here (the fold of
    ``kernels.text_core.word_ngrams_doc``, the same ``combine``): document d's tokens are
    ``[tok_off[d], tok_off[d+1])``, its n-grams ``item_off[d+1] - item_off[d]``.  Writes
    key, count in the document and position (token index in the document) of each
    distinct key, grouped by partition, and the groups' bounds ``pbeg[d - d0]`` (module
    docstring)."""
    _entries(True, tok_hash, tok_off, n, _NO_U64, d0, d1, item_off, part_shift, parts, keys, cnt, pos, pbeg)


def distinct_keys(items, d0, d1, item_off, part_shift, parts, keys, cnt, pos, pbeg):
    """:func:`distinct_word_ngrams` of keys already hashed: document d's are
    ``items[item_off[d]:item_off[d+1]]``; ``pos`` is the index within the document."""
    _entries(False, _NO_U64, _NO_I64, 0, items, d0, d1, item_off, part_shift, parts, keys, cnt, pos, pbeg)


# ---------------------------------------------------------------------------- the key sample
SAMPLE_BITS = 8   # one key in 2**8 is sampled: bits 24..31 of the key all zero


@njit(cache=True)
def _is_sampled(k):
    # bits the per-document set, the table's slot (low bits mixed with bits 29 on) and its
    # partition (top bits) use too: a sampled key is still anywhere in the table
    return ((k >> np.uint64(24)) & np.uint64((1 << SAMPLE_BITS) - 1)) == 0


@njit(parallel=True, cache=True)
def _sample(word, tok_hash, tok_off, n, items, item_off, room, out, got):
    """Chunk ``c`` of the documents writes its sampled occurrences to ``out[c, :room]``
    (those past ``room`` only counted) and their number to ``got[c]``."""
    nd_docs = item_off.size - 1
    nch = out.shape[0]
    for c in prange(nch):
        da, db = c * nd_docs // nch, (c + 1) * nd_docs // nch
        hk = np.empty(_largest(item_off, da, db) if word else 0, np.uint64)
        g = 0
        for d in range(da, db):
            m = item_off[d + 1] - item_off[d]
            if word:
                word_keys(tok_hash, tok_off[d], n, m, hk)
            for i in range(m):
                k = hk[i] if word else items[item_off[d] + i]
                if _is_sampled(k):
                    if g < room:
                        out[c, g] = k
                    g += 1
        got[c] = g


def sampled_keys(word, tok_hash, tok_off, n, items, item_off):
    """The distinct sampled keys (one key in ``2**SAMPLE_BITS``, by its bits: every
    occurrence of a sampled key is) of all the documents of ``item_off``, keys as
    :func:`_entries` takes them.  Their number times ``2**SAMPLE_BITS`` estimates the
    distinct keys (the table is sized ahead from the sampled keys it lacks)."""
    nd_docs = item_off.size - 1
    if nd_docs == 0 or item_off[-1] == item_off[0]:
        return _NO_U64
    nch = min(_CHUNKS, nd_docs)
    room = 64 + (int(item_off[-1] - item_off[0]) >> (SAMPLE_BITS - 2)) // nch   # 4x the expected
    while True:
        out, got = np.empty((nch, room), np.uint64), np.zeros(nch, np.int64)
        _sample(word, tok_hash, tok_off, n, items, item_off, room, out, got)
        if got.max() <= room:   # else (a sampled key repeated at length) again, with room for all
            return np.unique(np.concatenate([out[c, :g] for c, g in enumerate(got.tolist())]))
        room = int(got.max())
