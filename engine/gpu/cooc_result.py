"""The co-occurrence result whose pairs and vocabulary stay on the device.

:class:`DeviceCoocResult` is a :class:`~engine.cooc.result.CoocResult` made by
:func:`engine.gpu.cooc.run_on_device`.  ``table(measure, top)`` with a ``top`` smaller than
the pairs computes the sort measure of every pair on the device
(``kernels.cuda.cooc_measures``), keeps there the rows at or above the ``top``-th value
minus a margin that covers an ulp of difference between the device's ``log`` and the
host's (so the rows the CPU would keep are among them), and brings to the host only those
rows (the pair of term ids local to the rows as one number, counts) and the terms they name
(spellings, margins), each column in the fewest whole bytes that hold its largest value.  The host then computes their
measures with the CPU kernel and orders them as the CPU path does: the same table, bit for
bit.  Everything else (``a``, ``b``, ``raw``, ``vocab``, ``table()`` of every row,
``associates``, ``matrix``...) brings the whole result to the host once, on first use.
"""
from __future__ import annotations

import numpy as np

from engine import params
from engine.cooc.result import CoocResult
from engine.gpu.arrays import gather_spans

__all__ = ["DeviceCoocResult", "narrow_to_host"]

_LAZY = ("vocab", "term_count", "doc_freq", "a", "b", "raw")
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
    top = int(a.max()) if n else 0
    width = max(1, (top.bit_length() + 7) // 8)
    low = a.astype(np.uint64).view(np.uint8).reshape(n, 8)[:, :width]
    out = np.zeros((n, 8), np.uint8)
    out[:, :width] = backend.to_host(backend.xp.ascontiguousarray(low))
    return out.view("<u8").reshape(n).astype(np.int64)


class DeviceCoocResult(CoocResult):
    """A :class:`CoocResult` whose pairs (``DevicePairs``) and vocabulary (``DeviceVocabulary``)
    are on the device (see the module docstring)."""

    def __init__(self, config, vocabulary, pairs, divisor: int, stats, backend):
        # the dataclass fields that stay on the host; _LAZY ones come on first use
        self.config, self.divisor, self.stats, self.rank = config, divisor, stats, None
        self._margins_cache, self._keys, self._hash_index = None, {}, None
        self._dev_vocab, self._dev_pairs, self._be = vocabulary, pairs, backend
        self._dev_values: dict = {}
        self._tops: dict = {}    # (measure, top) -> table: asked again, nothing crosses again

    def __getattr__(self, name):
        if name in _LAZY and "_dev_pairs" in self.__dict__:
            self._materialise()
            return self.__dict__[name]
        raise AttributeError(name)

    def _materialise(self) -> None:
        """Every pair and term to the host (counted in the stats), once."""
        from engine.gpu.cooc import host_strings
        be, v, p = self._be, self._dev_vocab, self._dev_pairs
        with be.count_into(self.stats):
            self.a, self.b, self.raw = be.to_host(p.a), be.to_host(p.b), be.to_host(p.raw)
            self.doc_freq = None if p.doc_freq is None else be.to_host(p.doc_freq)
            self.term_count = be.to_host(v.counts)
            self.vocab = host_strings(be, v.sdata, v.soff)
            self.rank = be.to_host(v.rank)

    @property
    def nnz(self) -> int:
        return int(self._dev_pairs.raw.size)

    @property
    def n_terms(self) -> int:
        return len(self._dev_vocab)

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

    def _device_measure(self, measure: str):
        """The measure of every pair, on the device (float64; counts as M / divisor)."""
        if measure not in self._dev_values:
            be, p = self._be, self._dev_pairs
            n = int(p.raw.size)
            out = be.xp.empty(n, np.float64)
            threads = min(n, SIMULATED_THREADS if be.simulated else MEASURE_THREADS)
            be.kernels.cooc_measures.measure_rows(threads, np.int64(MEASURE_CODES[measure]), p.a, p.b,
                                                  p.raw, p.m, np.int64(p.t), np.int64(self.divisor),
                                                  not self.config.doc_mode, out)
            if measure != self.config.measure:
                return out
            self._dev_values[measure] = out
        return self._dev_values[measure]

    def _top_table(self, measure: str, top: int):
        xp, be, p, v = self._be.xp, self._be, self._dev_pairs, self._dev_vocab
        with self.stats.stage("measures"):
            val = self._device_measure(measure)
        kth = float(xp.sort(val)[int(val.size) - top])
        rows = xp.flatnonzero(val >= kth - (ABS_MARGIN + REL_MARGIN * abs(kth)))
        a, b = p.a[rows], p.b[rows]
        terms = xp.unique(xp.concatenate([a, b]))            # the term ids the rows name, sorted
        lens = v.soff[terms + 1] - v.soff[terms]
        sdata, _ = gather_spans(xp, v.sdata, v.soff[terms], lens)
        nt = int(terms.size)
        pair = narrow_to_host(be, xp.searchsorted(terms, a) * nt + xp.searchsorted(terms, b))
        la, lb = pair // nt, pair % nt
        raw, m = narrow_to_host(be, p.raw[rows]), narrow_to_host(be, p.m[terms])
        data, ln = be.to_host(sdata).tobytes(), narrow_to_host(be, lens)
        ends = np.cumsum(ln).tolist()
        words = [data[e - n:e].decode("utf-8") for e, n in zip(ends, ln.tolist())]
        self.stats.counters["top_rows_to_host"] = la.size
        self.stats.counters["top_terms_to_host"] = len(words)
        # the chosen rows as a host result over the terms they name: the CPU's measures,
        # sort key, selection and order (relative code point order of the terms suffices)
        local = CoocResult(self.config, words, np.zeros(len(words), np.int64), m if self.config.doc_mode else None,
                           la.astype(np.int32), lb.astype(np.int32), raw, self.divisor)
        local._margins_cache = (m, p.t)
        table = local._table(measure, top, local.sort_key(measure))
        return table.replace_schema_metadata(self._schema_meta())
