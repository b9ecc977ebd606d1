"""engine.arrow_arrays builds the same Arrow arrays as pyarrow.array (the oracle), without pandas."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from engine import arrow_arrays


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint32, np.uint64, np.float32,
                                   np.float64, np.bool_])
def test_numeric_equals_pa_array(dtype):
    rng = np.random.default_rng(1)
    a = (rng.integers(0, 100, 257) % (2 if dtype is np.bool_ else 100)).astype(dtype)
    got = arrow_arrays.numeric(a)
    assert got.equals(pa.array(a)) and got.type == pa.array(a).type
    assert arrow_arrays.numeric(a[::3]).equals(pa.array(a[::3]))          # strided input
    assert arrow_arrays.numeric(np.zeros(0, dtype)).equals(pa.array(np.zeros(0, dtype)))


def test_numeric_cast_and_nan_as_null():
    a = np.array([0.5, np.nan, 2.0, np.nan], np.float32)
    plain = arrow_arrays.numeric(a, np.float64)
    assert plain.type == pa.float64() and plain.null_count == 0              # NaN stays NaN
    np.testing.assert_array_equal(plain.to_numpy(), pa.array(a, pa.float64()).to_numpy())
    got = arrow_arrays.numeric(a, np.float64, nan_as_null=True)
    assert got.equals(pa.array(a, pa.float64(), from_pandas=True)) and got.null_count == 2
    assert arrow_arrays.numeric(np.arange(6).reshape(2, 3), np.uint32).to_pylist() == list(range(6))
    with pytest.raises(TypeError):
        arrow_arrays.numeric(np.array(["x"], dtype=object))


def test_strings_equal_pa_array():
    items = ["", "a", "élan", "日本語", "l'œuvre", "x" * 1000]
    got = arrow_arrays.strings(items)
    assert got.equals(pa.array(items, pa.string()))
    assert arrow_arrays.strings([]).equals(pa.array([], pa.string()))


def test_no_pandas_import():
    code = ("import sys, numpy as np; from engine import arrow_arrays; "
            "arrow_arrays.numeric(np.arange(3)); arrow_arrays.strings(['a']); print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "False"


def test_take_strings_equals_arrow_take():
    """The numpy gather against pyarrow's own take (the oracle): order, repeats, empty
    strings, multi-byte text, a sliced array and a large_string array."""
    rng = np.random.default_rng(0)
    words = ["", "a", "bé", "xyz", "日本語", "ß" * 40]
    v = arrow_arrays.strings(words)
    for idx in ([5, 0, 2, 2, 1, 3, 4], [], [2], rng.integers(0, len(words), 1000)):
        got = arrow_arrays.take_strings(v, idx)
        want = v.take(pa.array(np.asarray(idx, np.int64)))
        assert got.type == want.type and got.equals(want)
    s = v.slice(2, 3)
    assert arrow_arrays.take_strings(s, [2, 0, 1]).equals(s.take(pa.array([2, 0, 1])))
    big = pa.array(["p", "qq", ""], pa.large_string())
    got = arrow_arrays.take_strings(big, [1, 1, 0, 2])
    assert got.type == pa.large_string() and got.equals(big.take(pa.array([1, 1, 0, 2])))


def test_take_strings_refuses_nulls():
    with pytest.raises(TypeError):
        arrow_arrays.take_strings(pa.array(["a", None]), [0])
