"""CPU twins of the co-occurrence kernels (numba njit) around ``kernels.cooc_core``.

One module a pass, the names all importable from here:

``kernels.cpu.cooc.vocab``
    bytes (or token hashes) -> type numbers, counted in per-thread open-addressing
    tables folded into the corpus-wide one; document frequencies; term ids by gather.
``kernels.cpu.cooc.pairs``
    the pair pass: pairs of frequent terms in a dense block per thread, the others
    counted by row then written to their row bucket (``*_dense_hist``, ``*_rest_write``);
    distinct ids per document; the final columns.
``kernels.cpu.cooc.rest``
    the pairs outside the dense block, by row bucket: the buckets planned from a row
    histogram, each reduced in one thread's cache (counters or radix sort), compacted
    into one run sorted by key (``engine.cooc.cpu_pairs``); two sorted runs merged.
``kernels.cpu.cooc.measures``
    marginals and the association measures, row by row.

The CUDA twins (``kernels.cuda.cooc``) materialise every pair with the same cores and
count them by sort; both give the same integer counts.
"""
from kernels.cpu.cooc.measures import MEASURE_CODES, marginal_sums, measure_rows
from kernels.cpu.cooc.pairs import (
    assemble,
    dense_row_counts,
    doc_dense_hist,
    doc_rest_write,
    doc_unique,
    window_dense_hist,
    window_rest_write,
)
from kernels.cpu.cooc.rest import (
    BUCKET_KEYS,
    DENSE_CELLS,
    DENSE_RATIO,
    compact_buckets,
    merge_parallel,
    merge_sorted,
    reduce_buckets,
    row_buckets,
)
from kernels.cpu.cooc.vocab import (
    gather_ids,
    lookup_ids,
    text_types,
    type_count,
    type_doc_freq,
    type_merge,
    type_rehash,
    type_remap,
)

__all__ = [
    "BUCKET_KEYS", "MEASURE_CODES", "assemble", "dense_row_counts", "doc_unique", "gather_ids", "lookup_ids",
    "marginal_sums", "measure_rows", "merge_sorted", "text_types", "type_count", "type_doc_freq", "type_merge",
    "type_rehash", "type_remap", "window_dense_hist", "window_rest_write", "doc_dense_hist", "doc_rest_write",
    "DENSE_CELLS", "DENSE_RATIO", "compact_buckets", "reduce_buckets", "row_buckets", "merge_parallel",
]
