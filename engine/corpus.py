"""Corpus readers: files, folders, JSONL (plain, gzip, zstd) and Parquet -> Batch.

Every reader yields :class:`Batch` objects, flat arrays of valid UTF-8 bytes plus
document offsets and ids, bounded in size (``batch_bytes``), so memory does not
grow with the corpus.  Bad input is skipped and counted in :class:`ReadStats`
(reason, count, first locations) or, with ``strict=True``, raised as a
:class:`CorpusError` naming the file and line.  What is read but worth a word
(a duplicate id, a file given twice) is a warning: counted apart, never raised.

Locations are ``FILE`` (a text file, a file-level problem), ``FILE:LINE`` (JSONL, lines
from 1), ``FILE:row R`` (Parquet, rows from 0) and ``FILE:row group G`` (Parquet).
"""
from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import re
import stat
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from engine.errors import ParameterError
from engine.stats import MAX_LOCATIONS
from kernels.constants import FLAW_MISSING

__all__ = ["Batch", "CorpusError", "ReadStats", "CorpusReader", "FilePiece", "read_corpus",
           "batch_from_texts", "TEXT_SUFFIXES"]

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")
DEFAULT_BATCH_BYTES = 64 << 20
SNIFF_BYTES = 64 << 10        # head of a JSONL stream that --encoding auto looks at
TRANSCODE_READ = 1 << 20      # bytes decoded at a time on the non-UTF-8 JSONL path
ZSTD_READ = 256 << 10         # compressed bytes fed at a time (bounds each decompressed piece)


class CorpusError(Exception):
    """A corpus problem worth one clear line (missing path, bad file in --strict mode...)."""


@dataclass
class Batch:
    """A slice of the corpus as flat arrays.

    ``data[offsets[i]:offsets[i+1]]`` is document ``i``'s UTF-8 text, its id is
    ``doc_ids[i]``, and its index in the whole corpus is ``doc_base + i``.
    """
    doc_ids: list[str]
    data: np.ndarray      # uint8
    offsets: np.ndarray   # int64, len(doc_ids) + 1
    doc_base: int = 0

    @property
    def n_docs(self) -> int:
        return len(self.doc_ids)

    @property
    def n_bytes(self) -> int:
        return int(self.offsets[-1])

    def text(self, i: int) -> str:
        # "replace" decodes invalid bytes exactly as the kernels do (U+FFFD per invalid prefix),
        # so the slow path agrees with them even on a batch that no reader validated
        return bytes(self.data[self.offsets[i]:self.offsets[i + 1]]).decode("utf-8", "replace")


def _note(counts: Counter, locations: dict, reason: str, where: str, n: int) -> None:
    counts[reason] += n
    locs = locations.setdefault(reason, [])
    if len(locs) < MAX_LOCATIONS:
        locs.append(where)


@dataclass
class ReadStats:
    """What was read, what was skipped and what was warned about, with the first few
    locations per reason.

    ``skipped`` counts documents (or files, lines, row groups) left out; ``warnings``
    counts things read as they are but worth a word (a duplicate id, a path given twice),
    so that the skip counts stay exact.
    """
    documents: int = 0
    bytes: int = 0
    files: int = 0
    skipped: Counter = field(default_factory=Counter)
    locations: dict = field(default_factory=dict)
    warnings: Counter = field(default_factory=Counter)
    warning_locations: dict = field(default_factory=dict)

    def skip(self, reason: str, where: str, n: int = 1) -> None:
        """Count ``n`` skipped items for ``reason`` at ``where``."""
        _note(self.skipped, self.locations, reason, where, n)

    def warn(self, reason: str, where: str, n: int = 1) -> None:
        """Count ``n`` warnings for ``reason`` at ``where`` (nothing is left out)."""
        _note(self.warnings, self.warning_locations, reason, where, n)

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def n_warnings(self) -> int:
        return sum(self.warnings.values())

    def summary_lines(self) -> list[str]:
        """``skipped N (reason): loc, loc ...`` then ``warning: N (reason): loc ...`` lines."""
        lines = []
        for prefix, counts, locations in (("skipped ", self.skipped, self.locations),
                                          ("warning: ", self.warnings, self.warning_locations)):
            for reason, n in sorted(counts.items()):
                locs = locations.get(reason, [])
                more = " ..." if n > len(locs) else ""
                lines.append(f"{prefix}{n} ({reason}): {', '.join(locs)}{more}")
        return lines

    def merge(self, other: "ReadStats") -> "ReadStats":
        """``self`` followed by ``other`` (a later partition of the corpus): sums, and the
        first locations per reason in that order, as one reader would have kept them."""
        self.documents += other.documents
        self.bytes += other.bytes
        self.files += other.files
        for mine_counts, mine_locs, counts, locs in (
                (self.skipped, self.locations, other.skipped, other.locations),
                (self.warnings, self.warning_locations, other.warnings, other.warning_locations)):
            mine_counts.update(counts)
            for reason, where in locs.items():
                kept = mine_locs.setdefault(reason, [])
                kept.extend(where[:max(MAX_LOCATIONS - len(kept), 0)])
        return self

    def as_dict(self) -> dict:
        return {"documents": self.documents, "bytes": self.bytes, "files": self.files,
                "skipped": dict(self.skipped), "skipped_locations": self.locations,
                "warnings": dict(self.warnings), "warning_locations": self.warning_locations}



def _doc_flaws(data: np.ndarray, offsets: np.ndarray, check_utf8: bool) -> np.ndarray:
    """Per document (int8): 0, or a ``kernels.cpu.text.doc_flaws`` code (blank by the Unicode
    tables, NUL byte, invalid UTF-8)."""
    from engine.normalize import get_tables
    from kernels.cpu.text import doc_flaws
    return doc_flaws(data, offsets, get_tables().flags, check_utf8)


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    return "text"


def _first_line(e: BaseException, limit: int = 160) -> str:
    """An exception's message on one short line (Arrow's may span several)."""
    msg = "".join(c if c.isprintable() else " " for c in str(e))   # Arrow may quote raw bytes
    msg = " ".join(msg.split()) or type(e).__name__
    return msg if len(msg) <= limit else msg[:limit - 3] + "..."


# ---------------------------------------------------------------------------------- encodings
def _checked_encoding(name: str) -> str:
    """``name`` if it is ``auto`` or a Python text codec, else a :class:`ParameterError`."""
    if name == "auto":
        return name
    hint = "use a Python text codec such as utf-8, cp1252, latin-1, utf-16, or 'auto'"
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ParameterError(f"--encoding: unknown codec {name!r} ({hint})") from None
    # rot13, base64, zlib... are codecs too, but they map bytes to bytes (or str to str)
    if not getattr(info, "_is_text_encoding", True):
        raise ParameterError(f"--encoding: {name!r} is not a text encoding ({hint})")
    try:
        codecs.decode(b"", name)
    except UnicodeError:   # "undefined" decodes nothing, not even b""
        raise ParameterError(f"--encoding: {name!r} decodes nothing ({hint})") from None
    return name


def _codec(name: str) -> str:
    return codecs.lookup(name).name


def _is_utf8(name: str) -> bool:
    """UTF-8 (with or without BOM): the bytes are used as they are, no transcoding."""
    return _codec(name) in ("utf-8", "utf-8-sig")


def _is_wide(name: str) -> bool:
    """UTF-16 or UTF-32: NUL bytes are part of the encoding, not a sign of binary content."""
    return _codec(name).startswith(("utf-16", "utf-32"))


# longest first: the UTF-32-LE BOM starts like the UTF-16-LE one
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def _bom_encoding(head: bytes) -> str | None:
    """The codec a byte-order mark at the start of ``head`` names (it consumes the BOM)."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


def _wide_under_narrow(head: bytes, encoding: str) -> str | None:
    """The reason to give for a file that opens with a UTF-16/32 byte-order mark and holds
    NUL bytes but is read with an 8-bit ``encoding`` (else None): its NULs are no sign of
    binary content.  Under an explicit encoding a BOM is not obeyed: ``FF FE`` could be
    anything's first two bytes."""
    bom = _bom_encoding(head)
    if bom in ("utf-16", "utf-32") and b"\x00" in head and not _is_wide(encoding):
        return f"{bom.upper()} text read as {encoding} (use --encoding {bom} or auto)"
    return None


def _decodes(sample: bytes, name: str) -> bool:
    """Whether ``sample`` (possibly cut inside a character) decodes under ``name``."""
    try:
        codecs.getincrementaldecoder(name)().decode(sample, final=False)
        return True
    except UnicodeDecodeError:
        return False


def _wide_by_nuls(sample: bytes) -> str | None:
    """UTF-16/32 without a BOM, told by where the NUL bytes fall: text in UTF-16 has a NUL
    in (nearly) every other byte on one side only, UTF-32 in the two high bytes of every
    unit.  Binary content has NULs anywhere and fails these tests."""
    a = np.frombuffer(sample, np.uint8, len(sample) // 4 * 4)
    if a.size < 4 or (a != 0).all():
        return None
    units = a.reshape(-1, 4)
    if (units[:, 3] == 0).all() and (units[:, 2] <= 0x10).all() and _decodes(sample, "utf-32-le"):
        return "utf-32-le"
    if (units[:, 0] == 0).all() and (units[:, 1] <= 0x10).all() and _decodes(sample, "utf-32-be"):
        return "utf-32-be"
    pairs = a.reshape(-1, 2)
    zero_lo, zero_hi = (pairs[:, 0] == 0).mean(), (pairs[:, 1] == 0).mean()
    if zero_hi >= 0.3 and zero_lo <= 0.05 and _decodes(sample, "utf-16-le"):
        return "utf-16-le"
    if zero_lo >= 0.3 and zero_hi <= 0.05 and _decodes(sample, "utf-16-be"):
        return "utf-16-be"
    return None


CP1252_SLACK = 0.1   # chaos by which cp1252 may trail charset-normalizer's pick and still win


def _legacy_encoding(sample: bytes) -> str | None:
    """A single- or multi-byte legacy encoding of ``sample`` by charset-normalizer, or None.

    Short Western text is decoded about as cleanly by many code pages, and
    charset-normalizer's pick among them is close to arbitrary (cp775, mac_latin2,
    cp1006...; JSON punctuation or one typographic quote is enough to sway it).  cp1252,
    the common legacy encoding, is measured in any case (charset-normalizer may leave it
    out of its shortlist) and wins when it is as coherent (language likeness) as the pick
    and no more than ``CP1252_SLACK`` more chaotic (about one odd character in ten).  The
    price: a short Turkish cp1254 text may come out as cp1252 (6 letters differ).
    """
    from charset_normalizer import from_bytes
    best = from_bytes(sample).best()
    cp1252 = from_bytes(sample, cp_isolation=["cp1252"]).best()
    if cp1252 is not None and (best is None or (cp1252.chaos <= best.chaos + CP1252_SLACK
                                                and cp1252.coherence >= best.coherence - 1e-9)):
        return "cp1252"
    return best.encoding if best is not None else None


def _detect_encoding(sample: bytes, whole: bool) -> str | None:
    """``--encoding auto`` for one file from ``sample`` (its start, or all of it if ``whole``):
    a BOM, then the NUL pattern of UTF-16/32, then UTF-8 if valid, then charset-normalizer.
    None: undetectable."""
    named = _bom_encoding(sample) or _wide_by_nuls(sample)
    if named:
        return named
    if b"\x00" in sample:
        return "utf-8"    # binary, or NULs in JSON lines: reported as such under utf-8
    # a sample cut from a stream may end inside a character
    if _valid_utf8(sample) if whole else _decodes(sample, "utf-8"):
        return "utf-8"
    return _legacy_encoding(sample)


def _valid_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


MARK_ERRORS = "corpus-engine-mark"
_MARKS = re.compile("[\udc00-\udcff]")


def _mark_undecodable(err: UnicodeDecodeError) -> tuple[str, int]:
    """Decoding error handler: each byte the codec cannot decode becomes the lone surrogate
    U+DC00 + byte.  Encoded with ``surrogatepass`` it is invalid UTF-8, so the line that holds
    it is caught by the UTF-8 check like any other, and the line parser reports it with its
    position in the original encoding."""
    return "".join(chr(0xDC00 + b) for b in err.object[err.start:err.end]), err.end


codecs.register_error(MARK_ERRORS, _mark_undecodable)


def _encoded_len(text: str, name: str) -> int:
    """Bytes of ``text`` in the codec ``name``, less the BOM some codecs put first."""
    return len(text.encode(name, "replace")) - len("".encode(name))


# ---------------------------------------------------------------------------------- streams
class _BrokenStream(Exception):
    """A JSONL byte stream that ends badly.  ``reason`` says how; ``complete``: whether the
    bytes before the break are whole (trailing junk) or may end inside a line (truncation)."""

    def __init__(self, reason: str, complete: bool = False):
        super().__init__(reason)
        self.reason, self.complete = reason, complete


class _GzipStream(io.RawIOBase):
    """A gzip file's content whose failures are :class:`_BrokenStream` reasons.  ``read1``
    makes one decompression step per call, so an error never hides data already decompressed."""

    def __init__(self, raw):
        self.gz = gzip.GzipFile(fileobj=raw, mode="rb")
        self.produced = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        try:
            data = self.gz.read1(len(b))
        except EOFError:
            raise _BrokenStream("truncated gzip stream") from None
        except gzip.BadGzipFile as e:
            # the gzip module says "Not a gzipped file" for whatever follows a member without
            # a gzip header: the file itself when nothing came out yet, else junk after it
            if str(e).startswith("Not a gzipped file"):
                if self.produced == 0:
                    raise _BrokenStream("not a gzip file", complete=True) from None
                raise _BrokenStream("trailing junk after the gzip stream", complete=True) from None
            raise _BrokenStream(f"corrupt gzip stream ({e})") from None
        except zlib.error as e:
            raise _BrokenStream(f"corrupt gzip stream ({e})") from None
        n = len(data)
        b[:n] = data
        self.produced += n
        return n


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _starts_zstd_frame(head: bytes) -> bool:
    """A zstd frame or a skippable frame (magic 0x184D2A50..5F, little-endian) starts here."""
    return head[:4] == _ZSTD_MAGIC or (len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18"
                                      and 0x50 <= head[0] <= 0x5F)


class _ZstdStream(io.RawIOBase):
    """The frames of a zstd file, one after the other, decompressed with ``decompressobj``
    so that the end of each frame is known: zstandard's ``stream_reader`` returns end-of-file
    silently inside a truncated frame, and stops after the first frame unless told not to."""

    def __init__(self, raw):
        import zstandard
        self.raw = raw
        self.dctx = zstandard.ZstdDecompressor()
        self.zstd_error = zstandard.ZstdError
        self.frame = None            # decompressobj of the frame being read; None between frames
        self.pending = b""           # compressed bytes read but not fed yet
        self.out = memoryview(b"")   # decompressed bytes not returned yet
        self.frames = 0
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not len(self.out) and not self.done:
            self._step()
        n = min(len(b), len(self.out))
        b[:n] = self.out[:n]
        self.out = self.out[n:]
        return n

    def _step(self) -> None:
        if self.frame is None:
            while len(self.pending) < 4:
                more = self.raw.read(ZSTD_READ)
                if not more:
                    break
                self.pending += more
            if not self.pending:
                self.done = True
                return
            if not _starts_zstd_frame(self.pending):
                raise _BrokenStream("trailing junk after the zstd stream" if self.frames
                                    else "not a zstd file", complete=True)
            self.frame = self.dctx.decompressobj()
        data = self.pending or self.raw.read(ZSTD_READ)
        self.pending = b""
        if not data:
            raise _BrokenStream("truncated zstd stream")
        try:
            out = self.frame.decompress(data)
        except self.zstd_error as e:
            raise _BrokenStream(f"corrupt zstd stream ({e})") from None
        if self.frame.eof:
            self.pending, self.frame = self.frame.unused_data, None
            self.frames += 1
        self.out = memoryview(out)


class _Transcoded(io.RawIOBase):
    """The UTF-8 form of a byte stream in another encoding.  An incremental decoder keeps a
    character split between two reads whole; undecodable bytes become marks (see
    :func:`_mark_undecodable`); a leading BOM is dropped.  ``head``: bytes already read from
    ``stream``, and ``error`` the :class:`_BrokenStream` that ended that read, if any."""

    def __init__(self, stream, encoding: str, head: bytes = b"", error: _BrokenStream | None = None):
        self.stream, self.head, self.error = stream, head, error
        self.decoder = codecs.getincrementaldecoder(encoding)(errors=MARK_ERRORS)
        self.out = memoryview(b"")
        self.started = False
        self.done = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not len(self.out):
            if self.done:
                if self.error is not None:   # the break, once what came before is served
                    e, self.error = self.error, None
                    raise e
                return 0
            self._step()
        n = min(len(b), len(self.out))
        b[:n] = self.out[:n]
        self.out = self.out[n:]
        return n

    def _raw(self) -> bytes:
        """The next bytes to decode; b"" at the end, or at a break after which the bytes are
        whole (junk); a truncation is raised at once (its partial character is lost anyway)."""
        if self.head:
            raw, self.head = self.head, b""
            return raw
        if self.error is None:
            try:
                return self.stream.read(TRANSCODE_READ)
            except _BrokenStream as e:
                self.error = e
        if not self.error.complete:
            e, self.error = self.error, None
            raise e
        return b""

    def _step(self) -> None:
        raw = self._raw()
        text = self.decoder.decode(raw, final=not raw)
        self.done = not raw
        if text and not self.started:
            self.started = True
            text = text[1:] if text[0] == "\ufeff" else text
        self.out = memoryview(text.encode("utf-8", "surrogatepass"))


def _open_stream(path: Path, raw) -> io.RawIOBase:
    """The decompressed content of JSONL file ``path`` (open as ``raw``)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return _GzipStream(raw)
    if name.endswith(".zst"):
        return _ZstdStream(raw)
    return raw


@dataclass(frozen=True)
class FilePiece:
    """The part of one input file that a partition of a distributed run reads.

    The whole file by default; a JSONL byte range ``[start, stop)`` whose ends fall on line
    ends (``line0``: the lines of the file before ``start``, so that locations and default
    ids are those of one reader); or the Parquet row groups ``[groups[0], groups[1])``
    (``row0``: the rows before them).  Made by :func:`engine.dist.plan.plan_partitions`.
    """
    path: str
    rel: str
    size: int              # the file's size on disk
    start: int = 0
    stop: int = -1         # -1: to the end of the file
    line0: int = 0
    groups: tuple | None = None
    row0: int = 0

    @property
    def first(self) -> bool:
        """Whether the piece starts the file (the file is counted, its head checked, once)."""
        return self.start == 0 and (self.groups is None or self.groups[0] == 0)

    @property
    def is_range(self) -> bool:
        return self.start > 0 or self.stop >= 0

    @property
    def nbytes(self) -> int:
        """On-disk bytes of the piece (a row-group piece counts its file's share)."""
        return (self.stop if self.stop >= 0 else self.size) - self.start


class _Range(io.RawIOBase):
    """Bytes ``[start, stop)`` of the open file ``f``; ``tell`` counts from ``start``."""

    def __init__(self, f, start: int, stop: int):
        f.seek(start)
        self.f, self.left, self.pos = f, stop - start, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.left <= 0:
            return 0
        with memoryview(b) as view:
            n = self.f.readinto(view[:min(len(view), self.left)]) or 0
        self.left -= n
        self.pos += n
        return n

    def tell(self) -> int:
        return self.pos


def _fill(stream, buf: bytearray, have: int) -> tuple[int, bool, _BrokenStream | None]:
    """Read ``stream`` into ``buf[have:]`` until ``buf`` is full or the stream ends.
    Returns the bytes now held, whether the stream ended, and how it broke if it did."""
    with memoryview(buf) as view:
        while have < len(buf):
            try:
                n = stream.readinto(view[have:])
            except _BrokenStream as e:
                return have, True, e
            except OSError as e:
                return have, True, _BrokenStream(f"read error ({e.strerror or e})")
            if not n:
                return have, True, None
            have += n
    return have, False, None


class _NumberText(str):
    """A JSON number kept as its source text (``1.0`` stays ``"1.0"``, big integers exact)."""


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")   # Python accepts NaN and Infinity; JSON does not


def _json_id_text(value, line_text: str, id_field: str) -> str | None:
    """The id of a JSON line: a string as it is, a number as written, ``true``/``false``,
    an object or array as compact JSON; None when absent or null."""
    if value is None or isinstance(value, str):
        return None if value is None else str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    full = json.loads(line_text)[id_field]   # numbers inside as numbers again
    return json.dumps(full, ensure_ascii=False, separators=(",", ":"))


def _value_text(value) -> str | None:
    """A Parquet id value as text: integers as integers, strings as they are."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


# ---------------------------------------------------------------------------------- duplicate ids
class _IdSet:
    """The ids seen so far as 64-bit hashes in sorted runs, merged like a binary counter:
    8 bytes per distinct id and no Python strings kept.  Python's string hash is 64-bit and
    fixed within a process, which is all this needs.  Two different ids with the same hash
    (odds about n^2 / 2^65: 3 in 10^4 for 10^8 ids) would make a false warning, never a
    lost document."""

    def __init__(self):
        self.runs: list[np.ndarray] = []

    def add(self, ids: Sequence[str]) -> np.ndarray:
        """Record ``ids``; returns the indices of those seen before (earlier in ``ids`` too)."""
        h = np.fromiter(map(hash, ids), np.int64, len(ids))
        hs = np.sort(h)
        if not (hs[1:] == hs[:-1]).any() and not any(_found(run, hs).any() for run in self.runs):
            self._push(hs)   # the usual case: all new, and already a sorted run
            return np.empty(0, np.int64)
        order = np.argsort(h, kind="stable")
        seen = np.zeros(len(ids), bool)
        seen[order[1:][hs[1:] == hs[:-1]]] = True   # the later ones of equal ids
        for run in self.runs:
            seen |= _found(run, h)
        self._push(np.unique(h[~seen]))
        return np.flatnonzero(seen)

    def _push(self, run: np.ndarray) -> None:
        if run.size:
            self.runs.append(run)
        while len(self.runs) > 1 and self.runs[-2].size <= 2 * self.runs[-1].size:
            last = self.runs.pop()   # a stable sort of two sorted runs is a merge
            self.runs[-1] = np.sort(np.concatenate([self.runs[-1], last]), kind="stable")


def _found(run: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Which of the hashes ``h`` the sorted ``run`` holds."""
    return run[np.minimum(np.searchsorted(run, h), run.size - 1)] == h


# ---------------------------------------------------------------------------------- reader
class CorpusReader:
    """Streams a corpus as bounded :class:`Batch` objects.

    Parameters
    ----------
    paths : files or folders. Folders are walked recursively (symlinks followed, each
        folder and file once) for ``*.txt`` and ``*.md`` (one document per file, id = path
        relative to the folder) and for JSONL and Parquet files; a folder's
        ``README.md``/``README.txt`` is skipped (and reported) as documentation of the
        corpus, and what is not a regular file (FIFO, socket, broken symlink) is reported
        and never opened.  A file reached twice is read once, with a warning.
    text_field, id_field : JSONL keys / Parquet columns. A JSONL line without
        ``id_field`` gets the id ``FILE:LINE``; a number id is its JSON text (``1.0``
        stays ``"1.0"``).  Duplicate ids are reported as warnings (the documents are kept).
    encoding : a Python text codec name, applied to every input kind, or ``"auto"``: per
        file, a BOM, else the NUL pattern of UTF-16/32, else UTF-8 when valid, else
        detected by charset-normalizer (ties between equally clean code pages go to
        cp1252).  A leading BOM is never part of the text.  An unknown or non-text codec is a
        :class:`~engine.errors.ParameterError`.
    strict : raise :class:`CorpusError` on the first bad document instead of
        skipping and counting it (warnings are never raised).
    batch_bytes : bound on the text bytes per batch.
    progress : called with the number of on-disk bytes consumed since the last call.
    json_chunk_bytes : JSONL bytes parsed at a time.
    """

    def __init__(self, paths: Sequence[str | os.PathLike], *, text_field: str = "text",
                 id_field: str = "id", encoding: str = "utf-8", strict: bool = False,
                 batch_bytes: int = DEFAULT_BATCH_BYTES,
                 progress: Callable[[int], None] | None = None,
                 json_chunk_bytes: int = 32 << 20):
        if not paths:
            raise CorpusError("no input path given")
        self._configure(text_field=text_field, id_field=id_field, encoding=encoding, strict=strict,
                        batch_bytes=batch_bytes, progress=progress, json_chunk_bytes=json_chunk_bytes)
        self.files = self._expand(paths)
        self.total_bytes = sum(size for _, _, size in self.files)

    @classmethod
    def for_pieces(cls, pieces: Sequence[FilePiece], **options) -> "CorpusReader":
        """A reader of the file pieces of one partition (a distributed run's task), in
        order, with the options of :class:`CorpusReader` (no walk: the client did it)."""
        pieces = list(pieces)
        reader = cls.__new__(cls)
        reader._configure(**options)
        reader.pieces = pieces
        reader.files = [(Path(p.path), p.rel, p.size) for p in pieces]
        reader.total_bytes = sum(p.nbytes for p in pieces)
        return reader

    def _configure(self, *, text_field: str = "text", id_field: str = "id", encoding: str = "utf-8",
                   strict: bool = False, batch_bytes: int = DEFAULT_BATCH_BYTES,
                   progress: Callable[[int], None] | None = None,
                   json_chunk_bytes: int = 32 << 20) -> None:
        if batch_bytes <= 0:
            raise CorpusError(f"batch_bytes must be a positive number of bytes, got {batch_bytes}")
        self.text_field, self.id_field = text_field, id_field
        self.encoding, self.strict = _checked_encoding(encoding), strict
        self.batch_bytes = batch_bytes
        self.json_chunk_bytes = json_chunk_bytes
        self.progress = progress or (lambda n: None)
        self.stats = ReadStats()
        self._ids = _IdSet()
        self.pieces: list[FilePiece] | None = None   # set by for_pieces: parts of files
        # explicit ids and their locations, in reading order (None: not kept); a distributed
        # run keeps them to find the duplicates across partitions
        self.id_log: list | None = None

    def options(self) -> dict:
        """The options a reader of the same corpus's pieces needs (no progress callback)."""
        return {"text_field": self.text_field, "id_field": self.id_field, "encoding": self.encoding,
                "strict": self.strict, "batch_bytes": self.batch_bytes,
                "json_chunk_bytes": self.json_chunk_bytes}

    # -- discovery -------------------------------------------------------------
    def _expand(self, paths) -> list[tuple[Path, str, int]]:
        """(path, id or relative name, size) of every file to read, each file once."""
        out, seen = [], set()
        for p in paths:
            path = Path(p)
            found = self._walk(path) if path.is_dir() else [(path, path.name, _input_file(path))]
            for f, rel, st in found:
                key = (st.st_dev, st.st_ino)   # the same file by another path, link or folder
                if key in seen:
                    self.stats.warn("same file given more than once (read once)", str(f))
                    continue
                seen.add(key)
                out.append((f, rel, st.st_size))
        if not out:   # an empty result would look like an empty corpus
            where = ", ".join(str(p) for p in paths)
            raise CorpusError(f"no corpus file found in {where} (folders are searched for "
                              f"{', '.join('*' + s for s in TEXT_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES)})")
        return out

    def _walk(self, folder: Path) -> list[tuple[Path, str, os.stat_result]]:
        """The corpus files under ``folder``, in path order; what is not a regular file
        is reported without being opened (opening a FIFO would wait forever)."""
        found, dirs_seen = [], set()

        def unreadable(e: OSError):
            self._bad(f"unreadable folder ({e.strerror})", str(e.filename))

        for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable, followlinks=True):
            try:
                st = os.stat(dirpath)
            except OSError as e:   # gone or locked since it was listed
                unreadable(e)
                dirnames[:] = []
                continue
            if (st.st_dev, st.st_ino) in dirs_seen:   # a symlink loop, or a second way in
                dirnames[:] = []
                continue
            dirs_seen.add((st.st_dev, st.st_ino))
            dirnames.sort()
            for name in filenames:
                f = Path(dirpath, name)
                st = self._regular_stat(f)
                if st is None or not name.lower().endswith(TEXT_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES):
                    continue
                if f.stem.lower() == "readme" and f.suffix.lower() in TEXT_SUFFIXES:
                    # a folder's README describes the corpus; it is not one of its documents
                    self.stats.skip("README, not a document", str(f))
                    continue
                found.append((f, f.relative_to(folder).as_posix(), st))
        return sorted(found, key=lambda item: item[0])

    def _regular_stat(self, f: Path) -> os.stat_result | None:
        """``f``'s stat if it is a regular file (through symlinks), else None, reported."""
        try:
            st = f.stat()
        except OSError as e:
            self._bad("broken symlink" if f.is_symlink() else f"unreadable ({e.strerror})", str(f))
            return None
        if not stat.S_ISREG(st.st_mode):
            self._bad(f"not a regular file ({_file_type(st)})", str(f))
            return None
        return st

    # -- bad input -------------------------------------------------------------
    def _bad(self, reason: str, where: str, n: int = 1) -> None:
        if self.strict:
            raise CorpusError(f"{where}: {reason}")
        # skips are counted by kind: "invalid utf-8 at byte 12" is one more "invalid utf-8"
        # (one summary line, not one per offset); --strict names the byte
        self.stats.skip(reason.partition(" at byte ")[0], where, n)

    def _check_ids(self, ids: list[str], where: Callable[[int], str]) -> None:
        """Warn about ids seen before (``where(k)``: location of ``ids[k]``)."""
        if not ids:
            return
        if self.id_log is not None:   # a partition of a distributed run: the client checks across
            self.id_log.append((ids, [where(k) for k in range(len(ids))]))
        dups = self._ids.add(ids)
        reason = "duplicate id (document kept)"
        for k in dups[:MAX_LOCATIONS].tolist():
            self.stats.warn(reason, where(k))
        if dups.size > MAX_LOCATIONS:
            self.stats.warnings[reason] += int(dups.size) - MAX_LOCATIONS

    # -- text files ------------------------------------------------------------
    def _file_encoding(self, raw: bytes, where: str) -> str | None:
        if self.encoding == "auto":
            enc = _detect_encoding(raw, whole=True)
            if enc is None:
                self._bad("undetectable encoding", where)
            return enc
        if _is_utf8(self.encoding) and raw.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        return self.encoding

    def _decode(self, raw: bytes, where: str, encoding: str) -> bytes | None:
        """Valid UTF-8 bytes of ``raw`` under ``encoding``, or None (counted) if unusable."""
        wide = _is_wide(encoding)
        if not wide and b"\x00" in raw:   # in UTF-16/32, NUL bytes are characters' halves
            self._bad(_wide_under_narrow(raw, encoding) or "binary content (NUL bytes)", where)
            return None
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as e:
            self._bad(f"invalid {encoding} at byte {e.start}", where)
            return None
        text = text[1:] if text.startswith("\ufeff") else text
        if not text.strip():
            self._bad("empty document", where)
            return None
        if wide and "\x00" in text:
            self._bad("binary content (NUL bytes)", where)
            return None
        if _codec(encoding) == "utf-8" and not raw.startswith(codecs.BOM_UTF8):
            return raw   # already the bytes wanted
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:   # a codec such as unicode_escape can make lone surrogates
            self._bad("invalid unicode (lone surrogate)", where)
            return None

    def _docs_text(self, path: Path, doc_id: str, size: int) -> Iterator[tuple[str, bytes]]:
        try:
            raw = path.read_bytes()
        except OSError as e:
            self._bad(f"unreadable ({e.strerror})", str(path))
            return
        finally:
            self.progress(size)
        if not raw.strip():
            self._bad("empty document", str(path))
            return
        enc = self._file_encoding(raw, str(path))
        if enc is None:
            return
        text = self._decode(raw, str(path), enc)
        if text is not None:
            yield doc_id, text

    # -- JSONL -----------------------------------------------------------------
    def _docs_jsonl(self, path: Path, size: int, piece: FilePiece | None = None) -> Iterator:
        """JSONL in chunks of whole lines: Arrow's multithreaded JSON parser when the
        chunk is clean, the line-by-line Python parser (which names bad lines) when not.
        Compressed streams are read to their last complete line; a break is reported with
        the documents read before it."""
        try:
            raw_f = open(path, "rb")
        except OSError as e:
            self.progress(size)
            self._bad(f"unreadable ({e.strerror})", str(path))
            return
        state = _JsonlFile()
        head = True
        if piece is not None and piece.is_range:   # plain JSONL only (the planner's rule)
            raw_f = _Range(raw_f, piece.start, piece.stop if piece.stop >= 0 else size)
            state.line0, size, head = piece.line0, piece.nbytes, piece.start == 0
        try:
            stream = raw_f if piece is not None and piece.is_range else _open_stream(path, raw_f)
            yield from self._jsonl_stream(path, raw_f, stream, state, head)
        finally:
            self.progress(max(size - state.seen, 0))
            raw_f.close()

    def _jsonl_encoding(self, head: bytes, whole: bool, path: Path) -> str | None:
        """The encoding of a JSONL stream from its first bytes, all of it if ``whole``
        (None: undetectable, counted)."""
        if self.encoding == "auto":
            enc = _detect_encoding(head, whole)
            if enc is None:
                self._bad("undetectable encoding", str(path))
            return enc
        wide = _wide_under_narrow(head, self.encoding)
        if wide:   # else every line would be reported, as malformed
            self._bad(wide, str(path))
            return None
        if _is_utf8(self.encoding) and head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        return self.encoding

    def _jsonl_stream(self, path: Path, raw_f, stream, state: "_JsonlFile", head: bool = True) -> Iterator:
        # one read buffer for the whole file (fresh pages are not free): whole lines are
        # parsed, the partial last line is moved to the front for the next read
        buf = bytearray(self.json_chunk_bytes)
        have, at_end, broken = _fill(stream, buf, 0)
        if have == 0 and broken is None:
            self._bad("empty file", str(path))
            return
        # a later piece of a file cut by the planner (UTF-8 only): the head was the first's
        enc = self._jsonl_encoding(bytes(buf[:min(have, SNIFF_BYTES)]), at_end and have <= SNIFF_BYTES,
                                   path) if head else "utf-8"
        if enc is None:
            return
        if not _is_utf8(enc):   # the slow path: everything through a decoder
            stream = _Transcoded(stream, enc, bytes(buf[:have]), broken)
            have, at_end, broken = _fill(stream, buf, 0)
        elif head and buf.startswith(codecs.BOM_UTF8):
            buf[:have - 3] = buf[3:have]
            have -= 3
        while True:
            if not at_end:
                have, at_end, broken = _fill(stream, buf, have)
            whole = at_end and (broken is None or broken.complete)
            end = have if whole else buf.rfind(b"\n", 0, have) + 1
            if end == 0 and not at_end:   # a line longer than the buffer
                bigger = bytearray(2 * len(buf))
                bigger[:have] = buf[:have]
                buf = bigger
                continue
            if end:
                ends = _line_ends(buf, end)
                yield from state.counted(self._jsonl_chunk(path, buf, end, state.line0, ends, enc))
                state.line0 += _n_lines(buf, end, ends)
            buf[:have - end] = buf[end:have]
            have -= end
            pos = raw_f.tell()
            self.progress(pos - state.seen)
            state.seen = pos
            if at_end:
                break
        if broken is not None:
            self._broken(path, broken, state)

    def _broken(self, path: Path, broken: _BrokenStream, state: "_JsonlFile") -> None:
        reason = broken.reason
        if not reason.startswith("not a "):
            reason += f" ({state.docs} documents read before it)"
        # the line where the stream broke: the partial line dropped, or the one after the last
        self._bad(reason, f"{path}:{state.line0 + 1}")

    @staticmethod
    def _utf8_clean(buf: bytearray, end: int) -> bool:
        """Whether ``buf[:end]`` is valid UTF-8 by Python's strict rules.  Arrow's JSON parser
        does not validate, so whatever it accepts would reach the kernels; Arrow's own UTF-8
        validator (SIMD, several GB/s: a few ms per chunk) checks the whole chunk at once, the
        ids and the fields not read included, so that a line is bad or good whichever parser
        reads it."""
        import pyarrow as pa
        whole = pa.Array.from_buffers(pa.large_string(), 1, [
            None, pa.py_buffer(np.array([0, end], np.int64)), pa.py_buffer(memoryview(buf)[:end])])
        try:
            whole.validate(full=True)
            return True
        except pa.ArrowInvalid:
            return False

    def _jsonl_chunk(self, path: Path, buf: bytearray, end: int, line0: int, ends: np.ndarray,
                     enc: str) -> Iterator:
        """Documents of the whole JSONL lines ``buf[:end]`` (newlines at ``ends``; Arrow copies
        what it parses, and nothing here keeps a view of ``buf``)."""
        import pyarrow as pa
        import pyarrow.json as pj

        def exactly():
            return self._jsonl_lines(path, bytes(memoryview(buf)[:end]).split(b"\n"), line0, enc)

        if not self._utf8_clean(buf, end):
            yield from exactly()
            return
        try:
            tb = pj.read_json(pa.BufferReader(pa.py_buffer(memoryview(buf)[:end])),
                              parse_options=pj.ParseOptions(
                                  explicit_schema=pa.schema([(self.text_field, pa.large_string())]),
                                  unexpected_field_behavior="infer"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            # malformed or irregular lines somewhere in the chunk: the exact, slower parser
            yield from exactly()
            return
        line_of = _row_lines(buf, end, ends, line0, tb.num_rows)
        ids = self._arrow_ids(tb) if line_of is not None else None
        if line_of is None or ids is _ON_LINES:
            # rows that are not one per line (two objects on a line), or ids Arrow cannot
            # give as their JSON text (floats, booleans, mixed...): the exact parser
            yield from exactly()
            return
        yield from self._arrow_blocks(tb.column(self.text_field), ids, lambda r: f"{path}:{line_of(r)}",
                                      lambda r: f"{path.name}:{line_of(r)}")
        pa.default_memory_pool().release_unused()  # Arrow keeps freed parse buffers otherwise

    def _arrow_ids(self, tb):
        """The ids of an Arrow JSON table as text (None where absent), None when there is no
        id column, or ``_ON_LINES`` when only the line parser gives them exactly."""
        import pyarrow as pa
        import pyarrow.compute as pc
        if self.id_field not in tb.column_names:
            return None
        col = tb.column(self.id_field)
        if pa.types.is_null(col.type):
            return None
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            return col.to_pylist()
        # an int64 is its JSON text, but for "-0", which Arrow reads as 0
        if pa.types.is_integer(col.type) and not pc.any(pc.equal(col, 0)).as_py():
            return pc.cast(col, pa.string()).to_pylist()
        return _ON_LINES

    def _arrow_blocks(self, texts, ids, where, default_id, check_utf8=False,
                      missing="missing or non-string field") -> Iterator["_Block"]:
        """Blocks of the usable rows of an Arrow string column, one per chunk, without copying
        the text; null, blank and NUL-holding rows are counted.  ``ids``: a list (None where
        absent) or None; ``where(r)`` / ``default_id(r)``: location and fallback id of row
        ``r``; ``check_utf8``: validate the bytes (the JSONL reader checks its chunks before
        parsing; a Parquet file may hold anything); ``missing``: the reason for a null row.
        Explicit ids are checked for duplicates."""
        import pyarrow as pa
        row0 = 0
        for arr in (texts.chunks if isinstance(texts, pa.ChunkedArray) else [texts]):
            n = len(arr)
            if n == 0:
                continue
            bufs = arr.buffers()
            odt = np.int64 if pa.types.is_large_string(arr.type) else np.int32
            off = np.frombuffer(bufs[1], odt)[arr.offset:arr.offset + n + 1].astype(np.int64, copy=False)
            data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.empty(0, np.uint8)
            flaw = _doc_flaws(data, off, check_utf8)
            if arr.null_count:
                flaw[~arr.is_valid().to_numpy(zero_copy_only=False)] = FLAW_MISSING
            for r in np.flatnonzero(flaw).tolist():
                reason = (f"{missing} {self.text_field!r}" if flaw[r] == FLAW_MISSING
                          else self._flaw_reason(flaw[r], bytes(data[off[r]:off[r + 1]])))
                self._bad(reason, where(row0 + r))
            keep = np.flatnonzero(flaw == 0)
            if keep.size:
                rows = (keep + row0).tolist()
                doc_ids = [ids[r] if ids is not None and ids[r] is not None else default_id(r)
                           for r in rows]
                if ids is not None:
                    explicit = [k for k, r in enumerate(rows) if ids[r] is not None]
                    self._check_ids([doc_ids[k] for k in explicit], lambda k: where(rows[explicit[k]]))  # noqa: B023 (called here)
                if keep.size < n:
                    kept = arr.take(pa.array(keep))
                    kb = kept.buffers()
                    off = np.frombuffer(kb[1], odt)[kept.offset:kept.offset + keep.size + 1].astype(np.int64)
                    data = np.frombuffer(kb[2], np.uint8) if kb[2] is not None else np.empty(0, np.uint8)
                yield _Block(doc_ids, data, off)
            row0 += n

    @staticmethod
    def _flaw_reason(code: int, raw: bytes) -> str:
        from kernels.cpu.text import FLAW_BLANK, FLAW_NUL
        from kernels.hashing import utf8_error
        if code == FLAW_BLANK:
            return "empty document"
        if code == FLAW_NUL:
            return "binary content (NUL bytes)"
        return f"invalid utf-8 at byte {utf8_error(np.frombuffer(raw, np.uint8), 0, len(raw))}"

    @staticmethod
    def _line_text(line: bytes, enc: str) -> tuple[str | None, str | None]:
        """(text, None) of a line's UTF-8 bytes, or (None, reason) when it does not decode:
        ``invalid utf-8 at byte K``, or for a transcoded file ``invalid ENC at byte K``, K
        counted from the start of the line in the file's own encoding."""
        if _is_utf8(enc):
            try:
                return line.decode("utf-8"), None
            except UnicodeDecodeError as e:
                return None, f"invalid utf-8 at byte {e.start}"
        text = line.decode("utf-8", "surrogatepass")   # marks of undecodable bytes survive
        mark = _MARKS.search(text)
        if mark is None:
            return text, None
        return None, f"invalid {enc} at byte {_encoded_len(text[:mark.start()], enc)}"

    def _jsonl_lines(self, path: Path, lines, line0: int, enc: str = "utf-8") -> Iterator[tuple[str, bytes]]:
        """The exact parser, line by line, which names every bad line."""
        explicit: list[tuple[str, str]] = []    # (id, location), checked for duplicates at the end
        for lineno, line in enumerate(lines, line0 + 1):
            where = f"{path}:{lineno}"
            if not line.strip():
                continue
            line_text, bad = self._line_text(line, enc)
            if bad:
                self._bad(bad, where)
                continue
            try:
                obj = json.loads(line_text, parse_int=_NumberText, parse_float=_NumberText,
                                 parse_constant=_reject_constant)
            except ValueError:
                self._bad("malformed JSON line", where)
                continue
            except RecursionError:   # Python's parser recurses once per nesting level
                self._bad("malformed JSON line (nested too deeply)", where)
                continue
            if not isinstance(obj, dict):
                self._bad("JSON line is not an object", where)
                continue
            text = obj.get(self.text_field)
            if type(text) is not str:   # a _NumberText is a number, not a text
                self._bad(f"missing or non-string field {self.text_field!r}", where)
                continue
            if not text.strip():
                self._bad("empty document", where)
                continue
            if "\x00" in text:
                self._bad("binary content (NUL bytes)", where)
                continue
            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:
                self._bad("invalid unicode (lone surrogate)", where)
                continue
            doc_id = _json_id_text(obj.get(self.id_field), line_text, self.id_field)
            if doc_id is not None:
                explicit.append((doc_id, where))
            yield (doc_id if doc_id is not None else f"{path.name}:{lineno}"), data
        self._check_ids([i for i, _ in explicit], lambda k: explicit[k][1])

    # -- Parquet ---------------------------------------------------------------
    def _blocks_parquet(self, path: Path, size: int, piece: FilePiece | None = None) -> Iterator["_Block"]:
        """Row group by row group: a corrupt group is reported (its rows counted) and the
        groups that read are kept."""
        import pyarrow as pa
        import pyarrow.parquet as pq
        try:
            if size == 0:
                self._bad("empty file", str(path))
                return
            try:
                pf = pq.ParquetFile(path)
            except (pa.ArrowException, OSError) as e:
                self._bad(f"unreadable Parquet ({_first_line(e)})", str(path))
                return
            names = pf.schema_arrow.names
            if self.text_field not in names:
                raise CorpusError(f"{path}: no column {self.text_field!r} (columns: {', '.join(names)}); "
                                  "choose one with --text-field")
            cols = [self.text_field] + ([self.id_field] if self.id_field in names
                                        and self.id_field != self.text_field else [])
            groups = piece.groups if piece is not None and piece.groups is not None else (0, pf.num_row_groups)
            row = piece.row0 if piece is not None else 0
            for g in range(*groups):
                group_rows = pf.metadata.row_group(g).num_rows
                done = 0
                try:
                    for rb in pf.iter_batches(batch_size=65536, row_groups=[g], columns=cols):
                        yield from self._parquet_batch(path, rb, row + done, len(cols) > 1)
                        done += rb.num_rows
                except (pa.ArrowException, OSError) as e:
                    self._bad(f"corrupt Parquet (row group {g}: {_first_line(e)})",
                              f"{path}:row group {g}", max(group_rows - done, 1))
                row += group_rows
        finally:
            self.progress(size)

    def _parquet_batch(self, path: Path, rb, row0: int, has_ids: bool) -> Iterator["_Block"]:
        import pyarrow as pa
        texts = rb.column(0)
        if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
            raise CorpusError(f"{path}: column {self.text_field!r} is {texts.type}, not text")
        ids = _column_text(rb.column(1)) if has_ids else None
        yield from self._arrow_blocks(texts, ids, lambda r: f"{path}:row {row0 + r}",
                                      lambda r: f"{path.name}:{row0 + r}", check_utf8=True,
                                      missing="missing field")

    # -- all inputs ------------------------------------------------------------
    def _documents(self) -> Iterator[tuple[str, bytes]]:
        for k, (path, rel, size) in enumerate(self.files):
            piece = self.pieces[k] if self.pieces is not None else None
            if piece is None or piece.first:   # a file cut in pieces is counted once
                self.stats.files += 1
            kind = _kind(path)
            if kind == "text":
                yield from self._docs_text(path, rel, size)
            elif kind == "jsonl":
                yield from self._docs_jsonl(path, size, piece)
            else:
                yield from self._blocks_parquet(path, size, piece)

    def __iter__(self) -> Iterator[Batch]:
        pieces: list = []      # single documents (id, bytes) and _Blocks, in corpus order
        nbytes = 0
        base = 0
        for item in self._documents():
            if isinstance(item, _Block):
                size, count = int(item.offsets[-1] - item.offsets[0]), len(item.ids)
            else:
                size, count = len(item[1]), 1
            pieces.append(item)
            nbytes += size
            self.stats.documents += count
            self.stats.bytes += size
            if nbytes >= self.batch_bytes:
                for batch in _assemble(pieces, base, self.batch_bytes):
                    base += batch.n_docs
                    yield batch
                pieces, nbytes = [], 0
        if pieces:
            for batch in _assemble(pieces, base, self.batch_bytes):
                yield batch


_ON_LINES = object()   # _arrow_ids: the ids need the line parser


def _line_ends(buf: bytearray, end: int) -> np.ndarray:
    """Positions of the newlines of ``buf[:end]`` (numpy: about 8 ms for 32 MB)."""
    return np.flatnonzero(np.frombuffer(buf, np.uint8, end) == 10)


def _n_lines(buf: bytearray, end: int, ends: np.ndarray) -> int:
    """Lines in ``buf[:end]``: its newlines, plus an unterminated last line."""
    return int(ends.size) + (end > 0 and buf[end - 1] != 10)


_BLANK_START = np.frombuffer(b" \t\r\n", np.uint8)   # JSON whitespace: what a blank line holds


def _row_lines(buf: bytearray, end: int, ends: np.ndarray, line0: int,
               rows: int) -> Callable[[int], int] | None:
    """Line number of Arrow row ``r`` in the chunk ``buf[:end]``, or None when the rows are
    not its non-blank lines one for one: Arrow skips blank lines, and makes two rows of
    ``{...}{...}`` (a blank line elsewhere in the chunk would hide that from a bare count)."""
    n = _n_lines(buf, end, ends)
    starts = np.concatenate([np.zeros(1, np.int64), ends + 1])[:n]
    stops = np.append(ends, end)[:n]
    first = np.frombuffer(buf, np.uint8, end)[starts]
    maybe = np.flatnonzero(np.isin(first, _BLANK_START)).tolist()   # usually none
    blank = [k for k in maybe if not bytes(buf[starts[k]:stops[k]]).strip()]
    if rows != n - len(blank):
        return None
    if not blank:
        return lambda r: line0 + r + 1
    return (np.delete(np.arange(n), blank) + line0 + 1).tolist().__getitem__


def _column_text(col) -> list:
    """A Parquet id column's values as text (None where null)."""
    import pyarrow as pa
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        try:
            return col.to_pylist()
        except UnicodeDecodeError:   # a string column written without validation
            col = col.cast(pa.binary())
    return [_value_text(v) for v in col.to_pylist()]


def _input_file(path: Path) -> os.stat_result:
    """The stat of a path given as input, or a one-line CorpusError why it cannot be read."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise CorpusError(f"input path is a broken symlink: {path}") from None
        raise CorpusError(f"input path does not exist: {path}") from None
    except OSError as e:
        raise CorpusError(f"input path cannot be read: {path} ({e.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise CorpusError(f"input path is not a regular file or folder: {path} ({_file_type(st)})")
    return st


def _file_type(st: os.stat_result) -> str:
    mode = st.st_mode
    for test, name in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISDIR, "folder")):
        if test(mode):
            return name
    return "special file"


@dataclass
class _JsonlFile:
    """Where the reading of one JSONL file stands."""
    line0: int = 0   # lines before the current chunk
    docs: int = 0    # documents read from the file so far
    seen: int = 0    # on-disk bytes reported to progress

    def counted(self, items: Iterator) -> Iterator:
        for item in items:
            self.docs += len(item.ids) if isinstance(item, _Block) else 1
            yield item


@dataclass
class _Block:
    """Many documents at once (from Arrow): ids, UTF-8 bytes and int64 offsets (any base)."""
    ids: list
    data: np.ndarray
    offsets: np.ndarray


def _assemble(pieces: list, base: int, batch_bytes: int) -> Iterator[Batch]:
    """Batches of at most about ``batch_bytes`` from documents and blocks, in order."""
    ids: list[str] = []
    datas: list = []
    lens: list = []
    nbytes = 0

    def flush():
        nonlocal ids, datas, lens, nbytes, base
        if not ids:
            return None
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(np.concatenate([np.atleast_1d(np.asarray(x, np.int64)) for x in lens]), out=offsets[1:])
        data = np.concatenate([np.frombuffer(d, np.uint8) if isinstance(d, bytes) else d for d in datas]) \
            if len(datas) != 1 or not isinstance(datas[0], np.ndarray) else datas[0]
        b = Batch(ids, data, offsets, base)
        base += len(ids)
        ids, datas, lens, nbytes = [], [], [], 0
        return b

    for item in pieces:
        if isinstance(item, _Block):
            off = item.offsets
            i = 0
            n = len(item.ids)
            while i < n:
                # take whole documents up to the batch bound (at least one)
                limit = off[i] + max(batch_bytes - nbytes, 1)
                j = max(i + 1, int(np.searchsorted(off, limit, side="right")) - 1)
                j = min(j, n)
                ids.extend(item.ids[i:j])
                datas.append(item.data[off[i]:off[j]])
                lens.append(np.diff(off[i:j + 1]))
                nbytes += int(off[j] - off[i])
                i = j
                if nbytes >= batch_bytes:
                    yield flush()
        else:
            ids.append(item[0])
            datas.append(item[1])
            lens.append(len(item[1]))
            nbytes += len(item[1])
            if nbytes >= batch_bytes:
                yield flush()
    last = flush()
    if last is not None:
        yield last


def _make_batch(ids: list[str], parts: list[bytes], base: int) -> Batch:
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    data = np.frombuffer(b"".join(parts), dtype=np.uint8)
    return Batch(ids, data, offsets, base)


def batch_from_texts(texts: Sequence[str], ids: Sequence[str] | None = None, base: int = 0) -> Batch:
    """A Batch from Python strings (library use and tests)."""
    ids = list(ids) if ids is not None else [str(i) for i in range(len(texts))]
    return _make_batch(ids, [t.encode("utf-8") for t in texts], base)


def read_corpus(paths, **kwargs) -> CorpusReader:
    """Shorthand for :class:`CorpusReader` (iterate it for batches; ``.stats`` after)."""
    return CorpusReader(paths, **kwargs)
