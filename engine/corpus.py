"""Corpus readers: files, folders, JSONL (plain, gzip, zstd) and Parquet -> Batch.

Every reader yields :class:`Batch` objects, flat arrays of valid UTF-8 bytes plus
document offsets and ids, bounded in size (``batch_bytes``), so memory does not
grow with the corpus.  Bad input is skipped and counted in :class:`ReadStats`
(reason, count, first locations) or, with ``strict=True``, raised as a
:class:`CorpusError` naming the file and line.
"""
from __future__ import annotations

import codecs
import gzip
import io
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

__all__ = ["Batch", "CorpusError", "ReadStats", "CorpusReader", "read_corpus",
           "batch_from_texts", "TEXT_SUFFIXES"]

TEXT_SUFFIXES = (".txt", ".md")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")
DEFAULT_BATCH_BYTES = 64 << 20
MAX_LOCATIONS = 5


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
        return bytes(self.data[self.offsets[i]:self.offsets[i + 1]]).decode("utf-8")


@dataclass
class ReadStats:
    """What was read and what was skipped, with the first few locations per reason."""
    documents: int = 0
    bytes: int = 0
    files: int = 0
    skipped: Counter = field(default_factory=Counter)
    locations: dict = field(default_factory=dict)

    def skip(self, reason: str, where: str) -> None:
        self.skipped[reason] += 1
        self.locations.setdefault(reason, [])
        if len(self.locations[reason]) < MAX_LOCATIONS:
            self.locations[reason].append(where)

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    def summary_lines(self) -> list[str]:
        lines = []
        for reason, n in sorted(self.skipped.items()):
            locs = ", ".join(self.locations.get(reason, []))
            more = " ..." if n > len(self.locations.get(reason, [])) else ""
            lines.append(f"skipped {n} ({reason}): {locs}{more}")
        return lines

    def as_dict(self) -> dict:
        return {"documents": self.documents, "bytes": self.bytes, "files": self.files,
                "skipped": dict(self.skipped), "skipped_locations": self.locations}


FLAW_MISSING = 4   # beside kernels.cpu.text's FLAW_BLANK, FLAW_NUL, FLAW_UTF8: a null row


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


def _open_jsonl(path: Path):
    name = path.name.lower()
    raw = open(path, "rb")
    if name.endswith(".gz"):
        return raw, gzip.GzipFile(fileobj=raw)
    if name.endswith(".zst"):
        import zstandard
        return raw, io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw))
    return raw, raw


class CorpusReader:
    """Streams a corpus as bounded :class:`Batch` objects.

    Parameters
    ----------
    paths : files or folders. Folders are walked recursively for ``*.txt`` and
        ``*.md`` (one document per file, id = path relative to the folder) and for
        JSONL and Parquet files; a folder's ``README.md``/``README.txt`` is skipped
        (and reported) as documentation of the corpus.
    text_field, id_field : JSONL keys / Parquet columns. A JSONL line without
        ``id_field`` gets the id ``FILE:LINE``.
    encoding : a Python codec name, or ``"auto"`` (UTF-8 when the bytes are valid
        UTF-8, otherwise detected per file by charset-normalizer).
    strict : raise :class:`CorpusError` on the first bad document instead of
        skipping and counting it.
    batch_bytes : bound on the text bytes per batch.
    progress : called with the number of on-disk bytes consumed since the last call.
    """

    def __init__(self, paths: Sequence[str | os.PathLike], *, text_field: str = "text",
                 id_field: str = "id", encoding: str = "utf-8", strict: bool = False,
                 batch_bytes: int = DEFAULT_BATCH_BYTES,
                 progress: Callable[[int], None] | None = None,
                 json_chunk_bytes: int = 32 << 20):
        if not paths:
            raise CorpusError("no input path given")
        if batch_bytes <= 0:
            raise CorpusError(f"batch_bytes must be a positive number of bytes, got {batch_bytes}")
        if encoding != "auto":
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise CorpusError(f"--encoding: unknown codec {encoding!r} "
                                  "(use a Python codec name such as utf-8, cp1252, latin-1, or 'auto')")
        self.text_field, self.id_field = text_field, id_field
        self.encoding, self.strict = encoding, strict
        self.batch_bytes = batch_bytes
        self.json_chunk_bytes = json_chunk_bytes
        self.progress = progress or (lambda n: None)
        self.stats = ReadStats()
        self.files = self._expand(paths)
        self.total_bytes = sum(size for _, _, size in self.files)

    # -- discovery -------------------------------------------------------------
    def _expand(self, paths) -> list[tuple[Path, str, int]]:
        out = []
        for p in paths:
            path = Path(p)
            if not path.exists():
                raise CorpusError(f"input path does not exist: {path}")
            if path.is_dir():
                found = sorted(f for f in path.rglob("*")
                               if f.is_file() and f.name.lower().endswith(TEXT_SUFFIXES + JSONL_SUFFIXES + PARQUET_SUFFIXES))
                for f in found:
                    if f.stem.lower() == "readme" and f.suffix.lower() in TEXT_SUFFIXES:
                        # a folder's README describes the corpus; it is not one of its documents
                        self.stats.skip("README, not a document", str(f))
                        continue
                    out.append((f, f.relative_to(path).as_posix(), f.stat().st_size))
            elif path.is_file():
                out.append((path, path.name, path.stat().st_size))
            else:
                raise CorpusError(f"input path is not a regular file or folder: {path}")
        return out

    # -- bad input -------------------------------------------------------------
    def _bad(self, reason: str, where: str) -> None:
        if self.strict:
            raise CorpusError(f"{where}: {reason}")
        self.stats.skip(reason, where)

    def _decode(self, raw: bytes, where: str, encoding: str) -> bytes | None:
        """Valid UTF-8 bytes of ``raw`` under ``encoding``, or None (counted) if unusable."""
        if b"\x00" in raw:
            self._bad("binary content (NUL bytes)", where)
            return None
        if encoding in ("utf-8", "utf8"):
            try:
                raw.decode("utf-8")  # validation only; the bytes are kept as they are
                return raw
            except UnicodeDecodeError as e:
                self._bad(f"invalid utf-8 at byte {e.start}", where)
                return None
        try:
            return raw.decode(encoding).encode("utf-8")
        except UnicodeDecodeError as e:
            self._bad(f"invalid {encoding} at byte {e.start}", where)
            return None

    def _file_encoding(self, raw: bytes, where: str) -> str | None:
        if self.encoding != "auto":
            return self.encoding
        try:
            raw.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            pass
        if b"\x00" in raw:
            return "utf-8"  # reported as binary by _decode
        from charset_normalizer import from_bytes
        matches = list(from_bytes(raw))
        if not matches:
            self._bad("undetectable encoding", where)
            return None
        # Short Western text is often ambiguous between single-byte code pages that
        # decode it equally cleanly; ties go to cp1252, the common legacy encoding.
        least = min(m.chaos for m in matches)
        tied = [m.encoding for m in matches if m.chaos <= least + 1e-9]
        return "cp1252" if "cp1252" in tied else from_bytes(raw).best().encoding

    # -- documents -------------------------------------------------------------
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

    def _docs_jsonl(self, path: Path, size: int) -> Iterator:
        """JSONL in chunks of whole lines: Arrow's multithreaded JSON parser when the
        chunk is clean, the line-by-line Python parser (which names bad lines) when not."""
        try:
            raw_f, f = _open_jsonl(path)
        except OSError as e:
            self.progress(size)
            self._bad(f"unreadable ({e.strerror})", str(path))
            return
        seen = 0
        line0 = 0
        # one read buffer for the whole file (fresh pages are not free): whole lines are
        # parsed, the partial last line is moved to the front for the next read
        from kernels.cpu.text import count_byte
        buf = bytearray(self.json_chunk_bytes)
        have = 0
        eof = False
        try:
            while not eof:
                view = memoryview(buf)
                while have < len(buf):
                    n = f.readinto(view[have:])
                    if not n:
                        eof = True
                        break
                    have += n
                del view
                end = have if eof else buf.rfind(b"\n", 0, have) + 1
                if end == 0 and not eof:   # a line longer than the buffer
                    bigger = bytearray(2 * len(buf))
                    bigger[:have] = buf[:have]
                    buf = bigger
                    continue
                if end:
                    yield from self._jsonl_chunk(path, memoryview(buf)[:end], line0)
                    line0 += int(count_byte(np.frombuffer(buf, np.uint8, end), 10)) + (buf[end - 1] != 10)
                buf[:have - end] = buf[end:have]
                have -= end
                pos = raw_f.tell()
                self.progress(pos - seen)
                seen = pos
        except (OSError, EOFError, ValueError) as e:  # truncated gzip/zstd stream
            self._bad(f"unreadable compressed stream ({e})", str(path))
        finally:
            self.progress(max(size - seen, 0))
            raw_f.close()

    def _jsonl_chunk(self, path: Path, chunk: memoryview, line0: int) -> Iterator:
        """Documents of whole JSONL lines ``chunk`` (a view of the read buffer: Arrow copies
        what it parses, and nothing here keeps the view)."""
        import pyarrow as pa
        import pyarrow.json as pj
        try:
            tb = pj.read_json(pa.BufferReader(pa.py_buffer(chunk)), parse_options=pj.ParseOptions(
                explicit_schema=pa.schema([(self.text_field, pa.large_string())]),
                unexpected_field_behavior="infer"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            # malformed or irregular lines somewhere in the chunk: the exact, slower parser
            yield from self._jsonl_lines(path, bytes(chunk).split(b"\n"), line0)
            return
        lines = None

        def line_of(r):   # rows are the chunk's non-blank lines, in order (Arrow skips blank ones)
            nonlocal lines
            if lines is None:
                lines = [line0 + i + 1 for i, ln in enumerate(bytes(chunk).split(b"\n")) if ln.strip()]
            return lines[r]

        ids = tb.column(self.id_field).to_pylist() if self.id_field in tb.column_names else None
        yield from self._arrow_blocks(tb.column(self.text_field), ids, lambda r: f"{path}:{line_of(r)}",
                                      lambda r: f"{path.name}:{line_of(r)}")
        pa.default_memory_pool().release_unused()  # Arrow keeps freed parse buffers otherwise

    def _arrow_blocks(self, texts, ids, where, default_id, check_utf8=False,
                      missing="missing or non-string field") -> Iterator["_Block"]:
        """Blocks of the usable rows of an Arrow string column, one per chunk, without copying
        the text; null, blank and NUL-holding rows are counted.  ``ids``: a list or None;
        ``where(r)`` / ``default_id(r)``: location and fallback id of row ``r``; ``check_utf8``:
        validate the bytes (Arrow's JSON parser does; a Parquet file may hold anything);
        ``missing``: the reason given for a null row."""
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
                doc_ids = [str(ids[r]) if ids is not None and ids[r] is not None else default_id(r)
                           for r in (keep + row0).tolist()]
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

    def _jsonl_lines(self, path: Path, lines, line0: int) -> Iterator[tuple[str, bytes]]:
        for lineno, line in enumerate(lines, line0 + 1):
            where = f"{path}:{lineno}"
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                self._bad("malformed JSON line", where)
                continue
            if not isinstance(obj, dict):
                self._bad("JSON line is not an object", where)
                continue
            text = obj.get(self.text_field)
            if not isinstance(text, str):
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
            doc_id = obj.get(self.id_field)
            yield (str(doc_id) if doc_id is not None else f"{path.name}:{lineno}"), data

    def _blocks_parquet(self, path: Path, size: int) -> Iterator["_Block"]:
        import pyarrow as pa
        import pyarrow.parquet as pq
        try:
            pf = pq.ParquetFile(path)
        except Exception as e:
            self.progress(size)
            self._bad(f"unreadable Parquet ({e})", str(path))
            return
        names = pf.schema_arrow.names
        if self.text_field not in names:
            self.progress(size)
            raise CorpusError(f"{path}: no column {self.text_field!r} (columns: {', '.join(names)}); "
                              "choose one with --text-field")
        cols = [self.text_field] + ([self.id_field] if self.id_field in names else [])
        row = 0
        for rb in pf.iter_batches(batch_size=65536, columns=cols):
            texts = rb.column(0)
            if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
                raise CorpusError(f"{path}: column {self.text_field!r} is {texts.type}, not text")
            ids = rb.column(1).to_pylist() if len(cols) > 1 else None
            yield from self._arrow_blocks(texts, ids, lambda r, r0=row: f"{path}:row {r0 + r}",
                                          lambda r, r0=row: f"{path.name}:{r0 + r}", check_utf8=True,
                                          missing="missing field")
            row += len(texts)
        self.progress(size)

    def _documents(self) -> Iterator[tuple[str, bytes]]:
        for path, rel, size in self.files:
            self.stats.files += 1
            kind = _kind(path)
            if kind == "text":
                yield from self._docs_text(path, rel, size)
            elif kind == "jsonl":
                yield from self._docs_jsonl(path, size)
            else:
                yield from self._blocks_parquet(path, size)

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
