"""The all-pairs Jaccard similarity matrix of a small corpus (``corpus similarity``).

:func:`run_similarity` (the job's result, with ``.table()`` and ``.stats``) and
:func:`similarity_matrix` (``(doc_ids, matrix)``) refuse a corpus whose matrix would
not fit in memory, or of more than ``max_docs`` documents, before allocating it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from engine import arrow_arrays, params
from engine.backend import get_backend
from engine.corpus import CorpusError
from engine.job import as_batches
from engine.minhash.config import MAX_SIMILARITY_DOCS, MinHashConfig
from engine.minhash.job import map_partition
from engine.minhash.lsh import exact_jaccard
from engine.stats import JobStats

__all__ = ["SimilarityResult", "run_similarity", "similarity_matrix", "matrix_table"]


# Peak bytes per matrix cell (n x n) of similarity_matrix, measured with tracemalloc at
# n = 1000 and 2000: the estimate holds the int64 equal-slot counts and the float64
# result (16.3); --exact holds the pair indices (triu), exact_jaccard's per-pair lengths
# and batch lookups, the values and the result (57.4).
SIMILARITY_CELL_BYTES = {False: 16.5, True: 58.0}
# --exact also rebuilds the shingle sets of a chunk's documents: raw and distinct hashes
SHINGLE_SET_BYTES = 16


def _similarity_bytes(n: int, exact: bool, n_shingles: int = 0) -> int:
    """Host memory ``similarity_matrix`` needs at its peak for ``n`` documents."""
    return int(SIMILARITY_CELL_BYTES[exact] * n * n) + (SHINGLE_SET_BYTES * n_shingles if exact else 0)


def _device_free_bytes(backend) -> int | None:
    """Free memory of the backend's GPU (None on the CPU, the simulator, or if unknown)."""
    try:
        return backend.device_free_bytes()
    except RuntimeError:  # cupy's CUDA errors: the query is an estimate's input, not worth failing for
        return None


def _check_similarity_memory(n: int, backend, exact: bool, n_shingles: int = 0,
                             so_far: bool = False) -> None:
    """Refuse (one line, :class:`CorpusError`) a matrix that cannot fit, before allocating it.

    Without this an n x n matrix of a large corpus (``--max-docs`` raised) allocates
    until the kernel's out-of-memory killer ends the process without a message.
    """
    from engine.memory import available_memory
    docs = f"at least {n} documents (read so far)" if so_far else f"{n} documents"
    advice = "use `corpus minhash` for large corpora, or lower --max-docs"
    matrix_gb = 8 * n * n / 1e9
    need = _similarity_bytes(n, exact, n_shingles)
    avail = available_memory()
    if need > avail:
        raise CorpusError(f"similarity: {docs} need {need / 1e9:.1f} GB (a {matrix_gb:.1f} GB matrix "
                          f"and its temporaries), {avail / 1e9:.1f} GB available; {advice}")
    free = None if exact else _device_free_bytes(backend)  # --exact computes on the host
    if free is not None and 8 * n * n > free:
        raise CorpusError(f"similarity: {docs} need a {matrix_gb:.1f} GB matrix on the GPU, "
                          f"{free / 1e9:.1f} GB free; {advice}, or --device cpu")


def matrix_table(ids, m) -> pa.Table:
    """doc_id and one column per document (a repeated id gets ``#column``)."""
    cols = {"doc_id": arrow_arrays.strings(list(ids))}
    for j, name in enumerate(ids):
        key = name if name not in cols else f"{name}#{j}"
        cols[key] = arrow_arrays.numeric(m[:, j], np.float64, nan_as_null=True)
    return pa.table(cols)


@dataclass
class SimilarityResult:
    """The matrix of a similarity run: ``matrix[i, j]`` = Jaccard of documents i and j
    (estimated, or exact with ``exact``); NaN for empty documents."""
    doc_ids: list
    matrix: np.ndarray
    config: MinHashConfig
    exact: bool = False
    stats: JobStats = field(default_factory=lambda: JobStats(job="similarity"))

    def table(self) -> pa.Table:
        return matrix_table(self.doc_ids, self.matrix)

    def write(self, path, plan=None, key: str = "--output") -> Path:
        """``.npy`` (the matrix), or ``.parquet``/``.csv``/``.jsonl`` (:meth:`table`), atomically."""
        from engine.output import FORMATS, own_plan
        with own_plan(plan, key, path, (".npy",) + FORMATS) as p:
            if Path(path).suffix.lower() == ".npy":
                # through an open file: np.save on a path would append ".npy" to the temp's name
                with open(p.temp(key), "wb") as f:
                    np.save(f, self.matrix)
            else:
                p.write_table(key, self.table())
        return Path(path)


def _similarity(batches, backend, cfg: MinHashConfig, max_docs: int, exact: bool) -> SimilarityResult:
    max_docs = params.integer("max_docs", max_docs, minimum=1)
    exact = params.flag("exact", exact)

    def check(n: int, so_far: bool) -> None:
        if n > max_docs:
            raise CorpusError(f"similarity: more than {max_docs} documents (read {n} so far); "
                              "an all-pairs matrix is for small corpora: use `corpus minhash` "
                              "for near-duplicate pairs, or raise --max-docs")
        _check_similarity_memory(n, backend, exact, so_far=so_far)

    if isinstance(batches, list):  # counting costs nothing here: no signature is wasted
        check(sum(b.n_docs for b in batches), so_far=False)
    seen = [0]

    def count(batch):
        seen[0] += batch.n_docs
        check(seen[0], so_far=True)

    part = map_partition(batches, backend, cfg, keep_texts=exact, on_batch=count)
    return similarity_of(part, backend, cfg, exact)


def similarity_of(part, backend, cfg: MinHashConfig, exact: bool) -> SimilarityResult:
    """The matrix of the signatures ``part`` (a combined :class:`MinHashPartial`)."""
    stats = JobStats().merge(part.stats)
    stats.job = "similarity"
    sigs = part.signature_set(cfg, backend)
    n = sigs.n_docs
    with stats.stage("matrix"), backend.count_into(stats):
        if exact:
            _check_similarity_memory(n, backend, exact, int(sigs.n_shingles.sum()))
            a, b = np.triu_indices(n, 1)
            vals = exact_jaccard(sigs, a, b, backend)
            m = np.eye(n)
            m[a, b] = vals
            m[b, a] = vals
        else:
            xp = backend.xp
            out = xp.empty((n, n), np.int64)
            backend.kernels.minhash.equal_matrix(n * n, backend.to_device(sigs.sig), np.int64(cfg.perms), out)
            m = backend.to_host(out) / cfg.perms
        e = sigs.empty
        m[e, :] = np.nan
        m[:, e] = np.nan
    stats.counters["pairs"] = n * (n - 1) // 2
    return SimilarityResult(sigs.doc_ids, m, cfg, exact, stats)


def run_similarity(corpus, backend="auto", config: MinHashConfig | None = None,
                   max_docs: int = MAX_SIMILARITY_DOCS, exact: bool = False, *,
                   scheduler=None) -> SimilarityResult:
    """All-pairs estimated (or ``exact``) Jaccard of ``corpus`` (as :func:`engine.minhash.run`).

    Refuses (:class:`CorpusError`) a corpus of more than ``max_docs`` documents, or one
    whose matrix would not fit in the available memory, as soon as the count read so far
    shows it: before any signature when ``corpus`` is batches (counted up front), otherwise
    after the batch that crosses the limit; for ``exact``, again with the shingle counts
    once they are known.
    """
    cfg = config if config is not None else MinHashConfig()
    be = get_backend(backend)
    if scheduler is not None:   # signatures on the cluster, the matrix here
        from engine.dist import run_distributed
        return run_distributed("similarity", corpus, be, cfg, scheduler, max_docs=max_docs, exact=exact)
    batches, reader = as_batches(corpus)
    res = _similarity(batches, be, cfg, max_docs, exact)
    if reader is not None:
        res.stats.add_read(reader.stats)
    return res


def similarity_matrix(corpus, backend, cfg: MinHashConfig | None = None,
                      max_docs: int = MAX_SIMILARITY_DOCS, exact: bool = False):
    """``(doc_ids, matrix)`` of :func:`run_similarity` (a list of texts is still accepted here,
    deprecated: pass ``engine.corpus.batch_from_texts(texts)``)."""
    be = get_backend(backend)
    batches, _ = as_batches(corpus)
    res = _similarity(batches, be, cfg if cfg is not None else MinHashConfig(), max_docs, exact)
    return res.doc_ids, res.matrix
