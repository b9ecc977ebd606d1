"""One type table for the word counts and the co-occurrence vocabulary (engine.analyze_words):
its two partials equal what two :class:`engine.cooc.vocabulary.VocabConsumer` give (all the
words; the words without stop words, with their token cache), its stop-word mask is
:func:`engine.text.tokenize`'s filter, and the pair pass over its cache gives the job's
pairs."""
import numpy as np
import pytest

from engine import cooc
from engine.analyze_pass import drop_stopwords, kept_tokens
from engine.analyze_words import WordTypes
from engine.backend import get_backend
from engine.cooc.pairs import map_partition as pair_pass
from engine.cooc.typetable import TokenCache
from engine.cooc.vocabulary import VocabConsumer, choose_vocabulary
from engine.corpus import CorpusReader
from engine.resources import seeds_dir
from engine.text import TextOptions, text_options, tokenize
from tests.test_analyze_onepass import _generated

CPU = get_backend("cpu")


def _by_key(p):
    terms = p.terms(np.arange(len(p)))
    return {int(k): (t, int(c), int(d), int(f)) for k, t, c, d, f in
            zip(p.keys, terms, p.counts, p.doc_freq, p.first_doc)}


def _cached_keys(cache):
    """The term key of every cached token, and the documents' offsets, batch by batch."""
    return [(cache.keys[tt], off) for tt, off in cache]


def _both(paths, text, cfg):
    """WordTypes and the two VocabConsumers over the same batches: (partials, caches)."""
    all_c, kept_c = TokenCache(1 << 30), TokenCache(1 << 30)
    words = WordTypes(CPU, text, kept_c)
    every = VocabConsumer(CPU, cooc.CoocConfig(text=TextOptions()))
    kept = VocabConsumer(CPU, cfg, tokens=all_c)
    for batch in CorpusReader(paths, batch_bytes=4096):
        toks = tokenize(batch, CPU, TextOptions())
        keep, off = words.add(batch, toks)
        filtered = tokenize(batch, CPU, text)
        mine = kept_tokens(toks, keep, off)
        assert np.array_equal(mine.tok_hash, filtered.tok_hash) and np.array_equal(off, filtered.doc_tok_offsets)
        assert [mine.token(i) for i in range(0, mine.n_tokens, 7)] == \
            [filtered.token(i) for i in range(0, filtered.n_tokens, 7)]
        assert np.array_equal(drop_stopwords(toks, text).tok_hash, mine.tok_hash)
        every.add_tokens(batch, toks)
        kept.add_tokens(batch, filtered)
    return words.partials(), (every.partial(), kept.partial()), kept_c, all_c


@pytest.mark.parametrize("stop", ["fr,en", None])
def test_word_types_equal_two_vocabulary_consumers(tmp_path, stop):
    text = text_options(stop)
    paths = [seeds_dir(), _generated(tmp_path / "c")]
    cfg = cooc.CoocConfig(window=5, min_count=2, text=text)
    (p_all, p_kept), (want_all, want_kept), kept_c, all_c = _both(paths, text, cfg)
    assert _by_key(p_all) == _by_key(want_all) and len(p_all) > 100
    assert _by_key(p_kept) == _by_key(want_kept)
    assert (len(p_kept) < len(p_all)) == (stop is not None)
    assert p_kept.stats.tokens == want_kept.stats.tokens and p_all.stats.tokens == want_all.stats.tokens
    assert p_kept.stats.documents == want_kept.stats.documents
    for (k1, o1), (k2, o2) in zip(_cached_keys(kept_c), _cached_keys(all_c), strict=True):
        assert np.array_equal(k1, k2) and np.array_equal(o1, o2)


def test_pairs_from_the_shared_cache_equal_the_jobs(tmp_path):
    text = text_options("fr,en")
    paths = [seeds_dir(), _generated(tmp_path / "c")]
    cfg = cooc.CoocConfig(window=5, min_count=2, text=text)
    (_, p_kept), (_, want_kept), kept_c, all_c = _both(paths, text, cfg)
    tables = []
    for part, cache in ((p_kept, kept_c), (want_kept, all_c)):
        vocab = choose_vocabulary(part, cfg)
        pairs = pair_pass(cache, CPU, cfg, vocab)
        tables.append(cooc.finish(cooc.combine([pairs]), cfg, vocab).table(None, 1000))
    assert tables[0].num_rows > 0 and tables[0].equals(tables[1])
    assert tables[0].equals(cooc.run(CorpusReader(paths), CPU, cfg).table(None, 1000))


def _ngram_rows(p):
    return {(int(n), int(k)): (bytes(p.data[p.offsets[i]:p.offsets[i + 1]]), int(c), int(d), int(f))
            for i, (n, k, c, d, f) in enumerate(zip(p.n, p.keys, p.counts, p.doc_freq, p.first))}


@pytest.mark.parametrize("stop", ["fr,en", None])
def test_unigrams_of_the_type_table_equal_the_ngram_consumers(tmp_path, stop):
    """Order 1 of the n-grams from the type table (keys, counts, document frequencies, first
    occurrences, strings): the rows :class:`engine.ngrams.job.NgramConsumer` counts; with
    the consumer's orders 2-3 beside them, the n-gram job's partial of orders 1-3."""
    from engine import ngrams
    from engine.analyze_words import concat_partials
    from engine.ngrams.job import NgramConsumer
    from engine.stats import JobStats
    text = text_options(stop)
    paths = [seeds_dir(), _generated(tmp_path / "c")]
    words = WordTypes(CPU, text, TokenCache(1 << 30))
    one, rest = (NgramConsumer(CPU, ngrams.NgramConfig(n=n, text=text)) for n in ((1, 1), (2, 3)))
    for batch in CorpusReader(paths, batch_bytes=4096):
        toks = tokenize(batch, CPU, TextOptions())
        keep, off = words.add(batch, toks)
        kept = kept_tokens(toks, keep, off)
        one.add(batch, kept)
        rest.add(batch, kept)
    _, vocab = words.partials()
    mine = words.unigrams(vocab, JobStats())
    want = one.partial()
    assert len(mine) > 100 and _ngram_rows(mine) == _ngram_rows(want)
    both = concat_partials([mine, rest.partial()], JobStats())
    job = ngrams.map_partition(CorpusReader(paths, batch_bytes=4096), CPU,
                               ngrams.NgramConfig(n=(1, 3), text=text))
    assert _ngram_rows(both) == _ngram_rows(job)
    cfg = ngrams.NgramConfig(n=(1, 3), top=20, text=text)
    assert ngrams.finish(both, cfg).table().equals(ngrams.finish(job, cfg).table())
    one.close()
    rest.close()


def _type_pass_reference(types, off, is_stop, doc0, doc_base, last, doc_freq, first_doc, first_kept):
    """kernels.cpu.analyze.type_pass in plain Python, token by token."""
    keep, kept_off = [], []
    for d in range(len(off) - 1):
        kept_off.append(len(keep))
        for i in range(off[d], off[d + 1]):
            t = types[i]
            if last[t] != doc0 + d:
                last[t] = doc0 + d
                doc_freq[t] += 1
                if first_doc[t] < 0:
                    first_doc[t] = doc0 + d
            if not is_stop[t]:
                if first_kept[t] < 0:
                    first_kept[t] = ((doc_base + d) << 32) | (len(keep) - kept_off[-1])
                keep.append(i)
    kept_off.append(len(keep))
    return keep, [types[i] for i in keep], kept_off


def test_type_pass_equals_a_token_by_token_reference():
    """Two batches of random type numbers (stop words, repeats within a document, empty
    documents): the same counts, kept tokens, offsets and first kept occurrences."""
    from kernels.cpu.analyze import type_pass
    rng = np.random.default_rng(7)
    n_types = 40
    is_stop = rng.random(n_types) < 0.5
    state = [np.full(n_types, -1, np.int64), np.zeros(n_types, np.int64), np.full(n_types, -1, np.int64),
             np.full(n_types, -1, np.int64)]
    ref = [s.tolist() for s in state]
    doc0 = 0
    for n_docs in (30, 17):
        lens = rng.integers(0, 12, n_docs)
        off = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
        types = rng.integers(0, n_types, int(off[-1])).astype(np.int32)
        want_keep, want_types, want_off = _type_pass_reference(types.tolist(), off.tolist(), is_stop.tolist(),
                                                               doc0, doc0 + 5, *ref)
        keep, kept_off = np.empty(types.size, np.int64), np.empty(off.size, np.int64)
        nk = type_pass(types, off, is_stop, np.int64(doc0), np.int64(doc0 + 5), *state, keep, kept_off)
        assert nk == len(want_keep)
        assert keep[:nk].tolist() == want_keep and types[:nk].tolist() == want_types
        assert kept_off.tolist() == want_off
        assert [s.tolist() for s in state] == ref
        doc0 += n_docs
    assert (state[3] >= 0).sum() == sum(1 for t in range(n_types) if not is_stop[t] and state[1][t] > 0)
