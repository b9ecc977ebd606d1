"""Pass 2 of the co-occurrence job: pair counts per partition and their exact combination.

``map_partition(batches, backend, config, vocabulary) -> PairPartial``
    The pairs of kept terms of one partition, as numpy arrays.  ``batches`` may be the
    :class:`TokenCache` that :func:`map_vocabulary` filled for the same partition: the
    batches are then not read (nor tokenised) again.
``combine(partials) -> PairPartial``
    Exact: every value is an integer (harmonic weights are ``lcm(1..W) // d``), summed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.backend import get_backend
from engine.cooc.backends import merge_sorted_runs, ops_for
from engine.cooc.config import CoocConfig
from engine.cooc.typetable import TokenCache
from engine.cooc.vocabulary import Vocabulary, map_vocabulary
from engine.stats import JobStats

__all__ = ["PairPartial", "map_partition", "combine"]


@dataclass
class PairPartial:
    """Pair counts of one partition (or of several, combined), in integer weight units
    (the weight is ``value / divisor``).

    dense : int64 ``k * k``, the block of pairs of the ``k`` most frequent terms: cell
        ``a * k + b`` holds pair (a, b), ``a <= b`` (``k = 0``: no block).
    keys : uint64 sorted, distinct: ``(a << 32) | b``, ``a <= b``, the other pairs.
    values : int64 value of each key.
    divisor : 1, or ``lcm(1..W)`` with harmonic weights.
    stats : seconds ``pairs`` (the documents are counted by pass 1).
    """
    dense: np.ndarray
    k: int
    keys: np.ndarray
    values: np.ndarray
    divisor: int = 1
    stats: JobStats = field(default_factory=lambda: JobStats(job="cooc"))

    def sparse(self) -> "PairPartial":
        """The same pairs with no dense block.

        Returns
        -------
        PairPartial
            Every pair a key (``k = 0``); ``self`` when there is no block.
        """
        if self.k == 0:
            return self
        cells = np.flatnonzero(self.dense)
        dk = ((cells // self.k).astype(np.uint64) << np.uint64(32)) | (cells % self.k).astype(np.uint64)
        keys, vals = _merge_sorted(dk, self.dense[cells], self.keys, self.values)
        return PairPartial(np.zeros(0, np.int64), 0, keys, vals, self.divisor, self.stats)

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pairs as columns.

        Returns
        -------
        a, b : ndarray of int32
            Term ids, ``a <= b``, sorted by (a, b).
        value : ndarray of int64
            The pair's count in weight units.
        """
        from kernels.cpu.cooc import assemble, dense_row_counts
        k = self.k
        dense = self.dense.reshape(1, -1)
        drows = np.zeros(k + 1, np.int64)
        dense_row_counts(dense, k, drows)
        np.cumsum(drows, out=drows)
        rrows = np.searchsorted(self.keys, np.arange(k + 1, dtype=np.uint64) << np.uint64(32)).astype(np.int64)
        n = int(drows[-1]) + self.keys.size
        a, b, v = np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.int64)
        assemble(dense, k, drows, self.keys, self.values, rrows, a, b, v)
        return a, b, v


def _merge_sorted(k1, v1, k2, v2):
    return merge_sorted_runs(np.ascontiguousarray(k1, np.uint64), np.ascontiguousarray(v1, np.int64),
                 np.ascontiguousarray(k2, np.uint64), np.ascontiguousarray(v2, np.int64))


def map_partition(batches, backend, config: CoocConfig, vocabulary: Vocabulary) -> PairPartial:
    """Pass 2 over one partition: the pairs of the terms of ``vocabulary``.

    Parameters
    ----------
    batches : iterable of Batch or TokenCache
        The partition's batches (tokenised again here), or the :class:`TokenCache` filled
        by ``map_vocabulary(..., tokens=cache)`` for the same partition (emptied as it goes).
    backend : str or Backend
        Where to count.
    config : CoocConfig
        Window (or document mode) and weighting.
    vocabulary : Vocabulary
        The chosen terms (the same for every partition).

    Returns
    -------
    PairPartial
        Integer pair counts (numpy arrays); stats with seconds ``pairs``.
    """
    be = get_backend(backend)
    ops = ops_for(be)
    stats = JobStats(job="cooc", backend=be.describe())
    wtab, divisor = config.weights() if not config.doc_mode else (None, 1)
    with stats.stage("pairs"), be.count_into(stats):
        cache = batches if isinstance(batches, TokenCache) else None
        if cache is None:
            cache = TokenCache(config.cache_bytes)
            map_vocabulary(batches, be, config, tokens=cache)
        try:
            keys = cache.keys if cache.keys is not None else np.empty(0, np.uint64)
            type_to_id = vocabulary.ids(keys)
            pairs = ops.pairs(be, len(vocabulary), divisor == 1)
            for tt, off in cache:
                if tt.size == 0 or not len(vocabulary):
                    continue
                ids = ops.ids(be, type_to_id, tt)
                off = ops.asarray(be, off)
                if config.doc_mode:
                    pairs.add_doc(ids, off)
                else:
                    pairs.add_window(ids, off, config.window, wtab)
                del tt, off, ids
            dense, k, pkeys, pvals = pairs.arrays()
        finally:
            cache.close()
    return PairPartial(dense, k, pkeys, pvals, divisor, stats)


def combine(partials) -> PairPartial:
    """The pair counts of consecutive partitions as one (integer sums: exact).

    Parameters
    ----------
    partials : iterable of PairPartial
        In corpus order, all with the same weighting.  Partials with different dense
        blocks (a GPU partition has none) are combined in the sparse form.

    Returns
    -------
    PairPartial
        The sums; an empty partial when there are none.

    Raises
    ------
    ValueError
        The partials were counted with different weightings.
    """
    partials = list(partials)
    if not partials:
        return PairPartial(np.zeros(0, np.int64), 0, np.empty(0, np.uint64), np.empty(0, np.int64))
    divisors = {p.divisor for p in partials}
    if len(divisors) != 1:
        raise ValueError(f"partials of different weightings (divisors {sorted(divisors)})")
    stats = JobStats(job="cooc")
    for p in partials:
        stats.merge(p.stats)
    if len({p.k for p in partials}) != 1:
        partials = [p.sparse() for p in partials]
    first = partials[0]
    dense = first.dense.copy()
    keys, vals = first.keys, first.values
    for p in partials[1:]:
        dense += p.dense
        keys, vals = _merge_sorted(keys, vals, p.keys, p.values)
    return PairPartial(dense, first.k, keys, vals, first.divisor, stats)
