"""n-gram counting: word or character n-grams, term and document frequencies, top-k.

The job contract of :mod:`engine.job`::

    from engine import ngrams
    result = ngrams.run(["corpus/"], "cpu", ngrams.NgramConfig(n="1-3", top=100))
    result.table()            # pyarrow.Table: ngram, n, count, doc_freq
    result.stats.as_dict()    # engine.stats.JobStats
    result.write("top.parquet")

    parts = [ngrams.map_partition(p, "cpu", cfg) for p in partitions]   # on workers
    result = ngrams.finish(ngrams.combine(parts), cfg)                  # exact

Modules: :mod:`.config` (parameters), :mod:`.counting` (the bounded host table and its
spill), :mod:`.partial` (the partial's arrays, combine), :mod:`.job` (map, finish, run),
:mod:`.result` (the table and its writer).
"""
from engine.ngrams.config import MAX_N, NgramConfig, parse_memory, parse_n
from engine.ngrams.counting import KeyCounter, Rows, StringStore, doc_of_items
from engine.ngrams.job import NgramStats, combine, count_batches, count_ngrams, finish, map_partition, run
from engine.ngrams.partial import NgramPartial
from engine.ngrams.result import NgramResult

__all__ = ["NgramConfig", "NgramPartial", "NgramResult", "NgramStats", "KeyCounter", "Rows",
           "StringStore", "map_partition", "combine", "finish", "run", "count_ngrams",
           "count_batches", "parse_n", "parse_memory", "doc_of_items", "MAX_N"]
