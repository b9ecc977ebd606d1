import numpy as np
import pytest
import xxhash
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels.hashing import utf8_decode, utf8_error, utf8_len, utf8_write, xxh64


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
    cp, n = utf8_decode(np.frombuffer(b, dtype=np.uint8), 0, len(b))
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
    buf = np.frombuffer(b"##" + raw + b"#", np.uint8)
    got = utf8_error(buf, 2, 2 + len(raw))
    try:
        raw.decode("utf-8")
        assert got == -1
    except UnicodeDecodeError as e:
        assert got == e.start


# Byte strings that hit every rule of the decoder: stray continuation bytes, overlong
# leads, surrogates, code points above U+10FFFF, bytes F5-FF and sequences cut short.
BAD = [b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf",
       b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf",
       b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xfe", b"\xff",
       b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xf0\x9f", b"\xf0"]
raw_st = st.lists(st.one_of(st.binary(max_size=6), st.sampled_from(BAD),
                            st.text(max_size=4).map(lambda t: t.encode("utf-8", "surrogatepass"))),
                  max_size=10).map(b"".join)


def _walk(raw):
    """The code points utf8_decode reads from raw, and their byte lengths (the buffer goes on
    with a valid 4-byte sequence that must never be read)."""
    buf = np.frombuffer(raw + b"\xf0\x9f\x98\x80", np.uint8)
    e = len(raw)
    cps, steps, i = [], [], 0
    while i < e:
        cp, n = utf8_decode(buf, i, e)
        assert 1 <= n <= e - i   # in bounds whatever the bytes
        cps.append(int(cp))
        steps.append(n)
        i += n
    return cps, steps


@given(raw_st)
@settings(max_examples=500, deadline=None)
def test_utf8_decode_is_bounded_and_replaces_like_python(raw):
    cps, _ = _walk(raw)
    assert all(0 <= cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF for cp in cps)
    # an invalid sequence reads as one U+FFFD for its maximal subpart: Python's "replace"
    assert "".join(map(chr, cps)) == raw.decode("utf-8", "replace")


@given(raw_st)
@settings(max_examples=300, deadline=None)
def test_utf8_error_agrees_with_decode(raw):
    buf = np.frombuffer(raw, np.uint8)
    err = utf8_error(buf, 0, len(raw))
    cps, steps = _walk(raw)
    # utf8_error flags the first sequence that utf8_decode reads as a replacement
    pos = np.concatenate([[0], np.cumsum(steps)[:-1]]).astype(int) if steps else []
    first_bad = next((int(p) for p, cp, n in zip(pos, cps, steps)
                      if cp == 0xFFFD and bytes(raw[p:p + n]) != "\ufffd".encode()), -1)
    assert err == first_bad


@pytest.mark.parametrize("bad", BAD)
def test_utf8_decode_invalid_examples(bad):
    buf = np.frombuffer(bad + b"\x80\x80\x80", np.uint8)   # continuation bytes past the end
    cp, n = utf8_decode(buf, 0, len(bad))
    assert cp == 0xFFFD and 1 <= n <= len(bad)
    assert utf8_error(buf, 0, len(bad)) == 0
