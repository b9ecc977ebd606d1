"""Co-occurrence (issue 4): the engine equals the plain-Python oracle, measures, streaming, CLI."""
import math
import random
from pathlib import Path

import numba
import numpy as np
import pytest
import scipy.sparse as sp

import engine.cooc as cooc
from engine.cli import app
from engine.cooc import CoocConfig, run
from engine.corpus import batch_from_texts
from engine.text import ParameterError, TextOptions, hash_token
from tests import reference_cooc as ref

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))
SEED_TEXTS = [p.read_text(encoding="utf-8") for p in SEEDS]


def _larger_texts(n_docs=120, seed=7):
    """About 300 kB: documents of shuffled seed sentences (real French text, new windows)."""
    rng = random.Random(seed)
    sents = [s.strip() for t in SEED_TEXTS for s in t.replace("\n", " ").split(". ") if s.strip()]
    return [". ".join(rng.choice(sents) for _ in range(rng.randint(3, 40))) for _ in range(n_docs)]


LARGER = _larger_texts()


def _compare(res, texts, window=5, weighting="none", min_count=2, max_vocab=50000, stop=(), measure="llr"):
    docs = ref.doc_tokens(texts, ref.stop_set(stop) if stop else frozenset())
    vocab, rows = ref.table(docs, window, weighting, min_count, max_vocab, measure)
    assert res.vocab == sorted(vocab, key=lambda t: (-vocab[t], t))
    assert res.term_count.tolist() == [vocab[t] for t in res.vocab]
    got = res.table(measure).to_pylist()
    assert len(got) == len(rows)
    assert [(r["term_a"], r["term_b"]) for r in got] == [(r["term_a"], r["term_b"]) for r in rows]
    for name in ("count", "pmi", "ppmi", "npmi", "llr"):
        g = np.array([r[name] for r in got], float)
        e = np.array([r[name] for r in rows], float)
        if name == "count" and weighting == "none":
            assert np.array_equal(g, e), name
        else:
            np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-9, err_msg=name)
    return got


@pytest.mark.parametrize("window,weighting,min_count,max_vocab,stop", [
    (5, "none", 2, 50000, ()),
    (2, "harmonic", 1, 50000, ()),
    (10, "none", 1, 40, ("fr", "en")),
    ("doc", "none", 2, 50000, ("fr", "en")),
    ("doc", "none", 1, 25, ()),
])
def test_seeds_equal_reference(window, weighting, min_count, max_vocab, stop):
    cfg = CoocConfig(window=window, weighting=weighting, min_count=min_count, max_vocab=max_vocab,
                     text=TextOptions(stopwords=stop))
    res = run([ROOT / "seeds"], "cpu", cfg)
    rows = _compare(res, SEED_TEXTS, window, weighting, min_count, max_vocab, stop)
    assert rows


@pytest.mark.parametrize("window,weighting", [(5, "none"), (7, "harmonic"), ("doc", "none")])
def test_larger_text_equals_reference(window, weighting):
    cfg = CoocConfig(window=window, weighting=weighting, min_count=3, max_vocab=400)
    res = run(batch_from_texts(LARGER), "cpu", cfg)
    assert res.n_tokens > 30000
    _compare(res, LARGER, window, weighting, 3, 400, (), "npmi")


def test_buffered_pairs_equal_reference(monkeypatch):
    # a small dense block: most pairs (with harmonic weights) go through the buffers and radix reduction
    import kernels.cpu.cooc as kc
    monkeypatch.setattr(cooc.config, "DENSE_TERMS", 16)
    monkeypatch.setattr(cooc.config, "REST_CAP", 4096)
    monkeypatch.setattr(kc, "BUCKET_KEYS", 300)
    cfg = CoocConfig(window=7, weighting="harmonic", min_count=3, max_vocab=400)
    res = run(batch_from_texts(LARGER), "cpu", cfg)
    _compare(res, LARGER, 7, "harmonic", 3, 400, (), "npmi")


def _same(r1, r2):
    assert r1.vocab == r2.vocab
    assert np.array_equal(r1.a, r2.a) and np.array_equal(r1.b, r2.b) and np.array_equal(r1.raw, r2.raw)
    if r1.doc_freq is not None:
        assert np.array_equal(r1.doc_freq, r2.doc_freq)


@pytest.mark.parametrize("window", [4, "doc"])
def test_streaming_spill_growth_and_threads_give_the_same_counts(window, monkeypatch):
    cfg = CoocConfig(window=window, min_count=2)
    whole = run(batch_from_texts(LARGER), "cpu", cfg)
    # many small batches, every batch spilled to disk
    batches = [batch_from_texts(LARGER[i:i + 7], base=i) for i in range(0, len(LARGER), 7)]
    _same(whole, run(batches, "cpu", CoocConfig(window=window, min_count=2, cache_bytes=1)))
    # tiny tables, dense block and buffers: every batch stops, reduces and resumes many times
    import kernels.cpu.cooc as kc
    monkeypatch.setattr(cooc.config, "REST_CAP", 64 if window != "doc" else 1 << 14)
    monkeypatch.setattr(cooc.config, "DENSE_TERMS", 8)
    monkeypatch.setattr(cooc.config, "INITIAL_TYPE_CAP", 16)
    monkeypatch.setattr(kc, "BUCKET_KEYS", 5)
    _same(whole, run(batches, "cpu", cfg))
    # no dense block: every pair goes through the buffers
    monkeypatch.setattr(cooc.config, "DENSE_TERMS", 0)
    _same(whole, run(batches, "cpu", cfg))
    # one partition instead of one per thread
    n = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        _same(whole, run(batches, "cpu", cfg))
    finally:
        numba.set_num_threads(n)


def test_pruned_tokens_keep_their_positions():
    # "z" is pruned (min_count 2): a..b are 2 apart with or without it.
    res = run(batch_from_texts(["a z b", "a b"]), "cpu", CoocConfig(window=1, min_count=2))
    t = {(r["term_a"], r["term_b"]): r["count"] for r in res.table("count").to_pylist()}
    assert t == {("a", "b"): 1}
    res = run(batch_from_texts(["a z b", "a b"]), "cpu", CoocConfig(window=2, min_count=2))
    assert {(r["term_a"], r["term_b"]): r["count"] for r in res.table("count").to_pylist()} == {("a", "b"): 2}


def test_measures_by_hand_and_scipy():
    from scipy.stats import chi2_contingency
    # window 1 on "a b a c": pairs (a,b), (b,a), (a,c)
    res = run(batch_from_texts(["a b a c"]), "cpu", CoocConfig(window=1, min_count=1))
    M = res.matrix().toarray()
    ids = {t: i for i, t in enumerate(res.vocab)}
    a, b, c = ids["a"], ids["b"], ids["c"]
    assert M[a, b] == M[b, a] == 2 and M[a, c] == M[c, a] == 1 and M.sum() == 6
    rows = {(r["term_a"], r["term_b"]): r for r in res.table().to_pylist()}
    r = rows[("a", "b")]
    T, ma, mb, k = 6, 3, 2, 2
    assert r["pmi"] == pytest.approx(math.log(k * T / (ma * mb)), rel=1e-12)
    assert r["npmi"] == pytest.approx(math.log(k * T / (ma * mb)) / -math.log(k / T), rel=1e-12)
    g, *_ = chi2_contingency([[k, ma - k], [mb - k, T - ma - mb + k]], correction=False,
                             lambda_="log-likelihood")
    assert r["llr"] == pytest.approx(g, rel=1e-9)
    # self pairs: "x x" adds 2 to M[x, x]
    res = run(batch_from_texts(["x x"]), "cpu", CoocConfig(window=1, min_count=1))
    assert res.matrix().toarray().tolist() == [[2]]
    assert res.table().to_pylist()[0]["npmi"] == 1.0


def test_harmonic_weights_and_doc_measures():
    res = run(batch_from_texts(["a b c"]), "cpu", CoocConfig(window=2, weighting="harmonic", min_count=1))
    got = {(r["term_a"], r["term_b"]): r["count"] for r in res.table("count").to_pylist()}
    assert got == {("a", "b"): 1.0, ("b", "c"): 1.0, ("a", "c"): 0.5}
    docs = ["a b", "a b c", "c", "d"]
    res = run(batch_from_texts(docs), "cpu", CoocConfig(window="doc", min_count=1))
    rows = {(r["term_a"], r["term_b"]): r for r in res.table().to_pylist()}
    assert set(rows) == {("a", "b"), ("a", "c"), ("b", "c")}
    assert rows[("a", "b")]["count"] == 2
    # document counts: N = 4, df(a) = df(b) = 2
    assert rows[("a", "b")]["pmi"] == pytest.approx(math.log(2 * 4 / (2 * 2)))
    assert dict(zip(res.vocab, res.doc_freq.tolist())) == {"a": 2, "b": 2, "c": 2, "d": 1}
    assert res.total() == 4


def test_associates_and_matrix():
    res = run([ROOT / "seeds"], "cpu", CoocConfig(window=5, text=TextOptions(stopwords=("fr", "en"))))
    t = res.associates("NVIDIA", "npmi", 5)
    assert t.num_rows == 5 and set(t.column("term").to_pylist()) == {"nvidia"}
    vals = t.column("npmi").to_pylist()
    assert vals == sorted(vals, reverse=True) and "nvidia" not in t.column("associate").to_pylist()
    m = res.matrix()
    assert (m != m.T).nnz == 0 and m.shape == (len(res.vocab), len(res.vocab))
    assert m.sum() == pytest.approx(res.total())
    with pytest.raises(ParameterError, match="not in the vocabulary"):
        res.associates("zzzqqq")
    with pytest.raises(ParameterError, match="single word"):
        res.associates("deux mots")


@pytest.mark.parametrize("kwargs,match", [
    ({"window": 0}, "^window must be a positive integer or 'doc', got 0$"),
    ({"window": "abc"}, "^window must"), ({"window": -3}, "^window must"), ({"window": 2.5}, "^window must"),
    ({"window": True}, "^window must"),
    ({"weighting": "log"}, "^weighting must be one of none, harmonic, got 'log'$"),
    ({"measure": "dice"}, "^measure must be one of"),
    ({"min_count": 0}, "^min_count must be an integer >= 1, got 0$"),
    ({"min_count": True}, "^min_count must be an integer >= 1, got True$"),
    ({"max_vocab": 0}, "^max_vocab must be an integer >= 1"),
    ({"max_vocab": 2.0}, "^max_vocab must be an integer >= 1"),
    ({"cache_bytes": -1}, "^cache_bytes must be an integer >= 0"),
    ({"window": 21, "weighting": "harmonic"}, "^window must be an integer >= 1 and <= 20, got 21$"),
    ({"window": "doc", "weighting": "harmonic"}, "^weighting must be 'none' with window 'doc'"),
])
def test_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match) as e:
        CoocConfig(**kwargs)
    assert e.value.param == str(e.value).split()[0]   # the library name: the CLI shows its flag


def test_cli(tmp_path):
    from typer.testing import CliRunner
    r = CliRunner()
    out = r.invoke(app, ["cooc", str(ROOT / "seeds"), "--top", "5", "--device", "cpu", "-q"])
    assert out.exit_code == 0, out.output
    assert "term_a" in out.output and "llr" in out.output
    out = r.invoke(app, ["cooc", str(ROOT / "seeds"), "--term", "nvidia", "--top", "3", "--stopwords", "fr,en",
                         "--device", "cpu", "-q"])
    assert out.exit_code == 0, out.output
    assert "associate" in out.output
    npz = tmp_path / "m.npz"
    out = r.invoke(app, ["cooc", str(ROOT / "seeds"), "--output", str(npz), "--device", "cpu", "-q"])
    assert out.exit_code == 0, out.output
    m = sp.load_npz(npz)
    lines = (tmp_path / "m.vocab.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t")[:3] == ["id", "term", "count"] and m.shape == (len(lines) - 1,) * 2
    res = run([ROOT / "seeds"], "cpu", CoocConfig())
    assert (m != res.matrix()).nnz == 0
    csv = tmp_path / "t.csv"
    out = r.invoke(app, ["cooc", str(ROOT / "seeds"), "--window", "doc", "--output", str(csv), "--device", "cpu", "-q"])
    assert out.exit_code == 0, out.output
    assert csv.read_text(encoding="utf-8").splitlines()[0].replace('"', "") == "term_a,term_b,count,pmi,ppmi,npmi,llr"
    for args, msg in ((["--window", "0"], "--window"), (["--measure", "x"], "--measure"),
                      (["--min-count", "0"], "--min-count"), (["--term", "zzzqqq"], "not in the vocabulary"),
                      (["--output", str(tmp_path / "x.txt")], "unsupported extension")):
        out = r.invoke(app, ["cooc", str(ROOT / "seeds"), "--device", "cpu", "-q", *args])
        assert out.exit_code in (1, 2), (args, out.output)
        assert msg in out.output and "Traceback" not in out.output, (args, out.output)


def test_associates_of_a_seed_term():
    # what ``corpus analyze`` shows (engine.analyze._cooccurrence): associates of a content word
    res = run([ROOT / "seeds"], "cpu", CoocConfig(window=5, text=TextOptions(stopwords=("fr", "en"))))
    at = res.associates("nvidia", "llr", 6).to_pylist()
    assert at and all(r["term"] == "nvidia" and r["associate"] != "nvidia" for r in at)
    llr = [r["llr"] for r in at]
    assert llr == sorted(llr, reverse=True)
    with pytest.raises(ParameterError, match="^term: 'zzzqqq' is not in the vocabulary") as e:
        res.associates("zzzqqq")
    assert e.value.param == "term"


def test_top_equals_head_of_full_table():
    res = run(batch_from_texts(LARGER), "cpu", CoocConfig(window=3, min_count=2))
    for measure in ("count", "npmi", "llr"):
        full = res.table(measure)
        for k in (1, 17, 300):
            assert res.table(measure, top=k).equals(full.slice(0, k)), (measure, k)


@pytest.mark.parametrize("parts", [1, 2, 3])
def test_type_table_ranges_merge_exactly(parts):
    # many tokens (several ranges), a tiny table and pool (growth while counting and merging),
    # two batches (the second meets types of the first): counts, spellings and numbers agree
    rng = np.random.default_rng(parts)
    words = [f"w{i}é" for i in range(90000)]
    table = cooc._TypeTable(cap=64, parts=parts)
    table.pool = np.empty((parts, 16), np.uint8)
    expect = {}
    for batch in range(2):
        pick = np.minimum(rng.zipf(1.3, 150_000) - 1 + batch * 5000, len(words) - 1)
        toks = [words[i] for i in pick]
        enc = [t.encode() for t in toks]
        norm = np.frombuffer(b"".join(enc), np.uint8)
        lens = np.array([len(e) for e in enc], np.int32)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
        hashes = np.array([hash_token(t) for t in toks], np.uint64)
        out = np.empty(len(toks), np.int32)
        table.add(hashes, np.empty(0, np.int64), starts, lens, norm, out)
        for t in toks:
            expect[t] = expect.get(t, 0) + 1
        spelled = table.terms(out)
        assert spelled == toks
    # aggregated rows (the GPU path: distinct hashes with counts), enough for several ranges
    agg = words[20000:20000 + (1 << 16) + 500]
    enc = [t.encode() for t in agg]
    lens = np.array([len(e) for e in enc], np.int32)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).astype(np.int64)
    reps = rng.integers(1, 50, len(agg))
    table.add(np.array([hash_token(t) for t in agg], np.uint64), reps.astype(np.int64), starts, lens,
              np.frombuffer(b"".join(enc), np.uint8))
    for t, c in zip(agg, reps.tolist()):
        expect[t] = expect.get(t, 0) + c
    assert not table.used[1:].any()
    counts = table.counts()
    assert dict(zip(table.terms(np.arange(table.numbers)), counts.tolist())) == expect
    assert sorted(table.hashes().tolist()) == sorted(hash_token(t) for t in expect)


@pytest.mark.parametrize("stop,min_len,strip", [((), 1, False), (("fr", "en"), 3, True)])
def test_fused_vocabulary_pass_equals_reference(stop, min_len, strip, monkeypatch):
    # the fused CPU pass (kernels.cpu.cooc.text_types) with one part per thread even for a small
    # batch, tables / pools / outputs that must grow mid-batch, and documents that take the exact
    # slow path (decomposed accents) tokenised apart
    monkeypatch.setattr(cooc.config, "FUSED_MIN_BYTES", 0)
    monkeypatch.setattr(cooc.config, "OUT_SLACK", 1)
    monkeypatch.setattr(cooc.config, "BYTES_PER_TOKEN", 1000)
    monkeypatch.setattr(cooc.config, "INITIAL_TYPE_CAP", 16)
    monkeypatch.setattr(cooc.config, "INITIAL_POOL", 8)
    texts = list(LARGER[:60])
    texts[3] = "Le cafe\u0301 de\u0301ja\u0300 servi, l'été à Noe\u0308l. " + texts[3]
    texts[10] = "ﬁn ½ Straße ＮＶＩＤＩＡ " + texts[10]
    texts[11] = "e\u0301"
    texts.insert(20, "")
    opts = TextOptions(stopwords=stop, min_token_len=min_len, strip_accents=strip)
    for window in (5, "doc"):
        res = run(batch_from_texts(texts), "cpu", CoocConfig(window=window, min_count=1, text=opts))
        docs = ref.doc_tokens(texts, ref.stop_set(stop, strip) if stop else frozenset(), min_len, strip)
        assert res.n_tokens == sum(len(d) for d in docs)
        vocab, rows = ref.table(docs, window, "none", 1, 50000, "llr")
        assert res.vocab == sorted(vocab, key=lambda t: (-vocab[t], t))
        got = res.table("llr").to_pylist()
        assert [(r["term_a"], r["term_b"], r["count"]) for r in got] == \
               [(r["term_a"], r["term_b"], r["count"]) for r in rows]


@pytest.mark.parametrize("seed", range(6))
def test_kth_largest_of_floats_equals_partition(seed):
    from kernels.cpu.sort import kth_largest
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 200_000))
    key = [rng.random(n), rng.integers(0, 5, n).astype(float), np.sort(rng.random(n)),
           -np.sort(-rng.random(n)), np.zeros(n)][seed % 5]
    for k in {1, 2, 17, 1000, n // 3 + 1, n}:
        if 1 <= k <= n:
            assert kth_largest(key, k) == np.partition(key, n - k)[n - k], (n, k)


def test_pair_key_cores_by_hand():
    # the one layout of a pair key (kernels.cooc_core), as the CPU and CUDA kernels build and read it
    from kernels import cooc_core as core
    for a, b in [(0, 0), (3, 1), (1, 3), (2**31 - 1, 5), (7, 2**31 - 1)]:
        lo, hi = min(a, b), max(a, b)
        key = core.pair_key(np.int32(a), np.int32(b))
        assert int(key) == (lo << 32) | hi
        assert (int(core.pair_first(key)), int(core.pair_second(key))) == (lo, hi)
        assert core.pack_pair(*core.ordered_pair(np.int32(a), np.int32(b))) == key
    # window_stop: the last token paired with token i in a document ending at e
    assert [core.window_stop(i, 10, 3) for i in (0, 6, 7, 9)] == [3, 9, 9, 9]
