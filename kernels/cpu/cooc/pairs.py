"""Pair pass of the co-occurrence job on the CPU: a dense block for frequent pairs, a buffer for the rest.

Term ids are frequency ranks, so most pairs (74-85 % on the bench corpora) join two of
the ``k`` most frequent terms.  :func:`window_dense_rest` (and :func:`doc_dense_rest`)
split the tokens (rows) into one contiguous range per thread; each thread adds such
pairs to its own dense ``k x k`` block (row ``a``, column ``b``, ``a <= b``: one
increment, no hashing, hot rows in cache) and appends every other pair key to its own
buffer (sequential writes).  A full buffer stops its thread at a token boundary
(``resume``); the caller reduces the buffers (``kernels.cpu.cooc.reduce``) and calls
again, so memory stays bounded.  The windows and keys are those of the shared cores
(``kernels.cooc_core``: :func:`~kernels.cooc_core.window_stop`,
:func:`~kernels.cooc_core.ordered_pair`, :func:`~kernels.cooc_core.pack_pair`), which the
CUDA twins call through ``window_pairs`` / ``doc_pairs_span``.

:func:`doc_unique` gives the sorted distinct ids of each document (the rows of the
document mode); :func:`dense_row_counts` and :func:`assemble` write the final columns
(a, b, count): dense row ``a``, then its buffered pairs.  Every sum is an integer sum:
the counts do not depend on threads or batches.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from kernels.cooc_core import ordered_pair, pack_pair, pair_first, pair_second, window_stop


@njit(cache=True, inline="always")
def _emit(a, b, w, dense, k, rk, rw, m, unit):
    """Pair a, b: into the dense block when both ids are < k, else appended to the buffer."""
    lo, hi = ordered_pair(a, b)
    if hi < k:
        dense[np.int64(lo) * k + hi] += w
        return m
    rk[m] = pack_pair(lo, hi)
    if not unit:
        rw[m] = w
    return m + 1


@njit(parallel=True, cache=True)
def window_dense_rest(ids, doc_off, window, wtab, unit, tbeg, tend, dense, k, rest_k, rest_w,
                      rest_n, resume):
    """Window pairs of tokens ``resume[t] .. tend[t]`` of each thread ``t`` (see the module doc).

    ``unit``: every weight is 1 (``rest_w`` unused).  Stops a thread before a
    token whose pairs might not fit its buffer; ``resume[t]`` is where it stopped.
    """
    for t in prange(tbeg.size):
        i = resume[t]
        e_t = tend[t]
        if i >= e_t:
            continue
        dn = dense[t]
        rk = rest_k[t]
        rw = rest_w[t]
        cap = rk.size
        m = rest_n[t]
        d = np.searchsorted(doc_off, i, side="right") - 1
        while i < e_t:
            if m + window > cap:
                break
            while doc_off[d + 1] <= i:
                d += 1
            a = ids[i]
            if a >= 0:
                for j in range(i + 1, window_stop(i, doc_off[d + 1], window) + 1):
                    b = ids[j]
                    if b >= 0:
                        m = _emit(a, b, 1 if unit else wtab[j - i], dn, k, rk, rw, m, unit)
            i += 1
        rest_n[t] = m
        resume[t] = i


@njit(parallel=True, cache=True)
def doc_dense_rest(uids, row_end, tbeg, tend, dense, k, rest_k, rest_w, rest_n, resume):
    """Document pairs (row r: uids[r] with uids[r..row_end[r]), weight 1), like window_dense_rest."""
    for t in prange(tbeg.size):
        r = resume[t]
        e_t = tend[t]
        if r >= e_t:
            continue
        dn = dense[t]
        rk = rest_k[t]
        rw = rest_w[t]
        cap = rk.size
        m = rest_n[t]
        while r < e_t:
            e = row_end[r]
            if m + (e - r) > cap:
                break
            a = uids[r]
            for q in range(r, e):
                m = _emit(a, uids[q], 1, dn, k, rk, rw, m, True)
            r += 1
        rest_n[t] = m
        resume[t] = r


@njit(parallel=True, cache=True)
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


@njit(parallel=True, cache=True)
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

@njit(parallel=True, cache=True)
def window_dense_hist(ids, doc_off, window, wtab, unit, cuts, dense, k, hist):
    """Walk 1 of the window pairs of tokens ``cuts[t] .. cuts[t + 1]`` by thread ``t``: pairs of
    two ids < ``k`` added to ``dense[t]`` (cell ``lo * k + hi``), every other pair counted in
    ``hist[t, lo]`` (``lo`` its smaller id)."""
    for t in prange(cuts.size - 1):
        i = cuts[t]
        e_t = cuts[t + 1]
        if i >= e_t:
            continue
        dn = dense[t]
        h = hist[t]
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
                            dn[np.int64(lo) * k + hi] += 1 if unit else wtab[j - i]
                        else:
                            h[lo] += 1
            i += 1


@njit(parallel=True, cache=True)
def window_rest_write(ids, doc_off, window, wtab, unit, cuts, k, row_bucket, pos, sh, keys, wts):
    """Walk 2 (same ``cuts`` as walk 1): every pair with an id >= ``k`` written at
    ``pos[t, row_bucket[lo]]`` (then advanced) as the key ``lo << sh | hi`` (width of
    ``keys``), its weight in ``wts`` unless ``unit``."""
    shift = np.uint64(sh)
    for t in prange(cuts.size - 1):
        i = cuts[t]
        e_t = cuts[t + 1]
        if i >= e_t:
            continue
        p = pos[t]
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
                        if hi >= k:
                            bk = row_bucket[lo]
                            q = p[bk]
                            keys[q] = (np.uint64(lo) << shift) | np.uint64(hi)
                            if not unit:
                                wts[q] = wtab[j - i]
                            p[bk] = q + 1
            i += 1


@njit(parallel=True, cache=True)
def doc_dense_hist(uids, row_end, cuts, dense, k, hist):
    """Walk 1 of the document pairs of rows ``cuts[t] .. cuts[t + 1]`` (row r: uids[r] with
    uids[r .. row_end[r]), sorted, weight 1), as :func:`window_dense_hist`."""
    for t in prange(cuts.size - 1):
        dn = dense[t]
        h = hist[t]
        for r in range(cuts[t], cuts[t + 1]):
            a = uids[r]
            for q in range(r, row_end[r]):
                b = uids[q]   # b >= a: the row's ids are sorted
                if b < k:
                    dn[np.int64(a) * k + b] += 1
                else:
                    h[a] += 1


@njit(parallel=True, cache=True)
def doc_rest_write(uids, row_end, cuts, k, row_bucket, pos, sh, keys):
    """Walk 2 of the document pairs, as :func:`window_rest_write` (weight 1)."""
    shift = np.uint64(sh)
    for t in prange(cuts.size - 1):
        p = pos[t]
        for r in range(cuts[t], cuts[t + 1]):
            a = uids[r]
            bk = row_bucket[a]
            for q in range(r, row_end[r]):
                b = uids[q]
                if b >= k:
                    w = p[bk]
                    keys[w] = (np.uint64(a) << shift) | np.uint64(b)
                    p[bk] = w + 1
