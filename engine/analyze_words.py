"""One type table for two sections of ``corpus analyze``: the word counts with stop words
(the rank-frequency plot) and the co-occurrence vocabulary without them.

A token is a stop word or not by its hash alone, so every occurrence of a type is kept or
dropped together: the co-occurrence job's term counts, document frequencies, first
documents and spellings (:class:`engine.cooc.vocabulary.VocabPartial`) are exactly the
table of all the words restricted to the types that are not stop words.  One table (one
hash lookup a token, one document-frequency pass) replaces two, and the stop-word filter
of a batch becomes one flag a type, gathered by type number, instead of a search of the
stop list for every token.  The co-occurrence token cache holds the type numbers of the
kept tokens in this table; its ``keys`` are this table's, so the pair pass maps them to
term ids as it does the job's own.

The same table restricted to those types is also the n-gram job's order 1 (stop words
removed): :meth:`WordTypes.unigrams` gives its rows, so the n-gram consumer counts orders 2
and up only.
"""
from __future__ import annotations

import numpy as np

from engine.arrays import gather_ranges
from engine.cooc.backends import ops_for
from engine.cooc.typetable import TokenCache, TypeTable
from engine.cooc.vocabulary import VocabPartial, _grown, type_strings
from engine.stats import JobStats
from engine.text import TextOptions, stopword_hashes

__all__ = ["WordTypes", "unigram_keys", "concat_partials"]


def unigram_keys(tok_hash: np.ndarray) -> np.ndarray:
    """The n-gram key of each one-token n-gram: ``combine(1, h)`` of
    ``kernels.text_core.word_ngrams_doc`` (``mix64(1 * P1 + h)``, wrapping uint64), in numpy."""
    from kernels.hashing import M1, M2, P1
    x = np.asarray(tok_hash, np.uint64) + P1
    x ^= x >> np.uint64(30)
    x *= M1
    x ^= x >> np.uint64(27)
    x *= M2
    x ^= x >> np.uint64(31)
    return x


def concat_partials(parts: list, stats: JobStats):
    """The rows of the :class:`engine.ngrams.partial.NgramPartial` ``parts`` (of different
    orders) one after another: the partial of all their orders."""
    from engine.ngrams.partial import NgramPartial
    shift = np.cumsum([0] + [p.data.size for p in parts[:-1]])
    offsets = np.concatenate([np.zeros(1, np.int64)] + [p.offsets[1:] + s for p, s in zip(parts, shift)])
    cat = [np.concatenate([getattr(p, name) for p in parts])
           for name in ("keys", "n", "counts", "doc_freq", "first", "data")]
    return NgramPartial(*cat[:5], cat[5], offsets, stats)


class WordTypes:
    """Every word of the corpus, stop words kept, fed batch by batch in corpus order.

    Parameters
    ----------
    backend : Backend
    stop_opts : TextOptions
        The stop words of the co-occurrence vocabulary (and of the other sections).
    cache : TokenCache
        Receives each batch's kept tokens (their type numbers) and document offsets.
    """

    def __init__(self, backend, stop_opts: TextOptions, cache: TokenCache):
        self.be = backend
        self.ops = ops_for(backend)
        stop = stopword_hashes(stop_opts) if stop_opts.stopwords else None
        self.stop = np.empty(0, np.uint64) if stop is None else np.asarray(stop, np.uint64)
        self.cache = cache
        self.types = TypeTable()
        self.doc_freq = np.zeros(0, np.int64)
        self.first_doc = np.zeros(0, np.int64)
        self.last = np.zeros(0, np.int64)
        self.is_stop = np.zeros(0, bool)     # per type number
        # per type number: ordinal of its first kept occurrence (engine.ngrams.partial's
        # ``first``: global document << 32 | position among the document's kept tokens)
        self.first_kept = np.zeros(0, np.int64)
        self._kept_types = None   # the type numbers of the kept table (set by partials)
        self.all = JobStats(job="cooc", backend=backend.describe())    # every token
        self.kept = JobStats(job="cooc", backend=backend.describe())   # stop words removed

    def add(self, batch, toks) -> tuple[np.ndarray, np.ndarray]:
        """Count the tokens ``toks`` of ``batch`` (tokenised with no stop words).

        Returns
        -------
        keep : ndarray of int64
            The indices of the tokens (host) that are not stop words (the filter
            :func:`engine.text.tokenize` applies, by the token hash), ascending.
        kept_offsets : ndarray of int64
            The documents' offsets into the kept tokens (host).
        """
        from kernels.cpu.analyze import type_pass
        with self.all.stage("vocabulary"), self.be.count_into(self.all):
            if self.be.pick(cpu=True, gpu=False):
                tt = np.empty(toks.n_tokens, np.int32)
                self.types.add(toks.tok_hash, np.empty(0, np.int64), toks.tok_start, toks.tok_len, toks.norm, tt)
                off = np.ascontiguousarray(toks.doc_tok_offsets, np.int64)
            else:   # counted by key on the device; the type numbers come back (overwritten below)
                (tt, off, _, _), = self.ops.count_tokens(self.be, self.types, toks)[0]
                tt, off = np.array(tt, np.int32), np.ascontiguousarray(off, np.int64)
            n = self.types.numbers
            self.doc_freq, self.first_doc = _grown(self.doc_freq, n, 0), _grown(self.first_doc, n, -1)
            self.last = _grown(self.last, n, -1)
            self.first_kept = _grown(self.first_kept, n, -1)
            self._flag_new_types(n)
            # one pass (kernels.cpu.analyze.type_pass): the document counts, and the kept
            # tokens as indices (each array the caller's kept_tokens selects from is then one
            # gather) with their type numbers, written over ``tt``
            keep = np.empty(tt.size, np.int64)
            kept_offsets = np.empty(off.size, np.int64)
            nk = type_pass(tt, off, self.is_stop, np.int64(self.all.documents), np.int64(batch.doc_base),
                           self.last, self.doc_freq, self.first_doc, self.first_kept, keep, kept_offsets)
            # shrunk in place (no other reference to them): the cache holds ``kept_tt``, and
            # neither holds the memory of every token
            keep.resize(nk, refcheck=False)
            tt.resize(nk, refcheck=False)
            kept_tt = tt
            self.cache.add(kept_tt, kept_offsets, kept_tt.nbytes + kept_offsets.nbytes)
        for s, ntok in ((self.all, toks.n_tokens), (self.kept, kept_tt.size)):
            s.documents += batch.n_docs
            s.bytes += batch.n_bytes
            s.tokens += int(ntok)
        return keep, kept_offsets

    def _flag_new_types(self, n: int) -> None:
        old = self.is_stop.size
        if n == old:
            return
        h = self.types.hashes()[old:n]
        flags = np.zeros(n - old, bool)
        if self.stop.size:
            at = np.minimum(np.searchsorted(self.stop, h), self.stop.size - 1)
            flags = self.stop[at] == h
        self.is_stop = np.concatenate([self.is_stop, flags])

    def partials(self) -> tuple[VocabPartial, VocabPartial]:
        """(every word: the unigram counts, stop words kept; the co-occurrence vocabulary:
        what :class:`engine.cooc.vocabulary.VocabConsumer` gives for the kept tokens).  Call
        once, after the last batch; sets the cache's ``keys``."""
        types = self.types
        with self.all.stage("vocabulary"):
            n = types.numbers
            strings, offsets = type_strings(types)
            ln = np.diff(offsets)
            everything = VocabPartial(types.hashes(), types.counts().copy(), self.doc_freq[:n].copy(),
                                      self.first_doc[:n].copy(), strings, offsets, self.all)
        self.cache.keys = everything.keys   # the cached numbers are this table's
        with self.kept.stage("vocabulary"):
            sel = np.flatnonzero(~self.is_stop[:n])
            s, off = gather_ranges(strings, offsets[sel], ln[sel])
            kept = VocabPartial(everything.keys[sel], everything.counts[sel], everything.doc_freq[sel],
                                everything.first_doc[sel], s, off, self.kept)
        self.kept.seconds["vocabulary"] += self.all.seconds.get("vocabulary", 0.0)
        self._kept_types = sel
        return everything, kept

    def unigrams(self, kept: VocabPartial, stats: JobStats):
        """The n-gram job's order-1 rows (stop words removed) from the types of ``kept`` (the
        second table of :meth:`partials`, called first): the
        :class:`engine.ngrams.partial.NgramPartial` that
        :class:`engine.ngrams.job.NgramConsumer` makes for order 1 of the same tokens (its
        keys, counts, document frequencies, first occurrences and strings)."""
        from engine.ngrams.partial import NgramPartial
        return NgramPartial(unigram_keys(kept.keys), np.ones(len(kept), np.int8), kept.counts, kept.doc_freq,
                            self.first_kept[self._kept_types], kept.strings, kept.offsets, stats)
