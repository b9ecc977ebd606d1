"""The result of the co-occurrence job: counts, vocabulary, measures on demand, tables and
writers."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from engine import arrow_arrays, params
from engine.cooc.config import MEASURES, CoocConfig
from engine.cooc.measures import check_measure, m_units, margins, measure_rows, sort_key
from engine.errors import ParameterError
from engine.stats import JobStats
from engine.text import hash_token

__all__ = ["CoocResult"]


@dataclass
class CoocResult:
    """Upper-triangle co-occurrence counts with the vocabulary; measures on demand.

    ``a[k] <= b[k]`` (term ids) with raw integer value ``raw[k]`` (weight units:
    the real weight is ``raw / divisor``).  Window mode: ``M[a, b] = raw`` off
    the diagonal and ``2 raw`` on it.  Document mode: ``M[a, b] = raw`` for
    ``a < b`` and ``doc_freq`` holds the document frequencies.

    ``stats``: :class:`engine.stats.JobStats` (job ``cooc``; counters ``vocabulary`` and
    ``pairs``; seconds ``vocabulary``, ``pairs``, ``measures``, ``order``).  ``rank``: rank of
    each term id in code point order (computed when None).
    """
    config: CoocConfig
    vocab: list[str]
    term_count: np.ndarray
    doc_freq: np.ndarray | None
    a: np.ndarray
    b: np.ndarray
    raw: np.ndarray
    divisor: int
    stats: JobStats = field(default_factory=lambda: JobStats(job="cooc"))
    rank: np.ndarray | None = None
    # caches
    _margins_cache: tuple | None = field(default=None, init=False, repr=False, compare=False)
    _keys: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _hash_index: dict | None = field(default=None, init=False, repr=False, compare=False)

    # -- what was read -----------------------------------------------------------------------
    @property
    def n_docs(self) -> int:
        return self.stats.documents

    @property
    def n_tokens(self) -> int:
        return self.stats.tokens

    @property
    def n_bytes(self) -> int:
        return self.stats.bytes

    @property
    def backend(self) -> str:
        return self.stats.backend

    @property
    def seconds(self) -> dict:
        return self.stats.seconds

    # -- counts and marginals (integer weight units) ---------------------------------------
    def _margins(self) -> tuple[np.ndarray, int]:
        """(m or df per term, T or N) in weight units."""
        if self._margins_cache is None:
            self._margins_cache = margins(self.a, self.b, self.raw, len(self.vocab), self.doc_freq,
                                          self.n_docs, self.config.doc_mode)
        return self._margins_cache

    @property
    def nnz(self) -> int:
        return int(self.raw.size)

    @property
    def n_terms(self) -> int:
        """Terms of the vocabulary."""
        return len(self.vocab)

    def counts(self, rows: np.ndarray | None = None) -> np.ndarray:
        """M[a, b] per row (or of ``rows``): int64 unweighted, float64 with harmonic weights."""
        a, b, raw = (self.a, self.b, self.raw) if rows is None else (self.a[rows], self.b[rows], self.raw[rows])
        m = m_units(a, b, raw, self.config.doc_mode)
        return m if self.divisor == 1 else m / self.divisor

    def total(self) -> float:
        """T = sum of M (window mode) or N documents (document mode)."""
        _, t = self._margins()
        return t if self.divisor == 1 else t / self.divisor

    def marginals(self) -> np.ndarray:
        """m_a (window mode, row sums of M) or document frequencies (document mode)."""
        m, _ = self._margins()
        return m if self.divisor == 1 else m / self.divisor

    def measure(self, name: str, rows: np.ndarray | None = None) -> np.ndarray:
        """One measure of some rows.

        Parameters
        ----------
        name : str
            count, pmi, ppmi, npmi or llr.
        rows : ndarray of int, optional
            The rows wanted (default: every row).

        Returns
        -------
        ndarray
            The counts (int64, float64 with harmonic weights) or the measure (float64).
        """
        if name == "count":
            return self.counts(rows)
        return measure_rows(name, self.a, self.b, self.raw, rows, self._margins(), self.divisor,
                            self.config.doc_mode)

    def measures(self, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """count, pmi, ppmi, npmi, llr of every row (or of ``rows``; float64 except count)."""
        return {name: self.measure(name, rows) for name in MEASURES}

    # -- tables ----------------------------------------------------------------------------
    def _rank(self) -> np.ndarray:
        """Rank of each term id in code point order of the terms."""
        if self.rank is None:
            order = sorted(range(len(self.vocab)), key=self.vocab.__getitem__)
            rank = np.empty(len(self.vocab), np.int64)
            rank[np.array(order, np.int64)] = np.arange(len(order))
            self.rank = rank
        return self.rank

    def _check_measure(self, measure):
        return check_measure(measure, self.config.measure)

    def _schema_meta(self) -> dict:
        c = self.config
        mode = ("document co-occurrence (measures from document counts: N documents, document frequencies)"
                if c.doc_mode else f"window {c.window}, weighting {c.weighting}")
        return {b"cooc": f"{mode}; min_count {c.min_count}, max_vocab {c.max_vocab}, "
                         f"{self.n_terms} terms, {self.n_docs} documents".encode()}

    def to_cudf(self, measure: str | None = None, top: int | None = None):
        """:meth:`table` as a ``cudf.DataFrame`` (needs cudf: the ``gpu`` extra)."""
        from engine.gpu.frames import to_cudf
        return to_cudf(self.table(measure, top))

    def table(self, measure: str | None = None, top: int | None = None) -> pa.Table:
        """The pairs as a table, best first.

        Parameters
        ----------
        measure : str, optional
            Sort key, descending (default: the configuration's); ties by terms.
        top : int, optional
            Rows kept (default: all).  Only the sort measure is computed for every row;
            the rows at or above the top-th value (ties included) are sorted and get the
            other measures.

        Returns
        -------
        pyarrow.Table
            Columns term_a <= term_b, count, pmi, ppmi, npmi, llr; the configuration in the
            schema metadata.

        Raises
        ------
        ParameterError
            ``measure`` or ``top`` is not valid.
        """
        measure = self._check_measure(measure)
        top = params.integer("top", top, minimum=1, optional=True)
        key = self.sort_key(measure)
        with self.stats.stage("order"):
            return self._table(measure, top, key)

    def sort_key(self, measure: str) -> np.ndarray:
        """The rounded sort key (:func:`engine.cooc.measures.sort_key`) of ``measure`` for every
        row (kept for the measure of the configuration: do not modify)."""
        if measure in self._keys:
            return self._keys[measure]
        with self.stats.stage("measures"):
            key = sort_key(self.measure(measure), inplace=True)   # a fresh array
        if measure == self.config.measure:
            self._keys[measure] = key
        return key

    def _table(self, measure: str, top: int | None, key: np.ndarray) -> pa.Table:
        sel = None
        if top is not None and top < key.size:
            from kernels.cpu.sort import kth_largest
            kth = kth_largest(key, top)
            sel = np.flatnonzero(key >= kth)
            key = key[sel]
        rank = self._rank()
        a, b = (self.a, self.b) if sel is None else (self.a[sel], self.b[sel])
        ra, rb = rank[a], rank[b]
        swap = ra > rb
        ia = np.where(swap, b, a)
        ib = np.where(swap, a, b)
        o = np.lexsort((np.where(swap, ra, rb), np.where(swap, rb, ra), -key))
        if top is not None:
            o = o[:top]
        ia, ib = ia[o], ib[o]
        rows = o if sel is None else sel[o]
        vocab = arrow_arrays.strings(self.vocab)
        cols = {"term_a": arrow_arrays.take_strings(vocab, ia), "term_b": arrow_arrays.take_strings(vocab, ib)}
        for name, v in self.measures(rows).items():
            cols[name] = arrow_arrays.numeric(v)
        return pa.table(cols).replace_schema_metadata(self._schema_meta())

    def term_id(self, term: str) -> int:
        """The vocabulary id of a term.

        Parameters
        ----------
        term : str
            One word, normalised like the tokens (case, NFKC, accents as configured).

        Returns
        -------
        int
            Its term id.

        Raises
        ------
        ParameterError
            ``term`` is not one word after normalisation, or is not in the vocabulary.
        """
        from engine.normalize import reference_tokens
        toks = reference_tokens(term, self.config.text.strip_accents)
        if len(toks) != 1:
            raise ParameterError(f"term must be a single word after normalisation, got {term!r} "
                                 f"({len(toks)} tokens)", param="term")
        i = self._id_of_hash(hash_token(toks[0]))
        if i is None:
            raise ParameterError(f"term: {term!r} is not in the vocabulary ({self.n_terms} terms after "
                                 f"min_count {self.config.min_count} / max_vocab {self.config.max_vocab}"
                                 f"{', stop words removed' if self.config.text.stopwords else ''})", param="term")
        return i

    def _id_of_hash(self, h: int) -> int | None:
        """The term id of the token hash ``h`` (None: not in the vocabulary)."""
        if self._hash_index is None:
            self._hash_index = {hash_token(t): i for i, t in enumerate(self.vocab)}
        return self._hash_index.get(h)

    def spelling(self, term: str) -> str:
        """The vocabulary's spelling of ``term`` (normalised; :meth:`term_id` raises)."""
        return self.vocab[self.term_id(term)]

    def associates(self, term: str, measure: str | None = None, top: int | None = 10) -> pa.Table:
        """The terms most associated with one term.

        Parameters
        ----------
        term : str
            The term (see :meth:`term_id`).
        measure : str, optional
            Sort key, descending (default: the configuration's); ties by terms.
        top : int or None, optional
            Rows kept (None: all).

        Returns
        -------
        pyarrow.Table
            Columns term, associate, count, pmi, ppmi, npmi, llr.

        Raises
        ------
        ParameterError
            ``term`` or ``measure`` is not valid.
        """
        measure = self._check_measure(measure)
        return self._associates(self.term_id(term), measure, top)

    def _associates(self, t: int, measure: str, top: int | None) -> pa.Table:
        """:meth:`associates` of the term id ``t``."""
        sel = np.flatnonzero(((self.a == t) | (self.b == t)) & (self.a != self.b))
        other = np.where(self.a[sel] == t, self.b[sel], self.a[sel])
        ms = self.measures(sel)
        rank = self._rank()
        order = np.lexsort((rank[other], -sort_key(ms[measure])))
        if top is not None:
            order = order[:top]
        cols = {"term": arrow_arrays.strings([self.vocab[t]] * order.size),
                "associate": arrow_arrays.strings([self.vocab[i] for i in other[order]])}
        for name in MEASURES:
            cols[name] = arrow_arrays.numeric(ms[name][order])
        return pa.table(cols).replace_schema_metadata(self._schema_meta())

    def matrix(self, measure: str = "count"):
        """The symmetric co-occurrence matrix.

        Parameters
        ----------
        measure : str, optional
            count (default: M itself) or a measure, on M's non-zeros.

        Returns
        -------
        scipy.sparse.csr_matrix
            V x V, rows and columns by term id.
        """
        import scipy.sparse as sp
        measure = self._check_measure(measure)
        v = self.measures()[measure] if measure != "count" else self.counts()
        off = self.a != self.b
        rows = np.concatenate([self.a, self.b[off]])
        cols = np.concatenate([self.b, self.a[off]])
        data = np.concatenate([v, v[off]])
        n = len(self.vocab)
        return sp.csr_matrix((data, (rows, cols)), shape=(n, n))

    def vocab_table(self) -> pa.Table:
        """The vocabulary: columns id, term, count, and doc_freq (document mode) or marginal."""
        cols = {"id": arrow_arrays.numeric(np.arange(len(self.vocab))), "term": arrow_arrays.strings(self.vocab),
                "count": arrow_arrays.numeric(self.term_count)}
        if self.doc_freq is not None:
            cols["doc_freq"] = arrow_arrays.numeric(self.doc_freq)
        else:
            cols["marginal"] = arrow_arrays.numeric(self.marginals())
        return pa.table(cols)

    @staticmethod
    def npz_targets(path, option: str = "--output") -> list:
        """The two files :meth:`write_npz` writes, as output-plan targets (keys ``option`` and
        ``option + ".vocab.tsv"``), so that a command checks both before the work."""
        from engine.output import Target, companion
        return [Target(option, Path(path), (".npz",)),
                companion(option, path, ".vocab.tsv", "the vocabulary")]

    def write_stats(self, path, plan=None) -> Path:
        """Write the run's statistics as JSON.

        Parameters
        ----------
        path : str or os.PathLike
            A ``.json`` file.
        plan : engine.output.OutputPlan, optional
            The command's plan holding ``path`` as ``--stats`` (the command commits);
            without it the file is checked, written and renamed here.

        Returns
        -------
        Path
            ``path``.
        """
        from engine.output import own_plan
        with own_plan(plan, "--stats", path, (".json",)) as p:
            p.write_text("--stats", self.stats.to_json())
        return Path(path)

    def write_npz(self, path, plan=None) -> tuple[Path, Path]:
        """The count matrix (scipy .npz) and ``<stem>.vocab.tsv`` beside it, renamed together.

        Parameters
        ----------
        path : str or os.PathLike
            The ``.npz`` file.
        plan : engine.output.OutputPlan, optional
            The command's plan holding ``path`` as ``--output`` and its companion
            (:meth:`npz_targets`); the command commits.  Without it, both are checked,
            written and renamed here.

        Returns
        -------
        matrix : Path
            ``path``.
        vocabulary : Path
            The ``<stem>.vocab.tsv`` beside it.
        """
        import scipy.sparse as sp

        from engine.output import plan_outputs
        path = Path(path)
        main, vocab = (t.key for t in self.npz_targets(path))
        if plan is None:
            with plan_outputs({}, extra=self.npz_targets(path)) as mine:
                self.write_npz(path, plan=mine)
                mine.commit()
            return path, mine.path(vocab)
        with open(plan.temp(main), "wb") as f:  # a file: save_npz on a path adds ".npz"
            sp.save_npz(f, self.matrix("count"))
        vt = self.vocab_table()
        with open(plan.temp(vocab), "w", encoding="utf-8") as f:
            f.write("\t".join(vt.column_names) + "\n")
            for row in zip(*[vt.column(c).to_pylist() for c in vt.column_names]):
                f.write("\t".join(str(x) for x in row) + "\n")
        return path, plan.path(vocab)

    def summary(self) -> str:
        """One line: documents, bytes, tokens, terms, pairs, mode and backend."""
        c = self.config
        mode = ("documents (measures use N documents and document frequencies)" if c.doc_mode
                else f"window {c.window}, weighting {c.weighting}")
        return (f"{self.n_docs} documents, {self.n_bytes / 1e6:.2f} MB, {self.n_tokens} tokens; "
                f"{self.n_terms} terms (min count {c.min_count}, max {c.max_vocab}), "
                f"{self.nnz} pairs; {mode}; {self.backend}")
