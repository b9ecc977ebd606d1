"""The n-gram rows ``corpus analyze`` keeps from its pass: only those that can reach the top
rows of their order, so memory does not grow with the distinct n-grams of the corpus.

``engine.ngrams.map_partition`` returns every distinct n-gram (its partial is what a cluster
combines); the n-gram job's :func:`engine.ngrams.finish` then keeps ``top`` rows per order.
A corpus of 1 GB has some 50 million distinct 2- and 3-grams: their partial alone takes
several GB, whatever the counting tables' bound (``--memory``).  Here each order's
counter (:class:`engine.ngrams.counting.KeyCounter`) is read piece by piece (its table, or
one spill partition at a time: every key in exactly one piece, with its final count), and
a piece keeps its own ``top`` first rows in the output order (count descending, then
string).  That order is total, so a row among the order's ``top`` first is among its
piece's: :func:`engine.ngrams.finish` of the kept rows (at most ``top`` a piece) gives the
table of all the rows, and only the number of distinct n-grams per order has to be
counted apart.
"""
from __future__ import annotations

import numpy as np

from engine.stats import JobStats

__all__ = ["top_candidates", "reaching"]


def reaching(counts: np.ndarray, top: int, data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the ``top`` first rows in the n-gram job's output order (count
    descending, then string: :func:`kernels.cpu.sort.order_rows`), row r's string
    ``data[starts[r]:ends[r]]``; all of them when there are at most ``top``.  Only the rows
    tied at the ``top``-th count are sorted."""
    from kernels.cpu.sort import kth_largest, order_rows
    if counts.size <= top:
        return np.arange(counts.size)
    kth = kth_largest(counts, top)
    reach = np.flatnonzero(counts >= kth)   # one pass over the counts; the few rows then split
    above, tied = reach[counts[reach] > kth], reach[counts[reach] == kth]
    need = top - above.size
    if tied.size > need:   # the ties at the k-th count in string order
        tied = tied[order_rows(counts[tied], data, starts[tied], ends[tied])[:need]]
    return np.sort(np.concatenate([above, tied]))


def top_candidates(consumer, top: int, stats: JobStats):
    """The rows of ``consumer``'s counters (an :class:`engine.ngrams.job.NgramConsumer`, after
    its last batch) that can reach the ``top`` of their order, and the distinct n-grams of
    each order.  The counters are released as they are read (their spill files stay until
    ``consumer.close()``).

    Returns
    -------
    partial : engine.ngrams.partial.NgramPartial
        The kept rows of every order (``stats`` as its stats).
    distinct : dict of int to int
        Order -> distinct n-grams counted.
    """
    from engine.analyze_words import concat_partials
    from engine.ngrams.partial import NgramPartial
    from kernels.cpu.count import gather_spans
    pieces, distinct = [], {}
    stats.counters["spills"] = sum(c.n_spills for c in consumer.counters.values())
    for n, counter in consumer.counters.items():
        distinct[n] = 0
        for rows in counter.partitions():
            distinct[n] += int(rows.keys.size)
            sel = reaching(rows.counts, top, rows.data, rows.starts, rows.ends)
            data, off = gather_spans(rows.data, rows.starts[sel], rows.ends[sel] - rows.starts[sel])
            pieces.append(NgramPartial(rows.keys[sel], np.full(sel.size, n, np.int8), rows.counts[sel],
                                       rows.dfs[sel], rows.first[sel], data, off))
            del rows
        counter.release()
    if not pieces:
        return NgramPartial.empty(stats), distinct
    return concat_partials(pieces, stats), distinct
