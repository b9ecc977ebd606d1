"""Association measures of co-occurrence counts (definitions in ``engine.cooc``'s docstring).

Every count is an integer in weight units (the weight is ``raw / divisor``); the float
measures are computed per row by ``kernels.cpu.cooc.measure_rows`` (on the host: ``np.log``
may differ by an ulp between CPUs, so a distributed run computes them on the client).
"""
from __future__ import annotations

import numpy as np

from engine import params
from engine.cooc.config import MEASURES
from engine.errors import ParameterError

__all__ = ["margins", "measure_rows", "sort_key", "check_measure"]


def check_measure(measure: str | None, default: str) -> str:
    """``measure`` (or ``default`` when None), one of :data:`MEASURES`."""
    return params.choice("measure", default if measure is None else measure, MEASURES)


def margins(a, b, raw, n_terms: int, doc_freq, n_docs: int, doc_mode: bool) -> tuple[np.ndarray, int]:
    """(m_a per term, T) in weight units; document mode: (document frequencies, N)."""
    if doc_mode:
        return doc_freq, n_docs
    from kernels.cpu.cooc import marginal_sums
    return marginal_sums(a, b, raw, n_terms), int(2 * raw.sum())


def m_units(a, b, raw, doc_mode: bool) -> np.ndarray:
    """M[a, b] of each row in weight units (int64): window mode doubles the diagonal."""
    return raw if doc_mode else np.where(a == b, 2 * raw, raw)


def measure_rows(name: str, a, b, raw, rows, margin: tuple, divisor: int, doc_mode: bool) -> np.ndarray:
    """PMI, PPMI, NPMI or LLR of the rows ``rows`` (None: every row), float64."""
    from kernels.cpu.cooc import MEASURE_CODES
    from kernels.cpu.cooc import measure_rows as kernel
    if name not in MEASURE_CODES:
        raise ParameterError(f"measure must be one of {', '.join(MEASURES[1:])}, got {name!r}", param="measure")
    m, t = margin
    sel = np.empty(0, np.int64) if rows is None else np.ascontiguousarray(rows, np.int64)
    if rows is not None and sel.size == 0:
        return np.empty(0, np.float64)
    out = np.empty(sel.size if rows is not None else raw.size, np.float64)
    kernel(MEASURE_CODES[name], a, b, raw, sel, np.asarray(m, np.int64), np.int64(t), np.int64(divisor),
           not doc_mode, out)
    return out


def sort_key(v: np.ndarray, inplace: bool = False) -> np.ndarray:
    """Measure rounded to 1e-9 for sorting: values equal in exact arithmetic but a few ulps
    apart (different operands, e.g. 2*6/(3*4) and 1*6/(2*3)) then tie and go by terms.
    ``inplace``: ``v`` is a scratch array, rounded in place when it is float64."""
    if inplace and v.dtype == np.float64:
        return np.round(v, 9, out=v)
    return np.round(v.astype(np.float64), 9)
