"""The n-gram job in the three steps of :mod:`engine.job`: ``map_partition`` (count one
partition), ``combine`` (exact, in partition order), ``finish`` (``min_count``, top-k per n,
output order), and :func:`run`, the three in this process.

Data flow per batch: tokenize (backend) -> n-gram hashes (backend kernel) -> counted by key
(:mod:`engine.ngrams.counting`).  On the CPU every occurrence goes into the host table (word
n-grams hashed by the counting kernel itself: their stage ``hash`` is inside ``count`` and
reads 0); on a GPU the batch is reduced on the device first and only its distinct keys come
back.  :func:`run` on a GPU is device-resident throughout (:mod:`engine.gpu.ngrams`): only the
output rows come back.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from engine.backend import get_backend
from engine.corpus import Batch
from engine.job import as_batches, run_steps
from engine.ngrams.config import NgramConfig
from engine.ngrams.counting import EntryBuffers, KeyCounter, SpillFolders, doc_of_items, reduce_on_device
from engine.ngrams.partial import NgramPartial, combine, first_ordinals, from_counters
from engine.ngrams.result import NgramResult, ngram_table
from engine.stats import JobStats
from engine.text import tokenize

__all__ = ["NgramConsumer", "map_partition", "combine", "finish", "run", "count_batches", "count_ngrams", "NgramStats"]

BYTES_PER_ENTRY = 128     # a key's share of table, string store and strings, with room to spare


def _timed_batches(batches: Iterable[Batch], stats: JobStats) -> Iterator[Batch]:
    """``batches``, the time spent making each (reading, decoding) added to stage ``read``."""
    it = iter(batches)
    while True:
        with stats.stage("read"):
            batch = next(it, None)
        if batch is None:
            return
        yield batch


class _Buffers:
    """One reusable buffer per name: n-gram arrays are consumed before the next order or
    batch (fresh memory costs a page fault per 4 KB page, ~1 ms per MB on a VM)."""

    def __init__(self, xp):
        self.xp, self.arrays = xp, {}

    def __call__(self, name, size, dtype):
        b = self.arrays.get(name)
        if b is None or b.size < size:
            b = self.arrays[name] = self.xp.empty(max(size, int(1.25 * (b.size if b is not None else 0))), dtype)
        return b[:size]


def _count_order(n, batch, toks, backend, cfg, counter, buf, stats) -> None:
    """Hash the order-``n`` n-grams of one tokenised batch and count them in ``counter``."""
    xp = backend.xp
    if backend.pick(cpu=True, gpu=False) and not cfg.char:   # hashed as they are counted: no array of keys
        stats.seconds.setdefault("hash", 0.0)   # the stage is inside count here (one shape of stats)
        with stats.stage("count"):
            m = counter.add_word_ngrams(toks.tok_hash, toks.doc_tok_offsets, n, batch.doc_base, toks.norm,
                                        toks.tok_start, toks.tok_len)
        key = f"occurrences_n{n}"
        stats.counters[key] = stats.counters.get(key, 0) + m
        return
    with stats.stage("hash"):
        if cfg.char:
            nch = backend.codepoint_counts(toks.norm, toks.norm_offsets)
            cnt = xp.maximum(nch - n + 1, 0)
        else:
            cnt = xp.maximum(xp.diff(toks.doc_tok_offsets) - n + 1, 0)
        off = xp.zeros(batch.n_docs + 1, dtype=np.int64)
        xp.cumsum(cnt, out=off[1:])
        m = int(backend.scalar(off[-1]))   # counted: a device size read on the GPU
        keys = buf("keys", m, np.uint64)
        if cfg.char:
            start, length = buf("start", m, np.int64), buf("length", m, np.int32)
            backend.char_ngrams(toks.norm, toks.norm_offsets, n, off, keys, start, length)
        else:
            first_tok = buf("first", m, np.int64)
            backend.word_ngrams(toks.tok_hash, toks.doc_tok_offsets, n, off, keys, first_tok)
    key = f"occurrences_n{n}"
    stats.counters[key] = stats.counters.get(key, 0) + m

    with stats.stage("count"):
        spans = (start, length) if cfg.char else (first_tok,)
        if backend.pick(cpu=True, gpu=False):   # char n-grams: every occurrence into the host table, strings too
            counter.add_ngram_occurrences(keys, off, batch.doc_base, toks.norm, start, length)
            return
        _count_on_device(n, batch, toks, backend, cfg, counter, keys, cnt, off, m, spans, stats)


def _count_on_device(n, batch, toks, backend, cfg, counter, keys, cnt, off, m, spans, stats) -> None:
    """GPU: reduce the batch on the device; only its distinct keys (and their first
    occurrences) come back, and the strings of the keys new to ``counter``, gathered on the
    device (neither the normalised text nor the token arrays cross to the host)."""
    from engine.gpu.arrays import gather_spans, gather_word_ngrams
    xp = backend.xp
    doc_ids = xp.arange(batch.n_docs, dtype=np.int64) + batch.doc_base
    uk, c, d, first = reduce_on_device(xp, keys, doc_of_items(xp, doc_ids, cnt, off, m))
    spans = tuple(a[first] for a in spans)    # each distinct key's first occurrence, on the device
    uk, c, d, first, off = (backend.to_host(a) for a in (uk, c, d, first, off))

    def gather(refs):
        with stats.stage("strings"):
            sel = tuple(a[backend.to_device(refs)] for a in spans)
            if cfg.char:
                data, offsets = gather_spans(backend, toks.norm, *sel)
            else:
                data, offsets = gather_word_ngrams(backend, toks.norm, toks.tok_start, toks.tok_len, sel[0], n)
            return backend.to_host(data), backend.to_host(offsets), first_ordinals(first[refs], off, batch.doc_base)
    counter.add_aggregated(uk, c, d, gather)


class NgramConsumer:
    """The running counts of one partition, fed tokenised batches in corpus order:
    ``add(batch, toks)`` per batch, then :meth:`partial` (what :func:`map_partition` returns)
    and :meth:`close` (spill files).  ``toks`` must be ``tokenize(batch, backend, config.text)``
    (``corpus analyze`` tokenises once and feeds several consumers)."""

    def __init__(self, backend, config: NgramConfig | None = None, stats: JobStats | None = None):
        self.cfg = config if config is not None else NgramConfig()
        self.backend = get_backend(backend)
        self.stats = stats if stats is not None else JobStats(job="ngrams", backend=self.backend.describe())
        self.spill = SpillFolders()
        self.budget = self.cfg.memory // BYTES_PER_ENTRY
        # one budget for all orders: the counters never spill alone, all of them do together
        scratch = EntryBuffers()   # one chunk's entry arrays, shared by the orders
        self.counters = {n: KeyCounter(self.budget, self.spill, self_spill=False, scratch=scratch)
                         for n in self.cfg.orders}
        self.buf = _Buffers(self.backend.xp)
        self.copied = self.backend.copied()

    def add(self, batch: Batch, toks) -> None:
        """Count the n-grams of one batch (``toks``: its tokens, with the config's text options)."""
        stats, counters = self.stats, self.counters
        stats.documents += batch.n_docs
        stats.tokens += toks.n_tokens
        stats.bytes += batch.n_bytes
        stats.counters["slow_docs"] = stats.counters.get("slow_docs", 0) + toks.slow_docs
        for n in self.cfg.orders:
            _count_order(n, batch, toks, self.backend, self.cfg, counters[n], self.buf, stats)
        if sum(c.size for c in counters.values()) > self.budget:
            with stats.stage("count"):
                for c in counters.values():
                    c.spill()

    def partial(self) -> NgramPartial:
        """The partition's :class:`NgramPartial` (call once, after the last batch)."""
        stats = self.stats
        # the string gathers ran inside the counting: count their time once, under strings
        stats.seconds["count"] = stats.seconds.get("count", 0.0) - stats.seconds.get("strings", 0.0)
        stats.counters["spills"] = sum(c.n_spills for c in self.counters.values())
        self.backend.charge(stats, since=self.copied)
        self.buf.arrays.clear()   # the n-gram buffers, before the partial's arrays are made
        with stats.stage("count"):
            return from_counters(self.counters, stats)

    def close(self) -> None:
        """Remove the spill files (idempotent)."""
        for c in self.counters.values():
            c.close()
        self.spill.close()


def map_partition(batches: Iterable[Batch], backend="auto", config: NgramConfig | None = None) -> NgramPartial:
    """Count the n-grams of one partition (``batches``, in corpus order) on ``backend``.

    Returns
    -------
    NgramPartial
        Every distinct (n, key) with count, doc_freq, first occurrence and string; nothing
        filtered (``min_count`` and ``top`` apply after :func:`combine`).
    """
    consumer = NgramConsumer(backend, config)
    stats = consumer.stats
    try:
        for batch in _timed_batches(batches, stats):
            with stats.stage("tokenize"):
                toks = tokenize(batch, consumer.backend, consumer.cfg.text)
            consumer.add(batch, toks)
            # the batch's text and tokens go before the next is read, not after it
            batch = toks = None
        return consumer.partial()
    finally:
        consumer.close()


def _selected(partial: NgramPartial, cfg: NgramConfig) -> np.ndarray | None:
    """Indices of the rows that reach the output (None: every row), per n: ``count >=
    min_count``, then the ``top`` first in output order."""
    from kernels.cpu.ngram_order import order_rows
    from kernels.cpu.sort import kth_largest
    if cfg.top is None and cfg.min_count <= 1:
        return None
    picked = []
    for n in np.unique(partial.n).tolist():
        idx = np.flatnonzero((partial.n == n) & (partial.counts >= cfg.min_count))
        if cfg.top is not None and idx.size > cfg.top:
            # the k-th largest count bounds the top rows; the ties at it are ordered by string
            idx = idx[partial.counts[idx] >= kth_largest(partial.counts[idx], cfg.top)]
            if idx.size > cfg.top:
                starts, ends = partial.offsets[idx], partial.offsets[idx + 1]
                idx = idx[order_rows(partial.counts[idx], partial.data, starts, ends)[:cfg.top]]
        picked.append(idx)
    return np.concatenate(picked) if picked else np.empty(0, np.int64)


def finish(partial: NgramPartial, config: NgramConfig | None = None) -> NgramResult:
    """The output of the combined ``partial``: rows with ``count >= min_count``, the ``top``
    per n, ordered by count descending then ngram (UTF-8 bytes = code points)."""
    from kernels.cpu.ngram_order import order_rows
    from kernels.cpu.ngram_rows import gather_rows
    cfg = config if config is not None else NgramConfig()
    stats = partial.stats
    for n in cfg.orders:
        stats.counters[f"distinct_n{n}"] = int(np.count_nonzero(partial.n == n))
    with stats.stage("order"):
        sel = _selected(partial, cfg)
        if sel is None:
            rows = order_rows(partial.counts, partial.data, partial.offsets[:-1], partial.offsets[1:])
        else:
            order = order_rows(partial.counts[sel], partial.data, partial.offsets[sel], partial.offsets[sel + 1])
            rows = sel[order]
    with stats.stage("strings"):
        table = ngram_table(*gather_rows(rows, partial.data, partial.offsets, partial.n, partial.counts,
                                         partial.doc_freq))
    stats.counters["rows"] = table.num_rows
    return NgramResult(table, stats)


def run(corpus, backend="auto", config: NgramConfig | None = None, *, scheduler=None) -> NgramResult:
    """Count the n-grams of ``corpus`` (paths, a CorpusReader, a Batch or batches) in this
    process: ``finish(combine([map_partition(...)]))``, with the reader's skips in the stats.

    ``scheduler``: None (this process), or a cluster (``local``, ``local:N``,
    ``tcp://HOST:PORT``, a scheduler file, a ``distributed.Client`` or an
    :class:`engine.dist.Scheduler`): the same result, computed there (:mod:`engine.dist`)."""
    cfg = config if config is not None else NgramConfig()
    if scheduler is not None:
        from engine.dist import run_distributed
        return run_distributed("ngrams", corpus, backend, cfg, scheduler)
    backend = get_backend(backend)
    batches, reader = as_batches(corpus, backend)
    if backend.pick(cpu=False, gpu=True):   # one process on a GPU: device-resident throughout
        from engine.gpu.ngrams import run_on_device
        result = run_on_device(batches, backend, cfg)
        if reader is not None:
            result.stats.add_read(reader.stats)
        return result
    return run_steps(sys.modules[__name__], batches, backend, cfg, reader)


# ---------------------------------------------------------------------------- older API
@dataclass
class NgramStats:
    """Figures of a :func:`count_batches` run (the older API; :attr:`NgramResult.stats` has them all)."""
    documents: int = 0
    tokens: int = 0
    occurrences: dict = field(default_factory=dict)
    distinct: dict = field(default_factory=dict)
    spills: int = 0
    slow_docs: int = 0

    def take(self, js: JobStats, orders) -> None:
        self.documents += js.documents
        self.tokens += js.tokens
        self.spills += js.counters.get("spills", 0)
        self.slow_docs += js.counters.get("slow_docs", 0)
        for n in orders:
            self.occurrences[n] = self.occurrences.get(n, 0) + js.counters.get(f"occurrences_n{n}", 0)
            self.distinct[n] = js.counters.get(f"distinct_n{n}")


def count_batches(batches, backend, cfg: NgramConfig, stats: NgramStats | None = None):
    """The table of :func:`run` (``batches``: a CorpusReader or Batch objects); fills ``stats``."""
    result = run(batches, backend, cfg)
    if stats is not None:
        stats.take(result.stats, cfg.orders)
    return result.table()


def count_ngrams(paths, n=(1, 1), char: bool = False, top: int | None = None, min_count: int = 1,
                 text=None, device: str = "auto", memory=None,
                 stats: NgramStats | None = None, **reader_kwargs):
    """Count word (or ``char``) n-grams of the corpus at ``paths`` (the older API: :func:`run`
    with an :class:`NgramConfig` returns the stats too).

    Parameters
    ----------
    paths : file/folder paths (see engine.corpus.CorpusReader), or an iterable of Batch.
    n : an int or (low, high) or "low-high".
    top : keep the ``top`` most frequent per n.
    min_count : drop n-grams seen fewer times.
    text : normalisation and filters (stop words, accents, minimum token length).
    device : "auto", "cpu" or "gpu".
    memory : bound on the counting tables ("4GB"); past it, partial counts spill to disk.
    reader_kwargs : CorpusReader options (text_field, encoding...) when reading paths.

    Returns
    -------
    pyarrow.Table with columns ngram, n, count, doc_freq, ordered by count
    descending then ngram ascending (``.to_pandas()`` for a DataFrame).
    """
    from engine.text import TextOptions
    cfg = NgramConfig(n=n, char=char, top=top, min_count=min_count, memory=memory,
                      text=TextOptions() if text is None else text)
    batches, reader = as_batches(paths, **reader_kwargs)
    return count_batches(reader if reader is not None else batches, device, cfg, stats)
