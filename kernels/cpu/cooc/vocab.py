"""Vocabulary pass of the co-occurrence job on the CPU: tokens -> type numbers, counted.

:func:`text_types` goes from the raw bytes to a *type number* per token in one pass
(each thread tokenises its documents in scratch, ``kernels.cpu.text.doc_tokens``, and
counts them into its own open-addressing table); :func:`type_merge` folds the threads'
tables into the corpus-wide one and :func:`type_remap` renumbers their tokens;
:func:`type_count` does the same from token hashes (GPU batches, slow-path documents);
:func:`type_doc_freq` adds the document frequency and first document of each type.
The pair pass then needs no hash lookup: ``ids = type_to_id[types]`` is one gather
(:func:`gather_ids`).

A table part is ``2 * cap`` uint64: hash at ``2 s``, type number at ``2 s + 1`` (one
cache line per probe), free slots hold ``EMPTY``; the caller (``engine.cooc.typetable``)
allocates, grows and rehashes them.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.constants import EMPTY
from kernels.cooc_core import term_id
from kernels.cpu.text import doc_tokens, token_scratch


@njit(cache=True)
def _slot(tb, mask, h):
    """Slot of hash ``h`` in the table ``tb`` (linear probing): where it is, or the empty slot
    where it goes."""
    s = np.int64(h & np.uint64(mask))
    while True:
        k = tb[2 * s]
        if k == h or k == EMPTY:
            return s
        s = (s + 1) & mask


@njit(cache=True)
def _new_type(tb, s, h, t, tcount, tpos, tlen, pool, pu, src, st, ln):
    """Type number ``t`` for hash ``h`` at the empty slot ``s``, count 0, its spelling
    ``src[st:st + ln]`` appended to ``pool`` at ``pu``; returns the new end of the pool."""
    tb[2 * s] = h
    tb[2 * s + 1] = np.uint64(t)
    tpos[t] = pu
    tlen[t] = ln
    tcount[t] = 0
    for c in range(ln):
        pool[pu + c] = src[st + c]
    return pu + ln


@njit(parallel=True, cache=True, nogil=True)   # the corpus read-ahead runs meanwhile
def type_count(tab, mask, used, limit, tcount, tpos, tlen, pool, pool_used,
               hashes, counts, starts, lens, norm, out, resume, end, full):
    """Count token hashes by type, one range of tokens per thread (``engine.cooc.typetable.TypeTable``).

    Part ``p`` counts tokens ``resume[p] .. end[p]`` into its own table ``tab[p]``:
    hash at ``2 s`` and local type number at ``2 s + 1`` (one cache line per probe;
    slot = low bits of the hash, xxHash64 being well mixed); ``tcount``, ``tpos``,
    ``tlen`` are indexed by (part, local number).  A new type records its normalised
    bytes in ``pool[p]``.  ``counts`` empty means 1 per hash; ``out`` (when not empty)
    receives the local type number of every token.  A part stops before its table
    holds more than ``limit`` types (``full[p] = 1``) or its pool overflows
    (``full[p] = 2``); ``resume[p]`` is where it stopped.
    """
    unit = counts.size == 0
    write = out.size > 0
    for p in prange(used.size):
        tb = tab[p]
        tc = tcount[p]
        tp = tpos[p]
        tl = tlen[p]
        pl = pool[p]
        ntypes = used[p]
        pu = pool_used[p]
        full[p] = 0
        i = resume[p]
        n = end[p]
        while i < n:
            h = hashes[i]
            s = _slot(tb, mask, h)
            if tb[2 * s] == h:
                t = np.int64(tb[2 * s + 1])
            else:
                ln = lens[i]
                if ntypes >= limit:
                    full[p] = 1
                    break
                if pu + ln > pl.size:
                    full[p] = 2
                    break
                t = ntypes
                ntypes += 1
                pu = _new_type(tb, s, h, t, tc, tp, tl, pl, pu, norm, starts[i], ln)
            tc[t] += 1 if unit else counts[i]
            if write:
                out[i] = t
            i += 1
        used[p] = ntypes
        pool_used[p] = pu
        resume[p] = i


@njit(parallel=True, cache=True, nogil=True)   # the corpus read-ahead runs meanwhile
def text_types(data, offsets, flags, map_off, map_len, map_cps, max_expand, stop, min_len,
               resume, d_end, tab, mask, used, limit, tcount, tpos, tlen, pool, pool_used,
               out, out_n, doc_ntok, full):
    """Raw UTF-8 documents -> the type number of every token, one pass (the CPU vocabulary pass).

    Part ``p`` (one per thread) takes documents ``resume[p] .. d_end[p]``: each is
    normalised and tokenised in scratch (``doc_tokens``, the cores of ``tokenize``),
    its tokens counted into the part's own table as :func:`type_count` does, and
    their local type numbers appended to ``out[p]`` (``out_n[p]`` so far);
    ``doc_ntok[d]`` = the document's token count, -1 when it needs the exact slow
    path (left to the caller).  A part stops before a document that would overflow
    its table's ``limit`` (``full[p] = 1``), its pool (2) or ``out[p]`` (3);
    ``resume[p]`` is that document.  No corpus-wide text or token array is written.
    Any bytes are safe (``doc_tokens`` reads invalid UTF-8 as U+FFFD, in bounds).
    """
    for p in prange(used.size):
        sc = token_scratch()
        tb = tab[p]
        tc = tcount[p]
        tp = tpos[p]
        tl = tlen[p]
        pl = pool[p]
        op = out[p]
        ntypes = used[p]
        pu = pool_used[p]
        m = out_n[p]
        full[p] = 0
        d = resume[p]
        while d < d_end[p]:
            nt, ln, sc = doc_tokens(data, offsets[d], offsets[d + 1], flags, map_off, map_len, map_cps,
                                    max_expand, stop, min_len, sc)
            if nt < 0:
                doc_ntok[d] = -1
                d += 1
                continue
            if ntypes + nt > limit:
                full[p] = 1
                break
            if pu + ln > pl.size:
                full[p] = 2
                break
            if m + nt > op.size:
                full[p] = 3
                break
            norm, t_start, t_len, t_nch, t_hash = sc
            for q in range(nt):
                h = t_hash[q]
                s = _slot(tb, mask, h)
                if tb[2 * s] == h:
                    t = np.int64(tb[2 * s + 1])
                else:
                    t = ntypes
                    ntypes += 1
                    pu = _new_type(tb, s, h, t, tc, tp, tl, pl, pu, norm, t_start[q], t_len[q])
                tc[t] += 1
                op[m] = t
                m += 1
            doc_ntok[d] = nt
            d += 1
        used[p] = ntypes
        pool_used[p] = pu
        out_n[p] = m
        resume[p] = d


@njit(cache=True)
def type_merge(tab, mask, used, tcount, tpos, tlen, pool, pool_used, p, remap):
    """Fold part ``p`` into part 0 (the corpus-wide types): counts added, new types
    appended with their spelling; ``remap[local] = type number``.  Part ``p`` is left
    empty.  The caller makes room first (part 0's table and pool)."""
    t0 = tab[0]
    tb = tab[p]
    n0 = used[0]
    pu = pool_used[0]
    for q in range(tb.size // 2):
        h = tb[2 * q]
        if h == EMPTY:
            continue
        loc = np.int64(tb[2 * q + 1])
        s = _slot(t0, mask, h)
        if t0[2 * s] == h:
            g = np.int64(t0[2 * s + 1])
        else:
            g = n0
            n0 += 1
            pu = _new_type(t0, s, h, g, tcount[0], tpos[0], tlen[0], pool[0], pu, pool[p], tpos[p, loc],
                           tlen[p, loc])
        tcount[0, g] += tcount[p, loc]
        remap[loc] = g
        tb[2 * q] = EMPTY
    used[0] = n0
    pool_used[0] = pu
    used[p] = 0
    pool_used[p] = 0


@njit(parallel=True, cache=True)
def type_remap(out, beg, end, remap):
    """``out[i] = remap[out[i]]`` for ``beg <= i < end``."""
    for i in prange(beg, end):
        out[i] = remap[out[i]]


@njit(cache=True)
def type_rehash(old, new, mask):
    """Every entry of the table part ``old`` inserted into the empty, larger part ``new``."""
    for q in range(old.size // 2):
        h = old[2 * q]
        if h != EMPTY:
            s = _slot(new, mask, h)
            new[2 * s] = h
            new[2 * s + 1] = old[2 * q + 1]


@njit(cache=True)   # serial: under 0.5% of a 100 MB run, a parallel compile costs more
def lookup_ids(sorted_hashes, sorted_ids, hashes):
    """Term id of every token (-1 for a pruned term): the CPU twin of the GPU lookup."""
    out = np.empty(hashes.size, np.int32)
    for i in prange(hashes.size):
        out[i] = term_id(sorted_hashes, sorted_ids, hashes[i])
    return out


@njit(cache=True)   # serial: under 1% of a 100 MB run, a parallel compile costs more
def gather_ids(type_to_id, types, out):
    """Term id of every token from its type number."""
    for i in prange(types.size):
        out[i] = type_to_id[types[i]]


@njit(cache=True)
def type_doc_freq(types, seg_off, docs, last, doc_freq, first_doc):
    """Document frequency and first document of the types of one segment: document ``d`` of
    the segment (tokens ``seg_off[d] .. seg_off[d + 1]``) is document ``docs[d]`` of the
    partition (each document in one segment only).  ``last``: the last document counted per
    type (-1 at first)."""
    for d in range(seg_off.size - 1):
        doc = docs[d]
        for i in range(seg_off[d], seg_off[d + 1]):
            t = types[i]
            if last[t] != doc:
                last[t] = doc
                doc_freq[t] += 1
                if first_doc[t] < 0 or doc < first_doc[t]:
                    first_doc[t] = doc
