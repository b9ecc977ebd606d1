"""A stand-in for the few cudf calls engine.gpu.ingest makes, for the CUDA simulator (cudf
needs a real GPU): ``read_json(lines=True, byte_range=...)`` and ``read_parquet(columns,
row_groups)`` returning frames whose string columns have cudf's layout (an offsets child, a
character buffer, ``null_count``, ``isnull().values``, ``to_arrow()``).  Its parsing is
Python's ``json`` (lenient where cudf may be: NaN accepted, a non-string value coerced to
text under ``dtype=str``), so that the tests show the engine's own checks, not the
stand-in, keep the host reader's semantics.  Buffers are numpy arrays playing device memory.
"""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


class Buf:
    """Device memory stand-in (engine.gpu.ingest.device_view takes its array)."""

    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return self.a


class StringColumn:
    def __init__(self, offsets: np.ndarray, chars: np.ndarray, valid: np.ndarray):
        self.children = (Buf(offsets),)
        self.base_data = Buf(chars)
        self.valid = valid
        self.offset = 0

    @classmethod
    def from_values(cls, values):
        raw = [b"" if v is None else v.encode("utf-8", "surrogatepass") for v in values]
        off = np.zeros(len(raw) + 1, np.int32)
        np.cumsum([len(r) for r in raw], out=off[1:])
        return cls(off, np.frombuffer(b"".join(raw), np.uint8).copy(), np.array([v is not None for v in values]))

    @classmethod
    def from_arrow(cls, arr):
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        bufs = arr.buffers()
        odt = np.int64 if pa.types.is_large_string(arr.type) else np.int32
        off = np.frombuffer(bufs[1], odt)[arr.offset:arr.offset + len(arr) + 1].copy()
        chars = np.frombuffer(bufs[2], np.uint8).copy() if bufs[2] is not None else np.empty(0, np.uint8)
        return cls(off, chars, arr.is_valid().to_numpy(zero_copy_only=False))


class Series:
    dtype = np.dtype(object)

    def __init__(self, col: StringColumn):
        self._column = col

    def __len__(self):
        return len(self._column.valid)

    @property
    def null_count(self):
        return int((~self._column.valid).sum())

    def isnull(self):
        class _Mask:
            values = Buf(~self._column.valid)
        return _Mask()

    def to_arrow(self):
        c = self._column
        return pa.Array.from_buffers(pa.string(), len(self), [pa.py_buffer(np.packbits(c.valid, bitorder="little")),
                                                              pa.py_buffer(np.asarray(c.children[0])),
                                                              pa.py_buffer(np.asarray(c.base_data))])


class Frame:
    def __init__(self, n: int, cols: dict):
        self.n, self.cols = n, cols
        self.columns = list(cols)

    def __len__(self):
        return self.n

    def __getitem__(self, name):
        return self.cols[name]


class StandIn:
    """The module: ``read_json`` and ``read_parquet``, with counts of the calls."""

    def __init__(self):
        self.json_calls = self.parquet_calls = 0

    def read_json(self, path, lines=True, byte_range=None, dtype=None, prune_columns=False):
        assert lines and byte_range is not None and dtype
        self.json_calls += 1
        data = open(path, "rb").read()
        o, n = byte_range
        nl = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
        starts = [0] + [int(i) + 1 for i in nl if i + 1 < len(data)]
        objs = []
        for s in starts:
            if o <= s < o + n:     # cudf's rule: the lines that start inside the range
                e = data.find(b"\n", s)
                line = data[s:e if e >= 0 else len(data)]
                try:
                    objs.append(json.loads(line.decode("utf-8", "surrogateescape")))
                except ValueError as err:
                    raise RuntimeError(f"CUDF failure: JSON Parser encountered an invalid format ({err})") from None
        cols = {}
        for name in dtype:
            if any(name in ob for ob in objs):
                vals = [ob.get(name) for ob in objs]
                cols[name] = Series(StringColumn.from_values(
                    [v if v is None or isinstance(v, str) else json.dumps(v) for v in vals]))
        return Frame(len(objs), cols)

    def read_parquet(self, path, columns=None, row_groups=None):
        self.parquet_calls += 1
        tb = pq.ParquetFile(path).read_row_groups(row_groups, columns=columns)
        return Frame(tb.num_rows, {c: Series(StringColumn.from_arrow(tb.column(c))) for c in columns})
