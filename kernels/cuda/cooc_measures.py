"""CUDA twin of ``kernels.cpu.cooc.measure_rows``: one association measure, one thread a row.

The GPU path of the co-occurrence job computes the sort measure of every pair on the device
to choose the rows of a ``top`` there (``engine.gpu.cooc_result``); the output rows' measures
are then recomputed on the host by the CPU kernel, so that the floats written are the CPU's
bit for bit (CUDA's ``log`` may differ from the host's by an ulp).  The operations are those
of the CPU kernel, in the same order, in float64.  The scalar core (:func:`measure_value`) is
a plain ``@njit`` function called through :func:`kernels.cuda.device` (compiled as a device
function on a GPU; under the simulator the CPU's compiled code).  Lazy
``@cuda.jit(cache=True)``: importing this module needs no driver.
"""
from __future__ import annotations

import math

from numba import cuda, njit

from kernels.cuda import device


@njit(cache=True)
def xlog_term(c, row, col, d, tf, unit):
    """One term ``c log(c T / (row col))`` of G^2, in weight units (0 for ``c <= 0``)."""
    if c <= 0:
        return 0.0
    if unit:
        cf = float(c)
        return cf * math.log((cf * tf) / (float(row) * float(col)))
    cf = c / d
    return cf * math.log((cf * tf) / ((row / d) * (col / d)))


@njit(cache=True)
def measure_value(code, k, ra, rb, t, divisor):
    """The measure ``code`` of one pair of count ``k``, margins ``ra``, ``rb``, total ``t``."""
    d = float(divisor)
    if code == 0:
        return k / d
    unit = divisor == 1
    tf = t / d
    kf = k / d
    if code == 4:
        g = (xlog_term(k, ra, rb, d, tf, unit) + xlog_term(ra - k, ra, t - rb, d, tf, unit)
             + xlog_term(rb - k, t - ra, rb, d, tf, unit) + xlog_term(t - ra - rb + k, t - ra, t - rb, d, tf, unit))
        return max(2.0 * g, 0.0)
    pmi = math.log((kf * tf) / ((ra / d) * (rb / d)))
    if code == 1:
        return pmi
    if code == 2:
        return max(pmi, 0.0)
    den = -math.log(kf / tf)
    return pmi / den if den > 0 else 1.0


_measure = device(measure_value)


@cuda.jit(cache=True)
def measure_rows(code, a, b, raw, m, t, divisor, diag2, out):
    """Measure ``code`` (``kernels.cpu.cooc.MEASURE_CODES``; 0: the count ``M / divisor``) of
    every row; ``m``: marginals (or document frequencies), ``t``: T (or N), weight units.
    A grid-stride loop: any number of threads covers the rows."""
    q = cuda.grid(1)
    stride = cuda.gridsize(1)
    while q < raw.size:
        x = a[q]
        y = b[q]
        k = raw[q] * 2 if (diag2 and x == y) else raw[q]
        out[q] = _measure(code, k, m[x], m[y], t, divisor)
        q += stride


_I32, _I64, _F64 = "int32[::1]", "int64[::1]", "float64[::1]"
PTX_SIGNATURES = {
    "measure_rows": f"void(int64, {_I32}, {_I32}, {_I64}, {_I64}, int64, int64, boolean, {_F64})",
}
