"""The type-number pass of ``corpus analyze`` (``engine.analyze_words.WordTypes``) on the CPU.

A batch is tokenised once with every word; its tokens' type numbers then give, in one
pass over them, what the sections need: each type's document frequency and first document
(as ``kernels.cpu.cooc.type_doc_freq``), and the tokens that are not stop words (a flag a
type) with their documents' offsets and each type's first kept occurrence.  One pass in
place of a document-frequency pass, a flag gather, a mask scan, a search of the offsets
and an unbuffered ``minimum.at`` over the tokens of the new types.
"""
from __future__ import annotations

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
