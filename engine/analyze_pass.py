"""The one streaming pass of ``corpus analyze``: the corpus is read once and every batch is
tokenised once; the tokens feed each analytic's consumer (its running state, the same code
as the job's ``map_partition``):

* the n-gram counts (stop words removed): :class:`engine.ngrams.job.NgramConsumer` for the
  orders above 1; order 1 is the type table below, restricted to the words that are not
  stop words (:meth:`engine.analyze_words.WordTypes.unigrams`: the same rows);
* the MinHash signatures (stop words removed): :class:`engine.minhash.job.SignatureConsumer`;
  the documents' bytes for the exact verification go to a temporary file
  (:class:`engine.analyze_texts.KeptTexts`), read back for the candidates only;
* the word counts, stop words kept (the rank-frequency plot, :class:`WordCounts`), and the
  co-occurrence vocabulary (stop words removed) with the per-token type numbers of its pair
  pass in a :class:`TokenCache` (spilled to disk past its budget, as ``engine.cooc.run``
  does): one type table, :class:`engine.analyze_words.WordTypes`; the pairs are counted
  from that cache after the pass, without reading the corpus again;
* the language guess (raw bytes of the first documents: of a device batch, only those).

On a GPU backend the corpus is read as the single jobs read it (:func:`engine.job.as_batches`):
JSONL and Parquet by cuDF straight into device batches where it can
(:meth:`engine.corpus.CorpusReader.on_device`), the rest copied ahead; every consumer takes
device batches, and what comes back to the host is counted by the backend.

The batch is tokenised without stop words once; the stop-word filter (the type table's flag
of each token's type: the filter :func:`engine.text.tokenize` applies, by hash) gives the
tokens of the other analytics.
Memory: the batch in hand (and, on the CPU, the next one, read on a thread meanwhile as the
single jobs read: :func:`engine.corpus.prefetch.read_ahead`), the counters (the n-grams' spill past their budget), the MinHash
signatures and the cooc token cache (spilled past its budget), as in the single jobs; the
MinHash texts on disk; never the whole corpus as batches (except a corpus of at most ``keep_docs``
documents, for the all-pairs similarity matrix).  The n-gram counters are then read piece by
piece for the rows of their top only (:mod:`engine.analyze_ngrams`), never as one table of
every distinct n-gram.  ``corpus analyze --memory`` bounds the counters and the token cache
together (:func:`engine.analyze.memory_split`).
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from engine.stats import JobStats
from engine.text import TextOptions, Tokens, stopword_hashes, tokenize

__all__ = ["PassOutput", "WordCounts", "LanguageGuess", "SignaturesAndTexts", "drop_stopwords", "analyze_pass"]

LANG_DOCS = 2000        # documents sampled for the language guess
HEAD_CHARS = 3000       # characters of a document read for it
HEAD_BYTES = 4 * HEAD_CHARS   # the UTF-8 bytes that hold them at most
LANGS = ("en", "fr", "de", "es", "it", "pt", "nl")


def drop_stopwords(toks: Tokens, opts: TextOptions) -> Tokens:
    """The tokens of ``toks`` that are not stop words of ``opts`` (exactly the filter
    :func:`engine.text.tokenize` applies: ``tokenize(b, be, opts)`` equals
    ``drop_stopwords(tokenize(b, be, replace(opts, stopwords=())), opts)``).

    Parameters
    ----------
    toks : Tokens
        Tokens of one batch, tokenised with no stop words (and ``opts``' other options).
    opts : TextOptions
        The stop words to remove.

    Returns
    -------
    Tokens
        ``toks`` itself when there are no stop words; else the kept tokens, sharing
        ``toks``' normalised text.
    """
    stop = stopword_hashes(opts) if opts.stopwords else None
    if stop is None or stop.size == 0:   # an empty set removes nothing
        return toks
    be = toks.backend
    xp = be.xp
    stop = be.asarray(stop)
    h = toks.tok_hash
    keep = stop[xp.minimum(xp.searchsorted(stop, h), stop.size - 1)] != h
    cum = xp.zeros(h.size + 1, dtype=np.int64)
    xp.cumsum(keep, out=cum[1:])
    return kept_tokens(toks, keep, cum[toks.doc_tok_offsets])


def kept_tokens(toks: Tokens, keep, doc_offsets) -> Tokens:
    """The tokens ``keep`` (a mask or ascending indices, on the tokens' backend) of ``toks``,
    whose documents' offsets into the kept tokens are ``doc_offsets``; they share ``toks``'
    normalised text."""
    nch = toks.tok_nch[keep] if toks.tok_nch.size else toks.tok_nch
    return Tokens(toks.batch, toks.backend, toks.norm, toks.norm_offsets, toks.tok_start[keep],
                  toks.tok_len[keep], nch, toks.tok_hash[keep], doc_offsets, toks.slow_docs)


_SAMPLE_CHARS = HEAD_CHARS    # characters of a document's sample
_SAMPLE_BYTES = HEAD_BYTES    # the bytes they are decoded from (4 a character at most)
_HEAD_BYTES = 3300        # decoded first: 3,000 characters of mostly ASCII text


def _sample(data, start: int, end: int) -> str:
    """The casefolded first ``_SAMPLE_CHARS`` characters of the document ``data[start:end]``
    (its first ``_SAMPLE_BYTES`` bytes decoded, invalid bytes dropped: never the next
    document's).  A shorter prefix is decoded first: with invalid bytes
    dropped, the decoding of a prefix is a prefix of the decoding, so when it holds enough
    characters they are the same."""
    head = bytes(data[start:min(start + _HEAD_BYTES, end)]).decode("utf-8", "ignore")
    if len(head) < _SAMPLE_CHARS and end - start > _HEAD_BYTES:
        head = bytes(data[start:min(start + _SAMPLE_BYTES, end)]).decode("utf-8", "ignore")
    return head[:_SAMPLE_CHARS].casefold()


def _document_heads(batch, n: int, limit: int, chars: int = HEAD_CHARS) -> tuple[np.ndarray, np.ndarray]:
    """(UTF-8, offsets) on the host of the first ``n`` documents of ``batch``, each at least
    its first ``chars`` characters within its first ``limit`` bytes: the batch's own arrays
    for a host batch; for a device batch (read by cuDF) only those heads, cut on the device
    before the ``chars + 1``-th character's lead byte (the reader's text is valid UTF-8) and
    copied back (counted): 3,000 bytes a document of ASCII, not 12,000."""
    from engine.corpus.batch import DeviceBatch
    if isinstance(batch, DeviceBatch) and batch.source is not None:
        batch = batch.source      # copied from a host batch: its bytes are on the host
    n = min(n, batch.n_docs)
    if not isinstance(batch, DeviceBatch):
        return batch.data, batch.offsets[:n + 1]
    if n == 0:
        return np.empty(0, np.uint8), np.zeros(1, np.int64)
    from engine.gpu.arrays import gather_spans, offsets_of
    be, xp = batch.backend, batch.backend.xp
    start = batch.offsets[:n]
    data, offsets = gather_spans(be, batch.data, start, xp.minimum(batch.offsets[1:n + 1] - start, limit))
    leads = offsets_of(xp, ((data & 0xC0) != 0x80).astype(np.int64))   # lead bytes before each byte
    cut = xp.searchsorted(leads, leads[offsets[:-1]] + (chars + 1), side="left") - 1
    head = xp.minimum(cut, offsets[1:]) - offsets[:-1]
    data, offsets = gather_spans(be, data, offsets[:-1], head)
    return be.to_host(data), be.to_host(offsets)


# re's ``\w`` for a str pattern: ``str.isalnum`` or the underscore (``_sre``'s
# SRE_UNI_IS_WORD); of the ASCII code points, as a table
_ASCII_WORD = np.array([chr(c).isalnum() or c == 0x5F for c in range(128)], bool)


def _word_flags(cps: np.ndarray) -> np.ndarray:
    r"""Whether each code point up to the largest of ``cps`` is a word character of ``\w+``
    (those past the table are in none of ``cps``): the ASCII table, and ``str.isalnum`` of
    the distinct others."""
    high = np.unique(cps[cps >= 128])
    flags = np.zeros(max(128, int(high[-1]) + 1 if high.size else 0), bool)
    flags[:128] = _ASCII_WORD
    if high.size:
        flags[high] = [chr(c).isalnum() for c in high.tolist()]
    return flags


def _code_points(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(uint32 code points of ``texts`` one after another, int64 offsets of each)."""
    offsets = np.zeros(len(texts) + 1, np.int64)
    np.cumsum([len(t) for t in texts], out=offsets[1:])
    return np.frombuffer("".join(texts).encode("utf-32-le"), np.uint32), offsets


class LanguageGuess:
    r"""Documents per language, guessed from stop-word hits in the first 3,000 characters of
    the first ``max_docs`` documents (a cheap heuristic over ``LANGS``); ``unknown`` when
    under 15% of the words are stop words.  Fed batch by batch (:meth:`add`).

    A document's words are the ``\w+`` runs of its casefolded sample (Python's ``re``), each
    hit counted for every language whose stop words hold it; they are found and looked up
    in one pass over the samples' code points (``kernels.cpu.analyze.word_hits``: the same
    runs, the stop words compared exactly), not as 600,000 Python strings."""

    def __init__(self, max_docs: int = LANG_DOCS):
        from stop_words import get_stop_words

        from kernels.cpu.analyze import word_table
        self.codes: list[str] = []
        langs_of: dict[str, list[int]] = {}   # stop word -> the languages (indices) it belongs to
        for code in LANGS:
            try:
                words = frozenset(w.casefold() for w in get_stop_words(code))
            except Exception:
                continue
            for w in words:
                langs_of.setdefault(w, []).append(len(self.codes))
            self.codes.append(code)
        langs_of = {w: tuple(v) for w, v in langs_of.items()}
        # each stop word's set of languages as a number (0: not a stop word); ``member[k, l]``:
        # set k holds language l
        sets = sorted(set(langs_of.values()))
        self.member = np.zeros((len(sets) + 1, max(len(self.codes), 1)), np.int64)
        for k, v in enumerate(sets, 1):
            self.member[k, list(v)] = 1
        set_of = {v: k for k, v in enumerate(sets, 1)}
        words = list(langs_of)
        self.words, self.word_off = _code_points(words)
        self.word_code = np.array([set_of[langs_of[w]] for w in words], np.int64)
        self.slots, self.hashes = word_table(words)
        self.counts: dict[str, int] = {}
        self.seen = 0
        self.max_docs = max_docs

    @property
    def done(self) -> bool:
        return self.seen >= self.max_docs

    def add(self, batch) -> None:
        from kernels.cpu.analyze import word_hits
        take = min(batch.n_docs, self.max_docs - self.seen)
        if take <= 0:
            return
        self.seen += take
        data, offsets = _document_heads(batch, take, HEAD_BYTES)   # of a device batch the heads only
        bounds = offsets.tolist()
        cps, doc_off = _code_points([_sample(data, s, e) for s, e in zip(bounds[:-1], bounds[1:])])
        per_set = np.zeros((take, self.member.shape[0]), np.int64)   # hits per document and set
        n_tok = np.zeros(take, np.int64)
        word_hits(cps, doc_off, _word_flags(cps), self.slots, self.hashes, self.words, self.word_off,
                  self.word_code, per_set, n_tok)
        per_lang = per_set @ self.member                             # hits per document and language
        hits = per_lang.max(axis=1)
        best = per_lang.argmax(axis=1)                               # the first with the most hits
        unknown = (hits == 0) | (n_tok == 0) | (hits < 0.15 * n_tok)
        names = np.asarray(self.codes + ["unknown"], dtype=object)
        for name, k in Counter(names[np.where(unknown, len(self.codes), best)].tolist()).items():
            self.counts[name] = self.counts.get(name, 0) + k

    def result(self) -> tuple[dict[str, int], int]:
        """(documents per language, most first, ``unknown`` last; documents sampled)."""
        c = self.counts
        return dict(sorted(c.items(), key=lambda kv: (kv[0] == "unknown", -kv[1], kv[0]))), self.seen


@dataclass
class WordCounts:
    """Occurrences of every distinct word, stop words kept (the rank-frequency plot): what the
    unigram table of ``engine.ngrams`` gives for ``count``, from the term counts of a
    :class:`engine.cooc.vocabulary.VocabPartial` (a type table: no strings, document
    frequencies or first occurrences kept per occurrence, and a table sized by the words)."""
    counts: np.ndarray      # int64, most first (the unigram table's ``count`` column)
    top_words: list         # the first words of the unigram table: count descending, then word
    tokens: int             # tokens, stop words kept

    @classmethod
    def of(cls, part, k: int = 6) -> "WordCounts":
        counts = np.asarray(part.counts, np.int64)
        desc = np.sort(counts)[::-1]
        if counts.size > k:   # the words whose count can reach the first k, then ordered exactly
            cand = np.flatnonzero(counts >= desc[k - 1])
        else:
            cand = np.arange(counts.size)
        ranked = sorted(zip((-counts[cand]).tolist(), part.terms(cand)))   # str order = code points
        return cls(np.ascontiguousarray(desc), [w for _, w in ranked[:k]], int(part.stats.tokens))

    @property
    def distinct(self) -> int:
        return int(self.counts.size)


class SignaturesAndTexts:
    """The MinHash consumer of the pass: the signatures (:class:`engine.minhash.job.SignatureConsumer`)
    and, when the config verifies, the texts on disk (:class:`engine.analyze_texts.KeptTexts`)
    instead of in memory; :meth:`partial` gives the partial ``engine.minhash.map_partition``
    gives, its texts memory-mapped."""

    def __init__(self, backend, cfg):
        from engine.analyze_texts import KeptTexts
        from engine.minhash.job import SignatureConsumer
        self.signatures = SignatureConsumer(backend, cfg, keep=False)
        self.texts = KeptTexts(self.signatures.be) if cfg.verify else None

    def add_tokens(self, batch, toks) -> None:
        self.signatures.add_tokens(batch, toks)
        if self.texts is not None:
            self.texts.add(batch)

    def partial(self):
        part = self.signatures.partial()
        if self.texts is not None:
            part.text_data, part.text_offsets = self.texts.arrays()
        return part

    def close(self) -> None:
        """Close the texts' file (the map made by :meth:`partial` stays readable)."""
        if self.texts is not None:
            self.texts.close()


@dataclass
class PassOutput:
    """What the pass leaves: each analytic's partial (or the exception that stopped it)."""
    ngrams: object = None          # NgramPartial; on a GPU the NgramResult (None: not counted here)
    unigrams: object = None        # WordCounts
    minhash: object = None         # MinHashPartial, or the exception
    vocabulary: object = None      # VocabPartial, or the exception
    cache: object = None           # the cooc TokenCache (the caller closes it)
    languages: tuple = ({}, 0)
    small_batches: list | None = None   # every batch, when the corpus has <= keep_docs documents
    ngram_distinct: dict | None = None  # order -> distinct n-grams, when ``ngrams`` keeps the top's rows only
    errors: dict = field(default_factory=dict)


def _ngram_rows(consumer, cfg, words, vocabulary, unigrams_of_types: bool):
    """The pass's n-gram partial and the distinct n-grams per order: with ``cfg.top``, only
    the rows that can reach the top of their order (:func:`engine.analyze_ngrams.top_candidates`:
    memory bounded by the counters' budget, not by the distinct n-grams), else every row
    (``distinct`` None); order 1 from the type table when ``unigrams_of_types``."""
    from engine.analyze_ngrams import top_candidates
    from engine.analyze_words import concat_partials
    if cfg.top is None:
        part, distinct = consumer.partial(), None
    else:
        part, distinct = top_candidates(consumer, cfg.top, consumer.stats)
    if unigrams_of_types:
        uni = words.unigrams(vocabulary, part.stats)   # one row a word: a small table
        if distinct is not None:
            distinct = {1: len(uni), **distinct}
        part = concat_partials([uni, part], part.stats)
    return part, distinct


def _device_ngrams(backend, cfg):
    from engine.gpu.ngrams import DeviceNgramCounter
    return DeviceNgramCounter(backend, cfg)


def _feed(name: str, consumers: dict, errors: dict, method: str, *args):
    """``consumers[name].method(*args)``; on an exception the consumer is dropped and the error
    kept (its section becomes a note, as the sections of ``corpus analyze`` always did)."""
    try:
        return getattr(consumers[name], method)(*args)
    except Exception as e:   # noqa: BLE001  (reported by the caller)
        errors[name] = e
        consumers.pop(name)
        return e


def analyze_pass(reader, backend, text: TextOptions, ngram_cfg, minhash_cfg, cooc_cfg, stats: JobStats,
                 *, count_ngrams: bool = True, keep_docs: int = 12, probe=None) -> PassOutput:
    """Read ``reader`` once, tokenise each batch once, feed every analytic.

    Parameters
    ----------
    reader : iterable of Batch (a CorpusReader), iterated exactly once (on a GPU backend a
        reader is asked to read through cuDF first, unless it was already asked).
    backend : Backend.
    text : the shared text options (stop words removed for n-grams, MinHash and cooc; the
        word counts keep them).  ``ngram_cfg.text``, ``minhash_cfg.text`` and
        ``cooc_cfg.text`` must equal it.
    stats : receives the seconds per stage (``read``, ``tokenize``, ``ngrams``, ``unigrams``,
        ``near_duplicates``, ``cooccurrence``, ``languages``).
    count_ngrams : False when the main n-gram counts are made elsewhere (a cluster).
    keep_docs : the batches are kept while the corpus has at most this many documents.
    probe : called as ``probe(batch, consumers)`` after each batch (memory measurement,
        ``bench/analyze_memory.py``).

    Returns
    -------
    PassOutput
    """
    from engine.analyze_words import WordTypes
    from engine.cooc.typetable import TokenCache
    from engine.ngrams.job import NgramConsumer
    for name, cfg in (("ngrams", ngram_cfg), ("minhash", minhash_cfg), ("cooc", cooc_cfg)):
        if cfg.text != text:
            raise ValueError(f"{name} text options differ from the pass's: {cfg.text} != {text}")
    base = replace(text, stopwords=())    # one tokenisation: no stop words, filtered per analytic
    out = PassOutput(cache=TokenCache(cooc_cfg.cache_bytes), small_batches=[])
    # every word, stop words kept (the unigram counts), and the cooc vocabulary and token
    # cache: one type table (engine.analyze_words)
    words = WordTypes(backend, text, out.cache)
    consumers: dict = {}
    # order 1 of the n-grams is the type table's kept types (WordTypes.unigrams): the n-gram
    # consumer counts the orders above it; on a GPU the counts stay on the device (the single
    # job's tables) and only the top rows come back
    lo, hi = ngram_cfg.n
    on_cpu = backend.pick(cpu=True, gpu=False)
    unigrams_of_types = count_ngrams and on_cpu and lo == 1 and hi >= 2 and not ngram_cfg.char
    if count_ngrams:
        consumers["ngrams"] = _device_ngrams(backend, ngram_cfg) if not on_cpu else \
            NgramConsumer(backend, replace(ngram_cfg, n=(2, hi)) if unigrams_of_types else ngram_cfg)
    counters = [consumers["ngrams"]] if count_ngrams else []   # they hold spill files
    # MinHash's texts for verification: on disk, read back for the candidates only
    consumers["minhash"] = minhash = SignaturesAndTexts(backend, minhash_cfg)
    langs = LanguageGuess()
    seconds = {k: 0.0 for k in ("unigrams", "ngrams", "minhash", "cooc")}
    on_cpu = backend.pick(cpu=True, gpu=False)
    ahead = None
    if not on_cpu:   # as the single jobs read: cuDF into device batches, the rest copied ahead
        from engine.job import as_batches
        reader = as_batches(reader, backend)[0]
    else:   # as the single CPU jobs read: the next batch on a thread while this one is worked on
        from engine.corpus.prefetch import read_ahead
        reader = ahead = read_ahead(reader)
    n_docs = 0
    try:
        it = iter(reader)
        while True:
            with stats.stage("read"):
                batch = next(it, None)
            if batch is None:
                break
            with stats.stage("tokenize"):
                all_toks = tokenize(batch, backend, base)
            t0 = time.perf_counter()
            keep, kept_offsets = words.add(batch, all_toks)   # failures stop the analysis, as before
            seconds["unigrams"] += time.perf_counter() - t0
            with stats.stage("tokenize"):   # the stop-word filter: the table's flag of each token
                if not text.stopwords:
                    toks = all_toks
                elif on_cpu:
                    toks = kept_tokens(all_toks, keep, kept_offsets)
                else:   # the same filter, on the device
                    toks = drop_stopwords(all_toks, text)
            # the token arrays with stop words go (the text stays, shared)
            del all_toks, keep, kept_offsets
            for name in list(consumers):
                t0 = time.perf_counter()
                if name == "ngrams":
                    consumers[name].add(batch, toks)
                else:
                    _feed(name, consumers, out.errors, "add_tokens", batch, toks)
                seconds[name] += time.perf_counter() - t0
            del toks
            if not langs.done:
                with stats.stage("languages"):
                    langs.add(batch)
            n_docs += batch.n_docs
            if probe is not None:
                probe(batch, {**consumers, "words": words})
            if out.small_batches is not None:
                out.small_batches = out.small_batches + [batch] if n_docs <= keep_docs else None
        t0 = time.perf_counter()
        everything, out.vocabulary = words.partials()
        out.unigrams = WordCounts.of(everything)
        seconds["unigrams"] += time.perf_counter() - t0
        if count_ngrams:
            t0 = time.perf_counter()
            c = consumers["ngrams"]
            if isinstance(c, NgramConsumer):
                out.ngrams, out.ngram_distinct = _ngram_rows(c, ngram_cfg, words, out.vocabulary,
                                                             unigrams_of_types)
            else:
                out.ngrams = c.result()   # finished on the device
            seconds["ngrams"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        out.minhash = _feed("minhash", consumers, out.errors, "partial") if "minhash" in consumers \
            else out.errors["minhash"]
        seconds["minhash"] += time.perf_counter() - t0
    except BaseException:
        out.cache.close()
        raise
    finally:
        if ahead is not None:   # the read-ahead thread: stopped after the batch it reads
            ahead.close()
        for c in counters:
            c.close()
        minhash.close()
    for stage, name in (("ngrams", "ngrams"), ("unigrams", "unigrams"), ("near_duplicates", "minhash"),
                        ("cooccurrence", "cooc")):
        stats.seconds[stage] = stats.seconds.get(stage, 0.0) + seconds[name]
    stats.seconds.setdefault("languages", 0.0)
    out.languages = langs.result()
    return out
