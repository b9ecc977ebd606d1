"""Term co-occurrence with association measures (PMI, PPMI, NPMI, LLR) on any backend.

Definitions (the README states them too):

- Tokens are those of :func:`engine.text.tokenize` (stop words removed first
  when asked: window positions are counted after that removal).
- Vocabulary: term frequency = occurrences; terms with fewer than
  ``min_count`` are pruned, then the ``max_vocab`` most frequent are kept
  (ties by term, code point order).  Term ids follow that order.  A pruned
  token keeps its position in the window: pairs that involve it are dropped,
  distances are unchanged, so the counts of kept pairs do not depend on
  ``min_count`` / ``max_vocab``.
- Window ``W``: within a document every pair of positions ``0 < j - i <= W``
  adds ``w`` to ``M[a, b]`` and to ``M[b, a]``; ``w = 1`` or ``1/(j - i)``
  (harmonic).  Self pairs count: a pair a, a adds ``2w`` to ``M[a, a]``.
  ``T = sum(M)``, ``m_a = sum_b M[a, b]``.
- Document mode: ``M[a, b]`` = documents containing both ``a != b``; the
  measures use document counts: ``N`` documents and document frequencies.
- PMI = ln(M T / (m_a m_b)); PPMI = max(PMI, 0); NPMI = PMI / -ln(M / T)
  (1 when M = T); LLR = Dunning's G^2 = 2 sum k ln(k T / (row col)) over the
  2x2 table (M, m_a - M; m_b - M, T - m_a - m_b + M), 0 ln 0 = 0.

Counting is exact integer arithmetic on every backend (harmonic weights are
``lcm(1..W) // d``), so counts are equal bit for bit across backends.

Two passes, by choice: the first tokenizes, counts term frequencies and keeps
one int32 type number per token (4 bytes a token, spilled to disk beyond
``cache_bytes``); the second maps type numbers to term ids with one gather and
counts pairs of kept terms only.  On the CPU the first pass is one fused kernel
(``kernels.cpu.cooc.text_types``): each thread normalises and tokenises its
documents in scratch memory and counts their tokens into its own type table (the
tables are folded after), so no corpus-wide normalised text or token array is
ever written; a GPU tokenizes the batch and counts by sort.  A single pass would have to count the pairs of
every type, rare ones included (mostly distinct pairs), so its memory would grow
with the corpus instead of being bounded by ``--max-vocab``; the second pass costs
a gather.  CPU pair counting (``_CPUPairs``, ``kernels.cpu.cooc``): a dense block
per thread for pairs of the ``DENSE_TERMS`` most frequent terms (74-85 % of
pairs), the other pair keys buffered per thread and reduced by a radix sort per
row range that fits the L2 cache; no random access to a large hash table.
Library use::

    res = run(["corpus.jsonl"], "cpu", CoocConfig(window=5))
    res.table("npmi", top=20)            # pyarrow table
    res.associates("nvidia", "llr", 10)  # pyarrow table
    res.matrix(), res.vocab              # scipy.sparse CSR + terms
"""
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import numpy as np
import pyarrow as pa

from engine.backend import get_backend
from engine.corpus import Batch, CorpusReader, batch_from_texts
from engine.memory import small_pages
from engine.text import ParameterError, TextOptions, hash_token, tokenize

__all__ = ["CoocConfig", "CoocResult", "run", "cooccurrence", "parse_window", "MEASURES",
           "WEIGHTINGS", "analyze_section"]

MEASURES = ("count", "pmi", "ppmi", "npmi", "llr")
WEIGHTINGS = ("none", "harmonic")
MAX_HARMONIC_WINDOW = 20   # lcm(1..20) = 232792560 keeps integer weight sums far from 2**63
EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
LOW32 = np.uint64(0xFFFFFFFF)
INITIAL_TYPE_CAP = 1 << 16   # slots; tables double as they fill
DENSE_TERMS = 1024           # pairs of the 1024 most frequent terms: dense block per thread (4 MB used)
REST_CAP = 1 << 23           # buffered pair keys per thread before a reduction (64 MB each)
INITIAL_POOL = 1 << 20       # bytes of term spellings per table part; doubles as it fills
FUSED_MIN_BYTES = 1 << 20    # batches smaller than this take one part (thread) in text_types
BYTES_PER_TOKEN = 4          # text_types output: room for 1 token per 4 bytes (+ OUT_SLACK), then doubles
OUT_SLACK = 4096


def parse_window(value) -> int | str:
    """``--window``: a positive integer or ``"doc"``."""
    if isinstance(value, str):
        v = value.strip().lower()
        if v == "doc":
            return "doc"
        try:
            value = int(v)
        except ValueError:
            raise ParameterError(f"--window must be a positive integer or 'doc', got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ParameterError(f"--window must be a positive integer or 'doc', got {value!r}")
    return int(value)


@dataclass(frozen=True)
class CoocConfig:
    """Parameters of the co-occurrence job (validated on creation).

    window : positive int (token window) or ``"doc"`` (document co-occurrence).
    weighting : ``"none"`` (w = 1) or ``"harmonic"`` (w = 1/distance; window <= 20).
    min_count, max_vocab : vocabulary pruning (term frequency, ties by term).
    measure : sort key of the tables: count, pmi, ppmi, npmi or llr.
    cache_bytes : per-token type numbers (CPU; token hashes on the GPU) kept in memory
        between the vocabulary pass and the pair pass; beyond this they are spilled
        to a temporary folder.
    """
    window: int | str = 5
    weighting: str = "none"
    min_count: int = 2
    max_vocab: int = 50000
    measure: str = "llr"
    text: TextOptions = field(default_factory=TextOptions)
    cache_bytes: int = 512 << 20

    def __post_init__(self):
        object.__setattr__(self, "window", parse_window(self.window))
        if self.weighting not in WEIGHTINGS:
            raise ParameterError(f"--weighting must be one of {', '.join(WEIGHTINGS)}, got {self.weighting!r}")
        if self.measure not in MEASURES:
            raise ParameterError(f"--measure must be one of {', '.join(MEASURES)}, got {self.measure!r}")
        for name, v in (("--min-count", self.min_count), ("--max-vocab", self.max_vocab)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ParameterError(f"{name} must be an integer >= 1, got {v!r}")
        if self.weighting == "harmonic":
            if self.window == "doc":
                raise ParameterError("--weighting harmonic needs a token window, got --window doc")
            if self.window > MAX_HARMONIC_WINDOW:
                raise ParameterError(f"--window must be <= {MAX_HARMONIC_WINDOW} with --weighting harmonic "
                                     f"(exact integer weights), got {self.window}")

    @property
    def doc_mode(self) -> bool:
        return self.window == "doc"

    def weights(self) -> tuple[np.ndarray, int]:
        """(integer weight per distance 0..W, divisor): w(d) = table[d] / divisor."""
        w = self.window
        if self.weighting == "none":
            return np.ones(w + 1, np.int64), 1
        lcm = math.lcm(*range(1, w + 1))
        return np.array([0] + [lcm // d for d in range(1, w + 1)], np.int64), lcm


# ---------------------------------------------------------------------------- vocabulary pass
class _TypeTable:
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
        cap = cap or INITIAL_TYPE_CAP
        self.parts = parts
        self.tab = np.full((parts, 2 * cap), EMPTY, np.uint64)   # (hash, number) per slot
        self.count = np.zeros((parts, cap), np.int64)
        self.pos = np.zeros((parts, cap), np.int64)
        self.len = np.zeros((parts, cap), np.int32)
        self.used = np.zeros(parts, np.int64)
        self.pool = np.empty((parts, INITIAL_POOL), np.uint8)
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

    def add_text(self, batch: Batch, opts: TextOptions) -> tuple[list, int]:
        """CPU: count the tokens of ``batch`` straight from its bytes (``text_types``: no
        corpus-wide normalised text or token arrays).  Returns the segments (type number of
        every token, token offsets of the segment's documents, memory held) and the token count;
        documents that need the exact slow normalisation are tokenised apart."""
        from engine.normalize import get_tables, max_expansion
        from engine.text import stopword_hashes
        from kernels.cpu.cooc import text_types
        t = get_tables(opts.strip_accents)
        stop = stopword_hashes(opts) if opts.stopwords else np.empty(0, np.uint64)
        nd, off = batch.n_docs, batch.offsets
        parts = self.parts if batch.n_bytes >= FUSED_MIN_BYTES else 1
        cut = np.searchsorted(off, np.arange(parts + 1, dtype=np.int64) * int(off[-1]) // parts)
        cut[0], cut[-1] = 0, nd
        cut = np.maximum.accumulate(np.minimum(cut, nd))
        resume = np.zeros(self.parts, np.int64)
        d_end = np.zeros(self.parts, np.int64)
        resume[:parts], d_end[:parts] = cut[:-1], cut[1:]
        cap = int((off[cut[1:]] - off[cut[:-1]]).max(initial=0)) // BYTES_PER_TOKEN + OUT_SLACK
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
            seg_off = np.zeros(ntok.size + 1, np.int64)
            np.cumsum(ntok, out=seg_off[1:])
            segments.append((out[p, :out_n[p]], seg_off, out.nbytes // parts + seg_off.nbytes))
        n_tokens = int(out_n.sum())
        slow = np.flatnonzero(doc_ntok < 0)
        if slow.size:
            toks = tokenize(batch_from_texts([batch.text(int(d)) for d in slow]), get_backend("cpu"), opts)
            tt = np.empty(toks.n_tokens, np.int32)
            self.add(toks.tok_hash, np.empty(0, np.int64), toks.tok_start, toks.tok_len, toks.norm, tt)
            seg_off = np.asarray(toks.doc_tok_offsets)
            segments.append((tt, seg_off, tt.nbytes + seg_off.nbytes))
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
        return self.count[0, :self.numbers]

    def terms(self, numbers) -> list[str]:
        pool = self.pool[0, :self.pool_used[0]].tobytes()
        pos, ln = self.pos[0][numbers].tolist(), self.len[0][numbers].tolist()
        return [pool[s:s + n].decode("utf-8") for s, n in zip(pos, ln)]

    def hashes(self) -> np.ndarray:
        """Hash of each type number."""
        h = np.empty(self.numbers, np.uint64)
        m = self.tab[0, 0::2] != EMPTY
        h[self.tab[0, 1::2][m].astype(np.int64)] = self.tab[0, 0::2][m]
        return h


def _select_vocab(types: _TypeTable, min_count: int, max_vocab: int):
    """(terms, type numbers, counts, rank of each term in code point order), in id order:
    frequency descending, ties by term (code point order = UTF-8 byte order)."""
    cnt_all = types.counts()
    kept = np.flatnonzero(cnt_all >= min_count)
    counts = cnt_all[kept]
    if kept.size > max_vocab:
        cut = np.partition(counts, kept.size - max_vocab)[kept.size - max_vocab]
        above = kept[counts > cut]
        tied = kept[counts == cut]
        k = max_vocab - above.size
        tied_terms = sorted(zip(types.terms(tied), tied.tolist()))[:k]
        kept = np.concatenate([above, np.array([s for _, s in tied_terms], np.int64)])
    terms = types.terms(kept)
    by_term = sorted(range(len(terms)), key=terms.__getitem__)
    rank = np.empty(len(terms), np.int64)
    rank[np.array(by_term, np.int64)] = np.arange(len(terms))
    order = np.lexsort((rank, -cnt_all[kept]))
    terms = [terms[i] for i in order.tolist()]
    # rank of each term (new id order) among the terms in code point order
    new_rank = rank[order]
    return terms, kept[order], cnt_all[kept[order]].copy(), new_rank


class _TokenCache:
    """Type numbers (or hashes) + document offsets of every batch, between the two passes
    (spills to disk)."""

    def __init__(self, budget: int):
        self.budget = budget
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
        self.items = []
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


# ---------------------------------------------------------------------------- pair counting
class _CPUPairs:
    """Pair counts on the CPU (kernels.cpu.cooc), persistent across batches.

    Pairs of two of the ``DENSE_TERMS`` most frequent terms go to a dense block per
    thread (most pairs of natural text); the others are appended to a key buffer
    per thread (at most ``REST_CAP`` keys each), reduced by row ranges small enough
    for the L2 cache whenever a buffer fills, and kept as one run sorted by key.
    Memory: the dense blocks, the buffers and the distinct pairs (bounded by the
    vocabulary), whatever the corpus size.
    """

    def __init__(self, nthreads: int, n_terms: int, unit: bool):
        self.nt = nthreads
        self.n_terms = n_terms
        self.k = min(DENSE_TERMS, n_terms)
        self.dense = np.zeros((nthreads, self.k * self.k), np.int64)
        self.unit = unit
        self.rest_k = np.empty((nthreads, 0), np.uint64)
        self.rest_w = np.empty((nthreads, 0), np.int64)
        self.rest_n = np.zeros(nthreads, np.int64)
        self.keys = np.empty(0, np.uint64)
        self.vals = np.empty(0, np.int64)

    def _buffers(self, upper: int, minimum: int):
        cap = max(min(upper, REST_CAP), minimum, 1)
        if self.rest_k.shape[1] < cap:
            self._flush()
            self.rest_k = np.empty((self.nt, cap), np.uint64)
            self.rest_w = np.empty((self.nt, 0 if self.unit else cap), np.int64)

    def _flush(self):
        if not self.rest_n.any():
            return
        k, v = _reduce_rest(self.rest_k, self.rest_w, self.rest_n, self.unit, self.n_terms)
        self.keys, self.vals = _merge_sorted(self.keys, self.vals, k, v)
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

    def items(self):
        """(a, b, values) of every pair, sorted by (a, b)."""
        from kernels.cpu.cooc import assemble, dense_row_counts
        self._flush()
        k = self.k
        drows = np.zeros(k + 1, np.int64)
        dense_row_counts(self.dense, k, drows)
        np.cumsum(drows, out=drows)
        rrows = np.searchsorted(self.keys, np.arange(k + 1, dtype=np.uint64) << np.uint64(32)).astype(np.int64)
        n = int(drows[-1]) + self.keys.size
        a, b, v = np.empty(n, np.int32), np.empty(n, np.int32), np.empty(n, np.int64)
        assemble(self.dense, k, drows, self.keys, self.vals, rrows, a, b, v)
        return a, b, v


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


def _merge_sorted(k1, v1, k2, v2):
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


class _GPUPairs:
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
        uids = xp.ascontiguousarray((uk & LOW32).astype(np.int32))
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

    def items(self):
        keys, vals = self.be.to_host(self.keys), self.be.to_host(self.vals)
        return (keys >> np.uint64(32)).astype(np.int32), (keys & LOW32).astype(np.int32), vals


def _lookup_ids(backend, sorted_h, sorted_ids, hashes):
    if backend.name == "cpu":
        from kernels.cpu.cooc import lookup_ids
        return lookup_ids(sorted_h, sorted_ids, hashes)
    from kernels.cuda import cooc
    out = backend.xp.empty(hashes.size, np.int32)
    backend.launch(cooc.lookup_ids, hashes.size, sorted_h, sorted_ids, hashes, out)
    return out


# ---------------------------------------------------------------------------- the job
def _batches(source) -> Iterable[Batch]:
    if isinstance(source, Batch):
        return [source]
    if isinstance(source, (str, os.PathLike)):
        return CorpusReader([source])
    if isinstance(source, CorpusReader):
        return source
    source = list(source)
    if source and all(isinstance(s, (str, os.PathLike)) for s in source):
        return CorpusReader(source)
    return source


def run(source, backend="auto", config: CoocConfig | None = None) -> "CoocResult":
    """Co-occurrence counts of a corpus.

    Parameters
    ----------
    source : paths (files / folders), a :class:`CorpusReader`, a :class:`Batch`
        or an iterable of batches.  Read once; a second pass runs over the
        cached token hashes.
    backend : ``"auto"``, ``"cpu"``, ``"gpu"`` or a backend object.
    config : :class:`CoocConfig` (defaults: window 5, min_count 2, max_vocab 50000).

    Returns
    -------
    CoocResult
    """
    cfg = config or CoocConfig()
    be = get_backend(backend)
    cpu = be.name == "cpu"
    t0 = time.perf_counter()
    types = _TypeTable()
    cache = _TokenCache(cfg.cache_bytes)
    n_docs = n_tokens = n_bytes = 0
    try:
        for batch in _batches(source):
            n_docs += batch.n_docs
            n_bytes += batch.n_bytes
            if cpu:   # the type number of every token, from the bytes (a gather gives its id later)
                segments, nt = types.add_text(batch, cfg.text)
                n_tokens += nt
                for tt, off, footprint in segments:
                    cache.add(tt, off, footprint)
                del segments
            else:     # the hashes
                toks = tokenize(batch, be, cfg.text)
                n_tokens += toks.n_tokens
                if toks.n_tokens:
                    _gpu_type_counts(be, toks, types)
                cache.add(be.to_host(toks.tok_hash), be.to_host(toks.doc_tok_offsets))
                del toks
            del batch   # the text is not needed any more: memory for the pair pass
        t1 = time.perf_counter()
        terms, tnums, counts, term_rank = _select_vocab(types, cfg.min_count, cfg.max_vocab)
        wtab, divisor = cfg.weights() if not cfg.doc_mode else (None, 1)
        if cpu:
            import numba
            from kernels.cpu.cooc import gather_ids
            type_to_id = np.full(types.numbers, -1, np.int32)
            type_to_id[tnums] = np.arange(len(terms), dtype=np.int32)
            pairs = _CPUPairs(numba.get_num_threads(), len(terms), divisor == 1)
        else:
            hashes = types.hashes()[tnums]
            o = np.argsort(hashes)
            sorted_h = be.asarray(np.ascontiguousarray(hashes[o]))
            sorted_ids = be.asarray(o.astype(np.int32))
            pairs = _GPUPairs(be)
        del types
        for h, off in cache:
            if h.size == 0 or not terms:
                continue
            if cpu:
                ids = h   # type numbers -> term ids, in place
                gather_ids(type_to_id, h, ids)
            else:
                ids = _lookup_ids(be, sorted_h, sorted_ids, be.asarray(h))
            off = be.asarray(off)
            if cfg.doc_mode:
                pairs.add_doc(ids, off)
            else:
                pairs.add_window(ids, off, cfg.window, wtab)
            del h, off, ids
        a, b, vals = pairs.items()
    finally:
        cache.close()
    t2 = time.perf_counter()
    doc_freq = None
    if cfg.doc_mode:
        diag = a == b
        doc_freq = np.zeros(len(terms), np.int64)
        doc_freq[a[diag]] = vals[diag]
        a, b, vals = a[~diag], b[~diag], vals[~diag]
    res = CoocResult(cfg, terms, counts, doc_freq, a, b, vals, divisor, n_docs, n_tokens, n_bytes,
                     be.describe(), {"vocabulary_s": t1 - t0, "pairs_s": t2 - t1})
    res._rank_cache = term_rank
    return res


def _sort_key(v: np.ndarray, inplace: bool = False) -> np.ndarray:
    """Measure rounded to 1e-9 for sorting: values equal in exact arithmetic but a few ulps
    apart (different operands, e.g. 2*6/(3*4) and 1*6/(2*3)) then tie and go by terms.
    ``inplace``: ``v`` is a scratch array, rounded in place when it is float64."""
    if inplace and v.dtype == np.float64:
        return np.round(v, 9, out=v)
    return np.round(v.astype(np.float64), 9)


def _gpu_type_counts(be, toks, types: _TypeTable):
    """Count by key on the device, then fold the distinct hashes into the host table."""
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
    types.add(be.to_host(hs[starts]), be.to_host(counts).astype(np.int64),
              be.to_host(toks.tok_start[rep]), be.to_host(toks.tok_len[rep]), toks.host("norm"))


def cooccurrence(source, *, window=5, weighting="none", min_count=2, max_vocab=50000, measure="llr",
                 text: TextOptions = TextOptions(), device="auto") -> "CoocResult":
    """Keyword form of :func:`run`."""
    return run(source, device, CoocConfig(window=window, weighting=weighting, min_count=min_count,
                                          max_vocab=max_vocab, measure=measure, text=text))


@dataclass
class CoocResult:
    """Upper-triangle co-occurrence counts with the vocabulary; measures on demand.

    ``a[k] <= b[k]`` (term ids) with raw integer value ``raw[k]`` (weight units:
    the real weight is ``raw / divisor``).  Window mode: ``M[a, b] = raw`` off
    the diagonal and ``2 raw`` on it.  Document mode: ``M[a, b] = raw`` for
    ``a < b`` and ``doc_freq`` holds the document frequencies.
    """
    config: CoocConfig
    vocab: list[str]
    term_count: np.ndarray
    doc_freq: np.ndarray | None
    a: np.ndarray
    b: np.ndarray
    raw: np.ndarray
    divisor: int
    n_docs: int
    n_tokens: int
    n_bytes: int
    backend: str
    seconds: dict

    # -- counts and marginals (integer weight units) ---------------------------------------
    def _m_units(self, rows: np.ndarray | None = None) -> np.ndarray:
        """M[a, b] of each row (or of ``rows``) in weight units (int64)."""
        a, b, raw = (self.a, self.b, self.raw) if rows is None else (self.a[rows], self.b[rows], self.raw[rows])
        if self.config.doc_mode:
            return raw
        return np.where(a == b, 2 * raw, raw)

    def _margins(self) -> tuple[np.ndarray, int]:
        """(m or df per term, T or N) in weight units."""
        if self.config.doc_mode:
            return self.doc_freq, self.n_docs
        from kernels.cpu.cooc import marginal_sums
        m = marginal_sums(self.a, self.b, self.raw, len(self.vocab))
        return m, int(2 * self.raw.sum())

    @property
    def nnz(self) -> int:
        return int(self.raw.size)

    def counts(self, rows: np.ndarray | None = None) -> np.ndarray:
        """M[a, b] per row (or of ``rows``): int64 unweighted, float64 with harmonic weights."""
        m = self._m_units(rows)
        return m if self.divisor == 1 else m / self.divisor

    def total(self) -> float:
        """T = sum of M (window mode) or N documents (document mode)."""
        _, t = self._margins()
        return t if self.divisor == 1 else t / self.divisor

    def marginals(self) -> np.ndarray:
        """m_a (window mode, row sums of M) or document frequencies (document mode)."""
        m, _ = self._margins()
        return m if self.divisor == 1 else m / self.divisor

    def measure(self, name: str, rows: np.ndarray | None = None) -> np.ndarray:
        """One measure (count, pmi, ppmi, npmi or llr) of the rows ``rows`` (default: all rows)."""
        if name == "count":
            return self.counts(rows)
        from kernels.cpu.cooc import MEASURE_CODES, measure_rows
        if not hasattr(self, "_margin_cache"):
            self._margin_cache = self._margins()
        m, t = self._margin_cache
        sel = np.empty(0, np.int64) if rows is None else np.ascontiguousarray(rows, np.int64)
        if rows is not None and sel.size == 0:
            return np.empty(0, np.float64)
        out = np.empty(sel.size if rows is not None else self.raw.size, np.float64)
        measure_rows(MEASURE_CODES[name], self.a, self.b, self.raw, sel, np.asarray(m, np.int64),
                     np.int64(t), np.int64(self.divisor), not self.config.doc_mode, out)
        return out

    def measures(self, rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """count, pmi, ppmi, npmi, llr of every row (or of ``rows``; float64 except count)."""
        return {name: self.measure(name, rows) for name in MEASURES}

    # -- tables ----------------------------------------------------------------------------
    def _rank(self) -> np.ndarray:
        """Rank of each term id in code point order of the terms."""
        if not hasattr(self, "_rank_cache"):
            order = sorted(range(len(self.vocab)), key=self.vocab.__getitem__)
            rank = np.empty(len(self.vocab), np.int64)
            rank[np.array(order, np.int64)] = np.arange(len(order))
            self._rank_cache = rank
        return self._rank_cache

    def _check_measure(self, measure):
        measure = measure or self.config.measure
        if measure not in MEASURES:
            raise ParameterError(f"--measure must be one of {', '.join(MEASURES)}, got {measure!r}")
        return measure

    def _schema_meta(self) -> dict:
        c = self.config
        mode = ("document co-occurrence (measures from document counts: N documents, document frequencies)"
                if c.doc_mode else f"window {c.window}, weighting {c.weighting}")
        return {b"cooc": f"{mode}; min_count {c.min_count}, max_vocab {c.max_vocab}, "
                         f"{len(self.vocab)} terms, {self.n_docs} documents".encode()}

    def table(self, measure: str | None = None, top: int | None = None) -> pa.Table:
        """Rows term_a <= term_b, count, pmi, ppmi, npmi, llr; by ``measure`` descending, ties by terms.

        With ``top``, only the sort measure is computed for every row; the rows at or
        above the top-th value (ties included) are sorted and get the other measures."""
        measure = self._check_measure(measure)
        key = _sort_key(self.measure(measure), inplace=True)   # a fresh array
        sel = None
        if top is not None and top < key.size:
            from kernels.cpu.sort import kth_largest
            kth = kth_largest(key, top)
            sel = np.flatnonzero(key >= kth)
            key = key[sel]
        rank = self._rank()
        a, b = (self.a, self.b) if sel is None else (self.a[sel], self.b[sel])
        ra, rb = rank[a], rank[b]
        swap = ra > rb
        ia = np.where(swap, b, a)
        ib = np.where(swap, a, b)
        o = np.lexsort((np.where(swap, ra, rb), np.where(swap, rb, ra), -key))
        if top is not None:
            o = o[:top]
        ia, ib = ia[o], ib[o]
        rows = o if sel is None else sel[o]
        vocab = pa.array(self.vocab, pa.string())
        cols = {"term_a": vocab.take(pa.array(ia)), "term_b": vocab.take(pa.array(ib))}
        for name, v in self.measures(rows).items():
            cols[name] = pa.array(v)
        return pa.table(cols).replace_schema_metadata(self._schema_meta())

    def term_id(self, term: str) -> int:
        """Vocabulary id of ``term`` (normalised like the tokens); ParameterError if absent."""
        from engine.normalize import reference_tokens
        toks = reference_tokens(term, self.config.text.strip_accents)
        if len(toks) != 1:
            raise ParameterError(f"--term must be a single word after normalisation, got {term!r} "
                                 f"({len(toks)} tokens)")
        h = hash_token(toks[0])
        if not hasattr(self, "_hash_index"):
            from engine.text import hash_token as _ht
            self._hash_index = {_ht(t): i for i, t in enumerate(self.vocab)}
        i = self._hash_index.get(h)
        if i is None:
            raise ParameterError(f"--term: {term!r} is not in the vocabulary ({len(self.vocab)} terms after "
                                 f"--min-count {self.config.min_count} / --max-vocab {self.config.max_vocab}"
                                 f"{', stop words removed' if self.config.text.stopwords else ''})")
        return i

    def associates(self, term: str, measure: str | None = None, top: int | None = 10) -> pa.Table:
        """The terms most associated with ``term``: columns term, associate, count, measures."""
        measure = self._check_measure(measure)
        t = self.term_id(term)
        sel = np.flatnonzero(((self.a == t) | (self.b == t)) & (self.a != self.b))
        other = np.where(self.a[sel] == t, self.b[sel], self.a[sel])
        ms = self.measures(sel)
        rank = self._rank()
        order = np.lexsort((rank[other], -_sort_key(ms[measure])))
        if top is not None:
            order = order[:top]
        cols = {"term": pa.array([self.vocab[t]] * order.size, pa.string()),
                "associate": pa.array([self.vocab[i] for i in other[order]], pa.string())}
        for name in MEASURES:
            cols[name] = pa.array(ms[name][order])
        return pa.table(cols).replace_schema_metadata(self._schema_meta())

    def matrix(self, measure: str = "count"):
        """The symmetric V x V scipy.sparse CSR matrix of M (or of a measure on M's non-zeros)."""
        import scipy.sparse as sp
        measure = self._check_measure(measure)
        v = self.measures()[measure] if measure != "count" else self.counts()
        off = self.a != self.b
        rows = np.concatenate([self.a, self.b[off]])
        cols = np.concatenate([self.b, self.a[off]])
        data = np.concatenate([v, v[off]])
        n = len(self.vocab)
        return sp.csr_matrix((data, (rows, cols)), shape=(n, n))

    def vocab_table(self) -> pa.Table:
        cols = {"id": pa.array(np.arange(len(self.vocab))), "term": pa.array(self.vocab, pa.string()),
                "count": pa.array(self.term_count)}
        if self.doc_freq is not None:
            cols["doc_freq"] = pa.array(self.doc_freq)
        else:
            cols["marginal"] = pa.array(self.marginals())
        return pa.table(cols)

    @staticmethod
    def npz_targets(path, option: str = "--output") -> list:
        """The two files :meth:`write_npz` writes, as output-plan targets (keys ``option`` and
        ``option + ".vocab.tsv"``), so that a command checks both before the work."""
        from engine.output import Target, companion
        return [Target(option, Path(path), (".npz",)),
                companion(option, path, ".vocab.tsv", "the vocabulary")]

    def write_npz(self, path, plan=None) -> tuple[Path, Path]:
        """The count matrix (scipy .npz) and ``<stem>.vocab.tsv`` beside it, renamed together.

        Parameters
        ----------
        path : the ``.npz`` file.
        plan : the command's :class:`engine.output.OutputPlan` holding ``path`` as
            ``--output`` and its companion (:meth:`npz_targets`); the command commits.
            Without it, both are checked, written and renamed here.

        Returns
        -------
        (matrix path, vocabulary path)
        """
        import scipy.sparse as sp

        from engine.output import plan_outputs
        path = Path(path)
        main, vocab = (t.key for t in self.npz_targets(path))
        if plan is None:
            with plan_outputs({}, extra=self.npz_targets(path)) as mine:
                self.write_npz(path, plan=mine)
                mine.commit()
            return path, mine.path(vocab)
        with open(plan.temp(main), "wb") as f:  # a file: save_npz on a path adds ".npz"
            sp.save_npz(f, self.matrix("count"))
        vt = self.vocab_table()
        with open(plan.temp(vocab), "w", encoding="utf-8") as f:
            f.write("\t".join(vt.column_names) + "\n")
            for row in zip(*[vt.column(c).to_pylist() for c in vt.column_names]):
                f.write("\t".join(str(x) for x in row) + "\n")
        return path, plan.path(vocab)

    def summary(self) -> str:
        c = self.config
        mode = ("documents (measures use N documents and document frequencies)" if c.doc_mode
                else f"window {c.window}, weighting {c.weighting}")
        return (f"{self.n_docs} documents, {self.n_bytes / 1e6:.2f} MB, {self.n_tokens} tokens; "
                f"{len(self.vocab)} terms (min count {c.min_count}, max {c.max_vocab}), "
                f"{self.nnz} pairs; {mode}; {self.backend}")


# ---------------------------------------------------------------------------- corpus analyze
def analyze_section(paths_or_batches, backend, text_opts: TextOptions = TextOptions(), console=None,
                    n_terms: int = 5, n_assoc: int = 6, window: int = 5, measure: str = "llr") -> dict:
    """Print the co-occurrence section of ``corpus analyze``: top associates of the
    most frequent content words (stop words removed, words of 3+ letters); return them."""
    from rich.console import Console
    from rich.table import Table
    console = console or Console()
    opts = text_opts if text_opts.stopwords else replace(text_opts, stopwords=("fr", "en"))
    res = run(paths_or_batches, backend, CoocConfig(window=window, min_count=2, measure=measure, text=opts))
    heads = [t for t in res.vocab if t.isalpha() and len(t) >= 3][:n_terms]
    out = {}
    t = Table(title=f"Co-occurrence: top associates (window {window}, {measure.upper()}, stop words removed)")
    t.add_column("term")
    t.add_column("count", justify="right")
    t.add_column("associates (count)")
    for h in heads:
        at = res.associates(h, measure, n_assoc)
        assoc = list(zip(at.column("associate").to_pylist(), at.column("count").to_pylist()))
        out[h] = assoc
        t.add_row(h, str(int(res.term_count[res.vocab.index(h)])),
                  ", ".join(f"{a} ({c:g})" for a, c in assoc))
    console.print(t)
    return {"terms": out, "vocabulary": len(res.vocab), "pairs": res.nnz}
