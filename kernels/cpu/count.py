"""Counting by key on the host: an open-addressing hash table, and string gathering.

The table is one ``uint64[partitions, capacity, 2]`` array, a 16-byte row per slot
holding (key bits, ``count << 32 | doc_freq``), four slots to a cache line; 0 in the
second word marks an empty slot.  The table takes entries, one per (document, key),
from :mod:`kernels.cpu.count_docs` (or rows already reduced, on a GPU): a key's
doc_freq grows by one per entry, so no slot needs to remember a last document.  Both
halves stay exact while a table holds fewer than 2**32 occurrences, which the caller
(``engine.ngrams.counting.KeyCounter``) guarantees by spilling before that.

Partitions (by the key's top bits) are filled by one thread each, from the entry
indices :func:`kernels.cpu.count_docs.split_entries` grouped by partition, the slot a
few entries ahead prefetched.  Insertion stops (and records where) when a partition
would pass its fill bound or its string bytes, so the caller can grow and resume.

Each partition owns its keys' strings: the ``j``-th key partition ``p`` took sits in
slot ``slot_of[p, j]``, its string is ``sdata[p, soff[p, j]:soff[p, j + 1]]`` with
first-occurrence ordinal ``sfirst[p, j]``.  :func:`insert_entries` writes a new key's
string there as it takes the key (one pass, no gather afterwards); all these writes are
sequential, so a new key costs the table one random access only.  The string copies go
eight bytes at a time (:mod:`kernels.cpu.bytecopy`; byte by byte they were half the
kernel's time on trigrams), so a partition keeps ``SLACK`` bytes of room past its last
string.
"""
from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from kernels.cpu.bytecopy import SLACK, copy_bytes

FIRST_SHIFT = 32   # engine.ngrams.partial.FIRST_SHIFT: bits of the in-document position of an ordinal


def _prefetch(context, builder, signature, args, trailing):
    """``llvm.prefetch`` (for writing, high locality) of the element of array ``args[0]``
    at the indices ``args[1:]`` followed by ``trailing`` zeros."""
    aryty = signature.args[0]
    ary = context.make_array(aryty)(context, builder, args[0])
    idx = [context.cast(builder, a, t, types.intp) for a, t in zip(args[1:], signature.args[1:])]
    idx += [context.get_constant(types.intp, 0)] * trailing
    ptr = cgutils.get_item_pointer(context, builder, aryty, ary, idx, wraparound=False)
    i32 = ir.IntType(32)
    fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
    fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
    builder.call(fn, [ptr, i32(1), i32(3), i32(1)])
    return context.get_dummy_value()


@intrinsic
def prefetch_slot(typingctx, table, p, h):
    """Hint the CPU to load ``table[p, h, 0]`` into cache; no effect on the result.
    Probing a table larger than the cache waits on memory at every rare key: asking a
    few keys ahead overlaps those waits."""
    return types.void(table, p, h), lambda context, builder, sig, args: _prefetch(context, builder, sig, args, 1)


@intrinsic
def prefetch_at(typingctx, ary, i):
    """Hint the CPU to load ``ary[i]`` (a 1-d array) into cache; no effect on the result."""
    return types.void(ary, i), lambda context, builder, sig, args: _prefetch(context, builder, sig, args, 0)


PREFETCH_AHEAD = 16   # entries: enough misses in flight to hide most of the memory latency (16 measured best of 0-32)
DF_MASK = np.uint64(0xFFFFFFFF)
COUNT_SHIFT = np.uint64(32)


@njit(cache=True)
def _slot(k, mask):
    return np.int64((k ^ (k >> np.uint64(29))) & np.uint64(mask))


@njit(cache=True)
def _find(table, p, k, mask):
    """The slot of key ``k`` in partition ``p`` (linear probing from :func:`_slot`), or the
    empty slot where it goes; and that slot's second word (0: empty, ``k`` is new)."""
    h = _slot(k, mask)
    while True:
        c = table[p, h, 1]
        if c == 0 or table[p, h, 0] == k:
            return h, c
        h = (h + 1) & mask


@njit(cache=True)
def _take(table, slot_of, p, h, k, add, size):
    """Put the new key ``k`` (second word ``add``) in the empty slot ``h``: its string id
    is ``size``, whose slot ``slot_of`` remembers."""
    table[p, h, 0] = k
    table[p, h, 1] = add
    slot_of[p, size] = h


@njit(cache=True)
def _write_string(word, n, t, norm, tok_start, tok_len, span_start, span_len, sdata, p, o):
    """Write the string of a new key to ``sdata[p, o:]``: the ``n`` tokens from token ``t``
    joined by a space (``word``), else span ``t``; returns its length.  The copies may
    write ``SLACK - 1`` bytes past it (:mod:`kernels.cpu.bytecopy`): room for them is the
    caller's."""
    if not word:
        ln = np.int64(span_len[t])
        copy_bytes(norm, np.int64(span_start[t]), sdata, p, o, ln)
        return ln
    s0 = np.int64(tok_start[t])
    spaced = True   # the tokens one space apart in the text already: one copy of the span
    for i in range(n - 1):
        after = np.int64(tok_start[t + i]) + tok_len[t + i]
        if tok_start[t + i + 1] != after + 1 or norm[after] != 32:
            spaced = False
            break
    if spaced:
        ln = np.int64(tok_start[t + n - 1]) + tok_len[t + n - 1] - s0
        copy_bytes(norm, s0, sdata, p, o, ln)
        return ln
    j = o
    for i in range(n):
        if i > 0:
            sdata[p, j] = 32   # over the previous token's slack
            j += 1
        ln = np.int64(tok_len[t + i])
        copy_bytes(norm, np.int64(tok_start[t + i]), sdata, p, j, ln)
        j += ln
    return j - o


@njit(cache=True)
def _string_len(word, n, t, tok_len, span_len):
    """Bytes of the string :func:`_write_string` writes (``SLACK`` more of room needed)."""
    if not word:
        return np.int64(span_len[t])
    ln = np.int64(n - 1)
    for i in range(n):
        ln += tok_len[t + i]
    return ln


@njit(parallel=True, cache=True)
def insert_entries(table, slot_of, keys, cnt, pos, pbeg, item_off, d0, doc_base, cursor, max_size, sizes,
                   word, n, norm, tok_off, tok_start, tok_len, span_start, span_len, sdata, soff, sfirst,
                   ahead=PREFETCH_AHEAD):
    """Count the per-document entries of documents ``d0 <= d < d1`` (``d1 = d0 +
    len(pbeg)``, the layout of :mod:`kernels.cpu.count_docs`) into a partitioned table,
    writing each new key's string.

    Entry ``e`` (key ``keys[e]``, ``cnt[e]`` occurrences in its document ``d``, the first
    at position ``pos[e]`` in it) adds ``cnt[e]`` to the key's count and 1 to its doc_freq;
    the document's global index is ``doc_base + d``.  Partition ``p``'s thread walks its
    entries from ``cursor[p] = (document, entry)``.  A new key of partition ``p`` gets
    string id ``j = sizes[p]``: its string goes to ``sdata[p, soff[p, j]:]`` (``word``: the
    ``n`` tokens from token ``tok_off[d] + pos[e]``; else the span ``span_start/span_len``
    of item ``item_off[d] + pos[e]``), its first-occurrence ordinal ``(doc <<
    FIRST_SHIFT) | pos[e]`` to ``sfirst[p, j]`` and its slot to ``slot_of[p, j]``.  A
    partition stops where it would pass ``max_size`` keys or the bytes of ``sdata[p]``;
    ``cursor`` (document ``d1`` when done) and ``sizes`` tell the caller where to resume.
    The slot of the entry ``ahead`` places on is prefetched (0: none).
    """
    P = table.shape[0]
    mask = table.shape[1] - 1
    room = sdata.shape[1]
    base = item_off[d0]
    d1 = d0 + pbeg.shape[0]
    for pi in prange(P):
        p = np.int64(pi)   # one type of p for the callees (a prange index is int64 or uint64)
        d = cursor[p, 0]
        e = cursor[p, 1]
        size = sizes[p]
        fill = soff[p, size]
        # the entry ``ahead`` places on: (document da, entry ea, end of da's group hia)
        da, ea, hia = d, e - 1, e
        if d < d1:
            ea = max(e, item_off[d] - base + pbeg[d - d0, p]) - 1
            hia = item_off[d] - base + pbeg[d - d0, p + 1]
        for _ in range(ahead + 1):
            ea += 1
            while ea >= hia and da < d1:
                da += 1
                if da < d1:
                    ea = item_off[da] - base + pbeg[da - d0, p]
                    hia = item_off[da] - base + pbeg[da - d0, p + 1]
        while d < d1:
            lo = item_off[d] - base + pbeg[d - d0, p]
            if e < lo:
                e = lo
            if e >= item_off[d] - base + pbeg[d - d0, p + 1]:
                d += 1
                continue
            if ahead > 0 and da < d1:
                prefetch_slot(table, p, _slot(keys[ea], mask))
                ea += 1
                while ea >= hia and da < d1:
                    da += 1
                    if da < d1:
                        ea = item_off[da] - base + pbeg[da - d0, p]
                        hia = item_off[da] - base + pbeg[da - d0, p + 1]
            k = keys[e]
            add = (np.uint64(cnt[e]) << COUNT_SHIFT) + np.uint64(1)
            h, c = _find(table, p, k, mask)
            if c != 0:
                table[p, h, 1] = c + add
            else:
                t = (tok_off[d] if word else item_off[d]) + pos[e]
                if size >= max_size or fill + _string_len(word, n, t, tok_len, span_len) + SLACK > room:
                    break
                fill += _write_string(word, n, t, norm, tok_start, tok_len, span_start, span_len, sdata, p, fill)
                sfirst[p, size] = ((doc_base + d) << FIRST_SHIFT) | pos[e]
                _take(table, slot_of, p, h, k, add, size)
                size += 1
                soff[p, size] = fill
            e += 1
        cursor[p, 0] = d
        cursor[p, 1] = e
        sizes[p] = size


@njit(parallel=True, cache=True)
def insert_rows(table, slot_of, keys, counts, dfs, order, starts, ends, max_size, sizes, new_refs, n_new):
    """Add rows already reduced (count ``counts[i]``, doc_freq ``dfs[i]`` of key ``keys[i]``),
    partition ``p`` the rows ``order[starts[p]:ends[p]]``.  A new key's slot goes to
    ``slot_of[p, sizes[p]]`` and its row index to ``new_refs[p, n_new[p]]`` (the caller
    writes its string); a partition stops where it would pass ``max_size`` keys or fill
    its ``new_refs`` row; ``starts``/``sizes``/``n_new`` are updated in place."""
    P = table.shape[0]
    mask = table.shape[1] - 1
    cap_new = new_refs.shape[1]
    for pi in prange(P):
        p = np.int64(pi)   # one type of p for the callees (a prange index is int64 or uint64)
        q = starts[p]
        size = sizes[p]
        nn = 0
        while q < ends[p]:
            i = np.int64(order[q])
            k = keys[i]
            add = (np.uint64(counts[i]) << COUNT_SHIFT) + np.uint64(dfs[i])
            h, c = _find(table, p, k, mask)
            if c != 0:
                table[p, h, 1] = c + add
            else:
                if size >= max_size or nn >= cap_new:
                    break
                _take(table, slot_of, p, h, k, add, size)
                new_refs[p, nn] = i
                nn += 1
                size += 1
            q += 1
        starts[p] = q
        sizes[p] = size
        n_new[p] = nn


@njit(cache=True)
def count_absent(table, part_shift, keys, absent):
    """Add to ``absent[p]`` the number of ``keys`` (distinct) of partition ``p`` (``key >>
    part_shift``, all in 0 for one partition) that the table does not hold."""
    P = table.shape[0]
    mask = table.shape[1] - 1
    sh = np.uint64(part_shift)
    for k in keys:
        p = np.int64(k >> sh) if P > 1 else 0
        if _find(table, p, k, mask)[1] == 0:
            absent[p] += 1


@njit(parallel=True, cache=True)
def split_rows(keys, part_shift, parts, order, pbeg):
    """Stable counting sort of row indices by partition (``key >> part_shift``, all in 0
    when ``parts == 1``): partition ``p``'s, increasing, are ``order[pbeg[p]:pbeg[p + 1]]``."""
    n = keys.size
    nch = 64
    counts = np.zeros((nch, parts), np.int64)
    sh = np.uint64(part_shift)
    for c in prange(nch):
        for i in range(c * n // nch, (c + 1) * n // nch):
            counts[c, np.int64(keys[i] >> sh) if parts > 1 else 0] += 1
    at = np.empty((nch, parts), np.int64)
    o = 0
    for p in range(parts):
        pbeg[p] = o
        for c in range(nch):
            at[c, p] = o
            o += counts[c, p]
    pbeg[parts] = o
    for c in prange(nch):
        for i in range(c * n // nch, (c + 1) * n // nch):
            p = np.int64(keys[i] >> sh) if parts > 1 else 0
            order[at[c, p]] = i
            at[c, p] += 1


@njit(parallel=True, cache=True)
def rehash(old, new, slot_of, sizes, ahead=PREFETCH_AHEAD):
    """Move every key of ``old`` to the larger ``new`` (same partitions), in string-id
    order, updating ``slot_of``.  Both tables are read at random: the old slot of the key
    ``2 * ahead`` ids on and the new slot of the one ``ahead`` on are prefetched."""
    mask = new.shape[1] - 1
    for pi in prange(old.shape[0]):
        p = np.int64(pi)   # one type of p for the callees (a prange index is int64 or uint64)
        m = sizes[p]
        for j in range(m):
            if j + 2 * ahead < m:
                prefetch_slot(old, p, slot_of[p, j + 2 * ahead])
            if j + ahead < m:
                prefetch_slot(new, p, _slot(old[p, slot_of[p, j + ahead], 0], mask))
            s = slot_of[p, j]
            h = _find(new, p, old[p, s, 0], mask)[0]   # keys are distinct: the empty slot
            _take(new, slot_of, p, h, old[p, s, 0], old[p, s, 1], j)


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
        if r + PREFETCH_AHEAD < m:   # spans in output order are scattered in ``norm``
            prefetch_at(norm, start[r + PREFETCH_AHEAD])
        s = start[r]
        j = off[r]
        for b in range(length[r]):
            out[j + b] = norm[s + b]
    return out, off


@njit(parallel=True, cache=True)
def collect_into(table, slot_of, sizes, keys, counts, dfs, ahead=PREFETCH_AHEAD):
    """Write the keys of a partitioned table in string-id order: partition ``p``'s key of
    string id ``j`` at row ``sizes[:p].sum() + j`` of ``keys``/``counts``/``dfs``."""
    P = table.shape[0]
    base = np.zeros(P + 1, np.int64)
    for p in range(P):
        base[p + 1] = base[p] + sizes[p]
    for pi in prange(P):
        p = np.int64(pi)   # one type of p for the callees (a prange index is int64 or uint64)
        m = sizes[p]
        for j in range(m):
            if j + ahead < m:   # slots are read in string-id order, at random
                prefetch_slot(table, p, slot_of[p, j + ahead])
            s = slot_of[p, j]
            r = base[p] + j
            keys[r] = table[p, s, 0]
            counts[r] = np.int64(table[p, s, 1] >> COUNT_SHIFT)
            dfs[r] = np.int64(table[p, s, 1] & DF_MASK)


def collect(table, slot_of, sizes):
    """(keys, counts, doc_freqs) of a partitioned table, as :func:`collect_into` orders them."""
    n = int(sizes.sum())
    keys, counts, dfs = np.empty(n, np.uint64), np.empty(n, np.int64), np.empty(n, np.int64)
    collect_into(table, slot_of, sizes, keys, counts, dfs)
    return keys, counts, dfs
