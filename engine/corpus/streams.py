"""Byte streams: gzip and zstd decompression, incremental transcoding to UTF-8, file pieces
and byte ranges, buffer filling."""
from __future__ import annotations

import codecs
import gzip
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

from engine.corpus.encoding import MARK_ERRORS

TRANSCODE_READ = 1 << 20      # bytes decoded at a time on the non-UTF-8 JSONL path
ZSTD_READ = 256 << 10         # compressed bytes fed at a time (bounds each decompressed piece)


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
