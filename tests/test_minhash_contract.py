"""The MinHash job contract (engine.job): one ``run`` over every kind of corpus argument, and
``finish(combine(map_partition(...) per partition))`` equal to one partition, byte for byte."""
import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from engine.backend import get_backend
from engine.cli import app
from engine.corpus import CorpusReader, batch_from_texts
from engine.errors import ParameterError
from engine.minhash import (
    MinHashConfig,
    MinHashPartial,
    MinHashResult,
    combine,
    finish,
    map_partition,
    run,
    run_similarity,
    similarity_matrix,
)
from engine.output import write_table

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
CPU = get_backend("cpu")
CONFIGS = {"word5": MinHashConfig(threshold=0.7),
           "char5": MinHashConfig(shingle="char:5", threshold=0.7),
           "estimate": MinHashConfig(threshold=0.7, verify=False)}


def _docs(seed=0, n_base=40, n_dup=25):
    """Random documents of French words and edited copies, some exact, a few empty."""
    rng = random.Random(seed)
    vocab = sorted(set(" ".join(p.read_text(encoding="utf-8") for p in SEEDS.glob("0*.txt")).lower().split()))
    docs = [" ".join(rng.choice(vocab) for _ in range(rng.randint(30, 120))) for _ in range(n_base)]
    for _ in range(n_dup):
        w = docs[rng.randrange(n_base)].split()
        rate = rng.choice([0.0, 0.01, 0.03])
        docs.append(" ".join(rng.choice(vocab) if rng.random() < rate else x for x in w))
    docs[3] = docs[17] = "!!! ..."   # no word: empty documents (word shingles), never paired
    docs[5] = "deux mots"            # one shingle
    return docs


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    docs = _docs()
    ids = [f"doc-{i}" if i % 9 else f"doc-é{i}" for i in range(len(docs))]
    path = tmp_path_factory.mktemp("contract") / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n"
                            for i, t in zip(ids, docs)), encoding="utf-8")
    return path, ids, docs


def _same(res: MinHashResult, ref: MinHashResult):
    for kind in ("pairs", "clusters"):
        assert res.table(kind).equals(ref.table(kind)), kind
    np.testing.assert_array_equal(res.keep_new, ref.keep_new)
    np.testing.assert_array_equal(res.cand_a, ref.cand_a)
    np.testing.assert_array_equal(res.cand_b, ref.cand_b)
    assert res.summary() == ref.summary()
    for k in ("documents_removed", "candidate_pairs", "verified_pairs", "clusters", "shingles",
              "empty_documents"):
        assert res.stats.counters[k] == ref.stats.counters[k], k
    assert res.stats.documents == ref.stats.documents and res.stats.bytes == ref.stats.bytes


def _written(res: MinHashResult, corpus_path: Path, folder: Path) -> dict:
    """The bytes of every output of ``res`` (pairs and clusters as CSV and JSONL, kept documents)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for kind in ("pairs", "clusters"):
        for ext in ("csv", "jsonl"):
            p = folder / f"{kind}.{ext}"
            res.write(p, kind)
            out[p.name] = p.read_bytes()
    p = folder / "kept.jsonl"
    n = res.write_dedup(corpus_path, p)
    assert n == int(res.keep_new.sum())
    out[p.name] = p.read_bytes()
    return out


# ---------------------------------------------------------------------------- the corpus argument
@pytest.mark.parametrize("name", list(CONFIGS))
def test_paths_reader_and_batches_give_the_same_result(corpus, name):
    path, ids, docs = corpus
    cfg = CONFIGS[name]
    ref = run(path, "cpu", cfg)
    assert ref.summary()["verified pairs"] >= 15
    assert ref.summary()["empty documents"] == (2 if cfg.shingle_kind == "word" else 0)
    assert ref.doc_ids == ids
    batches = list(CorpusReader([path], batch_bytes=2000))
    assert len(batches) > 3
    for corpus_arg in (str(path), [path], [str(path)], CorpusReader([path]), batches,
                       batch_from_texts(docs, ids), [batch_from_texts(docs, ids)]):
        _same(run(corpus_arg, CPU, cfg), ref)


def test_paths_are_read_not_taken_as_texts(corpus, tmp_path):
    path, ids, _ = corpus
    res = run([str(path)], "cpu")           # a list of str: paths (it used to be texts)
    assert res.stats.documents == len(ids) and res.stats.files == 1
    with pytest.raises(Exception, match="no such|not found|does not exist|No such"):
        run([str(tmp_path / "missing.jsonl")], "cpu")
    with pytest.raises(TypeError, match="corpus must be"):
        run([1, 2], "cpu")


def test_the_result_and_its_stats(corpus):
    path, ids, docs = corpus
    res = run(path, "cpu", CONFIGS["word5"])
    s = res.stats
    assert s.job == "minhash" and s.backend.startswith("cpu") and s.documents == len(ids) and s.files == 1
    assert s.bytes == sum(len(t.encode("utf-8")) for t in docs)
    c = s.counters
    summ = res.summary()
    assert c["shingles"] == summ["shingles"] and c["candidate_pairs"] == summ["candidate pairs"]
    assert c["verified_pairs"] == summ["verified pairs"] == res.table("pairs").num_rows
    assert c["clusters"] == summ["clusters"] and c["documents_removed"] == summ["documents removed"]
    assert {"read", "signatures", "lsh", "verify", "clusters"} <= set(s.seconds)
    d = json.loads(s.to_json())
    assert d["job"] == "minhash" and d["counters"]["verified_pairs"] == c["verified_pairs"]
    assert res.table("pairs").column_names == ["doc_a", "doc_b", "estimate", "jaccard"]
    assert res.table("clusters").column_names == ["doc_id", "cluster", "size"]
    with pytest.raises(ParameterError, match="kind must be one of pairs, clusters, got 'x'"):
        res.table("x")


# ---------------------------------------------------------------------------- the partial
def test_partial_is_plain_arrays(corpus):
    path, ids, docs = corpus
    ids = list(ids)
    ids[1] = "lone \ud800 surrogate, 日本"   # ids round-trip exactly through the flat UTF-8
    p = map_partition([batch_from_texts(docs, ids)], "cpu", CONFIGS["word5"])
    assert isinstance(p, MinHashPartial) and p.backend == "cpu" and p.stats.job == "minhash"
    n = len(docs)
    assert p.sig.dtype == np.uint32 and p.sig.shape == (n, 128) and p.sig.flags.c_contiguous
    assert p.n_shingles.dtype == np.int64 and p.n_shingles.shape == (n,)
    assert p.id_data.dtype == np.uint8 and p.id_offsets.dtype == np.int64 and p.id_offsets.size == n + 1
    assert p.text_data.dtype == np.uint8 and p.text_offsets.size == n + 1 and p.has_texts
    assert p.doc_ids == ids
    assert bytes(p.text_data[p.text_offsets[7]:p.text_offsets[8]]).decode() == docs[7]
    assert p.stats.documents == n and p.stats.counters["shingles"] == int(p.n_shingles.sum())
    q = map_partition([batch_from_texts(docs, ids)], "cpu", CONFIGS["estimate"])  # no texts kept
    assert not q.has_texts and q.text_data.size == 0
    np.testing.assert_array_equal(q.sig, p.sig)


def _partials(ids, docs, cuts, cfg, batches_per_part=1):
    """One partial per [cuts[i], cuts[i+1]) slice, each from ``batches_per_part`` batches."""
    out = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        inner = np.linspace(lo, hi, batches_per_part + 1).astype(int)
        out.append(map_partition([batch_from_texts(docs[a:b], ids[a:b], base=a)
                                  for a, b in zip(inner[:-1], inner[1:])], CPU, cfg))
    return out


@pytest.mark.parametrize("name", list(CONFIGS))
def test_combine_over_partitions_equals_one(corpus, tmp_path, name):
    path, ids, docs = corpus
    cfg = CONFIGS[name]
    n = len(docs)
    one = finish(combine([map_partition(CorpusReader([path]), CPU, cfg)]), cfg)
    _same(one, run(path, CPU, cfg))
    want = _written(one, path, tmp_path / "one")
    assert want["pairs.csv"].count(b"\n") > 15
    for parts in (1, 2, 3, 7, n):   # n: one document each
        cuts = np.linspace(0, n, parts + 1).astype(int).tolist()
        for per in ((1, 2) if parts < n else (1,)):
            res = finish(combine(_partials(ids, docs, cuts, cfg, per)), cfg)
            _same(res, one)
            assert _written(res, path, tmp_path / f"{parts}-{per}") == want, (parts, per)


def test_only_the_list_order_matters(corpus):
    """Partials computed in any order (here: last first) combine to the same result; the
    order of the list is the corpus order."""
    path, ids, docs = corpus
    cfg = CONFIGS["word5"]
    cuts = [0, 10, 33, 50, len(docs)]
    ref = finish(combine(_partials(ids, docs, cuts, cfg)), cfg)
    backwards = [None] * (len(cuts) - 1)
    for k in reversed(range(len(cuts) - 1)):
        backwards[k] = _partials(ids, docs, cuts[k:k + 2], cfg)[0]
    _same(finish(combine(backwards), cfg), ref)
    # the combined partial is the documents in list order, whatever each partial's numbering
    swapped = combine(backwards[::-1])
    assert swapped.doc_ids == ids[cuts[3]:] + ids[cuts[2]:cuts[3]] + ids[cuts[1]:cuts[2]] + ids[:cuts[1]]
    c = combine(backwards)
    np.testing.assert_array_equal(c.sig, map_partition([batch_from_texts(docs, ids)], CPU, cfg).sig)
    assert c.stats.documents == len(docs) and combine([c]) is c
    with pytest.raises(ValueError):
        combine([])


def test_saved_signatures_with_partitions(corpus, tmp_path):
    """An incremental run (saved base + new corpus) is the same from one or several partitions."""
    from engine.minhash import load_signatures, save_signatures
    path, ids, docs = corpus
    cfg = CONFIGS["word5"]
    first = run(batch_from_texts(docs[:30], ids[:30]), CPU, cfg)
    base = load_signatures(save_signatures(first.sigs, tmp_path / "s.parquet"))
    ref = run(batch_from_texts(docs[30:], ids[30:]), CPU, cfg, base=base)
    assert ref.n_base == 30 and ref.summary()["verified pairs"] > 0
    res = finish(combine(_partials(ids[30:], docs[30:], [0, 5, 20, len(docs) - 30], cfg)), cfg, base=base)
    _same(res, ref)


# ---------------------------------------------------------------------------- config validation
@pytest.mark.parametrize("kwargs,param", [
    ({"perms": 0}, "perms"), ({"perms": 4097}, "perms"), ({"perms": True}, "perms"), ({"perms": 2.0}, "perms"),
    ({"threshold": 0}, "threshold"), ({"threshold": float("nan")}, "threshold"), ({"threshold": "0.8"}, "threshold"),
    ({"threshold": True}, "threshold"), ({"bands": 0, "rows": 1}, "bands"), ({"bands": 2, "rows": 0}, "rows"),
    ({"bands": 2}, "bands"), ({"bands": 200, "rows": 1}, "bands"), ({"seed": -1}, "seed"),
    ({"seed": False}, "seed"), ({"verify": "yes"}, "verify"), ({"max_bucket": 1}, "max_bucket"),
    ({"max_bucket": True}, "max_bucket"), ({"shingle": "word:"}, "shingle"), ({"shingle": 5}, "shingle"),
])
def test_config_errors_name_the_parameter(kwargs, param):
    with pytest.raises(ParameterError) as e:
        MinHashConfig(**kwargs)
    assert e.value.param == param and str(e.value).startswith(f"{param} must be")
    assert "got" in str(e.value)
    assert e.value.for_flag().startswith("--" + param.replace("_", "-") + " must be")


def test_config_normalises_numpy_values():
    cfg = MinHashConfig(perms=np.int64(64), seed=np.int32(3), threshold=np.float32(0.5))
    assert type(cfg.perms) is int and type(cfg.seed) is int and type(cfg.threshold) is float
    assert cfg == MinHashConfig(perms=64, seed=3, threshold=0.5)


@pytest.mark.parametrize("args,flag", [(["--perms", "0"], "--perms must be an integer >= 1"),
                                       (["--threshold", "0"], "--threshold must be a number > 0.0"),
                                       (["--max-bucket", "1"], "--max-bucket must be an integer >= 2"),
                                       (["--shingle", "line:3"], "--shingle must be word:N or char:N"),
                                       (["--seed", "-2"], "--seed must be an integer >= 0, got -2")])
def test_cli_shows_the_flag(args, flag):
    r = CliRunner().invoke(app, ["minhash", str(SEEDS), "--device", "cpu", "-q", *args])
    assert r.exit_code == 2 and flag in r.output, r.output


# ---------------------------------------------------------------------------- similarity
def test_similarity_job(corpus):
    path, ids, docs = corpus
    cfg = MinHashConfig()
    res = run_similarity(path, "cpu", cfg)
    assert res.doc_ids == ids and res.matrix.shape == (len(ids), len(ids))
    for other in (CorpusReader([path]), [batch_from_texts(docs, ids)], batch_from_texts(docs, ids)):
        o = run_similarity(other, CPU, cfg)
        np.testing.assert_array_equal(o.matrix, res.matrix)
        assert o.table().equals(res.table())
    ids2, m = similarity_matrix(path, CPU, cfg)
    assert ids2 == ids and np.array_equal(m, res.matrix, equal_nan=True)
    assert np.isnan(res.matrix[3]).all() and np.isnan(res.matrix[:, 17]).all()
    t = res.table()
    assert t.column_names[0] == "doc_id" and t.num_columns == len(ids) + 1
    assert res.stats.job == "similarity" and res.stats.documents == len(ids) and res.stats.files == 1
    assert res.stats.counters["pairs"] == len(ids) * (len(ids) - 1) // 2 and "matrix" in res.stats.seconds
    ex = run_similarity(path, CPU, cfg, exact=True)
    assert ex.exact and np.nanmax(np.abs(ex.matrix - res.matrix)) < 0.3
    with pytest.raises(ParameterError, match="max_docs must be an integer >= 1, got 0"):
        run_similarity(path, CPU, cfg, max_docs=0)


# ---------------------------------------------------------------------------- CLI --stats
def test_cli_stats(tmp_path, corpus):
    path, ids, _ = corpus
    runner = CliRunner()
    r = runner.invoke(app, ["minhash", str(path), "--device", "cpu", "-q", "--threshold", "0.7",
                            "-o", str(tmp_path / "p.csv"), "--stats", str(tmp_path / "s.json")])
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))
    ref = run(path, CPU, CONFIGS["word5"])
    assert s["job"] == "minhash" and s["documents"] == len(ids) and s["files"] == 1
    for k in ("shingles", "candidate_pairs", "verified_pairs", "clusters", "documents_removed"):
        assert s["counters"][k] == ref.stats.counters[k], k
    assert {"signatures", "lsh", "verify", "clusters"} <= set(s["seconds"])
    write_table(ref.table("pairs"), tmp_path / "ref.csv")
    assert (tmp_path / "p.csv").read_bytes() == (tmp_path / "ref.csv").read_bytes()
    r = runner.invoke(app, ["similarity", str(path), "--device", "cpu", "-q", "--stats", str(tmp_path / "t.json")])
    assert r.exit_code == 0, r.output
    s = json.loads((tmp_path / "t.json").read_text(encoding="utf-8"))
    assert s["job"] == "similarity" and s["documents"] == len(ids)
    r = runner.invoke(app, ["minhash", str(path), "--device", "cpu", "-q", "--stats", str(tmp_path / "s.txt")])
    assert r.exit_code != 0 and "--stats" in r.output and not (tmp_path / "s.txt").exists()
    # planned with the other outputs: the same path twice is refused before any work
    r = runner.invoke(app, ["minhash", str(path), "--device", "cpu", "-q", "--stats", str(tmp_path / "x.json"),
                            "--clusters", str(tmp_path / "x.json")])
    assert r.exit_code != 0 and not (tmp_path / "x.json").exists()
