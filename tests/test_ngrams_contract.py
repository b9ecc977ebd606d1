"""The n-gram job contract (engine.job): map_partition -> combine -> finish equals one run,
byte for byte, however the corpus is partitioned and in whatever order partials are made."""
from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from engine import ngrams
from engine.corpus import CorpusReader, batch_from_texts
from engine.errors import ParameterError
from engine.ngrams import NgramConfig, NgramPartial
from engine.stats import JobStats
from engine.text import TextOptions
from tests import reference

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_TEXTS = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
TEXTS = SEED_TEXTS + ["", "un", "Nvidia et OpenAI. Nvidia, OpenAI !", "cafe\u0301 Ｎｖｉｄｉａ ﬁn 😀 日本語"] * 2

CONFIGS = {
    "words 1-3": NgramConfig(n="1-3"),
    "top 5, min 2": NgramConfig(n="1-2", top=5, min_count=2, text=TextOptions(stopwords=("fr", "en"))),
    "char 2-4 top 40": NgramConfig(n="2-4", char=True, top=40),
    "memory 1MB": NgramConfig(n="1-3", memory="1MB"),
}


def partitions(texts, k):
    """``texts`` cut into ``k`` contiguous partitions (lists of batches), global doc numbers."""
    bounds = np.linspace(0, len(texts), k + 1).round().astype(int)
    return [[batch_from_texts(texts[a:b], ids=[str(i) for i in range(a, b)], base=int(a))]
            for a, b in zip(bounds[:-1], bounds[1:])]


def one_run(texts, cfg):
    return ngrams.run([batch_from_texts(texts)], "cpu", cfg)


def csv_bytes(result, tmp_path, name):
    path = tmp_path / f"{name}.csv"
    result.write(path)
    return path.read_bytes()


def as_dict(table):
    return {(r["ngram"], r["n"]): (r["count"], r["doc_freq"]) for r in table.to_pylist()}


def test_run_equals_the_reference_on_seeds():
    res = ngrams.run([SEEDS], "cpu", NgramConfig(n="1-3"))
    assert as_dict(res.table()) == reference.word_ngram_counts(SEED_TEXTS, (1, 2, 3))
    assert res.table().column_names == ["ngram", "n", "count", "doc_freq"]
    char = ngrams.run([SEEDS], "cpu", NgramConfig(n="3-4", char=True)).table()
    assert as_dict(char) == reference.char_ngram_counts(SEED_TEXTS, (3, 4))


def test_run_stats():
    res = ngrams.run([SEEDS], "cpu", NgramConfig(n="1-2"))
    st = res.stats
    assert st.job == "ngrams" and st.documents == len(SEED_TEXTS) and st.files == len(SEED_TEXTS)
    assert st.tokens == sum(len(reference.tokens(t)) for t in SEED_TEXTS)
    assert st.bytes == sum(len(t.encode()) for t in SEED_TEXTS)
    assert {"read", "tokenize", "hash", "count", "strings", "order"} <= set(st.seconds)
    assert st.counters["rows"] == res.table().num_rows
    assert st.counters["distinct_n1"] + st.counters["distinct_n2"] == res.table().num_rows
    assert '"job": "ngrams"' in st.to_json()


@pytest.mark.parametrize("cfg", list(CONFIGS.values()), ids=list(CONFIGS))
@pytest.mark.parametrize("k", [1, 2, 3, 7, len(TEXTS)], ids=lambda k: f"{k}-parts")
def test_combine_over_partitions_equals_one_partition(cfg, k, tmp_path):
    whole = one_run(TEXTS, cfg)
    parts = [ngrams.map_partition(p, "cpu", cfg) for p in partitions(TEXTS, k)]
    got = ngrams.finish(ngrams.combine(parts), cfg)
    assert got.table().to_pylist() == whole.table().to_pylist()
    assert got.table().equals(whole.table())
    assert csv_bytes(got, tmp_path, "parts") == csv_bytes(whole, tmp_path, "whole")
    assert (got.stats.documents, got.stats.tokens, got.stats.bytes) == \
        (whole.stats.documents, whole.stats.tokens, whole.stats.bytes)


@pytest.mark.parametrize("k", [1, 3])
def test_spilled_partials_combine_to_the_unspilled_table(k):
    """Partials whose counters spilled to disk (strings read back from the spill files)."""
    from pydoc_data.topics import topics
    docs = [topics[t] for t in sorted(topics)][:120]
    cfg = NgramConfig(n="1-3", memory="1MB")
    parts = [ngrams.map_partition(p, "cpu", cfg) for p in partitions(docs, k)]
    assert all(p.stats.counters["spills"] > 0 for p in parts)
    got = ngrams.finish(ngrams.combine(parts), cfg).table()
    assert got.equals(one_run(docs, NgramConfig(n="1-3")).table())


def test_combine_depends_only_on_the_list_order():
    cfg = CONFIGS["words 1-3"]
    parts = partitions(TEXTS, 7)
    ref = ngrams.combine([ngrams.map_partition(p, "cpu", cfg) for p in parts])
    order = list(range(len(parts)))
    random.Random(3).shuffle(order)
    with ThreadPoolExecutor(3) as pool:   # computed in a shuffled order, listed in corpus order
        futures = {i: pool.submit(ngrams.map_partition, parts[i], "cpu", cfg) for i in order}
        got = ngrams.combine([futures[i].result() for i in range(len(parts))])
    for name in ("keys", "n", "counts", "doc_freq", "first", "data", "offsets"):
        np.testing.assert_array_equal(getattr(got, name), getattr(ref, name), err_msg=name)


def test_partial_arrays():
    texts = ["a b a", "b c", "", "c a b"]
    p = ngrams.map_partition([batch_from_texts(texts[:2]), batch_from_texts(texts[2:], base=2)],
                             "cpu", NgramConfig(n="1-2"))
    assert (p.keys.dtype, p.n.dtype, p.counts.dtype, p.doc_freq.dtype, p.first.dtype,
            p.data.dtype, p.offsets.dtype) == (np.uint64, np.int8, np.int64, np.int64, np.int64,
                                               np.uint8, np.int64)
    assert p.offsets.size == len(p) + 1 and p.offsets[-1] == p.data.size
    rows = {(p.string(i), int(p.n[i])): (int(p.counts[i]), int(p.doc_freq[i]), int(p.first[i]))
            for i in range(len(p))}
    expected = reference.word_ngram_counts(texts, (1, 2))
    assert {k: v[:2] for k, v in rows.items()} == expected
    # the first occurrence: (document << 32) | position of the n-gram in it
    for (g, n), (_, _, first) in rows.items():
        doc, pos = first >> ngrams.partial.FIRST_SHIFT, first & 0xFFFFFFFF
        toks = reference.tokens(texts[doc])
        assert " ".join(toks[pos:pos + n]) == g
        assert all(g not in [" ".join(reference.tokens(t)[i:i + n]) for i in range(9)]
                   for t in texts[:doc])


def _partial(rows, stats=None):
    """A hand-made partial from (key, n, count, doc_freq, first, string) rows."""
    data = b"".join(r[5].encode() for r in rows)
    off = np.cumsum([0] + [len(r[5].encode()) for r in rows]).astype(np.int64)
    col = lambda i, t: np.array([r[i] for r in rows], t)   # noqa: E731
    return NgramPartial(col(0, np.uint64), col(1, np.int8), col(2, np.int64), col(3, np.int64),
                        col(4, np.int64), np.frombuffer(data, np.uint8).copy(), off,
                        stats or JobStats(job="ngrams"))


def test_keys_colliding_across_partitions_merge_keeping_the_earliest_string():
    # key 7 holds two strings (a hash collision): the earliest partial's string is kept
    a = _partial([(7, 1, 2, 1, 10, "alpha"), (9, 1, 1, 1, 11, "nine")])
    b = _partial([(5, 1, 4, 2, 1 << 32, "five"), (7, 1, 3, 2, 2 << 32, "beta"), (7, 2, 1, 1, 3, "x y")])
    c = _partial([(7, 1, 1, 1, 5 << 32, "gamma")])
    got = ngrams.combine([a, b, c])
    rows = {(int(got.keys[i]), int(got.n[i])): (got.string(i), int(got.counts[i]), int(got.doc_freq[i]),
                                                int(got.first[i])) for i in range(len(got))}
    assert rows == {(7, 1): ("alpha", 6, 4, 10), (9, 1): ("nine", 1, 1, 11),
                    (5, 1): ("five", 4, 2, 1 << 32), (7, 2): ("x y", 1, 1, 3)}
    swapped = ngrams.combine([b, a, c])   # b listed first: its string and first occurrence win
    i = int(np.flatnonzero((swapped.keys == 7) & (swapped.n == 1))[0])
    assert (swapped.string(i), int(swapped.counts[i]), int(swapped.first[i])) == ("beta", 6, 2 << 32)
    table = ngrams.finish(got, NgramConfig(n="1-2")).table().to_pylist()
    assert table[0] == {"ngram": "alpha", "n": 1, "count": 6, "doc_freq": 4}


def test_combine_of_nothing_and_of_empty_partials():
    cfg = NgramConfig(n="1-3")
    empty = ngrams.map_partition([batch_from_texts(["", "a b"])], "cpu", NgramConfig(n=3))
    assert len(empty) == 0
    assert ngrams.finish(ngrams.combine([]), cfg).table().num_rows == 0
    assert ngrams.finish(ngrams.combine([empty, empty]), cfg).table().column_names == \
        ["ngram", "n", "count", "doc_freq"]


def test_stats_merge_in_partition_order(tmp_path):
    files = []
    for i in range(2):
        f = tmp_path / f"f{i}.jsonl"
        f.write_text(f'{{"id": "a{i}", "text": "un deux"}}\n{{"id": "b{i}", "text": 3}}\n'
                     f'{{"id": "c{i}", "text": "trois un"}}\n', encoding="utf-8")
        files.append(f)
    cfg = NgramConfig(n="1-2")
    parts = []
    for f in files:
        reader = CorpusReader([f])
        p = ngrams.map_partition(reader, "cpu", cfg)
        p.stats.add_read(reader.stats)
        parts.append(p)
    got = ngrams.finish(ngrams.combine(parts), cfg)
    whole = ngrams.run(files, "cpu", cfg)
    assert got.table().equals(whole.table())
    assert (got.stats.documents, got.stats.tokens, got.stats.files) == (4, 8, 2)
    assert got.stats.skipped == whole.stats.skipped and sum(got.stats.skipped.values()) == 2
    locs = [loc for v in got.stats.skipped_locations.values() for loc in v]
    assert [Path(loc.split(":")[0]).name for loc in locs] == ["f0.jsonl", "f1.jsonl"]
    assert got.stats.skipped_locations == whole.stats.skipped_locations
    assert parts[0].stats.documents == 2   # combine does not change the partials' stats


@pytest.mark.parametrize("kwargs,name", [
    (dict(top=True), "top"), (dict(top=0), "top"), (dict(top=-3), "top"), (dict(top=2.5), "top"),
    (dict(min_count=True), "min_count"), (dict(min_count=0), "min_count"), (dict(min_count=-1), "min_count"),
    (dict(n=True), "n"), (dict(n=0), "n"), (dict(n=(0, 2)), "n"), (dict(n="3-1"), "n"), (dict(n=-2), "n"),
    (dict(char=1), "char"), (dict(memory=True), "memory"), (dict(memory=0), "memory"),
    (dict(memory="-5MB"), "memory"), (dict(text="fr"), "text"),
])
def test_config_rejects_with_the_parameter_name(kwargs, name):
    with pytest.raises(ParameterError) as e:
        NgramConfig(**kwargs)
    assert e.value.param == name and str(e.value).startswith(f"{name} must")
    assert e.value.for_flag({"n": "--n"}.get(name)).startswith("--" + name.replace("_", "-"))


def test_config_message_and_normal_values():
    with pytest.raises(ParameterError, match=r"^top must be an integer >= 1, got True$"):
        NgramConfig(top=True)
    cfg = NgramConfig(n=np.int64(2), top=np.int32(5), memory="2MB")
    assert (cfg.n, cfg.top, cfg.memory, type(cfg.top)) == ((2, 2), 5, 2 << 20, int)
    assert list(NgramConfig(n="1-3").orders) == [1, 2, 3]


# ---------------------------------------------------------------------------- the command
def _cli(*args):
    from typer.testing import CliRunner

    from engine.cli import app
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def test_cli_stats_beside_the_output(tmp_path):
    import json
    out, st = tmp_path / "o.csv", tmp_path / "s.json"
    r = _cli("ngrams", SEEDS, "--n", "1-2", "-o", out, "--stats", st, "--device", "cpu", "--quiet")
    assert r.exit_code == 0, r.output
    d = json.loads(st.read_text(encoding="utf-8"))
    whole = ngrams.run([SEEDS], "cpu", NgramConfig(n="1-2"))
    assert (d["job"], d["documents"], d["tokens"], d["files"]) == ("ngrams", 5, whole.stats.tokens, 5)
    assert d["skipped"] == {"README, not a document": 1}
    assert {"read", "tokenize", "hash", "count", "strings", "order", "write"} <= set(d["seconds"])
    assert d["counters"]["rows"] == whole.table().num_rows
    assert out.read_bytes() == csv_bytes(whole, tmp_path, "lib")


def test_cli_stats_without_output_and_bad_stats_path(tmp_path):
    st = tmp_path / "s.json"
    r = _cli("ngrams", SEEDS, "--n", "1", "--top", "2", "--stats", st, "--device", "cpu", "--quiet")
    assert r.exit_code == 0 and st.exists() and "ngram" in r.output
    r = _cli("ngrams", SEEDS, "--stats", tmp_path / "s.txt", "--device", "cpu")
    assert r.exit_code == 1 and "--stats" in r.output and not (tmp_path / "s.txt").exists()
    r = _cli("ngrams", SEEDS, "--top", "0", "--device", "cpu")
    assert r.exit_code == 2 and "--top must be an integer >= 1, got 0" in r.output
