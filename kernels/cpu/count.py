"""Counting by key on the host: an open-addressing hash table, and string gathering.

The table is one ``int64[partitions, capacity, 4]`` array, a row per slot
holding (key bits, count, doc_freq, last doc), so a probe touches one cache
line; count 0 marks an empty slot.  Partitions (by the key's top bits) are
filled by one thread each, from the key indices :func:`split_by_part` grouped
by partition first.  Insertion stops (and records where) when a
partition would pass its fill bound, so the caller can grow and resume.

Each partition also owns its keys' strings: string ``j`` of partition ``p`` (the
``j``-th key it took, ``sid[p, slot] == j``) is ``sdata[p, soff[p, j]:soff[p, j + 1]]``
with first-occurrence ordinal ``sfirst[p, j]``.  :func:`insert_occurrences` writes a new
key's string there as it takes the key (one pass, no gather afterwards).
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from kernels.hashing import combine

FIRST_SHIFT = 32   # engine.ngrams.partial.FIRST_SHIFT: bits of the in-document position of an ordinal


@intrinsic
def prefetch_slot(typingctx, table, p, h):
    """Hint the CPU to load ``table[p, h, 0]`` into cache (``llvm.prefetch``, for writing,
    high locality); no effect on the result. Probing a table larger than the cache waits on
    memory at every rare key: asking a few keys ahead overlaps those waits."""
    sig = types.void(table, p, h)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        idx = [context.cast(builder, a, t, types.intp) for a, t in zip(args[1:], signature.args[1:])]
        idx.append(context.get_constant(types.intp, 0))
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, idx, wraparound=False)
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        builder.call(fn, [ptr, i32(1), i32(3), i32(1)])
        return context.get_dummy_value()
    return sig, codegen


PREFETCH_AHEAD = 8   # keys: enough misses in flight to hide most of the memory latency


@njit(cache=True)
def _slot(k, mask):
    return np.int64((k ^ (k >> np.uint64(29))) & np.uint64(mask))


_SPLIT_CHUNKS = 64


@njit(parallel=True, cache=True)
def split_by_part(keys, part_shift, parts, order, pbeg):
    """Stable counting sort of key indices by partition (``key >> part_shift``): partition
    ``p``'s indices, increasing, are ``order[pbeg[p]:pbeg[p + 1]]``.  Each thread of
    :func:`insert` then reads its own keys only, instead of all keys with a branch it
    cannot predict."""
    n = keys.size
    nch = _SPLIT_CHUNKS
    counts = np.zeros((nch, parts), np.int64)
    sh = np.uint64(part_shift)
    for c in prange(nch):
        for i in range(c * n // nch, (c + 1) * n // nch):
            counts[c, np.int64(keys[i] >> sh)] += 1
    pos = np.empty((nch, parts), np.int64)
    o = 0
    for p in range(parts):
        pbeg[p] = o
        for c in range(nch):
            pos[c, p] = o
            o += counts[c, p]
    pbeg[parts] = o
    for c in prange(nch):
        for i in range(c * n // nch, (c + 1) * n // nch):
            p = np.int64(keys[i] >> sh)
            order[pos[c, p]] = i
            pos[c, p] += 1


@njit(parallel=True, cache=True)
def insert(table, keys, order, item_off, doc_base, counts, dfs, aggregated, starts, ends, max_size,
           sizes, new_slots, new_refs, n_new):
    """Count ``keys`` into a partitioned table, one thread per partition.

    ``table`` is ``int64[P, capacity, 4]``; partition ``p`` takes the keys
    ``order[starts[p]:ends[p]]`` (indices from :func:`split_by_part`: a key belongs
    to the partition of its top bits, so partitions never share a key and fill
    evenly), or ``keys[starts[0]:ends[0]]`` when ``order`` is empty (one partition).
    Occurrence mode (``aggregated`` False): one key per occurrence, document d's
    items being ``[item_off[d], item_off[d+1])`` and its global index
    ``doc_base + d`` (doc_freq counts changes of document per key; corpus order,
    kept within a partition, makes that exact).  Aggregated mode: add
    ``counts``/``dfs`` of pre-reduced rows.  Each partition resumes at
    ``starts[p]`` and stops when it would pass ``max_size`` or fill its
    ``new_slots`` row; ``starts``/``sizes``/``n_new`` are updated in place and new
    keys' slots and first occurrence indices go to ``new_slots[p]``/``new_refs[p]``.
    """
    P = table.shape[0]
    mask = table.shape[1] - 1
    split = order.size > 0
    cap_new = new_slots.shape[1]
    for p in prange(P):
        q = starts[p]
        q_end = ends[p]
        size = sizes[p]
        nn = 0
        d = -1
        while q < q_end:
            i = np.int64(order[q]) if split else q
            k = keys[i]
            if not aggregated:
                if d < 0:
                    d = np.searchsorted(item_off, i, side="right") - 1
                while item_off[d + 1] <= i:
                    d += 1
            doc = doc_base + max(d, 0)   # d < 0: aggregated rows (no document)
            kk = np.int64(k)
            h = _slot(k, mask)
            done = False
            while True:
                c = table[p, h, 1]
                if c == 0:
                    if size >= max_size or nn >= cap_new:
                        break
                    table[p, h, 0] = kk
                    if aggregated:
                        table[p, h, 1] = counts[i]
                        table[p, h, 2] = dfs[i]
                        table[p, h, 3] = -1
                    else:
                        table[p, h, 1] = 1
                        table[p, h, 2] = 1
                        table[p, h, 3] = doc
                    new_slots[p, nn] = h
                    new_refs[p, nn] = i
                    nn += 1
                    size += 1
                    done = True
                    break
                if table[p, h, 0] == kk:
                    if aggregated:
                        table[p, h, 1] = c + counts[i]
                        table[p, h, 2] += dfs[i]
                    else:
                        table[p, h, 1] = c + 1
                        if table[p, h, 3] != doc:
                            table[p, h, 2] += 1
                            table[p, h, 3] = doc
                    done = True
                    break
                h = (h + 1) & mask
            if not done:
                break
            q += 1
        starts[p] = q
        sizes[p] = size
        n_new[p] = nn


@njit(cache=True)
def _string_len(i, span_start, span_len, tok_len, n_tok):
    """Byte length of item ``i``'s string: ``n_tok`` tokens from ``span_start[i]`` joined
    by single spaces (word n-grams, ``n_tok > 0``), else the span ``span_len[i]``."""
    if n_tok == 0:
        return np.int64(span_len[i])
    t = span_start[i]
    s = np.int64(n_tok - 1)
    for k in range(n_tok):
        s += tok_len[t + k]
    return s


@njit(cache=True)
def _write_string(out, j, i, norm, span_start, span_len, tok_start, tok_len, n_tok):
    """Write item ``i``'s string (see :func:`_string_len`) at ``out[j:]``."""
    if n_tok == 0:
        s = span_start[i]
        for b in range(span_len[i]):
            out[j + b] = norm[s + b]
        return
    t = span_start[i]
    for k in range(n_tok):
        if k > 0:
            out[j] = 32
            j += 1
        s = tok_start[t + k]
        for b in range(tok_len[t + k]):
            out[j + b] = norm[s + b]
        j += tok_len[t + k]


@njit(parallel=True, cache=True)
def insert_occurrences(table, sid, keys, order, item_off, doc_base, starts, ends, max_size, sizes,
                       norm, span_start, span_len, tok_start, tok_len, n_tok, sdata, soff, sfirst,
                       ahead=PREFETCH_AHEAD):
    """Count one key per occurrence into a partitioned table, writing each new key's string.

    Partitions, ``order``, ``starts``/``ends``, ``item_off``/``doc_base`` and doc_freq are
    as in :func:`insert` (occurrence mode).  A new key of partition ``p`` gets string id
    ``j = sizes[p]``: its string (item ``i``'s, see :func:`_string_len`; ``norm`` is the
    normalised text, ``tok_start``/``tok_len`` the tokens) goes to ``sdata[p, soff[p, j]:]``
    and its first-occurrence ordinal ``(doc << FIRST_SHIFT) | (i - item_off[d])`` to
    ``sfirst[p, j]``.  A partition stops where it would pass ``max_size`` keys or the
    bytes of ``sdata[p]``; ``starts`` and ``sizes`` tell the caller where to resume.
    The slot of the key ``ahead`` places on is prefetched (0: none).
    """
    P = table.shape[0]
    mask = table.shape[1] - 1
    split = order.size > 0
    room = sdata.shape[1]
    for p in prange(P):
        q = starts[p]
        q_end = ends[p]
        size = sizes[p]
        fill = soff[p, size]
        d = -1
        while q < q_end:
            if ahead > 0 and q + ahead < q_end:
                i2 = np.int64(order[q + ahead]) if split else q + ahead
                prefetch_slot(table, p, _slot(keys[i2], mask))
            i = np.int64(order[q]) if split else q
            k = keys[i]
            if d < 0:
                d = np.searchsorted(item_off, i, side="right") - 1
            while item_off[d + 1] <= i:
                d += 1
            doc = doc_base + d
            kk = np.int64(k)
            h = _slot(k, mask)
            done = False
            while True:
                c = table[p, h, 1]
                if c == 0:
                    if size >= max_size:
                        break
                    ln = _string_len(i, span_start, span_len, tok_len, n_tok)
                    if fill + ln > room:
                        break
                    _write_string(sdata[p], fill, i, norm, span_start, span_len, tok_start, tok_len, n_tok)
                    fill += ln
                    sfirst[p, size] = (doc << FIRST_SHIFT) | (i - item_off[d])
                    sid[p, h] = size
                    size += 1
                    soff[p, size] = fill
                    table[p, h, 0] = kk
                    table[p, h, 1] = 1
                    table[p, h, 2] = 1
                    table[p, h, 3] = doc
                    done = True
                    break
                if table[p, h, 0] == kk:
                    table[p, h, 1] = c + 1
                    if table[p, h, 3] != doc:
                        table[p, h, 2] += 1
                        table[p, h, 3] = doc
                    done = True
                    break
                h = (h + 1) & mask
            if not done:
                break
            q += 1
        starts[p] = q
        sizes[p] = size


@njit(parallel=True, cache=True)
def count_word_ngrams(table, sid, tok_hash, tok_off, n, doc_base, part_shift, starts, max_size, sizes,
                      norm, tok_start, tok_len, sdata, soff, sfirst):
    """Hash and count every word n-gram of a tokenised batch in one pass, strings included.

    Fuses the n-gram hashing (the fold of ``kernels.text_core.word_ngrams_doc``, the same
    ``combine``) with :func:`insert_occurrences`: no array of n-gram keys, no split by
    partition.  Each partition's thread walks all tokens, hashes every n-gram (tokens
    ``t..t+n-1`` of one document, ``tok_off`` the documents' token offsets) and counts those
    of its partition (``key >> part_shift``; all with one partition).  Strings, string ids and
    first-occurrence ordinals ``(doc << FIRST_SHIFT) | (t - tok_off[d])`` as in
    :func:`insert_occurrences`; a partition stops where it would pass ``max_size`` keys or
    the bytes of ``sdata[p]``, its next token in ``starts[p]`` (the batch's token count
    when done).
    """
    P = table.shape[0]
    mask = table.shape[1] - 1
    room = sdata.shape[1]
    n_tok = tok_hash.size
    sh = np.uint64(part_shift)
    for p in prange(P):
        t = starts[p]
        size = sizes[p]
        fill = soff[p, size]
        d = np.searchsorted(tok_off, t, side="right") - 1
        while t < n_tok:
            while tok_off[d + 1] <= t:
                d += 1
            if t + n > tok_off[d + 1]:   # the n-gram would run into the next document
                t = tok_off[d + 1]
                continue
            k = np.uint64(n)
            for j in range(n):
                k = combine(k, tok_hash[t + j])
            if P > 1 and np.int64(k >> sh) != p:
                t += 1
                continue
            doc = doc_base + d
            kk = np.int64(k)
            h = _slot(k, mask)
            done = False
            while True:
                c = table[p, h, 1]
                if c == 0:
                    if size >= max_size:
                        break
                    ln = np.int64(n - 1)
                    for j in range(n):
                        ln += tok_len[t + j]
                    if fill + ln > room:
                        break
                    o = fill
                    for j in range(n):
                        if j > 0:
                            sdata[p, o] = 32
                            o += 1
                        s0 = tok_start[t + j]
                        for b in range(tok_len[t + j]):
                            sdata[p, o + b] = norm[s0 + b]
                        o += tok_len[t + j]
                    fill += ln
                    sfirst[p, size] = (doc << FIRST_SHIFT) | (t - tok_off[d])
                    sid[p, h] = size
                    size += 1
                    soff[p, size] = fill
                    table[p, h, 0] = kk
                    table[p, h, 1] = 1
                    table[p, h, 2] = 1
                    table[p, h, 3] = doc
                    done = True
                    break
                if table[p, h, 0] == kk:
                    table[p, h, 1] = c + 1
                    if table[p, h, 3] != doc:
                        table[p, h, 2] += 1
                        table[p, h, 3] = doc
                    done = True
                    break
                h = (h + 1) & mask
            if not done:
                break
            t += 1
        starts[p] = t
        sizes[p] = size


@njit(parallel=True, cache=True)
def rehash(old, old_sid, new, new_sid):
    mask = new.shape[1] - 1
    for p in prange(old.shape[0]):
        for s in range(old.shape[1]):
            if old[p, s, 1] != 0:
                h = _slot(np.uint64(old[p, s, 0]), mask)
                while new[p, h, 1] != 0:
                    h = (h + 1) & mask
                for j in range(4):
                    new[p, h, j] = old[p, s, j]
                new_sid[p, h] = old_sid[p, s]


@njit(cache=True)
def _offsets(lens):
    """Offsets (exclusive prefix sum, one longer) of ``lens``."""
    off = np.zeros(lens.size + 1, np.int64)
    for r in range(lens.size):
        off[r + 1] = off[r] + lens[r]
    return off


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
    off = _offsets(lens)
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
    off = _offsets(length)
    out = np.empty(off[m], np.uint8)
    for r in prange(m):
        s = start[r]
        j = off[r]
        for b in range(length[r]):
            out[j + b] = norm[s + b]
    return out, off


@njit(parallel=True, cache=True)
def collect(table, sid, sizes):
    """Occupied slots of a partitioned table in string-id order: partition ``p``'s key of
    string id ``j`` at row ``sizes[:p].sum() + j``; (keys, counts, doc_freqs)."""
    P, cap = table.shape[0], table.shape[1]
    base = np.zeros(P + 1, np.int64)
    for p in range(P):
        base[p + 1] = base[p] + sizes[p]
    n = base[P]
    keys = np.empty(n, np.uint64)
    counts = np.empty(n, np.int64)
    dfs = np.empty(n, np.int64)
    for p in prange(P):
        for s in range(cap):
            if table[p, s, 1] != 0:
                r = base[p] + sid[p, s]
                keys[r] = np.uint64(table[p, s, 0])
                counts[r] = table[p, s, 1]
                dfs[r] = table[p, s, 2]
    return keys, counts, dfs
