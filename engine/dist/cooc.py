"""The co-occurrence job on a cluster, in its two passes.

Pass 1: term counts per partition, hash-bucketed by term key; reducers combine their
bucket in partition order and keep their local ``max_vocab`` best (``min_count`` first;
the order count desc, term asc is total, so the union of local bests holds the global
ones); the client chooses the vocabulary exactly as one process.  The vocabulary goes to
the workers as a task result (recomputed, not lost, if its worker dies).

Pass 2: pair counts per partition, from the token cache that pass 1 left on its worker (the
pass-2 task is sent there; on another worker, or after that worker died, the partition is
read and tokenised again: same counts); the dense block of the top terms is summed by one reducer,
the sparse pairs are cut by ranges of their first term id, so that the reducers' sorted
outputs concatenate into the sorted whole.  Integer sums: exact in any order.  The float
measures are computed on the client.
"""
from __future__ import annotations

import numpy as np

from engine.cooc.pairs import PairPartial
from engine.cooc.vocabulary import VocabPartial
from engine.dist.shuffle import bucket_order, take_strings
from engine.stats import JobStats

__all__ = ["run_cooc"]


def _vocab_rows(p: VocabPartial, rows: np.ndarray, documents: int) -> VocabPartial:
    s, off = take_strings(p.strings, p.offsets, rows)
    # the partition's document count: combine_vocabulary shifts first_doc by it
    return VocabPartial(p.keys[rows], p.counts[rows], p.doc_freq[rows], p.first_doc[rows], s, off,
                        JobStats(job="cooc", documents=documents))


# token caches of pass 1 on this worker, by (run token, partition): pass 2 takes them
_CACHES: dict = {}


def vocab_partition(reader, backend: str, cfg, buckets: int, run_token: str, index: int):
    """Pass-1 map: the partition's term counts in ``buckets`` pieces; its tokens kept here."""
    from engine.cooc import TokenCache, map_vocabulary
    cache = TokenCache(cfg.cache_bytes)
    try:
        p = map_vocabulary(reader, backend, cfg, tokens=cache)
    except BaseException:
        cache.close()
        raise
    old = _CACHES.pop((run_token, index), None)   # a rerun of this task on this worker
    if old is not None:
        old.close()
    _CACHES[(run_token, index)] = cache
    order, bounds = bucket_order(p.keys, buckets)
    return p.stats, [_vocab_rows(p, order[bounds[k]:bounds[k + 1]], p.stats.documents) for k in range(buckets)]


def vocab_reduce(cfg, *pieces: VocabPartial) -> VocabPartial:
    """Pass-1 reduce: the bucket's terms combined, then its local ``max_vocab`` best."""
    from engine.cooc import choose_vocabulary, combine_vocabulary
    v = choose_vocabulary(combine_vocabulary(list(pieces)), cfg)
    enc = [t.encode("utf-8") for t in v.terms]
    off = np.zeros(len(enc) + 1, np.int64)
    np.cumsum([len(e) for e in enc], out=off[1:])
    zeros = np.zeros(len(enc), np.int64)
    return VocabPartial(v.keys, v.counts, zeros, zeros.copy(), np.frombuffer(b"".join(enc), np.uint8).copy(),
                        off, JobStats(job="cooc"))


def _value(x):
    return x


def drop_caches(run_token: str) -> int:
    """Close the token caches of run ``run_token`` left on this worker (a failed run)."""
    keys = [k for k in _CACHES if k[0] == run_token]
    for k in keys:
        _CACHES.pop(k).close()
    return len(keys)


def pairs_partition(reader, backend: str, cfg, vocabulary, buckets: int, run_token: str, index: int):
    """Pass-2 map: the partition's pair counts: its dense block, then ``buckets`` pieces of
    sparse pairs by ranges of the first term id."""
    from engine.cooc import map_partition
    cache = _CACHES.pop((run_token, index), None)
    p = map_partition(cache if cache is not None else reader, backend, cfg, vocabulary)
    p.stats.counters["dist_token_cache_hits"] = int(cache is not None)
    edges = np.linspace(0, len(vocabulary), buckets + 1).astype(np.uint64) << np.uint64(32)
    cuts = np.searchsorted(p.keys, edges[1:-1])
    bounds = np.concatenate([[0], cuts, [p.keys.size]]).astype(np.int64)
    empty = np.zeros(0, np.int64)
    sparse = [PairPartial(empty, 0, p.keys[bounds[k]:bounds[k + 1]], p.values[bounds[k]:bounds[k + 1]],
                          p.divisor, JobStats(job="cooc")) for k in range(buckets)]
    return p.stats, [(p.dense, p.k, p.divisor)] + sparse


def dense_reduce(*blocks):
    """The dense blocks summed (partition order; integers)."""
    ks = {k for _, k, _ in blocks}
    if len(ks) != 1:
        raise ValueError(f"partitions with different dense blocks ({sorted(ks)})")
    total = blocks[0][0].copy()
    for d, _, _ in blocks[1:]:
        total += d
    return total, blocks[0][1], blocks[0][2]


def pairs_reduce(*pieces: PairPartial):
    from engine.cooc import combine
    c = combine(list(pieces))
    return c.keys, c.values


def run_cooc(run, specs, options, backend: str, cfg, buckets: int, progress):
    """The :class:`CoocResult` of the two passes and the partitions' :class:`Meta`; the token
    caches left on the workers are closed whatever happens."""
    try:
        return _run_cooc(run, specs, options, backend, cfg, buckets, progress)
    finally:
        try:
            run.client.run(drop_caches, run.token)
        except Exception:   # a worker gone: its caches went with it
            pass


def _run_cooc(run, specs, options, backend: str, cfg, buckets: int, progress):
    from engine.cooc import choose_vocabulary, combine_vocabulary, finish
    n = len(specs)
    maps = [run.submit_map("vocab", s, vocab_partition, options, backend, cfg, buckets, run.token, s.index)
            for s in specs]
    pieces = [run.pieces("vocab", f, s.index, buckets) for f, s in zip(maps, specs)]
    metas = run.metas("vocab", maps, progress)
    run.phase("vocab_map")
    reduced = run.gather([run.submit("vocab-reduce", b, vocab_reduce, cfg, *[pieces[i][b] for i in range(n)])
                          for b in range(buckets)])
    stats = JobStats(job="cooc")
    for m in metas:
        stats.merge(m.stats)
    best = combine_vocabulary(reduced)   # disjoint keys: a concatenation
    run.gather_bytes += sum(r.keys.nbytes + r.counts.nbytes + r.strings.nbytes for r in reduced)
    best.stats = stats
    vocabulary = choose_vocabulary(best, cfg)
    run.phase("vocab_reduce")
    vfut = run.submit("vocabulary", 0, _value, vocabulary)
    where = run.client.who_has(maps)   # pass 2 where pass 1 left the partition's tokens
    maps2 = [run.submit_map("pairs", s, pairs_partition, options, backend, cfg, vfut, buckets, run.token, s.index,
                            workers=list(where.get(f.key, ())) or None)
             for s, f in zip(specs, maps)]
    pieces2 = [run.pieces("pairs", f, s.index, buckets + 1) for f, s in zip(maps2, specs)]
    metas2 = run.metas("pairs", maps2)
    run.phase("pairs_map")
    dense = run.submit("dense-reduce", 0, dense_reduce, *[pieces2[i][0] for i in range(n)])
    sparse = [run.submit("pairs-reduce", b, pairs_reduce, *[pieces2[i][b + 1] for i in range(n)])
              for b in range(buckets)]
    (block, k, divisor), *parts = run.gather([dense] + sparse)
    run.gather_bytes += block.nbytes + sum(a.nbytes + b.nbytes for a, b in parts)
    pstats = JobStats(job="cooc")
    for m in metas2:
        pstats.merge(m.stats)
    keys = np.concatenate([a for a, _ in parts]) if parts else np.empty(0, np.uint64)
    vals = np.concatenate([b for _, b in parts]) if parts else np.empty(0, np.int64)
    run.phase("pairs_reduce")
    result = finish(PairPartial(block, k, keys, vals, divisor, pstats), cfg, vocabulary)
    run.phase("finish")
    return result, metas
