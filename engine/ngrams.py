"""n-gram counting: word or character n-grams, term and document frequencies, top-k.

Data flow per batch: tokenize (backend) -> n-gram hashes (backend kernel) ->
counted by key.  On the CPU every occurrence goes straight into a host hash
table (kernels.cpu.count); on a GPU the batch is reduced on the device
(stable sort + run lengths) and only its distinct keys come back to be merged.
Strings are gathered once per distinct key, from its first occurrence in corpus
order, so every backend returns the same strings.  When the distinct keys pass
the memory budget, the table spills to disk by hash partition and the
partitions are merged at the end: results stay exact.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

import numpy as np
import pyarrow as pa

from engine.backend import get_backend
from engine.corpus import Batch, CorpusReader
from engine.text import ParameterError, TextOptions, tokenize

__all__ = ["NgramConfig", "KeyCounter", "count_ngrams", "count_batches", "parse_n", "parse_memory"]

BYTES_PER_ENTRY = 128     # table row at half load + string id + string bytes, on average
N_PARTITIONS = 16
MAX_N = 32


def parse_n(spec) -> tuple[int, int]:
    """``3`` -> (3, 3); ``"1-3"`` -> (1, 3)."""
    if isinstance(spec, tuple):
        lo, hi = spec
    else:
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(spec))
        if not m:
            raise ParameterError(f"--n must be an integer or a range like 1-3, got {spec!r}")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
    if not (1 <= lo <= hi <= MAX_N):
        raise ParameterError(f"--n must satisfy 1 <= low <= high <= {MAX_N}, got {spec!r}")
    return int(lo), int(hi)


def parse_memory(spec) -> int:
    """``"2GB"``, ``"512MB"``, ``1e9`` -> bytes."""
    if spec is None:
        try:
            import psutil
            total = psutil.virtual_memory().total
        except Exception:
            total = 8 << 30
        return max(256 << 20, total // 4)
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        value = int(spec)
    else:
        m = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?i?b?)?\s*", str(spec), re.I)
        if not m:
            raise ParameterError(f"--memory must be a size like 512MB or 4GB, got {spec!r}")
        unit = (m.group(2) or "b").lower().rstrip("b").rstrip("i")
        value = int(float(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[unit])
    if value < (1 << 20):
        raise ParameterError(f"--memory must be at least 1MB, got {spec!r}")
    return value


@dataclass(frozen=True)
class NgramConfig:
    n: tuple[int, int] = (1, 1)
    char: bool = False
    top: Optional[int] = None
    min_count: int = 1
    memory: Optional[int] = None
    text: TextOptions = field(default_factory=TextOptions)

    def __post_init__(self):
        object.__setattr__(self, "n", parse_n(self.n))
        if self.top is not None and (not isinstance(self.top, int) or self.top < 1):
            raise ParameterError(f"--top must be a positive integer, got {self.top!r}")
        if not isinstance(self.min_count, int) or self.min_count < 1:
            raise ParameterError(f"--min-count must be an integer >= 1, got {self.min_count!r}")
        object.__setattr__(self, "memory", parse_memory(self.memory))


@dataclass
class Rows:
    """Counted keys with their strings as spans ``data[starts[i]:ends[i]]``."""
    keys: np.ndarray
    counts: np.ndarray
    dfs: np.ndarray
    data: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    n: np.ndarray | None = None

    def take(self, idx) -> "Rows":
        return Rows(self.keys[idx] if self.keys.size else self.keys, self.counts[idx], self.dfs[idx], self.data, self.starts[idx],
                    self.ends[idx], None if self.n is None else self.n[idx])

    @staticmethod
    def concat(pieces: list["Rows"]) -> "Rows":
        """All rows of ``pieces`` (keys dropped: only counts, strings and orders are output)."""
        if all(p.data is pieces[0].data for p in pieces):  # one shared string store: no copy
            shift = [0] * len(pieces)
            data = pieces[0].data
        else:
            shift = np.cumsum([0] + [p.data.size for p in pieces[:-1]])
            data = np.concatenate([p.data for p in pieces])
        # keys are not needed once rows are selected: not concatenated
        return Rows(np.empty(0, np.uint64), np.concatenate([p.counts for p in pieces]),
                    np.concatenate([p.dfs for p in pieces]), data,
                    np.concatenate([p.starts + s for p, s in zip(pieces, shift)]),
                    np.concatenate([p.ends + s for p, s in zip(pieces, shift)]),
                    np.concatenate([p.n for p in pieces]))

    def ordered(self) -> np.ndarray:
        """Row order: count descending, then string ascending."""
        from kernels.cpu.sort import order_rows
        return order_rows(self.counts, self.data, self.starts, self.ends)


class StringStore:
    """Strings gathered for new keys, shared by the counters of one job (one copy at the end)."""

    def __init__(self):
        self.chunks: list[tuple[np.ndarray, np.ndarray]] = []
        self.n = 0
        self._final = None

    def add(self, data: np.ndarray, off: np.ndarray) -> int:
        """Append strings ``data[off[i]:off[i+1]]``; returns the id of the first."""
        base = self.n
        self.chunks.append((data, off))
        self.n += off.size - 1
        self._final = None
        return base

    def finalize(self) -> tuple[np.ndarray, np.ndarray]:
        """(data, offsets) of every string so far, string id i at ``data[off[i]:off[i+1]]``."""
        if self._final is None:
            if self.chunks:
                data = np.concatenate([c[0] for c in self.chunks])
                lens = np.concatenate([np.diff(c[1]) for c in self.chunks])
            else:
                data, lens = np.empty(0, np.uint8), np.empty(0, np.int64)
            off = np.zeros(lens.size + 1, np.int64)
            np.cumsum(lens, out=off[1:])
            self._final = (data, off)
        return self._final

    def clear(self) -> None:
        self.__init__()


class KeyCounter:
    """Exact counts and document frequencies of uint64 keys, with strings, bounded in memory."""

    def __init__(self, budget_entries: int, spill_root: Callable[[], Path], partitions: int | None = None,
                 store: StringStore | None = None):
        from kernels.cpu import count as kc
        self.kc = kc
        if partitions is None:
            import numba
            partitions = 1 << (max(1, numba.get_num_threads()).bit_length() - 1)
        self.P = partitions
        self.part_shift = 64 - (self.P.bit_length() - 1) if self.P > 1 else 63
        self.budget = max(1024, int(budget_entries))
        self._spill_root = spill_root
        self.spill_dir: Path | None = None
        self.n_spills = 0
        self._alloc(1 << 12)
        self.store = store if store is not None else StringStore()
        self._own_store = store is None

    def _alloc(self, cap: int) -> None:
        self.table = np.zeros((self.P, cap, 4), dtype=np.int64)
        self.sid = np.full((self.P, cap), -1, dtype=np.int64)
        self.sizes = np.zeros(self.P, dtype=np.int64)

    @property
    def size(self) -> int:
        return int(self.sizes.sum())

    @property
    def max_size(self) -> int:
        return self.table.shape[1] // 2

    def _grow(self, cap: int | None = None) -> None:
        cap = cap or self.table.shape[1] * 2
        table = np.zeros((self.P, cap, 4), dtype=np.int64)
        sid = np.full((self.P, cap), -1, dtype=np.int64)
        self.kc.rehash(self.table, self.sid, table, sid)
        self.table, self.sid = table, sid

    def _strings(self, p, slots, refs, gather) -> None:
        if slots.size == 0:
            return
        data, off = gather(refs)
        base = self.store.add(data, off)
        self.sid[p, slots] = np.arange(base, base + slots.size)

    def _insert(self, keys, item_off, doc_base, counts, dfs, aggregated, gather) -> None:
        n = keys.size
        # grow once, ahead, for a quarter of the keys being new (instead of doubling many times)
        want = int(self.sizes.max()) + min(n // 4, self.budget) // self.P + 1
        if want > self.max_size:
            self._grow(1 << int(2 * want - 1).bit_length())
        if self.P > 1:   # each partition's keys, in corpus order
            order = np.empty(n, np.int32 if n < 2**31 else np.int64)
            bounds = np.empty(self.P + 1, np.int64)
            self.kc.split_by_part(keys, self.part_shift, self.P, order, bounds)
            starts, ends = bounds[:-1].copy(), bounds[1:].copy()
        else:
            order = np.empty(0, np.int32)
            starts, ends = np.zeros(1, np.int64), np.full(1, n, np.int64)
        while True:
            room = int(self.max_size - self.sizes.max())
            if room <= 0:
                self._grow()
                continue
            cap_new = min(n, room)
            slots = np.empty((self.P, cap_new), np.int64)
            refs = np.empty((self.P, cap_new), np.int64)
            n_new = np.zeros(self.P, np.int64)
            self.kc.insert(self.table, keys, order, item_off, doc_base, counts, dfs, aggregated, starts, ends,
                           self.max_size, self.sizes, slots, refs, n_new)
            for p in range(self.P):
                self._strings(p, slots[p, :n_new[p]], refs[p, :n_new[p]], gather)
            if (starts >= ends).all():
                return
            self._grow()

    def add_occurrences(self, keys: np.ndarray, item_off: np.ndarray, doc_base: int, gather) -> None:
        """Count one key per occurrence, in corpus order; document d's are
        ``keys[item_off[d]:item_off[d+1]]`` and its global index is ``doc_base + d``."""
        e = np.empty(0, np.int64)
        self._insert(keys, item_off, doc_base, e, e, False, gather)
        self._maybe_spill()

    def add_aggregated(self, keys, counts, dfs, gather) -> None:
        """Add rows already reduced per batch (a batch never splits a document)."""
        self._insert(keys, np.zeros(1, np.int64), 0, counts, dfs, True, gather)
        self._maybe_spill()

    # -- contents -------------------------------------------------------------------------
    def _contents(self) -> "Rows":
        """The occupied slots as Rows (strings as spans of the gathered string bytes)."""
        keys, counts, dfs, sid = self.kc.collect(self.table, self.sid)
        data, off = self.store.finalize()
        return Rows(keys, counts, dfs, data, off[sid], off[sid + 1])

    def _maybe_spill(self) -> None:
        if self._own_store and self.size > self.budget:
            self._spill()
            self.store.clear()

    def _spill(self) -> None:
        """Write the table (with strings) to disk by hash partition and empty it; the
        string store is cleared by its owner once every counter sharing it has spilled."""
        from kernels.cpu.count import gather_spans
        if self.spill_dir is None:
            self.spill_dir = self._spill_root()
        r = self._contents()
        part = (r.keys >> np.uint64(60)).astype(np.int64)
        order = np.argsort(part, kind="stable")
        bounds = np.searchsorted(part[order], np.arange(N_PARTITIONS + 1))
        for p in range(N_PARTITIONS):
            sel = order[bounds[p]:bounds[p + 1]]
            if sel.size == 0:
                continue
            data, off = gather_spans(r.data, r.starts[sel], r.ends[sel] - r.starts[sel])
            np.savez(self.spill_dir / f"p{p:02d}-{self.n_spills:05d}.npz",
                     keys=r.keys[sel], counts=r.counts[sel], dfs=r.dfs[sel], sdata=data, soff=off)
        self.n_spills += 1
        self._alloc(1 << 12)

    def partitions(self):
        """Yield Rows, every key exactly once (one piece, or one per spill partition)."""
        if self.n_spills == 0:
            yield self._contents()
            return
        if self.size:
            self._spill()
        for p in range(N_PARTITIONS):
            files = sorted(self.spill_dir.glob(f"p{p:02d}-*.npz"))
            if not files:
                continue
            parts = [dict(np.load(f)) for f in files]  # spill order = corpus order
            keys = np.concatenate([x["keys"] for x in parts])
            counts = np.concatenate([x["counts"] for x in parts])
            dfs = np.concatenate([x["dfs"] for x in parts])
            lens = np.concatenate([np.diff(x["soff"]) for x in parts])
            sdata = np.concatenate([x["sdata"] for x in parts])
            off = np.zeros(lens.size + 1, np.int64)
            np.cumsum(lens, out=off[1:])
            order = np.argsort(keys, kind="stable")
            sk = keys[order]
            first = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
            c = np.add.reduceat(counts[order], first)
            d = np.add.reduceat(dfs[order], first)
            src = order[first]  # first spill holding the key: its first occurrence
            yield Rows(sk[first], c, d, sdata, off[src], off[src + 1])

    def close(self) -> None:
        if self.spill_dir is not None:
            shutil.rmtree(self.spill_dir, ignore_errors=True)
            self.spill_dir = None


def _reduce_on_device(xp, keys, docs):
    """Distinct keys of one batch with counts, doc frequencies and first occurrence."""
    n = keys.size
    if n == 0:
        e = xp.empty(0, np.int64)
        return xp.empty(0, np.uint64), e, e, e
    # stable, so the first index of a run is the key's first occurrence (cupy's argsort
    # is always stable and takes no ``kind``)
    order = np.argsort(keys, kind="stable") if xp is np else xp.argsort(keys)
    sk = keys[order]
    sd = docs[order]
    new_key = xp.empty(n, dtype=bool)
    new_key[0] = True
    new_key[1:] = sk[1:] != sk[:-1]
    new_doc = new_key.copy()
    new_doc[1:] |= sd[1:] != sd[:-1]
    starts = xp.flatnonzero(new_key)
    ends = xp.concatenate([starts[1:], xp.asarray([n], dtype=starts.dtype)])
    cs = xp.cumsum(new_doc)
    dfs = cs[ends - 1] - cs[starts] + 1
    first = order[starts]
    return sk[starts], (ends - starts).astype(np.int64), dfs.astype(np.int64), first.astype(np.int64)


def _doc_of_items(xp, doc_ids, cnt, off, m):
    """Global document index of each of the ``m`` items (``cnt`` per document)."""
    if xp is np:
        return np.repeat(doc_ids, cnt)
    # cupy.repeat takes no array of repeats: locate each item in the offsets instead
    return doc_ids[xp.searchsorted(off, xp.arange(m), side="right") - 1]


class _Spill:
    def __init__(self):
        self.root: Path | None = None

    def __call__(self) -> Path:
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="corpus-ngrams-"))
        d = Path(tempfile.mkdtemp(dir=self.root))
        return d

    def close(self):
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class NgramStats:
    documents: int = 0
    tokens: int = 0
    occurrences: dict = field(default_factory=dict)
    distinct: dict = field(default_factory=dict)
    spills: int = 0
    slow_docs: int = 0


def count_batches(batches: Iterable[Batch], backend, cfg: NgramConfig,
                  stats: NgramStats | None = None) -> pa.Table:
    """Count n-grams over ``batches`` on ``backend``; returns the result table."""
    from kernels.cpu.count import gather_spans, gather_word_ngrams
    stats = stats if stats is not None else NgramStats()
    lo, hi = cfg.n
    spill = _Spill()
    budget = cfg.memory // BYTES_PER_ENTRY
    store = StringStore()
    counters = {n: KeyCounter(budget, spill, store=store) for n in range(lo, hi + 1)}
    xp = backend.xp
    on_host = backend.name == "cpu"
    buffers: dict = {}

    def buf(name, size, dtype):
        # n-gram arrays are consumed before the next order or batch: reuse one buffer
        # (fresh memory costs a page fault per 4 KB page, ~1 ms per MB on a VM)
        b = buffers.get(name)
        if b is None or b.size < size:
            b = buffers[name] = xp.empty(max(size, int(1.25 * (b.size if b is not None else 0))), dtype)
        return b[:size]

    try:
        for batch in batches:
            toks = tokenize(batch, backend, cfg.text)
            stats.documents += batch.n_docs
            stats.tokens += toks.n_tokens
            stats.slow_docs += toks.slow_docs
            doc_ids = xp.arange(batch.n_docs, dtype=np.int64) + batch.doc_base
            for n in range(lo, hi + 1):
                if cfg.char:
                    nch = backend.codepoint_counts(toks.norm, toks.norm_offsets)
                    cnt = xp.maximum(nch - n + 1, 0)
                else:
                    cnt = xp.maximum(xp.diff(toks.doc_tok_offsets) - n + 1, 0)
                off = xp.zeros(batch.n_docs + 1, dtype=np.int64)
                xp.cumsum(cnt, out=off[1:])
                m = int(off[-1])
                keys = buf("keys", m, np.uint64)
                if cfg.char:
                    start, length = buf("start", m, np.int64), buf("length", m, np.int32)
                    backend.char_ngrams(toks.norm, toks.norm_offsets, n, off, keys, start, length)
                else:
                    first_tok = buf("first", m, np.int64)
                    backend.word_ngrams(toks.tok_hash, toks.doc_tok_offsets, n, off, keys, first_tok)
                stats.occurrences[n] = stats.occurrences.get(n, 0) + m
                if on_host:
                    if cfg.char:
                        gather = lambda refs: gather_spans(toks.norm, start[refs], length[refs])
                    else:
                        gather = lambda refs: gather_word_ngrams(toks.norm, toks.tok_start, toks.tok_len,
                                                                 first_tok[refs], n)
                    counters[n].add_occurrences(keys, off, batch.doc_base, gather)
                else:
                    uk, c, d, first = _reduce_on_device(xp, keys, _doc_of_items(xp, doc_ids, cnt, off, m))
                    if cfg.char:
                        fs, fl = backend.to_host(start[first]), backend.to_host(length[first])
                        gather = lambda refs: gather_spans(toks.host("norm"), fs[refs], fl[refs])
                    else:
                        ft = backend.to_host(first_tok[first])
                        gather = lambda refs: gather_word_ngrams(toks.host("norm"), toks.host("tok_start"),
                                                                 toks.host("tok_len"), ft[refs], n)
                    counters[n].add_aggregated(backend.to_host(uk), backend.to_host(c),
                                               backend.to_host(d), gather)
            # one budget for all orders: past it every counter spills and the shared strings go
            if sum(c.size for c in counters.values()) > budget:
                for c in counters.values():
                    c._spill()
                store.clear()
        return _result(counters, cfg, stats)
    finally:
        for c in counters.values():
            c.close()
        spill.close()


def _select(rows: Rows, cfg: NgramConfig, n: int) -> Rows | None:
    keep = rows.counts >= cfg.min_count
    if cfg.top is not None and keep.sum() > cfg.top:
        from kernels.cpu.sort import kth_largest
        keep &= rows.counts >= kth_largest(rows.counts[keep], cfg.top)  # boundary ties: see ordering
    if keep.all():
        out = rows  # nothing filtered: no copy
    else:
        idx = np.flatnonzero(keep)
        if idx.size == 0:
            return None
        out = rows.take(idx)
    out.n = np.full(out.counts.size, n, np.int32)
    return out


def _result(counters, cfg: NgramConfig, stats: NgramStats) -> pa.Table:
    from kernels.cpu.count import gather_spans
    pieces = []
    for n, counter in counters.items():
        parts = [r for r in (_select(p, cfg, n) for p in counter.partitions()) if r is not None]
        stats.distinct[n] = counter.size if counter.n_spills == 0 else None
        stats.spills += counter.n_spills
        if parts:
            rows = Rows.concat(parts)
            if cfg.top is not None and rows.counts.size > cfg.top:
                rows = rows.take(rows.ordered()[:cfg.top])
            pieces.append(rows)
    if not pieces:
        return pa.table({"ngram": pa.array([], pa.string()), "n": pa.array([], pa.int32()),
                         "count": pa.array([], pa.int64()), "doc_freq": pa.array([], pa.int64())})
    rows = Rows.concat(pieces)
    order = rows.ordered()
    data, off = gather_spans(rows.data, rows.starts[order], rows.ends[order] - rows.starts[order])
    if data.size < 2**31:  # Arrow's plain string type (int32 offsets), what readers expect
        ngram = pa.StringArray.from_buffers(order.size, pa.py_buffer(off.astype(np.int32)), pa.py_buffer(data))
    else:
        ngram = pa.LargeStringArray.from_buffers(order.size, pa.py_buffer(off), pa.py_buffer(data))
    return pa.table({"ngram": ngram, "n": pa.array(rows.n[order]),
                     "count": pa.array(rows.counts[order]), "doc_freq": pa.array(rows.dfs[order])})


def count_ngrams(paths, n=(1, 1), char: bool = False, top: int | None = None, min_count: int = 1,
                 text: TextOptions = TextOptions(), device: str = "auto", memory=None,
                 stats: NgramStats | None = None, **reader_kwargs) -> pa.Table:
    """Count word (or ``char``) n-grams of the corpus at ``paths``.

    Parameters
    ----------
    paths : file/folder paths (see engine.corpus.CorpusReader), or an iterable of Batch.
    n : an int or (low, high) or "low-high".
    top : keep the ``top`` most frequent per n.
    min_count : drop n-grams seen fewer times.
    text : normalisation and filters (stop words, accents, minimum token length).
    device : "auto", "cpu" or "gpu".
    memory : bound on the counting tables ("4GB"); past it, partial counts spill to disk.

    Returns
    -------
    pyarrow.Table with columns ngram, n, count, doc_freq, ordered by count
    descending then ngram ascending (``.to_pandas()`` for a DataFrame).
    """
    cfg = NgramConfig(n=parse_n(n) if not isinstance(n, int) else (n, n), char=char, top=top,
                      min_count=min_count, memory=memory, text=text)
    backend = get_backend(device)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    batches = paths if paths and isinstance(paths[0], Batch) else CorpusReader(paths, **reader_kwargs)
    return count_batches(batches, backend, cfg, stats)
