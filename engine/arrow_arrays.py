"""Arrow arrays from numpy arrays and Python strings without ``pa.array``.

Why: ``pyarrow.array`` asks whether its argument is a pandas object, and that question
imports pandas when it is installed (0.3-0.9 s, more than all of a small command's work).
Building the arrays from their buffers gives the same arrays without that import.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["numeric", "strings", "take_strings"]

_TYPES = {np.dtype(np.int8): pa.int8(), np.dtype(np.int16): pa.int16(), np.dtype(np.int32): pa.int32(),
          np.dtype(np.int64): pa.int64(), np.dtype(np.uint8): pa.uint8(), np.dtype(np.uint16): pa.uint16(),
          np.dtype(np.uint32): pa.uint32(), np.dtype(np.uint64): pa.uint64(),
          np.dtype(np.float32): pa.float32(), np.dtype(np.float64): pa.float64(),
          np.dtype(np.bool_): pa.bool_()}


def numeric(values, dtype=None, nan_as_null: bool = False) -> pa.Array:
    """The Arrow array of a 1-D numeric numpy array (``pa.array(values)``, pandas-free).

    Parameters
    ----------
    values : array-like
        Converted with ``np.asarray(values, dtype)``; a bool array becomes a bit-packed
        Arrow boolean array.
    dtype : numpy dtype, optional
        The element type (default: that of ``values``).
    nan_as_null : bool
        Float NaN becomes null (``pa.array(..., from_pandas=True)``).
    """
    a = np.ascontiguousarray(np.asarray(values, dtype=dtype).reshape(-1))
    typ = _TYPES.get(a.dtype)
    if typ is None:
        raise TypeError(f"no Arrow type for numpy dtype {a.dtype}")
    validity, nulls = None, 0
    if nan_as_null and a.dtype.kind == "f":
        ok = ~np.isnan(a)
        nulls = int(a.size - np.count_nonzero(ok))
        if nulls:
            validity = pa.py_buffer(np.packbits(ok, bitorder="little"))
    data = np.packbits(a, bitorder="little") if a.dtype == np.bool_ else a
    return pa.Array.from_buffers(typ, a.size, [validity, pa.py_buffer(data)], null_count=nulls)


def strings(items) -> pa.Array:
    """The Arrow string array of a sequence of ``str`` (``pa.array(items, pa.string())``)."""
    encoded = [s.encode("utf-8") for s in items]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    if offsets[-1] < 2**31:
        return pa.StringArray.from_buffers(len(encoded), pa.py_buffer(offsets.astype(np.int32)), data)
    return pa.LargeStringArray.from_buffers(len(encoded), pa.py_buffer(offsets), data)


def take_strings(arr, indices) -> pa.Array:
    """``arr.take(indices)`` for a string array without nulls, without ``pyarrow.compute``.

    ``Array.take`` imports ``pyarrow.compute`` (0.02-0.03 s of a command's start-up); this
    gathers the bytes with numpy instead.  Same type as ``arr`` (string or large_string).
    """
    idx = np.asarray(indices, np.int64).reshape(-1)
    large = pa.types.is_large_string(arr.type)
    if arr.null_count or not (large or pa.types.is_string(arr.type)):
        raise TypeError(f"take_strings needs a string array without nulls, got {arr.type}")
    _, off_buf, data_buf = arr.buffers()
    off = np.frombuffer(off_buf, np.int64 if large else np.int32)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    starts = off[:-1].astype(np.int64)[idx]
    lens = np.diff(off).astype(np.int64)[idx]
    new_off = np.zeros(idx.size + 1, np.int64)
    np.cumsum(lens, out=new_off[1:])
    # byte k of output string r is data[starts[r] + k]: one repeat, one arange
    src = np.repeat(starts - new_off[:-1], lens) + np.arange(new_off[-1], dtype=np.int64)
    out = pa.py_buffer(data[src].tobytes())
    if large:
        return pa.LargeStringArray.from_buffers(idx.size, pa.py_buffer(new_off), out)
    if new_off[-1] >= 2**31:
        raise OverflowError("take_strings: the result does not fit a string array (2 GB of text)")
    return pa.StringArray.from_buffers(idx.size, pa.py_buffer(new_off.astype(np.int32)), out)
