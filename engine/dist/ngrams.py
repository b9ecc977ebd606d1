"""The n-gram job on a cluster: count per partition, shuffle (n, key) rows by hash bucket,
reducers sum their bucket in partition order and keep what can reach the output (``top``,
``min_count``: exact, the output order being total), the client orders the rest.

Shuffled per row: key, n, count, doc_freq, first occurrence and the row's string (the
string of the key's earliest occurrence in its partition: the reducer keeps the earliest
partition's, as one process would)."""
from __future__ import annotations

import numpy as np

from engine.dist.shuffle import bucket_order, take_strings
from engine.ngrams.partial import NgramPartial, _concat
from engine.stats import JobStats

__all__ = ["run_ngrams"]


def _rows(p: NgramPartial, rows: np.ndarray) -> NgramPartial:
    data, off = take_strings(p.data, p.offsets, rows)
    return NgramPartial(p.keys[rows], p.n[rows], p.counts[rows], p.doc_freq[rows], p.first[rows],
                        data, off, JobStats(job="ngrams"))


def narrowed(p: NgramPartial, bits: int) -> NgramPartial:
    """Test hook: ``p`` with keys cut to their low ``bits``; rows that now share (n, key)
    summed, the string of the earliest first occurrence kept (as one counter would)."""
    keys = p.keys & np.uint64((1 << bits) - 1)
    order = np.lexsort((p.first, keys, p.n))
    sk, sn = keys[order], p.n[order]
    starts = np.flatnonzero(np.r_[True, (sk[1:] != sk[:-1]) | (sn[1:] != sn[:-1])]) if sk.size else \
        np.empty(0, np.int64)
    src = order[starts]
    data, off = take_strings(p.data, p.offsets, src)
    if not sk.size:
        return p
    return NgramPartial(sk[starts], sn[starts], np.add.reduceat(p.counts[order], starts),
                        np.add.reduceat(p.doc_freq[order], starts), p.first[src], data, off, p.stats)


def count_partition(reader, backend: str, cfg, buckets: int, narrow: int):
    """Map: the partition's partial cut into ``buckets`` pieces (stats apart)."""
    from engine.ngrams import map_partition
    p = map_partition(reader, backend, cfg)
    if narrow:   # test hook: few key bits, so that different strings collide
        p = narrowed(p, narrow)
    order, bounds = bucket_order(p.keys, buckets)
    return p.stats, [_rows(p, order[bounds[k]:bounds[k + 1]]) for k in range(buckets)]


def reduce_bucket(cfg, *pieces: NgramPartial):
    """Reduce: the bucket's pieces (in partition order) summed; the rows that can reach the
    output; the distinct (n, key) per n before selection."""
    from engine.ngrams import combine
    from engine.ngrams.job import _selected
    part = combine(list(pieces))
    distinct = {n: int(np.count_nonzero(part.n == n)) for n in cfg.orders}
    sel = _selected(part, cfg)
    return (part if sel is None else _rows(part, np.sort(sel))), distinct


def run_ngrams(run, specs, options, backend: str, cfg, buckets: int, progress):
    """The combined partial's result (:class:`NgramResult`) and the partitions' :class:`Meta`."""
    from engine.ngrams import finish
    maps = [run.submit_map("map", s, count_partition, options, backend, cfg, buckets, run.hooks.narrow)
            for s in specs]
    pieces = [run.pieces("map", f, s.index, buckets) for f, s in zip(maps, specs)]
    metas = run.metas("map", maps, progress)
    run.phase("map")
    reduced = [run.submit("reduce", b, reduce_bucket, cfg, *[pieces[i][b] for i in range(len(specs))])
               for b in range(buckets)]
    out = run.gather(reduced)
    run.phase("reduce")
    stats = JobStats(job="ngrams")
    for m in metas:   # partition order: skip locations as one reader
        stats.merge(m.stats)
    parts = [p for p, _ in out if len(p)]
    run.gather_bytes += sum(p.nbytes for p in parts)
    partial = _concat(parts, stats) if parts else NgramPartial.empty(stats)
    result = finish(partial, cfg)
    for n in cfg.orders:   # finish saw the selected rows only
        result.stats.counters[f"distinct_n{n}"] = sum(d[n] for _, d in out)
    run.phase("finish")
    return result, metas
