"""The co-occurrence result whose pairs and vocabulary stay on the device.

:class:`DeviceCoocResult` is a :class:`~engine.cooc.result.CoocResult` made by
:func:`engine.gpu.cooc.run_on_device`.  Each output brings to the host only what it is made
of, every integer column in the fewest whole bytes that hold its largest value
(:func:`narrow_to_host`):

- ``table(measure, top)`` with a ``top`` smaller than the pairs: the sort measure of every
  pair is computed on the device (``kernels.cuda.cooc_measures``), the rows at or above the
  ``top``-th value minus a margin (an ulp of difference between the device's ``log`` and the
  host's: the rows the CPU would keep are among them) are kept there, and only those rows
  (the pair of term ids local to the rows as one number, counts) and the terms they name
  (spellings, margins) cross.
- ``associates(term, measure, top)``: the term is looked up by its hash on the device, its
  rows chosen there (ranked by the device measure, the ``top``-th value less the margin, as
  above) and only they and the terms they name cross.
- ``table()`` of every row, ``matrix()``, ``write_npz``, ``vocab``...: the output is every
  pair, so the pairs cross, but as the output needs them and nothing more, by group on first
  use: the pairs (per term its number of rows, the larger id and the count of each row), the
  spellings (bytes and lengths), the margins (marginals or document frequencies), the term
  counts (``vocab_table`` only).  The code point rank of the terms is computed on the host.

The host computes the measures of what crossed with the CPU kernel and orders the rows as
the CPU path does: the same tables and files, bit for bit.
"""
from __future__ import annotations

import numpy as np

from engine import params
from engine.cooc.result import CoocResult
from engine.gpu.arrays import gather_spans

__all__ = ["DeviceCoocResult", "narrow_to_host"]

# host attribute -> the group that brings it from the device (DeviceCoocResult._pull_<group>)
_LAZY = {"a": "pairs", "b": "pairs", "raw": "pairs", "vocab": "terms", "term_count": "term_count",
         "doc_freq": "margins"}
MEASURE_CODES = {"count": 0, "pmi": 1, "ppmi": 2, "npmi": 3, "llr": 4}
# Threads of the measure launch (a grid-stride loop covers any number of pairs); fewer in
# the simulator, which runs every thread as a Python thread.
MEASURE_THREADS, SIMULATED_THREADS = 1 << 18, 1 << 10
# The candidates' margin below the top-th device value: the CPU's sort key is rounded to
# 1e-9, and a device value may be off the host's by an ulp of each log times its weight
# (G^2 sums terms up to T ln(...): a few 1e-9 on a corpus of 1e9 tokens).  Generous: a few
# more rows cross, never one too few.
ABS_MARGIN, REL_MARGIN = 1e-6, 1e-9


def narrow_to_host(backend, a) -> np.ndarray:
    """A non-negative integer device array on the host as int64, copied in the fewest whole
    bytes that hold its largest value (the low bytes of each little-endian uint64: what
    crosses is what the values need)."""
    n = int(a.size)
    top = int(backend.scalar(a.max())) if n else 0
    width = max(1, (top.bit_length() + 7) // 8)
    low = a.astype(np.uint64).view(np.uint8).reshape(n, 8)[:, :width]
    out = np.zeros((n, 8), np.uint8)
    out[:, :width] = backend.to_host(backend.xp.ascontiguousarray(low))
    return out.view("<u8").reshape(n).astype(np.int64)


def strings_to_host(backend, sdata, soff, ids=None) -> list[str]:
    """The strings ``sdata[soff[i]:soff[i + 1]]`` (of every id, or of the device array ``ids``)
    as Python strings: their bytes and narrowed lengths cross."""
    if ids is None:
        lens = soff[1:] - soff[:-1]
        data = sdata
    else:
        lens = soff[ids + 1] - soff[ids]
        data, _ = gather_spans(backend, sdata, soff[ids], lens)
    raw, ln = backend.to_host(data).tobytes(), narrow_to_host(backend, lens)
    ends = np.cumsum(ln).tolist()
    return [raw[e - n:e].decode("utf-8") for e, n in zip(ends, ln.tolist())]


class DeviceCoocResult(CoocResult):
    """A :class:`CoocResult` whose pairs (``DevicePairs``) and vocabulary (``DeviceVocabulary``)
    are on the device (see the module docstring)."""

    def __init__(self, config, vocabulary, pairs, divisor: int, stats, backend):
        # the dataclass fields that stay on the host; _LAZY ones come on first use
        self.config, self.divisor, self.stats, self.rank = config, divisor, stats, None
        self._margins_cache, self._keys, self._hash_index = None, {}, None
        self._dev_vocab, self._dev_pairs, self._be = vocabulary, pairs, backend
        self._dev_values: dict = {}
        self._dev_ids: dict = {}   # token hash -> term id, looked up on the device
        self._tops: dict = {}      # (measure, top) -> table: asked again, nothing crosses again
        if not config.doc_mode:
            self.doc_freq = None

    def __getattr__(self, name):
        group = _LAZY.get(name)
        if group is not None and "_dev_pairs" in self.__dict__:
            with self._be.count_into(self.stats):
                getattr(self, "_pull_" + group)()
            return self.__dict__[name]
        raise AttributeError(name)

    # -- what crosses for the outputs of every row (counted in the stats) ------------------
    def _pull_pairs(self) -> None:
        """``a`` as the number of rows of each term (the rows are sorted by (a, b)), ``b``, ``raw``."""
        xp, p, nt = self._be.xp, self._dev_pairs, self.n_terms
        first = xp.searchsorted(p.a, xp.arange(nt + 1, dtype=np.int32), side="left")
        per_term = narrow_to_host(self._be, first[1:] - first[:-1])
        self.a = np.repeat(np.arange(nt, dtype=np.int32), per_term)
        self.b = narrow_to_host(self._be, p.b).astype(np.int32)
        self.raw = narrow_to_host(self._be, p.raw)

    def _pull_terms(self) -> None:
        v = self._dev_vocab
        self.vocab = strings_to_host(self._be, v.sdata, v.soff)

    def _pull_margins(self) -> None:
        m = narrow_to_host(self._be, self._dev_pairs.m)
        self._margins_cache = (m, self._dev_pairs.t)
        if self.config.doc_mode:
            self.doc_freq = m

    def _pull_term_count(self) -> None:
        self.term_count = narrow_to_host(self._be, self._dev_vocab.counts)

    def _margins(self) -> tuple[np.ndarray, int]:
        if self._margins_cache is None:
            with self._be.count_into(self.stats):
                self._pull_margins()
        return self._margins_cache

    @property
    def nnz(self) -> int:
        return int(self._dev_pairs.raw.size)

    @property
    def n_terms(self) -> int:
        return len(self._dev_vocab)

    # -- the term of associates, looked up on the device ------------------------------------
    def _id_of_hash(self, h: int) -> int | None:
        if "vocab" in self.__dict__:
            return super()._id_of_hash(h)
        if h not in self._dev_ids:
            with self._be.count_into(self.stats):
                hit = self._be.to_host(self._be.xp.flatnonzero(self._dev_vocab.keys == np.uint64(h)))
            self._dev_ids[h] = int(hit[0]) if hit.size else None
        return self._dev_ids[h]

    def spelling(self, term: str) -> str:
        if "vocab" in self.__dict__:
            return super().spelling(term)
        t = self.term_id(term)
        v = self._dev_vocab
        with self._be.count_into(self.stats):
            return strings_to_host(self._be, v.sdata, v.soff, self._be.xp.full(1, t, np.int32))[0]

    # -- outputs of some rows: chosen on the device -----------------------------------------
    def table(self, measure: str | None = None, top: int | None = None):
        """:meth:`CoocResult.table`; with ``top`` below the number of pairs, the rows are
        chosen on the device and only they come to the host (see the module docstring)."""
        measure = self._check_measure(measure)
        top = params.integer("top", top, minimum=1, optional=True)
        if top is None or top >= self.nnz or "raw" in self.__dict__:
            return super().table(measure, top)
        if (measure, top) not in self._tops:
            with self.stats.stage("order"), self._be.count_into(self.stats):
                self._tops[measure, top] = self._top_table(measure, top)
        return self._tops[measure, top]

    def _associates(self, t: int, measure: str, top: int | None):
        """:meth:`CoocResult.associates` of the term id ``t``: its rows chosen on the device."""
        if "raw" in self.__dict__:
            return super()._associates(t, measure, top)
        xp, p = self._be.xp, self._dev_pairs
        with self.stats.stage("order"), self._be.count_into(self.stats):
            rows = xp.flatnonzero(((p.a == t) | (p.b == t)) & (p.a != p.b))
            a, b, raw = p.a[rows], p.b[rows], p.raw[rows]
            if top is not None and 0 < top < int(rows.size):
                with self.stats.stage("measures"):
                    val = self._measure_of(measure, a, b, raw)
                keep = self._candidates(val, top)
                a, b, raw = a[keep], b[keep], raw[keep]
            self.stats.counters["associate_rows_to_host"] = int(a.size)
            local, terms = self._local_result(a, b, raw, xp.full(1, t, np.int32))
            lt = int(self._be.scalar((terms < t).sum()))
            table = local._associates(lt, measure, top)
        return table.replace_schema_metadata(self._schema_meta())

    def _measure_of(self, measure: str, a, b, raw):
        """The measure of the rows ``a, b, raw`` (device arrays), on the device (float64)."""
        be, p = self._be, self._dev_pairs
        n = int(raw.size)
        out = be.xp.empty(n, np.float64)
        threads = max(1, min(n, SIMULATED_THREADS if be.simulated else MEASURE_THREADS))
        be.kernels.cooc_measures.measure_rows(threads, np.int64(MEASURE_CODES[measure]), a, b, raw, p.m,
                                              np.int64(p.t), np.int64(self.divisor), not self.config.doc_mode,
                                              out)
        return out

    def _device_measure(self, measure: str):
        """The measure of every pair, on the device (kept for the configuration's measure)."""
        if measure in self._dev_values:
            return self._dev_values[measure]
        p = self._dev_pairs
        out = self._measure_of(measure, p.a, p.b, p.raw)
        if measure == self.config.measure:
            self._dev_values[measure] = out
        return out

    def _candidates(self, val, top: int):
        """Rows whose device value is at or above the ``top``-th largest less the margin."""
        xp = self._be.xp
        kth = float(self._be.scalar(xp.sort(val)[int(val.size) - top]))
        return xp.flatnonzero(val >= kth - (ABS_MARGIN + REL_MARGIN * abs(kth)))

    def _local_result(self, a, b, raw, extra_terms=None):
        """The rows ``a, b, raw`` (device) as a host :class:`CoocResult` over the terms they name
        (and ``extra_terms``), with the margins of the whole result; and those term ids (device,
        sorted): what crosses is the rows' local pair numbers, counts, and the terms' spellings
        and margins.  Its measures, sort keys and order are the CPU's (the relative code point
        order of the terms suffices)."""
        xp, be, p, v = self._be.xp, self._be, self._dev_pairs, self._dev_vocab
        named = [a, b] if extra_terms is None else [a, b, extra_terms]
        terms = xp.unique(xp.concatenate(named))            # the term ids the rows name, sorted
        nt = int(terms.size)
        pair = narrow_to_host(be, xp.searchsorted(terms, a) * nt + xp.searchsorted(terms, b))
        la, lb = pair // nt, pair % nt
        host_raw, m = narrow_to_host(be, raw), narrow_to_host(be, p.m[terms])
        words = strings_to_host(be, v.sdata, v.soff, terms)
        local = CoocResult(self.config, words, np.zeros(nt, np.int64), m if self.config.doc_mode else None,
                           la.astype(np.int32), lb.astype(np.int32), host_raw, self.divisor)
        local._margins_cache = (m, p.t)
        return local, terms

    def _top_table(self, measure: str, top: int):
        p = self._dev_pairs
        with self.stats.stage("measures"):
            val = self._device_measure(measure)
        rows = self._candidates(val, top)
        local, _ = self._local_result(p.a[rows], p.b[rows], p.raw[rows])
        self.stats.counters["top_rows_to_host"] = local.nnz
        self.stats.counters["top_terms_to_host"] = local.n_terms
        table = local._table(measure, top, local.sort_key(measure))
        return table.replace_schema_metadata(self._schema_meta())
