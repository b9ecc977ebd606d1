"""engine.corpus.prefetch.read_ahead: the items in order, errors at their place, one item
ahead at most, the producer stopped when the consumer leaves; jobs give the same results."""
import json
import threading

import numpy as np
import pytest

from engine.corpus import CorpusError, CorpusReader
from engine.corpus.prefetch import concurrent_kernels_ok, read_ahead


def test_items_in_order_produced_on_another_thread():
    where = []

    def items():
        for i in range(50):
            where.append(threading.current_thread().name)
            yield i

    assert list(read_ahead(items())) == list(range(50))
    if concurrent_kernels_ok():
        assert set(where) == {"corpus-read-ahead"}


def test_lists_are_iterated_as_they_are():
    assert list(read_ahead([3, 1, 2])) == [3, 1, 2]


def test_an_error_is_raised_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise CorpusError("bad line 3")

    got = []
    with pytest.raises(CorpusError, match="bad line 3"):
        for x in read_ahead(items()):
            got.append(x)
    assert got == [1, 2]


def test_at_most_one_item_ahead_and_stopped_when_the_consumer_leaves():
    produced = []
    closed = threading.Event()

    def items():
        try:
            for i in range(100):
                produced.append(i)
                yield i
        finally:
            closed.set()

    gen = read_ahead(items())
    seen = []
    for x in gen:
        seen.append(x)
        # the consumer holds item x; the producer may have made x + 1, never x + 2
        threading.Event().wait(0.01)
        assert len(produced) <= x + 2
        if x == 4:
            break
    gen.close()
    assert seen == [0, 1, 2, 3, 4]
    assert closed.wait(2)          # the source generator was closed (its finally ran)
    assert len(produced) <= 6


def test_minhash_and_cooc_results_equal_with_and_without_read_ahead(tmp_path, monkeypatch):
    import engine.cooc.vocabulary as V
    import engine.minhash.job as J
    from engine.cooc import CoocConfig
    from engine.cooc import run as cooc_run
    from engine.minhash import MinHashConfig
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(300)]
    base = [" ".join(rng.choice(words, 60)) for _ in range(40)]
    rows = [json.dumps({"id": f"d{i}", "text": base[i % 40] + (f" x{i}" if i % 3 else "")}) for i in range(400)]
    p = tmp_path / "c.jsonl"
    p.write_text("\n".join(rows) + "\n")

    def both():
        mh = J.run(CorpusReader([p], batch_bytes=4096, json_chunk_bytes=8192), "cpu", MinHashConfig(threshold=0.5))
        co = cooc_run(CorpusReader([p], batch_bytes=4096, json_chunk_bytes=8192), "cpu", CoocConfig())
        return mh, co

    mh1, co1 = both()
    monkeypatch.setattr(J, "read_ahead", iter)
    monkeypatch.setattr(V, "read_ahead", iter)
    mh0, co0 = both()
    assert mh1.pairs_table().equals(mh0.pairs_table()) and mh1.pairs_table().num_rows > 0
    assert np.array_equal(mh1.sigs.sig, mh0.sigs.sig)
    assert co1.table().equals(co0.table()) and co1.table().num_rows > 0


def test_no_read_ahead_under_the_workqueue_layer():
    # workqueue cannot launch parallel kernels from two threads: the items come on this thread
    import os
    import subprocess
    import sys
    code = ("import threading\n"
            "from engine.corpus.prefetch import concurrent_kernels_ok, read_ahead\n"
            "def g():\n    yield threading.current_thread().name\n"
            "print(concurrent_kernels_ok(), list(read_ahead(g())))\n")
    env = dict(os.environ, NUMBA_THREADING_LAYER="workqueue")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "['MainThread']"]
