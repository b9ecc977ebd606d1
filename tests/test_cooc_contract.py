"""The co-occurrence job contract (engine.job): two map/combine passes and a finish give,
over any cut of the corpus into partitions, exactly what one run gives."""
import json
import random
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.cooc import (
    CoocConfig,
    PairPartial,
    TokenCache,
    VocabPartial,
    choose_vocabulary,
    combine,
    combine_vocabulary,
    finish,
    map_partition,
    map_vocabulary,
    run,
)
from engine.corpus import CorpusReader, batch_from_texts
from engine.errors import ParameterError
from engine.output import write_table

ROOT = Path(__file__).resolve().parent.parent
SEED_TEXTS = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]


def _texts(n_docs=60, seed=11):
    rng = random.Random(seed)
    sents = [s.strip() for t in SEED_TEXTS for s in t.replace("\n", " ").split(". ") if s.strip()]
    docs = [". ".join(rng.choice(sents) for _ in range(rng.randint(1, 25))) for _ in range(n_docs)]
    docs[5] = ""                                    # an empty document
    docs[9] = "Le cafe\u0301 de\u0301ja\u0300 servi. " + docs[9]   # the exact slow path
    return docs


TEXTS = _texts()
CONFIGS = {"w5": CoocConfig(window=5, min_count=2, max_vocab=300),
           "harmonic": CoocConfig(window=7, weighting="harmonic", min_count=2, max_vocab=300, measure="npmi"),
           "doc": CoocConfig(window="doc", min_count=1, max_vocab=300)}


def _cuts(n_parts):
    """Document boundaries of ``n_parts`` partitions (uneven), or one document each (0)."""
    n = len(TEXTS)
    if n_parts == 0:
        return list(range(n + 1))
    rng = random.Random(n_parts)
    inner = sorted(rng.sample(range(1, n), n_parts - 1))
    return [0, *inner, n]


def _partitions(n_parts):
    cuts = _cuts(n_parts)
    return [[batch_from_texts(TEXTS[a:b], base=a)] for a, b in zip(cuts[:-1], cuts[1:])]


def _split_run(parts, cfg, cached=True, order=None):
    """The contract's steps over ``parts``; ``order``: the order in which partials are computed
    (they are combined in list order whatever it is)."""
    order = range(len(parts)) if order is None else order
    caches = [TokenCache(cfg.cache_bytes) if cached else None for _ in parts]
    vparts = [None] * len(parts)
    for i in order:
        vparts[i] = map_vocabulary(parts[i], "cpu", cfg, tokens=caches[i])
    vocab = choose_vocabulary(combine_vocabulary(vparts), cfg)
    pparts = [None] * len(parts)
    for i in order:
        pparts[i] = map_partition(caches[i] if cached else parts[i], "cpu", cfg, vocab)
    return finish(combine(pparts), cfg, vocab)


def _outputs(res, tmp_path, tag, measure):
    table = res.table(measure, top=200)
    csv = write_table(table, tmp_path / f"{tag}.csv")
    npz, voc = res.write_npz(tmp_path / f"{tag}.npz")
    return table.to_pylist(), csv.read_bytes(), npz.read_bytes(), voc.read_bytes()


@pytest.fixture(scope="module")
def whole():
    return {name: run(batch_from_texts(TEXTS), "cpu", cfg) for name, cfg in CONFIGS.items()}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("n_parts", [1, 2, 3, 7, 0], ids=["1", "2", "3", "7", "each"])
def test_partitions_combine_to_one_run(name, n_parts, whole, tmp_path):
    cfg = CONFIGS[name]
    one = whole[name]
    res = _split_run(_partitions(n_parts), cfg, cached=n_parts != 3)   # 3: the batches read again
    assert res.vocab == one.vocab and np.array_equal(res.term_count, one.term_count)
    for k in ("a", "b", "raw"):
        assert np.array_equal(getattr(res, k), getattr(one, k)), k
    if cfg.doc_mode:
        assert np.array_equal(res.doc_freq, one.doc_freq)
    got = _outputs(res, tmp_path, "split", cfg.measure)
    want = _outputs(one, tmp_path, "one", cfg.measure)
    assert got[0] == want[0]                                  # the table's rows
    assert got[1] == want[1] and got[2] == want[2] and got[3] == want[3]   # CSV, npz, vocabulary bytes
    assert (res.n_docs, res.n_tokens, res.n_bytes) == (one.n_docs, one.n_tokens, one.n_bytes)
    assert res.stats.counters == one.stats.counters == {"vocabulary": len(one.vocab), "pairs": one.nnz}


def test_only_the_list_order_matters(whole, tmp_path):
    cfg = CONFIGS["harmonic"]
    parts = _partitions(7)
    backwards = _split_run(parts, cfg, order=list(reversed(range(len(parts)))))
    shuffled = _split_run(parts, cfg, order=random.Random(5).sample(range(len(parts)), len(parts)))
    want = _outputs(whole["harmonic"], tmp_path, "one", "npmi")
    assert _outputs(backwards, tmp_path, "b", "npmi") == want
    assert _outputs(shuffled, tmp_path, "s", "npmi") == want
    # combine is associative: partials of partials give the same
    vparts = [map_vocabulary(p, "cpu", cfg) for p in parts]
    vocab = choose_vocabulary(combine_vocabulary(vparts), cfg)
    nested = choose_vocabulary(combine_vocabulary([combine_vocabulary(vparts[:3]),
                                                   combine_vocabulary(vparts[3:])]), cfg)
    assert nested.terms == vocab.terms and np.array_equal(nested.keys, vocab.keys)
    pparts = [map_partition(p, "cpu", cfg, vocab) for p in parts]
    flat, tree = combine(pparts), combine([combine(pparts[:4]), combine(pparts[4:])])
    assert np.array_equal(flat.dense, tree.dense) and np.array_equal(flat.keys, tree.keys)
    assert np.array_equal(flat.values, tree.values)


def test_vocabulary_partials_combine_exactly():
    cfg = CONFIGS["w5"]
    one = map_vocabulary([batch_from_texts(TEXTS)], "cpu", cfg)
    parts = [map_vocabulary(p, "cpu", cfg) for p in _partitions(7)]
    both = combine_vocabulary(parts)
    for p in (one, both, *parts):
        assert isinstance(p, VocabPartial)
        assert p.keys.dtype == np.uint64 and p.counts.dtype == np.int64 and p.doc_freq.dtype == np.int64
        assert p.first_doc.dtype == np.int64 and p.strings.dtype == np.uint8 and p.offsets.dtype == np.int64
        assert p.offsets.size == p.keys.size + 1 and p.offsets[-1] == p.strings.size
        assert np.unique(p.keys).size == p.keys.size
    assert both.stats.documents == one.stats.documents == len(TEXTS)
    assert both.stats.tokens == one.stats.tokens
    row = {}
    for p in (one, both):
        terms = p.terms(np.arange(len(p)))
        row[id(p)] = {int(k): (t, int(c), int(d), int(f)) for k, t, c, d, f in
                      zip(p.keys, terms, p.counts, p.doc_freq, p.first_doc)}
    assert row[id(one)] == row[id(both)]
    # document frequencies and first documents by hand
    from tests import reference_cooc as ref
    docs = ref.doc_tokens(TEXTS)
    df = {}
    first = {}
    for d, toks in enumerate(docs):
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
            first.setdefault(t, d)
    got = {t: (dd, f) for t, _, dd, f in row[id(one)].values()}
    assert got == {t: (df[t], first[t]) for t in df}


def test_vocabulary_without_document_statistics():
    # doc_stats=False (what run() asks: the vocabulary is chosen by counts) leaves the document
    # frequencies and first documents out, and nothing else: the same keys, counts, spellings,
    # token cache and chosen vocabulary as the full pass, alone and combined
    cfg = CONFIGS["w5"]
    parts = _partitions(3)
    full_caches, lean_caches = [TokenCache(1 << 30) for _ in parts], [TokenCache(1 << 30) for _ in parts]
    full = [map_vocabulary(p, "cpu", cfg, tokens=c) for p, c in zip(parts, full_caches)]
    lean = [map_vocabulary(p, "cpu", cfg, tokens=c, doc_stats=False) for p, c in zip(parts, lean_caches)]
    for f, g, fc, gc in zip(full, lean, full_caches, lean_caches):
        assert g.doc_freq is None and g.first_doc is None and f.doc_freq is not None
        for name in ("keys", "counts", "strings", "offsets"):
            assert np.array_equal(getattr(f, name), getattr(g, name))
        for (ft, fo), (gt, go) in zip(fc, gc):
            assert np.array_equal(ft, gt) and np.array_equal(fo, go)
    for pick in (lean[:1], lean):
        got = combine_vocabulary(pick)
        want = combine_vocabulary(full[:len(pick)])
        assert got.doc_freq is None and got.first_doc is None
        assert np.array_equal(got.keys, want.keys) and np.array_equal(got.counts, want.counts)
        assert got.terms(np.arange(len(got))) == want.terms(np.arange(len(want)))
        a, b = choose_vocabulary(got, cfg), choose_vocabulary(want, cfg)
        assert a.terms == b.terms and np.array_equal(a.keys, b.keys) and np.array_equal(a.counts, b.counts)
    mixed = combine_vocabulary([full[0], lean[1]])   # one partial without them: none combined
    assert mixed.doc_freq is None and mixed.first_doc is None


def test_pair_partials_are_arrays():
    cfg = CONFIGS["w5"]
    parts = _partitions(2)
    vocab = choose_vocabulary(combine_vocabulary([map_vocabulary(p, "cpu", cfg) for p in parts]), cfg)
    pp = map_partition(parts[0], "cpu", cfg, vocab)
    assert isinstance(pp, PairPartial) and pp.divisor == 1
    assert pp.dense.dtype == np.int64 and pp.dense.size == pp.k * pp.k and pp.k == min(1024, len(vocab))
    assert pp.keys.dtype == np.uint64 and pp.values.dtype == np.int64 and np.all(np.diff(pp.keys) > 0)
    sp = pp.sparse()   # the same pairs without a dense block (what a mixed CPU / GPU combine uses)
    assert sp.k == 0 and sp.keys.size == np.count_nonzero(pp.dense) + pp.keys.size
    for x, y in zip(pp.columns(), sp.columns()):
        assert np.array_equal(x, y)
    both = combine([pp, map_partition(parts[1], "cpu", cfg, vocab)])
    mixed = combine([sp, map_partition(parts[1], "cpu", cfg, vocab)])
    for x, y in zip(both.columns(), mixed.columns()):
        assert np.array_equal(x, y)
    with pytest.raises(ValueError, match="different weightings"):
        combine([pp, PairPartial(np.zeros(0, np.int64), 0, np.empty(0, np.uint64), np.empty(0, np.int64), 2)])


def test_paths_reader_and_batches_give_the_same(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(TEXTS)),
                      encoding="utf-8")
    cfg = CONFIGS["w5"]
    by_path = run(corpus, "cpu", cfg)
    by_list = run([str(corpus)], "cpu", cfg)
    by_reader = run(CorpusReader([corpus]), "cpu", cfg)
    by_batches = run(list(CorpusReader([corpus], batch_bytes=4096)), "cpu", cfg)
    by_batch = run(batch_from_texts(TEXTS), "cpu", cfg)
    want = by_path.table(top=300).to_pylist()
    for r in (by_list, by_reader, by_batches, by_batch):
        assert r.vocab == by_path.vocab and r.table(top=300).to_pylist() == want
    for r in (by_list, by_reader, by_batches):
        assert (r.n_docs, r.n_tokens, r.n_bytes) == (by_path.n_docs, by_path.n_tokens, by_path.n_bytes)
    assert by_path.stats.skipped == by_reader.stats.skipped and by_path.n_docs == len(TEXTS) - 1  # "" skipped
    assert by_path.stats.files == by_reader.stats.files == 1 and by_batches.stats.files == 0
    with pytest.raises(TypeError):
        run([1, 2], "cpu", cfg)


def test_stats():
    res = run(batch_from_texts(TEXTS), "cpu", CONFIGS["w5"])
    res.table(top=10)
    s = res.stats.as_dict()
    assert s["job"] == "cooc" and s["documents"] == len(TEXTS) and s["tokens"] == res.n_tokens > 0
    assert s["bytes"] == sum(len(t.encode()) for t in TEXTS)
    assert set(s["seconds"]) == {"vocabulary", "pairs", "measures", "order"}
    assert s["counters"] == {"vocabulary": len(res.vocab), "pairs": res.nnz}
    assert json.loads(res.stats.to_json()) == s


@pytest.mark.parametrize("kwargs,param", [({"window": 0}, "window"), ({"window": "x"}, "window"),
                                          ({"weighting": "log"}, "weighting"), ({"measure": 3}, "measure"),
                                          ({"min_count": 0}, "min_count"), ({"max_vocab": True}, "max_vocab"),
                                          ({"cache_bytes": "1"}, "cache_bytes"),
                                          ({"window": 25, "weighting": "harmonic"}, "window"),
                                          ({"window": "doc", "weighting": "harmonic"}, "weighting")])
def test_config_validation_names_the_parameter(kwargs, param):
    with pytest.raises(ParameterError) as e:
        CoocConfig(**kwargs)
    assert e.value.param == param and str(e.value).startswith(param + " must be")


def test_result_parameters_are_validated():
    res = run(batch_from_texts(TEXTS), "cpu", CONFIGS["w5"])
    for bad in (0, True, 2.5):
        with pytest.raises(ParameterError, match="^top must be an integer >= 1") as e:
            res.table(top=bad)
        assert e.value.param == "top"
    with pytest.raises(ParameterError, match="^measure must be one of") as e:
        res.table("dice")
    assert e.value.param == "measure"


@pytest.mark.parametrize("args,flag", [(["--window", "0"], "--window must be a positive integer or 'doc', got 0"),
                                       (["--weighting", "log"], "--weighting must be one of none, harmonic"),
                                       (["--min-count", "0"], "--min-count must be an integer >= 1, got 0"),
                                       (["--max-vocab", "0"], "--max-vocab must be an integer >= 1, got 0"),
                                       (["--measure", "x"], "--measure must be one of"),
                                       (["--top", "0"], "--top must be an integer >= 1, got 0"),
                                       (["--window", "30", "--weighting", "harmonic"], "--window must be an integer >= 1 and <= 20"),
                                       (["--term", "zzzqqq"], "--term: 'zzzqqq' is not in the vocabulary")])
def test_cli_names_the_flag(args, flag):
    out = CliRunner().invoke(app, ["cooc", str(ROOT / "seeds"), "--device", "cpu", "-q", *args])
    assert out.exit_code == 2, out.output
    assert flag in " ".join(out.output.split()) and "Traceback" not in out.output


def test_cli_stats_and_console_rows(tmp_path):
    r = CliRunner()
    csv, stats = tmp_path / "t.csv", tmp_path / "s.json"
    out = r.invoke(app, ["cooc", str(ROOT / "seeds"), "--top", "50", "-o", str(csv), "--stats", str(stats),
                         "--device", "cpu", "-q"])
    assert out.exit_code == 0, out.output
    assert len(csv.read_text(encoding="utf-8").splitlines()) == 51
    body = [ln for ln in out.output.splitlines() if ln.startswith("│")]
    assert len(body) == 0                        # --quiet with --output: no rows on the console
    loud = r.invoke(app, ["cooc", str(ROOT / "seeds"), "--top", "50", "-o", str(tmp_path / "loud.csv"),
                          "--device", "cpu"])
    assert loud.exit_code == 0, loud.output
    assert len([ln for ln in loud.output.splitlines() if ln.startswith("│")]) == 20   # 20 of the 50
    s = json.loads(stats.read_text(encoding="utf-8"))
    assert s["job"] == "cooc" and s["documents"] == 5 and s["files"] == 5 and s["counters"]["pairs"] > 0
    assert set(s["seconds"]) == {"vocabulary", "pairs", "measures", "order"}
    assert s["skipped"] == {"README, not a document": 1}
    # without --output: all --top rows on the console
    out = r.invoke(app, ["cooc", str(ROOT / "seeds"), "--top", "30", "--device", "cpu", "-q"])
    assert len([ln for ln in out.output.splitlines() if ln.startswith("│")]) == 30
    # with .npz, and alone
    npz, stats2 = tmp_path / "m.npz", tmp_path / "s2.json"
    out = r.invoke(app, ["cooc", str(ROOT / "seeds"), "-o", str(npz), "--stats", str(stats2), "--device", "cpu", "-q"])
    assert out.exit_code == 0, out.output
    assert npz.exists() and (tmp_path / "m.vocab.tsv").exists() and json.loads(stats2.read_text())["job"] == "cooc"
    stats3 = tmp_path / "s3.json"
    out = r.invoke(app, ["cooc", str(ROOT / "seeds"), "--stats", str(stats3), "--device", "cpu", "-q"])
    assert out.exit_code == 0 and json.loads(stats3.read_text())["counters"]["vocabulary"] > 0
    # planned with the other outputs: a bad --stats stops the run before any work or file
    out = r.invoke(app, ["cooc", str(ROOT / "seeds"), "-o", str(tmp_path / "u.csv"), "--stats",
                         str(tmp_path / "s.txt"), "--device", "cpu", "-q"])
    assert out.exit_code != 0 and "--stats" in out.output and "Traceback" not in out.output
    assert not (tmp_path / "u.csv").exists()
    out = r.invoke(app, ["cooc", str(ROOT / "seeds"), "-o", str(csv), "--stats", str(csv), "--device", "cpu", "-q"])
    assert out.exit_code != 0 and "Traceback" not in out.output
