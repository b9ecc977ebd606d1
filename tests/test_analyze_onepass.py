"""``corpus analyze`` in one streaming pass: its figures equal those of the single jobs
(engine.ngrams.run, engine.minhash.run, engine.cooc.run, each reading the corpus itself), the
reader is iterated once, and the consumers fed an already tokenised batch give what the jobs'
own per-batch paths give."""
from __future__ import annotations

import io
import random

import numpy as np
import pytest
from rich.console import Console

from engine import cooc, minhash, ngrams
from engine.analyze import COOC_MEASURE, COOC_WINDOW, _clusters, analyze_corpus, main_terms
from engine.analyze_pass import drop_stopwords
from engine.corpus import CorpusReader, batch_from_texts
from engine.resources import seeds_dir
from engine.text import TextOptions, text_options, tokenize

TEXT = text_options("fr,en")


class CountingReader(CorpusReader):
    """A reader that counts how many times it is iterated."""
    iterations = 0

    def __iter__(self):
        type(self).iterations += 1
        return super().__iter__()


def _generated(folder, n_docs: int = 60, copies: int = 4, seed: int = 5):
    """French/English-like documents with stop words, near-copies, an empty document and
    documents that take the exact slow normalisation path (combining accents)."""
    rng = random.Random(seed)
    words = [f"mot{i}" for i in range(400)] + ["le", "la", "de", "et", "the", "of", "and", "été", "Été"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(5, 200))) for _ in range(n_docs)]
    for k in range(copies):
        w = texts[1].split()
        w[min(len(w) - 1, 3 + 7 * k)] = "changé"
        texts.append(" ".join(w))
    texts.append("le de la et the of")   # only stop words: no token left, an empty document
    texts.append("e\u0301te\u0301 à la plage, le de la et mot1 mot2 mot3 mot4 mot5 mot6")
    texts.append("ΣΟΦΟΣ σοφος ΟΔΟΣ mot7 mot8 mot9 mot10 mot11")
    folder.mkdir()
    for i, t in enumerate(texts):
        (folder / f"d{i:03d}.txt").write_text(t + "\n", encoding="utf-8")
    return folder


def _separately(paths):
    """The analyze figures computed by the single jobs, each reading the corpus."""
    cfg = ngrams.NgramConfig(n="1-3", top=10, text=TEXT)
    main = ngrams.run(CorpusReader(paths), "cpu", cfg).table()
    uni = ngrams.run(CorpusReader(paths), "cpu", ngrams.NgramConfig(n=1, text=TextOptions())).table()
    mh = minhash.run(CorpusReader(paths), "cpu", minhash.MinHashConfig(text=TEXT))
    co_cfg = cooc.CoocConfig(window=COOC_WINDOW, min_count=2, measure=COOC_MEASURE, text=TEXT)
    co = cooc.run(CorpusReader(paths), "cpu", co_cfg)
    return cfg, main, uni, mh, co


@pytest.mark.parametrize("which", ["seeds", "generated"])
def test_one_pass_equals_the_single_jobs(tmp_path, which):
    paths = [seeds_dir()] if which == "seeds" else [_generated(tmp_path / "c")]
    CountingReader.iterations = 0
    reader = CountingReader(paths, batch_bytes=4096)   # several batches
    data = analyze_corpus(reader, device="cpu", console=Console(file=io.StringIO(), width=200))
    assert CountingReader.iterations == 1
    cfg, main, uni, mh, co = _separately(paths)

    rows = main.to_pylist()
    for k in (1, 2, 3):
        assert data.ngrams[k] == [(r["ngram"], r["count"], r["doc_freq"]) for r in rows if r["n"] == k]
    assert data.summary["documents"] == mh.sigs.n_docs
    assert np.array_equal(data.zipf_counts, uni["count"].to_numpy())
    assert data.zipf_words == uni["ngram"].slice(0, 6).to_pylist()
    assert data.summary["distinct words"] == uni.num_rows

    nd = data.minhash
    assert "error" not in nd, nd
    assert nd["summary"] == mh.summary()
    expected = _clusters(mh)
    for c in expected:
        c.pop("_index")
    assert nd["clusters"] == expected
    if which == "generated":
        assert nd["summary"]["clusters"] >= 1     # the near-copies were found

    assert "error" not in data.cooc, data.cooc
    heads = main_terms(co.vocab)
    assert list(data.cooc["terms"]) == heads and heads
    for h in heads:
        at = co.associates(h, COOC_MEASURE, 8).to_pylist()
        assert [(r["term"], r["count"], r["llr"], r["score"], r["npmi"]) for r in data.cooc["terms"][h]] == \
            [(r["associate"], r["count"], float(r["llr"]), float(r[COOC_MEASURE]), float(r["npmi"])) for r in at]


def test_one_pass_on_a_ready_reader_reads_once_with_many_documents(tmp_path):
    """More documents than the all-pairs matrix takes: the batches are not kept."""
    paths = [_generated(tmp_path / "c", n_docs=40)]
    CountingReader.iterations = 0
    data = analyze_corpus(CountingReader(paths, batch_bytes=2048), device="cpu",
                          console=Console(file=io.StringIO(), width=200))
    assert CountingReader.iterations == 1
    assert data.summary["documents"] == sum(b.n_docs for b in CorpusReader(paths)) > 12


def _batch(tmp_path):
    return next(iter(CorpusReader([_generated(tmp_path / "c")], batch_bytes=1 << 20)))


def test_drop_stopwords_equals_tokenize_with_them(tmp_path):
    from engine.backend import get_backend
    be = get_backend("cpu")
    batch = _batch(tmp_path)
    full = tokenize(batch, be, TEXT)
    mine = drop_stopwords(tokenize(batch, be, TextOptions()), TEXT)
    assert mine.slow_docs == full.slow_docs > 0
    for name in ("tok_hash", "doc_tok_offsets", "tok_len"):
        assert np.array_equal(getattr(mine, name), getattr(full, name)), name
    assert [mine.token(i) for i in range(mine.n_tokens)] == [full.token(i) for i in range(full.n_tokens)]
    assert drop_stopwords(full, TextOptions()) is full


def test_signatures_from_tokens_equal_the_fused_kernel(tmp_path):
    from engine.backend import get_backend
    from engine.minhash.job import SignatureConsumer
    be = get_backend("cpu")
    batch = _batch(tmp_path)
    for shingle in ("word:5", "char:5"):
        cfg = minhash.MinHashConfig(text=TEXT, shingle=shingle)
        a, b = SignatureConsumer(be, cfg), SignatureConsumer(be, cfg)
        a.add(batch)
        b.add_tokens(batch, tokenize(batch, be, TEXT))
        pa, pb = a.partial(), b.partial()
        assert np.array_equal(pa.n_shingles, pb.n_shingles)
        assert (pa.n_shingles == 0).any() == (shingle == "word:5")   # stop words only: no word left
        assert np.array_equal(pa.sig, pb.sig), shingle
        assert np.array_equal(pa.text_data, pb.text_data) and np.array_equal(pa.text_offsets, pb.text_offsets)


def test_vocabulary_from_tokens_equals_the_fused_kernel(tmp_path):
    from engine.backend import get_backend
    from engine.cooc.vocabulary import VocabConsumer
    be = get_backend("cpu")
    cfg = cooc.CoocConfig(text=TEXT)
    batches = list(CorpusReader([_generated(tmp_path / "c")], batch_bytes=2048))
    a, b = VocabConsumer(be, cfg), VocabConsumer(be, cfg)
    for batch in batches:
        a.add(batch)
        b.add_tokens(batch, tokenize(batch, be, TEXT))
    pa, pb = a.partial(), b.partial()

    def by_key(p):   # type numbers may differ between the two paths: compare per term key
        terms = p.terms(np.arange(len(p)))
        return {int(k): (t, int(c), int(d), int(f)) for k, t, c, d, f in
                zip(p.keys, terms, p.counts, p.doc_freq, p.first_doc)}
    assert by_key(pa) == by_key(pb) and len(pa) > 100
    assert pa.stats.tokens == pb.stats.tokens and pa.stats.documents == pb.stats.documents


def _reference_languages(batches, max_docs):
    """The language guess as analyze computed it before the pass (plain Python): stop-word
    hits per language, one set lookup per token and language, in each document's first
    12,000 bytes (never the next document's: the guess is the same however the corpus is
    cut in batches)."""
    import re

    from stop_words import get_stop_words
    lists = {code: frozenset(w.casefold() for w in get_stop_words(code))
             for code in ("en", "fr", "de", "es", "it", "pt", "nl")}
    counts, seen = {}, 0
    for batch in batches:
        for i in range(batch.n_docs):
            if seen >= max_docs:
                break
            seen += 1
            toks = re.findall(r"\w+", bytes(batch.data[batch.offsets[i]:min(batch.offsets[i] + 12000, batch.offsets[i + 1])])
                              .decode("utf-8", "ignore")[:3000].casefold())
            best, hits = "unknown", 0
            for code, sw in lists.items():
                h = sum(t in sw for t in toks)
                if h > hits:
                    best, hits = code, h
            if not toks or hits < 0.15 * len(toks):
                best = "unknown"
            counts[best] = counts.get(best, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (kv[0] == "unknown", -kv[1], kv[0]))), seen


@pytest.mark.parametrize("max_docs", [3, 2000])
def test_language_guess_equals_the_reference(tmp_path, max_docs):
    from engine.analyze import _guess_languages
    texts = ["the cat and the dog of the house are in the garden", "le chat et le chien de la maison",
             "der Hund und die Katze sind in dem Garten", "el perro y el gato de la casa",
             "de hond en de kat zijn in het huis", "mot1 mot2 mot3", "DIE Die die Das DAS und",
             "il cane e il gatto della casa sono nel giardino", "o cão e o gato da casa"]
    batches = [batch_from_texts(texts)] + list(CorpusReader([seeds_dir(), _generated(tmp_path / "c")]))
    got = _guess_languages(batches, max_docs)
    assert got == _reference_languages(batches, max_docs)
    assert got[1] == min(max_docs, sum(b.n_docs for b in batches))
    if max_docs > 10:
        assert {"en", "fr", "es", "unknown"} <= set(got[0])   # a mixed sample


def test_language_guess_edges_equal_the_reference():
    """The sample's edges: a multi-byte character across the bytes decoded first, text with
    fewer characters than bytes (decoded again from 12,000 bytes), invalid bytes, the
    separator's spelling in a document, documents shorter than the sample (which runs on
    into the next ones, as it always did), empty documents, word characters beyond ASCII."""
    from engine.analyze import _guess_languages
    from engine.corpus.batch import _make_batch
    fr = "le chat et le chien de la maison sont dans le jardin "
    parts = [("x" * 3299 + "é" + " le la de " * 300).encode(),
             ("é" * 2000 + " " + fr * 80).encode(),
             b"the \xff\xfe cat and \xc3 the dog " * 200,
             ("ZZSEPZZ zzsepzz " + fr).encode(),
             b"", b"of", "der Hund und die Katze".encode(), ("Ωμέγα " * 1000 + fr * 10).encode(),
             # word characters beyond ASCII letters (digits, underscores, marks, ideographs,
             # astral letters) and non-word ones between stop words
             "the_of 12 the 日本語の the 𝐀𝐁 of e\u0301 and l'the Ⅻ the ½ of\u00a0the—and 🙂of".encode(),
             ("日本 " * 300 + fr * 2).encode(), ("é " * 300 + fr * 2).encode(), ("𝐀 " * 300 + fr * 2).encode()]
    batch = _make_batch([str(i) for i in range(len(parts))], parts, 0)
    for max_docs in (1, 4, len(parts)):
        got = _guess_languages([batch], max_docs)
        assert got == _reference_languages([batch], max_docs)
    assert sum(got[0].values()) == len(parts) and len(got[0]) >= 3


def _report_fields(data) -> dict:
    """The report's figures (not its timings, date or versions)."""
    import dataclasses
    out = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)
           if f.name not in ("stats", "versions", "created")}
    out["summary"] = {k: v for k, v in out["summary"].items() if not k.startswith("seconds")}
    out["zipf_counts"] = np.asarray(out["zipf_counts"]).tolist()
    return out


def test_a_small_memory_bound_spills_and_gives_the_same_report(tmp_path):
    """--memory 1MB: the n-gram tables (1 MB, the single job's least: 8,192 entries) and the
    co-occurrence token cache (256 KB) spill to disk; every figure stays the same."""
    from engine.analyze import memory_split
    paths = [_generated(tmp_path / "c", n_docs=900, copies=2)]
    runs = {}
    for memory in (None, "1MB"):
        con = Console(file=io.StringIO(), width=200)
        runs[memory] = analyze_corpus(CorpusReader(paths, batch_bytes=20000), device="cpu", console=con,
                                      memory=memory)
    small, default = runs["1MB"].stats.counters, runs[None].stats.counters
    assert small["ngram_spills"] > 0 and small["cooc_cache_spilled"] == 1
    assert default["ngram_spills"] == 0 and default["cooc_cache_spilled"] == 0
    assert _report_fields(runs["1MB"]) == _report_fields(runs[None])
    assert memory_split("1MB") == (1 << 20, 1 << 18)   # the tables: at least the single job's least
    assert memory_split(4 << 30) == (3 << 30, 1 << 30) and memory_split("2GB") == (3 << 29, 1 << 29)
