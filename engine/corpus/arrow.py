"""Arrow columns into documents: ids, validation, Parquet row groups."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from engine.corpus.batch import CorpusError, _Block
from engine.corpus.ids import _value_text
from engine.corpus.stats import _doc_flaws, _first_line
from engine.corpus.streams import FilePiece
from kernels.constants import FLAW_MISSING

_ON_LINES = object()   # _arrow_ids: the ids need the line parser


def _column_text(col) -> list:
    """A Parquet id column's values as text (None where null)."""
    import pyarrow as pa
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        try:
            return col.to_pylist()
        except UnicodeDecodeError:   # a string column written without validation
            col = col.cast(pa.binary())
    return [_value_text(v) for v in col.to_pylist()]


class _ArrowMixin:
    """CorpusReader's Arrow paths: id and text columns, Parquet files."""

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
            device = self.device
            if device is not None and piece is not None:
                self.stats.note_ingest("host", "a piece of a file (distributed run)")
                device = None
            for g in range(*groups):
                group_rows = pf.metadata.row_group(g).num_rows
                items = None if device is None else device.parquet_group(self, path, pf, g, row, len(cols) > 1)
                if items is not None:   # read by cuDF (else the host reads the group, as before)
                    yield from items
                    row += group_rows
                    continue
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
