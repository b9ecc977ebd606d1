"""The type table (token hash -> type number, count, first spelling) and the per-token
cache between the two passes (host memory, spilled to disk beyond a budget)."""
from __future__ import annotations

import os
import shutil
import tempfile

import numpy as np

from engine.arrays import offsets_from_counts
from engine.backend import get_backend
from engine.cooc import config as C
from engine.corpus import Batch
from engine.memory import small_pages
from engine.text import TextOptions, tokenize_slow_docs
from kernels.constants import EMPTY

__all__ = ["TypeTable", "TokenCache"]


class TypeTable:
    """Token hash -> type number, with the frequency and first spelling of each type
    (host, numba open addressing).

    Part 0 holds the types of the corpus so far.  A batch's tokens are cut into one
    range per thread; thread ``p`` counts its range into part ``p`` (part 0: the
    corpus-wide table itself), then parts 1.. are folded into part 0 and their
    tokens' local numbers mapped to type numbers.  Parts 1.. are empty between calls."""

    def __init__(self, cap: int | None = None, parts: int | None = None):
        if parts is None:
            import numba
            parts = max(1, numba.get_num_threads())
        cap = cap or C.INITIAL_TYPE_CAP
        self.parts = parts
        self.tab = np.full((parts, 2 * cap), EMPTY, np.uint64)   # (hash, number) per slot
        self.count = np.zeros((parts, cap), np.int64)
        self.pos = np.zeros((parts, cap), np.int64)
        self.len = np.zeros((parts, cap), np.int32)
        self.used = np.zeros(parts, np.int64)
        self.pool = np.empty((parts, C.INITIAL_POOL), np.uint8)
        self.pool_used = np.zeros(parts, np.int64)

    @property
    def cap(self) -> int:
        return self.tab.shape[1] // 2

    @property
    def limit(self) -> int:
        return self.cap * 7 // 10

    @property
    def numbers(self) -> int:
        """Number of types (type numbers are 0 .. numbers - 1)."""
        return int(self.used[0])

    def _grow(self):
        from kernels.cpu.cooc import type_rehash
        cap = self.cap * 2
        old = self.tab
        self.tab = np.full((self.parts, 2 * cap), EMPTY, np.uint64)
        for p in range(self.parts):
            type_rehash(old[p], self.tab[p], cap - 1)
        for name in ("count", "pos", "len"):
            o = getattr(self, name)
            new = np.zeros((self.parts, cap), o.dtype)
            new[:, :o.shape[1]] = o
            setattr(self, name, new)

    def _grow_pool(self, need: int = 0):
        pool = np.empty((self.parts, max(2 * self.pool.shape[1], need)), np.uint8)
        pool[:, :self.pool.shape[1]] = self.pool
        self.pool = pool

    def add_text(self, batch: Batch, opts: TextOptions, docs: list | None = None) -> tuple[list, int]:
        """CPU: count the tokens of ``batch`` straight from its bytes (``text_types``: no
        corpus-wide normalised text or token arrays).  Returns the segments (type number of
        every token, token offsets of the segment's documents, memory held) and the token count
        (``docs``, when given, receives each segment's documents: their index in the batch);
        documents that need the exact slow normalisation are tokenised apart."""
        from engine.normalize import get_tables, max_expansion
        from engine.text import stopword_hashes
        from kernels.cpu.cooc import text_types
        t = get_tables(opts.strip_accents)
        stop = stopword_hashes(opts) if opts.stopwords else np.empty(0, np.uint64)
        nd, off = batch.n_docs, batch.offsets
        parts = self.parts if batch.n_bytes >= C.FUSED_MIN_BYTES else 1
        cut = np.searchsorted(off, np.arange(parts + 1, dtype=np.int64) * int(off[-1]) // parts)
        cut[0], cut[-1] = 0, nd
        cut = np.maximum.accumulate(np.minimum(cut, nd))
        resume = np.zeros(self.parts, np.int64)
        d_end = np.zeros(self.parts, np.int64)
        resume[:parts], d_end[:parts] = cut[:-1], cut[1:]
        cap = int((off[cut[1:]] - off[cut[:-1]]).max(initial=0)) // C.BYTES_PER_TOKEN + C.OUT_SLACK
        with small_pages():   # written and read in order
            out = np.empty((self.parts, cap), np.int32)
        out_n = np.zeros(self.parts, np.int64)
        doc_ntok = np.zeros(nd, np.int64)
        full = np.zeros(self.parts, np.int8)
        while True:
            text_types(batch.data, off, t.flags, t.map_off, t.map_len, t.map_cps, np.int64(max_expansion(t)),
                       stop, np.int64(opts.min_token_len), resume, d_end, self.tab, self.cap - 1, self.used,
                       self.limit, self.count, self.pos, self.len, self.pool, self.pool_used, out, out_n,
                       doc_ntok, full)
            if (resume >= d_end).all():
                break
            if (full == 1).any():
                self._grow()
            if (full == 2).any():
                self._grow_pool()
            if (full == 3).any():
                with small_pages():
                    bigger = np.empty((self.parts, 2 * out.shape[1]), np.int32)
                bigger[:, :out.shape[1]] = out
                out = bigger
        self._fold(parts, [(out[p], 0, int(out_n[p])) for p in range(parts)])
        segments = []
        for p in range(parts):
            ntok = np.maximum(doc_ntok[cut[p]:cut[p + 1]], 0)
            seg_off = offsets_from_counts(ntok)
            segments.append((out[p, :out_n[p]], seg_off, out.nbytes // parts + seg_off.nbytes))
            if docs is not None:
                docs.append(np.arange(cut[p], cut[p + 1], dtype=np.int64))
        n_tokens = int(out_n.sum())
        slow, toks = tokenize_slow_docs(batch, doc_ntok, get_backend("cpu"), opts)
        if toks is not None:
            tt = np.empty(toks.n_tokens, np.int32)
            self.add(toks.tok_hash, np.empty(0, np.int64), toks.tok_start, toks.tok_len, toks.norm, tt)
            seg_off = np.asarray(toks.doc_tok_offsets)
            segments.append((tt, seg_off, tt.nbytes + seg_off.nbytes))
            if docs is not None:
                docs.append(slow)
            n_tokens += toks.n_tokens
        return segments, n_tokens

    def _fold(self, parts: int, outs: list):
        """Fold parts 1 .. parts - 1 into part 0; ``outs[p] = (array, begin, end)``: the local
        numbers written by part ``p``, mapped to type numbers in place."""
        from kernels.cpu.cooc import type_merge, type_remap
        for p in range(1, parts):
            while self.used[0] + self.used[p] > self.limit:
                self._grow()
            need = int(self.pool_used[0] + self.pool_used[p])
            if need > self.pool.shape[1]:
                self._grow_pool(need)
            remap = np.empty(int(self.used[p]), np.int32)
            type_merge(self.tab, self.cap - 1, self.used, self.count, self.pos, self.len, self.pool,
                       self.pool_used, p, remap)
            arr, beg, end = outs[p]
            if arr.size:
                type_remap(arr, beg, end, remap)

    def add(self, hashes, counts, starts, lens, norm, out=None):
        """Count ``hashes`` (``counts`` each, or 1 when empty); ``out``: the type number of each."""
        from kernels.cpu.cooc import type_count
        out = np.empty(0, np.int32) if out is None else out
        n = hashes.size
        parts = self.parts if n >= 1 << 16 else 1   # small inputs: one range
        cut = np.arange(parts + 1, dtype=np.int64) * n // parts
        resume = np.zeros(self.parts, np.int64)
        end = np.zeros(self.parts, np.int64)
        resume[:parts], end[:parts] = cut[:-1], cut[1:]
        full = np.zeros(self.parts, np.int8)
        while True:
            type_count(self.tab, self.cap - 1, self.used, self.limit, self.count, self.pos, self.len,
                       self.pool, self.pool_used, hashes, counts, starts, lens, norm, out, resume, end, full)
            if (resume >= end).all():
                break
            if (full == 1).any():
                self._grow()
            if (full == 2).any():
                self._grow_pool()
        self._fold(parts, [(out, cut[p], cut[p + 1]) for p in range(parts)])

    def counts(self) -> np.ndarray:
        """Occurrences of each type number (int64, a view of the table)."""
        return self.count[0, :self.numbers]

    def terms(self, numbers) -> list[str]:
        """The spellings (normalised, as first seen) of the type numbers ``numbers``."""
        pool = self.pool[0, :self.pool_used[0]].tobytes()
        pos, ln = self.pos[0][numbers].tolist(), self.len[0][numbers].tolist()
        return [pool[s:s + n].decode("utf-8") for s, n in zip(pos, ln)]

    def hashes(self) -> np.ndarray:
        """Hash of each type number."""
        h = np.empty(self.numbers, np.uint64)
        m = self.tab[0, 0::2] != EMPTY
        h[self.tab[0, 1::2][m].astype(np.int64)] = self.tab[0, 0::2][m]
        return h


class TokenCache:
    """Type numbers (or hashes) + document offsets of every batch, between the two passes
    (spills to disk)."""

    def __init__(self, budget: int):
        self.budget = budget
        self.keys: np.ndarray | None = None   # term key (hash) of each type number, once counted
        self.items: list = []
        self.bytes = 0
        self.dir: str | None = None

    def add(self, hashes: np.ndarray, doc_off: np.ndarray, footprint: int | None = None):
        """``footprint``: the memory the arrays hold (a view holds its whole base)."""
        size = hashes.nbytes + doc_off.nbytes if footprint is None else footprint
        if self.bytes + size > self.budget:
            if self.dir is None:
                self.dir = tempfile.mkdtemp(prefix="corpus-cooc-")
            k = len(self.items)
            ph, po = os.path.join(self.dir, f"h{k}.npy"), os.path.join(self.dir, f"o{k}.npy")
            np.save(ph, hashes)
            np.save(po, doc_off)
            self.items.append((ph, po))
        else:
            self.bytes += size
            self.items.append((hashes, doc_off))

    def __iter__(self):
        """Each batch once: the cache lets go of it as it goes."""
        for k, (h, o) in enumerate(self.items):
            self.items[k] = (None, None)
            if isinstance(h, str):
                yield np.load(h), np.load(o)
                os.remove(h)
                os.remove(o)
            else:
                yield h, o

    def close(self):
        """Drop every batch held and remove the spill folder (idempotent)."""
        self.items = []
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
