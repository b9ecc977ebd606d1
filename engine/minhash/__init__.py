"""MinHash near-duplicates and the similarity matrix, as a job of :mod:`engine.job`.

Library use::

    from engine.minhash import MinHashConfig, run
    res = run(["corpus.jsonl"], "cpu", MinHashConfig(threshold=0.8))
    res.table("pairs")      # doc_a, doc_b, estimate, jaccard
    res.table("clusters")   # doc_id, cluster (id of the representative), size
    res.stats               # JobStats: documents, shingles, pairs, clusters, seconds per stage
    run(batch_from_texts(["un texte", "un autre"]))   # texts: engine.corpus.batch_from_texts

Modules
-------
``config``       MinHashConfig (validated), shingle spec, LSH (bands, rows), permutations
``signatures``   shingles, signatures per batch, TextSource, SignatureSet
``lsh``          candidate pairs, estimates, exact Jaccard, connected clusters
``store``        saved signatures (Parquet), the dedup output (JSONL)
``result``       MinHashResult
``job``          MinHashPartial, map_partition, combine, finish, run
``similarity``   run_similarity, similarity_matrix, matrix_table
"""
# helpers re-exported (``x as x``) for the kernel tests, bench/ and engine/analyze.py
# the console tables moved to engine.console; these names stay until engine/analyze.py
# calls engine.console.print_matrix / print_summary
from engine.console import print_matrix as _print_matrix  # noqa: F401
from engine.console import print_summary as _print_summary  # noqa: F401
from engine.minhash.config import _META_KEY as _META_KEY
from engine.minhash.config import (
                                   FAMILY,
                                   MAX_SIMILARITY_DOCS,
                                   MinHashConfig,
                                   optimal_lsh_params,
                                   parse_shingle,
                                   permutations,
)
from engine.minhash.config import FN_WEIGHT as FN_WEIGHT
from engine.minhash.config import FORMAT_VERSION as FORMAT_VERSION
from engine.minhash.config import FP_WEIGHT as FP_WEIGHT
from engine.minhash.config import _cached_lsh as _cached_lsh
from engine.minhash.config import _fused_args as _fused_args
from engine.minhash.job import MinHashPartial, combine, compute_signatures, finish, map_partition, run
from engine.minhash.lsh import VERIFY_CHUNK_BYTES as VERIFY_CHUNK_BYTES
from engine.minhash.lsh import candidate_pairs as candidate_pairs
from engine.minhash.lsh import connected_clusters as connected_clusters
from engine.minhash.lsh import exact_jaccard
from engine.minhash.lsh import pair_estimates as pair_estimates
from engine.minhash.lsh import pair_jaccard as pair_jaccard
from engine.minhash.result import MinHashResult
from engine.minhash.signatures import SignatureSet, TextSource
from engine.minhash.signatures import batch_signatures as batch_signatures
from engine.minhash.signatures import shingles as shingles
from engine.minhash.signatures import signatures_from_hashes as signatures_from_hashes
from engine.minhash.signatures import unique_shingles as unique_shingles
from engine.minhash.similarity import SIMILARITY_CELL_BYTES as SIMILARITY_CELL_BYTES
from engine.minhash.similarity import SimilarityResult, matrix_table, run_similarity, similarity_matrix
from engine.minhash.similarity import _check_similarity_memory as _check_similarity_memory
from engine.minhash.similarity import _similarity_bytes as _similarity_bytes
from engine.minhash.store import _check_meta as _check_meta
from engine.minhash.store import _concat as _concat
from engine.minhash.store import load_signatures, save_signatures, write_dedup

__all__ = ["MinHashConfig", "MinHashResult", "MinHashPartial", "SignatureSet", "TextSource",
           "SimilarityResult", "map_partition", "combine", "finish", "run", "run_similarity",
           "compute_signatures", "permutations", "optimal_lsh_params", "exact_jaccard",
           "parse_shingle", "similarity_matrix", "matrix_table", "load_signatures",
           "save_signatures", "write_dedup", "FAMILY", "MAX_SIMILARITY_DOCS"]
