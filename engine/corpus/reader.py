"""The corpus reader: :class:`CorpusReader` streams files, folders, JSONL and Parquet as
bounded :class:`Batch` objects."""
from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import Callable, Iterator, Sequence

from engine.corpus.arrow import _ArrowMixin
from engine.corpus.batch import DEFAULT_BATCH_BYTES, Batch, CorpusError, DeviceBatch, _assemble, _Block
from engine.corpus.encoding import _checked_encoding, _codec, _detect_encoding, _is_utf8, _is_wide, _wide_under_narrow
from engine.corpus.ids import _IdSet
from engine.corpus.jsonl import _JsonlMixin
from engine.corpus.stats import ReadStats
from engine.corpus.streams import FilePiece
from engine.corpus.walk import _kind, _WalkMixin
from engine.stats import MAX_LOCATIONS


class CorpusReader(_WalkMixin, _JsonlMixin, _ArrowMixin):
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
        self.device = None          # engine.gpu.ingest.DeviceIngest when cuDF reads (on_device)
        self._device_asked = False  # on_device was called: every file's way is counted

    def on_device(self, backend, cudf=None) -> "CorpusReader":
        """Read JSONL and Parquet with cuDF straight into device batches for the GPU
        ``backend`` where that gives the host reader's documents, skips and locations
        exactly (:mod:`engine.gpu.ingest`); the rest, and everything when cuDF cannot be
        used (no real GPU, cudf not installed), the host reader reads as before.  The way
        each input took and why are counted in ``stats.ingest``.  ``cudf``: a module to use
        instead of cudf (tests).  Returns ``self``; call before iterating."""
        from engine.gpu.ingest import DeviceIngest
        self.device, why = DeviceIngest.choose(backend, self, cudf)
        self._device_asked = True
        if why is not None:   # said once; each file is still counted as read on the host
            self.stats.note_ingest(None, why)
        return self

    def options(self) -> dict:
        """The options a reader of the same corpus's pieces needs (no progress callback)."""
        return {"text_field": self.text_field, "id_field": self.id_field, "encoding": self.encoding,
                "strict": self.strict, "batch_bytes": self.batch_bytes,
                "json_chunk_bytes": self.json_chunk_bytes}


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


    # -- all inputs ------------------------------------------------------------
    def _documents(self) -> Iterator[tuple[str, bytes]]:
        for k, (path, rel, size) in enumerate(self.files):
            piece = self.pieces[k] if self.pieces is not None else None
            if piece is None or piece.first:   # a file cut in pieces is counted once
                self.stats.files += 1
            kind = _kind(path)
            if self._device_asked and (kind == "text" or self.device is None):
                self.stats.note_ingest("host", "text file" if kind == "text" else None)
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
            if isinstance(item, DeviceBatch):   # read by cuDF: the host pieces before it first
                for batch in _assemble(pieces, base, self.batch_bytes):
                    base += batch.n_docs
                    yield batch
                pieces, nbytes = [], 0
                item.doc_base = base
                base += item.n_docs
                self.stats.documents += item.n_docs
                self.stats.bytes += item.n_bytes
                yield item
                continue
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


def read_corpus(paths, **kwargs) -> CorpusReader:
    """Shorthand for :class:`CorpusReader` (iterate it for batches; ``.stats`` after)."""
    return CorpusReader(paths, **kwargs)
