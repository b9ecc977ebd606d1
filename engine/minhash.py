"""MinHash signatures, LSH candidate pairs, verification, clusters and near-duplicate removal.

Library use::

    from engine.minhash import MinHashConfig, run
    res = run(["corpus.jsonl"], get_backend("auto"), MinHashConfig(threshold=0.8))
    res.pairs_table()      # doc_a, doc_b, estimate, jaccard
    res.clusters_table()   # doc_id, cluster (id of the representative), size
    res.summary()          # documents, shingles, candidate pairs, verified pairs, ...

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
  ``--seed``.  Estimate of the Jaccard similarity of two documents = fraction
  of equal slots over all perms.
* LSH: ``bands x rows`` slots (from ``--threshold`` by minimising the sum of
  the false-positive and false-negative areas under the S-curve, datasketch's
  method, or given); documents whose band keys agree in some band are
  candidates.  Buckets above ``max_bucket`` documents are linked as a chain.
* Verification: exact Jaccard of the two sets of 64-bit shingle hashes (or the
  estimate with ``verify=False``); pairs at or above the threshold are kept.
* Clusters: connected components of kept pairs; representative = the first
  member in corpus order; dedup keeps representatives and unclustered docs.

Pipeline
--------
On the CPU one fused kernel goes from raw UTF-8 to signatures per document
(normalise + tokenise + shingle + minimum in per-thread scratch buffers), so no
corpus-wide token or shingle array exists; the run keeps the batches' bytes
(zero-copy) and rebuilds the sorted shingle sets of only the documents of
candidate pairs for exact verification (a second fused kernel).  The GPU runs
the same cores as separate kernels (tokenize -> shingles -> signatures); both
give the same bits (tests).  Signatures grow in one host array; LSH groups one
band at a time.
"""

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Optional

import numpy as np
import pyarrow as pa

from engine.corpus import Batch, CorpusError, CorpusReader, batch_from_texts
from engine.text import ParameterError, TextOptions, tokenize

__all__ = ["MinHashConfig", "MinHashResult", "SignatureSet", "run", "compute_signatures",
           "permutations", "optimal_lsh_params", "exact_jaccard", "parse_shingle", "similarity_matrix",
           "load_signatures", "save_signatures", "write_dedup", "analyze_section",
           "FAMILY", "MAX_SIMILARITY_DOCS"]

FAMILY = "affine32"
MAX_SIMILARITY_DOCS = 2000
# LSH weights of the false-positive and false-negative areas.  Verification
# removes false positives at the cost of one exact Jaccard each, while a false
# negative is a near-duplicate lost for good, so misses weigh 9x more than
# datasketch's default (0.5, 0.5): at threshold 0.8 with 128 permutations that
# is 14 x 9 (a pair at J = 0.85 is a candidate with probability 0.975) instead of
# 9 x 13 (0.69).
FP_WEIGHT = 0.1
FN_WEIGHT = 0.9
FORMAT_VERSION = 1
_META_KEY = b"corpus_engine.minhash"


# ---------------------------------------------------------------------------- parameters
def parse_shingle(spec: str) -> tuple[str, int]:
    """``"word:5"`` -> ("word", 5); ``"char:5"`` -> ("char", 5)."""
    msg = f"--shingle must be word:N or char:N with N an integer >= 1, got {spec!r}"
    if not isinstance(spec, str) or spec.count(":") != 1:
        raise ParameterError(msg)
    kind, n = spec.split(":")
    kind = kind.strip().lower()
    if kind not in ("word", "char") or not n.strip().isdigit() or int(n) < 1:
        raise ParameterError(msg)
    if int(n) > 64:
        raise ParameterError(f"--shingle: N must be at most 64, got {spec!r}")
    return kind, int(n)


def _fp_fn_areas(threshold: float, bands: np.ndarray, rows: np.ndarray):
    """Areas under the LSH S-curve ``1 - (1 - s**r)**b`` below (FP) and above (FN) the threshold.

    Gauss-Legendre quadrature (64 nodes per interval) vectorised over all (b, r).
    """
    x, w = np.polynomial.legendre.leggauss(64)

    def integral(lo, hi, f):
        s = (hi - lo) / 2 * x + (hi + lo) / 2
        return (hi - lo) / 2 * (f(s[None, :]) @ w)

    b = bands[:, None].astype(float)
    r = rows[:, None].astype(float)
    fp = integral(0.0, threshold, lambda s: 1 - (1 - s ** r) ** b)
    fn = integral(threshold, 1.0, lambda s: (1 - s ** r) ** b)
    return fp, fn


def optimal_lsh_params(threshold: float, perms: int, fp_weight: float = FP_WEIGHT,
                       fn_weight: float = FN_WEIGHT) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= perms minimising ``fp_weight*FP + fn_weight*FN``.

    The method of datasketch's ``MinHashLSH`` (``_optimal_param``), computed here
    with vectorised quadrature over every (b, r) at once.
    """
    pairs = [(b, r) for b in range(1, perms + 1) for r in range(1, perms // b + 1)]
    bands = np.array([p[0] for p in pairs])
    rows = np.array([p[1] for p in pairs])
    fp, fn = _fp_fn_areas(threshold, bands, rows)
    err = fp * fp_weight + fn * fn_weight
    i = int(np.argmin(err))  # first minimum, in datasketch's (b, r) scan order
    return int(bands[i]), int(rows[i])


@dataclass(frozen=True)
class MinHashConfig:
    """Parameters of a MinHash run (validated on construction: :class:`ParameterError`)."""
    shingle: str = "word:5"
    perms: int = 128
    threshold: float = 0.8
    bands: Optional[int] = None
    rows: Optional[int] = None
    seed: int = 1
    verify: bool = True
    max_bucket: int = 64
    text: TextOptions = field(default_factory=TextOptions)

    def __post_init__(self):
        parse_shingle(self.shingle)
        if not isinstance(self.perms, (int, np.integer)) or isinstance(self.perms, bool) or self.perms < 1:
            raise ParameterError(f"--perms must be an integer >= 1, got {self.perms!r}")
        if self.perms > 4096:
            raise ParameterError(f"--perms must be at most 4096, got {self.perms!r}")
        try:
            t = float(self.threshold)
        except (TypeError, ValueError):
            t = float("nan")
        if not (0.0 < t <= 1.0):
            raise ParameterError(f"--threshold must be in (0, 1], got {self.threshold!r}")
        if (self.bands is None) != (self.rows is None):
            raise ParameterError("--bands and --rows must be given together "
                                 f"(got bands={self.bands!r}, rows={self.rows!r})")
        if self.bands is not None:
            for name, v in (("bands", self.bands), ("rows", self.rows)):
                if not isinstance(v, (int, np.integer)) or v < 1:
                    raise ParameterError(f"--{name} must be an integer >= 1, got {v!r}")
            if self.bands * self.rows > self.perms:
                raise ParameterError(f"--bands x --rows must be at most --perms ({self.perms}), "
                                     f"got {self.bands} x {self.rows} = {self.bands * self.rows}")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ParameterError(f"--seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.max_bucket, (int, np.integer)) or self.max_bucket < 2:
            raise ParameterError(f"--max-bucket must be an integer >= 2, got {self.max_bucket!r}")

    @property
    def shingle_kind(self) -> str:
        return parse_shingle(self.shingle)[0]

    @property
    def shingle_n(self) -> int:
        return parse_shingle(self.shingle)[1]

    def lsh_params(self) -> tuple[int, int]:
        if self.bands is not None:
            return int(self.bands), int(self.rows)
        return _cached_lsh(float(self.threshold), int(self.perms))

    def signature_meta(self) -> dict:
        """What makes two signature sets comparable."""
        kind, n = parse_shingle(self.shingle)
        return {"family": FAMILY, "perms": int(self.perms), "seed": int(self.seed),
                "shingle": f"{kind}:{n}", "stopwords": list(self.text.stopwords),
                "strip_accents": bool(self.text.strip_accents),
                "min_token_len": int(self.text.min_token_len)}


_LSH_CACHE: dict = {}


def _cached_lsh(threshold: float, perms: int) -> tuple[int, int]:
    key = (threshold, perms)
    if key not in _LSH_CACHE:
        _LSH_CACHE[key] = optimal_lsh_params(threshold, perms)
    return _LSH_CACHE[key]


def permutations(perms: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine32 parameters (a odd, b) of ``perms`` permutations, from PCG64(``seed``)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    a = (rng.integers(0, 1 << 31, perms, dtype=np.uint64) * 2 + 1).astype(np.uint32)
    b = rng.integers(0, 1 << 32, perms, dtype=np.uint64).astype(np.uint32)
    return a, b


# ---------------------------------------------------------------------------- kernels per backend
def _k(backend):
    if backend.name == "gpu":
        from kernels.cuda import minhash
    else:
        from kernels.cpu import minhash
    return minhash


def _launch(backend, kernel, n, *args):
    if backend.name == "gpu":
        backend.launch(kernel, n, *args)
    else:
        kernel(*args)


def shingles(toks, cfg: MinHashConfig, backend):
    """Raw shingle hashes of every document of ``toks`` and their offsets (backend arrays)."""
    xp = backend.xp
    kind, n = parse_shingle(cfg.shingle)
    k = _k(backend)
    nd = toks.batch.n_docs
    if kind == "word":
        m = xp.diff(toks.doc_tok_offsets)
    else:
        m = backend.codepoint_counts(toks.norm, toks.norm_offsets)
    counts = xp.where(m >= n, m - n + 1, xp.where(m > 0, 1, 0)).astype(np.int64)
    off = xp.zeros(nd + 1, dtype=np.int64)
    xp.cumsum(counts, out=off[1:])
    total = int(off[-1])
    out = xp.empty(total, np.uint64)
    if kind == "word":
        first = xp.empty(total, np.int64)
        _launch(backend, k.word_shingles, nd, toks.tok_hash, toks.doc_tok_offsets, np.int64(n),
                off, out, first)
    else:
        start = xp.empty(total, np.int64)
        ln = xp.empty(total, np.int32)
        _launch(backend, k.char_shingles, nd, toks.norm, toks.norm_offsets, m.astype(np.int64),
                 np.int64(n), off, out, start, ln)
    return out, off


def unique_shingles(h, off, backend):
    """Per document sorted distinct shingle hashes: (values, offsets), on the backend."""
    xp = backend.xp
    nd = off.size - 1
    if backend.name == "gpu":
        counts = xp.diff(off)
        doc = xp.repeat(xp.arange(nd, dtype=np.int64), counts)
        o1 = xp.argsort(h, kind="stable")
        o2 = xp.argsort(doc[o1], kind="stable")
        order = o1[o2]
        hs, ds = h[order], doc[order]
        keep = xp.ones(hs.size, dtype=bool)
        if hs.size > 1:
            keep[1:] = (hs[1:] != hs[:-1]) | (ds[1:] != ds[:-1])
        uh = hs[keep]
        uc = xp.bincount(ds[keep], minlength=nd).astype(np.int64)
        uoff = xp.zeros(nd + 1, dtype=np.int64)
        xp.cumsum(uc, out=uoff[1:])
        return uh, uoff
    k = _k(backend)
    counts = k.sort_unique(h, off)
    uoff = np.zeros(nd + 1, dtype=np.int64)
    np.cumsum(counts, out=uoff[1:])
    out = np.empty(int(uoff[-1]), np.uint64)
    k.compact(h, off, counts, uoff, out)
    return out, uoff


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
    k = _k(backend)
    _launch(backend, k.signatures, nd * perms, backend.asarray(h), backend.asarray(off),
            backend.asarray(pa_), backend.asarray(pb_), sig)
    return sig


# ---------------------------------------------------------------------------- signatures of a corpus
class TextSource:
    """The raw UTF-8 of a run's documents, kept (zero-copy: the batches' own arrays) so
    that the shingle sets of the few documents that need exact verification are
    rebuilt on demand instead of materialising every document's shingles."""

    def __init__(self, cfg: MinHashConfig, backend):
        self.cfg = cfg
        self.backend = backend
        self.bases: list[int] = []
        self.datas: list[np.ndarray] = []
        self.offsets: list[np.ndarray] = []
        self.n_docs = 0

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
        for j in np.unique(which):
            local = docs[which == j] - bases[j]
            off = self.offsets[j]
            s, e = off[local], off[local + 1]
            ln = e - s
            sub = np.zeros(ln.size + 1, np.int64)
            np.cumsum(ln, out=sub[1:])
            part = np.empty(int(sub[-1]), np.uint8)
            gather_ranges(self.datas[j], np.ascontiguousarray(s), sub, part)
            parts.append(part)
            lens.append(ln)
        ln = np.concatenate(lens) if lens else np.empty(0, np.int64)
        off = np.zeros(ln.size + 1, np.int64)
        np.cumsum(ln, out=off[1:])
        data = np.concatenate(parts) if parts else np.empty(0, np.uint8)
        return Batch([""] * int(docs.size), data, off)

    def shingle_sets(self, docs, raw_counts, backend):
        """Sorted distinct shingle hashes (backend array) and host offsets of ``docs``.

        CPU: one fused pass from the bytes (``text_shingle_sets``, sized by the raw
        shingle counts of the signature pass); GPU: tokenize -> shingles -> sort/unique.
        """
        if backend.name != "cpu":
            h, off = self.shingles(docs, backend)
            uh, uoff = unique_shingles(h, backend.asarray(off), backend)
            return uh, backend.to_host(uoff)
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
    """Signatures of a corpus (host arrays) and, when kept, the source of its shingle sets."""
    doc_ids: list
    sig: np.ndarray            # uint32 [docs, perms]
    n_shingles: np.ndarray     # int64, raw shingles per document (0 = empty document)
    meta: dict
    source: Optional[TextSource] = None
    n_bytes: int = 0
    _all: Optional[tuple] = field(default=None, repr=False)

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


def _batches(corpus) -> Iterable[Batch]:
    """Batches of ``corpus``: a Batch, a CorpusReader, a path (str or Path), a list of
    ``pathlib.Path``, a list of Batch, or a list of ``str`` taken as the texts themselves."""
    if isinstance(corpus, Batch):
        return [corpus]
    if isinstance(corpus, (str, Path)):
        return CorpusReader([corpus])
    if isinstance(corpus, CorpusReader):
        return corpus
    corpus = list(corpus)
    if corpus and all(isinstance(c, str) for c in corpus):
        return [batch_from_texts(corpus)]
    if corpus and all(isinstance(c, Path) for c in corpus):
        return CorpusReader(corpus)
    return corpus


def _fused_args(cfg: MinHashConfig) -> tuple:
    """The text and shingle arguments of the fused CPU kernels (``doc_shingles``)."""
    from engine.normalize import get_tables, max_expansion
    from engine.text import stopword_hashes
    kind, n = parse_shingle(cfg.shingle)
    t = get_tables(cfg.text.strip_accents)
    stop = stopword_hashes(cfg.text) if cfg.text.stopwords else np.empty(0, np.uint64)
    return (t.flags, t.map_off, t.map_len, t.map_cps, np.int64(max_expansion(t)), stop,
            np.int64(cfg.text.min_token_len), kind == "char", np.int64(n))


def batch_signatures(batch: Batch, backend, cfg: MinHashConfig, out: np.ndarray | None = None):
    """(signatures [docs, perms], raw shingle counts) of one batch, host arrays.

    CPU: one fused pass (``kernels.cpu.minhash.text_signatures``) from the raw
    bytes; documents that need the exact slow normalisation, and the GPU, take
    the unfused path tokenize -> shingles -> signatures (same cores, same bits).
    ``out``: a C-contiguous uint32 [docs, perms] host array to write into.
    """
    nd = batch.n_docs
    sig = np.empty((nd, cfg.perms), np.uint32) if out is None else out
    if backend.name != "cpu":
        toks = tokenize(batch, backend, cfg.text)
        h, off = shingles(toks, cfg, backend)
        nsh = backend.to_host(backend.xp.diff(off)).astype(np.int64)
        sig[...] = backend.to_host(signatures_from_hashes(h, off, cfg, backend))
        return sig, nsh
    from kernels.cpu.minhash import text_signatures
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


def compute_signatures(corpus, backend, cfg: MinHashConfig, keep_shingles: bool | None = None,
                       on_batch=None) -> SignatureSet:
    """Signatures of every document of ``corpus`` (paths, a reader, batches or texts).

    With ``keep_shingles`` (default: ``cfg.verify``) the documents' bytes are kept
    (references to the batches, no copy) to rebuild shingle sets for verification.
    Signatures go straight into one growing host array (``realloc``: no second copy
    of all signatures at the end).
    """
    keep = cfg.verify if keep_shingles is None else keep_shingles
    ids, nsh = [], []
    source = TextSource(cfg, backend) if keep else None
    nbytes = 0
    perms = cfg.perms
    sig = np.empty((0, perms), np.uint32)
    n = 0
    for batch in _batches(corpus):
        need = n + batch.n_docs
        if need > sig.shape[0]:
            sig.resize((max(need, sig.shape[0] * 5 // 4, 1024), perms), refcheck=False)
        ns = batch_signatures(batch, backend, cfg, out=sig[n:need])[1]  # no view of sig outlives this
        n = need
        nsh.append(ns)
        if source is not None:
            source.add(batch)
        ids.extend(batch.doc_ids)
        nbytes += batch.n_bytes
        if on_batch is not None:
            on_batch(batch)
    sig.resize((n, perms), refcheck=False)
    n_sh = np.concatenate(nsh) if nsh else np.empty(0, np.int64)
    return SignatureSet(ids, sig, n_sh, cfg.signature_meta(), source, nbytes)


# ---------------------------------------------------------------------------- LSH + verification
def candidate_pairs(sig, live, bands: int, rows: int, max_bucket: int, backend):
    """Distinct candidate pairs (a < b, sorted) of the documents ``live`` (indices into ``sig``).

    Band keys are computed band-major and grouped one band at a time (keys of
    different bands never meet: the band index seeds its key), so the sort buffers
    are one band long.  Each band is one plain sort of ``key_prefix | position``
    (the key's high ``64 - ceil(log2(n))`` bits above the document's position
    among ``live``): equal keys come out together and in corpus order, with no
    argsort and no gathers.  Truncating the key can only add candidates (about
    ``n**2 / 2**(65 - log2 n)`` per band, < 0.1 for a million documents), which
    verification (or the estimate) then rejects.
    """
    xp = backend.xp
    k = _k(backend)
    live = backend.asarray(np.asarray(live, dtype=np.int64))
    n = int(live.size)
    if n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    s = backend.asarray(sig)
    keys = xp.empty((bands, s.shape[0]), np.uint64)  # all rows: no copy of the live signatures
    _launch(backend, k.band_keys, s.shape[0] * bands, s, np.int64(bands), np.int64(rows), keys)
    if n != s.shape[0]:
        keys = keys[:, live]
    del s
    bits = np.uint64(max(1, (n - 1).bit_length()))
    low = (np.uint64(1) << bits) - np.uint64(1)
    pos = xp.arange(n, dtype=np.uint64)
    code = None
    for j in range(bands):
        packed = ((keys[j] >> bits) << bits) | pos
        packed.sort()
        hi = packed >> bits
        brk = (xp.flatnonzero(hi[1:] != hi[:-1]) + 1).astype(np.int64)
        del hi
        starts = xp.concatenate([xp.zeros(1, np.int64), brk])
        ends = xp.concatenate([brk, xp.full(1, n, np.int64)])
        size = ends - starts
        multi = size >= 2
        starts, ends, size = starts[multi], ends[multi], size[multi]
        if int(starts.size) == 0:
            continue
        sd = live[(packed & low).astype(np.int64)]
        del packed
        cnt = xp.where(size > max_bucket, size - 1, size * (size - 1) // 2).astype(np.int64)
        off = xp.zeros(cnt.size + 1, np.int64)
        xp.cumsum(cnt, out=off[1:])
        total = int(off[-1])
        out_a = xp.empty(total, np.int64)
        out_b = xp.empty(total, np.int64)
        _launch(backend, k.candidate_pairs, int(starts.size), sd, starts, ends,
                np.int64(max_bucket), off, out_a, out_b)
        c = out_a * np.int64(1 << 32) + out_b
        del out_a, out_b
        code = c if code is None else xp.concatenate([code, c])  # merged band by band: memory
        code.sort()                                               # stays ~ distinct pairs + one band
        if code.size > 1:
            code = code[xp.concatenate([xp.ones(1, bool), code[1:] != code[:-1]])]
    if code is None:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    a = backend.to_host(code >> np.int64(32))
    b = backend.to_host(code & np.int64(0xFFFFFFFF))
    return a.astype(np.int64), b.astype(np.int64)


def pair_estimates(sig, a, b, backend) -> np.ndarray:
    """Estimated Jaccard (fraction of equal signature slots) of the pairs (a[i], b[i])."""
    xp = backend.xp
    if len(a) == 0:
        return np.empty(0, np.float64)
    out = xp.empty(len(a), np.int64)
    _launch(backend, _k(backend).pair_equal, len(a), backend.asarray(sig), backend.asarray(a),
            backend.asarray(b), np.int64(sig.shape[1]), out)
    return backend.to_host(out) / sig.shape[1]


def pair_jaccard(sh_hash, sh_off, a, b, backend) -> np.ndarray:
    """Exact Jaccard of the distinct shingle sets of the pairs (a[i], b[i])."""
    xp = backend.xp
    if len(a) == 0:
        return np.empty(0, np.float64)
    inter = xp.empty(len(a), np.int64)
    _launch(backend, _k(backend).pair_intersections, len(a), backend.asarray(sh_hash),
            backend.asarray(sh_off), backend.asarray(a), backend.asarray(b), inter)
    inter = backend.to_host(inter)
    cnt = np.diff(sh_off)
    union = cnt[a] + cnt[b] - inter
    return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


VERIFY_CHUNK_BYTES = 32 << 20


def exact_jaccard(sigs: SignatureSet, a, b, backend) -> np.ndarray:
    """Exact Jaccard of the shingle sets of the pairs (a[i], b[i]) of ``sigs`` (kept source).

    Only the documents of the pairs are re-shingled, sorted and deduplicated, in
    chunks of pairs of about ``VERIFY_CHUNK_BYTES`` of text (bounded memory).
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if a.size == 0:
        return np.empty(0, np.float64)
    lens = sigs.source.doc_bytes(np.concatenate([a, b]))
    cum = np.cumsum(lens[:a.size] + lens[a.size:])
    cuts = np.searchsorted(cum, np.arange(VERIFY_CHUNK_BYTES, int(cum[-1]), VERIFY_CHUNK_BYTES))
    bounds = np.unique(np.concatenate([[0], cuts + 1, [a.size]]).clip(0, a.size))
    out = np.empty(a.size, np.float64)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        ca, cb = a[lo:hi], b[lo:hi]
        docs = np.unique(np.concatenate([ca, cb]))
        uh, uoff = sigs.source.shingle_sets(docs, sigs.n_shingles[docs], backend)
        out[lo:hi] = pair_jaccard(uh, uoff, np.searchsorted(docs, ca), np.searchsorted(docs, cb), backend)
    return out


def connected_clusters(n: int, a: np.ndarray, b: np.ndarray, backend):
    """(labels = representative index per document, size per document) of the pair graph."""
    labels = None
    if backend.name == "gpu" and not getattr(backend, "simulated", False) and len(a):
        try:  # cupyx needs pylibcugraph for csgraph; fall back to scipy on the host
            import cupy
            import cupyx.scipy.sparse as csp
            from cupyx.scipy.sparse.csgraph import connected_components as gcc
            m = csp.coo_matrix((cupy.ones(len(a), np.float32), (cupy.asarray(a), cupy.asarray(b))),
                               shape=(n, n)).tocsr()
            labels = cupy.asnumpy(gcc(m, directed=False, return_labels=True)[1])
        except Exception:
            labels = None
    if labels is None:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components
        m = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n)).tocsr()
        labels = connected_components(m, directed=False, return_labels=True)[1]
    labels = np.asarray(labels, dtype=np.int64)
    nl = int(labels.max()) + 1 if n else 0
    rep_of = np.full(nl, n, dtype=np.int64)
    np.minimum.at(rep_of, labels, np.arange(n, dtype=np.int64))
    size = np.bincount(labels, minlength=nl)[labels] if n else np.empty(0, np.int64)
    return rep_of[labels], size.astype(np.int64)


@dataclass
class MinHashResult:
    """Everything a run found; tables are built on demand."""
    cfg: MinHashConfig
    sigs: SignatureSet
    bands: int
    rows: int
    cand_a: np.ndarray
    cand_b: np.ndarray
    pair_a: np.ndarray
    pair_b: np.ndarray
    estimate: np.ndarray
    jaccard: np.ndarray       # NaN where not verified exactly (--no-verify, or a saved document)
    rep: np.ndarray           # representative index per document (itself when unclustered)
    size: np.ndarray          # cluster size per document
    n_base: int = 0           # documents that came from saved signatures
    seconds: float = 0.0
    backend_name: str = "cpu"

    @property
    def doc_ids(self):
        return self.sigs.doc_ids

    @property
    def removed(self) -> np.ndarray:
        """Mask of documents a dedup drops (members of a cluster that are not its representative)."""
        return self.rep != np.arange(self.rep.size)

    @property
    def keep_new(self) -> np.ndarray:
        """Keep mask over the documents of this run's corpus (saved ones excluded)."""
        return ~self.removed[self.n_base:]

    def summary(self) -> dict:
        clustered = self.size >= 2
        return {
            "documents": int(self.sigs.n_docs - self.n_base),
            "saved documents": int(self.n_base),
            "empty documents": int(self.sigs.empty[self.n_base:].sum()),
            "shingles": int(self.sigs.n_shingles[self.n_base:].sum()),
            "bands x rows": f"{self.bands} x {self.rows}",
            "candidate pairs": int(self.cand_a.size),
            "verified pairs": int(self.pair_a.size),
            "clusters": int(np.unique(self.rep[clustered]).size),
            "documents removed": int(self.removed[self.n_base:].sum()),
        }

    def pairs_table(self) -> pa.Table:
        ids = np.asarray(self.doc_ids, dtype=object)
        return pa.table({
            "doc_a": pa.array(ids[self.pair_a].tolist(), pa.string()),
            "doc_b": pa.array(ids[self.pair_b].tolist(), pa.string()),
            "estimate": pa.array(self.estimate, pa.float64()),
            "jaccard": pa.array(self.jaccard, pa.float64(), from_pandas=True),
        })

    def clusters_table(self) -> pa.Table:
        """Documents of clusters of two or more, in corpus order."""
        idx = np.flatnonzero(self.size >= 2)
        ids = np.asarray(self.doc_ids, dtype=object)
        return pa.table({
            "doc_id": pa.array(ids[idx].tolist(), pa.string()),
            "cluster": pa.array(ids[self.rep[idx]].tolist(), pa.string()),
            "size": pa.array(self.size[idx], pa.int64()),
        })


def run(corpus, backend, cfg: MinHashConfig = MinHashConfig(), base: SignatureSet | None = None,
        on_batch=None) -> MinHashResult:
    """Signatures, LSH, verification and clusters of ``corpus``, optionally added to saved ``base``.

    With ``base`` (from :func:`load_signatures`), the new documents are compared
    with each other and with the saved ones; pairs of two saved documents are
    not reported again, and pairs with a saved document are verified by their
    estimate (saved signatures carry no shingle sets).
    """
    t0 = time.perf_counter()
    if base is not None:
        _check_meta(base.meta, cfg)
    new = compute_signatures(corpus, backend, cfg, on_batch=on_batch)
    sigs = new if base is None else _concat(base, new)
    nb = 0 if base is None else base.n_docs
    bands, rows = cfg.lsh_params()
    live = np.flatnonzero(~sigs.empty)
    a, b = candidate_pairs(sigs.sig, live, bands, rows, cfg.max_bucket, backend)
    if nb:
        sel = b >= nb  # at least one new document (a < b)
        a, b = a[sel], b[sel]
    est = pair_estimates(sigs.sig, a, b, backend)
    jac = np.full(a.size, np.nan)
    if cfg.verify:
        exact = a >= nb
        if exact.any():
            jac[exact] = exact_jaccard(new, a[exact] - nb, b[exact] - nb, backend)
        score = np.where(exact, jac, est)
    else:
        score = est
    keep = score >= cfg.threshold  # rounding is monotone: no pair below the threshold
    pa_, pb_ = a[keep], b[keep]
    rep, size = connected_clusters(sigs.n_docs, pa_, pb_, backend)
    return MinHashResult(cfg, sigs, bands, rows, a, b, pa_, pb_, est[keep], jac[keep], rep, size,
                         nb, time.perf_counter() - t0, backend.name)


# ---------------------------------------------------------------------------- saved signatures
def _concat(base: SignatureSet, new: SignatureSet) -> SignatureSet:
    return SignatureSet(list(base.doc_ids) + list(new.doc_ids), np.concatenate([base.sig, new.sig]),
                        np.concatenate([base.n_shingles, new.n_shingles]), new.meta, None,
                        base.n_bytes + new.n_bytes)


def _check_meta(meta: dict, cfg: MinHashConfig) -> None:
    want = cfg.signature_meta()
    for key, v in want.items():
        if meta.get(key) != v:
            raise ParameterError(f"--signatures: the saved signatures were made with {key}={meta.get(key)!r}, "
                                 f"this run uses {key}={v!r}; use the same settings to add documents")


def save_signatures(sigs: SignatureSet, path, plan=None) -> Path:
    """Write doc_id, n_shingles, signature (fixed-size list of uint32) to Parquet, atomically.

    Parameters
    ----------
    sigs : the signatures to save.
    path : a ``.parquet`` file.
    plan : the command's :class:`engine.output.OutputPlan` holding ``path`` as
        ``--save-signatures``: written to its temp, renamed when the plan commits.
        Without it, ``path`` is checked, written and renamed here.
    """
    import pyarrow.parquet as pq

    from engine.output import own_plan
    path = Path(path)
    perms = sigs.sig.shape[1]
    flat = pa.array(np.ascontiguousarray(sigs.sig).reshape(-1), pa.uint32())
    table = pa.table({
        "doc_id": pa.array(list(sigs.doc_ids), pa.string()),
        "n_shingles": pa.array(sigs.n_shingles, pa.int64()),
        "signature": pa.FixedSizeListArray.from_arrays(flat, perms),
    })
    meta = dict(sigs.meta, format=FORMAT_VERSION)
    table = table.replace_schema_metadata({_META_KEY: json.dumps(meta).encode()})
    with own_plan(plan, "--save-signatures", path, (".parquet",)) as p:
        pq.write_table(table, p.temp("--save-signatures"), compression="zstd")
    return path


def load_signatures(path) -> SignatureSet:
    """Read signatures written by :func:`save_signatures`, checking the file first.

    Raises
    ------
    CorpusError
        One line naming the file and what is wrong: missing, not Parquet, no or bad
        corpus-engine metadata, a missing column or one of the wrong type, null rows,
        signatures of another width than the metadata's ``perms``.  A file that is
        used anyway with a wrong width would shift every document's slots and lose
        its true pairs without a word, hence the checks before any use.
    """
    import pyarrow.parquet as pq
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"--signatures: no such file: {path}")
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as e:
        raise CorpusError(f"--signatures: {path} is not a Parquet file ({_first_line(e)})")
    meta = _signature_file_meta(schema, path)
    perms = meta["perms"]
    _check_signature_columns(schema, perms, path)
    try:
        table = pq.read_table(path, columns=list(_SIGNATURE_COLUMNS))
    except (pa.ArrowException, OSError) as e:
        raise CorpusError(f"--signatures: cannot read {path} ({_first_line(e)})")
    for name in _SIGNATURE_COLUMNS:
        _check_no_nulls(table.column(name), name, path)
    sig = _signature_matrix(table.column("signature").combine_chunks(), perms, path)
    n_sh = table.column("n_shingles").to_numpy().astype(np.int64)
    if n_sh.size and n_sh.min() < 0:
        raise CorpusError(f"--signatures: {path}: column 'n_shingles' has a negative count "
                          f"(row {int(np.argmax(n_sh < 0))})")
    return SignatureSet(table.column("doc_id").to_pylist(), sig, n_sh, meta)


# column -> (what its type must be, the check): as save_signatures writes them
_SIGNATURE_COLUMNS = {
    "doc_id": ("string", lambda t: pa.types.is_string(t) or pa.types.is_large_string(t)),
    "n_shingles": ("an integer", pa.types.is_integer),
    "signature": ("a list of uint32", lambda t: (pa.types.is_fixed_size_list(t) or pa.types.is_list(t)
                                                  or pa.types.is_large_list(t))
                  and pa.types.is_uint32(t.value_type)),
}


def _first_line(e: Exception) -> str:
    """The first line of an exception's message (pyarrow's may span several)."""
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def _signature_file_meta(schema: pa.Schema, path: Path) -> dict:
    """The corpus-engine metadata of a signature file, checked for what loading relies on."""
    raw = (schema.metadata or {}).get(_META_KEY)
    if raw is None:
        raise CorpusError(f"--signatures: {path} has no corpus-engine signature metadata "
                          "(not a file written by --save-signatures)")
    try:
        meta = json.loads(raw)
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise CorpusError(f"--signatures: {path}: its signature metadata is not a JSON object")
    if meta.get("format") != FORMAT_VERSION:
        raise CorpusError(f"--signatures: {path}: signature format {meta.get('format')!r}, "
                          f"this corpus-engine reads format {FORMAT_VERSION}")
    missing = [k for k in MinHashConfig().signature_meta() if k not in meta]
    if missing:
        raise CorpusError(f"--signatures: {path}: its metadata lacks {', '.join(missing)}")
    if meta["family"] != FAMILY:
        raise CorpusError(f"--signatures: {path}: hash family {meta['family']!r}, "
                          f"this corpus-engine computes {FAMILY!r}")
    perms = meta["perms"]
    if not isinstance(perms, int) or isinstance(perms, bool) or perms < 1:
        raise CorpusError(f"--signatures: {path}: metadata perms must be an integer >= 1, got {perms!r}")
    return meta


def _check_signature_columns(schema: pa.Schema, perms: int, path: Path) -> None:
    """Each column present with its type; a fixed-size signature of the metadata's width."""
    for name, (want, ok) in _SIGNATURE_COLUMNS.items():
        if name not in schema.names:
            raise CorpusError(f"--signatures: {path} has no column {name!r} "
                              f"(columns: {', '.join(schema.names) or 'none'})")
        t = schema.field(name).type
        if not ok(t):
            raise CorpusError(f"--signatures: {path}: column {name!r} is {t}, expected {want}")
    t = schema.field("signature").type
    if pa.types.is_fixed_size_list(t) and t.list_size != perms:
        raise CorpusError(f"--signatures: {path}: signatures of {t.list_size} values, "
                          f"the file's metadata says perms={perms}")


def _check_no_nulls(col: pa.ChunkedArray, name: str, path: Path) -> None:
    if col.null_count:
        first = int(np.argmax(col.is_null().to_numpy(zero_copy_only=False)))
        raise CorpusError(f"--signatures: {path}: column {name!r} has {col.null_count} null "
                          f"row(s) (first: row {first})")


def _signature_matrix(col: pa.Array, perms: int, path: Path) -> np.ndarray:
    """uint32 [docs, perms] from the signature column (no null rows), every row checked."""
    import pyarrow.compute as pc
    if not pa.types.is_fixed_size_list(col.type):  # a list column: the width is per row
        lens = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(lens != perms)
        if bad.size:
            raise CorpusError(f"--signatures: {path}: row {int(bad[0])} has a signature of "
                              f"{int(lens[bad[0]])} values, the file's metadata says perms={perms}")
    values = col.flatten()  # honours slicing, unlike .values
    if values.null_count:
        raise CorpusError(f"--signatures: {path}: column 'signature' holds {values.null_count} "
                          "null value(s)")
    sig = values.to_numpy(zero_copy_only=False).astype(np.uint32, copy=False)
    return np.ascontiguousarray(sig.reshape(len(col), perms))


# ---------------------------------------------------------------------------- dedup output
def write_dedup(corpus_factory, keep: np.ndarray, path, plan=None) -> int:
    """Write the kept documents as JSONL {id, text}, in corpus order, atomically; returns the count.

    Parameters
    ----------
    corpus_factory : ``corpus_factory()`` must yield the same batches as the run
        (a fresh reader).
    keep : per document of the run, whether to write it.
    path : a ``.jsonl`` file.
    plan : the command's :class:`engine.output.OutputPlan` holding ``path`` as
        ``--dedup-output``: written to its temp, renamed when the plan commits (so
        the run's other outputs are not in place before this one is complete).
        Without it, ``path`` is checked here, against the corpus's files too.
    """
    from engine.output import own_plan, run_inputs
    path = Path(path)
    corpus = corpus_factory()
    n = 0
    with (own_plan(plan, "--dedup-output", path, (".jsonl",), run_inputs(corpus)) as p,
          open(p.temp("--dedup-output"), "w", encoding="utf-8") as f):
        for batch in _batches(corpus):
            base = batch.doc_base
            for i in np.flatnonzero(keep[base:base + batch.n_docs]):
                f.write(json.dumps({"id": batch.doc_ids[i], "text": batch.text(int(i))},
                                   ensure_ascii=False) + "\n")
                n += 1
    return n


# ---------------------------------------------------------------------------- similarity matrix
# Peak bytes per matrix cell (n x n) of similarity_matrix, measured with tracemalloc at
# n = 1000 and 2000: the estimate holds the int64 equal-slot counts and the float64
# result (16.3); --exact holds the pair indices (triu), exact_jaccard's per-pair lengths
# and batch lookups, the values and the result (57.4).
SIMILARITY_CELL_BYTES = {False: 16.5, True: 58.0}
# --exact also rebuilds the shingle sets of a chunk's documents: raw and distinct hashes
SHINGLE_SET_BYTES = 16


def _similarity_bytes(n: int, exact: bool, n_shingles: int = 0) -> int:
    """Host memory ``similarity_matrix`` needs at its peak for ``n`` documents."""
    return int(SIMILARITY_CELL_BYTES[exact] * n * n) + (SHINGLE_SET_BYTES * n_shingles if exact else 0)


def _device_free_bytes(backend) -> int | None:
    """Free memory of the backend's GPU (None on the CPU, the simulator, or if unknown)."""
    if backend.name != "gpu" or getattr(backend, "simulated", False):
        return None
    try:  # blocks cupy's pool holds for reuse are free to this process too
        xp = backend.xp
        return int(xp.cuda.Device().mem_info[0]) + int(xp.get_default_memory_pool().free_bytes())
    except Exception:  # the device query is an estimate's input, not worth failing the run for
        return None


def _check_similarity_memory(n: int, backend, exact: bool, n_shingles: int = 0,
                             so_far: bool = False) -> None:
    """Refuse (one line, :class:`CorpusError`) a matrix that cannot fit, before allocating it.

    Without this an n x n matrix of a large corpus (``--max-docs`` raised) allocates
    until the kernel's out-of-memory killer ends the process without a message.
    """
    import psutil
    docs = f"at least {n} documents (read so far)" if so_far else f"{n} documents"
    advice = "use `corpus minhash` for large corpora, or lower --max-docs"
    matrix_gb = 8 * n * n / 1e9
    need = _similarity_bytes(n, exact, n_shingles)
    avail = psutil.virtual_memory().available
    if need > avail:
        raise CorpusError(f"similarity: {docs} need {need / 1e9:.1f} GB (a {matrix_gb:.1f} GB matrix "
                          f"and its temporaries), {avail / 1e9:.1f} GB available; {advice}")
    free = None if exact else _device_free_bytes(backend)  # --exact computes on the host
    if free is not None and 8 * n * n > free:
        raise CorpusError(f"similarity: {docs} need a {matrix_gb:.1f} GB matrix on the GPU, "
                          f"{free / 1e9:.1f} GB free; {advice}, or --device cpu")


def similarity_matrix(corpus, backend, cfg: MinHashConfig = MinHashConfig(),
                      max_docs: int = MAX_SIMILARITY_DOCS, exact: bool = False):
    """(doc_ids, matrix) of all-pairs estimated (or exact) Jaccard; NaN for empty documents.

    Refuses (:class:`CorpusError`) a corpus of more than ``max_docs`` documents, or
    one whose matrix would not fit in the available memory, as soon as the count
    read so far shows it: before any signature when ``corpus`` is a list of
    batches or texts (counted up front), otherwise after the batch that crosses
    the limit; for ``--exact``, again with the shingle counts once they are known.
    """
    def check(n: int, so_far: bool) -> None:
        if n > max_docs:
            raise CorpusError(f"similarity: more than {max_docs} documents (read {n} so far); "
                              "an all-pairs matrix is for small corpora: use `corpus minhash` "
                              "for near-duplicate pairs, or raise --max-docs")
        _check_similarity_memory(n, backend, exact, so_far=so_far)

    batches = _batches(corpus)
    if isinstance(batches, list):  # counting costs nothing here: no signature is wasted
        check(sum(b.n_docs for b in batches), so_far=False)
    seen = [0]

    def count(batch):
        seen[0] += batch.n_docs
        check(seen[0], so_far=True)

    sigs = compute_signatures(batches, backend, cfg, keep_shingles=exact, on_batch=count)
    n = sigs.n_docs
    if exact:
        _check_similarity_memory(n, backend, exact, int(sigs.n_shingles.sum()))
    if exact:
        a, b = np.triu_indices(n, 1)
        vals = exact_jaccard(sigs, a, b, backend)
        m = np.eye(n)
        m[a, b] = vals
        m[b, a] = vals
    else:
        xp = backend.xp
        out = xp.empty((n, n), np.int64)
        _launch(backend, _k(backend).equal_matrix, n * n, backend.asarray(sigs.sig),
                np.int64(cfg.perms), out)
        m = backend.to_host(out) / cfg.perms
    e = sigs.empty
    m[e, :] = np.nan
    m[:, e] = np.nan
    return sigs.doc_ids, m


def matrix_table(ids, m) -> pa.Table:
    cols = {"doc_id": pa.array(list(ids), pa.string())}
    for j, name in enumerate(ids):
        key = name if name not in cols else f"{name}#{j}"
        cols[key] = pa.array(m[:, j], pa.float64(), from_pandas=True)
    return pa.table(cols)


def _print_matrix(ids, m, console, title):
    from rich.table import Table
    t = Table(title=title)
    t.add_column("#", justify="right")
    t.add_column("document")
    for j in range(len(ids)):
        t.add_column(str(j), justify="right")
    for i, name in enumerate(ids):
        short = name if len(name) <= 32 else name[:29] + "..."
        t.add_row(str(i), short, *["-" if np.isnan(v) else f"{v:.2f}" for v in m[i]])
    console.print(t)


def _print_summary(summary: dict, console, title="MinHash near-duplicates"):
    from rich.table import Table
    t = Table(title=title, show_header=False)
    for k, v in summary.items():
        t.add_row(k, f"{v:,}" if isinstance(v, int) else str(v))
    console.print(t)


# ---------------------------------------------------------------------------- corpus analyze
def analyze_section(paths_or_batches, backend, text_opts: TextOptions = TextOptions(), console=None,
                    cfg: MinHashConfig | None = None, matrix_docs: int = 12) -> dict:
    """Print the near-duplicate section of ``corpus analyze``; return its figures.

    Few documents (``<= matrix_docs``): the all-pairs estimated Jaccard matrix
    (character 5-gram shingles unless ``cfg`` says otherwise).  More: the MinHash summary and the largest clusters.
    """
    from rich.console import Console
    console = console or Console()
    cfg = cfg or MinHashConfig(text=text_opts)
    batches = list(_batches(paths_or_batches))
    n = sum(b.n_docs for b in batches)
    if n <= matrix_docs:
        # Few documents are usually related articles, not copies: character 5-grams show
        # their overlap (about 0.15 for the seed articles) where word 5-grams show ~0.
        mcfg = cfg if cfg.shingle != "word:5" else replace(cfg, shingle="char:5")
        ids, m = similarity_matrix(batches, backend, mcfg)
        cfg = mcfg
        _print_matrix(ids, m, console, f"Near-duplicates: estimated Jaccard ({cfg.shingle} shingles, "
                                       f"{cfg.perms} permutations)")
        off = m[~np.eye(n, dtype=bool)] if n > 1 else np.empty(0)
        off = off[~np.isnan(off)]
        return {"documents": n, "max_similarity": float(off.max()) if off.size else None,
                "matrix": m.tolist(), "doc_ids": list(ids)}
    res = run(batches, backend, cfg)
    summ = res.summary()
    _print_summary(summ, console, f"Near-duplicates (MinHash {cfg.shingle}, threshold {cfg.threshold})")
    ct = res.clusters_table()
    if ct.num_rows:
        from engine.output import print_table
        sizes = {}
        for rep, size in zip(ct.column("cluster").to_pylist(), ct.column("size").to_pylist()):
            sizes[rep] = size
        top = sorted(sizes.items(), key=lambda kv: -kv[1])[:10]
        print_table(pa.table({"representative": [k for k, _ in top], "size": [v for _, v in top]}),
                    "Largest near-duplicate clusters", console)
    return summ
