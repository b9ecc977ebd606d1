"""Shingles and signatures: per backend kernels, :class:`TextSource` (the documents' UTF-8,
kept to rebuild the shingle sets that verification needs) and :class:`SignatureSet`.

Definitions
-----------
* Shingles: word n-grams (``word:N``, hash = the tokenizer's n-gram fold of
  token hashes) or character n-grams (``char:N``, xxHash64 of the normalised
  UTF-8 window) of the normalised text; a document with fewer than N tokens /
  characters has one shingle, its whole sequence; a document with none is
  *empty*: no signature, counted, never in a pair or cluster.
* Signature: for k = 1..perms, the minimum over the document's shingles of
  ``(a_k * h32 + b_k) mod 2**32`` (affine32, ``h32`` = high 32 bits of the
  shingle hash, ``a_k`` odd), ``a, b`` drawn from numpy's PCG64 seeded with
  ``seed``.

On the CPU one fused kernel goes from raw UTF-8 to signatures per document
(normalise + tokenise + shingle + minimum in per-thread scratch buffers), so no
corpus-wide token or shingle array exists; the exact verification rebuilds the
sorted shingle sets of only the documents of candidate pairs (a second fused
kernel).  The GPU runs the same cores as separate kernels (tokenize -> shingles
-> signatures); both give the same bits (tests).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from engine.corpus import Batch, batch_from_texts
from engine.corpus.batch import DeviceBatch
from engine.gpu.arrays import gather_spans, offsets_of, segment_of
from engine.minhash.config import MinHashConfig, _fused_args, parse_shingle, permutations
from engine.text import tokenize

__all__ = ["TextSource", "SignatureSet", "shingles", "unique_shingles", "signatures_from_hashes",
           "batch_signatures", "device_signatures"]


def shingles(toks, cfg: MinHashConfig, backend):
    """Raw shingle hashes of every document of ``toks`` and their offsets (backend arrays)."""
    xp = backend.xp
    kind, n = parse_shingle(cfg.shingle)
    k = backend.kernels.minhash
    nd = toks.batch.n_docs
    if kind == "word":
        m = xp.diff(toks.doc_tok_offsets)
    else:
        m = backend.codepoint_counts(toks.norm, toks.norm_offsets)
    counts = xp.where(m >= n, m - n + 1, xp.where(m > 0, 1, 0)).astype(np.int64)
    off = xp.zeros(nd + 1, dtype=np.int64)
    xp.cumsum(counts, out=off[1:])
    total = int(backend.scalar(off[-1]))
    out = xp.empty(total, np.uint64)
    if kind == "word":
        first = xp.empty(total, np.int64)
        sp = _splitter(backend)
        if sp is None or not sp.word_shingles(toks.tok_hash, toks.doc_tok_offsets, n, off, out, first):
            k.word_shingles(nd, toks.tok_hash, toks.doc_tok_offsets, np.int64(n), off, out, first)
    else:
        start = xp.empty(total, np.int64)
        ln = xp.empty(total, np.int32)
        m = m.astype(np.int64)
        sp = _splitter(backend)
        if sp is None or not sp.char_shingles(toks.norm, toks.norm_offsets, m, n, off, out, start, ln):
            k.char_shingles(nd, toks.norm, toks.norm_offsets, m, np.int64(n), off, out, start, ln)
    return out, off


def _splitter(backend):
    """The GPU backend's long-document splitter (engine.gpu.split); None on the CPU, whose
    kernels parallelise over documents themselves."""
    return getattr(backend, "splitter", None)


def unique_shingles(h, off, backend):
    """Per document sorted distinct shingle hashes: (values, offsets), on the backend."""
    return backend.pick(cpu=_unique_shingles_cpu, gpu=_unique_shingles_sorted)(h, off, backend)


def _unique_shingles_cpu(h, off, backend):
    """One sort + dedup per document, in parallel over the documents (kernels.cpu.minhash)."""
    from kernels.cpu import minhash as k
    nd = off.size - 1
    counts = k.sort_unique(h, off)
    uoff = np.zeros(nd + 1, dtype=np.int64)
    np.cumsum(counts, out=uoff[1:])
    out = np.empty(int(uoff[-1]), np.uint64)
    k.compact(h, off, counts, uoff, out)
    return out, uoff


def _unique_shingles_sorted(h, off, backend):
    """Two stable sorts over the whole batch (by hash, then by document) and a run mask:
    array-module calls only, valid on numpy and CuPy 13/14 alike."""
    xp = backend.xp
    nd = int(off.size) - 1
    doc = segment_of(xp, off, int(h.size))
    o1 = xp.argsort(h, kind="stable")
    o2 = xp.argsort(doc[o1], kind="stable")
    order = o1[o2]
    hs, ds = h[order], doc[order]
    keep = xp.ones(hs.size, dtype=bool)
    if hs.size > 1:
        keep[1:] = (hs[1:] != hs[:-1]) | (ds[1:] != ds[:-1])
    uh = hs[keep]
    uc = xp.bincount(ds[keep], minlength=nd).astype(np.int64)
    return uh, offsets_of(xp, uc)


def signatures_from_hashes(h, off, cfg_or_perms, backend, seed: int | None = None):
    """Signatures (uint32 [docs, perms], backend array) of flat shingle hashes ``h`` with offsets ``off``."""
    if isinstance(cfg_or_perms, MinHashConfig):
        perms, seed = cfg_or_perms.perms, cfg_or_perms.seed
    else:
        perms = int(cfg_or_perms)
        seed = 1 if seed is None else seed
    pa_, pb_ = permutations(perms, seed)
    xp = backend.xp
    nd = int(off.size) - 1
    sig = xp.empty((nd, perms), np.uint32)
    h, off, pa_, pb_ = (backend.to_device(a) for a in (h, off, pa_, pb_))
    sp = _splitter(backend)
    if sp is None or not sp.signatures(h, off, pa_, pb_, sig):
        backend.kernels.minhash.signatures(nd * perms, h, off, pa_, pb_, sig)
    return sig



# ---------------------------------------------------------------------------- signatures of a corpus
class TextSource:
    """The raw UTF-8 of a run's documents (flat arrays, see :class:`engine.minhash.job.MinHashPartial`)
    kept so that the shingle sets of the few documents that need exact verification are
    rebuilt on demand instead of materialising every document's shingles."""

    def __init__(self, cfg: MinHashConfig, backend):
        self.cfg = cfg
        self.backend = backend
        self.bases: list[int] = []
        self.datas: list[np.ndarray] = []
        self.offsets: list[np.ndarray] = []
        self.n_docs = 0

    @classmethod
    def from_flat(cls, cfg: MinHashConfig, backend, data: np.ndarray, offsets: np.ndarray) -> "TextSource":
        """The documents of one flat UTF-8 array ``data`` with int64 ``offsets`` (n_docs + 1)."""
        src = cls(cfg, backend)
        src.add(Batch([""] * (int(offsets.size) - 1), data, offsets))
        return src
        return src

    def add(self, batch: Batch) -> None:
        self.bases.append(self.n_docs)
        self.datas.append(batch.data)
        self.offsets.append(batch.offsets)
        self.n_docs += batch.n_docs

    def doc_bytes(self, docs: np.ndarray) -> np.ndarray:
        """UTF-8 length of the documents ``docs`` (global indices)."""
        docs = np.asarray(docs, dtype=np.int64)
        bases = np.asarray(self.bases + [self.n_docs], dtype=np.int64)
        which = np.searchsorted(bases, docs, side="right") - 1
        out = np.empty(docs.size, np.int64)
        for j in np.unique(which):
            sel = which == j
            off = self.offsets[j]
            local = docs[sel] - bases[j]
            out[sel] = off[local + 1] - off[local]
        return out

    def batch(self, docs: np.ndarray) -> Batch:
        """The documents ``docs`` (ascending global indices) as one Batch."""
        docs = np.asarray(docs, dtype=np.int64)
        bases = np.asarray(self.bases + [self.n_docs], dtype=np.int64)
        which = np.searchsorted(bases, docs, side="right") - 1
        from kernels.cpu.minhash import gather_ranges  # host-side copy, whatever the backend
        parts, lens = [], []
        on_device = not all(isinstance(d, np.ndarray) for d in self.datas)
        for j in np.unique(which):
            local = docs[which == j] - bases[j]
            off = self.offsets[j]
            s, e = off[local], off[local + 1]
            ln = e - s
            if on_device:   # texts read by cuDF stay on the device: gathered there
                be = self.backend
                part = gather_spans(be, be.to_device(self.datas[j]), be.to_device(s), be.to_device(ln))[0]
            else:
                sub = np.zeros(ln.size + 1, np.int64)
                np.cumsum(ln, out=sub[1:])
                part = np.empty(int(sub[-1]), np.uint8)
                gather_ranges(self.datas[j], np.ascontiguousarray(s), sub, part)
            parts.append(part)
            lens.append(ln)
        ln = np.concatenate(lens) if lens else np.empty(0, np.int64)
        off = np.zeros(ln.size + 1, np.int64)
        np.cumsum(ln, out=off[1:])
        if on_device:
            be = self.backend
            data = be.xp.concatenate(parts) if parts else be.xp.empty(0, np.uint8)
            return DeviceBatch([""] * int(docs.size), data, be.to_device(off), 0, be, int(off[-1]))
        data = np.concatenate(parts) if parts else np.empty(0, np.uint8)
        return Batch([""] * int(docs.size), data, off)

    def shingle_sets(self, docs, raw_counts, backend):
        """Sorted distinct shingle hashes (backend array) and host offsets of ``docs``.

        CPU: one fused pass from the bytes (``text_shingle_sets``, sized by the raw
        shingle counts of the signature pass); GPU: tokenize -> shingles -> sort/unique.
        """
        return backend.pick(cpu=self._shingle_sets_fused, gpu=self._shingle_sets_chained)(docs, raw_counts, backend)

    def _shingle_sets_chained(self, docs, raw_counts, backend):
        batch = self.batch(docs)
        h, off = shingles(tokenize(batch, backend, self.cfg.text), self.cfg, backend)
        uh, uoff = unique_shingles(h, off, backend)
        return uh, backend.to_host(uoff)

    def _shingle_sets_fused(self, docs, raw_counts, backend):
        from kernels.cpu import minhash as k
        batch = self.batch(docs)
        nd = batch.n_docs
        off = np.zeros(nd + 1, np.int64)
        np.cumsum(raw_counts, out=off[1:])
        out = np.empty(int(off[-1]), np.uint64)
        counts = np.empty(nd, np.int64)
        k.text_shingle_sets(batch.data, batch.offsets, *_fused_args(self.cfg), off, out, counts)
        slow = np.flatnonzero(counts < 0)
        if slow.size:  # the exact slow normalisation path, then the same sort/unique
            sub = batch_from_texts([batch.text(int(d)) for d in slow])
            h, so = shingles(tokenize(sub, backend, self.cfg.text), self.cfg, backend)
            uc = k.sort_unique(h, so)
            for i, d in enumerate(slow):
                out[off[d]:off[d] + uc[i]] = h[so[i]:so[i] + uc[i]]
            counts[slow] = uc
        uoff = np.zeros(nd + 1, np.int64)
        np.cumsum(counts, out=uoff[1:])
        uh = np.empty(int(uoff[-1]), np.uint64)
        k.compact(out, off, counts, uoff, uh)
        return uh, uoff

    def shingles(self, docs, backend):
        """Raw shingle hashes (backend array) and host offsets of the documents ``docs``."""
        batch = self.batch(docs)
        h, off = shingles(tokenize(batch, backend, self.cfg.text), self.cfg, backend)
        return h, backend.to_host(off).astype(np.int64)


@dataclass
class SignatureSet:
    """Signatures of a corpus and, when kept, the source of its shingle sets.

    ``sig`` may be given as a device array (the GPU's signatures stay there: LSH and
    verification read :meth:`device_sig`); :attr:`sig` is then copied to the host on first
    use only, through ``holder`` (the backend holding it), which counts the copy.
    """
    doc_ids: list
    _sig: object               # uint32 [docs, perms], host or (with holder) device
    n_shingles: np.ndarray     # int64, raw shingles per document (0 = empty document)
    meta: dict
    source: Optional[TextSource] = None
    n_bytes: int = 0
    _all: Optional[tuple] = field(default=None, repr=False)
    holder: object = field(default=None, repr=False)

    @property
    def sig(self) -> np.ndarray:
        """uint32 [docs, perms] on the host."""
        if self.holder is not None:
            self._sig, self.holder = self.holder.to_host(self._sig), None
        return self._sig

    def device_sig(self, backend):
        """The signatures on ``backend`` (no copy when they are there already)."""
        return backend.to_device(self._sig if self.holder is backend else self.sig)

    @property
    def n_docs(self) -> int:
        return len(self.doc_ids)

    @property
    def empty(self) -> np.ndarray:
        return self.n_shingles == 0

    def _all_shingles(self):
        if self._all is None:
            be = self.source.backend
            h, off = self.source.shingles(np.arange(self.n_docs), be)
            self._all = (be.to_host(h), off)
        return self._all

    @property
    def sh_hash(self) -> Optional[np.ndarray]:
        """uint64 raw shingle hashes of every document (built on first use; None without source)."""
        return None if self.source is None else self._all_shingles()[0]

    @property
    def sh_offsets(self) -> Optional[np.ndarray]:
        return None if self.source is None else self._all_shingles()[1]




def batch_signatures(batch: Batch, backend, cfg: MinHashConfig, out: np.ndarray | None = None):
    """(signatures [docs, perms], raw shingle counts) of one batch, host arrays.

    CPU: one fused pass (``kernels.cpu.minhash.text_signatures``) from the raw
    bytes; documents that need the exact slow normalisation, and the GPU, take
    the unfused path tokenize -> shingles -> signatures (same cores, same bits).
    ``out``: a C-contiguous uint32 [docs, perms] host array to write into.
    """
    sig = np.empty((batch.n_docs, cfg.perms), np.uint32) if out is None else out
    return backend.pick(cpu=_batch_signatures_fused, gpu=_batch_signatures_chained)(batch, backend, cfg, sig)


def _batch_signatures_chained(batch: Batch, backend, cfg: MinHashConfig, sig: np.ndarray):
    dev, nsh = device_signatures(batch, backend, cfg)
    sig[...] = backend.to_host(dev)
    return sig, nsh


def device_signatures(batch: Batch, backend, cfg: MinHashConfig):
    """(signatures [docs, perms] on the GPU backend, raw shingle counts on the host) of one
    batch: tokenize -> shingles -> signatures, nothing but the counts copied back."""
    toks = tokenize(batch, backend, cfg.text)
    h, off = shingles(toks, cfg, backend)
    nsh = backend.to_host(backend.xp.diff(off)).astype(np.int64)
    return signatures_from_hashes(h, off, cfg, backend), nsh


def _batch_signatures_fused(batch: Batch, backend, cfg: MinHashConfig, sig: np.ndarray):
    from kernels.cpu.minhash import text_signatures
    nd = batch.n_docs
    pa_, pb_ = permutations(cfg.perms, cfg.seed)
    nsh = np.empty(nd, np.int64)
    text_signatures(batch.data, batch.offsets, *_fused_args(cfg), pa_, pb_, sig, nsh)
    slow = np.flatnonzero(nsh < 0)
    if slow.size:
        sub = batch_from_texts([batch.text(int(d)) for d in slow])
        h, off = shingles(tokenize(sub, backend, cfg.text), cfg, backend)
        sig[slow] = signatures_from_hashes(h, off, cfg, backend)
        nsh[slow] = np.diff(off)
    return sig, nsh
