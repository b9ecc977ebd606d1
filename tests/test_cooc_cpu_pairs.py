"""The CPU pair counter (engine.cooc.cpu_pairs) equals a plain-numpy oracle of the pair
definitions, through every path: dense block, dense and sorted buckets, uint32 and uint64
keys (vocabularies up to and beyond 2**16 terms), several rounds, one or more threads."""
import numba
import numpy as np
import pytest

import engine.cooc.config as C
import kernels.cpu.cooc as kc
from engine.cooc.cpu_pairs import CPUPairCounter


def _batch(rng, n_terms, n_docs=60, pruned=0.05):
    """Zipf-like term ids (frequency-ranked, like the job's), some pruned (-1), documents of 0..400 tokens."""
    lens = rng.integers(0, 400, n_docs)
    lens[rng.integers(0, n_docs)] = 0
    off = np.zeros(n_docs + 1, np.int64)
    np.cumsum(lens, out=off[1:])
    ids = (np.minimum(rng.zipf(1.2, int(off[-1])), n_terms) - 1).astype(np.int32)
    ids[rng.random(ids.size) < pruned] = -1
    return ids, off


def _oracle_window(batches, window, wtab):
    """{(a, b): summed weight} of every pair of positions 0 < j - i <= W in a document, a <= b."""
    out = {}
    for ids, off in batches:
        for d in range(off.size - 1):
            s, e = int(off[d]), int(off[d + 1])
            for i in range(s, e):
                for j in range(i + 1, min(i + window, e - 1) + 1):
                    a, b = int(ids[i]), int(ids[j])
                    if a >= 0 and b >= 0:
                        key = (min(a, b), max(a, b))
                        out[key] = out.get(key, 0) + int(wtab[j - i])
    return out


def _oracle_doc(batches):
    """{(a, b): documents containing both}, a <= b (a == b: document frequency)."""
    out = {}
    for ids, off in batches:
        for d in range(off.size - 1):
            u = sorted({int(x) for x in ids[off[d]:off[d + 1]] if x >= 0})
            for p, a in enumerate(u):
                for b in u[p:]:
                    out[(a, b)] = out.get((a, b), 0) + 1
    return out


def _got(counter):
    dense, k, keys, vals = counter.arrays()
    assert np.all(keys[1:] > keys[:-1])   # sorted, distinct
    got = {}
    for cell in np.flatnonzero(dense).tolist():
        got[(cell // k, cell % k)] = int(dense[cell])
    a, b = (keys >> np.uint64(32)).astype(np.int64), (keys & np.uint64(0xFFFFFFFF)).astype(np.int64)
    assert np.all(b >= np.maximum(a, k))   # the block's pairs are not repeated
    for x, y, v in zip(a.tolist(), b.tolist(), vals.tolist()):
        got[(x, y)] = v
    return got


@pytest.mark.parametrize("n_terms", [300, 1 << 16, (1 << 16) + 7000])
@pytest.mark.parametrize("mode", ["window", "harmonic", "doc"])
def test_counter_equals_oracle(n_terms, mode, monkeypatch):
    rng = np.random.default_rng(n_terms + len(mode))
    big = n_terms > 1 << 16
    batches = [_batch(rng, 300 if big else n_terms, n_docs=30) for _ in range(2)]
    window = 4
    wtab = np.ones(window + 1, np.int64) if mode != "harmonic" else np.array([0, 12, 6, 4, 3], np.int64)
    want = _oracle_doc(batches) if mode == "doc" else _oracle_window(batches, window, wtab)
    if big:   # ids beyond 16 bits (order kept): ids 150.. moved up to end at n_terms - 1
        batches = [(np.where(ids >= 0, ids + (n_terms - 300) * (ids >= 150), ids).astype(np.int32), off)
                   for ids, off in batches]
        shift = {i: i + (n_terms - 300) * (i >= 150) for i in range(300)}
        want = {(shift.get(a, a), shift.get(b, b)): v for (a, b), v in want.items()}
    settings = [dict(), dict(DENSE_TERMS=0), dict(DENSE_TERMS=16, REST_CAP=500, BUCKET_KEYS=40),
                dict(DENSE_TERMS=8, DENSE_CELLS=0), dict(DENSE_TERMS=8, DENSE_RATIO=1 << 40, DENSE_CELLS=1 << 30)]
    for s in settings:
        for name, v in s.items():
            monkeypatch.setattr(C if hasattr(C, name) else kc, name, v)
        for threads in ((numba.get_num_threads(), 1) if not s else (numba.get_num_threads(),)):
            c = CPUPairCounter(threads, n_terms, mode != "harmonic")
            for ids, off in batches:
                if mode == "doc":
                    c.add_doc(ids, off)
                else:
                    c.add_window(ids, off, window, wtab)
            assert _got(c) == want, (s, threads)
        monkeypatch.undo()


@pytest.mark.parametrize("mode", ["window", "doc"])
def test_int32_dense_blocks_flush_before_they_could_overflow(mode, monkeypatch):
    # unit weights count in int32 blocks, added into the int64 total before the pairs walked
    # since the last flush could pass the bound: a tiny bound (a flush before every piece, a
    # round cap that cuts the batches into many pieces) gives the oracle's counts, and the
    # total's cells can exceed what the bound allows one block to hold
    import engine.cooc.cpu_pairs as cp
    rng = np.random.default_rng(11)
    batches = [_batch(rng, 200, n_docs=80) for _ in range(3)]
    want = _oracle_doc(batches) if mode == "doc" else _oracle_window(batches, 3, np.ones(4, np.int64))
    monkeypatch.setattr(cp, "_DENSE32_PAIRS", 50)
    monkeypatch.setattr(C, "REST_CAP", 300)
    c = CPUPairCounter(2, 200, True)
    assert c.dense.dtype == np.int32
    flushes = []
    orig = c._flush_dense
    c._flush_dense = lambda: (flushes.append(c.unflushed), orig())
    for ids, off in batches:
        if mode == "doc":
            c.add_doc(ids, off)
        else:
            c.add_window(ids, off, 3, np.ones(4, np.int64))
    got = _got(c)
    assert got == want
    assert len(flushes) > 10 and max(got.values()) > 50
    assert CPUPairCounter(2, 200, False).dense.dtype == np.int64   # weighted: int64 blocks


def test_rounds_split_pieces_and_stay_exact(monkeypatch):
    # a round cap below one batch's pairs: the batch is cut into pieces, reduced in several rounds
    rng = np.random.default_rng(3)
    ids, off = _batch(rng, 500, n_docs=200)
    monkeypatch.setattr(C, "DENSE_TERMS", 4)
    monkeypatch.setattr(C, "REST_CAP", 64)
    c = CPUPairCounter(2, 500, True)
    calls = []
    orig = c._reduce_round
    c._reduce_round = lambda: (calls.append(1), orig())
    c.add_window(ids, off, 3, np.ones(4, np.int64))
    assert _got(c) == _oracle_window([(ids, off)], 3, np.ones(4, np.int64))
    assert len(calls) > 10 and len(c.runs) == 1


@pytest.mark.parametrize("sizes", [(0, 5), (5, 0), (1, 1), (1000, 3), (3, 1000), (5000, 7000)])
def test_merge_runs_equals_numpy(sizes):
    from engine.cooc.cpu_pairs import merge_runs
    rng = np.random.default_rng(sum(sizes))
    runs = []
    for n in sizes:
        k = np.unique(rng.integers(0, 3 * max(sizes), n).astype(np.uint64))
        runs.append((k, rng.integers(1, 100, k.size).astype(np.int64)))
    (k1, v1), (k2, v2) = runs
    allk = np.concatenate([k1, k2])
    want_k, inv = np.unique(allk, return_inverse=True)
    want_v = np.bincount(inv, weights=np.concatenate([v1, v2]), minlength=want_k.size).astype(np.int64)
    for tasks in (1, 3, 64):
        got_k, got_v = merge_runs(k1, v1, k2, v2, tasks)
        assert np.array_equal(got_k, want_k) and np.array_equal(got_v, want_v)
