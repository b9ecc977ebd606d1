"""Counting word n-grams straight from the tokens into a table that stays in the cache.

The usual host path (:mod:`kernels.cpu.count_docs` then :func:`kernels.cpu.count.insert_entries`)
first reduces each document to its distinct keys, because the table is far larger than the
cache for bigrams and trigrams and every probe of it costs a memory access: fewer probes
pay for the extra pass.  A table that fits the cache (unigrams: a vocabulary of some 10**5
words, ~2 MB) makes a probe cheap, and then the per-document pass is most of the cost.
Here each n-gram is hashed and probed at once; the document frequency needs, per slot, the
last document that counted the key (``last``, the document's global index), so a key adds
1 to its doc_freq once per document.

The table, string store and stops are those of :mod:`kernels.cpu.count` (same slots, same
partitions by the key's top bits, string ids in order of first occurrence within a
partition).  ``last`` is only read within a document: the caller may drop it (all -1)
between documents, e.g. when the table grows, so a stop for table room happens only
before a document (the document's n-grams all fit whatever they are) and a stop for string
bytes, which keeps the table, anywhere.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.cpu.bytecopy import SLACK
from kernels.cpu.count import COUNT_SHIFT, FIRST_SHIFT, _find, _string_len, _take, _write_string
from kernels.hashing import combine


@njit(cache=True, inline="always")
def _word_key(tok_hash, t, n):
    """``kernels.text_core.word_ngrams_doc``'s key of the n-gram of order ``n`` at token ``t``."""
    k = np.uint64(n)
    for j in range(n):
        k = combine(k, tok_hash[t + j])
    return k


@njit(parallel=True, cache=True)
def count_word_ngrams(table, last, slot_of, tok_hash, tok_off, n, d1, doc_base, part_shift, cursor, max_size,
                      sizes, norm, tok_start, tok_len, sdata, soff, sfirst):
    """Count the word n-grams of order ``n`` of documents ``cursor[p, 0] <= d < d1`` (document
    d's tokens ``[tok_off[d], tok_off[d+1])``, global index ``doc_base + d``) into the
    partitioned ``table``, partition ``p`` (``key >> part_shift``; all in 0 for one) by one
    thread, from n-gram ``cursor[p, 1]`` of its first document.

    A key adds 1 to its count per occurrence and 1 to its doc_freq per document (``last[p,
    slot]``: the last document that counted it).  A new key of partition ``p`` gets string
    id ``j = sizes[p]``: its string (the ``n`` tokens joined by a space) to ``sdata[p,
    soff[p, j]:]``, its first ordinal ``(doc << FIRST_SHIFT) | position`` to ``sfirst[p, j]``,
    its slot to ``slot_of[p, j]``.  A partition stops before a document whose n-grams could
    pass ``max_size`` keys, or before a new key whose string would pass the bytes of
    ``sdata[p]``; ``cursor`` (document ``d1`` when done) and ``sizes`` say where to resume.
    """
    P = table.shape[0]
    mask = table.shape[1] - 1
    room = sdata.shape[1]
    sh = np.uint64(part_shift)
    one = np.uint64(1) << COUNT_SHIFT
    for pi in prange(P):
        p = np.int64(pi)   # one type of p for the callees (a prange index is int64 or uint64)
        d, i = cursor[p, 0], cursor[p, 1]
        size = sizes[p]
        fill = soff[p, size]
        stopped = False
        while d < d1 and not stopped:
            a = tok_off[d]
            m = max(tok_off[d + 1] - a - n + 1, 0)
            if i == 0 and size + m > max_size:
                break   # room checked per document: ``last`` never spans a growth
            gd = doc_base + d
            while i < m:
                k = _word_key(tok_hash, a + i, n)
                if P > 1 and np.int64(k >> sh) != p:
                    i += 1
                    continue
                h, c = _find(table, p, k, mask)
                if c != 0:
                    if last[p, h] == gd:
                        table[p, h, 1] = c + one
                    else:
                        table[p, h, 1] = c + one + np.uint64(1)
                        last[p, h] = gd
                else:
                    if fill + _string_len(True, n, a + i, tok_len, tok_len) + SLACK > room:
                        stopped = True
                        break
                    fill += _write_string(True, n, a + i, norm, tok_start, tok_len, tok_len, tok_len, sdata, p, fill)
                    sfirst[p, size] = (gd << FIRST_SHIFT) | i
                    _take(table, slot_of, p, h, k, one + np.uint64(1), size)
                    last[p, h] = gd
                    size += 1
                    soff[p, size] = fill
                i += 1
            if not stopped:
                d += 1
                i = 0
        cursor[p, 0] = d
        cursor[p, 1] = i
        sizes[p] = size

