"""Long documents split into GPU work units, exactly: the GPU backend's text and MinHash steps.

The CUDA cores run one thread per document; a batch with one 10 MB document among thousands
of small ones would keep one thread busy for the whole 10 MB while the device idles.  Here
every step whose per-document work exceeds a bound is run over parts instead, and the parts'
results are put where the whole document's would be:

* normalise + tokenise: a document longer than ``segment_bytes`` is cut (``split_cuts``, one
  thread per window of ``segment_bytes``) at positions where the tokenizer carries no state
  across (``kernels.split_core``: the state there equals a fresh document's), so the segments
  are tokenised as documents by the unchanged kernels; since a document's segments are
  contiguous and each one's output is written at the output and token offsets where the
  previous ones end, the document's normalised bytes and tokens are the concatenation of its
  segments'; a document is sent to the slow path when any segment is (an UNSAFE code point
  anywhere does that to the whole document);
* word n-grams and word shingles: ranges of at most ``ngram_starts`` start positions (each
  thread reads its ``n - 1`` following tokens too) through the same core;
* code points, char n-grams and char shingles: chunks of ``char_chunk_bytes`` normalised
  bytes (code points are counted per chunk and summed; a window belongs to the chunk its
  first byte is in, and its output index is the number of code points before it);
* signatures: parts of at most ``signature_shingles`` shingles, each part's minimum per
  permutation taken atomically into the document's slot;
* co-occurrence with ``--window doc``: a document's pair rows in pieces of at most
  ``doc_pair_pieces`` pairs (:func:`engine.cooc.backends.doc_pieces`).

The bounds are :class:`SplitParams`, set by the ``CORPUS_GPU_SPLIT`` environment variable.

A batch with nothing over the bounds runs the per-document kernels as before (one scalar
copied back to decide).  Everything here runs on the GPU backend only (``backend.kernels``
launches the CUDA twins); results are bit-identical to the CPU backend's (tests/sim).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.errors import ParameterError
from engine.gpu.arrays import offsets_of, segment_of

__all__ = ["SplitParams", "TextSplitter", "SPLIT_ENV"]

EMPTY_SLOT = np.uint32(0xFFFFFFFF)   # kernels.minhash_core.EMPTY (not imported: it compiles numba)


#: the environment variable that sets the bounds (``name=value,...``, see SplitParams.parse)
SPLIT_ENV = "CORPUS_GPU_SPLIT"
MAX_BOUND = (1 << 31) - 1   # any bound past this is absurd (and past the kernels' int32 lengths)


@dataclass(frozen=True)
class SplitParams:
    """Bounds on one GPU thread's work (see the module docstring); tests set them tiny.

    They change how the work is cut, never a result (every split is exact), so they are no
    command-line option: a user tuning a real GPU sets them for every command at once in
    the environment, ``CORPUS_GPU_SPLIT="segment_bytes=131072,ngram_starts=8192"`` (as
    ``CORPUS_GPU_MEMORY`` sets the memory budget), read when a GPU backend is made; the
    Python API sets ``backend.splitter.params``.  ``doc_pair_pieces``: the most pairs one
    thread writes of a document's row in co-occurrence with ``--window doc``
    (:func:`engine.cooc.backends.doc_pieces`).
    """
    segment_bytes: int = 64 * 1024
    ngram_starts: int = 4096
    char_chunk_bytes: int = 16 * 1024
    signature_shingles: int = 4096
    doc_pair_pieces: int = 256

    def __post_init__(self):
        for name in FIELDS:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 1 <= v <= MAX_BOUND:
                raise ParameterError(f"{name} must be an integer >= 1 and <= {MAX_BOUND}, got {v!r}", param=name)

    @classmethod
    def parse(cls, spec: str | None) -> "SplitParams":
        """The bounds of ``spec`` (``"segment_bytes=65536,ngram_starts=4096"``: any of the
        fields, the others at their defaults; None or blank: the defaults).

        Raises
        ------
        engine.errors.ParameterError
            An unknown name, a value that is not an integer, a bound out of range: one line
            naming ``CORPUS_GPU_SPLIT`` and the field.
        """
        if spec is None or not spec.strip():
            return cls()
        values: dict = {}
        for item in spec.split(","):
            name, eq, value = (x.strip() for x in item.partition("="))
            if name not in FIELDS or not eq:
                raise ParameterError(f"{SPLIT_ENV}: {item.strip()!r} is not name=value with a name among "
                                     f"{', '.join(FIELDS)}")
            try:
                values[name] = int(value, 10)
            except ValueError:
                raise ParameterError(f"{SPLIT_ENV}: {name} must be an integer, got {value!r}") from None
        try:
            return cls(**values)
        except ParameterError as e:
            raise ParameterError(f"{SPLIT_ENV}: {e}") from None

    @classmethod
    def from_environment(cls) -> "SplitParams":
        """:meth:`parse` of ``CORPUS_GPU_SPLIT``."""
        import os
        return cls.parse(os.environ.get(SPLIT_ENV))


FIELDS = tuple(SplitParams.__dataclass_fields__)


def _size(be, a) -> int:
    """A size for an allocation, from a 0-d device array: one synchronising read of 8 bytes a
    split step, counted in the backend's device-to-host bytes (``backend.scalar``)."""
    return int(be.scalar(a))


def _parts(be, lo, hi, size: int):
    """Parts of at most ``size`` items of the ranges ``[lo[d], hi[d])`` (one part at least per
    range, empty ranges included): (part index -> range, offset of the part in its range,
    parts per range as offsets), or None when every range fits in one part."""
    xp = be.xp
    nd = int(lo.size)
    per = xp.maximum((hi - lo + (size - 1)) // size, 1)
    poff = offsets_of(xp, per)
    total = _size(be, poff[-1])
    if total == nd:
        return None
    owner = segment_of(xp, poff, total)
    start = (xp.arange(total, dtype=np.int64) - poff[owner]) * size
    return owner, start, poff


def _chunks(be, offsets, size: int):
    """Chunks of at most ``size`` bytes of the documents ``offsets``: (chunk bounds, int64
    ``n + 1``, consecutive over the whole text; chunk -> document; chunks per document as
    offsets), or None when no document is longer than ``size``."""
    xp = be.xp
    p = _parts(be, offsets[:-1], offsets[1:], size)
    if p is None:
        return None
    owner, start, poff = p
    bounds = xp.empty(int(owner.size) + 1, np.int64)
    bounds[:-1] = offsets[:-1][owner] + start
    bounds[-1:] = offsets[-1:]
    return bounds, owner, poff


class TextSplitter:
    """The split steps of one GPU backend (``backend.split``: its :class:`SplitParams`)."""

    def __init__(self, backend, params: SplitParams | None = None):
        self.be = backend
        self.params = params if params is not None else SplitParams()
        self._memo = None   # the last norm_tok_counts' segments, for the write pass that follows

    # -- tokenize ------------------------------------------------------------------------
    def segments(self, data, offsets, tables):
        """(segment bounds int64[n_seg + 1], first segment of each document int64[n_docs + 1])
        with the long documents cut at exact positions, or None when none is cut."""
        be, xp, seg = self.be, self.be.xp, int(self.params.segment_bytes)
        nd = int(offsets.size) - 1
        length = xp.diff(offsets)
        ntgt = xp.maximum((length + (seg - 1)) // seg - 1, 0)   # windows after the first
        tgt_off = offsets_of(xp, ntgt)
        nt = _size(be, tgt_off[-1])
        if nt == 0:
            return None
        tgt_doc = segment_of(xp, tgt_off, nt)
        cuts = xp.empty(nt, np.int64)
        be.kernels.text.split_cuts(nt, data, offsets, tgt_doc, tgt_off, np.int64(seg), *tables, cuts)
        valid = cuts >= 0
        before = offsets_of(xp, valid.astype(np.int64))     # valid cuts before each window
        n_seg = nd + _size(be, before[-1])
        if n_seg == nd:
            return None
        # a document's segments come after those of the documents before it (one each plus
        # their cuts); its k-th valid cut starts its (k+1)-th segment
        doc_seg = xp.arange(nd + 1, dtype=np.int64) + before[tgt_off]
        bounds = xp.empty(n_seg + 1, np.int64)
        bounds[doc_seg[:-1]] = offsets[:-1]
        bounds[n_seg:] = offsets[nd:]
        v = xp.flatnonzero(valid)
        bounds[tgt_doc[v] + 1 + before[v]] = cuts[v]
        return bounds, doc_seg

    def _segment_counts(self, data, plan, tables):
        be, xp = self.be, self.be.xp
        bounds, doc_seg = plan
        ns = int(bounds.size) - 1
        slen, stok = xp.empty(ns, np.int64), xp.empty(ns, np.int64)
        be.kernels.text.norm_tok_counts(ns, data, bounds, *tables, xp.empty(1, np.uint8), xp.empty(1, np.int64),
                                        xp.empty(1, np.int32), xp.empty(1, np.uint64), slen, stok)
        bad = slen < 0
        cum_len = offsets_of(xp, xp.where(bad, 0, slen))
        cum_tok = offsets_of(xp, xp.where(bad, 0, stok))
        cum_bad = offsets_of(xp, bad.astype(np.int64))
        lo, hi = doc_seg[:-1], doc_seg[1:]
        slow = (cum_bad[hi] - cum_bad[lo]) > 0
        lens = xp.where(slow, -1, cum_len[hi] - cum_len[lo])
        ntok = xp.where(slow, 0, cum_tok[hi] - cum_tok[lo])   # as the core's (-1, 0)
        return lens, ntok, cum_len, cum_tok

    def norm_tok_counts(self, data, offsets, tables):
        """Per document (normalised bytes, -1 for the slow path; tokens), or None: no split."""
        self._memo = None
        plan = self.segments(data, offsets, tables)
        if plan is None:
            self._memo = (data, offsets, tables, None)
            return None
        lens, ntok, cum_len, cum_tok = self._segment_counts(data, plan, tables)
        self._memo = (data, offsets, tables, (plan, cum_len, cum_tok))
        return lens, ntok

    def norm_tok_write(self, data, offsets, tables, lens, out_offsets, out, tok_offsets, tok_start, tok_len,
                       tok_nch, tok_hash) -> bool:
        """The write pass over segments (False: no document is cut, nothing written).

        The segments of the counting pass just before are reused when it read these very
        arrays (a strong reference, so an identity cannot be reused by another array);
        otherwise they are found and counted again (same result, more work).
        """
        m, self._memo = self._memo, None
        if m is not None and m[0] is data and m[1] is offsets and m[2] is tables:
            if m[3] is None:
                return False
            plan, cum_len, cum_tok = m[3]
        else:
            plan = self.segments(data, offsets, tables)
            if plan is None:
                return False
            _, _, cum_len, cum_tok = self._segment_counts(data, plan, tables)
        xp = self.be.xp
        bounds, doc_seg = plan
        ns = int(bounds.size) - 1
        sdoc = segment_of(xp, doc_seg, ns)
        first = doc_seg[sdoc]
        s_out = out_offsets[sdoc] + cum_len[:-1] - cum_len[first]
        s_tok = tok_offsets[sdoc] + cum_tok[:-1] - cum_tok[first]
        self.be.kernels.text.norm_tok_write(ns, data, bounds, *tables, lens[sdoc], s_out, out, s_tok, tok_start,
                                            tok_len, tok_nch, tok_hash)
        return True

    # -- word n-grams and shingles ---------------------------------------------------------
    def _word_ranges(self, tok_offsets, n: int, out_offsets):
        xp = self.be.xp
        a, b = tok_offsets[:-1], tok_offsets[1:]
        starts = xp.maximum(b - a - (n - 1), 0)
        size = int(self.params.ngram_starts)
        p = _parts(self.be, a, a + starts, size)
        if p is None:
            return None
        owner, t0, _ = p
        lo = a[owner] + t0
        # the starts of this part and the n - 1 tokens after the last; a document with fewer
        # than n tokens is one part, all of it
        hi = xp.minimum(lo + xp.minimum(starts[owner] - t0, size) + (n - 1), b[owner])
        return lo, hi, out_offsets[:-1][owner] + t0

    def word_ngrams(self, tok_hash, tok_offsets, n, out_offsets, out_hash, out_first) -> bool:
        return self._launch_word_ranges(self.be.kernels.text.word_ngrams_ranges, tok_hash, tok_offsets, n,
                                        out_offsets, out_hash, out_first)

    def word_shingles(self, tok_hash, tok_offsets, n, out_offsets, out_hash, out_first) -> bool:
        return self._launch_word_ranges(self.be.kernels.minhash.word_shingles_ranges, tok_hash, tok_offsets, n,
                                        out_offsets, out_hash, out_first)

    def _launch_word_ranges(self, kernel, tok_hash, tok_offsets, n, out_offsets, out_hash, out_first) -> bool:
        """``kernel`` (word n-grams or shingles: the same arguments) over the ranges of
        :meth:`_word_ranges`; False (nothing launched) when no document needs splitting."""
        r = self._word_ranges(tok_offsets, int(n), out_offsets)
        if r is None:
            return False
        lo, hi, o = r
        kernel(int(lo.size), tok_hash, lo, hi, np.int64(n), o, out_hash, out_first)
        return True

    # -- code points, char n-grams and shingles ----------------------------------------------
    def _char_chunks(self, norm, offsets):
        """(chunk bounds, chunk -> document, chunks per document as offsets, code points before
        each chunk as offsets) or None when no document is longer than a chunk."""
        c = _chunks(self.be, offsets, int(self.params.char_chunk_bytes))
        if c is None:
            return None
        bounds, owner, poff = c
        ncp = self.be.xp.empty(int(owner.size), np.int64)
        self.be.kernels.text.codepoint_counts(int(owner.size), norm, bounds, ncp)
        return bounds, owner, poff, offsets_of(self.be.xp, ncp)

    def codepoint_counts(self, norm, offsets):
        """Code points per document, or None (no document longer than a chunk)."""
        c = self._char_chunks(norm, offsets)
        if c is None:
            return None
        _, _, poff, cum = c
        return cum[poff[1:]] - cum[poff[:-1]]

    def _char_outputs(self, c, out_offsets):
        bounds, owner, poff, cum = c
        return out_offsets[:-1][owner] + cum[:-1] - cum[poff[:-1][owner]]

    def char_ngrams(self, norm, offsets, n, out_offsets, out_hash, out_start, out_len) -> bool:
        c = self._char_chunks(norm, offsets)
        if c is None:
            return False
        bounds, owner = c[0], c[1]
        self.be.kernels.text.char_ngrams_ranges(int(owner.size), norm, bounds, owner, offsets, np.int64(n),
                                                self._char_outputs(c, out_offsets), out_hash, out_start, out_len)
        return True

    def char_shingles(self, norm, offsets, ncp, n, out_offsets, out_hash, out_start, out_len) -> bool:
        c = self._char_chunks(norm, offsets)
        if c is None:
            return False
        bounds, owner = c[0], c[1]
        self.be.kernels.minhash.char_shingles_ranges(int(owner.size), norm, bounds, owner, offsets, ncp,
                                                     np.int64(n), self._char_outputs(c, out_offsets), out_hash,
                                                     out_start, out_len)
        return True

    # -- signatures ------------------------------------------------------------------------
    def signatures(self, hashes, offsets, pa, pb, sig) -> bool:
        """``sig`` (uint32 [docs, perms]) as parts' minima, or False (no document has more than
        ``signature_shingles`` shingles; nothing written)."""
        c = _chunks(self.be, offsets, int(self.params.signature_shingles))
        if c is None:
            return False
        bounds, owner, _ = c
        xp, perms = self.be.xp, int(pa.size)
        part = xp.empty((int(owner.size), perms), np.uint32)
        sig[...] = EMPTY_SLOT
        self.be.kernels.minhash.signature_parts(int(owner.size) * perms, hashes, bounds, owner, pa, pb, part, sig)
        return True
