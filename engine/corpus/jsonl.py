"""JSONL files (plain, gzip, zstd, any encoding): the Arrow fast path by chunks, the line
parser where it must, broken streams."""
from __future__ import annotations

import codecs
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from engine.corpus.arrow import _ON_LINES
from engine.corpus.batch import DeviceBatch, _Block
from engine.corpus.encoding import _MARKS, SNIFF_BYTES, _detect_encoding, _encoded_len, _is_utf8, _wide_under_narrow
from engine.corpus.ids import _json_id_text, _NumberText, _reject_constant
from engine.corpus.streams import FilePiece, _BrokenStream, _fill, _open_stream, _Range, _Transcoded


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


@dataclass
class _JsonlFile:
    """Where the reading of one JSONL file stands."""
    line0: int = 0   # lines before the current chunk
    docs: int = 0    # documents read from the file so far
    seen: int = 0    # on-disk bytes reported to progress
    device: object = None   # the DeviceIngest offered each chunk (a plain UTF-8 file), or None
    offset: int = 0         # file offset of the current chunk (kept for the device path)

    def counted(self, items: Iterator) -> Iterator:
        for item in items:
            self.docs += (len(item.ids) if isinstance(item, _Block) else item.n_docs
                          if isinstance(item, DeviceBatch) else 1)
            yield item


class _JsonlMixin:
    """CorpusReader's JSONL paths."""

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
        if self.device is not None:
            why = self.device.jsonl_file(path, self, piece)
            if why is None:
                state.device = self.device
            else:
                self.stats.note_ingest("host", why)
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
            state.offset = 3
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
                items = None if state.device is None else \
                    state.device.jsonl_chunk(self, path, buf, end, state.line0, ends, state.offset)
                if items is None:   # the host parser (no device ingest, or the chunk needs it)
                    items = self._jsonl_chunk(path, buf, end, state.line0, ends, enc)
                yield from state.counted(items)
                state.line0 += _n_lines(buf, end, ends)
                state.offset += end
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
