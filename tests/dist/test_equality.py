"""Every job on the cluster gives the single-process output, byte for byte, whatever the
partitioning: 1, 2, 3, 7 partitions and one document a partition; skips and their first
locations as one reader reports them."""
from __future__ import annotations

import io

import numpy as np
import pyarrow.csv as pcsv
import pytest

from engine import cooc, minhash, ngrams
from engine.corpus import CorpusReader
from engine.dist import Hooks, Scheduler

PARTITIONINGS = [{"partitions": 1}, {"partitions": 2}, {"partitions": 3}, {"partitions": 7},
                 {"partition_bytes": 1}]
IDS = ["p1", "p2", "p3", "p7", "each"]


def csv_bytes(table) -> bytes:
    buf = io.BytesIO()
    pcsv.write_csv(table, buf)
    return buf.getvalue()


def same_read_stats(a, b) -> None:
    for k in ("documents", "bytes", "files", "skipped", "skipped_locations", "warnings", "warning_locations"):
        assert getattr(a, k) == getattr(b, k), k


@pytest.mark.parametrize("part", PARTITIONINGS, ids=IDS)
def test_ngrams_equal(client, corpus, part):
    cfg = ngrams.NgramConfig(n="1-3", top=200, min_count=2)
    one = ngrams.run(CorpusReader([corpus]), "cpu", cfg)
    reader = CorpusReader([corpus])
    many = ngrams.run(reader, "cpu", cfg, scheduler=Scheduler(client, **part))
    assert csv_bytes(many.table()) == csv_bytes(one.table())
    same_read_stats(many.stats, one.stats)
    assert many.stats.tokens == one.stats.tokens
    for n in (1, 2, 3):
        assert many.stats.counters[f"distinct_n{n}"] == one.stats.counters[f"distinct_n{n}"]
    assert reader.stats.skipped == one.stats.skipped   # the CLI reports from the reader
    assert many.stats.counters["dist_tasks"] > many.stats.counters["dist_partitions"]
    if part.get("partition_bytes") == 1:   # one document (line, row group, file) a partition
        assert many.stats.counters["dist_partitions"] > 30


def test_ngrams_full_table_char(client, corpus):
    cfg = ngrams.NgramConfig(n=3, char=True)   # no top: the whole table travels
    one = ngrams.run([corpus], "cpu", cfg)
    many = ngrams.run([corpus], "cpu", cfg, scheduler=Scheduler(client, partitions=7, buckets=3))
    assert csv_bytes(many.table()) == csv_bytes(one.table())


@pytest.mark.parametrize("part", PARTITIONINGS, ids=IDS)
def test_cooc_equal(client, corpus, part):
    cfg = cooc.CoocConfig(window=4, min_count=2, max_vocab=300)
    one = cooc.run([corpus], "cpu", cfg)
    many = cooc.run([corpus], "cpu", cfg, scheduler=Scheduler(client, **part))
    for m in ("count", "pmi", "npmi", "llr"):
        assert csv_bytes(many.table(m)) == csv_bytes(one.table(m))
    assert many.vocab_table().equals(one.vocab_table())
    same_read_stats(many.stats, one.stats)


def test_cooc_doc_mode_harmonic(client, corpus):
    for cfg in (cooc.CoocConfig(window="doc", min_count=1, max_vocab=100),
                cooc.CoocConfig(window=3, weighting="harmonic", max_vocab=50)):
        one = cooc.run([corpus], "cpu", cfg)
        many = cooc.run([corpus], "cpu", cfg, scheduler=Scheduler(client, partitions=3, buckets=4))
        assert csv_bytes(many.table("llr")) == csv_bytes(one.table("llr"))


@pytest.mark.parametrize("part", PARTITIONINGS, ids=IDS)
def test_minhash_equal(client, corpus, part):
    cfg = minhash.MinHashConfig(threshold=0.5, shingle="word:3")
    one = minhash.run([corpus], "cpu", cfg)
    many = minhash.run([corpus], "cpu", cfg, scheduler=Scheduler(client, **part))
    assert one.summary()["clusters"] > 1   # the corpus has near-duplicates to find
    for kind in ("pairs", "clusters"):
        assert csv_bytes(many.table(kind)) == csv_bytes(one.table(kind))
    assert np.array_equal(many.keep_new, one.keep_new)
    same_read_stats(many.stats, one.stats)


def test_similarity_equal(client, corpus):
    cfg = minhash.MinHashConfig(shingle="word:3")
    for exact in (False, True):
        one = minhash.run_similarity([corpus / "b"], "cpu", cfg, exact=exact)
        many = minhash.run_similarity([corpus / "b"], "cpu", cfg, exact=exact,
                                      scheduler=Scheduler(client, partition_bytes=1))
        assert many.doc_ids == one.doc_ids
        assert np.array_equal(many.matrix, one.matrix, equal_nan=True)


def test_tiny_memory_spills(client, corpus):
    cfg = ngrams.NgramConfig(n="4-5", char=True, memory="1MB")
    one = ngrams.run([corpus], "cpu", cfg)
    many = ngrams.run([corpus], "cpu", cfg, scheduler=Scheduler(client, partitions=2))
    assert many.stats.counters["spills"] > 0
    assert csv_bytes(many.table()) == csv_bytes(one.table())


def test_random_delays_shuffle_completion(client, corpus):
    cfg = ngrams.NgramConfig(n="1-2", top=100)
    one = ngrams.run([corpus], "cpu", cfg)
    many = ngrams.run([corpus], "cpu", cfg,
                      scheduler=Scheduler(client, partition_bytes=2000, buckets=3, hooks=Hooks(delay=0.05)))
    assert csv_bytes(many.table()) == csv_bytes(one.table())
    ccfg = cooc.CoocConfig(window=3)
    assert csv_bytes(cooc.run([corpus], "cpu", ccfg, scheduler=Scheduler(
        client, partition_bytes=6000, hooks=Hooks(delay=0.03))).table("llr")) == \
        csv_bytes(cooc.run([corpus], "cpu", ccfg).table("llr"))


def test_narrowed_hashes_collide_in_partition_order(client, corpus):
    """Keys cut to 8 bits: different n-grams share a key; the row kept has the string of
    the earliest partition, as combining the partitions in order here gives."""
    from engine.dist.ngrams import narrowed
    from engine.dist.plan import plan_partitions, read_partition
    cfg = ngrams.NgramConfig(n="1-2")
    reader = CorpusReader([corpus])
    specs = plan_partitions(reader, 2500)
    assert len(specs) > 5
    parts = [narrowed(ngrams.map_partition(read_partition(s, reader.options()), "cpu", cfg), 8) for s in specs]
    expected = ngrams.finish(ngrams.combine(parts), cfg)
    wide = ngrams.run([corpus], "cpu", cfg)
    assert expected.table().num_rows < wide.table().num_rows / 4   # collisions happened
    many = ngrams.run([corpus], "cpu", cfg, scheduler=Scheduler(client, partition_bytes=2500, buckets=3,
                                                                   hooks=Hooks(narrow=8, delay=0.03)))
    assert csv_bytes(many.table()) == csv_bytes(expected.table())


def test_strict_names_the_earliest_bad_record(client, corpus):
    from engine.corpus import CorpusError
    with pytest.raises(CorpusError) as one:
        ngrams.run(CorpusReader([corpus], strict=True), "cpu", ngrams.NgramConfig())
    with pytest.raises(CorpusError) as many:
        ngrams.run(CorpusReader([corpus], strict=True), "cpu", ngrams.NgramConfig(),
                   scheduler=Scheduler(client, partition_bytes=1, hooks=Hooks(delay=0.02)))
    assert str(many.value) == str(one.value)
    assert ":" in str(one.value)   # FILE:LINE
