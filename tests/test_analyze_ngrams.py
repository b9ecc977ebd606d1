"""The n-gram rows analyze keeps (engine.analyze_ngrams): the rows that can reach the top of
their order, read piece by piece from the counters (spilled or not), give the n-gram job's
table exactly, and the distinct n-grams per order are counted."""
import numpy as np
import pytest

from engine import ngrams
from engine.analyze_ngrams import reaching, top_candidates
from engine.backend import get_backend
from engine.corpus import CorpusReader
from engine.ngrams.job import NgramConsumer
from engine.resources import seeds_dir
from engine.stats import JobStats
from engine.text import text_options, tokenize
from tests.test_analyze_onepass import _generated

CPU = get_backend("cpu")


def _consumer(paths, cfg):
    consumer = NgramConsumer(CPU, cfg)
    for batch in CorpusReader(paths, batch_bytes=8192):
        consumer.add(batch, tokenize(batch, CPU, cfg.text))
    return consumer


@pytest.mark.parametrize("top,memory", [(1, "1MB"), (10, "1MB"), (500, "1MB"), (10, None), (100000, "1MB")])
def test_top_candidates_give_the_jobs_table(tmp_path, top, memory):
    paths = [seeds_dir(), _generated(tmp_path / "c", n_docs=700)]
    cfg = ngrams.NgramConfig(n=(1, 3), top=top, text=text_options("fr,en"), memory=memory)
    consumer = _consumer(paths, cfg)
    try:
        kept, distinct = top_candidates(consumer, top, JobStats())
    finally:
        consumer.close()
    full = ngrams.map_partition(CorpusReader(paths), CPU, cfg)
    assert (kept.stats.counters["spills"] > 0) == (memory is not None)
    assert distinct == {n: int(np.count_nonzero(full.n == n)) for n in (1, 2, 3)}
    assert distinct[3] > 8192   # more than the 1 MB tables hold
    want = ngrams.finish(full, cfg).table()
    assert ngrams.finish(kept, cfg).table().equals(want) and want.num_rows == min(3 * top, sum(distinct.values()))
    pieces = 3 * 16 if memory is not None else 3   # a table an order, or 16 spill partitions (all spill together)
    assert len(kept) <= min(len(full), top * pieces)   # the top's rows of each piece only


def test_reaching_breaks_ties_by_string_as_the_output():
    words = ["b", "a", "c", "cc", "z", "ab", "", "d"]
    counts = np.array([5, 1, 3, 3, 9, 3, 0, 3], np.int64)
    raw = [w.encode() for w in words]
    data = np.frombuffer(b"".join(raw), np.uint8)
    ends = np.cumsum([len(r) for r in raw])
    starts = ends - [len(r) for r in raw]

    def ref(k):   # the first k in (count desc, string asc) order
        return sorted(sorted(range(8), key=lambda i: (-counts[i], raw[i]))[:k])
    for k in range(1, 10):
        assert reaching(counts, k, data, starts, ends).tolist() == ref(k)
    assert reaching(counts, 3, data, starts, ends).tolist() == [0, 4, 5]   # 3s: "ab" < "c" < "cc" < "d"
    assert reaching(np.empty(0, np.int64), 4, data, starts[:0], ends[:0]).size == 0
