"""Pair counts on the CPU (``kernels.cpu.cooc``): a dense block for frequent pairs, row buckets
for the others.

Term ids are frequency ranks, so most pairs (74-85 % on the bench corpora) join two of the
``k = C.DENSE_TERMS`` most frequent terms: they are added to a ``k x k`` block per thread.
The other pairs go through *rounds* of at most ``C.REST_CAP`` pairs:

1. walk 1 of each piece of tokens (rows in document mode) adds its dense pairs and counts
   the others by row (their smaller id), per thread;
2. when the round is full (or at the end) the rows are cut into buckets from those counts
   (``kernels.cpu.cooc.rest.row_buckets``), walk 2 of the round's pieces writes every other
   pair straight to its exact place in its bucket, each bucket is reduced within one
   thread's cache (counters for a few frequent rows, a radix sort for many rare ones) and
   the buckets are compacted into one run sorted by key; runs of similar sizes are merged
   (in parallel segments), so each pair is merged O(log rounds) times.

With unit weights (and in document mode) the blocks count in int32, added into one int64 block
before any cell could overflow (``_DENSE32_PAIRS`` pairs walked since the last addition).

So the pairs outside the block are written once (uint32 keys when the ids fit 16 bits),
read a few times in cache, and memory stays bounded by the round, whatever the corpus
size.  Every sum is an integer sum: counts do not depend on threads, pieces or rounds.
"""
from __future__ import annotations

import numpy as np

from engine.cooc import config as C

__all__ = ["CPUPairCounter", "doc_rows", "merge_runs"]

_MAX_ROUND = (1 << 31) - 1   # unit counts of a round are summed in int32
# Unit weights: the threads' dense blocks count in int32 (4 MB a thread instead of 8: a third
# less time in walk 1, whose increments miss the cache), added into one int64 block before
# any cell could pass 2**31 - 1, i.e. before the pairs walked since the last flush could.
_DENSE32_PAIRS = (1 << 31) - 1


class CPUPairCounter:
    """Pair counts on the CPU, persistent across batches: :meth:`add_window` or :meth:`add_doc`
    per batch, then :meth:`arrays`.

    Parameters
    ----------
    nthreads : int
        Threads of the kernels (one dense block and one token range each).
    n_terms : int
        Vocabulary size (term ids are ``0 .. n_terms - 1``).
    unit : bool
        Every weight is 1 (no weights are stored).
    """

    def __init__(self, nthreads: int, n_terms: int, unit: bool):
        self.nt = max(1, int(nthreads))
        self.n = int(n_terms)
        self.unit = unit
        self.k = min(C.DENSE_TERMS, self.n)
        # weighted pairs add up to lcm(1..W) each: int64 blocks; unit ones int32, flushed
        self.dense = np.zeros((self.nt, self.k * self.k), np.int32 if unit else np.int64)
        self.dense_total = np.zeros(self.k * self.k, np.int64) if unit else None
        self.unflushed = 0   # a bound on the pairs added to the int32 blocks since the last flush
        self.cap = max(1, min(int(C.REST_CAP), _MAX_ROUND))
        self.sh = 16 if self.n <= 1 << 16 else 32
        self.hist = np.zeros((self.nt, self.n), np.int64)   # the round's pairs by thread and row
        self.round_pairs = 0
        self.pieces: list = []
        self.runs: list = []   # reduced rounds (sorted keys, values), oldest first

    def _cuts(self, lo: int, hi: int) -> np.ndarray:
        return lo + np.arange(self.nt + 1, dtype=np.int64) * (hi - lo) // self.nt

    def _walk1(self, walk, cuts, bound):
        """Run walk 1 of one piece (at most ``bound`` pairs); add it to the round (closing the
        round first if it is full)."""
        if self.unit:
            if self.unflushed and self.unflushed + bound > _DENSE32_PAIRS:
                self._flush_dense()
            self.unflushed += bound
        h = np.zeros((self.nt, self.n), np.int64)
        walk(cuts, h)
        m = int(h.sum())
        if self.round_pairs and self.round_pairs + m > self.cap:
            self._reduce_round()
        return h, m

    def add_window(self, ids, doc_off, window, wtab):
        """Count the window pairs of one batch (``ids``: term id of each token, -1 pruned)."""
        from kernels.cpu.cooc import window_dense_hist, window_rest_write
        n = int(ids.size)
        step = max(1, self.cap // max(int(window), 1))   # a piece of ``step`` tokens fits a round
        wt = wtab if wtab is not None else np.zeros(1, np.int64)
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            cuts = self._cuts(lo, hi)
            h, m = self._walk1(lambda c, h: window_dense_hist(ids, doc_off, window, wt, self.unit, c, self.dense,
                                                              self.k, h), cuts, (hi - lo) * int(window))
            self._add_piece(h, m, lambda c, rb, pos, keys, wts: window_rest_write(
                ids, doc_off, window, wt, self.unit, c, self.k, rb, pos, self.sh, keys, wts), cuts)

    def add_doc(self, ids, doc_off):
        """Count the document pairs of one batch (distinct kept terms of each document)."""
        from kernels.cpu.cooc import doc_dense_hist, doc_rest_write
        uids, row_end = doc_rows(ids, doc_off)
        if uids.size == 0:
            return
        ends = np.cumsum(row_end - np.arange(uids.size, dtype=np.int64))   # pairs up to each row
        marks = np.arange(self.cap, int(ends[-1]), self.cap, dtype=np.int64)
        bounds = np.unique(np.concatenate([[0], np.searchsorted(ends, marks, side="left") + 1, [uids.size]]))
        for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            if hi <= lo:
                continue
            cuts = self._cuts(lo, hi)
            pairs = int(ends[hi - 1]) - (int(ends[lo - 1]) if lo else 0)   # exactly the rows' pairs
            h, m = self._walk1(lambda c, h: doc_dense_hist(uids, row_end, c, self.dense, self.k, h), cuts, pairs)
            self._add_piece(h, m, lambda c, rb, pos, keys, wts: doc_rest_write(
                uids, row_end, c, self.k, rb, pos, self.sh, keys), cuts)

    def _add_piece(self, h, m, walk2, cuts):
        if m:
            self.hist += h
            self.round_pairs += m
            self.pieces.append((walk2, cuts))

    def _reduce_round(self):
        """Walk 2 of the round's pieces, the buckets reduced into one more run."""
        from kernels.cpu import cooc as kc
        if not self.pieces:
            return
        row_bucket, first, start, pos, dense = kc.row_buckets(self.hist, self.k, self.n, kc.BUCKET_KEYS,
                                                              kc.DENSE_CELLS, kc.DENSE_RATIO)
        total = int(start[-1])
        keys = np.empty(total, np.uint32 if self.sh == 16 else np.uint64)
        wts = np.empty(0 if self.unit else total, np.int64)
        for walk2, cuts in self.pieces:
            walk2(cuts, row_bucket, pos, keys, wts)
        self.pieces = []
        self.hist[:] = 0
        self.round_pairs = 0
        self.runs.append(_reduce_buckets(keys, wts, self.unit, start, first, dense, self.k, self.n, self.sh,
                                         self.nt))
        # merge while the newest run is at least half the one before: each pair is merged
        # O(log rounds) times, not once a round
        while len(self.runs) > 1 and 2 * self.runs[-1][0].size >= self.runs[-2][0].size:
            self._merge_last()

    def _flush_dense(self):
        """Add the int32 blocks (unit weights) into the int64 total and zero them."""
        self.dense_total += self.dense.sum(axis=0, dtype=np.int64)
        self.dense[:] = 0
        self.unflushed = 0

    def _merge_last(self):
        (k1, v1), (k2, v2) = self.runs[-2], self.runs[-1]
        self.runs[-2:] = [merge_runs(k1, v1, k2, v2)]

    def arrays(self):
        """(dense block summed over the threads (``k * k``, row a <= column b), k, sorted keys of
        the other pairs, their values)."""
        self._reduce_round()
        while len(self.runs) > 1:
            self._merge_last()
        keys, vals = self.runs[0] if self.runs else (np.empty(0, np.uint64), np.empty(0, np.int64))
        if self.unit:
            self._flush_dense()
            return self.dense_total, self.k, keys, vals
        return self.dense.sum(axis=0), self.k, keys, vals


def _reduce_buckets(keys, wts, unit, start, first, dense, k, n, sh, nt):
    """The distinct pairs of the bucketed ``keys`` (sorted uint64 keys, int64 sums)."""
    from kernels.cpu import cooc as kc
    sizes = np.diff(start)
    total = int(start[-1])
    nb = sizes.size
    # buckets to threads: consecutive, about the same number of pairs each
    bcut = np.searchsorted(start[:-1], np.arange(nt + 1, dtype=np.int64) * total // nt, side="left")
    bcut[0], bcut[-1] = 0, nb
    vdt = np.int32 if unit else np.int64
    cnt = np.zeros((nt, kc.DENSE_CELLS if dense.any() else 0), vdt)
    sort_max = int(sizes[dense == 0].max(initial=0))
    c, c_o = np.empty((nt, sort_max), np.uint64), np.empty((nt, sort_max), np.uint64)
    w, w_o = (np.empty((nt, 0 if unit else sort_max), np.int64) for _ in range(2))
    vals = np.empty(total, np.int32) if unit else wts   # weighted: the sums replace the weights
    out_n = np.empty(nb, np.int64)
    kc.reduce_buckets(keys, wts, unit, start, first, dense, bcut, k, n, sh, cnt, c, c_o, w, w_o, vals, out_n)
    out_off = np.zeros(nb + 1, np.int64)
    np.cumsum(out_n, out=out_off[1:])
    ok, ov = np.empty(int(out_off[-1]), np.uint64), np.empty(int(out_off[-1]), np.int64)
    kc.compact_buckets(keys, vals, start, out_n, out_off, sh, ok, ov)
    return ok, ov


def merge_runs(k1, v1, k2, v2, tasks: int = 64):
    """Union of two key-sorted runs (distinct keys each), values of equal keys added.

    Parameters
    ----------
    k1, v1, k2, v2 : ndarray
        uint64 keys (sorted, distinct) and int64 values of each run.
    tasks : int, optional
        Segments merged in parallel (cut at the same keys in both runs).

    Returns
    -------
    keys, values : ndarray
        The union, sorted; exactly sized (counted first, then written).
    """
    from kernels.cpu.cooc import merge_parallel
    if k1.size == 0:
        return k2, v2
    if k2.size == 0:
        return k1, v1
    big = k1 if k1.size >= k2.size else k2
    splits = big[np.arange(1, tasks, dtype=np.int64) * big.size // tasks]
    c1 = np.concatenate([[0], np.searchsorted(k1, splits), [k1.size]]).astype(np.int64)
    c2 = np.concatenate([[0], np.searchsorted(k2, splits), [k2.size]]).astype(np.int64)
    off = np.zeros(c1.size, np.int64)
    empty_k, empty_v = np.empty(0, np.uint64), np.empty(0, np.int64)
    merge_parallel(k1, v1, k2, v2, c1, c2, off, empty_k, empty_v, False)
    np.cumsum(off, out=off)
    ok, ov = np.empty(int(off[-1]), np.uint64), np.empty(int(off[-1]), np.int64)
    merge_parallel(k1, v1, k2, v2, c1, c2, off, ok, ov, True)
    return ok, ov


def doc_rows(ids, doc_off):
    """The rows of the document mode: sorted distinct kept ids of each document (flat) and,
    for each, the end of its document's ids.

    Parameters
    ----------
    ids : ndarray of int32
        Term id of each token (-1: pruned).
    doc_off : ndarray of int64
        Token offsets of the documents (``n_docs + 1``).

    Returns
    -------
    uids : ndarray of int32
        Each document's distinct ids, sorted, one document after the other.
    row_end : ndarray of int64
        For each entry of ``uids``, the end of its document's entries.
    """
    from kernels.cpu.cooc import doc_unique
    n, nd = ids.size, doc_off.size - 1
    out = np.empty(n, np.int32)
    counts = np.empty(nd, np.int64)
    doc_unique(ids, doc_off, out, counts)
    lens = np.diff(doc_off)
    within = np.arange(n, dtype=np.int64) - np.repeat(doc_off[:-1], lens)
    uids = out[within < np.repeat(counts, lens)]
    uoff = np.zeros(nd + 1, np.int64)
    np.cumsum(counts, out=uoff[1:])
    return uids, np.repeat(uoff[1:], counts)
