"""The co-occurrence job on a GPU, device-resident from the tokenizer to the output rows.

:func:`run_on_device` is what :func:`engine.cooc.run` does on a GPU backend in one process.

Pass 1: per batch the tokens are counted by key on the device (stable sort + run lengths:
occurrences, document frequencies, first document, the first occurrence's spelling
gathered there), the batch's run merged on the device into the type table (geometric
merges, as :mod:`engine.gpu.ngrams`), and the batch's token hashes and document offsets kept
on the device for pass 2.  The vocabulary is chosen there (``min_count``, the ``max_vocab``
most frequent, ties by term in code point order: :func:`engine.gpu.ngrams.string_order`);
term ids in the CPU's order.  Pass 2: token hashes to term ids (``kernels.cuda.cooc.lookup_ids``),
pairs by :class:`engine.cooc.backends.GPUPairs` (bounded chunks, sort + segmented sum, runs
merged on the device), the diagonal split off as document frequencies (document mode),
the marginals summed on the device (exact int64).  The result is a
:class:`engine.gpu.cooc_result.DeviceCoocResult`: its ``table(top=...)`` selects and orders the
rows on the device and brings back only those rows and the terms they name.

What crosses to the host (all through ``backend.to_host``, counted): the tokenizer's sizes
per document, scalars (sizes, the top's threshold), and what each output is made of
(:mod:`engine.gpu.cooc_result`): for ``--top`` the output rows with their terms (on 357 KB of
text, ``cooc --top 1000``: 13 kB, 3.7 % of the text; it was 1.47 MB, every distinct pair);
for ``associates`` the asked term's rows (ranked on the device) and the terms they name (top
10: 112 bytes; it was 1.23 MB); for the table of every row and the ``.npz`` the pairs in
narrowed columns, the spellings and margins (and term counts: .npz), 4.5 bytes a pair
(325 kB; it was 1.23 MB).  Rows are ordered on the host, where their measures are computed
again by the CPU kernel: CUDA's ``log`` may differ from the host's by an ulp, and the output
must be the CPU's bit for bit; the rows cross in any case.

Beyond the backend's memory budget (``--gpu-memory``) the device state moves to the host
and the job goes on by the host-table path of the job contract (as ``engine.gpu.ngrams``
does): in pass 1 the type table becomes a :class:`~engine.cooc.vocabulary.VocabPartial` and
the token hashes a host :class:`~engine.cooc.typetable.TokenCache`, the remaining batches are
counted by :class:`~engine.cooc.vocabulary.VocabConsumer`, the two partitions combined
exactly; in pass 2 the pair runs are merged into one sorted run on the host.  Same counts,
vocabulary and tables as the CPU backend (tests/sim).
"""
from __future__ import annotations

import numpy as np

from engine.gpu.arrays import gather_spans, offsets_of, segment_of
from engine.gpu.ngrams import _DeviceTable, string_order
from engine.stats import JobStats

__all__ = ["run_on_device", "DeviceVocabulary", "DevicePairs"]


class DeviceVocabulary:
    """The chosen terms on the device, by id: ``keys`` (uint64 token hash), ``counts``
    (int64), ``rank`` (int64, code point order), spellings ``sdata`` / ``soff``."""

    def __init__(self, keys, counts, rank, sdata, soff):
        self.keys, self.counts, self.rank, self.sdata, self.soff = keys, counts, rank, sdata, soff

    def __len__(self) -> int:
        return int(self.keys.size)

    def to_host(self, backend, stats):
        """The :class:`engine.cooc.vocabulary.Vocabulary` (every term to the host)."""
        from engine.cooc.vocabulary import Vocabulary
        from engine.gpu.cooc_result import strings_to_host
        return Vocabulary(strings_to_host(backend, self.sdata, self.soff), backend.to_host(self.keys),
                          backend.to_host(self.counts), backend.to_host(self.rank), stats)


class DevicePairs:
    """The counted pairs on the device: ``a <= b`` (int32, sorted by (a, b)), ``raw`` (int64
    weight units), the margins ``m`` (int64 by term id: marginals, or document frequencies)
    and ``t`` (T or N, a host int), ``doc_freq`` (device, document mode; else None)."""

    def __init__(self, a, b, raw, m, t: int, doc_freq):
        self.a, self.b, self.raw, self.m, self.t, self.doc_freq = a, b, raw, m, t, doc_freq


def _batch_types(be, toks, doc_base: int):
    """The type run of one batch: (distinct hashes sorted, occurrences, document frequencies,
    first document, spellings of the first occurrences, their offsets), on the device."""
    xp = be.xp
    h = toks.tok_hash
    n = int(h.size)
    o = xp.argsort(h, kind="stable")             # equal hashes in token order
    hs = h[o]
    first = xp.ones(n, dtype=bool)
    first[1:] = hs[1:] != hs[:-1]
    starts = xp.flatnonzero(first)
    ends = xp.concatenate([starts[1:], xp.full(1, n, np.int64)])
    tdoc = segment_of(xp, toks.doc_tok_offsets, n)[o]
    new_doc = first.copy()                       # a type's first token in each of its documents
    new_doc[1:] = first[1:] | (tdoc[1:] != tdoc[:-1])
    c = offsets_of(xp, new_doc.astype(np.int64))
    rep = o[starts]
    spell, soff = gather_spans(be, toks.norm, toks.tok_start[rep], toks.tok_len[rep])
    return hs[starts], ends - starts, c[ends] - c[starts], tdoc[starts] + doc_base, spell, soff


def choose_on_device(be, keys, counts, sdata, soff, min_count: int, max_vocab: int) -> DeviceVocabulary:
    """:func:`engine.cooc.vocabulary.choose_vocabulary` on the device: ``count >= min_count``,
    the ``max_vocab`` most frequent (ties at the cut by term), ids by (count desc, term)."""
    xp = be.xp
    lens = soff[1:] - soff[:-1]
    kept = xp.flatnonzero(counts >= min_count)
    if int(kept.size) > max_vocab:
        c = counts[kept]
        cut = xp.sort(c)[int(kept.size) - max_vocab]
        above, tied = kept[c > cut], kept[c == cut]
        need = max_vocab - int(above.size)
        tied = tied[string_order(be, sdata, soff[tied], lens[tied])[:need]]
        kept = xp.concatenate([above, tied])
    by_term = string_order(be, sdata, soff[kept], lens[kept])     # kept[by_term]: code point order
    order = by_term[xp.argsort(-counts[kept][by_term], kind="stable")]
    rank = xp.empty(int(kept.size), np.int64)
    rank[by_term] = xp.arange(int(kept.size), dtype=np.int64)
    chosen = kept[order]
    vdata, voff = gather_spans(be, sdata, soff[chosen], lens[chosen])
    return DeviceVocabulary(keys[chosen], counts[chosen], rank[order], vdata, voff)


def segment_sums(xp, labels, vals, n: int):
    """Sum of ``vals`` per label ``0 .. n - 1`` of the sorted ``labels`` (exact int64)."""
    c = offsets_of(xp, vals)
    at = xp.searchsorted(labels, xp.arange(n + 1, dtype=np.int64), side="left")
    return c[at[1:]] - c[at[:-1]]


def _over_budget(backend, nbytes: int) -> bool:
    budget = backend.memory_budget()
    return budget is not None and nbytes > budget


def _cache_bytes(cache) -> int:
    return sum(int(h.nbytes) + int(o.nbytes) for h, o in cache)


def run_on_device(batches, backend, cfg):
    """The :class:`engine.cooc.result.CoocResult` of ``batches`` computed on the GPU
    ``backend`` (see the module docstring): a :class:`DeviceCoocResult`, or past the memory
    budget the host result of the contract's steps."""
    from engine.text import tokenize
    stats = JobStats(job="cooc", backend=backend.describe())
    table = _DeviceTable(backend)
    cache: list = []                          # (token hashes, document token offsets) per batch
    it = iter(batches)
    spill = False
    with stats.stage("vocabulary"), backend.count_into(stats):
        for batch in it:
            toks = tokenize(batch, backend, cfg.text)
            if toks.n_tokens:
                table.add(_batch_types(backend, toks, stats.documents))
            cache.append((toks.tok_hash, toks.doc_tok_offsets))
            stats.documents += batch.n_docs
            stats.bytes += batch.n_bytes
            stats.tokens += toks.n_tokens
            del toks, batch
            if _over_budget(backend, table.nbytes + _cache_bytes(cache)):
                spill = True
                break
    if spill:
        return _finish_on_host(table, cache, it, backend, cfg, stats)
    with stats.stage("vocabulary"), backend.count_into(stats):
        keys, counts, _, _, sdata, soff = table.merged()
        del table
        vocab = choose_on_device(backend, keys, counts, sdata, soff, cfg.min_count, cfg.max_vocab)
        del keys, counts, sdata, soff
    stats.counters["vocabulary"] = len(vocab)
    return _pairs_on_device(cache, vocab, backend, cfg, stats)


def _pairs_on_device(cache, vocab: DeviceVocabulary, backend, cfg, stats):
    """Pass 2 over the device token cache (emptied as it goes), then the result."""
    from engine.cooc.backends import GPUPairs
    from engine.gpu.cooc_result import DeviceCoocResult
    xp = backend.xp
    wtab, divisor = cfg.weights() if not cfg.doc_mode else (None, 1)
    pairs = GPUPairs(backend)
    with stats.stage("pairs"), backend.count_into(stats):
        if len(vocab):
            o = xp.argsort(vocab.keys, kind="stable")
            sorted_keys, sorted_ids = vocab.keys[o], o.astype(np.int32)
            while cache:
                h, off = cache.pop(0)
                n = int(h.size)
                if n == 0:
                    continue
                ids = xp.empty(n, np.int32)
                backend.kernels.cooc.lookup_ids(n, sorted_keys, sorted_ids, h, ids)
                if cfg.doc_mode:
                    pairs.add_doc(ids, off)
                else:
                    pairs.add_window(ids, off, cfg.window, wtab)
                del h, off, ids
                if _over_budget(backend, pairs.nbytes + _cache_bytes(cache)):
                    pairs.spill()
        cache.clear()
    if pairs.spilled:
        return _pairs_finish_on_host(pairs, vocab, backend, cfg, stats, divisor)
    with stats.stage("pairs"), backend.count_into(stats):
        keys, vals = pairs.merged()
        a = (keys >> np.uint64(32)).astype(np.int32)
        b = (keys & np.uint64(0xFFFFFFFF)).astype(np.int32)
        del keys
    nt = len(vocab)
    with stats.stage("measures"), backend.count_into(stats):
        doc_freq = None
        if cfg.doc_mode:
            diag = a == b
            doc_freq = xp.zeros(nt, np.int64)
            doc_freq[a[diag]] = vals[diag]
            off_diag = xp.flatnonzero(~diag)
            a, b, vals = a[off_diag], b[off_diag], vals[off_diag]
            m, t = doc_freq, stats.documents
        else:   # m_a: the row sums of the symmetric matrix (a pair a, a adds 2 raw to m_a)
            by_b = xp.argsort(b, kind="stable")
            m = segment_sums(xp, a, vals, nt) + segment_sums(xp, b[by_b], vals[by_b], nt)
            t = 2 * int(backend.scalar(vals.sum())) if int(vals.size) else 0
    stats.counters["pairs"] = int(vals.size)
    return DeviceCoocResult(cfg, vocab, DevicePairs(a, b, vals, m, t, doc_freq), divisor, stats, backend)


def _pairs_finish_on_host(pairs, vocab, backend, cfg, stats, divisor):
    """Pass 2 spilled: the pairs (merged on the host) and the vocabulary finish on the host."""
    from engine.cooc.job import finish
    from engine.cooc.pairs import PairPartial
    with stats.stage("pairs"), backend.count_into(stats):
        keys, vals = pairs.host_run()
        host_vocab = vocab.to_host(backend, JobStats(job="cooc"))
    partial = PairPartial(np.zeros(0, np.int64), 0, keys, vals, divisor, stats)
    res = finish(partial, cfg, host_vocab)
    res.stats.counters["pair_spills"] = pairs.n_spills
    return res


def _finish_on_host(table, cache, rest, backend, cfg, stats):
    """Pass 1 past the budget: the type table and the token cache so far to the host (one
    partition), the batches ``rest`` counted by the host-table path (a second one); both
    combined in that order and finished by the contract's steps, as on the CPU."""
    from engine.cooc.job import finish
    from engine.cooc.pairs import combine, map_partition
    from engine.cooc.typetable import TokenCache
    from engine.cooc.vocabulary import VocabConsumer, VocabPartial, choose_vocabulary, combine_vocabulary
    xp = backend.xp
    first = TokenCache(cfg.cache_bytes)
    with stats.stage("vocabulary"), backend.count_into(stats):
        keys, counts, dfs, fdoc, sdata, soff = table.merged()
        moved = [backend.to_host(x) for x in (keys, counts, dfs, fdoc, sdata, soff)]
        for h, off in cache:   # a type number a token: the index of its hash in the moved table
            tt = xp.searchsorted(keys, h).astype(np.int32)
            first.add(backend.to_host(tt), np.ascontiguousarray(backend.to_host(off), np.int64))
        cache.clear()
    moved = VocabPartial(*moved, stats=stats)
    first.keys = moved.keys
    second = TokenCache(cfg.cache_bytes)
    try:
        consumer = VocabConsumer(backend, cfg, tokens=second)
        for batch in rest:
            consumer.add(batch)
        vocab = choose_vocabulary(combine_vocabulary([moved, consumer.partial()]), cfg)
        parts = [map_partition(c, backend, cfg, vocab) for c in (first, second)]
    finally:
        first.close()
        second.close()
    res = finish(combine(parts), cfg, vocab)
    res.stats.counters["device_types_moved_to_host"] = len(moved)
    return res
