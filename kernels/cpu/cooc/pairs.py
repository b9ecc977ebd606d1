"""Pair pass of the co-occurrence job on the CPU: a dense block for frequent pairs, row buckets for the rest.

Term ids are frequency ranks, so most pairs (74-85 % on the bench corpora) join two of
the ``k`` most frequent terms.  The tokens (rows) are cut into one contiguous range per
thread, walked twice (``engine.cooc.cpu_pairs``): walk 1 (:func:`window_dense_hist`,
:func:`doc_dense_hist`) adds such pairs to the thread's own dense ``k x k`` block (row
``a``, column ``b``, ``a <= b``: one increment, no hashing, hot rows in cache) and counts
every other pair in a histogram by row; walk 2 (:func:`window_rest_write`,
:func:`doc_rest_write`) writes those pairs straight to their row bucket at the places the
histogram gives (``kernels.cpu.cooc.rest``).  Both walks of a mode are one per-thread core
(:func:`_window_range`, :func:`_doc_range`) with ``write`` a constant, so they walk the
same pairs.  The windows and keys are those of the shared cores (``kernels.cooc_core``:
:func:`~kernels.cooc_core.window_stop`, :func:`~kernels.cooc_core.ordered_pair`), which the
CUDA twins call through ``window_pairs`` / ``doc_pairs_span``.

:func:`doc_unique` gives the sorted distinct ids of each document (the rows of the
document mode); :func:`dense_row_counts` and :func:`assemble` write the final columns
(a, b, count): dense row ``a``, then its other pairs.  Every sum is an integer sum:
the counts do not depend on threads or batches.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.cooc_core import ordered_pair, pair_first, pair_second, window_stop


@njit(cache=True)   # serial: under 0.5% of a 100 MB run, a parallel compile costs more
def dense_row_counts(dense, k, rows):
    """Non-zero cells of row a (summed over the threads' blocks) at ``rows[a + 1]``."""
    nt = dense.shape[0]
    for a in prange(k):
        c = 0
        for b in range(a, k):
            s = 0
            for t in range(nt):
                s += dense[t, a * k + b]
            if s != 0:
                c += 1
        rows[a + 1] = c


@njit(cache=True)   # serial: under 1% of a 100 MB run, a parallel compile costs more
def assemble(dense, k, drows, rkeys, rvals, rrows, out_a, out_b, out_v):
    """All pairs sorted by (a, b) as columns: row a < k is its dense cells (summed over the
    threads' blocks, b < k) then its buffered pairs (b >= k); rows >= k are buffered pairs only.
    ``drows``: cumulated non-zero cells per dense row; ``rrows[a]``: first key of row a in
    ``rkeys`` (a = 0..k)."""
    nt = dense.shape[0]
    for a in prange(k + 1):
        if a < k:
            o = drows[a] + rrows[a]
            for b in range(a, k):
                s = 0
                for t in range(nt):
                    s += dense[t, a * k + b]
                if s != 0:
                    out_a[o] = a
                    out_b[o] = b
                    out_v[o] = s
                    o += 1
            r1 = rrows[a + 1]
        else:
            o = drows[k] + rrows[k]
            r1 = rkeys.size
        for r in range(rrows[a], r1):
            key = rkeys[r]
            out_a[o] = np.int32(pair_first(key))
            out_b[o] = np.int32(pair_second(key))
            out_v[o] = rvals[r]
            o += 1


@njit(parallel=True, cache=True)
def doc_unique(ids, doc_off, out, counts):
    """Sorted distinct term ids (>= 0) of each document, written at the document's own offset."""
    for d in prange(doc_off.size - 1):
        s = doc_off[d]
        e = doc_off[d + 1]
        v = np.sort(ids[s:e])
        u = 0
        prev = -1
        for k in range(v.size):
            x = v[k]
            if x >= 0 and x != prev:
                out[s + u] = x
                u += 1
                prev = x
        counts[d] = u


# --- two-walk pair pass (engine.cooc.cpu_pairs): walk 1 counts the dense block and a row
# histogram of the other pairs, walk 2 writes those pairs straight to their row bucket (exact
# places from the histogram: no unbounded buffer, no scatter pass).

@njit(cache=True, inline="always")
def _window_range(ids, doc_off, window, wtab, unit, i, e_t, k, dn, h, row_bucket, p, shift, keys, wts, write):
    """The window pairs of tokens ``i .. e_t`` (one thread's range), both ids >= 0.

    ``write`` false (walk 1): a pair of two ids < ``k`` added to ``dn`` (cell ``lo * k + hi``),
    every other counted in ``h[lo]``.  ``write`` true (walk 2): every other pair written at
    ``p[row_bucket[lo]]`` (then advanced) as ``lo << shift | hi``, its weight in ``wts``
    unless ``unit``.  Inlined with ``write`` a constant: each walk compiles its own branch.
    """
    if i >= e_t:
        return
    d = np.searchsorted(doc_off, i, side="right") - 1
    while i < e_t:
        while doc_off[d + 1] <= i:
            d += 1
        a = ids[i]
        if a >= 0:
            for j in range(i + 1, window_stop(i, doc_off[d + 1], window) + 1):
                b = ids[j]
                if b >= 0:
                    lo, hi = ordered_pair(a, b)
                    if hi < k:
                        if not write:
                            dn[np.int64(lo) * k + hi] += 1 if unit else wtab[j - i]
                    elif write:
                        bk = row_bucket[lo]
                        q = p[bk]
                        keys[q] = (np.uint64(lo) << shift) | np.uint64(hi)
                        if not unit:
                            wts[q] = wtab[j - i]
                        p[bk] = q + 1
                    else:
                        h[lo] += 1
        i += 1


@njit(cache=True, inline="always")
def _doc_range(uids, row_end, r0, r1, k, dn, h, row_bucket, p, shift, keys, write):
    """The document pairs of rows ``r0 .. r1`` (row r: uids[r] with uids[r .. row_end[r]),
    sorted, weight 1), as :func:`_window_range`."""
    for r in range(r0, r1):
        a = uids[r]
        bk = row_bucket[a] if write else 0
        for q in range(r, row_end[r]):
            b = uids[q]   # b >= a: the row's ids are sorted
            if b < k:
                if not write:
                    dn[np.int64(a) * k + b] += 1
            elif write:
                w = p[bk]
                keys[w] = (np.uint64(a) << shift) | np.uint64(b)
                p[bk] = w + 1
            else:
                h[a] += 1


@njit(parallel=True, cache=True)
def window_dense_hist(ids, doc_off, window, wtab, unit, cuts, dense, k, hist):
    """Walk 1 of the window pairs of tokens ``cuts[t] .. cuts[t + 1]`` by thread ``t``: pairs of
    two ids < ``k`` added to ``dense[t]`` (cell ``lo * k + hi``), every other pair counted in
    ``hist[t, lo]`` (``lo`` its smaller id)."""
    for t in prange(cuts.size - 1):
        _window_range(ids, doc_off, window, wtab, unit, cuts[t], cuts[t + 1], k, dense[t], hist[t],
                      np.empty(0, np.int32), np.empty(0, np.int64), np.uint64(0), np.empty(0, np.uint64),
                      np.empty(0, np.int64), False)


@njit(parallel=True, cache=True)
def window_rest_write(ids, doc_off, window, wtab, unit, cuts, k, row_bucket, pos, sh, keys, wts):
    """Walk 2 (same ``cuts`` as walk 1): every pair with an id >= ``k`` written at
    ``pos[t, row_bucket[lo]]`` (then advanced) as the key ``lo << sh | hi`` (width of
    ``keys``), its weight in ``wts`` unless ``unit``."""
    shift = np.uint64(sh)
    for t in prange(cuts.size - 1):
        _window_range(ids, doc_off, window, wtab, unit, cuts[t], cuts[t + 1], k, np.empty(0, np.int64),
                      np.empty(0, np.int64), row_bucket, pos[t], shift, keys, wts, True)


@njit(parallel=True, cache=True)
def doc_dense_hist(uids, row_end, cuts, dense, k, hist):
    """Walk 1 of the document pairs of rows ``cuts[t] .. cuts[t + 1]`` (row r: uids[r] with
    uids[r .. row_end[r]), sorted, weight 1), as :func:`window_dense_hist`."""
    for t in prange(cuts.size - 1):
        _doc_range(uids, row_end, cuts[t], cuts[t + 1], k, dense[t], hist[t], np.empty(0, np.int32),
                   np.empty(0, np.int64), np.uint64(0), np.empty(0, np.uint64), False)


@njit(parallel=True, cache=True)
def doc_rest_write(uids, row_end, cuts, k, row_bucket, pos, sh, keys):
    """Walk 2 of the document pairs, as :func:`window_rest_write` (weight 1)."""
    shift = np.uint64(sh)
    for t in prange(cuts.size - 1):
        _doc_range(uids, row_end, cuts[t], cuts[t + 1], k, np.empty(0, np.int64), np.empty(0, np.int64),
                   row_bucket, pos[t], shift, keys, True)
