"""The table's probes in address order: a chunk's entries radix-sorted by their slot first.

A bigram or trigram table is far larger than the cache, and its entries come in corpus
order, each at a random slot: one memory access per entry, whatever is prefetched.  Sorted
by the cache line of their home slot (two LSD radix passes over the entries' keys, the
passes in the cache), a partition's entries probe the table in increasing address order,
which the memory serves as a stream (open DRAM rows, hardware prefetch, several entries
to a line), not as random reads.

:func:`probe_sorted` counts every entry of a key already in the table and takes a slot
for each new key (the first entry of a key in sorted order is its first occurrence: the
sort is stable), marking the entry ``NEW`` with its slot; the string ids and strings,
which must follow the order of first occurrence, are given afterwards in corpus order by
:func:`kernels.cpu.count.insert_entries` (``NEW`` entries only).  A partition that would
pass ``max_size`` keys stops and marks the rest of its entries ``TODO`` (counted in corpus
order after the table grows).  The layout of the entries is :mod:`kernels.cpu.count_docs`'.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.cpu.count import COUNT_SHIFT, NEW, PREFETCH_AHEAD, TODO, _find, _slot, prefetch_slot

CNT_BITS = 24   # an entry's count inside its sort record (a larger one is read from the entries)
_CNT_MAX = (1 << CNT_BITS) - 1


@njit(cache=True, inline="always")
def _line(k, mask, line_shift):
    return _slot(k, mask) >> line_shift


@njit(cache=True)
def _radix_pass(sk, sv, dk, dv, lo, hi, mask, line_shift, shift, bits):
    """Stable counting sort of records ``[lo, hi)`` of ``sk``/``sv`` into ``dk``/``dv`` by
    bits ``shift..shift + bits`` of their key's line."""
    nb = 1 << bits
    at = np.zeros(nb + 1, np.int64)
    dm = np.int64(nb - 1)
    for i in range(lo, hi):
        at[((_line(sk[i], mask, line_shift) >> shift) & dm) + 1] += 1
    at[0] = lo
    for b in range(nb):
        at[b + 1] += at[b]
    for i in range(lo, hi):
        b = (_line(sk[i], mask, line_shift) >> shift) & dm
        j = at[b]
        dk[j] = sk[i]
        dv[j] = sv[i]
        at[b] = j + 1


@njit(parallel=True, cache=True)
def probe_sorted(table, keys, cnt, pbeg, item_off, d0, pstart, max_size, sizes, state, hslot, pending,
                 rk, rv, tk, tv, ahead=PREFETCH_AHEAD):
    """Count the entries of documents ``d0 <= d < d0 + len(pbeg)`` (the layout of
    :mod:`kernels.cpu.count_docs`) into the partitioned ``table`` in the order of their
    slots (module docstring).

    Partition ``p``'s records go to ``rk``/``rv[pstart[p]:pstart[p + 1]]`` (``tk``/``tv``:
    the same room, for the radix pass between).  A key already in the table (or taken
    earlier in this call) adds ``cnt[e]`` to its count and 1 to its doc_freq; a new key
    takes its slot (``hslot[e]``, ``state[e] = NEW``) while the partition holds fewer than
    ``max_size`` keys with the ``pending[p]`` keys taken here (written out); past that the
    entries left are ``TODO``.  ``state`` is ``DONE`` (0) elsewhere on entry.
    """
    P = table.shape[0]
    mask = table.shape[1] - 1
    line_shift = 2   # four 16-byte slots to a 64-byte line
    line_bits = 1
    while (1 << (line_bits + line_shift)) <= mask:
        line_bits += 1
    lo_bits = line_bits // 2
    base = item_off[d0]
    d1 = d0 + pbeg.shape[0]
    for pi in prange(P):
        p = np.int64(pi)   # one type of p for the callees (a prange index is int64 or uint64)
        lo, hi = pstart[p], pstart[p + 1]
        o = lo
        for d in range(d0, d1):
            e0 = item_off[d] - base
            for e in range(e0 + pbeg[d - d0, p], e0 + pbeg[d - d0, p + 1]):
                rk[o] = keys[e]
                rv[o] = (np.int64(e) << CNT_BITS) | min(cnt[e], _CNT_MAX)
                o += 1
        _radix_pass(rk, rv, tk, tv, lo, hi, mask, line_shift, 0, lo_bits)
        _radix_pass(tk, tv, rk, rv, lo, hi, mask, line_shift, lo_bits, line_bits - lo_bits)
        room = max_size - sizes[p]
        nn = 0
        for i in range(lo, hi):
            if ahead > 0 and i + ahead < hi:
                prefetch_slot(table, p, _slot(rk[i + ahead], mask))
            k = rk[i]
            e = rv[i] >> CNT_BITS
            c0 = rv[i] & _CNT_MAX
            add = (np.uint64(cnt[e] if c0 == _CNT_MAX else c0) << COUNT_SHIFT) + np.uint64(1)
            h, c = _find(table, p, k, mask)
            if c != 0:
                table[p, h, 1] = c + add
            elif nn < room:
                table[p, h, 0] = k
                table[p, h, 1] = add
                hslot[e] = h
                state[e] = NEW
                nn += 1
            else:
                for j in range(i, hi):
                    state[rv[j] >> CNT_BITS] = TODO
                break
        pending[p] = nn
