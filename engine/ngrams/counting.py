"""Exact counting of uint64 keys, bounded in memory: the host hash table and its spill.

On the CPU each document is first reduced to its distinct keys in a small cached set
(kernels.cpu.count_docs), and one entry per (document, key) goes into a host hash table of
16-byte slots (kernels.cpu.count); on a GPU a batch is reduced on the device (stable sort +
run lengths, :func:`reduce_on_device`) and only its distinct keys come back to be merged.
Each new key gets its string (and the ordinal of its first occurrence) once, from its first
occurrence in corpus order, so every backend returns the same strings: on the CPU the
counting kernel writes it as it takes the key (no gather of every new key afterwards), on a
GPU it is gathered on the host.  When the distinct keys pass the memory budget (or a
table's total count nears its 32-bit fields), the table spills to disk by hash partition and
the partitions are merged at the end: counts stay exact.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["Rows", "StringStore", "KeyCounter", "EntryBuffers", "SpillFolders", "reduce_on_device",
           "doc_of_items", "N_PARTITIONS"]

N_PARTITIONS = 16   # spill files per spill, by the key's top 4 bits


@dataclass
class Rows:
    """Counted keys with their strings as spans ``data[starts[i]:ends[i]]``.

    ``first`` is the ordinal of each key's first occurrence (see ``engine.ngrams.partial``).
    """
    keys: np.ndarray
    counts: np.ndarray
    dfs: np.ndarray
    data: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    first: np.ndarray


class StringStore:
    """The strings of a table's keys, one store per partition of the table: string ``j``
    of partition ``p`` is ``data[p, off[p, j]:off[p, j + 1]]``, first seen at ``first[p, j]``
    (ids in order of arrival). Grown by :meth:`reserve` (keys) and :meth:`grow_bytes`;
    the counting kernels write into the arrays."""

    def __init__(self, partitions: int, keys: int, nbytes: int = 1 << 16):
        self.data = np.empty((partitions, nbytes), np.uint8)
        self.off = np.zeros((partitions, keys + 1), np.int64)
        self.first = np.empty((partitions, keys), np.int64)

    def reserve(self, keys: int) -> None:
        """Room for ``keys`` strings per partition."""
        if keys > self.first.shape[1]:
            off = np.zeros((self.off.shape[0], keys + 1), np.int64)
            first = np.empty((self.first.shape[0], keys), np.int64)
            off[:, :self.off.shape[1]] = self.off
            first[:, :self.first.shape[1]] = self.first
            self.off, self.first = off, first

    def grow_bytes(self, used: np.ndarray, nbytes: int | None = None) -> None:
        """Double the bytes of every partition (to ``nbytes`` if given; ``used[p]`` of them kept)."""
        data = np.empty((self.data.shape[0], nbytes or 2 * self.data.shape[1]), np.uint8)
        for p, u in enumerate(used.tolist()):
            data[p, :u] = self.data[p, :u]
        self.data = data

    def used(self, sizes: np.ndarray) -> list[int]:
        """Bytes of each partition's strings (``sizes[p]`` of them)."""
        return [int(self.off[p, s]) for p, s in enumerate(sizes.tolist())]

    def rows_into(self, sizes: np.ndarray, data: np.ndarray, off: np.ndarray, first: np.ndarray) -> None:
        """Write every string, partition after partition: bytes to ``data``, offsets (one
        per string, from 0) to ``off`` and first ordinals to ``first``."""
        b = r = 0
        for p, (s, u) in enumerate(zip(sizes.tolist(), self.used(sizes))):
            data[b:b + u] = self.data[p, :u]
            np.add(self.off[p, :s], b, out=off[r:r + s])
            first[r:r + s] = self.first[p, :s]
            b, r = b + u, r + s

    def rows(self, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(data, offsets, first) of every string, partition after partition (one copy)."""
        n, nbytes = int(sizes.sum()), sum(self.used(sizes))
        data, off, first = np.empty(nbytes, np.uint8), np.empty(n + 1, np.int64), np.empty(n, np.int64)
        self.rows_into(sizes, data, off, first)
        off[n] = nbytes
        return data, off, first


def _max_keys(capacity: int) -> int:
    """Keys a table partition of ``capacity`` slots may hold (a load of 11/16)."""
    return (capacity * 11) >> 4


def _slot_type(capacity: int):
    """The slot numbers of a table partition: int32 while they fit (under 2**31 slots)."""
    return np.int32 if capacity <= 2**31 else np.int64


def _mean(lens: np.ndarray, plus: float) -> float:
    """``plus`` more than the mean of ``lens`` (from a strided sample of a few thousand)."""
    if lens.size == 0:
        return 0.0
    return float(lens[::max(1, lens.size // 4096)].mean()) + plus


CHUNK_ITEMS = 1 << 20   # n-grams per chunk of a batch: its entry arrays (24 B an n-gram) stay small
MAX_OCCURRENCES = 2**32 - 1   # a table's total count: every count and doc_freq fits its 32 bits


def doc_chunks(item_off: np.ndarray, limit: int):
    """Document ranges ``[d0, d1)`` of at most ``limit`` items each (``item_off``: the
    documents' item offsets), a larger document alone in its range."""
    n_docs = item_off.size - 1
    d0 = 0
    while d0 < n_docs:
        d1 = int(np.searchsorted(item_off, item_off[d0] + limit, side="right")) - 1
        d1 = min(max(d1, d0 + 1), n_docs)
        yield d0, d1
        d0 = d1


class EntryBuffers:
    """The per-document entry arrays of one chunk (:mod:`kernels.cpu.count_docs`), reused
    from chunk to chunk and shared by the counters of one job (they are consumed at once)."""

    def __init__(self):
        self.arrays = {}

    def get(self, items: int, docs: int, parts: int):
        """(keys, cnt, pos, pbeg) with room for ``items`` entries of ``docs`` documents."""
        a = self.arrays
        if a.get("keys") is None or a["keys"].size < items:
            size = max(items, CHUNK_ITEMS)
            a.update(keys=np.empty(size, np.uint64), cnt=np.empty(size, np.int64), pos=np.empty(size, np.int64))
        if a.get("pbeg") is None or a["pbeg"].shape[0] < docs or a["pbeg"].shape[1] != parts + 1:
            a["pbeg"] = np.empty((max(docs, 1 << 12), parts + 1), np.int64)
        return a["keys"], a["cnt"], a["pos"], a["pbeg"][:docs]


class KeyCounter:
    """Exact counts and document frequencies of uint64 keys, with strings, bounded in memory.

    Occurrences come in batches of whole documents, in corpus order; each document is
    first reduced to its distinct keys (:mod:`kernels.cpu.count_docs`), chunk by chunk of
    documents, then counted into the table (:mod:`kernels.cpu.count`).  ``gather(refs)``
    (given to :meth:`add_occurrences` / :meth:`add_aggregated`) returns the strings of the
    new keys ``refs`` as ``(data, offsets)`` or ``(data, offsets, first_ordinals)``;
    :meth:`add_word_ngrams` / :meth:`add_ngram_occurrences` write them from the text
    instead, as they count.  ``self_spill``: spill when past the budget (False: the owner
    decides, as the n-gram job does for all its orders together; a table also spills
    itself before its total count would pass 32 bits).  ``scratch``: the
    :class:`EntryBuffers` to use (shared by the counters of a job).
    """

    def __init__(self, budget_entries: int, spill_root: Callable[[], Path], partitions: int | None = None,
                 self_spill: bool = True, scratch: EntryBuffers | None = None):
        from kernels.cpu import count as kc
        from kernels.cpu import count_docs as kd
        self.kc, self.kd = kc, kd
        if partitions is None:
            import numba
            partitions = 1 << (max(1, numba.get_num_threads()).bit_length() - 1)
        self.P = partitions
        self.part_shift = 64 - (self.P.bit_length() - 1) if self.P > 1 else 63
        self.budget = max(1024, int(budget_entries))
        self._spill_root = spill_root
        self.self_spill = self_spill
        self.scratch = scratch if scratch is not None else EntryBuffers()
        self.spill_dir: Path | None = None
        self.n_spills = 0
        self.grow_ahead = True   # size the table ahead of each batch (False: only as it fills)
        self._alloc(1 << 12)

    def _alloc(self, cap: int) -> None:
        self.table = np.zeros((self.P, cap, 2), dtype=np.uint64)
        self.slot_of = np.empty((self.P, _max_keys(cap)), dtype=_slot_type(cap))
        self.sizes = np.zeros(self.P, dtype=np.int64)
        self.store = StringStore(self.P, self.max_size)
        self.occurrences = 0   # the table's total count (bounded by MAX_OCCURRENCES)

    @property
    def size(self) -> int:
        return int(self.sizes.sum())

    @property
    def max_size(self) -> int:
        """Keys a partition may hold: 11/16 of its slots (linear probing stays short at that
        load, and the table is a third smaller than at half load)."""
        return _max_keys(self.table.shape[1])

    def _grow(self, cap: int | None = None) -> None:
        cap = cap or self.table.shape[1] * 2
        table = np.zeros((self.P, cap, 2), dtype=np.uint64)
        slot_of = np.empty((self.P, _max_keys(cap)), dtype=_slot_type(cap))
        slot_of[:, :self.slot_of.shape[1]] = self.slot_of
        self.kc.rehash(self.table, table, slot_of, self.sizes)
        self.table, self.slot_of = table, slot_of
        self.store.reserve(self.max_size)

    def _used_bytes(self) -> np.ndarray:
        return self.store.off[np.arange(self.P), self.sizes]

    def _guard(self, n: int) -> None:
        """Before ``n`` more occurrences: spill first if the table's total count could pass
        MAX_OCCURRENCES (its counts and doc_freqs are 32-bit)."""
        if self.occurrences + n > MAX_OCCURRENCES:
            if n > MAX_OCCURRENCES:
                raise ValueError(f"{n} occurrences at once pass a table's 32-bit counts (a smaller batch_bytes)")
            self.spill()
        self.occurrences += n

    def _reserve(self, sample: np.ndarray, key_bytes: float) -> None:
        """Grow the table once, ahead of a batch, to hold the new keys its key ``sample``
        predicts (``kernels.cpu.count_docs.sampled_keys``: one distinct key in
        ``2**SAMPLE_BITS``, so those the table lacks, times that, estimate its new keys),
        and the string bytes too, at ``key_bytes`` a new key's string (a fifth more: rare
        n-grams hold longer words than the average).

        Growing as the table fills instead rehashes every key at each doubling: on 100 MB
        of English, the trigrams' table doubles five times in the first batch, and the
        rehashes took as long as the counting itself."""
        if not self.grow_ahead or sample.size == 0:
            return
        absent = np.zeros(self.P, np.int64)
        self.kc.count_absent(self.table, self.part_shift, sample, absent)
        a = int(absent.max())
        # the estimate's spread is about sqrt(a) sampled keys: four of them, of margin
        new = (a + 4 * int(np.sqrt(a)) + 1) << self.kd.SAMPLE_BITS
        want = int(self.sizes.max()) + min(new, self.budget // self.P + 1)
        if want > self.max_size:
            cap = 1 << max(12, int(want - 1).bit_length())
            self._grow(cap if _max_keys(cap) >= want else 2 * cap)
        used = self._used_bytes()
        nbytes = int(used.max()) + int(1.2 * key_bytes * (want - int(self.sizes.max())))
        if nbytes > self.store.data.shape[1]:
            self.store.grow_bytes(used, nbytes)

    def _done(self, through: np.ndarray) -> bool:
        """After an insert: True when every partition is through its entries (``through``),
        else grow the table or the string bytes where one stopped (and insert again)."""
        left = ~through
        if not left.any():
            return True
        if (self.sizes[left] >= self.max_size).any():
            self._grow()
        else:   # a partition's string bytes are full
            self.store.grow_bytes(self._used_bytes())
        return False

    def _count_docs(self, item_off, doc_base, sample, distinct, word, n, norm, tok_off, tok_start, tok_len,
                    span_start, span_len) -> None:
        """Count the items of a batch (document d's ``[item_off[d], item_off[d+1])``, their
        key ``sample`` sizing the table ahead), chunk by chunk: ``distinct(d0, d1, keys, cnt,
        pos, pbeg)`` writes the chunk's entries, then the table takes them (strings from
        the text, see ``kernels.cpu.count.insert_entries``)."""
        self._reserve(sample, _mean(tok_len, 1) * n if word else _mean(span_len, 0))
        for d0, d1 in doc_chunks(item_off, CHUNK_ITEMS):
            self._guard(int(item_off[d1] - item_off[d0]))   # a spill between chunks: no document splits
            keys, cnt, pos, pbeg = self.scratch.get(int(item_off[d1] - item_off[d0]), d1 - d0, self.P)
            distinct(d0, d1, keys, cnt, pos, pbeg)
            cursor = np.zeros((self.P, 2), np.int64)
            cursor[:, 0] = d0
            while True:
                self.kc.insert_entries(self.table, self.slot_of, keys, cnt, pos, pbeg, item_off, d0, doc_base,
                                       cursor, self.max_size, self.sizes, word, n, norm, tok_off, tok_start,
                                       tok_len, span_start, span_len, self.store.data, self.store.off,
                                       self.store.first)
                if self._done(cursor[:, 0] >= d1):
                    break

    def add_word_ngrams(self, tok_hash: np.ndarray, tok_off: np.ndarray, n: int, doc_base: int,
                        norm: np.ndarray, tok_start: np.ndarray, tok_len: np.ndarray) -> int:
        """Count the word n-grams of order ``n`` of a tokenised batch (document d's tokens
        ``[tok_off[d], tok_off[d+1])``, global index ``doc_base + d``), hashed as the
        counting goes (``kernels.cpu.count_docs.distinct_word_ngrams``): no array of keys.
        Strings are the tokens (``tok_start``/``tok_len`` into ``norm``) joined by spaces.
        Returns the number of n-grams."""
        item_off = np.zeros(tok_off.size, np.int64)
        np.cumsum(np.maximum(np.diff(tok_off) - n + 1, 0), out=item_off[1:])
        m = int(item_off[-1])
        e = np.empty(0, np.int64)

        def distinct(d0, d1, keys, cnt, pos, pbeg):
            self.kd.distinct_word_ngrams(tok_hash, tok_off, n, d0, d1, item_off, self.part_shift, self.P,
                                         keys, cnt, pos, pbeg)
        sample = self.kd.sampled_keys(True, tok_hash, tok_off, n, np.empty(0, np.uint64), item_off)
        self._count_docs(item_off, doc_base, sample, distinct, True, n, norm, tok_off, tok_start, tok_len, e, e)
        self._maybe_spill()
        return m

    def add_ngram_occurrences(self, keys: np.ndarray, item_off: np.ndarray, doc_base: int, norm: np.ndarray,
                              span_start: np.ndarray, span_len: np.ndarray) -> None:
        """Count one key per occurrence (document d's ``keys[item_off[d]:item_off[d+1]]``,
        global index ``doc_base + d``), item i's string the bytes
        ``norm[span_start[i]:span_start[i] + span_len[i]]`` (character n-grams)."""
        e = np.empty(0, np.int64)

        def distinct(d0, d1, k, cnt, pos, pbeg):
            self.kd.distinct_keys(keys, d0, d1, item_off, self.part_shift, self.P, k, cnt, pos, pbeg)
        sample = self.kd.sampled_keys(False, np.empty(0, np.uint64), e, 0, keys, item_off)
        self._count_docs(item_off, doc_base, sample, distinct, False, 0, norm, e, e, e, span_start, span_len)
        self._maybe_spill()

    def _insert_rows(self, keys, counts, dfs, gather) -> None:
        """Add reduced rows; the new keys' strings from ``gather(row indices)``."""
        n = keys.size
        self._guard(int(counts.sum()) if n else 0)
        self._reserve(self.kd.sampled_keys(False, np.empty(0, np.uint64), np.empty(0, np.int64), 0, keys,
                                           np.array([0, n], np.int64)), 0)
        order = np.empty(n, np.int32 if n < 2**31 else np.int64)
        bounds = np.empty(self.P + 1, np.int64)
        self.kc.split_rows(keys, self.part_shift, self.P, order, bounds)
        starts, ends = bounds[:-1].copy(), bounds[1:].copy()
        while True:
            room = int(self.max_size - self.sizes.max())
            if room <= 0:
                self._grow()
                continue
            refs = np.empty((self.P, min(n, room)), np.int64)
            n_new = np.zeros(self.P, np.int64)
            prior = self.sizes.copy()
            self.kc.insert_rows(self.table, self.slot_of, keys, counts, dfs, order, starts, ends, self.max_size,
                                self.sizes, refs, n_new)
            for p in range(self.P):
                self._strings(p, prior, refs[p, :n_new[p]], gather)
            if (starts >= ends).all():
                break
            self._grow()

    def _strings(self, p, prior, refs, gather) -> None:
        """The strings of partition ``p``'s new keys ``refs`` after its ``prior[p]`` keys.
        ``self.sizes`` already counts every partition's new keys, whose strings only the
        partitions before ``p`` hold yet: a growth keeps ``prior``'s bytes of the others."""
        if refs.size == 0:
            return
        got = gather(refs)
        data, off = got[0], got[1]
        first = got[2] if len(got) > 2 else np.full(refs.size, -1, np.int64)
        size = int(prior[p])
        base = int(self.store.off[p, size])
        while base + data.size > self.store.data.shape[1]:
            written = np.where(np.arange(self.P) < p, self.sizes, prior)
            self.store.grow_bytes(self.store.off[np.arange(self.P), written])
        self.store.data[p, base:base + data.size] = data
        self.store.off[p, size + 1:size + refs.size + 1] = off[1:] + base
        self.store.first[p, size:size + refs.size] = first

    def add_occurrences(self, keys: np.ndarray, item_off: np.ndarray, doc_base: int, gather) -> None:
        """Count one key per occurrence, in corpus order; document d's are
        ``keys[item_off[d]:item_off[d+1]]`` and its global index is ``doc_base + d``;
        ``gather`` is given the item indices of the new keys' first occurrences."""
        n_docs = item_off.size - 1
        kk, cnt, pos = np.empty(keys.size, np.uint64), np.empty(keys.size, np.int64), np.empty(keys.size, np.int64)
        pbeg = np.zeros((n_docs, 2), np.int64)
        if n_docs:
            self.kd.distinct_keys(keys, 0, n_docs, item_off, 63, 1, kk, cnt, pos, pbeg)
        ndist = pbeg[:, 1]
        room = item_off[:-1] - item_off[0]
        sel = np.concatenate([np.arange(r, r + c) for r, c in zip(room.tolist(), ndist.tolist())] + [[]])
        sel = sel.astype(np.int64)
        item = (np.repeat(item_off[:-1], ndist) + pos[sel]) if sel.size else sel
        self._insert_rows(kk[sel], cnt[sel], np.ones(sel.size, np.int64), lambda refs: gather(item[refs]))
        self._maybe_spill()

    def add_aggregated(self, keys, counts, dfs, gather) -> None:
        """Add rows already reduced per batch (a batch never splits a document)."""
        self._insert_rows(keys, counts, dfs, gather)
        self._maybe_spill()

    # -- contents -------------------------------------------------------------------------
    def contents(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(keys, counts, dfs, string data, string offsets, first) of the keys in the table,
        row i's string ``data[offsets[i]:offsets[i+1]]``."""
        keys, counts, dfs = self.kc.collect(self.table, self.slot_of, self.sizes)
        return (keys, counts, dfs) + self.store.rows(self.sizes)

    @property
    def string_bytes(self) -> int:
        """Bytes of the strings of the keys in the table."""
        return sum(self.store.used(self.sizes))

    def contents_into(self, keys, counts, dfs, data, off, first) -> None:
        """:meth:`contents` written into the given arrays (``off`` without its last entry,
        from 0: add the row's byte base), of exactly :attr:`size` rows and
        :attr:`string_bytes` bytes."""
        self.kc.collect_into(self.table, self.slot_of, self.sizes, keys, counts, dfs)
        self.store.rows_into(self.sizes, data, off, first)

    def _contents(self) -> Rows:
        """The keys in the table as Rows."""
        keys, counts, dfs, data, off, first = self.contents()
        return Rows(keys, counts, dfs, data, off[:-1], off[1:], first)

    def _maybe_spill(self) -> None:
        if self.self_spill and self.size > self.budget:
            self.spill()

    def spill(self) -> None:
        """Write the table (with strings) to disk by hash partition and empty it."""
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

    def release(self) -> None:
        """Free the table and strings (the counter then holds nothing; spills stay)."""
        self._alloc(1 << 12)

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
