"""Association measures of the co-occurrence job on the CPU: marginals and one measure per row.

Counts and marginals are integers in weight units; :func:`measure_rows` divides by the
weighting's divisor only where the README formulas do, so the floats are those of the
formulas, row by row, whatever the threads.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def marginal_sums(a, b, raw, n):
    """Row sums of the symmetric matrix whose upper triangle is (a, b, raw): exact int64."""
    m = np.zeros(n, np.int64)
    for k in range(a.size):
        m[a[k]] += raw[k]
        m[b[k]] += raw[k]
    return m


MEASURE_CODES = {"pmi": 1, "ppmi": 2, "npmi": 3, "llr": 4}


@njit(cache=True)
def _xlog(c, row, col, d, tf, unit):
    """One term ``c log(c T / (row col))`` of G^2, in weight units (0 for ``c <= 0``)."""
    if c <= 0:
        return 0.0
    if unit:   # x / 1.0 == x exactly: the same value without three divisions
        cf = np.float64(c)
        return cf * np.log((cf * tf) / (np.float64(row) * np.float64(col)))
    cf = c / d
    return cf * np.log((cf * tf) / ((row / d) * (col / d)))


@njit(parallel=True, cache=True)
def measure_rows(code, a, b, raw, sel, m, t, divisor, diag2, out):
    """One association measure (``MEASURE_CODES``) of the rows ``sel`` (all rows when empty).

    ``m``: marginals (or document frequencies), ``t``: T (or N), integers in weight
    units; ``diag2``: M[a, a] = 2 raw (window mode).  The float operations are those
    of the README formulas, row by row.
    """
    n = sel.size if sel.size else raw.size
    unit = divisor == 1
    d = np.float64(divisor)
    tf = t / d
    for q in prange(n):
        r = sel[q] if sel.size else np.int64(q)
        x = a[r]
        y = b[r]
        k = raw[r] * 2 if (diag2 and x == y) else raw[r]
        ra = m[x]
        rb = m[y]
        kf = k / d
        if code == 4:
            g = (_xlog(k, ra, rb, d, tf, unit) + _xlog(ra - k, ra, t - rb, d, tf, unit)
                 + _xlog(rb - k, t - ra, rb, d, tf, unit) + _xlog(t - ra - rb + k, t - ra, t - rb, d, tf, unit))
            out[q] = max(2.0 * g, 0.0)
        else:
            pmi = np.log((kf * tf) / ((ra / d) * (rb / d)))
            if code == 1:
                out[q] = pmi
            elif code == 2:
                out[q] = max(pmi, 0.0)
            else:
                den = -np.log(kf / tf)
                out[q] = pmi / den if den > 0 else 1.0
