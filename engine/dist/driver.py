"""One entry for every job: plan on the client, connect, run the job's phases, fold the
partitions' read stats back into the reader (in corpus order) and the run's figures into
the result's stats."""
from __future__ import annotations

import os
import time

from engine.corpus import CorpusReader, ReadStats
from engine.dist.cluster import connect, parse_scheduler
from engine.dist.ids import fix_duplicate_warnings
from engine.dist.plan import count_newlines, plan_partitions
from engine.dist.runner import DistRun, Scheduler
from engine.errors import ParameterError

__all__ = ["run_distributed", "reader_of"]


def reader_of(corpus) -> CorpusReader:
    """The client's reader of ``corpus`` (paths or a CorpusReader): a distributed run ships
    specs of files, never data, so batches in memory are refused."""
    if isinstance(corpus, CorpusReader):
        return corpus
    if isinstance(corpus, (str, os.PathLike)):
        corpus = [corpus]
    if isinstance(corpus, (list, tuple)) and corpus and all(isinstance(p, (str, os.PathLike)) for p in corpus):
        return CorpusReader(list(corpus))
    raise ParameterError("scheduler: a distributed run reads files: pass paths or a CorpusReader, "
                         "not batches in memory", "scheduler")


def _backend_name(backend) -> str:
    from engine.backend import get_backend
    return get_backend(backend).name


def run_distributed(job: str, corpus, backend, config, scheduler, **extra):
    """``engine.<job>.run(corpus, backend, config, scheduler=...)`` on a cluster.

    ``job``: ``ngrams``, ``cooc``, ``minhash`` or ``similarity``; ``extra``: the job's own
    arguments (``base`` for minhash, ``max_docs`` / ``exact`` for similarity).
    """
    sched = scheduler if isinstance(scheduler, Scheduler) else Scheduler(scheduler)
    parse_scheduler(sched.target)   # a bad value is bad usage, before anything is read
    reader = reader_of(corpus)
    be = _backend_name(backend)
    with connect(sched.target, gpu=be == "gpu") as client:
        run = DistRun(client, job, sched.hooks)
        workers = max(len(client.scheduler_info(n_workers=-1).get("workers", {})), 1)
        partition_bytes, buckets = sched.sizing(reader.total_bytes, workers)

        def count_lines(ranges):
            futs = [run.submit("lines", i, count_newlines, p, a, b) for i, p, a, b in ranges]
            return run.gather(futs)

        specs = plan_partitions(reader, partition_bytes, count_lines)
        run.phase("plan")

        def progress(k):
            reader.progress(specs[k].nbytes)

        options = reader.options()
        if job == "ngrams":
            from engine.dist.ngrams import run_ngrams
            result, metas = run_ngrams(run, specs, options, be, config, buckets, progress)
        elif job == "cooc":
            from engine.dist.cooc import run_cooc
            result, metas = run_cooc(run, specs, options, be, config, buckets, progress)
        elif job in ("minhash", "similarity"):
            from engine.dist.minhash import run_minhash
            result, metas = run_minhash(run, specs, options, be, config, progress, job, **extra)
        else:
            raise ValueError(f"unknown job {job!r}")
        t0 = time.perf_counter()
        parts = ReadStats()
        for m in metas:   # partition order: the first locations are one reader's
            parts.merge(m.read)
        fix_duplicate_warnings(parts, [m.ids for m in metas])
        reader.stats.merge(parts)
        result.stats.add_read(reader.stats)
        result.stats.counters.update(run.figures(len(specs), buckets))
        result.stats.counters["dist_seconds_stats"] = round(time.perf_counter() - t0, 6)
    return result
