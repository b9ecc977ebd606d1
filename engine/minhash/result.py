"""What a MinHash run found: :class:`MinHashResult` (pairs, clusters, kept documents, stats)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from engine import arrow_arrays
from engine.minhash.config import MinHashConfig
from engine.minhash.signatures import SignatureSet
from engine.stats import JobStats

__all__ = ["MinHashResult"]

TABLES = ("pairs", "clusters")


@dataclass
class MinHashResult:
    """Everything a run found; tables are built on demand.

    ``table("pairs")``: doc_a, doc_b, estimate, jaccard (NaN where not verified exactly);
    ``table("clusters")``: doc_id, cluster (id of the representative), size;
    ``stats``: the run's :class:`JobStats` (job ``minhash``: documents, bytes; counters
    ``shingles``, ``empty_documents``, ``candidate_pairs``, ``verified_pairs``, ``clusters``,
    ``documents_removed``; seconds of ``read``, ``signatures``, ``lsh``, ``verify``, ``clusters``).
    """
    cfg: MinHashConfig
    sigs: SignatureSet
    bands: int
    rows: int
    cand_a: np.ndarray
    cand_b: np.ndarray
    pair_a: np.ndarray
    pair_b: np.ndarray
    estimate: np.ndarray
    jaccard: np.ndarray       # NaN where not verified exactly (--no-verify, or a saved document)
    rep: np.ndarray           # representative index per document (itself when unclustered)
    size: np.ndarray          # cluster size per document
    n_base: int = 0           # documents that came from saved signatures
    seconds: float = 0.0
    backend_name: str = "cpu"
    stats: JobStats = field(default_factory=lambda: JobStats(job="minhash"))

    @property
    def doc_ids(self):
        return self.sigs.doc_ids

    @property
    def removed(self) -> np.ndarray:
        """Mask of documents a dedup drops (members of a cluster that are not its representative)."""
        return self.rep != np.arange(self.rep.size)

    @property
    def keep_new(self) -> np.ndarray:
        """Keep mask over the documents of this run's corpus (saved ones excluded)."""
        return ~self.removed[self.n_base:]

    def summary(self) -> dict:
        clustered = self.size >= 2
        return {
            "documents": int(self.sigs.n_docs - self.n_base),
            "saved documents": int(self.n_base),
            "empty documents": int(self.sigs.empty[self.n_base:].sum()),
            "shingles": int(self.sigs.n_shingles[self.n_base:].sum()),
            "bands x rows": f"{self.bands} x {self.rows}",
            "candidate pairs": int(self.cand_a.size),
            "verified pairs": int(self.pair_a.size),
            "clusters": int(np.unique(self.rep[clustered]).size),
            "documents removed": int(self.removed[self.n_base:].sum()),
        }

    def pairs_table(self) -> pa.Table:
        ids = np.asarray(self.doc_ids, dtype=object)
        return pa.table({
            "doc_a": arrow_arrays.strings(ids[self.pair_a].tolist()),
            "doc_b": arrow_arrays.strings(ids[self.pair_b].tolist()),
            "estimate": arrow_arrays.numeric(self.estimate, np.float64),
            "jaccard": arrow_arrays.numeric(self.jaccard, np.float64, nan_as_null=True),
        })

    def clusters_table(self) -> pa.Table:
        """Documents of clusters of two or more, in corpus order."""
        idx = np.flatnonzero(self.size >= 2)
        ids = np.asarray(self.doc_ids, dtype=object)
        return pa.table({
            "doc_id": arrow_arrays.strings(ids[idx].tolist()),
            "cluster": arrow_arrays.strings(ids[self.rep[idx]].tolist()),
            "size": arrow_arrays.numeric(self.size[idx], np.int64),
        })

    def table(self, kind: str = "pairs") -> pa.Table:
        """``pairs`` (:meth:`pairs_table`) or ``clusters`` (:meth:`clusters_table`)."""
        from engine import params
        kind = params.choice("kind", kind, TABLES)
        return self.pairs_table() if kind == "pairs" else self.clusters_table()

    def to_cudf(self, kind: str = "pairs"):
        """:meth:`table` as a ``cudf.DataFrame`` (needs cudf: the ``gpu`` extra)."""
        from engine.gpu.frames import to_cudf
        return to_cudf(self.table(kind))

    def write(self, path, kind: str = "pairs", plan=None, key: str = "--output") -> Path:
        """Write :meth:`table` ``kind`` to ``path`` (.parquet, .csv, .jsonl), atomically.

        ``plan``: the command's :class:`engine.output.OutputPlan` holding ``path`` as ``key``
        (written to its temp, renamed when the plan commits).
        """
        from engine.output import FORMATS, own_plan
        table = self.table(kind)
        with own_plan(plan, key, path, FORMATS) as p:
            p.write_table(key, table)
        return Path(path)

    def write_dedup(self, corpus, path, plan=None) -> int:
        """Write the kept documents of ``corpus`` (the run's corpus again: paths, a fresh
        reader, or the same batches) as JSONL {id, text}; returns how many."""
        from engine.minhash.store import write_dedup
        return write_dedup(lambda: corpus, self.keep_new, path, plan=plan)
