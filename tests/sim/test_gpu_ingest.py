"""The pure logic of the cuDF ingest and of ``.to_cudf()``, without cudf: byte ranges that
read every JSONL line once under cudf's rule, row groups per batch, and a string column
(a stand-in with cudf's layout) mapped to a batch's flat arrays."""
import json
import sys
import types

import numpy as np
import pyarrow as pa
import pytest

from engine.errors import ParameterError
from engine.gpu import frames
from engine.gpu.ingest import column_batch, plan_byte_ranges, plan_row_groups


def _lines_read(data: bytes, ranges):
    """The lines each range reads under cudf's rule: those whose first byte is inside it."""
    starts = [0] + [i + 1 for i, c in enumerate(data) if c == 10 and i + 1 < len(data)]
    return [[s for s in starts if o <= s < o + n] for o, n in ranges]


@pytest.mark.parametrize("range_bytes", [1, 7, 50, 10_000])
def test_byte_ranges_read_every_line_once(range_bytes):
    rng = np.random.default_rng(range_bytes)
    data = b"".join(json.dumps({"id": i, "text": "x" * int(rng.integers(0, 40))}).encode() + b"\n"
                    for i in range(30))
    ranges = plan_byte_ranges(len(data), range_bytes)
    assert ranges[0][0] == 0 and sum(n for _, n in ranges) == len(data)
    assert all(a + n == b for (a, n), (b, _) in zip(ranges, ranges[1:]))
    read = [s for part in _lines_read(data, ranges) for s in part]
    assert len(read) == 30 and len(set(read)) == 30


def test_plans_refuse_bad_sizes_and_group_row_groups():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ParameterError, match="range_bytes"):
            plan_byte_ranges(100, bad)
        with pytest.raises(ParameterError, match="batch_bytes"):
            plan_row_groups([1, 2], bad)
    assert plan_byte_ranges(0, 10) == []
    assert plan_row_groups([5, 5, 30, 1, 1, 1], 10) == [[0, 1], [2], [3, 4, 5]]
    assert plan_row_groups([], 10) == []


class _Buf:
    """Stands in for a device buffer (cupy.asarray takes its CUDA array interface)."""
    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return self.a


class _StringColumn:
    """cudf's string column layout: an offsets child and one character buffer."""
    def __init__(self, strings, offsets_dtype, newer=True, skip=0):
        raw = [s.encode() for s in strings]
        off = np.concatenate([[0], np.cumsum([len(r) for r in raw])]).astype(offsets_dtype)
        self.children = (_Buf(off[skip:]),)
        chars = _Buf(np.frombuffer(b"".join(raw), np.uint8).copy())
        if newer:
            self.base_data = chars
        else:
            self.data = chars


@pytest.mark.parametrize("dtype,newer", [(np.int32, True), (np.int64, False)])
def test_string_column_to_batch(dtype, newer):
    texts = ["un", "", "déjà vu", "😀 fin"]
    b = column_batch(np, _StringColumn(texts, dtype, newer), ["a", "b", "c", "d"], doc_base=10)
    assert b.n_docs == 4 and b.doc_base == 10 and b.offsets.dtype == np.int64 and b.data.dtype == np.uint8
    got = [bytes(b.data[b.offsets[i]:b.offsets[i + 1]]).decode() for i in range(4)]
    assert got == texts
    # a slice of a column keeps its absolute offsets into the shared buffer
    s = column_batch(np, _StringColumn(texts, dtype, newer, skip=2), ["c", "d"])
    assert [bytes(s.data[s.offsets[i]:s.offsets[i + 1]]).decode() for i in range(2)] == texts[2:]
    with pytest.raises(ValueError, match="offsets for"):
        column_batch(np, _StringColumn(texts, dtype, newer), ["a"])
    with pytest.raises(TypeError, match="not a string column"):
        column_batch(np, object(), [])


def test_to_cudf_without_cudf_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "cudf", None)     # import cudf -> ImportError
    with pytest.raises(frames.CudfUnavailable) as e:
        frames.to_cudf(pa.table({"x": [1]}))
    assert "\n" not in str(e.value) and "corpus-engine[gpu]" in str(e.value)


def test_to_cudf_hands_the_arrow_table_to_cudf(monkeypatch):
    from engine import ngrams
    from engine.corpus import batch_from_texts
    seen = []
    fake = types.SimpleNamespace(DataFrame=types.SimpleNamespace(from_arrow=lambda t: seen.append(t) or "frame"))
    monkeypatch.setitem(sys.modules, "cudf", fake)
    res = ngrams.run(batch_from_texts(["un deux un"]), "cpu", ngrams.NgramConfig(n="1"))
    assert res.to_cudf() == "frame" and seen[0].equals(res.table())
