"""The n-gram job on a GPU, device-resident from the tokenizer to the selected rows.

:func:`run_on_device` is what :func:`engine.ngrams.run` does on a GPU backend in one
process.  Per batch and order the occurrences are reduced on the device (stable sort + run
lengths) and the distinct keys' strings gathered there; the batch's run (keys, counts,
document frequencies, first-occurrence ordinals, strings) is merged on the device into the
order's table (a newer run is merged into the older once it is at least half its size,
so each row is re-sorted O(log runs) times).  At the end ``min_count`` and ``top`` select
the rows on the device, ties at the top's last count ordered by string there too, and only
the selected rows and their strings come to the host, where they are put in output order
as the CPU path does.  Same rows, counts, strings and order as the CPU backend (tests/sim).

Beyond the backend's memory budget (``GPUBackend(memory=...)``, default half the free
memory) the device tables move to the host as an :class:`~engine.ngrams.partial.NgramPartial`
and the remaining batches take the host-table path (``map_partition``: each batch reduced
on the device, the host table spilling by hash partition to disk past ``--memory``); the
two partials combine exactly, in corpus order.
"""
from __future__ import annotations

import numpy as np

from engine.gpu.arrays import gather_spans, gather_word_ngrams, offsets_of, segment_of
from engine.stats import JobStats

__all__ = ["run_on_device", "DeviceNgramCounter", "string_order"]

FIRST_SHIFT = 32   # as engine.ngrams.partial: (document << 32) | position in the document


def _merge(be, a, b):
    """One run of the rows of runs ``a`` (older: earlier batches) and ``b``, exact."""
    xp = be.xp
    keys = xp.concatenate([a[0], b[0]])
    o = xp.argsort(keys, kind="stable")          # equal keys: a's row first, the earlier
    sk = keys[o]
    new = xp.ones(sk.size, dtype=bool)
    if sk.size > 1:
        new[1:] = sk[1:] != sk[:-1]
    starts = xp.flatnonzero(new)
    src = o[starts]

    def summed(i):
        cs = xp.cumsum(xp.concatenate([a[i], b[i]])[o])
        ends = xp.concatenate([starts[1:], xp.full(1, sk.size, np.int64)]) - 1
        return cs[ends] - cs[starts] + xp.concatenate([a[i], b[i]])[o][starts]
    data = xp.concatenate([a[4], b[4]])
    s_start = xp.concatenate([a[5][:-1], b[5][:-1] + a[4].size])
    s_len = xp.concatenate([xp.diff(a[5]), xp.diff(b[5])])
    sdata, soff = gather_spans(be, data, s_start[src], s_len[src])
    return (sk[starts], summed(1), summed(2), xp.concatenate([a[3], b[3]])[src], sdata, soff)


class _DeviceTable:
    """The rows of one order on the device, as sorted runs merged geometrically."""

    def __init__(self, be):
        self.be, self.xp, self.runs = be, be.xp, []

    @property
    def nbytes(self) -> int:
        return sum(sum(int(a.nbytes) for a in run) for run in self.runs)

    def add(self, run) -> None:
        self.runs.append(run)
        while len(self.runs) > 1 and 2 * self.runs[-1][0].size >= self.runs[-2][0].size:
            b = self.runs.pop()
            self.runs[-1] = _merge(self.be, self.runs[-1], b)

    def merged(self):
        while len(self.runs) > 1:
            b = self.runs.pop()
            self.runs[-1] = _merge(self.be, self.runs[-1], b)
        if self.runs:
            return self.runs[0]
        xp, e = self.xp, self.xp.empty(0, np.int64)
        return xp.empty(0, np.uint64), e, e, e, xp.empty(0, np.uint8), xp.zeros(1, np.int64)


def string_order(be, data, starts, lens):
    """Permutation sorting the strings ``data[starts[r]:starts[r] + lens[r]]`` by their bytes
    (a prefix first), on the device: stable sorts from the least significant key up, the
    length, then 8-byte big-endian chunks from the last to the first (zero past the end)."""
    xp = be.xp
    m = int(starts.size)
    if m < 2:
        return xp.arange(m, dtype=np.int64)
    lens = lens.astype(np.int64)
    order = xp.argsort(lens, kind="stable")
    last = int(data.size) - 1
    for j in range((int(be.scalar(lens.max())) + 7) // 8 - 1, -1, -1):
        s, ln = starts[order], lens[order]
        key = xp.zeros(m, np.uint64)
        for b in range(8):
            pos = 8 * j + b
            byte = data[xp.minimum(s + pos, last)].astype(np.uint64)
            key = (key << np.uint64(8)) | xp.where(ln > pos, byte, np.uint64(0))
        order = order[xp.argsort(key, kind="stable")]
    return order


def _batch_run(n, batch, toks, be, cfg, stats):
    """The run of one batch and order ``n``, on the device."""
    from engine.ngrams.counting import reduce_on_device
    xp = be.xp
    if cfg.char:
        nch = be.codepoint_counts(toks.norm, toks.norm_offsets)
        cnt = xp.maximum(nch - n + 1, 0)
    else:
        cnt = xp.maximum(xp.diff(toks.doc_tok_offsets) - n + 1, 0)
    off = offsets_of(xp, cnt)
    m = int(be.scalar(off[-1]))
    keys = xp.empty(m, np.uint64)
    if cfg.char:
        start, length = xp.empty(m, np.int64), xp.empty(m, np.int32)
        be.char_ngrams(toks.norm, toks.norm_offsets, n, off, keys, start, length)
    else:
        first_tok = xp.empty(m, np.int64)
        be.word_ngrams(toks.tok_hash, toks.doc_tok_offsets, n, off, keys, first_tok)
    stats.counters[f"occurrences_n{n}"] = stats.counters.get(f"occurrences_n{n}", 0) + m
    local = segment_of(xp, off, m)
    uk, c, d, first = reduce_on_device(xp, keys, local + batch.doc_base)
    doc = local[first]
    ordinal = ((doc + batch.doc_base) << np.int64(FIRST_SHIFT)) | (first - off[doc])
    if cfg.char:
        sdata, soff = gather_spans(be, toks.norm, start[first], length[first])
    else:
        sdata, soff = gather_word_ngrams(be, toks.norm, toks.tok_start, toks.tok_len, first_tok[first], n)
    return uk, c, d, ordinal, sdata, soff


def _selected(be, counts, sdata, soff, cfg):
    """Device indices of the rows that reach the output: ``count >= min_count``, then the
    ``top`` first by (count desc, string asc)."""
    xp = be.xp
    sel = xp.flatnonzero(counts >= cfg.min_count)
    if cfg.top is None or int(sel.size) <= cfg.top:
        return sel
    c = counts[sel]
    kth = xp.sort(c)[int(sel.size) - cfg.top]
    above, tied = sel[c > kth], sel[c == kth]
    need = cfg.top - int(above.size)
    if int(tied.size) > need:
        lens = soff[tied + 1] - soff[tied]
        tied = tied[string_order(be, sdata, soff[tied], lens)[:need]]
    return xp.concatenate([above, tied])


def _to_partial(tables: dict, backend, stats):
    """The device tables as a host :class:`NgramPartial` (every row: the move past the budget)."""
    from engine.ngrams.partial import NgramPartial, _concat
    parts = []
    for n, table in tables.items():
        keys, counts, dfs, first, sdata, soff = (backend.to_host(a) for a in table.merged())
        parts.append(NgramPartial(keys, np.full(keys.size, n, np.int8), counts, dfs, first, sdata, soff))
    return _concat(parts, stats) if parts else NgramPartial.empty(stats)


def _over_budget(tables: dict, backend) -> bool:
    budget = backend.memory_budget()
    return budget is not None and sum(t.nbytes for t in tables.values()) > budget


class DeviceNgramCounter:
    """The device-resident counting of :func:`run_on_device`, fed tokenised batches in corpus
    order (``corpus analyze``'s one pass tokenises once for several consumers): ``add(batch,
    toks)`` per batch, then :meth:`result` (the :class:`~engine.ngrams.result.NgramResult`)
    and :meth:`close`.  Past the memory budget the rows so far move to the host and the
    batches after are counted by the host-table consumer, combined exactly at the end."""

    def __init__(self, backend, cfg):
        self.be, self.cfg = backend, cfg
        self.stats = JobStats(job="ngrams", backend=backend.describe())
        self.tables = {n: _DeviceTable(backend) for n in cfg.orders}
        self.moved = None     # past the budget: the device rows so far, as a host partial
        self.host = None      # then: the host-table consumer of the batches after

    def add(self, batch, toks) -> None:
        """Count one batch (``toks``: ``tokenize(batch, backend, cfg.text)``)."""
        if self.host is not None:
            self.host.add(batch, toks)
            return
        stats = self.stats
        stats.documents += batch.n_docs
        stats.tokens += toks.n_tokens
        stats.bytes += batch.n_bytes
        stats.counters["slow_docs"] = stats.counters.get("slow_docs", 0) + toks.slow_docs
        with stats.stage("count"):
            for n in self.cfg.orders:
                self.tables[n].add(_batch_run(n, batch, toks, self.be, self.cfg, stats))
            if _over_budget(self.tables, self.be):
                from engine.ngrams.job import NgramConsumer
                self.moved, self.tables = _to_partial(self.tables, self.be, stats), None
                self.host = NgramConsumer(self.be, self.cfg)

    def result(self):
        """The result: the selected rows from the device (or, past the budget, both parts
        combined and finished as on the CPU)."""
        if self.host is not None:
            from engine.ngrams.job import combine, finish
            partial = combine([self.moved, self.host.partial()])
            partial.stats.counters["device_rows_moved_to_host"] = len(self.moved)
            return finish(partial, self.cfg)
        with self.be.count_into(self.stats):
            return _device_result(self.tables, self.be, self.cfg, self.stats)

    def close(self) -> None:
        """Remove the host consumer's spill files, if any (idempotent)."""
        if self.host is not None:
            self.host.close()


def run_on_device(batches, backend, cfg) -> "object":
    """The :class:`engine.ngrams.result.NgramResult` of ``batches`` computed on the GPU
    ``backend`` (see the module docstring)."""
    from engine.text import tokenize
    counter = DeviceNgramCounter(backend, cfg)
    stats = counter.stats
    try:
        with backend.count_into(stats):
            it = iter(batches)
            while counter.host is None:
                with stats.stage("read"):
                    batch = next(it, None)
                if batch is None:
                    break
                with stats.stage("tokenize"):
                    toks = tokenize(batch, backend, cfg.text)
                counter.add(batch, toks)
                del toks
        if counter.host is not None:   # past the device budget: the rest by the host table
            return _finish_on_host(counter.moved, it, backend, cfg)
        return counter.result()
    finally:
        counter.close()


def _device_result(tables: dict, backend, cfg, stats):
    """The selected rows of the device ``tables``, in output order (only they cross)."""
    from engine.ngrams.result import NgramResult, ngram_table
    from kernels.cpu.count import gather_spans as host_spans
    from kernels.cpu.sort import order_rows
    stats.counters["spills"] = 0
    parts = []
    with stats.stage("order"):
        for n, table in tables.items():
            keys, counts, dfs, _, sdata, soff = table.merged()
            stats.counters[f"distinct_n{n}"] = int(keys.size)
            sel = _selected(backend, counts, sdata, soff, cfg)
            data, off = gather_spans(backend, sdata, soff[sel], soff[sel + 1] - soff[sel])
            parts.append((backend.to_host(data), backend.to_host(off), np.full(int(sel.size), n, np.int32),
                          backend.to_host(counts[sel]), backend.to_host(dfs[sel])))
    with stats.stage("order"):
        data = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.uint8)
        base = np.cumsum([0] + [p[0].size for p in parts[:-1]])
        starts = np.concatenate([p[1][:-1] + b for p, b in zip(parts, base)]) if parts else np.empty(0, np.int64)
        ends = np.concatenate([p[1][1:] + b for p, b in zip(parts, base)]) if parts else np.empty(0, np.int64)
        ns = np.concatenate([p[2] for p in parts]) if parts else np.empty(0, np.int32)
        counts = np.concatenate([p[3] for p in parts]) if parts else np.empty(0, np.int64)
        dfs = np.concatenate([p[4] for p in parts]) if parts else np.empty(0, np.int64)
        order = order_rows(counts, data, starts, ends)
    with stats.stage("strings"):
        out, out_off = host_spans(data, starts[order], ends[order] - starts[order])
        table = ngram_table(out, out_off, ns[order], counts[order], dfs[order])
    stats.counters["rows"] = table.num_rows
    return NgramResult(table, stats)


def _finish_on_host(moved, rest, backend, cfg):
    """``moved`` (the device rows of the batches so far) then the batches ``rest`` through
    the host-table path, combined in that order and finished as on the CPU."""
    from engine.ngrams.job import combine, finish, map_partition
    rows = len(moved)
    partial = combine([moved, map_partition(rest, backend, cfg)])
    partial.stats.counters["device_rows_moved_to_host"] = rows
    return finish(partial, cfg)
