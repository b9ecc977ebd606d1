"""Scale-out on Dask: the jobs of :mod:`engine.job` on an embedded ``LocalCluster``, an
existing cluster or one worker per GPU, with outputs byte-identical to one process.

``engine.<job>.run(..., scheduler=...)`` lands in :func:`run_distributed`::

    from engine import ngrams
    ngrams.run(["corpus/"], "cpu", cfg, scheduler="local:2")
    ngrams.run(["corpus/"], "cpu", cfg, scheduler=Scheduler("tcp://10.0.0.1:8786", partitions=64))

Modules: :mod:`.cluster` (connect, version check), :mod:`.plan` (partitions: specs, not
data), :mod:`.runner` (futures, keys, faults, figures), :mod:`.shuffle` (hash buckets), one
module a job (:mod:`.ngrams`, :mod:`.cooc`, :mod:`.minhash`).
"""
from engine.dist.cluster import DistError, connect, parse_scheduler
from engine.dist.driver import run_distributed
from engine.dist.runner import Hooks, Scheduler

__all__ = ["DistError", "Hooks", "Scheduler", "connect", "parse_scheduler", "run_distributed"]
