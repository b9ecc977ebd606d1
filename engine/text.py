"""Batch -> normalised text and tokens, on any backend (flat arrays throughout).

:func:`tokenize` is the entry point every analytic uses::

    toks = tokenize(batch, backend, TextOptions(stopwords=("fr", "en")))
    toks.tok_hash        # uint64, xxHash64 of each token's normalised UTF-8
    toks.doc_tok_offsets # int64, tokens of document i are [off[i], off[i+1])
    toks.token(i)        # the string of token i (for output only)

Arrays live on the backend (numpy on the CPU, cupy on a GPU).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from engine.corpus import Batch
from engine.memory import small_pages
from engine.normalize import get_tables, normalize_text, reference_tokens

__all__ = ["TextOptions", "Tokens", "tokenize", "tokenize_slow_docs", "stopword_hashes",
           "hash_token", "text_options", "ParameterError"]


from engine.errors import ParameterError  # noqa: E402  (defined there, re-exported here)


@dataclass(frozen=True)
class TextOptions:
    """Normalisation and token filters (one definition for all analytics).

    stopwords : language codes of the shipped lists (from the ``stop-words``
        package, BSD licence) and/or paths to files with one word per line.
    strip_accents : drop combining marks after NFKC + casefold.
    min_token_len : drop tokens shorter than this many code points.
    """
    stopwords: tuple[str, ...] = ()
    strip_accents: bool = False
    min_token_len: int = 1

    def __post_init__(self):
        if not isinstance(self.min_token_len, int) or self.min_token_len < 1:
            raise ParameterError(f"min_token_len must be an integer >= 1, got {self.min_token_len!r}")


def text_options(stopwords: str | None, strip_accents: bool = False, min_token_len: int = 1) -> TextOptions:
    """The :class:`TextOptions` of the command-line options: ``stopwords`` is comma-separated
    (``"fr,en,my-list.txt"``; blank items ignored, None or "" for none)."""
    specs = tuple(s.strip() for s in stopwords.split(",") if s.strip()) if stopwords else ()
    return TextOptions(stopwords=specs, strip_accents=strip_accents, min_token_len=min_token_len)


def hash_token(token: str) -> int:
    """xxHash64 (seed 0) of a normalised token, as the kernels compute it."""
    from kernels.hashing import xxh64
    # a writable buffer: the kernels' own signature of xxh64, not a second (read-only) compilation
    b = np.frombuffer(bytearray(token.encode("utf-8")), dtype=np.uint8)
    return int(xxh64(b, 0, b.size, 0))


@lru_cache(maxsize=32)
def _stopword_list(spec: str) -> tuple[str, ...]:
    """The words of one ``--stopwords`` item: a file (one word a line, ``#`` comments) or a
    language code of the ``stop-words`` package.

    Raises
    ------
    ParameterError
        Unreadable file, a file that holds no words (empty, blank or comments only:
        surely not what was meant, and silently keeping every word would hide it), or
        neither a file nor a known language code.
    """
    path = Path(spec)
    if path.is_file():
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise ParameterError(f"--stopwords: cannot read {path} as UTF-8 ({e})") from None
        words = tuple(w for w in (line.strip() for line in lines) if w and not w.startswith("#"))
        if not words:
            raise ParameterError(f"--stopwords: {path} holds no words")
        return words
    try:
        from stop_words import get_stop_words
        return tuple(get_stop_words(spec))
    except Exception:
        from stop_words import LANGUAGE_MAPPING
        codes = sorted(LANGUAGE_MAPPING)
        raise ParameterError(f"--stopwords: {spec!r} is neither a file nor a language code "
                             f"(available: {', '.join(codes)})") from None


@lru_cache(maxsize=32)
def _stopword_hashes(specs: tuple[str, ...], strip_accents: bool) -> np.ndarray:
    """Sorted distinct uint64 token hashes of the stop words of ``specs`` (uint64 even when empty).

    A word is normalised and split like the text, so ``l'on`` drops ``l`` and ``on``.
    An item whose words give no token at all (punctuation only) is refused like an
    empty file: it would remove nothing.
    """
    toks: set[str] = set()
    for spec in specs:
        found = {t for w in _stopword_list(spec) for t in reference_tokens(w, strip_accents)}
        if not found:
            raise ParameterError(f"--stopwords: {spec} holds no words (only punctuation or symbols)")
        toks |= found
    hashes = np.fromiter((hash_token(t) for t in toks), dtype=np.uint64, count=len(toks))
    return np.unique(hashes)


def stopword_hashes(opts: TextOptions) -> np.ndarray:
    """Sorted uint64 hashes of the normalised stop words of ``opts``."""
    return _stopword_hashes(tuple(opts.stopwords), opts.strip_accents)


@dataclass
class Tokens:
    """Normalised text and tokens of one batch (arrays on the backend)."""
    batch: Batch
    backend: object
    norm: object             # uint8: normalised UTF-8 of all documents
    norm_offsets: object     # int64[n_docs + 1]
    tok_start: object        # int64: byte start of each token in ``norm``
    tok_len: object          # int32: byte length
    tok_nch: object          # int32: length in code points (empty unless min_token_len > 1)
    tok_hash: object         # uint64
    doc_tok_offsets: object  # int64[n_docs + 1]
    slow_docs: int = 0       # documents that took the exact slow path
    _host: dict = field(default_factory=dict, repr=False)

    @property
    def n_tokens(self) -> int:
        return int(self.tok_hash.size)

    def host(self, name: str) -> np.ndarray:
        if name not in self._host:
            self._host[name] = self.backend.to_host(getattr(self, name))
        return self._host[name]

    def token(self, i: int) -> str:
        s, n = int(self.host("tok_start")[i]), int(self.host("tok_len")[i])
        return bytes(self.host("norm")[s:s + n]).decode("utf-8")

    def doc_tokens(self, d: int) -> list[str]:
        off = self.host("doc_tok_offsets")
        return [self.token(i) for i in range(int(off[d]), int(off[d + 1]))]


def tokenize(batch: Batch, backend, opts: TextOptions = TextOptions()) -> Tokens:
    """Normalise and tokenise ``batch`` on ``backend``, applying ``opts``' filters.

    Two kernel passes over the bytes (sizes, then bytes + tokens).  Documents with
    context-sensitive code points (see engine.normalize) are normalised exactly in
    Python and tokenised on the host by the same core, then copied into place.
    """
    from kernels.cpu.text import tokenize_normalized
    xp = backend.xp
    tables = get_tables(opts.strip_accents)
    data = backend.asarray(batch.data)
    offsets = backend.asarray(batch.offsets)
    lens_dev, ntok_dev = backend.norm_tok_counts(data, offsets, tables)
    lens, ntok = backend.to_host(lens_dev).copy(), backend.to_host(ntok_dev).copy()
    slow = np.flatnonzero(lens < 0)
    if slow.size:
        parts = [normalize_text(batch.text(int(d)), tables.strip_accents).encode("utf-8") for d in slow]
        s_off = np.zeros(slow.size + 1, np.int64)
        np.cumsum([len(p) for p in parts], out=s_off[1:])
        s_norm = np.frombuffer(b"".join(parts), np.uint8)
        s_cnt, s_start, s_len, s_nch, s_hash = tokenize_normalized(s_norm, s_off, tables.flags)
        lens[slow] = np.diff(s_off)
        ntok[slow] = s_cnt
    norm_off = np.zeros(lens.size + 1, np.int64)
    np.cumsum(lens, out=norm_off[1:])
    tok_off = np.zeros(lens.size + 1, np.int64)
    np.cumsum(ntok, out=tok_off[1:])
    nt = int(tok_off[-1])
    with small_pages():   # written and read in order
        norm = xp.empty(int(norm_off[-1]), dtype=np.uint8)
        tok_start = xp.empty(nt, np.int64)
        tok_len = xp.empty(nt, np.int32)
        tok_nch = xp.empty(nt if opts.min_token_len > 1 else 0, np.int32)   # only the filter reads it
        tok_hash = xp.empty(nt, np.uint64)
    norm_off_dev, tok_off_dev = backend.asarray(norm_off), backend.asarray(tok_off)
    backend.norm_tok_write(data, offsets, tables, lens_dev, norm_off_dev, norm, tok_off_dev,
                           tok_start, tok_len, tok_nch, tok_hash)
    if slow.size:
        s_tok_off = np.zeros(slow.size + 1, np.int64)
        np.cumsum(s_cnt, out=s_tok_off[1:])
        for i, d in enumerate(slow):
            a, b = int(norm_off[d]), int(norm_off[d + 1])
            if b > a:
                norm[a:b] = backend.asarray(s_norm[s_off[i]:s_off[i + 1]])
            ta, tb = int(tok_off[d]), int(tok_off[d + 1])
            if tb > ta:
                sa, sb = s_tok_off[i], s_tok_off[i + 1]
                tok_start[ta:tb] = backend.asarray(s_start[sa:sb] - s_off[i] + a)
                tok_len[ta:tb] = backend.asarray(s_len[sa:sb])
                if tok_nch.size:
                    tok_nch[ta:tb] = backend.asarray(s_nch[sa:sb])
                tok_hash[ta:tb] = backend.asarray(s_hash[sa:sb])
    keep = None
    stop = stopword_hashes(opts) if opts.stopwords else None
    if stop is not None and stop.size:  # an empty set removes nothing (and has no last index)
        stop = backend.asarray(stop)
        pos = xp.minimum(xp.searchsorted(stop, tok_hash), stop.size - 1)
        keep = stop[pos] != tok_hash
    if opts.min_token_len > 1:
        k2 = tok_nch >= opts.min_token_len
        keep = k2 if keep is None else keep & k2
    if keep is not None:
        cum = xp.zeros(nt + 1, dtype=np.int64)
        xp.cumsum(keep, out=cum[1:])
        tok_off_dev = cum[tok_off_dev]
        tok_start, tok_len, tok_hash = (a[keep] for a in (tok_start, tok_len, tok_hash))
        if tok_nch.size:
            tok_nch = tok_nch[keep]
    return Tokens(batch, backend, norm, norm_off_dev, tok_start, tok_len, tok_nch, tok_hash,
                  tok_off_dev, int(slow.size))


def tokenize_slow_docs(batch: Batch, sizes: np.ndarray, backend, opts: TextOptions = TextOptions()):
    """The documents that a fused kernel left to the exact slow path, tokenised apart.

    The fused CPU kernels (cooc's ``text_types``, MinHash's ``text_signatures`` and
    ``text_shingle_sets``) normalise per code point; a document holding a
    context-sensitive code point (see ``engine.normalize``) gets size ``-1`` from them
    instead.  Those documents go through :func:`tokenize`, which normalises them exactly.

    Parameters
    ----------
    batch : Batch
        The batch the kernel read.
    sizes : ndarray
        One value per document of ``batch``: negative for a document left to the slow path.
    backend : Backend
        Where to tokenise them.
    opts : TextOptions, optional
        The job's text options (the same filters as the fused kernel's).

    Returns
    -------
    slow : ndarray of int64
        Index in ``batch`` of each slow document (empty when there are none).
    tokens : Tokens or None
        Their tokens, document ``i`` of ``tokens`` being ``batch`` document ``slow[i]``;
        ``None`` when there are none.
    """
    from engine.corpus import batch_from_texts
    slow = np.flatnonzero(np.asarray(sizes) < 0).astype(np.int64)
    if slow.size == 0:
        return slow, None
    return slow, tokenize(batch_from_texts([batch.text(int(d)) for d in slow]), backend, opts)
