"""cuDF ingest: JSONL and Parquet read straight into device string columns, whose offsets
and characters feed the numba.cuda kernels without a copy (CUDA array interface).

Only on a real GPU with cudf installed: cudf is imported inside the readers, never at
module level.  The pure planning and mapping logic (which byte ranges or row groups make a
batch, how a string column becomes a batch's flat arrays) is separate and testable without
cudf.

* JSONL: ``cudf.read_json(path, lines=True, byte_range=(offset, size))`` returns the lines
  that *start* inside the range (cudf's documented rule), so consecutive ranges that tile the
  file read each line exactly once (:func:`plan_byte_ranges`).
* Parquet: ``cudf.read_parquet(path, columns=[...], row_groups=[...])``, row groups grouped
  into batches of about ``batch_bytes`` of uncompressed text (:func:`plan_row_groups`).
* A cudf string column holds int32 or int64 offsets (a child column) and one buffer of
  UTF-8 characters; :func:`column_batch` hands both to the backend as device arrays
  (``xp.asarray`` of an object with ``__cuda_array_interface__`` is a view, not a copy).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from engine.errors import ParameterError

__all__ = ["DeviceBatch", "plan_byte_ranges", "plan_row_groups", "column_batch", "read_jsonl", "read_parquet"]


@dataclass
class DeviceBatch:
    """Documents whose UTF-8 lives on the device: ``data[offsets[i]:offsets[i + 1]]`` is
    document ``doc_base + i``; ``doc_ids`` on the host (they are written out)."""
    doc_ids: list
    data: object       # uint8 device array (the column's character buffer, not copied)
    offsets: object    # int64 device array, n_docs + 1
    doc_base: int = 0

    @property
    def n_docs(self) -> int:
        return len(self.doc_ids)


def plan_byte_ranges(file_size: int, range_bytes: int) -> list[tuple[int, int]]:
    """``(offset, size)`` ranges that tile ``[0, file_size)``, each ``range_bytes`` long but
    the last: with cudf's rule (a line belongs to the range holding its first byte) every
    line is read once, whatever the line lengths."""
    if not isinstance(range_bytes, int) or isinstance(range_bytes, bool) or range_bytes < 1:
        raise ParameterError(f"range_bytes must be an integer >= 1, got {range_bytes!r}", param="range_bytes")
    if file_size <= 0:
        return []
    return [(o, min(range_bytes, file_size - o)) for o in range(0, file_size, range_bytes)]


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


def _string_parts(col):
    """(offsets, chars) of a cudf string column: the offsets child and the character buffer
    (``base_data`` in recent cudf, ``data`` before), both exposing the CUDA array interface."""
    children = getattr(col, "children", None) or getattr(col, "base_children", None)
    if not children:
        raise TypeError(f"{type(col).__name__} is not a string column (no offsets child)")
    chars = getattr(col, "base_data", None)
    if chars is None:
        chars = getattr(col, "data", None)
    if chars is None:
        raise TypeError(f"{type(col).__name__} has no character buffer")
    return children[0], chars


def column_batch(xp, text_col, doc_ids: list, doc_base: int = 0) -> DeviceBatch:
    """A :class:`DeviceBatch` of a string column of ``len(doc_ids)`` rows (a column that is a
    slice of another keeps its absolute offsets into the shared buffer: no copy either)."""
    off_obj, chars_obj = _string_parts(text_col)
    offsets = xp.asarray(off_obj)
    if offsets.dtype != np.int64:
        offsets = offsets.astype(np.int64)    # int32 offsets: one small cast, n_docs + 1 values
    if int(offsets.size) != len(doc_ids) + 1:
        raise ValueError(f"{int(offsets.size)} offsets for {len(doc_ids)} documents")
    data = xp.asarray(chars_obj)
    if data.dtype != np.uint8:
        data = data.view(np.uint8)
    return DeviceBatch(list(doc_ids), data, offsets, doc_base)


def _ids(frame, id_field: str | None, doc_base: int, n: int, stem: str) -> list:
    if id_field and id_field in frame.columns:
        return [str(v) for v in frame[id_field].to_arrow().to_pylist()]
    return [f"{stem}:{doc_base + i}" for i in range(n)]


def read_jsonl(path, xp, text_field: str = "text", id_field: str | None = "id",
               range_bytes: int = 256 << 20) -> Iterator[DeviceBatch]:
    """Device batches of a JSONL file, one per byte range (cudf.read_json, lines=True)."""
    import os

    import cudf
    base = 0
    for offset, size in plan_byte_ranges(os.path.getsize(path), range_bytes):
        df = cudf.read_json(path, lines=True, byte_range=(offset, size))
        if len(df) == 0:
            continue
        if text_field not in df.columns:
            raise ValueError(f"{path}: no field {text_field!r} in the lines of bytes {offset}..{offset + size}")
        ids = _ids(df, id_field, base, len(df), str(path))
        yield column_batch(xp, df[text_field]._column, ids, base)
        base += len(df)


def read_parquet(path, xp, text_field: str = "text", id_field: str | None = "id",
                 batch_bytes: int = 256 << 20) -> Iterator[DeviceBatch]:
    """Device batches of a Parquet file, row groups grouped by :func:`plan_row_groups`."""
    import cudf
    import pyarrow.parquet as pq
    meta = pq.ParquetFile(path).metadata
    sizes = [meta.row_group(i).total_byte_size for i in range(meta.num_row_groups)]
    columns = [text_field] + ([id_field] if id_field else [])
    present = set(pq.ParquetFile(path).schema_arrow.names)
    base = 0
    for groups in plan_row_groups(sizes, batch_bytes):
        df = cudf.read_parquet(path, columns=[c for c in columns if c in present], row_groups=groups)
        ids = _ids(df, id_field, base, len(df), str(path))
        yield column_batch(xp, df[text_field]._column, ids, base)
        base += len(df)
