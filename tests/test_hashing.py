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
@settings(deadline=None)   # the first example compiles the kernels
def test_utf8_roundtrip(c):
    b = c.encode("utf-8")
    cp, n = utf8_decode(np.frombuffer(b, dtype=np.uint8), 0)
    assert (cp, n) == (ord(c), len(b))
    out = np.zeros(4, np.uint8)
    assert utf8_write(out, 0, ord(c)) == utf8_len(ord(c)) == len(b)
    assert bytes(out[:len(b)]) == b


@given(st.lists(st.one_of(st.binary(max_size=6), st.text(max_size=4).map(lambda t: t.encode("utf-8", "surrogatepass")),
                          st.sampled_from([b"\xc0\x80", b"\xe0\x80\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                                           b"\xf0\x9f\x98", b"\xc3", b"\xc3\xa9", b"\xf0\x9f\x98\x80"])),
                max_size=8).map(b"".join))
@settings(max_examples=500, deadline=None)
def test_utf8_error_equals_python_strict_decoder(raw):
    from kernels.hashing import utf8_error
    buf = np.frombuffer(b"##" + raw + b"#", np.uint8)
    got = utf8_error(buf, 2, 2 + len(raw))
    try:
        raw.decode("utf-8")
        assert got == -1
    except UnicodeDecodeError as e:
        assert got == e.start
