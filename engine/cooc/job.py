"""The co-occurrence job's contract (``engine.job``): two map/combine steps, one finish.

Pass 1: :func:`map_vocabulary` per partition, :func:`combine_vocabulary`, then
:func:`choose_vocabulary` (on the client).  Pass 2: :func:`map_partition` per partition
with the vocabulary, :func:`combine`, then :func:`finish` (measures computed here).
:func:`run` chains them in one process.
"""
from __future__ import annotations

import numpy as np

from engine.backend import get_backend
from engine.cooc.config import CoocConfig
from engine.cooc.pairs import PairPartial, combine, map_partition
from engine.cooc.result import CoocResult
from engine.cooc.typetable import TokenCache
from engine.cooc.vocabulary import Vocabulary, choose_vocabulary, combine_vocabulary, map_vocabulary
from engine.job import as_batches
from engine.stats import JobStats
from engine.text import TextOptions

__all__ = ["finish", "run", "cooccurrence"]


def finish(partial: PairPartial, config: CoocConfig, vocabulary: Vocabulary, *,
           rank_pairs: bool = True) -> CoocResult:
    """The contract's last step: the result of the combined pair counts.

    Parameters
    ----------
    partial : PairPartial
        The pair counts of the whole corpus (:func:`combine` of every partition's).
    config : CoocConfig
        The job's configuration (the same as the map steps').
    vocabulary : Vocabulary
        The vocabulary the pairs were counted with (:func:`choose_vocabulary`).
    rank_pairs : bool, optional
        Compute ``config.measure``'s sort key of every pair now (what ``table``/``top`` read);
        False leaves it to be computed on first use (analyze ranks a few terms' pairs only).

    Returns
    -------
    CoocResult
        Columns sorted by (a, b); in document mode the diagonal split off as the document
        frequencies; margins (and with ``rank_pairs`` the sort key of ``config.measure``) computed.
    """
    stats = JobStats(job="cooc").merge(vocabulary.stats).merge(partial.stats)
    with stats.stage("pairs"):
        a, b, vals = partial.columns()
        doc_freq = None
        if config.doc_mode:
            diag = a == b
            doc_freq = np.zeros(len(vocabulary), np.int64)
            doc_freq[a[diag]] = vals[diag]
            a, b, vals = a[~diag], b[~diag], vals[~diag]
    stats.counters["vocabulary"] = len(vocabulary)
    stats.counters["pairs"] = int(vals.size)
    res = CoocResult(config, vocabulary.terms, vocabulary.counts, doc_freq, a, b, vals, partial.divisor,
                     stats, rank=vocabulary.rank)
    with stats.stage("measures"):
        res.total()
    if rank_pairs:
        res.sort_key(config.measure)
    return res


def run(corpus, backend="auto", config: CoocConfig | None = None, *, scheduler=None) -> CoocResult:
    """Co-occurrence counts of a corpus.

    Parameters
    ----------
    corpus : paths, CorpusReader, Batch or iterable of Batch
        Files / folders, a reader, or batches (:func:`engine.job.as_batches`).  Read once:
        pass 2 runs over the type number of every token kept by pass 1 (spilled to disk
        beyond ``config.cache_bytes``).
    backend : str or Backend, optional
        ``"auto"`` (default), ``"cpu"``, ``"gpu"`` or a backend object.
    config : CoocConfig, optional
        Defaults: window 5, min_count 2, max_vocab 50000, measure llr.
    scheduler : None or a cluster, optional
        None (this process) or a cluster (:func:`engine.ngrams.run`): the same result,
        computed there.

    Returns
    -------
    CoocResult
        Counts, vocabulary, measures on demand, tables and writers; ``.stats`` with the
        reader's skips and warnings.

    Raises
    ------
    engine.corpus.CorpusError
        The corpus cannot be read.
    """
    cfg = config or CoocConfig()
    if scheduler is not None:
        from engine.dist import run_distributed
        return run_distributed("cooc", corpus, backend, cfg, scheduler)
    be = get_backend(backend)
    batches, reader = as_batches(corpus, be)
    if be.pick(cpu=False, gpu=True):   # one process on a GPU: device-resident throughout
        from engine.gpu.cooc import run_on_device
        res = run_on_device(batches, be, cfg)
        if reader is not None:
            res.stats.add_read(reader.stats)
        return res
    cache = TokenCache(cfg.cache_bytes)
    try:
        # the vocabulary is chosen by counts: no document frequencies (a serial walk of every token)
        part = map_vocabulary(batches, be, cfg, tokens=cache, doc_stats=False)
        vocabulary = choose_vocabulary(combine_vocabulary([part]), cfg)
        del part
        del batches
        partial = map_partition(cache, be, cfg, vocabulary)
    finally:
        cache.close()
    res = finish(combine([partial]), cfg, vocabulary)
    if reader is not None:
        res.stats.add_read(reader.stats)
    return res


def cooccurrence(source, *, window=5, weighting="none", min_count=2, max_vocab=50000, measure="llr",
                 text: TextOptions = TextOptions(), device="auto") -> CoocResult:
    """Keyword form of :func:`run`.

    Parameters
    ----------
    source : paths, CorpusReader, Batch or iterable of Batch
        The corpus, as for :func:`run`.
    window, weighting, min_count, max_vocab, measure, text
        The fields of :class:`CoocConfig` (checked there).
    device : str or Backend, optional
        The backend, as for :func:`run`.

    Returns
    -------
    CoocResult
        ``run(source, device, CoocConfig(...))``.

    Raises
    ------
    ParameterError
        A parameter is out of range (it is named).
    """
    return run(source, device, CoocConfig(window=window, weighting=weighting, min_count=min_count,
                                          max_vocab=max_vocab, measure=measure, text=text))
