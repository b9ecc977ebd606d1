"""The backends of the co-occurrence job behind one table: :func:`ops_for` gives the
backend's operations (its kernels: ``kernels.cpu.cooc`` or ``kernels.cuda.cooc``).

Each :class:`_Ops` has the same four steps:

``count_types(be, types, batch, text)``
    tokenise ``batch`` and count its tokens into the host :class:`TypeTable`; returns the
    segments ``(type number of each token, token offsets of its documents, memory held,
    the batch's index of each document)`` and the token count.
``pairs(be, n_terms, unit)``
    a pair accumulator (``add_window``, ``add_doc``, ``arrays``).
``ids(be, type_to_id, types)``
    term id of each token (-1: pruned), on the backend.
``asarray(be, a)``
    a host array on the backend.

CPU: one fused kernel from the bytes to type numbers (``text_types``), pairs in a dense
block per thread plus buffered keys reduced by radix sort (:class:`CPUPairs`). GPU: the
backend tokenises, tokens are counted by sort on the device, pairs are materialised by the
CUDA kernels and reduced by sort (:class:`GPUPairs`).
"""
from __future__ import annotations

import numpy as np

from engine.cooc import config as C
from engine.text import tokenize

__all__ = ["ops_for", "CPUPairs", "GPUPairs", "reduce_by_key", "merge_sorted_runs"]


class CPUPairs:
    """Pair counts on the CPU (kernels.cpu.cooc), persistent across batches.

    Pairs of two of the ``C.DENSE_TERMS`` most frequent terms go to a dense block per
    thread (most pairs of natural text); the others are appended to a key buffer
    per thread (at most ``C.REST_CAP`` keys each), reduced by row ranges small enough
    for the L2 cache whenever a buffer fills, and kept as one run sorted by key.
    Memory: the dense blocks, the buffers and the distinct pairs (bounded by the
    vocabulary), whatever the corpus size.
    """

    def __init__(self, nthreads: int, n_terms: int, unit: bool):
        self.nt = nthreads
        self.n_terms = n_terms
        self.k = min(C.DENSE_TERMS, n_terms)
        self.dense = np.zeros((nthreads, self.k * self.k), np.int64)
        self.unit = unit
        self.rest_k = np.empty((nthreads, 0), np.uint64)
        self.rest_w = np.empty((nthreads, 0), np.int64)
        self.rest_n = np.zeros(nthreads, np.int64)
        self.keys = np.empty(0, np.uint64)
        self.vals = np.empty(0, np.int64)

    def _buffers(self, upper: int, minimum: int):
        cap = max(min(upper, C.REST_CAP), minimum, 1)
        if self.rest_k.shape[1] < cap:
            self._flush()
            self.rest_k = np.empty((self.nt, cap), np.uint64)
            self.rest_w = np.empty((self.nt, 0 if self.unit else cap), np.int64)

    def _flush(self):
        if not self.rest_n.any():
            return
        k, v = _reduce_rest(self.rest_k, self.rest_w, self.rest_n, self.unit, self.n_terms)
        self.keys, self.vals = merge_sorted_runs(self.keys, self.vals, k, v)
        self.rest_n[:] = 0

    def _drive(self, n, call):
        t = np.arange(self.nt + 1, dtype=np.int64) * n // self.nt
        beg, end = t[:-1].copy(), t[1:].copy()
        resume = beg.copy()
        while True:
            call(beg, end, resume)
            if (resume >= end).all():
                return
            self._flush()

    def add_window(self, ids, doc_off, window, wtab):
        from kernels.cpu.cooc import window_dense_rest
        self._buffers(-(-ids.size // self.nt) * window, window)
        self._drive(ids.size, lambda beg, end, resume: window_dense_rest(
            ids, doc_off, window, wtab, self.unit, beg, end, self.dense, self.k, self.rest_k, self.rest_w,
            self.rest_n, resume))

    def add_doc(self, ids, doc_off):
        from kernels.cpu.cooc import doc_dense_rest
        uids, row_end, maxrow = _cpu_doc_rows(ids, doc_off)
        if uids.size == 0:
            return
        total = int((row_end - np.arange(uids.size)).sum())
        self._buffers(total, maxrow)
        self._drive(uids.size, lambda beg, end, resume: doc_dense_rest(
            uids, row_end, beg, end, self.dense, self.k, self.rest_k, self.rest_w, self.rest_n, resume))

    def arrays(self):
        """(dense block summed over the threads (k * k, row a <= column b), k, sorted keys of the
        other pairs, their values)."""
        self._flush()
        return self.dense.sum(axis=0), self.k, self.keys, self.vals


# Big arrays are allocated here with numpy (which asks for transparent huge pages), not inside
# the numba kernels: first-touch page faults of 4 kB pages cost ~1 ms per MB on the test machine.
def _reduce_rest(rest_k, rest_w, rest_n, unit, n_rows):
    """Distinct keys (sorted) and summed weights of the buffered keys (the buffers become scratch)."""
    from kernels.cpu import cooc as kc
    row_bucket, sizes, first = kc.bucket_plan(rest_k, rest_n, n_rows, kc.BUCKET_KEYS)
    nb = sizes.size
    start = np.zeros(nb + 1, np.int64)
    np.cumsum(sizes, out=start[1:])
    total = int(start[-1])
    sk = np.empty(total, np.uint64)
    sw = np.empty(0 if unit else total, np.int64)
    kc.rest_scatter(rest_k, rest_w, rest_n, unit, row_bucket, start, sk, sw)
    out_v = np.empty(total, np.int64)
    out_n = np.empty(nb, np.int64)
    kc.rest_reduce(sk, sw, unit, start, first, int(n_rows - 1).bit_length(), rest_k.reshape(-1),
                   rest_w.reshape(-1), out_v, out_n)
    n = kc.rest_compact(sk, out_v, start, out_n)
    return sk[:n], out_v[:n]


def merge_sorted_runs(k1, v1, k2, v2):
    """Union of two key-sorted runs, values of equal keys added."""
    from kernels.cpu.cooc import merge_sorted
    if k1.size == 0:
        return k2, v2
    if k2.size == 0:
        return k1, v1
    ok, ov = np.empty(k1.size + k2.size, np.uint64), np.empty(k1.size + k2.size, np.int64)
    n = merge_sorted(k1, v1, k2, v2, ok, ov)
    return ok[:n], ov[:n]


def _cpu_doc_rows(ids, doc_off):
    """Sorted unique ids per document (flat) and, per row, the end of its document."""
    from kernels.cpu.cooc import doc_unique
    n, nd = ids.size, doc_off.size - 1
    out = np.empty(n, np.int32)
    counts = np.empty(nd, np.int64)
    doc_unique(ids, doc_off, out, counts)
    lens = np.diff(doc_off)
    within = np.arange(n, dtype=np.int64) - np.repeat(doc_off[:-1], lens)
    uids = out[within < np.repeat(counts, lens)]
    uoff = np.zeros(nd + 1, np.int64)
    np.cumsum(counts, out=uoff[1:])
    row_end = np.repeat(uoff[1:], counts)
    return uids, row_end, int(counts.max()) if nd else 0


def reduce_by_key(xp, keys, vals):
    """Sort ``keys`` and sum ``vals`` per distinct key (integers: exact in any order)."""
    if keys.size == 0:
        return keys, vals
    o = xp.argsort(keys)
    k, v = keys[o], vals[o]
    last = xp.empty(k.size, dtype=bool)
    last[-1] = True
    last[:-1] = k[1:] != k[:-1]
    ends = xp.flatnonzero(last)
    cs = xp.cumsum(v)
    sums = cs[ends]
    sums[1:] = sums[1:] - cs[ends[:-1]]
    return k[ends], sums


class GPUPairs:
    """Pairs materialised by the CUDA kernels, counted by sort + segmented sum (cupy / numpy)."""

    def __init__(self, backend):
        self.be = backend
        self.xp = backend.xp
        from kernels.cuda import cooc
        self.k = cooc
        self.keys = self.xp.empty(0, np.uint64)
        self.vals = self.xp.empty(0, np.int64)

    def _merge(self, keys, wts):
        xp = self.xp
        keys, wts = reduce_by_key(xp, keys, wts)
        if self.keys.size:
            keys, wts = reduce_by_key(xp, xp.concatenate([self.keys, keys]), xp.concatenate([self.vals, wts]))
        self.keys, self.vals = keys, wts

    def add_window(self, ids, doc_off, window, wtab):
        xp, be, n = self.xp, self.be, ids.size
        if n == 0:
            return
        tok_doc = xp.searchsorted(doc_off, xp.arange(n, dtype=np.int64), side="right") - 1
        tok_end = doc_off[tok_doc + 1]
        wtab = be.asarray(wtab)
        counts = xp.empty(n, np.int64)
        be.launch(self.k.window_pair_counts, n, ids, tok_end, np.int64(window), wtab,
                  xp.empty(1, np.uint64), xp.empty(1, np.int64), counts)
        off = xp.zeros(n, np.int64)
        xp.cumsum(counts[:-1], out=off[1:])
        total = int(off[-1] + counts[-1])
        keys = xp.empty(total, np.uint64)
        wts = xp.empty(total, np.int64)
        if total:
            be.launch(self.k.window_pair_write, n, ids, tok_end, np.int64(window), wtab, off, keys, wts)
        self._merge(keys, wts)

    def add_doc(self, ids, doc_off):
        xp, be, n = self.xp, self.be, ids.size
        nd = doc_off.size - 1
        tok_doc = xp.searchsorted(doc_off, xp.arange(n, dtype=np.int64), side="right") - 1
        valid = ids >= 0
        key = (tok_doc[valid].astype(np.uint64) << np.uint64(32)) | ids[valid].astype(np.uint64)
        uk = xp.unique(key)
        if uk.size == 0:
            return
        udoc = (uk >> np.uint64(32)).astype(np.int64)
        uids = xp.ascontiguousarray((uk & C.LOW32).astype(np.int32))
        uoff = xp.searchsorted(udoc, xp.arange(nd + 1, dtype=np.int64), side="left")
        row_end = uoff[udoc + 1]
        counts = row_end - xp.arange(uids.size, dtype=np.int64)
        off = xp.zeros(uids.size, np.int64)
        xp.cumsum(counts[:-1], out=off[1:])
        total = int(off[-1] + counts[-1])
        keys = xp.empty(total, np.uint64)
        wts = xp.empty(total, np.int64)
        be.launch(self.k.doc_pair_write, uids.size, uids, row_end, off, keys, wts)
        self._merge(keys, wts)

    def arrays(self):
        """(no dense block, 0, sorted pair keys, values) on the host."""
        return np.zeros(0, np.int64), 0, self.be.to_host(self.keys), self.be.to_host(self.vals)


class _Ops:
    name = ""

    def asarray(self, be, a):
        return be.asarray(a)


class _CPU(_Ops):
    name = "cpu"

    def count_types(self, be, types, batch, text):
        docs = []
        segments, n_tokens = types.add_text(batch, text, docs)
        return [(*seg, d) for seg, d in zip(segments, docs)], n_tokens

    def pairs(self, be, n_terms: int, unit: bool):
        import numba
        return CPUPairs(numba.get_num_threads(), n_terms, unit)

    def ids(self, be, type_to_id, types):
        from kernels.cpu.cooc import gather_ids
        gather_ids(type_to_id, types, types)   # type numbers -> term ids, in place
        return types

    def asarray(self, be, a):
        return a


class _GPU(_Ops):
    name = "gpu"

    def count_types(self, be, types, batch, text):
        """Count by key on the device, fold the distinct hashes into the host table, and map
        every token to its type number (on the device, then to the host cache)."""
        toks = tokenize(batch, be, text)
        n = toks.n_tokens
        tt = np.empty(0, np.int32)
        if n:
            xp = be.xp
            h = toks.tok_hash
            o = xp.argsort(h)
            hs = h[o]
            first = xp.empty(hs.size, dtype=bool)
            first[0] = True
            first[1:] = hs[1:] != hs[:-1]
            starts = xp.flatnonzero(first)
            counts = xp.diff(xp.concatenate([starts, xp.asarray([hs.size])]))
            rep = o[starts]
            numbers = np.empty(int(starts.size), np.int32)
            types.add(be.to_host(hs[starts]), be.to_host(counts).astype(np.int64),
                      be.to_host(toks.tok_start[rep]), be.to_host(toks.tok_len[rep]), toks.host("norm"),
                      numbers)
            dev = xp.empty(n, np.int32)
            dev[o] = be.asarray(numbers)[xp.cumsum(first) - 1]
            tt = be.to_host(dev)
        off = np.ascontiguousarray(be.to_host(toks.doc_tok_offsets), np.int64)
        return [(tt, off, tt.nbytes + off.nbytes, np.arange(batch.n_docs, dtype=np.int64))], n

    def pairs(self, be, n_terms: int, unit: bool):
        return GPUPairs(be)

    def ids(self, be, type_to_id, types):
        return be.asarray(type_to_id)[be.asarray(types)]


OPS = {"cpu": _CPU(), "gpu": _GPU()}


def ops_for(backend) -> _Ops:
    """The operations of ``backend`` (a backend object: ``.name`` is ``cpu`` or ``gpu``)."""
    return OPS[backend.name]
