"""Pass 1 of the co-occurrence job: term counts per partition, their exact combination, and
the vocabulary chosen from them.

``map_vocabulary(batches, backend, config) -> VocabPartial``
    Term keys (token hashes), occurrences, document frequencies, first documents and
    spellings of one partition, as numpy arrays.
``combine_vocabulary(partials) -> VocabPartial``
    Exact, in list (corpus) order: sums; a key keeps the spelling of its first partial.
``choose_vocabulary(partial, config) -> Vocabulary``
    ``min_count``, then the ``max_vocab`` most frequent (ties by term, code point order);
    term ids in that order.
"""
from __future__ import annotations

from contextlib import closing, nullcontext
from dataclasses import dataclass, field

import numpy as np

from engine.arrays import gather_ranges, offsets_from_counts, sorted_runs
from engine.backend import get_backend
from engine.cooc.backends import ops_for
from engine.cooc.config import CoocConfig
from engine.cooc.typetable import TokenCache, TypeTable
from engine.corpus.prefetch import read_ahead
from engine.stats import JobStats

__all__ = ["VocabPartial", "Vocabulary", "VocabConsumer", "map_vocabulary", "combine_vocabulary", "choose_vocabulary"]


@dataclass
class VocabPartial:
    """Term counts of one partition (or of several, combined); index ``i`` is a term.

    keys : uint64, the term's token hash (distinct).
    counts : int64 occurrences.  doc_freq : int64 documents containing the term.
    first_doc : int64, index of the first document containing the term (in the partition:
        combined partials count the documents of the partials before).
        ``doc_freq`` and ``first_doc`` are None when the pass did not count them
        (``doc_stats=False``: :func:`engine.cooc.run` chooses the vocabulary by counts only).
    strings, offsets : the spellings, flat UTF-8 (uint8) and int64 offsets (``n + 1``).
    stats : what was read and counted (:class:`engine.stats.JobStats`).
    """
    keys: np.ndarray
    counts: np.ndarray
    doc_freq: np.ndarray | None
    first_doc: np.ndarray | None
    strings: np.ndarray
    offsets: np.ndarray
    stats: JobStats = field(default_factory=lambda: JobStats(job="cooc"))

    def __len__(self) -> int:
        return int(self.keys.size)

    def terms(self, idx) -> list[str]:
        """Spellings of the terms ``idx``."""
        pool = self.strings.tobytes()
        s, e = self.offsets[idx].tolist(), self.offsets[np.asarray(idx, np.int64) + 1].tolist()
        return [pool[a:b].decode("utf-8") for a, b in zip(s, e)]


@dataclass
class Vocabulary:
    """The chosen terms, by id (frequency descending, ties by term).

    terms : the spellings.  keys : uint64 token hash of each id.  counts : int64 occurrences.
    rank : int64 rank of each id among the terms in code point order.
    stats : the pass-1 statistics (documents, tokens, bytes, seconds ``vocabulary``).
    """
    terms: list[str]
    keys: np.ndarray
    counts: np.ndarray
    rank: np.ndarray
    stats: JobStats = field(default_factory=lambda: JobStats(job="cooc"))
    _sorted: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.terms)

    def ids(self, keys: np.ndarray) -> np.ndarray:
        """Term ids of token hashes.

        Parameters
        ----------
        keys : ndarray of uint64
            Token hashes (term keys).

        Returns
        -------
        ndarray of int32
            The id of each key, -1 when it is not in the vocabulary.
        """
        from kernels.cpu.cooc import lookup_ids
        if not self.terms:
            return np.full(np.asarray(keys).size, -1, np.int32)
        if self._sorted is None:
            o = np.argsort(self.keys, kind="stable")
            self._sorted = (np.ascontiguousarray(self.keys[o]), o.astype(np.int32))
        keys = np.ascontiguousarray(keys, np.uint64)
        if keys.size == 0:
            return np.empty(0, np.int32)
        return lookup_ids(self._sorted[0], self._sorted[1], keys)


def _grown(a: np.ndarray, n: int, fill) -> np.ndarray:
    if a.size >= n:
        return a
    b = np.full(max(n, 2 * a.size), fill, a.dtype)
    b[:a.size] = a
    return b


class VocabConsumer:
    """Pass 1 over one partition, fed batch by batch in corpus order: :meth:`add` (tokenises
    the batch, on the CPU with the fused ``text_types`` kernel) or :meth:`add_tokens` (an
    already tokenised batch: ``corpus analyze`` tokenises once for every analytic), then
    :meth:`partial` (what :func:`map_vocabulary` returns).  ``tokens``, ``doc_stats``: as for
    :func:`map_vocabulary`."""

    def __init__(self, backend, config: CoocConfig, tokens: TokenCache | None = None,
                 stats: JobStats | None = None, doc_stats: bool = True):
        self.be = get_backend(backend)
        self.ops = ops_for(self.be)
        self.config = config
        self.tokens = tokens
        self.doc_stats = doc_stats
        self.stats = stats if stats is not None else JobStats(job="cooc", backend=self.be.describe())
        self.types = TypeTable()
        self.doc_freq = np.zeros(0, np.int64)
        self.first_doc = np.zeros(0, np.int64)
        self.last = np.zeros(0, np.int64)

    def add(self, batch) -> None:
        """Count the terms of one batch (tokenised here, with the config's text options)."""
        with self.stats.stage("vocabulary"), self.be.count_into(self.stats):
            segments, n_tokens = self.ops.count_types(self.be, self.types, batch, self.config.text)
            self._count(batch, segments, n_tokens)

    def add_tokens(self, batch, toks) -> None:
        """Count the terms of one batch from its tokens ``toks`` (``tokenize(batch, backend,
        config.text)``): the same counts, spellings and document frequencies as :meth:`add`."""
        with self.stats.stage("vocabulary"), self.be.count_into(self.stats):
            if self.be.pick(cpu=True, gpu=False):
                tt = np.empty(toks.n_tokens, np.int32)
                self.types.add(toks.tok_hash, np.empty(0, np.int64), toks.tok_start, toks.tok_len, toks.norm, tt)
                off = np.ascontiguousarray(toks.doc_tok_offsets, np.int64)
                segments = [(tt, off, tt.nbytes + off.nbytes, np.arange(batch.n_docs, dtype=np.int64))]
            else:
                segments, _ = self.ops.count_tokens(self.be, self.types, toks)
            self._count(batch, segments, toks.n_tokens)

    def _count(self, batch, segments, n_tokens: int) -> None:
        from kernels.cpu.cooc import type_doc_freq
        stats = self.stats
        if self.doc_stats:
            n = self.types.numbers
            self.doc_freq, self.first_doc = _grown(self.doc_freq, n, 0), _grown(self.first_doc, n, -1)
            self.last = _grown(self.last, n, -1)
        for tt, off, footprint, docs in segments:
            if tt.size and self.doc_stats:   # a serial walk of every token: only when asked
                type_doc_freq(tt, off, docs + stats.documents, self.last, self.doc_freq, self.first_doc)
            if self.tokens is not None:
                self.tokens.add(tt, off, footprint)
        stats.documents += batch.n_docs
        stats.bytes += batch.n_bytes
        stats.tokens += n_tokens

    def partial(self) -> VocabPartial:
        """The partition's :class:`VocabPartial` (call once, after the last batch); sets
        ``tokens.keys``."""
        types, stats = self.types, self.stats
        with stats.stage("vocabulary"):
            n = types.numbers
            strings, offsets = type_strings(types)
            df, fd = (self.doc_freq[:n].copy(), self.first_doc[:n].copy()) if self.doc_stats else (None, None)
            part = VocabPartial(types.hashes(), types.counts().copy(), df, fd, strings, offsets, stats)
        if self.tokens is not None:
            self.tokens.keys = part.keys
        return part


def type_strings(types) -> tuple[np.ndarray, np.ndarray]:
    """The spellings of a type table's types, in type order: (bytes, offsets).  The pool
    usually holds them in that order already (one copy); otherwise they are gathered."""
    n = types.numbers
    pos, ln = types.pos[0, :n], types.len[0, :n].astype(np.int64)
    offsets = offsets_from_counts(ln)
    pool = types.pool[0]
    if n and np.array_equal(pos, offsets[:-1]):
        return pool[:offsets[-1]].copy(), offsets
    strings, _ = gather_ranges(pool, pos, ln)
    return strings, offsets


def map_vocabulary(batches, backend, config: CoocConfig, tokens: TokenCache | None = None,
                   doc_stats: bool = True) -> VocabPartial:
    """Pass 1 over one partition: its term counts.

    Parameters
    ----------
    batches : iterable of Batch
        The partition (its document indices count from its first document).
    backend : str or Backend
        Where to tokenise.
    config : CoocConfig
        The text options are used here.
    tokens : TokenCache, optional
        Receives every token's type number (index into the partial) and the documents'
        token offsets, so that :func:`engine.cooc.map_partition` counts pairs without
        reading the batches again (its ``keys`` are set to the partial's).
    doc_stats : bool, optional
        Count each term's document frequency and first document (default).  False leaves
        them None and skips a serial walk of every token (``choose_vocabulary`` does not
        read them; :func:`engine.cooc.run` passes False).

    Returns
    -------
    VocabPartial
        Numpy arrays only; stats with documents, tokens, bytes and seconds ``vocabulary``.
    """
    consumer = VocabConsumer(backend, config, tokens, doc_stats=doc_stats)
    # on the CPU the next batch is read on a thread while this one is tokenised (the fused
    # kernel releases the GIL)
    it = read_ahead(batches) if consumer.be.pick(cpu=True, gpu=False) else iter(batches)
    with closing(it) if hasattr(it, "close") else nullcontext():
        while True:
            # on a GPU the read copies the batch ahead (engine.gpu.transfer): counted as the job's
            with consumer.be.count_into(consumer.stats):
                batch = next(it, None)
            if batch is None:
                break
            consumer.add(batch)
            del batch   # the text is not needed any more: memory for the pair pass
    return consumer.partial()


def _take_strings(strings: np.ndarray, offsets: np.ndarray, idx: np.ndarray):
    """The spellings ``idx`` of a flat (strings, offsets) pair, as a new flat pair."""
    return gather_ranges(strings, offsets[idx], offsets[idx + 1] - offsets[idx])


def combine_vocabulary(partials) -> VocabPartial:
    """The partials of consecutive partitions as one (exact; depends only on the list order).

    Parameters
    ----------
    partials : iterable of VocabPartial
        In corpus order.

    Returns
    -------
    VocabPartial
        Counts and document frequencies summed; first documents shifted by the documents
        of the partials before; a key keeps the spelling of the first partial that has it;
        keys in order of first appearance (partial, then its own order).  No partials:
        an empty partial.  Document frequencies and first documents are None when a
        partial lacks them.
    """
    partials = list(partials)
    if not partials:
        return VocabPartial(np.empty(0, np.uint64), *(np.empty(0, np.int64) for _ in range(3)),
                            np.empty(0, np.uint8), np.zeros(1, np.int64))
    stats = JobStats(job="cooc")
    doc_stats = all(p.doc_freq is not None and p.first_doc is not None for p in partials)
    shifted = []
    for p in partials:
        if doc_stats:
            shifted.append(np.where(p.first_doc >= 0, p.first_doc + stats.documents, -1))
        stats.merge(p.stats)
    if len(partials) == 1:
        p = partials[0]
        # (the first partial's documents are not shifted)
        return VocabPartial(p.keys, p.counts, p.doc_freq if doc_stats else None,
                            p.first_doc if doc_stats else None, p.strings, p.offsets, stats)
    keys = np.concatenate([p.keys for p in partials])
    o, start = sorted_runs(keys)   # stable: equal keys in list order
    ks = keys[o]
    counts = np.add.reduceat(np.concatenate([p.counts for p in partials])[o], start) if ks.size else \
        np.empty(0, np.int64)
    df = fd = None
    if doc_stats:
        df, fd = _doc_stats_combined(partials, shifted, o, start)
    earliest = o[start]                 # position of each key's first occurrence in the list
    order = np.argsort(earliest, kind="stable")
    strings = np.concatenate([p.strings for p in partials])
    bytes_base = offsets_from_counts([p.strings.size for p in partials])
    offsets = np.concatenate([p.offsets[:-1] + b for p, b in zip(partials, bytes_base[:-1])] +
                             [np.array([bytes_base[-1]], np.int64)])
    s, off = _take_strings(strings, offsets, earliest[order])
    return VocabPartial(ks[start][order], counts[order], None if df is None else df[order],
                        None if fd is None else fd[order], s, off, stats)


def _doc_stats_combined(partials, shifted, o, start):
    """Document frequencies (summed) and first documents (the smallest, -1 for none) of the
    keys of :func:`combine_vocabulary` (``o``, ``start``: its sorted runs of equal keys)."""
    if not start.size:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    df = np.add.reduceat(np.concatenate([p.doc_freq for p in partials])[o], start)
    fd = np.concatenate(shifted)[o]
    fd = np.minimum.reduceat(np.where(fd < 0, np.iinfo(np.int64).max, fd), start)
    fd[fd == np.iinfo(np.int64).max] = -1
    return df, fd


def choose_vocabulary(partial: VocabPartial, config: CoocConfig) -> Vocabulary:
    """The terms kept, and their ids.

    Parameters
    ----------
    partial : VocabPartial
        The term counts of the whole corpus (:func:`combine_vocabulary`).
    config : CoocConfig
        ``min_count`` and ``max_vocab``.

    Returns
    -------
    Vocabulary
        Terms with occurrences >= ``min_count``, then the ``max_vocab`` most frequent
        (ties by term, code point order = UTF-8 byte order); ids in frequency order, ties
        by term.
    """
    stats = JobStats(job="cooc").merge(partial.stats)
    with stats.stage("vocabulary"):
        cnt_all = partial.counts
        kept = np.flatnonzero(cnt_all >= config.min_count)
        counts = cnt_all[kept]
        if kept.size > config.max_vocab:
            cut = np.partition(counts, kept.size - config.max_vocab)[kept.size - config.max_vocab]
            above = kept[counts > cut]
            tied = kept[counts == cut]
            k = config.max_vocab - above.size
            tied_terms = sorted(zip(partial.terms(tied), tied.tolist()))[:k]
            kept = np.concatenate([above, np.array([s for _, s in tied_terms], np.int64)])
        terms = partial.terms(kept)
        by_term = sorted(range(len(terms)), key=terms.__getitem__)
        rank = np.empty(len(terms), np.int64)
        rank[np.array(by_term, np.int64)] = np.arange(len(terms))
        order = np.lexsort((rank, -cnt_all[kept]))
        terms = [terms[i] for i in order.tolist()]
        chosen = kept[order]
        voc = Vocabulary(terms, partial.keys[chosen].copy(), cnt_all[chosen].copy(), rank[order], stats)
    stats.counters["vocabulary"] = len(terms)
    return voc
