"""The texts ``corpus analyze`` keeps for MinHash's verification, on disk: the same bytes and
offsets ``engine.minhash.map_partition`` keeps in memory, and the same verified pairs."""
import numpy as np

from engine import minhash
from engine.analyze_pass import SignaturesAndTexts
from engine.analyze_texts import KeptTexts
from engine.backend import get_backend
from engine.corpus import CorpusReader
from engine.text import text_options, tokenize

CPU = get_backend("cpu")
TEXT = text_options("fr,en")


def _corpus(tmp_path):
    base = "le conseil municipal a vote hier soir le budget de la ville pour l annee prochaine avec une hausse"
    texts = [base, base.replace("hier", "mardi"), "déjà vu 😀 日本語", "", base + " selon le maire",
             "une autre phrase sans rapport", base.replace("ville", "commune")] * 3
    for i, t in enumerate(texts):
        (tmp_path / f"d{i:02d}.txt").write_text(t, encoding="utf-8")
    return [tmp_path]


def test_kept_texts_equal_the_batches(tmp_path):
    batches = list(CorpusReader(_corpus(tmp_path), batch_bytes=200))
    assert len(batches) > 3
    kept = KeptTexts(CPU)
    for b in batches:
        kept.add(b)
    data, off = kept.arrays()
    kept.close()   # the map stays readable
    assert isinstance(data, np.memmap) and off.size == sum(b.n_docs for b in batches) + 1
    docs = [b.data[b.offsets[i]:b.offsets[i + 1]].tobytes() for b in batches for i in range(b.n_docs)]
    assert [data[off[i]:off[i + 1]].tobytes() for i in range(off.size - 1)] == docs
    assert off[-1] == sum(len(d) for d in docs)


def test_no_text_is_an_empty_array():
    data, off = KeptTexts(CPU).arrays()
    assert data.size == 0 and off.tolist() == [0]


def test_signatures_and_texts_give_the_jobs_partial_and_pairs(tmp_path):
    paths = _corpus(tmp_path)
    cfg = minhash.MinHashConfig(text=TEXT, threshold=0.5)
    mine = SignaturesAndTexts(CPU, cfg)
    for b in CorpusReader(paths, batch_bytes=300):
        mine.add_tokens(b, tokenize(b, CPU, TEXT))
    got = mine.partial()
    mine.close()
    want = minhash.job.map_partition(CorpusReader(paths, batch_bytes=300), CPU, cfg)
    assert np.array_equal(got.sig, want.sig) and np.array_equal(got.text_offsets, want.text_offsets)
    assert np.array_equal(np.asarray(got.text_data), want.text_data) and got.has_texts
    a, b = minhash.finish(got, cfg), minhash.finish(want, cfg)
    assert a.summary() == b.summary() and a.summary()["verified pairs"] > 0
    assert np.array_equal(a.jaccard, b.jaccard) and not np.isnan(a.jaccard).any()
