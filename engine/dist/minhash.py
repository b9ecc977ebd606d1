"""MinHash and the similarity matrix on a cluster: signatures per partition on the workers
(phase A), then on the client the partials combined in partition order (document ``i`` is
the one a single reader numbers ``i``) and the single-process finish: LSH bands, candidate
pairs, verification, clusters (representative = lowest corpus index), or the matrix.

What is shuffled is the signatures (``4 * perms`` bytes a document), the ids and, for
exact verification, the texts.  The band-key shuffle and blockwise verification of the
design sketch (phases B-D on the workers) are not done yet: the finish needs the client's
memory for the signatures (and texts) of the whole corpus.
"""
from __future__ import annotations

from engine.corpus import CorpusError
from engine.stats import JobStats

__all__ = ["run_minhash"]


def signatures_partition(reader, backend: str, cfg, keep_texts: bool):
    """Phase A: the partition's :class:`MinHashPartial` (one piece: it goes to the client)."""
    from engine.minhash import map_partition
    p = map_partition(reader, backend, cfg, keep_texts=keep_texts)
    stats, p.stats = p.stats, JobStats(job="minhash")
    return stats, [p]


def _check_similarity(n: int, backend, exact: bool, max_docs: int) -> None:
    from engine.minhash.similarity import _check_similarity_memory
    if n > max_docs:
        raise CorpusError(f"similarity: more than {max_docs} documents (read {n}); an all-pairs "
                          "matrix is for small corpora: use `corpus minhash` for near-duplicate "
                          "pairs, or raise --max-docs")
    _check_similarity_memory(n, backend, exact, so_far=False)


def run_minhash(run, specs, options, backend: str, cfg, progress, job: str, base=None,
                max_docs: int | None = None, exact: bool = False):
    from engine import params
    from engine.backend import get_backend
    from engine.minhash import combine, finish
    from engine.minhash.similarity import similarity_of
    be = get_backend(backend)
    if job == "similarity":
        max_docs = params.integer("max_docs", max_docs, minimum=1)
        exact = params.flag("exact", exact)
    keep = exact if job == "similarity" else cfg.verify
    maps = [run.submit_map("signatures", s, signatures_partition, options, backend, cfg, keep) for s in specs]
    pieces = [run.pieces("signatures", f, s.index, 1)[0] for f, s in zip(maps, specs)]
    metas = run.metas("signatures", maps, progress)
    run.phase("map")
    if job == "similarity":   # before the signatures travel
        _check_similarity(sum(m.stats.documents for m in metas), be, exact, max_docs)
    parts = run.gather(pieces)
    run.gather_bytes += sum(m.piece_bytes for m in metas)
    for p, m in zip(parts, metas):   # each partition's stats back with its signatures
        p.stats = m.stats
    partial = combine(parts)
    run.phase("gather")
    if job == "similarity":
        result = similarity_of(partial, be, cfg, exact)
        result.stats.job = "similarity"
    else:
        result = finish(partial, cfg, backend=be, base=base)
    run.phase("finish")
    return result, metas
