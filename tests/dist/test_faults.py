"""Faults: a worker killed mid-job (its tasks rerun, the result unchanged), a task that
keeps killing its workers or that raises (one line, no output), a worker that differs."""
from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from engine import cooc, ngrams
from engine.dist import DistError, Hooks, Scheduler

CFG = ngrams.NgramConfig(n="1-2", top=100)


@pytest.fixture(scope="module")
def expected(corpus):
    return ngrams.run([corpus], "cpu", CFG).table()


@pytest.mark.parametrize("phase", ["map", "reduce"])
def test_task_killing_its_worker_once_is_rerun(client, corpus, expected, tmp_path, phase):
    marker = tmp_path / f"{phase}.killed"
    hooks = Hooks(fault=(phase, 1, str(marker), "kill_once"))
    res = ngrams.run([corpus], "cpu", CFG, scheduler=Scheduler(client, partitions=3, buckets=2, hooks=hooks))
    assert marker.exists()   # the worker did die
    assert res.table().equals(expected)


def test_cooc_pass2_worker_killed_reads_again(client, corpus, tmp_path):
    """Pass 2 runs where pass 1 left the tokens; killed there, it reads the partition again."""
    cfg = cooc.CoocConfig(window=3)
    one = cooc.run([corpus], "cpu", cfg)
    fine = cooc.run([corpus], "cpu", cfg, scheduler=Scheduler(client, partitions=4))
    assert fine.stats.counters["dist_token_cache_hits"] == fine.stats.counters["dist_partitions"]
    hooks = Hooks(fault=("pairs", 1, str(tmp_path / "killed"), "kill_once"))
    hurt = cooc.run([corpus], "cpu", cfg, scheduler=Scheduler(client, partitions=4, hooks=hooks))
    # (Dask may recompute the lost pass-1 tasks too, refilling the caches: either way, the same)
    for res in (fine, hurt):
        assert res.table("llr").equals(one.table("llr"))
    client.wait_for_workers(2, timeout=60)


def test_cooc_pass2_without_its_cache_reads_again(corpus):
    """The fallback of a pass-2 task whose worker has no token cache: the same pair counts."""
    import numpy as np

    from engine.corpus import CorpusReader
    from engine.dist import cooc as dcooc
    from engine.dist.plan import plan_partitions, read_partition
    cfg = cooc.CoocConfig(window=3)
    reader = CorpusReader([corpus])
    spec = plan_partitions(reader, 3000)[1]
    vocab = cooc.choose_vocabulary(cooc.map_vocabulary(read_partition(spec, reader.options()), "cpu", cfg), cfg)
    dcooc.vocab_partition(read_partition(spec, reader.options()), "cpu", cfg, 2, "t", 1)
    cached = dcooc.pairs_partition(read_partition(spec, reader.options()), "cpu", cfg, vocab, 2, "t", 1)
    reread = dcooc.pairs_partition(read_partition(spec, reader.options()), "cpu", cfg, vocab, 2, "t", 1)
    assert cached[0].counters["dist_token_cache_hits"] == 1 and reread[0].counters["dist_token_cache_hits"] == 0
    for a, b in zip(cached[1][1:], reread[1][1:]):
        assert np.array_equal(a.keys, b.keys) and np.array_equal(a.values, b.values)
    assert np.array_equal(cached[1][0][0], reread[1][0][0])


def test_worker_sigkilled_half_way(client, corpus, expected):
    pids = client.run(os.getpid)
    out = {}

    def job():
        out["res"] = ngrams.run([corpus], "cpu", CFG, scheduler=Scheduler(
            client, partition_bytes=3000, hooks=Hooks(delay=0.2)))

    t = threading.Thread(target=job)
    t.start()
    time.sleep(1.5)
    os.kill(sorted(pids.values())[0], signal.SIGKILL)
    t.join(120)
    assert out["res"].table().equals(expected)
    client.wait_for_workers(2, timeout=60)


def test_task_that_always_raises(client, corpus):
    hooks = Hooks(fault=("pairs", 1, "", "raise"))   # cooc's second pass
    with pytest.raises(DistError, match="injected failure in pairs task 1") as e:
        cooc.run([corpus], "cpu", cooc.CoocConfig(), scheduler=Scheduler(client, partitions=3, hooks=hooks))
    assert "\n" not in str(e.value)


def test_worker_with_another_environment(client, corpus, monkeypatch):
    import engine.dist.cluster as cluster
    real = cluster.environment()
    monkeypatch.setattr(cluster, "environment", lambda: (real[0], "9.9.9", *real[2:]))
    with pytest.raises(DistError, match=r"unicode .* \(worker\) vs 9\.9\.9 \(client\)"):
        ngrams.run([corpus], "cpu", CFG, scheduler=Scheduler(client))


def test_bad_scheduler_and_batches(client):
    from engine.corpus import batch_from_texts
    from engine.errors import ParameterError
    with pytest.raises(ParameterError, match="^scheduler"):
        ngrams.run(["x"], "cpu", CFG, scheduler="nowhere")
    with pytest.raises(ParameterError, match="local:N needs"):
        ngrams.run(["x"], "cpu", CFG, scheduler="local:0")
    with pytest.raises(ParameterError, match="reads files"):
        ngrams.run(batch_from_texts(["a b"]), "cpu", CFG, scheduler=client)


# last: the workers it killed may take a while to come back
def test_task_that_keeps_killing_workers(client, corpus):
    hooks = Hooks(fault=("map", 0, "", "kill"))
    with pytest.raises(DistError, match="kept killing its workers") as e:
        ngrams.run([corpus], "cpu", CFG, scheduler=Scheduler(client, partitions=2, hooks=hooks))
    assert "\n" not in str(e.value)
