"""The host counting kernels (kernels.cpu.count_docs, kernels.cpu.count) and KeyCounter,
against plain-Python references: per-document distinct keys, many table partitions, growth
and resume mid-chunk, string bytes growing, spills (a tiny budget, 32-bit counts)."""
import collections

import numpy as np
import pytest

from engine.corpus import batch_from_texts
from engine.ngrams import NgramStats, count_ngrams
from tests import reference
from tests.test_ngrams import larger_real_text


def _shift(parts):
    return 64 - (parts.bit_length() - 1) if parts > 1 else 63


def _python_distinct(items, item_off, d0, d1, parts):
    """Per document: its distinct keys in order of first occurrence, (key, count, first
    index), grouped by partition (stable)."""
    out = []
    for d in range(d0, d1):
        seen = {}
        for i, k in enumerate(items[item_off[d]:item_off[d + 1]].tolist()):
            c, p0 = seen.get(k, (0, i))
            seen[k] = (c + 1, p0)
        rows = [(k, c, p0) for k, (c, p0) in seen.items()]
        part = (lambda k: k >> _shift(parts)) if parts > 1 else (lambda k: 0)
        out.append([r for p in range(parts) for r in rows if part(r[0]) == p])
    return out


@pytest.mark.parametrize("parts", [1, 2, 4, 64])
def test_distinct_keys_per_document_grouped_by_partition(parts):
    from kernels.cpu.count_docs import distinct_keys
    rng = np.random.default_rng(parts)
    pool = rng.integers(0, 2**63, 200, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    lens = rng.integers(0, 400, 60)
    lens[[3, 4, 17]] = 0   # empty documents
    item_off = np.zeros(lens.size + 1, np.int64)
    np.cumsum(lens, out=item_off[1:])
    items = pool[rng.zipf(1.2, int(item_off[-1])) % pool.size]
    d0, d1 = 2, 50   # a chunk of the documents: entries from item_off[d0]
    m = int(item_off[d1] - item_off[d0])
    keys, cnt, pos = np.empty(m, np.uint64), np.empty(m, np.int64), np.empty(m, np.int64)
    pbeg = np.empty((d1 - d0, parts + 1), np.int64)
    distinct_keys(items, d0, d1, item_off, _shift(parts), parts, keys, cnt, pos, pbeg)
    for d, want in zip(range(d0, d1), _python_distinct(items, item_off, d0, d1, parts)):
        e0 = int(item_off[d] - item_off[d0])
        got = list(zip(keys[e0:e0 + len(want)].tolist(), cnt[e0:e0 + len(want)].tolist(),
                       pos[e0:e0 + len(want)].tolist()))
        assert got == want
        assert pbeg[d - d0, parts] == len(want) and pbeg[d - d0, 0] == 0
        if parts > 1:
            sizes = np.diff(pbeg[d - d0])
            assert sizes.tolist() == [sum(1 for k, _, _ in want if k >> _shift(parts) == p) for p in range(parts)]


def test_distinct_word_ngrams_hash_like_the_backend():
    """The fused hashing gives the backend's word n-gram keys (kernels.text_core)."""
    from engine.backend import get_backend
    from engine.text import TextOptions, tokenize
    from kernels.cpu.count_docs import distinct_word_ngrams
    be = get_backend("cpu")
    docs = larger_real_text()[:30] + ["", "one", "one two", "a a a a a a"]
    toks = tokenize(batch_from_texts(docs), be, TextOptions())
    tok_off = toks.doc_tok_offsets
    for n in (1, 2, 3):
        cnt_ = np.maximum(np.diff(tok_off) - n + 1, 0)
        item_off = np.zeros(tok_off.size, np.int64)
        np.cumsum(cnt_, out=item_off[1:])
        m = int(item_off[-1])
        ref, first = np.empty(m, np.uint64), np.empty(m, np.int64)
        be.word_ngrams(toks.tok_hash, tok_off, n, item_off, ref, first)
        keys, cnt, pos = np.empty(m, np.uint64), np.empty(m, np.int64), np.empty(m, np.int64)
        pbeg = np.empty((len(docs), 3), np.int64)
        distinct_word_ngrams(toks.tok_hash, tok_off, n, 0, len(docs), item_off, 63, 2, keys, cnt, pos, pbeg)
        for d, want in enumerate(_python_distinct(ref, item_off, 0, len(docs), 2)):
            e0 = int(item_off[d])
            assert list(zip(keys[e0:e0 + len(want)].tolist(), cnt[e0:e0 + len(want)].tolist(),
                            pos[e0:e0 + len(want)].tolist())) == want


def _first_occurrences(docs, n):
    """{ngram: (doc, token position)} of each word n-gram's first occurrence."""
    first = {}
    for d, text in enumerate(docs):
        toks = reference.tokens(text)
        for i in range(len(toks) - n + 1):
            first.setdefault(" ".join(toks[i:i + n]), (d, i))
    return first


@pytest.mark.parametrize("partitions", [1, 2, 8, 64])
def test_key_counter_word_ngrams_grow_and_resume_mid_chunk(partitions, tmp_path, monkeypatch):
    """Tiny chunks and no growth ahead: the table and the string bytes fill inside a chunk
    and the kernel resumes where each partition stopped; counts, doc_freq, strings, first
    ordinals and string-id order (first occurrence) stay exact."""
    import engine.ngrams.counting as counting
    from engine.backend import get_backend
    from engine.ngrams import KeyCounter
    from engine.ngrams.partial import FIRST_SHIFT
    from engine.text import TextOptions, tokenize
    monkeypatch.setattr(counting, "CHUNK_ITEMS", 700)
    be = get_backend("cpu")
    docs = larger_real_text()[:90]
    for n in (1, 3):
        kc = KeyCounter(10**9, lambda: tmp_path, partitions=partitions)
        kc._alloc(16)   # 11 keys a partition, 64 string bytes: both fill at once
        kc.store = counting.StringStore(partitions, kc.max_size, nbytes=64)
        for b0 in range(0, len(docs), 30):
            kc.grow_ahead = False   # no growth ahead: every growth happens mid-chunk
            toks = tokenize(batch_from_texts(docs[b0:b0 + 30], base=b0), be, TextOptions())
            kc.add_word_ngrams(toks.tok_hash, toks.doc_tok_offsets, n, b0, toks.norm, toks.tok_start, toks.tok_len)
        keys, counts, dfs, data, off, first = kc.contents()
        got = {bytes(data[off[i]:off[i + 1]]).decode(): (int(counts[i]), int(dfs[i]), int(first[i]))
               for i in range(keys.size)}
        ref = reference.word_ngram_counts(docs, (n,))
        fo = _first_occurrences(docs, n)
        assert got == {g: (c, df, (fo[g][0] << FIRST_SHIFT) | fo[g][1]) for (g, _), (c, df) in ref.items()}
        base = np.r_[0, np.cumsum(kc.sizes)]
        for p in range(partitions):   # string ids in order of first occurrence within a partition
            assert (np.diff(first[base[p]:base[p + 1]]) > 0).all()
        assert kc.table.shape[1] >= 64 and kc.store.data.shape[1] > 64


def test_char_ngram_strings_resume_when_bytes_fill(tmp_path):
    import engine.ngrams.counting as counting
    texts = larger_real_text()[:20] + ["Ｎｖｉｄｉａ déjà 😀日本"]
    want = count_ngrams([batch_from_texts(texts)], n="2-5", char=True, device="cpu")
    assert {(r["ngram"], r["n"]): (r["count"], r["doc_freq"]) for r in want.to_pylist()} == \
        reference.char_ngram_counts(texts, (2, 3, 4, 5))
    old = counting.StringStore.__init__
    try:   # one-byte string stores: every new key's string grows them
        counting.StringStore.__init__ = lambda self, p, k, nbytes=1: old(self, p, k, 1)
        assert count_ngrams([batch_from_texts(texts)], n="2-5", char=True, device="cpu").equals(want)
    finally:
        counting.StringStore.__init__ = old


def test_counts_near_32_bits_spill_first_and_stay_exact(monkeypatch):
    """A table spills before its total count could pass its 32-bit fields (here a bound of
    twice the longest document), between chunks of a batch: the spilled and merged result
    equals the unspilled one."""
    import engine.ngrams.counting as counting
    docs = larger_real_text()[:60]
    batches = [batch_from_texts(docs[i:i + 20], base=i) for i in range(0, len(docs), 20)]
    want = count_ngrams(batches, n="1-3", device="cpu")
    longest = max(len(reference.tokens(t)) for t in docs)
    monkeypatch.setattr(counting, "MAX_OCCURRENCES", 2 * longest)
    monkeypatch.setattr(counting, "CHUNK_ITEMS", longest)
    stats = NgramStats()
    got = count_ngrams(batches, n="1-3", device="cpu", stats=stats)
    assert stats.spills > 3
    assert got.equals(want)


@pytest.mark.parametrize("partitions", [1, 4])
def test_key_counter_aggregated_rows(partitions, tmp_path):
    """Rows reduced per batch (the GPU path): counts and doc_freqs add, strings from the
    first batch holding the key."""
    from engine.ngrams import KeyCounter
    rng = np.random.default_rng(7)
    pool = rng.integers(0, 2**63, 5000, dtype=np.uint64)
    kc = KeyCounter(10**9, lambda: tmp_path, partitions=partitions)
    total, first_batch = collections.Counter(), {}
    for b in range(4):
        keys = np.unique(pool[rng.integers(0, pool.size, 3000)])
        counts = rng.integers(1, 50, keys.size).astype(np.int64)
        dfs = np.minimum(counts, rng.integers(1, 5, keys.size)).astype(np.int64)
        for k, c, d in zip(keys.tolist(), counts.tolist(), dfs.tolist()):
            total[k] = (total[k][0] + c, total[k][1] + d) if k in total else (c, d)
            first_batch.setdefault(k, b)

        def gather(refs, b=b):
            data = np.full(refs.size, ord("a") + b, np.uint8)
            return data, np.arange(refs.size + 1, dtype=np.int64)
        kc.add_aggregated(keys, counts, dfs, gather)
    keys, counts, dfs, data, off, _ = kc.contents()
    assert {int(k): (int(c), int(d)) for k, c, d in zip(keys, counts, dfs)} == dict(total)
    assert [chr(data[off[i]]) for i in range(keys.size)] == [chr(ord("a") + first_batch[int(k)]) for k in keys]


@pytest.mark.parametrize("partitions", [1, 4])
def test_key_counter_aggregated_strings_grow_mid_batch(partitions, tmp_path):
    """Rows reduced per batch whose strings outgrow the string bytes while a batch is
    inserted partition by partition: every key keeps its own string (a growth there once
    kept too few bytes of the partitions not written yet: garbage strings on the GPU)."""
    from engine.ngrams import KeyCounter
    rng = np.random.default_rng(11)
    kc = KeyCounter(10**9, lambda: tmp_path, partitions=partitions)
    spelled = {}
    for _ in range(3):
        keys = np.unique(rng.integers(0, 2**63, 4000, dtype=np.uint64))
        for k in keys.tolist():
            spelled.setdefault(k, f"{k:x}-{'x' * (k % 37)}".encode())

        def gather(refs, keys=keys):
            words = [spelled[k] for k in keys[refs].tolist()]
            off = np.zeros(len(words) + 1, np.int64)
            np.cumsum([len(w) for w in words], out=off[1:])
            return np.frombuffer(b"".join(words), np.uint8), off
        kc.add_aggregated(keys, np.ones(keys.size, np.int64), np.ones(keys.size, np.int64), gather)
    keys, _, _, data, off, _ = kc.contents()
    assert sum(len(w) for w in spelled.values()) > 1 << 17    # the store's first 64 KB a partition grew
    assert {int(k): bytes(data[off[i]:off[i + 1]]) for i, k in enumerate(keys)} == spelled


@pytest.mark.parametrize("cap", [4, 1 << 16])
def test_order_rows_with_counts_past_the_bucket_cap(cap, monkeypatch):
    """Rows with counts at or above the counting sort's cap (sorted apart), long common
    prefixes (runs refined word by word, short runs by insertion) and Zipf ties."""
    import kernels.cpu.sort as sort
    monkeypatch.setattr(sort, "COUNT_CAP", cap)
    rng = np.random.default_rng(cap)
    stems = ["", "a", "ab", "abcdefgh", "abcdefghijklmnop", "the quick brown fox ", "été "]
    strings = sorted({rng.choice(stems) + "".join(rng.choice(list("abz é"), rng.integers(0, 12)))
                      for _ in range(3000)})
    rng.shuffle(strings)
    counts = np.where(rng.random(len(strings)) < 0.1, rng.integers(1, 200_000, len(strings)),
                      rng.zipf(1.5, len(strings)) % 7 + 1).astype(np.int64)
    enc = [s.encode() for s in strings]
    off = np.zeros(len(enc) + 1, np.int64)
    np.cumsum([len(b) for b in enc], out=off[1:])
    data = np.frombuffer(b"".join(enc), np.uint8)
    want = sorted(range(len(enc)), key=lambda i: (-counts[i], enc[i]))
    for parts in (1, 2):
        assert sort.order_rows(counts, data, off[:-1], off[1:], parts=parts, min_parallel=0).tolist() == want


def test_sampled_keys_are_the_distinct_keys_with_the_sample_bits_zero():
    """The key sample of a batch: exactly its distinct keys whose bits 24..31 are zero,
    word n-grams hashed like the backend; a sampled key repeated past the room a chunk
    expects (one document of it alone) is still counted once."""
    from engine.backend import get_backend
    from engine.text import TextOptions, tokenize
    from kernels.cpu.count_docs import SAMPLE_BITS, sampled_keys
    be = get_backend("cpu")
    toks = tokenize(batch_from_texts(larger_real_text()[:200]), be, TextOptions())
    tok_off = toks.doc_tok_offsets
    bits = lambda k: (k >> np.uint64(24)) & np.uint64((1 << SAMPLE_BITS) - 1)   # noqa: E731
    for n in (1, 2, 3):
        item_off = np.zeros(tok_off.size, np.int64)
        np.cumsum(np.maximum(np.diff(tok_off) - n + 1, 0), out=item_off[1:])
        ref, first = np.empty(int(item_off[-1]), np.uint64), np.empty(int(item_off[-1]), np.int64)
        be.word_ngrams(toks.tok_hash, tok_off, n, item_off, ref, first)
        got = sampled_keys(True, toks.tok_hash, tok_off, n, np.empty(0, np.uint64), item_off)
        assert got.tolist() == np.unique(ref[bits(ref) == 0]).tolist() and got.size > 0
    hot = np.uint64(0x1234) << np.uint64(40)   # bits 24..31 zero: sampled
    items = np.r_[np.full(5000, hot, np.uint64), np.arange(1, 3000, dtype=np.uint64) << np.uint64(32)]
    item_off = np.array([0, 5000, 6000, items.size], np.int64)
    got = sampled_keys(False, np.empty(0, np.uint64), np.empty(0, np.int64), 0, items, item_off)
    assert got.tolist() == np.unique(items[bits(items) == 0]).tolist() and hot in got


def test_table_sized_ahead_from_the_sample_does_not_double_inside_a_batch(tmp_path, monkeypatch):
    """Sized ahead from the key sample, the table takes a batch without doubling as it
    fills (one growth, while empty), and counts as exactly as grown on demand."""
    import engine.ngrams.counting as counting
    from engine.backend import get_backend
    from engine.ngrams import KeyCounter
    from engine.text import TextOptions, tokenize
    monkeypatch.setattr(counting, "CHUNK_ITEMS", 2000)
    toks = tokenize(batch_from_texts(larger_real_text()), get_backend("cpu"), TextOptions())
    got = []
    for ahead in (True, False):
        kc = KeyCounter(10**9, lambda: tmp_path, partitions=2)
        kc.grow_ahead = ahead
        grows = []
        grow = kc._grow
        monkeypatch.setattr(kc, "_grow", lambda cap=None, grows=grows, grow=grow: (grows.append(cap), grow(cap)))
        kc.add_word_ngrams(toks.tok_hash, toks.doc_tok_offsets, 3, 0, toks.norm, toks.tok_start, toks.tok_len)
        assert (len(grows) == 1) if ahead else (len(grows) > 1)
        got.append(kc.contents())
    assert all((a == b).all() for a, b in zip(*got))
