"""Kernels of ``corpus analyze``'s own stages on the CPU: the type-number pass
(``engine.analyze_words.WordTypes``) and the stop-word hits of the language guess
(``engine.analyze_pass.LanguageGuess``).

A batch is tokenised once with every word; its tokens' type numbers then give, in one
pass over them, what the sections need: each type's document frequency and first document
(as ``kernels.cpu.cooc.type_doc_freq``), and the tokens that are not stop words (a flag a
type) with their documents' offsets and each type's first kept occurrence.  One pass in
place of a document-frequency pass, a flag gather, a mask scan, a search of the offsets
and an unbuffered ``minimum.at`` over the tokens of the new types.
"""
from __future__ import annotations

import numpy as np
from numba import njit

FIRST_SHIFT = 32   # engine.ngrams.partial.FIRST_SHIFT: bits of the position in an ordinal


@njit(cache=True, nogil=True)   # serial: the table updates are per type; the read-ahead runs meanwhile
def type_pass(types, off, is_stop, doc0, doc_base, last, doc_freq, first_doc, first_kept, keep, kept_off):
    """Count the documents of each type and keep the tokens whose type is not a stop word.

    ``types``: the type number of each token of a batch; ``off``: its documents' token
    offsets; document ``d`` is document ``doc0 + d`` of the corpus for the document counts
    (``last``: the last document counted per type, -1 before its first; the batches come in
    corpus order, so a type's first document is the one where ``last`` was -1) and ``doc_base
    + d`` in the first-occurrence ordinals.  Writes the kept tokens' indices to
    ``keep[:kept]`` and their type numbers over ``types[:kept]`` (each written at or before
    the index it is read from; ``keep`` has a slot a token), the documents' offsets into
    the kept tokens to ``kept_off`` (``off.size`` entries) and, for each type kept for the
    first time, ``first_kept``: its document << ``FIRST_SHIFT`` | its position among the
    document's kept tokens.  Returns the tokens kept.

    Without branches on the token's type (stop words are about half the tokens, and a type
    seen again in a document is as common as one that is not: either branch would be
    mispredicted at every other token, some 3x the time of the pass): each token is written
    to the next kept slot, which advances unless it is a stop word, and the document count
    adds the comparison.  Only the first occurrences (rare) branch.
    """
    nk = 0
    for d in range(off.size - 1):
        doc = doc0 + d
        kept_off[d] = nk
        start = nk
        for i in range(off[d], off[d + 1]):
            t = types[i]
            seen = last[t]
            doc_freq[t] += seen != doc
            last[t] = doc
            if seen < 0:
                first_doc[t] = doc
            stop = is_stop[t]
            if (first_kept[t] < 0) & (not stop):
                first_kept[t] = ((doc_base + d) << FIRST_SHIFT) | (nk - start)
            keep[nk] = i
            types[nk] = t
            nk += 1 - stop
    kept_off[off.size - 1] = nk
    return nk


_FNV_OFFSET = 14695981039346656037
_FNV_PRIME = 1099511628211


@njit(cache=True, inline="always")
def _word_hash(cps, start, end):
    """FNV-1a of the code points ``cps[start:end]`` (wrapping uint64)."""
    h = np.uint64(_FNV_OFFSET)
    for i in range(start, end):
        h = (h ^ np.uint64(cps[i])) * np.uint64(_FNV_PRIME)
    return h


def word_hash(word: str) -> int:
    """:func:`_word_hash` of the code points of ``word``, in Python (a table's few words)."""
    h = _FNV_OFFSET
    for c in word:
        h = ((h ^ ord(c)) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def word_table(words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The open-addressing table of ``words`` that :func:`word_hits` reads: (int64 slots, a
    power of two, holding the index of a word or -1; uint64 hash of each slot's word)."""
    cap = 1 << max(4, (2 * len(words)).bit_length())
    slots, hashes = [-1] * cap, [0] * cap
    for w, word in enumerate(words):
        h = word_hash(word)
        s = h & (cap - 1)
        while slots[s] >= 0:
            s = (s + 1) & (cap - 1)
        slots[s], hashes[s] = w, h
    return np.array(slots, np.int64), np.array(hashes, np.uint64)


@njit(cache=True, nogil=True)
def word_hits(cps, doc_off, is_word, slots, hashes, words, word_off, word_code, hits, n_words):
    """The words (maximal runs of code points flagged in ``is_word``; those at or past its
    size are not) of each document ``cps[doc_off[d]:doc_off[d + 1]]``: their number to
    ``n_words[d]``, and for each that is one of the table's words (:func:`word_table` of
    the words whose code points are ``words[word_off[w]:word_off[w + 1]]``; the code points
    compared on a hash match), ``hits[d, word_code[w]] += 1``."""
    mask = slots.size - 1
    limit = is_word.size
    for d in range(doc_off.size - 1):
        i, end, n = doc_off[d], doc_off[d + 1], 0
        while i < end:
            if cps[i] >= limit or not is_word[cps[i]]:
                i += 1
                continue
            start = i
            while i < end and cps[i] < limit and is_word[cps[i]]:
                i += 1
            n += 1
            h = _word_hash(cps, start, i)
            s = np.int64(h & np.uint64(mask))
            while slots[s] >= 0:
                w = slots[s]
                if hashes[s] == h and word_off[w + 1] - word_off[w] == i - start:
                    k = 0
                    while k < i - start and words[word_off[w] + k] == cps[start + k]:
                        k += 1
                    if k == i - start:
                        hits[d, word_code[w]] += 1
                        break
                s = (s + 1) & mask
        n_words[d] = n
