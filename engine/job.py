"""The job contract: every job (ngrams, minhash, cooc, similarity) is three named steps.

``map_partition(batches, backend, config) -> Partial``
    The work on one partition of the corpus (an iterable of :class:`engine.corpus.Batch`):
    plain numpy arrays (keys, counts, flat UTF-8 bytes + int64 offsets), no Python objects,
    so that Dask can ship them between workers.
``combine(partials) -> Partial``
    Exact: the result depends only on the partials' order (corpus order), never on the
    order in which they were computed.
``finish(partial, config) -> Result``
    Ordering, top-k, strings: the result, with ``.table()``, ``.stats``
    (:class:`engine.stats.JobStats`) and its writers.

``engine.<job>.run(corpus, backend="auto", config=None)`` runs the three in one process;
the scale-out runs the same functions on workers.  ``corpus`` is paths, a
:class:`engine.corpus.CorpusReader`, one :class:`Batch` or an iterable of them
(:func:`as_batches`).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from engine.corpus import Batch, CorpusReader

__all__ = ["as_batches", "run_steps"]


def as_batches(corpus, backend=None, **reader_options) -> tuple[Iterable[Batch], CorpusReader | None]:
    """The batches of ``corpus`` and the reader that makes them.

    Parameters
    ----------
    corpus : str, os.PathLike, list of them, CorpusReader, Batch or iterable of Batch
        Paths (files or folders) are read with a :class:`CorpusReader` built with
        ``reader_options``; a reader is used as it is; batches are taken as they come (a
        generator is streamed, each item checked when it arrives).
    **reader_options
        Keyword arguments of :class:`CorpusReader` (only used for paths).

    Returns
    -------
    batches : iterable of Batch
        What the job's ``map_partition`` reads (for a GPU ``backend``: device batches, a
        generator, iterated once).
    reader : CorpusReader or None
        The reader behind ``batches`` (its skips and warnings go into the result's
        stats), None when batches were given.

    Raises
    ------
    TypeError
        ``corpus`` is none of the above (or an item of an iterable is not a Batch).
    """
    if isinstance(corpus, CorpusReader):
        return _for_backend(corpus, backend), corpus
    if isinstance(corpus, Batch):
        return _for_backend([corpus], backend), None
    if isinstance(corpus, (str, os.PathLike)):
        corpus = [corpus]
    if isinstance(corpus, (list, tuple)):
        if corpus and all(isinstance(p, (str, os.PathLike)) for p in corpus):
            reader = CorpusReader([Path(p) for p in corpus], **reader_options)
            return _for_backend(reader, backend), reader
        if not all(isinstance(b, Batch) for b in corpus):
            raise TypeError("corpus must be paths, a CorpusReader, or Batch objects")
        return _for_backend(corpus, backend), None
    # any other iterable (a generator of batches): streamed, each checked as it comes
    return _for_backend((_checked(b) for b in corpus), backend), None


def _for_backend(batches, backend):
    """``batches`` as a GPU ``backend`` takes them: a reader reads with cuDF where it can
    (:meth:`CorpusReader.on_device`), and host batches are copied ahead through pinned
    buffers, overlapped with the work (:func:`engine.gpu.transfer.staged`)."""
    if backend is None or isinstance(backend, str) or not backend.pick(cpu=False, gpu=True):
        return batches
    if isinstance(batches, CorpusReader) and not batches._device_asked:
        batches.on_device(backend)
    from engine.gpu.transfer import staged
    return staged(batches, backend)


def _checked(batch):
    if not isinstance(batch, Batch):
        raise TypeError(f"corpus must be paths, a CorpusReader, or Batch objects, got {type(batch).__name__}")
    return batch


def run_steps(job, batches: Iterable[Batch], backend, config, reader: CorpusReader | None = None):
    """Run the contract's three steps of one job in this process, over one partition.

    Parameters
    ----------
    job : module
        A job module with ``map_partition``, ``combine`` and ``finish``.
    batches : iterable of Batch
        The whole corpus, as one partition.
    backend : str or Backend
        Where ``map_partition`` runs.
    config : object
        The job's config (its ``*Config`` dataclass).
    reader : CorpusReader, optional
        The reader behind ``batches``: its skips and warnings are added to the stats.

    Returns
    -------
    Result
        ``job.finish(job.combine([job.map_partition(batches, backend, config)]), config)``.
    """
    partial = job.map_partition(batches, backend, config)
    result = job.finish(job.combine([partial]), config)
    if reader is not None:
        result.stats.add_read(reader.stats)
    return result
