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
    """Check a measure name.

    Parameters
    ----------
    measure : str or None
        count, pmi, ppmi, npmi or llr; None takes ``default``.
    default : str
        The measure used when ``measure`` is None.

    Returns
    -------
    str
        The measure.

    Raises
    ------
    ParameterError
        Not one of :data:`MEASURES` (the parameter ``measure`` is named).
    """
    return params.choice("measure", default if measure is None else measure, MEASURES)


def margins(a, b, raw, n_terms: int, doc_freq, n_docs: int, doc_mode: bool) -> tuple[np.ndarray, int]:
    """The margins the measures divide by.

    Parameters
    ----------
    a, b, raw : ndarray
        The pairs (upper triangle) and their counts in weight units.
    n_terms : int
        Vocabulary size.
    doc_freq : ndarray of int64 or None
        Document frequency of each term (document mode).
    n_docs : int
        Documents of the corpus (document mode).
    doc_mode : bool
        Whether the pairs are document co-occurrences.

    Returns
    -------
    m : ndarray of int64
        Window mode: m_a, the row sums of the symmetric matrix; document mode: ``doc_freq``.
    t : int
        Window mode: T, the sum of the matrix; document mode: ``n_docs``.
    """
    if doc_mode:
        return doc_freq, n_docs
    from kernels.cpu.cooc import marginal_sums
    return marginal_sums(a, b, raw, n_terms), int(2 * raw.sum())


def m_units(a, b, raw, doc_mode: bool) -> np.ndarray:
    """M[a, b] of each row in weight units.

    Parameters
    ----------
    a, b, raw : ndarray
        The pairs and their counts (upper triangle).
    doc_mode : bool
        Document mode (no doubling).

    Returns
    -------
    ndarray of int64
        ``raw``, with the diagonal doubled in window mode (a pair a, a adds 2w).
    """
    return raw if doc_mode else np.where(a == b, 2 * raw, raw)


def measure_rows(name: str, a, b, raw, rows, margin: tuple, divisor: int, doc_mode: bool) -> np.ndarray:
    """One association measure of some rows.

    Parameters
    ----------
    name : str
        pmi, ppmi, npmi or llr.
    a, b, raw : ndarray
        The pairs and their counts in weight units.
    rows : ndarray of int or None
        The rows wanted (None: every row).
    margin : tuple
        ``(m, t)`` from :func:`margins`.
    divisor : int
        The weighting's divisor (1, or lcm(1..W) with harmonic weights).
    doc_mode : bool
        Document mode.

    Returns
    -------
    ndarray of float64
        The measure of each row, in the order of ``rows``.

    Raises
    ------
    ParameterError
        ``name`` is not a measure computed here.
    """
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
    """A measure rounded to 1e-9 for sorting.

    Values equal in exact arithmetic but a few ulps apart (different operands, e.g.
    2*6/(3*4) and 1*6/(2*3)) then tie, and ties go by terms.

    Parameters
    ----------
    v : ndarray
        The measure (or the counts).
    inplace : bool, optional
        ``v`` is a scratch array: rounded in place when it is float64.

    Returns
    -------
    ndarray of float64
        The sort key.
    """
    if inplace and v.dtype == np.float64:
        return np.round(v, 9, out=v)
    return np.round(v.astype(np.float64), 9)
