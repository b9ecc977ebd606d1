"""n-gram counts equal a collections.Counter reference, exactly."""
from pathlib import Path

import numpy as np
import pytest

from engine.corpus import batch_from_texts
from engine.ngrams import NgramStats, count_ngrams, parse_memory, parse_n
from engine.text import ParameterError, TextOptions
from tests import reference

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_TEXTS = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]


def as_dict(table):
    return {(r["ngram"], r["n"]): (r["count"], r["doc_freq"]) for r in table.to_pylist()}


def larger_real_text():
    """About 0.5 MB of real English (the Python documentation's topic help) in ~300 documents."""
    from pydoc_data.topics import topics
    return [topics[k] for k in sorted(topics)]


def test_seeds_word_1_to_3_equal_counter():
    t = count_ngrams([SEEDS], n="1-3", device="cpu")
    assert as_dict(t) == reference.word_ngram_counts(SEED_TEXTS, (1, 2, 3))
    assert t.column_names == ["ngram", "n", "count", "doc_freq"]


def test_order_is_count_desc_then_ngram():
    rows = count_ngrams([SEEDS], n="1-2", device="cpu").to_pylist()
    keys = [(-r["count"], r["ngram"]) for r in rows]
    assert keys == sorted(keys)


def test_larger_real_text_equal_counter_across_batches():
    docs = larger_real_text()
    assert sum(map(len, docs)) > 400_000
    batches = [batch_from_texts(docs[i:i + 40], base=i) for i in range(0, len(docs), 40)]
    t = count_ngrams(batches, n="1-3", device="cpu")
    assert as_dict(t) == reference.word_ngram_counts(docs, (1, 2, 3))


def test_spill_to_disk_gives_identical_results():
    docs = larger_real_text()[:120]
    batches = [batch_from_texts(docs[i:i + 10], base=i) for i in range(0, len(docs), 10)]
    stats = NgramStats()
    spilled = count_ngrams(batches, n="1-3", device="cpu", memory="1MB", stats=stats)
    assert stats.spills > 3
    assert spilled.equals(count_ngrams(batches, n="1-3", device="cpu"))


def test_char_ngrams_equal_counter():
    texts = SEED_TEXTS[:2] + ["Ｎｖｉｄｉａ   ﬁn\u00a0\tdéjà 😀日本"]
    t = count_ngrams([batch_from_texts(texts)], n="2-4", char=True, device="cpu")
    assert as_dict(t) == reference.char_ngram_counts(texts, (2, 3, 4))


def test_stopwords_min_len_top_and_min_count():
    stop = set(reference.tokens(" ".join(__import__("stop_words").get_stop_words("fr"))))
    t = count_ngrams([SEEDS], n="1-2", device="cpu", text=TextOptions(stopwords=("fr",), min_token_len=3))
    expected = reference.word_ngram_counts(SEED_TEXTS, (1, 2), stop=stop, min_len=3)
    assert as_dict(t) == expected
    top = count_ngrams([SEEDS], n="1-2", top=7, min_count=2, device="cpu",
                       text=TextOptions(stopwords=("fr",), min_token_len=3)).to_pylist()
    for n in (1, 2):
        exp = sorted(((-c, g) for (g, m), (c, _) in expected.items() if m == n and c >= 2))[:7]
        assert [(-r["count"], r["ngram"]) for r in top if r["n"] == n] == exp


def test_documents_shorter_than_n_and_empty_corpus():
    t = count_ngrams([batch_from_texts(["un deux", "", "trois"])], n=3, device="cpu")
    assert t.num_rows == 0
    t = count_ngrams([batch_from_texts(["a b", "a b c"])], n="1-3", device="cpu")
    assert as_dict(t)[("a b", 2)] == (2, 2) and as_dict(t)[("a b c", 3)] == (1, 1)


@pytest.mark.parametrize("bad,call", [
    ("n", lambda: parse_n("3-1")), ("n", lambda: parse_n("x")), ("n", lambda: parse_n(True)),
    ("memory", lambda: parse_memory("lots")), ("memory", lambda: parse_memory("10")),
    ("top", lambda: count_ngrams([SEEDS], top=0)), ("min_count", lambda: count_ngrams([SEEDS], min_count=0)),
])
def test_bad_parameters_name_themselves(bad, call):
    """The library names its parameter (the CLI shows the flag in its place)."""
    with pytest.raises(ParameterError, match=f"^{bad} must") as e:
        call()
    assert e.value.param == bad


def test_sklearn_countvectorizer_agrees_on_same_tokens():
    from sklearn.feature_extraction.text import CountVectorizer
    cv = CountVectorizer(analyzer=lambda s: [" ".join(g) for n in (1, 2)
                                            for g in zip(*(reference.tokens(s)[i:] for i in range(n)))])
    X = cv.fit_transform(SEED_TEXTS)
    sk = dict(zip(cv.get_feature_names_out(), np.asarray(X.sum(axis=0)).ravel()))
    ours = {g: c for (g, n), (c, _) in as_dict(count_ngrams([SEEDS], n="1-2", device="cpu")).items()}
    assert ours == sk


def test_order_rows_matches_python_sort_on_tricky_strings():
    import pyarrow as pa
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from kernels.cpu.sort import order_rows

    words = st.text(alphabet="ab\u00e9z\u65e5 ", min_size=0, max_size=20)

    @given(st.lists(st.tuples(st.integers(1, 3), words), max_size=300))
    @settings(max_examples=200, deadline=None)
    def check(rows):
        rows = rows + [(1, "abcdefgh"), (1, "abcdefghi"), (1, "abcdefg"), (1, "abcdefgh" * 3)]
        arr = pa.array([s for _, s in rows], pa.large_string())
        b = arr.buffers()
        off = np.frombuffer(b[1], np.int64)[:len(arr) + 1]
        data = np.frombuffer(b[2], np.uint8) if b[2] is not None else np.empty(0, np.uint8)
        counts = np.array([c for c, _ in rows], np.int64)
        expected = sorted((-c, s) for c, s in rows)
        for parts in (1, 3):
            got = order_rows(counts, data, off[:-1], off[1:], parts=parts, min_parallel=0)
            assert sorted(got.tolist()) == list(range(len(rows)))
            assert [(-rows[i][0], rows[i][1]) for i in got] == expected
    check()


@pytest.mark.parametrize("partitions", [1, 2, 4])
def test_key_counter_partitions_and_growth(partitions, tmp_path):
    import collections

    from engine.ngrams import KeyCounter
    rng = np.random.default_rng(partitions)
    keys = rng.integers(0, 2**63, 3000, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    occ = keys[rng.zipf(1.3, 40_000) % keys.size]
    docs = np.sort(rng.integers(0, 500, occ.size))
    item_off = np.searchsorted(docs, np.arange(501))  # documents 0..499 own [off[d], off[d+1])
    gather = lambda refs: (np.zeros(0, np.uint8), np.zeros(refs.size + 1, np.int64))
    kc = KeyCounter(10**9, lambda: tmp_path, partitions=partitions)
    cut = int(item_off[300])  # batches never split a document
    kc.add_occurrences(occ[:cut], item_off[:301], 0, gather)
    kc.add_occurrences(occ[cut:], item_off[300:] - cut, 300, gather)
    rows = next(kc.partitions())
    got_k, got_c, got_d = rows.keys, rows.counts, rows.dfs
    cnt = collections.Counter(occ.tolist())
    df = collections.Counter(k for k, _ in set(zip(occ.tolist(), docs.tolist())))
    assert {int(k): (int(c), int(d)) for k, c, d in zip(got_k, got_c, got_d)} == \
        {k: (c, df[k]) for k, c in cnt.items()}


def test_device_doc_index_path_equals_repeat():
    """The cupy-friendly path (searchsorted on offsets) gives np.repeat's answer."""
    import types

    from engine.ngrams import doc_of_items
    cnt = np.array([3, 0, 2, 0, 0, 4], np.int64)
    off = np.zeros(cnt.size + 1, np.int64)
    np.cumsum(cnt, out=off[1:])
    ids = np.arange(cnt.size, dtype=np.int64) + 10
    fake_xp = types.SimpleNamespace(searchsorted=np.searchsorted, arange=np.arange)
    got = doc_of_items(fake_xp, ids, cnt, off, int(off[-1]))
    np.testing.assert_array_equal(got, np.repeat(ids, cnt))


@pytest.mark.parametrize("k", [1, 5, 100, 999])
def test_kth_largest_matches_sort(k):
    from kernels.cpu.sort import kth_largest
    rng = np.random.default_rng(k)
    counts = np.concatenate([rng.zipf(1.5, 1000), [70_000, 90_000, 65_536]]).astype(np.int64)
    assert kth_largest(counts, k, cap=1 << 16) == np.sort(counts)[::-1][k - 1]
    assert kth_largest(counts, k, cap=4) == np.sort(counts)[::-1][k - 1]


@pytest.mark.parametrize("parts,n", [(2, 0), (2, 1), (2, 100_003), (4, 5000), (8, 70)])
def test_split_rows_is_a_stable_partition(parts, n):
    from kernels.cpu.count import split_rows
    keys = np.random.default_rng(n).integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    shift = 64 - (parts.bit_length() - 1)
    order = np.empty(n, np.int32)
    bounds = np.empty(parts + 1, np.int64)
    split_rows(keys, shift, parts, order, bounds)
    part = (keys >> np.uint64(shift)).astype(np.int64)
    assert order.tolist() == np.argsort(part, kind="stable").tolist()
    assert bounds.tolist() == [0] + np.cumsum(np.bincount(part, minlength=parts)).tolist()
