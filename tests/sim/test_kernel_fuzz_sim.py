"""The CUDA twins of the byte-reading kernels (in the simulator) on random bytes equal the CPU kernels.

The same inputs as ``tests/test_kernel_fuzz.py`` (random bytes, valid UTF-8, valid text with
bad bytes spliced in or cut short), kept tiny: the simulator runs every thread in Python.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backend import get_backend
from engine.normalize import get_tables
from tests.test_kernel_fuzz import FUZZ, make_batch, raw_doc

raw_docs = st.lists(raw_doc, min_size=1, max_size=4)


@pytest.fixture(scope="module")
def backends():
    g = get_backend("gpu")
    assert g.name == "gpu" and g.simulated
    return get_backend("cpu"), g


def _tokenize_kernels(be, data, offsets, t):
    """Both tokenizer passes as ``engine.text.tokenize`` runs them, on every document (those that
    need the slow path are only counted): lens, token counts, normalised bytes, tokens."""
    lens, ntok = (be.to_host(a).copy() for a in be.norm_tok_counts(be.asarray(data), be.asarray(offsets), t))
    n_off = np.zeros(lens.size + 1, np.int64)
    np.cumsum(np.maximum(lens, 0), out=n_off[1:])
    t_off = np.zeros(lens.size + 1, np.int64)
    np.cumsum(np.where(lens >= 0, ntok, 0), out=t_off[1:])
    nt = int(t_off[-1])
    out = [np.zeros(int(n_off[-1]), np.uint8), np.zeros(nt, np.int64), np.zeros(nt, np.int32),
           np.zeros(nt, np.int32), np.zeros(nt, np.uint64)]
    dev = [be.asarray(a) for a in out]
    be.norm_tok_write(be.asarray(data), be.asarray(offsets), t, be.asarray(lens), be.asarray(n_off), dev[0],
                      be.asarray(t_off), *dev[1:])
    return [lens, ntok] + [be.to_host(a) for a in dev]


@given(raw_docs, st.booleans())
@settings(max_examples=40, **FUZZ)
def test_tokenizer_twins_equal_on_random_bytes(backends, docs, strip):
    b = make_batch(docs)
    t = get_tables(strip)
    c, g = (_tokenize_kernels(be, b.data, b.offsets, t) for be in backends)
    for name, x, y in zip(("lens", "ntok", "norm", "tok_start", "tok_len", "tok_nch", "tok_hash"), c, g):
        np.testing.assert_array_equal(x, y, err_msg=name)


def _char_kernels(be, data, offsets, n):
    """Code point counts, char n-grams and MinHash char shingles of raw (maybe invalid) bytes."""
    d, o = be.asarray(data), be.asarray(offsets)
    ncp = be.to_host(be.codepoint_counts(d, o)).astype(np.int64)
    res = [ncp]
    for shingles in (False, True):
        m = np.where(ncp >= n, ncp - n + 1, (ncp > 0) if shingles else 0).astype(np.int64)
        off = np.zeros(m.size + 1, np.int64)
        np.cumsum(m, out=off[1:])
        k = int(off[-1])
        out = [be.asarray(np.zeros(k, np.uint64)), be.asarray(np.zeros(k, np.int64)),
               be.asarray(np.zeros(k, np.int32))]
        if shingles:
            be.kernels.minhash.char_shingles(m.size, d, o, be.asarray(ncp), np.int64(n), be.asarray(off), *out)
        else:
            be.char_ngrams(d, o, n, be.asarray(off), *out)
        res += [be.to_host(a) for a in out]
    return res


@given(raw_docs, st.integers(1, 4))
@settings(max_examples=40, **FUZZ)
def test_char_kernel_twins_equal_on_random_bytes(backends, docs, n):
    b = make_batch(docs)
    c, g = (_char_kernels(be, b.data, b.offsets, n) for be in backends)
    for x, y in zip(c, g):
        np.testing.assert_array_equal(x, y)
