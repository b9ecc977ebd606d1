"""cuDF ingest: JSONL chunks and Parquet row groups read by cuDF straight into device string
columns, whose offsets and characters are the jobs' batches (:class:`DeviceBatch`) without a
copy through host memory (CUDA array interface).

Wired into :class:`engine.corpus.CorpusReader` by :meth:`CorpusReader.on_device` (the jobs'
``run`` call it for a GPU backend): :meth:`DeviceIngest.choose` says whether cuDF is used at
all (a real GPU and an importable cudf) and why not; then per file and per chunk the reader
asks this module, and what it declines goes through the host reader as before.  Every
decision is counted with its reason (``ReadStats.ingest``, the jobs' ``ingest*`` counters).

The host reader's semantics hold on the device path, or the input takes the host path:

* JSONL (plain UTF-8 files only: compressed or transcoded ones are read on the host): the
  host reads each chunk of whole lines (its read loop, unchanged), copies it to the device
  (``backend.to_device``, counted) and runs the check of :mod:`engine.gpu.jsonl_check` there
  (one thread a line; one byte comes back); a clean chunk is handed to
  ``cudf.read_json(path, lines=True, byte_range=(offset, size))``, whose documented rule (a
  range holds the lines that start inside it) reads exactly those lines, one row a line (a
  row count other than the line count sends the chunk to the host parser).  cuDF's
  ``read_json`` documents host sources only (a path, a string, a file-like object), so it
  reads the range into device memory itself rather than parse the bytes already checked
  there: that second copy of the chunk is counted in the backend's host-to-device bytes too.  Row ``r`` is line ``line0 + r + 1``:
  locations and default ids are the host's.  Missing text fields (null rows), blank texts
  and NUL characters are skipped by the host's rules, found on the device
  (``kernels.cuda.ingest.doc_flaws``); only one byte a row comes back for that.
* Parquet: ``cudf.read_parquet(path, columns=[text], row_groups=[g])`` per row group (the
  text column chunk's file bytes, which cuDF copies up and decodes on the device, counted in
  the backend's host-to-device bytes); the same checks as the host's (null, invalid UTF-8, blank, NUL) on the device; a row group
  cuDF cannot read goes to the host reader, which reports it as corrupt as before.
* Ids come to the host in both cases (they are written out): JSONL ids from cuDF's id
  column (strings only, the check sends other ids to the host parser), Parquet ids read by
  pyarrow from the id column alone, as the host reader does.

cudf is imported only in :meth:`DeviceIngest.choose`, never at module level; under the CUDA
simulator a stand-in module may be given (tests/sim/test_gpu_ingest.py).
"""
from __future__ import annotations

import importlib.util
import inspect
from typing import Sequence

import numpy as np

from engine.corpus.batch import DeviceBatch
from engine.errors import ParameterError
from engine.gpu.arrays import gather_spans
from engine.gpu.jsonl_check import chunk_flaw_device, device_patterns, field_pattern
from kernels.constants import FLAW_MISSING, FLAW_UTF8

__all__ = ["DeviceBatch", "DeviceIngest", "plan_row_groups", "column_batch", "device_view", "split_batch"]

# cuDF's readers raise these on input they cannot parse (C++ errors surface as RuntimeError):
# the chunk or row group then takes the host reader, which names what is wrong
CUDF_READ_ERRORS = (RuntimeError, ValueError, TypeError, OverflowError, OSError)


def plan_row_groups(group_bytes: Sequence[int], batch_bytes: int) -> list[list[int]]:
    """Consecutive row groups (indices) per batch: a batch closes once it holds at least
    ``batch_bytes``; a single group larger than that is a batch of its own."""
    if not isinstance(batch_bytes, int) or isinstance(batch_bytes, bool) or batch_bytes < 1:
        raise ParameterError(f"batch_bytes must be an integer >= 1, got {batch_bytes!r}", param="batch_bytes")
    batches, cur, size = [], [], 0
    for i, b in enumerate(group_bytes):
        cur.append(i)
        size += int(b)
        if size >= batch_bytes:
            batches.append(cur)
            cur, size = [], 0
    if cur:
        batches.append(cur)
    return batches


def device_view(backend, obj):
    """A device array over memory that cuDF owns (``obj`` exposes the CUDA array interface):
    a view, not a copy, and nothing counted.  Under the simulator the stand-ins' buffers
    are numpy arrays that play device memory."""
    if backend.strict:
        from engine.gpu.strict_xp import StrictArray
        return StrictArray(np.asarray(obj))
    if backend.simulated:
        return np.asarray(obj)
    return backend.xp.asarray(obj)   # cupy keeps ``obj`` alive as the memory's owner


def _string_parts(col):
    """(offsets, chars or None) of a cudf string column: the offsets child and the character
    buffer (a second child before cudf 24.02, ``base_data`` since), both exposing the CUDA
    array interface; None when the column holds no characters at all."""
    children = getattr(col, "children", None) or getattr(col, "base_children", None)
    if not children:
        raise TypeError(f"{type(col).__name__} is not a string column (no offsets child)")
    if len(children) > 1:
        return children[0], children[1]
    chars = getattr(col, "base_data", None)
    if chars is None:
        chars = getattr(col, "data", None)
    return children[0], chars


def column_batch(backend, text_col, n_rows: int):
    """(chars uint8, offsets int64 [n_rows + 1]) device arrays of a cudf string column, views
    of its memory (int32 offsets: one small cast on the device)."""
    off_obj, chars_obj = _string_parts(text_col)
    offsets = device_view(backend, off_obj)
    if offsets.dtype != np.int64:
        offsets = offsets.astype(np.int64)
    if int(offsets.size) != n_rows + 1:
        raise ValueError(f"{int(offsets.size)} offsets for {n_rows} rows")
    if chars_obj is None:    # every row empty (or null): no character buffer
        return backend.xp.empty(0, np.uint8), offsets
    data = device_view(backend, chars_obj)
    if data.dtype != np.uint8:
        data = data.view(np.uint8)
    return data, offsets


def split_batch(batch: DeviceBatch, limit: int) -> list[DeviceBatch]:
    """``batch`` as views of at most about ``limit`` text bytes each (whole documents, at
    least one a piece): no copy, a cut found by one search on the device."""
    if batch.n_bytes <= limit or batch.n_docs < 2:
        return [batch]
    be, xp = batch.backend, batch.backend.xp
    k = batch.n_bytes // limit
    targets = batch.offsets[:1] + xp.arange(1, k + 1, dtype=np.int64) * limit
    cuts = be.to_host(xp.searchsorted(batch.offsets, targets, side="left"))
    bounds = sorted({0, batch.n_docs, *(min(max(int(c), 1), batch.n_docs) for c in cuts)})
    ends = be.to_host(batch.offsets[be.to_device(np.asarray(bounds, np.int64))])
    return [DeviceBatch(batch.doc_ids[a:b], batch.data, batch.offsets[a:b + 1], 0, be, int(ends[j + 1] - ends[j]))
            for j, (a, b) in enumerate(zip(bounds, bounds[1:]))]


def _column_chunk_bytes(row_group, name: str) -> int:
    """The file bytes of column ``name`` in a Parquet row group (its metadata): what
    ``cudf.read_parquet`` copies to the device for it.  cuDF reads the column chunk's
    pages as stored (compressed, encoded) and decodes them on the device, so these are the
    bytes that cross, not the (larger) string column it makes there; a column nested in a
    struct is not read this way (the text column is a top-level string)."""
    for i in range(row_group.num_columns):
        col = row_group.column(i)
        if col.path_in_schema == name:
            return int(col.total_compressed_size)
    return 0


def _is_string(series) -> bool:
    """A cudf string column (its dtype is numpy's object dtype, as in pandas)."""
    return np.dtype(series.dtype) == np.dtype(object)


class DeviceIngest:
    """cuDF reads for one :class:`CorpusReader` (see the module docstring)."""

    def __init__(self, backend, cudf, reader):
        self.be, self.cudf = backend, cudf
        self.text_field, self.id_field = reader.text_field, reader.id_field
        self.text_pat = field_pattern(reader.text_field)
        self.id_pat = field_pattern(reader.id_field) if reader.id_field else None
        self.prune = "prune_columns" in inspect.signature(cudf.read_json).parameters
        self._patterns = None    # the key patterns on the device, copied with the first chunk

    @classmethod
    def choose(cls, backend, reader, cudf=None) -> tuple["DeviceIngest | None", str | None]:
        """(the ingest, None) when cuDF reads this reader's JSONL and Parquet on ``backend``,
        else (None, why not).  ``cudf``: a module to use instead of importing cudf (tests)."""
        if not backend.pick(cpu=False, gpu=True):
            return None, "CPU backend"
        if cudf is None:
            if backend.simulated:
                return None, "CUDA simulator (cuDF needs a real GPU)"
            if importlib.util.find_spec("cudf") is None:
                return None, "cuDF is not installed (pip install 'corpus-engine[gpu]')"
            try:
                import cudf
            except (ImportError, RuntimeError, OSError) as e:   # a broken install: say so, read on the host
                return None, f"cuDF cannot be imported ({type(e).__name__}: {str(e).splitlines()[0][:120]})"
        if field_pattern(reader.text_field) is None:
            return None, f"text field {reader.text_field!r} is not a plain ASCII name"
        return cls(backend, cudf, reader), None

    # -- per file ------------------------------------------------------------------------
    def jsonl_file(self, path, reader, piece) -> str | None:
        """None when the chunks of JSONL ``path`` may go to cuDF, else why the whole file is
        read on the host."""
        from engine.corpus.encoding import _is_utf8
        if path.name.lower().endswith((".gz", ".zst")):
            return "compressed JSONL"
        if reader.encoding == "auto" or not _is_utf8(reader.encoding):
            return f"encoding {reader.encoding} (cuDF reads UTF-8 only)"
        if piece is not None:
            return "a piece of a file (distributed run)"
        if reader.id_field and self.id_pat is None:
            return f"id field {reader.id_field!r} is not a plain ASCII name"
        return None

    # -- JSONL ---------------------------------------------------------------------------
    def jsonl_chunk(self, reader, path, buf, end: int, line0: int, ends: np.ndarray, offset: int):
        """The items (a list of :class:`DeviceBatch`) of the whole lines ``buf[:end]``, at
        ``offset`` in the file, read by cuDF; None (the reason counted) when the host parser
        must read them."""
        why, n_lines = self._check(buf, end, ends)
        if why is None and line0 == 0 and offset > 0:
            # the host stripped a byte-order mark: cuDF would see the first line start at 0
            why = "a byte-order mark"
        if why is None:
            try:
                df = self._read_json(path, offset, end)
            except CUDF_READ_ERRORS as e:
                why = f"cuDF refused the lines ({type(e).__name__})"
        if why is None and len(df) != n_lines:
            why = "rows that are not one per line"
        text = None
        if why is None and self.text_field in df.columns:
            text = df[self.text_field]
            if not _is_string(text):
                why = "text values that are not strings"
        ids = None
        if why is None and self.id_field and self.id_field in df.columns:
            ids, why = self._string_ids(df[self.id_field], reader)
        if why is not None:
            reader.stats.note_ingest("host", why)
            return None
        items = self._rows(reader, text, n_lines, ids, lambda r: f"{path}:{line0 + r + 1}",
                           lambda r: f"{path.name}:{line0 + r + 1}",
                           f"missing or non-string field {self.text_field!r}", utf8_fallback=True)
        if items is None:
            reader.stats.note_ingest("host", "cuDF decoded escapes to invalid UTF-8")
            return None
        reader.stats.note_ingest("cudf", docs=sum(b.n_docs for b in items),
                                 nbytes=sum(b.n_bytes for b in items), file_bytes=end)
        return items

    def _check(self, buf, end: int, ends: np.ndarray) -> tuple[str | None, int]:
        """(why cuDF may not parse the chunk, or None; its line count): the chunk copied to
        the device, checked there (see the module docstring)."""
        if self._patterns is None:
            self._patterns = device_patterns(self.be, self.text_pat, self.id_pat)
        n_lines = int(ends.size) + (end > 0 and buf[end - 1] != 10)
        data = self.be.to_device(np.frombuffer(buf, np.uint8, end))
        return chunk_flaw_device(self.be, data, n_lines, self._patterns)

    def _read_json(self, path, offset: int, size: int):
        # cuDF reads the range from the file into device memory again (it takes no device
        # buffer): counted as the copy to the device that it is
        self.be.h2d_bytes += size
        dtype = {self.text_field: "str"}
        if self.id_field:
            dtype[self.id_field] = "str"
        kw = {"lines": True, "byte_range": (offset, size), "dtype": dtype}
        if self.prune:   # only the two columns parsed into columns (cudf >= 24.06)
            kw["prune_columns"] = True
        return self.cudf.read_json(str(path), **kw)

    def _string_ids(self, series, reader):
        """(ids as a list, None where absent; None) or (None, why the host must read them)."""
        if not _is_string(series):
            return None, "ids that are not strings"
        arr = series.to_arrow()
        reader.stats.note_ingest(None, id_bytes=int(arr.nbytes))   # cuDF's copy of the ids to the host
        return arr.to_pylist(), None

    # -- Parquet -------------------------------------------------------------------------
    def parquet_group(self, reader, path, pf, g: int, row0: int, has_ids: bool):
        """The items of row group ``g`` (rows from ``row0``) of the Parquet file ``pf`` read by
        cuDF, or None (counted) when the host reader must read it."""
        import pyarrow as pa

        from engine.corpus.arrow import _column_text
        ftype = pf.schema_arrow.field(self.text_field).type
        if not (pa.types.is_string(ftype) or pa.types.is_large_string(ftype)):
            reader.stats.note_ingest("host", "a text column that is not strings")
            return None
        try:
            ids = _column_text(pf.read_row_group(g, columns=[self.id_field]).column(0)) if has_ids else None
        except (pa.ArrowException, OSError):
            reader.stats.note_ingest("host", "an unreadable row group")
            return None
        try:
            self.be.h2d_bytes += _column_chunk_bytes(pf.metadata.row_group(g), self.text_field)
            df = self.cudf.read_parquet(str(path), columns=[self.text_field], row_groups=[g])
        except CUDF_READ_ERRORS as e:
            reader.stats.note_ingest("host", f"cuDF refused a row group ({type(e).__name__})")
            return None
        n = len(df)
        if n != pf.metadata.row_group(g).num_rows or (ids is not None and len(ids) != n):
            reader.stats.note_ingest("host", "a row count other than the file's")
            return None
        items = self._rows(reader, df[self.text_field], n, ids, lambda r: f"{path}:row {row0 + r}",
                           lambda r: f"{path.name}:{row0 + r}", f"missing field {self.text_field!r}",
                           utf8_fallback=False)
        items = [piece for b in items for piece in split_batch(b, reader.batch_bytes)]
        reader.stats.note_ingest("cudf", docs=sum(b.n_docs for b in items), nbytes=sum(b.n_bytes for b in items),
                                 file_bytes=int(pf.metadata.row_group(g).total_byte_size))
        return items

    # -- rows to batches -----------------------------------------------------------------
    def _flaws(self, data, offsets, n: int, series):
        """Per row (host int8, one byte a row copied back): the host reader's flaw codes,
        FLAW_MISSING where the row is null."""
        from engine.normalize import get_tables
        be, xp = self.be, self.be.xp
        flaw = xp.empty(n, np.int8)
        be.kernels.ingest.doc_flaws(n, data, offsets, be.tables(get_tables())[0], True, flaw)
        if int(series.null_count):
            flaw = xp.where(device_view(be, series.isnull().values), np.int8(FLAW_MISSING), flaw)
        return be.to_host(flaw)

    def _rows(self, reader, series, n: int, ids, where, default_id, missing: str, utf8_fallback: bool):
        """A list of one :class:`DeviceBatch` of the usable rows (or none), the others skipped
        and counted as the host reader does, in row order; None when ``utf8_fallback`` and a
        row is not valid UTF-8 (the host must decide)."""
        be = self.be
        if series is None:    # no line has the text field
            data, offsets, flaw = None, None, np.full(n, FLAW_MISSING, np.int8)
        else:
            data, offsets = column_batch(be, series._column, n)
            flaw = self._flaws(data, offsets, n, series)
        if utf8_fallback and (flaw == FLAW_UTF8).any():
            return None
        for r in np.flatnonzero(flaw).tolist():
            if flaw[r] == FLAW_MISSING:
                reason = missing
            else:
                s, e = (int(v) for v in be.to_host(offsets[r:r + 2]))
                reason = reader._flaw_reason(int(flaw[r]), be.to_host(data[s:e]).tobytes())
            reader._bad(reason, where(r))
        keep = np.flatnonzero(flaw == 0)
        if not keep.size:
            return []
        rows = keep.tolist()
        doc_ids = [ids[r] if ids is not None and ids[r] is not None else default_id(r) for r in rows]
        if ids is not None:
            explicit = [k for k, r in enumerate(rows) if ids[r] is not None]
            reader._check_ids([doc_ids[k] for k in explicit], lambda k: where(rows[explicit[k]]))
        if keep.size < n:    # the usable rows gathered on the device
            k = be.to_device(keep.astype(np.int64))
            starts = offsets[k]
            data, offsets = gather_spans(be, data, starts, offsets[k + 1] - starts)
        first_last = be.to_host(offsets[be.to_device(np.array([0, keep.size], np.int64))])
        return [DeviceBatch(doc_ids, data, offsets, 0, be, int(first_last[1] - first_last[0]))]
