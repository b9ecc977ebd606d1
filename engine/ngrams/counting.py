"""Exact counting of uint64 keys, bounded in memory: the host hash table and its spill.

On the CPU every occurrence goes straight into a host hash table (kernels.cpu.count); on a
GPU a batch is reduced on the device (stable sort + run lengths, :func:`reduce_on_device`)
and only its distinct keys come back to be merged.  Each new key gets its string (and the
ordinal of its first occurrence) once, from its first occurrence in corpus order, so every
backend returns the same strings.  When the distinct keys pass the memory budget, the table
spills to disk by hash partition and the partitions are merged at the end: counts stay exact.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["Rows", "StringStore", "KeyCounter", "SpillFolders", "reduce_on_device",
           "doc_of_items", "N_PARTITIONS"]

N_PARTITIONS = 16   # spill files per spill, by the key's top 4 bits


@dataclass
class Rows:
    """Counted keys with their strings as spans ``data[starts[i]:ends[i]]``.

    ``first`` is the ordinal of each key's first occurrence (see ``engine.ngrams.partial``),
    ``sid`` its id in the :class:`StringStore` (None once read back from a spill).
    """
    keys: np.ndarray
    counts: np.ndarray
    dfs: np.ndarray
    data: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    first: np.ndarray
    sid: np.ndarray | None = None


class StringStore:
    """Strings (and first-occurrence ordinals) of new keys, shared by the counters of one
    job; string id i is the i-th added. One copy at the end (:meth:`finalize`)."""

    def __init__(self):
        self.chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.n = 0
        self._final = None

    def add(self, data: np.ndarray, off: np.ndarray, first: np.ndarray | None = None) -> int:
        """Append strings ``data[off[i]:off[i+1]]`` first seen at ``first[i]`` (-1 when not
        given); returns the id of the first."""
        base = self.n
        first = np.full(off.size - 1, -1, np.int64) if first is None else first
        self.chunks.append((data, off, first))
        self.n += off.size - 1
        self._final = None
        return base

    def finalize(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(data, offsets, first) of every string so far: string i is ``data[off[i]:off[i+1]]``."""
        if self._final is None:
            if self.chunks:
                data = np.concatenate([c[0] for c in self.chunks])
                lens = np.concatenate([np.diff(c[1]) for c in self.chunks])
                first = np.concatenate([c[2] for c in self.chunks])
            else:
                data, lens, first = np.empty(0, np.uint8), np.empty(0, np.int64), np.empty(0, np.int64)
            off = np.zeros(lens.size + 1, np.int64)
            np.cumsum(lens, out=off[1:])
            self._final = (data, off, first)
        return self._final

    def clear(self) -> None:
        self.__init__()


class KeyCounter:
    """Exact counts and document frequencies of uint64 keys, with strings, bounded in memory.

    ``gather(refs)`` (given to the ``add_*`` methods) returns the strings of the new keys
    ``refs`` as ``(data, offsets)`` or ``(data, offsets, first_ordinals)``.
    """

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
        got = gather(refs)
        base = self.store.add(*got[:3])
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
    def _contents(self) -> Rows:
        """The occupied slots as Rows (strings as spans of the gathered string bytes)."""
        keys, counts, dfs, sid = self.kc.collect(self.table, self.sid)
        data, off, first = self.store.finalize()
        return Rows(keys, counts, dfs, data, off[sid], off[sid + 1], first[sid], sid)

    def _maybe_spill(self) -> None:
        if self._own_store and self.size > self.budget:
            self.spill()
            self.store.clear()

    def spill(self) -> None:
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
            np.savez(self.spill_dir / f"p{p:02d}-{self.n_spills:05d}.npz", keys=r.keys[sel],
                     counts=r.counts[sel], dfs=r.dfs[sel], first=r.first[sel], sdata=data, soff=off)
        self.n_spills += 1
        self._alloc(1 << 12)

    def partitions(self):
        """Yield Rows, every key exactly once (one piece, or one per spill partition)."""
        if self.n_spills == 0:
            yield self._contents()
            return
        if self.size:
            self.spill()
        for p in range(N_PARTITIONS):
            files = sorted(self.spill_dir.glob(f"p{p:02d}-*.npz"))
            if files:
                yield _merge_spill_files(files)

    def close(self) -> None:
        if self.spill_dir is not None:
            shutil.rmtree(self.spill_dir, ignore_errors=True)
            self.spill_dir = None


def _merge_spill_files(files: list[Path]) -> Rows:
    """The keys of one spill partition, summed over its files (in spill order = corpus order)."""
    parts = [dict(np.load(f)) for f in files]
    keys = np.concatenate([x["keys"] for x in parts])
    lens = np.concatenate([np.diff(x["soff"]) for x in parts])
    off = np.zeros(lens.size + 1, np.int64)
    np.cumsum(lens, out=off[1:])
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    first_of_run = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
    counts = np.add.reduceat(np.concatenate([x["counts"] for x in parts])[order], first_of_run)
    dfs = np.add.reduceat(np.concatenate([x["dfs"] for x in parts])[order], first_of_run)
    src = order[first_of_run]   # the first spill holding the key: its first occurrence
    firsts = np.concatenate([x["first"] for x in parts])[src]
    return Rows(sk[first_of_run], counts, dfs, np.concatenate([x["sdata"] for x in parts]),
                off[src], off[src + 1], firsts)


def reduce_on_device(xp, keys, docs):
    """Distinct keys of one batch with counts, doc frequencies and first occurrence."""
    n = keys.size
    if n == 0:
        e = xp.empty(0, np.int64)
        return xp.empty(0, np.uint64), e, e, e
    # stable, so the first index of a run is the key's first occurrence (CuPy >= 12 takes
    # kind="stable", its only sort; numpy needs it asked for)
    order = xp.argsort(keys, kind="stable")
    sk = keys[order]
    sd = docs[order]
    new_key = xp.empty(n, dtype=bool)
    new_key[0] = True
    new_key[1:] = sk[1:] != sk[:-1]
    new_doc = new_key.copy()
    new_doc[1:] |= sd[1:] != sd[:-1]
    starts = xp.flatnonzero(new_key)
    ends = xp.concatenate([starts[1:], xp.full(1, n, dtype=starts.dtype)])
    cs = xp.cumsum(new_doc)
    dfs = cs[ends - 1] - cs[starts] + 1
    first = order[starts]
    return sk[starts], (ends - starts).astype(np.int64), dfs.astype(np.int64), first.astype(np.int64)


def doc_of_items(xp, doc_ids, cnt, off, m):
    """Global document index of each of the ``m`` items (``cnt`` per document)."""
    from engine.gpu.arrays import segment_of
    return doc_ids[segment_of(xp, off, m)]   # CuPy < 14.1 takes no array of repeats


class SpillFolders:
    """Fresh spill folders under one temporary root, removed together by :meth:`close`."""

    def __init__(self):
        self.root: Path | None = None

    def __call__(self) -> Path:
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="corpus-ngrams-"))
        return Path(tempfile.mkdtemp(dir=self.root))

    def close(self):
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
