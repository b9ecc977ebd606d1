"""The n-gram job's partial result: plain numpy arrays, built from the counters of one
partition and combined exactly across partitions.

A row is one distinct (n, key); its string is ``data[offsets[i]:offsets[i+1]]`` (UTF-8),
taken from its first occurrence.  ``first`` orders first occurrences in corpus order:
``(global document index << 32) | position of the n-gram in the document``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.ngrams.counting import KeyCounter
from engine.stats import JobStats

__all__ = ["NgramPartial", "FIRST_SHIFT", "first_ordinals", "from_counters", "combine"]

# bits of the position within a document in a first-occurrence ordinal (the CPU counting
# kernel, kernels.cpu.count, writes them with its own copy of the constant: same value)
FIRST_SHIFT = 32


def first_ordinals(items: np.ndarray, item_off: np.ndarray, doc_base: int) -> np.ndarray:
    """The first-occurrence ordinals of ``items`` (indices into a batch's n-grams, document
    d's at ``[item_off[d], item_off[d+1])``, d counted from ``doc_base``)."""
    doc = np.searchsorted(item_off, items, side="right") - 1
    return ((doc + doc_base).astype(np.int64) << FIRST_SHIFT) | (items - item_off[doc])


@dataclass
class NgramPartial:
    """Counts of one partition (or of several, combined), one row per distinct (n, key).

    Attributes
    ----------
    keys : uint64, the n-gram hashes.
    n : int8, the order of each row.
    counts, doc_freq : int64, occurrences and documents.
    first : int64, the first occurrence's ordinal (module docstring).
    data, offsets : uint8 UTF-8 bytes and int64 offsets (``rows + 1``) of the strings.
    stats : the partition's :class:`JobStats` (documents, tokens, bytes, seconds...).
    """
    keys: np.ndarray
    n: np.ndarray
    counts: np.ndarray
    doc_freq: np.ndarray
    first: np.ndarray
    data: np.ndarray
    offsets: np.ndarray
    stats: JobStats = field(default_factory=lambda: JobStats(job="ngrams"))

    def __len__(self) -> int:
        return int(self.keys.size)

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays (what shipping the partial costs)."""
        return sum(a.nbytes for a in (self.keys, self.n, self.counts, self.doc_freq, self.first,
                                      self.data, self.offsets))

    def string(self, i: int) -> str:
        return bytes(self.data[self.offsets[i]:self.offsets[i + 1]]).decode("utf-8")

    @classmethod
    def empty(cls, stats: JobStats | None = None) -> "NgramPartial":
        e = np.empty(0, np.int64)
        return cls(np.empty(0, np.uint64), np.empty(0, np.int8), e, e.copy(), e.copy(),
                   np.empty(0, np.uint8), np.zeros(1, np.int64), stats or JobStats(job="ngrams"))


def from_counters(counters: dict[int, KeyCounter], stats: JobStats) -> NgramPartial:
    """The partial of one partition's counters (``n -> KeyCounter``); each counter's
    table is released once read."""
    from kernels.cpu.count import gather_spans
    if all(c.n_spills == 0 for c in counters.values()):
        return _from_tables(counters, stats)
    pieces = []
    for n, counter in counters.items():
        if counter.n_spills == 0:   # the table's strings are already one contiguous run
            keys, counts, dfs, data, off, first = counter.contents()
            pieces.append(NgramPartial(keys, np.full(keys.size, n, np.int8), counts, dfs, first, data, off))
        else:
            for rows in counter.partitions():   # every key once, read back by spill partition
                data, off = gather_spans(rows.data, rows.starts, rows.ends - rows.starts)
                pieces.append(NgramPartial(rows.keys, np.full(rows.keys.size, n, np.int8), rows.counts,
                                           rows.dfs, rows.first, data, off))
        counter.release()
    if len(pieces) == 1:
        p = pieces[0]
        p.stats = stats
        return p
    return _concat(pieces, stats) if pieces else NgramPartial.empty(stats)


def _from_tables(counters: dict[int, KeyCounter], stats: JobStats) -> NgramPartial:
    """:func:`from_counters` when no counter spilled: each table written once, straight
    into the partial's arrays (no piece per order to concatenate), then released."""
    rows = sum(c.size for c in counters.values())
    nbytes = sum(c.string_bytes for c in counters.values())
    keys, n = np.empty(rows, np.uint64), np.empty(rows, np.int8)
    counts, dfs, first = np.empty(rows, np.int64), np.empty(rows, np.int64), np.empty(rows, np.int64)
    data, offsets = np.empty(nbytes, np.uint8), np.empty(rows + 1, np.int64)
    r = b = 0
    for order, counter in counters.items():
        s, u = counter.size, counter.string_bytes
        counter.contents_into(keys[r:r + s], counts[r:r + s], dfs[r:r + s], data[b:b + u], offsets[r:r + s],
                              first[r:r + s])
        offsets[r:r + s] += b
        n[r:r + s] = order
        counter.release()
        r, b = r + s, b + u
    offsets[rows] = nbytes
    return NgramPartial(keys, n, counts, dfs, first, data, offsets, stats)


def _concat(parts: list[NgramPartial], stats: JobStats) -> NgramPartial:
    """The rows of ``parts`` one after another (no merge)."""
    shift = np.cumsum([0] + [p.data.size for p in parts[:-1]])
    offsets = np.concatenate([np.zeros(1, np.int64)] + [p.offsets[1:] + s for p, s in zip(parts, shift)])
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts])   # noqa: E731
    return NgramPartial(cat("keys"), cat("n"), cat("counts"), cat("doc_freq"), cat("first"),
                        cat("data"), offsets, stats)


def combine(partials: list[NgramPartial]) -> NgramPartial:
    """The exact sum of ``partials`` (listed in corpus order): counts and doc_freq summed
    per (n, key); string and first occurrence from the earliest partial holding the key.

    The result depends only on the list order, not on how or when the partials were made.
    """
    from kernels.cpu.count import gather_spans
    partials = list(partials)
    stats = JobStats(job="ngrams")
    for p in partials:   # in list order: skip locations stay in corpus order
        stats.merge(p.stats)
    partials = [p for p in partials if len(p)]
    if not partials:
        return NgramPartial.empty(stats)
    if len(partials) == 1:
        p = partials[0]
        return NgramPartial(p.keys, p.n, p.counts, p.doc_freq, p.first, p.data, p.offsets, stats)
    rows = _concat(partials, stats)
    # lexsort is stable: within a run of one (n, key) the rows keep the list order, so the
    # run's first row is the earliest partial's
    order = np.lexsort((rows.keys, rows.n))
    sk, sn = rows.keys[order], rows.n[order]
    starts = np.flatnonzero(np.r_[True, (sk[1:] != sk[:-1]) | (sn[1:] != sn[:-1])])
    src = order[starts]
    data, off = gather_spans(rows.data, rows.offsets[src], rows.offsets[src + 1] - rows.offsets[src])
    return NgramPartial(sk[starts], sn[starts], np.add.reduceat(rows.counts[order], starts),
                        np.add.reduceat(rows.doc_freq[order], starts), rows.first[src], data, off, stats)
