"""MinHash: shingles, signatures, LSH, verification, clusters, outputs, CLI (CPU backend).

Texts go in as ``batch_from_texts(texts)`` (a list of ``str`` is a list of paths)."""
import json
import random
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from engine.backend import get_backend
from engine.cli import app
from engine.corpus import batch_from_texts
from engine.minhash import (
    MinHashConfig,
    compute_signatures,
    exact_jaccard,
    load_signatures,
    optimal_lsh_params,
    pair_estimates,
    parse_shingle,
    permutations,
    run,
    save_signatures,
    similarity_matrix,
)
from engine.text import ParameterError
from tests import reference_minhash as ref

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
ARTICLES = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("0*.txt"))]
CPU = get_backend("cpu")
T = batch_from_texts


def _variants(rng, text, n):
    """Edited copies of ``text``: words deleted / replaced / sentences shuffled at random rates."""
    words = text.split()
    vocab = sorted(set(" ".join(ARTICLES).split()))
    out = []
    for _ in range(n):
        rate = rng.choice([0.0, 0.01, 0.03, 0.05, 0.1, 0.2, 0.4])
        w = [x for x in words if rng.random() >= rate / 2]
        w = [rng.choice(vocab) if rng.random() < rate / 2 else x for x in w]
        if rng.random() < 0.3:
            sents = " ".join(w).split(". ")
            rng.shuffle(sents)
            w = ". ".join(sents).split()
        out.append(" ".join(w))
    return out


def test_shingles_and_signatures_match_plain_python():
    texts = ["Le chat dort sur le tapis rouge ce soir.", "Le chat dort sur le tapis bleu ce soir.",
             "court", "", "!!!", "Straße ﬁn déjà vu", ARTICLES[0][:500]]
    for spec in ("word:5", "word:1", "char:5", "char:2"):
        kind, n = parse_shingle(spec)
        cfg = MinHashConfig(shingle=spec, perms=64, seed=3)
        s = compute_signatures(T(texts), CPU, cfg)
        a, b = permutations(64, 3)
        for i, t in enumerate(texts):
            want = ref.shingle_set(t, kind, n)
            got = set(s.sh_hash[s.sh_offsets[i]:s.sh_offsets[i + 1]].tolist())
            assert got == want, (spec, i)
            assert (s.n_shingles[i] == 0) == (not want)
            np.testing.assert_array_equal(s.sig[i], ref.signature(want, a, b), err_msg=f"{spec} {i}")


def test_exact_jaccard_matches_reference_and_estimate_mae():
    rng = random.Random(5)
    texts = []
    for art in ARTICLES:
        texts += [art] + _variants(rng, art, 9)
    s = compute_signatures(T(texts), CPU, MinHashConfig(perms=128))
    a, b = (np.array(x, dtype=np.int64) for x in zip(*[(i, j) for g in range(5) for i in range(g * 10, g * 10 + 10)
                                                       for j in range(i + 1, g * 10 + 10)]))
    jac = exact_jaccard(s, a, b, CPU)
    sets = [ref.shingle_set(t) for t in texts]
    want = np.array([ref.jaccard(sets[i], sets[j]) for i, j in zip(a, b)])
    np.testing.assert_allclose(jac, want, rtol=0, atol=1e-15)
    est = pair_estimates(s.sig, a, b, CPU)
    mae = np.abs(est - jac).mean()
    assert jac.std() > 0.15  # the variants span a wide range of similarities
    assert mae < 0.05, mae
    assert abs((est - jac).mean()) < 0.02  # no systematic bias


def test_estimates_close_to_datasketch():
    datasketch = pytest.importorskip("datasketch")
    rng = random.Random(9)
    texts = [ARTICLES[1]] + _variants(rng, ARTICLES[1], 15)
    s = compute_signatures(T(texts), CPU, MinHashConfig(perms=128))
    mh = []
    for i in range(len(texts)):
        m = datasketch.MinHash(num_perm=128, seed=1, hashfunc=lambda v: v)
        m.update_batch((s.sh_hash[s.sh_offsets[i]:s.sh_offsets[i + 1]] >> np.uint64(32)).tolist())
        mh.append(m)
    a = np.zeros(len(texts) - 1, np.int64)
    b = np.arange(1, len(texts), dtype=np.int64)
    ours = pair_estimates(s.sig, a, b, CPU)
    theirs = np.array([mh[0].jaccard(mh[j]) for j in b])
    exact = exact_jaccard(s, a, b, CPU)
    assert not np.array_equal(ours, theirs)  # different hash functions ...
    assert np.abs(ours - theirs).mean() < 0.06  # ... statistically the same estimator
    assert np.abs(theirs - exact).mean() < 0.05 and np.abs(ours - exact).mean() < 0.05


@pytest.mark.parametrize("perms", [16, 64, 128, 256])
def test_lsh_parameters_match_datasketch(perms):
    lsh = pytest.importorskip("datasketch.lsh")
    for t in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95):
        for fp, fn in ((0.5, 0.5), (0.1, 0.9)):
            assert optimal_lsh_params(t, perms, fp, fn) == lsh._optimal_param(t, perms, fp, fn), (t, perms, fp, fn)


def _planted_corpus(seed=0, n_base=300, n_dup=150):
    """Random documents of real French words, plus edited copies at known rates."""
    rng = random.Random(seed)
    vocab = sorted(set(" ".join(ARTICLES).lower().split()))
    docs = [" ".join(rng.choice(vocab) for _ in range(rng.randint(80, 250))) for _ in range(n_base)]
    for _ in range(n_dup):
        src = rng.randrange(n_base)
        w = docs[src].split()
        rate = rng.uniform(0.0, 0.04)
        w = [rng.choice(vocab) if rng.random() < rate else x for x in w]
        docs.append(" ".join(w))
    return docs


def test_recall_on_planted_near_duplicates():
    docs = _planted_corpus()
    cfg = MinHashConfig(threshold=0.7)
    res = run(T(docs), CPU, cfg)
    n = len(docs)
    s = res.sigs
    a, b = np.triu_indices(n, 1)
    jac = exact_jaccard(s, a, b, CPU)
    truth = set(zip(a[jac >= 0.75].tolist(), b[jac >= 0.75].tolist()))
    found = set(zip(res.pair_a.tolist(), res.pair_b.tolist()))
    assert len(truth) >= 100
    recall = len(truth & found) / len(truth)
    assert recall >= 0.95, recall
    assert (res.jaccard >= 0.7).all()                     # nothing below the threshold
    assert (res.pair_a < res.pair_b).all()
    # clusters: the representative is the first member in corpus order
    for r in np.unique(res.rep[res.size >= 2]):
        members = np.flatnonzero(res.rep == r)
        assert members.min() == r
    assert res.summary()["documents removed"] == int(res.removed.sum()) > 50


def test_empty_documents_and_short_documents():
    texts = ["", "!!!", "...", "un deux", "un deux", "un deux trois quatre cinq six"]
    res = run(T(texts), CPU, MinHashConfig(threshold=0.9))
    assert res.summary()["empty documents"] == 3
    pairs = set(zip(res.pair_a.tolist(), res.pair_b.tolist()))
    assert pairs == {(3, 4)}  # short documents are one shingle each; empty ones never pair
    assert res.rep.tolist() == [0, 1, 2, 3, 3, 5]


def test_hot_bucket_is_a_chain():
    texts = ["le même texte répété à l'identique dans tout le corpus de test"] * 200 + ["autre chose entièrement"]
    res = run(T(texts), CPU, MinHashConfig(max_bucket=16))
    assert res.cand_a.size == 199  # chain, not 19900 pairs
    assert res.summary()["clusters"] == 1 and res.summary()["documents removed"] == 199
    assert (res.rep[:200] == 0).all() and res.size[0] == 200
    small = run(T(texts[:10]), CPU, MinHashConfig(max_bucket=16))
    assert small.cand_a.size == 45


def test_no_verify_uses_the_estimate():
    docs = _planted_corpus(seed=3, n_base=60, n_dup=40)
    res = run(T(docs), CPU, MinHashConfig(threshold=0.7, verify=False))
    assert np.isnan(res.jaccard).all() and (res.estimate >= 0.7).all() and res.pair_a.size > 20
    assert res.sigs.sh_hash is None


@pytest.mark.parametrize("kwargs,msg", [
    ({"perms": 0}, "perms must be an integer >= 1 and <= 4096, got 0"),
    ({"perms": -3}, "perms must be an integer >= 1 and <= 4096, got -3"),
    ({"perms": True}, "perms must be an integer >= 1 and <= 4096, got True"),
    ({"threshold": 0.0}, "threshold must be a number > 0.0 and <= 1.0, got 0.0"),
    ({"threshold": 1.5}, "threshold must be a number > 0.0 and <= 1.0, got 1.5"),
    ({"bands": 20, "rows": 7}, "bands must be such that bands x rows <= perms (128), got 20 x 7 = 140"),
    ({"bands": 4}, "bands must be given together with rows, got bands=4, rows=None"),
    ({"shingle": "word"}, "shingle must be word:N or char:N with N an integer >= 1 and <= 64, got 'word'"),
    ({"shingle": "word:0"}, "shingle must be word:N"), ({"shingle": "line:3"}, "shingle must be word:N"),
    ({"shingle": "char:x"}, "shingle must be word:N"), ({"shingle": "char:65"}, "<= 64, got 'char:65'"),
    ({"max_bucket": 1}, "max_bucket must be an integer >= 2, got 1"),
    ({"seed": -1}, "seed must be an integer >= 0, got -1"),
    ({"verify": 1}, "verify must be True or False, got 1"),
])
def test_bad_parameters(kwargs, msg):
    with pytest.raises(ParameterError) as e:
        MinHashConfig(**kwargs)
    assert msg in str(e.value) and str(e.value).startswith(e.value.param)


def test_saved_signatures_and_incremental_add(tmp_path):
    docs = _planted_corpus(seed=4, n_base=40, n_dup=0)
    old, new = docs[:30], [docs[5], "quelque chose de neuf et de différent", docs[35], docs[35]]
    cfg = MinHashConfig(threshold=0.8)
    first = run(T(old), CPU, cfg)
    path = save_signatures(first.sigs, tmp_path / "sig.parquet")
    base = load_signatures(path)
    np.testing.assert_array_equal(base.sig, first.sigs.sig)
    res = run(T(new), CPU, cfg, base=base)
    assert res.n_base == 30
    pairs = set(zip(res.pair_a.tolist(), res.pair_b.tolist()))
    assert pairs == {(5, 30), (32, 33)}
    assert res.keep_new.tolist() == [False, True, True, False]
    assert np.isnan(res.jaccard[0]) and res.jaccard[1] == 1.0  # saved docs: estimate only
    with pytest.raises(ParameterError, match="perms"):
        run(T(new), CPU, MinHashConfig(perms=64), base=base)


def test_similarity_matrix_of_seed_articles():
    ids, m = similarity_matrix([SEEDS / p.name for p in sorted(SEEDS.glob("0*.txt"))], CPU,
                               MinHashConfig(shingle="char:5"))
    assert len(ids) == 5 and np.allclose(np.diag(m), 1) and np.allclose(m, m.T)
    off = m[~np.eye(5, dtype=bool)]
    assert 0.05 < off.min() and off.max() < 0.4  # same topic, different articles


runner = CliRunner()


def _jsonl(tmp_path, docs):
    p = tmp_path / "in.jsonl"
    p.write_text("".join(json.dumps({"id": f"d{i}", "text": t}, ensure_ascii=False) + "\n"
                         for i, t in enumerate(docs)), encoding="utf-8")
    return p


def test_cli_minhash_outputs(tmp_path):
    docs = _planted_corpus(seed=6, n_base=30, n_dup=10)
    inp = _jsonl(tmp_path, docs)
    r = runner.invoke(app, ["minhash", str(inp), "--device", "cpu", "--threshold", "0.7",
                            "--output", str(tmp_path / "pairs.parquet"),
                            "--clusters", str(tmp_path / "clusters.csv"),
                            "--dedup-output", str(tmp_path / "kept.jsonl"),
                            "--save-signatures", str(tmp_path / "sig.parquet")])
    assert r.exit_code == 0, r.output
    for word in ("documents", "shingles", "candidate pairs", "verified pairs", "clusters", "documents removed"):
        assert word in r.output
    pairs = pq.read_table(tmp_path / "pairs.parquet")
    assert pairs.column_names == ["doc_a", "doc_b", "estimate", "jaccard"] and pairs.num_rows >= 10
    assert min(pairs.column("jaccard").to_pylist()) >= 0.7
    kept = [json.loads(x) for x in (tmp_path / "kept.jsonl").read_text(encoding="utf-8").splitlines()]
    clusters = (tmp_path / "clusters.csv").read_text().splitlines()
    assert clusters[0].replace('"', "") == "doc_id,cluster,size"
    removed = {ln.split(",")[0].strip('"') for ln in clusters[1:]
               if ln.split(",")[0] != ln.split(",")[1]}
    assert [k["id"] for k in kept] == [f"d{i}" for i in range(len(docs)) if f"d{i}" not in removed]
    assert kept[0]["text"] == docs[0] and len(kept) < len(docs)
    assert load_signatures(tmp_path / "sig.parquet").n_docs == len(docs)


def test_cli_similarity_and_errors(tmp_path):
    r = runner.invoke(app, ["similarity", str(SEEDS), "--device", "cpu", "-q", "--output", str(tmp_path / "m.npy")])
    assert r.exit_code == 0, r.output
    m = np.load(tmp_path / "m.npy")
    assert m.shape[0] == m.shape[1] >= 5
    r = runner.invoke(app, ["similarity", str(SEEDS), "--device", "cpu", "-q", "--max-docs", "3"])
    assert r.exit_code == 1 and "more than 3 documents" in r.output
    r = runner.invoke(app, ["minhash", str(SEEDS), "--device", "cpu", "-q", "--perms", "0"])
    assert r.exit_code == 2 and "--perms must be an integer >= 1 and <= 4096, got 0" in r.output
    r = runner.invoke(app, ["minhash", str(SEEDS), "--device", "cpu", "-q", "--bands", "40", "--rows", "4"])
    assert r.exit_code == 2 and "--bands must be such that bands x rows <= perms (128), got 40 x 4" in r.output
    r = runner.invoke(app, ["minhash", str(SEEDS), "--device", "cpu", "-q", "--max-bucket", "1"])
    assert r.exit_code == 2 and "--max-bucket must be an integer >= 2, got 1" in r.output
    r = runner.invoke(app, ["similarity", str(SEEDS), "--device", "cpu", "-q", "--max-docs", "0"])
    assert r.exit_code == 2 and "--max-docs must be an integer >= 1, got 0" in r.output


def test_console_tables():
    """The matrix and the summary as ``corpus similarity`` / ``minhash`` (and analyze) print them."""
    from rich.console import Console

    from engine.console import print_matrix, print_summary
    con = Console(record=True, width=200)
    ids, m = similarity_matrix([SEEDS], CPU, MinHashConfig(shingle="char:5"))
    print_matrix(ids, m, con, "Near-duplicates")
    docs = _planted_corpus(seed=8, n_base=20, n_dup=5)
    res = run(T(docs), CPU)
    print_summary(res.summary(), con)
    text = con.export_text()
    assert "Near-duplicates" in text and ids[0][:29] in text and "1.00" in text
    assert "documents removed" in text and res.summary()["documents removed"] >= 3


@pytest.mark.parametrize("spec,opts", [("word:5", {}), ("word:2", {"stopwords": ("fr",), "min_token_len": 3}),
                                       ("char:5", {"strip_accents": True}), ("word:3", {"strip_accents": True})])
def test_fused_text_kernel_equals_unfused_path(spec, opts):
    """The CPU's one-pass kernel (text -> signature) = tokenize -> shingles -> signatures, bit for bit."""
    from engine.minhash import batch_signatures, shingles, signatures_from_hashes, unique_shingles
    from engine.text import TextOptions, tokenize
    texts = ["", "  ", "un deux", "Straße ﬁn déjà vu « citation » 😀 日本語 Ｎｖｉｄｉａ",
             "e\u0301te\u0301 à la plage, le de la et",  # combining accents: the exact slow path
             "\ufdfa " * 40, ARTICLES[2], ARTICLES[0] * 30] + ARTICLES  # 30x: sized exactly first
    cfg = MinHashConfig(shingle=spec, perms=32, seed=11, text=TextOptions(**opts))
    batch = batch_from_texts(texts)
    sig, nsh = batch_signatures(batch, CPU, cfg)
    h, off = shingles(tokenize(batch, CPU, cfg.text), cfg, CPU)
    np.testing.assert_array_equal(nsh, np.diff(off))
    np.testing.assert_array_equal(sig, signatures_from_hashes(h, off, cfg, CPU))
    assert nsh[0] == 0 and (nsh[3:] > 0).all()
    # exact verification's one-pass shingle sets = shingles -> per-document sort/unique
    s = compute_signatures(T(texts), CPU, cfg)
    np.testing.assert_array_equal(s.sig, sig)
    docs = np.array([1, 3, 4, 5, 7, 9])  # a subset, with the slow-path and the huge document
    uh, uoff = s.source.shingle_sets(docs, s.n_shingles[docs], CPU)
    wh, woff = unique_shingles(*shingles(tokenize(batch_from_texts([texts[d] for d in docs]), CPU, cfg.text),
                                         cfg, CPU), CPU)
    np.testing.assert_array_equal(uoff, woff)
    np.testing.assert_array_equal(uh, wh)
