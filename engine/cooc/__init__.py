"""Term co-occurrence with association measures (PMI, PPMI, NPMI, LLR) on any backend.

Definitions (the README states them too):

- Tokens are those of :func:`engine.text.tokenize` (stop words removed first
  when asked: window positions are counted after that removal).
- Vocabulary: term frequency = occurrences; terms with fewer than
  ``min_count`` are pruned, then the ``max_vocab`` most frequent are kept
  (ties by term, code point order).  Term ids follow that order.  A pruned
  token keeps its position in the window: pairs that involve it are dropped,
  distances are unchanged, so the counts of kept pairs do not depend on
  ``min_count`` / ``max_vocab``.
- Window ``W``: within a document every pair of positions ``0 < j - i <= W``
  adds ``w`` to ``M[a, b]`` and to ``M[b, a]``; ``w = 1`` or ``1/(j - i)``
  (harmonic).  Self pairs count: a pair a, a adds ``2w`` to ``M[a, a]``.
  ``T = sum(M)``, ``m_a = sum_b M[a, b]``.
- Document mode: ``M[a, b]`` = documents containing both ``a != b``; the
  measures use document counts: ``N`` documents and document frequencies.
- PMI = ln(M T / (m_a m_b)); PPMI = max(PMI, 0); NPMI = PMI / -ln(M / T)
  (1 when M = T); LLR = Dunning's G^2 = 2 sum k ln(k T / (row col)) over the
  2x2 table (M, m_a - M; m_b - M, T - m_a - m_b + M), 0 ln 0 = 0.

Counting is exact integer arithmetic on every backend (harmonic weights are
``lcm(1..W) // d``), so counts are equal bit for bit across backends.

Two passes, by choice: the first tokenizes, counts term frequencies and keeps
one int32 type number per token (4 bytes a token, spilled to disk beyond
``cache_bytes``); the second maps type numbers to term ids with one gather and
counts pairs of kept terms only.  On the CPU the first pass is one fused kernel
(``kernels.cpu.cooc.text_types``): each thread normalises and tokenises its
documents in scratch memory and counts their tokens into its own type table (the
tables are folded after), so no corpus-wide normalised text or token array is
ever written; a GPU tokenizes the batch and counts by sort.  A single pass would have to count the pairs of
every type, rare ones included (mostly distinct pairs), so its memory would grow
with the corpus instead of being bounded by ``--max-vocab``; the second pass costs
a gather.  CPU pair counting (``cpu_pairs.CPUPairCounter``, ``kernels.cpu.cooc``): a dense
block per thread for pairs of the ``DENSE_TERMS`` most frequent terms (74-85 % of
pairs); the other pairs counted by row on a first walk, written straight to row
buckets on a second, each bucket reduced within the cache (counters or a radix
sort); no random access to a large hash table.
The job contract (``engine.job``), two passes each with its map and combine::

    part = map_vocabulary(batches, backend, config)          # VocabPartial (numpy arrays)
    vocab = choose_vocabulary(combine_vocabulary(parts), config)
    pairs = map_partition(batches, backend, config, vocab)   # PairPartial
    res = finish(combine(pair_parts), config, vocab)         # CoocResult

Modules: ``config`` (CoocConfig, constants), ``typetable`` (type table, token cache),
``vocabulary`` (pass 1), ``backends`` (the CPU / CUDA operations behind ``ops_for``),
``cpu_pairs`` (the CPU pair counter),
``pairs`` (pass 2), ``measures``, ``result`` (CoocResult), ``job`` (finish, run).

Library use::

    res = run(["corpus.jsonl"], "cpu", CoocConfig(window=5))
    res.table("npmi", top=20)            # pyarrow table
    res.associates("nvidia", "llr", 10)  # pyarrow table
    res.matrix(), res.vocab              # scipy.sparse CSR + terms
"""
from engine.cooc import config
from engine.cooc.config import MAX_HARMONIC_WINDOW, MEASURES, WEIGHTINGS, CoocConfig, parse_window
from engine.cooc.job import cooccurrence, finish, run
from engine.cooc.pairs import PairPartial, combine, map_partition
from engine.cooc.result import CoocResult
from engine.cooc.typetable import TokenCache, TypeTable
from engine.cooc.vocabulary import VocabPartial, Vocabulary, choose_vocabulary, combine_vocabulary, map_vocabulary

_TypeTable = TypeTable   # the name the kernel tests use

__all__ = ["CoocConfig", "CoocResult", "run", "cooccurrence", "parse_window", "MEASURES", "WEIGHTINGS",
           "MAX_HARMONIC_WINDOW", "map_vocabulary", "combine_vocabulary", "choose_vocabulary",
           "map_partition", "combine", "finish", "VocabPartial", "Vocabulary", "PairPartial",
           "TokenCache", "TypeTable", "config"]
