import numpy as np
import pytest
import xxhash
from hypothesis import given, settings, strategies as st

from kernels.hashing import utf8_decode, utf8_len, utf8_write, xxh64


@given(st.binary(max_size=200), st.integers(min_value=0, max_value=2**64 - 1))
@settings(max_examples=300, deadline=None)
def test_xxh64_matches_reference_package(data, seed):
    buf = np.frombuffer(b"pad" + data + b"tail", dtype=np.uint8)
    assert int(xxh64(buf, 3, len(data), np.uint64(seed))) == xxhash.xxh64_intdigest(data, seed=seed)


@pytest.mark.parametrize("n", range(0, 70))
def test_xxh64_every_length_path(n):
    data = bytes(range(256))[:n] * 1
    buf = np.frombuffer(data + b"\0", dtype=np.uint8)
    assert int(xxh64(buf, 0, n, 0)) == xxhash.xxh64_intdigest(data)


@given(st.text(min_size=1, max_size=1).filter(lambda c: not 0xD800 <= ord(c) <= 0xDFFF))
def test_utf8_roundtrip(c):
    b = c.encode("utf-8")
    cp, n = utf8_decode(np.frombuffer(b, dtype=np.uint8), 0)
    assert (cp, n) == (ord(c), len(b))
    out = np.zeros(4, np.uint8)
    assert utf8_write(out, 0, ord(c)) == utf8_len(ord(c)) == len(b)
    assert bytes(out[:len(b)]) == b
