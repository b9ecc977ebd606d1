"""The kernels on arbitrary bytes: never out of bounds, never a crash, deterministic.

Readers are meant to hand the kernels valid UTF-8, but the kernels do not rely on it
(``kernels.hashing.utf8_decode`` reads an invalid sequence as U+FFFD, as
``bytes.decode("utf-8", "replace")`` does).  Properties, on batches built straight
from random bytes (bypassing the readers):

- the reader check (``doc_flaws`` with ``check_utf8``, ``utf8_error``) flags a document
  exactly when Python's strict decoder rejects it, at the same byte;
- tokens (``engine.text.tokenize``) of an accepted document are the definition's
  (``tests.reference``); a rejected one that takes the kernels' fast path gets the
  definition's tokens of its "replace"-decoded text, and its normalised text is valid UTF-8;
- char n-gram windows on raw bytes are exactly as many as ``codepoint_counts`` says
  (the output is sized with it) and stay inside their document;
- the fused CPU passes (co-occurrence ``text_types``, MinHash ``text_signatures``) agree
  with the unfused path and give the same result twice.

Out-of-bounds accesses themselves are caught by ``tests/test_boundscheck.py``.
"""
from collections import Counter

import numpy as np
import pytest
import xxhash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backend import get_backend
from engine.corpus import Batch
from engine.normalize import get_tables, max_expansion
from engine.text import TextOptions, hash_token, tokenize
from kernels.cpu.text import FLAW_BLANK, FLAW_NUL, FLAW_UTF8, doc_flaws
from kernels.hashing import utf8_error
from tests import reference

CPU = get_backend("cpu")
FUZZ = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Invalid sequences of every kind: stray continuation bytes, overlong forms, surrogates,
# above U+10FFFF, bytes that are never UTF-8, and sequences cut short.
BAD = [b"\x80", b"\xbf", b"\xc0\xaf", b"\xc1\x81", b"\xe0\x80\xaf", b"\xe0\x9f\xbf", b"\xed\xa0\x80",
       b"\xed\xbf\xbf", b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80", b"\xf8\x88\x80\x80\x80",
       b"\xfc\x84\x80\x80\x80\x80", b"\xfe", b"\xff", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xf0"]
# Code points the tokenizer treats specially: combining marks (slow path), compatibility
# forms, casefold expansions, emoji, CJK, non-ASCII spaces, and ASCII word / non-word bytes.
SPECIAL = ("\u0301\u0308\u0327\u200d\U0001F600\U0001F3FD日本語한각\u05d0\u0627\u2019\u00ab'ﬁﬀ½²Ⅻ①ｱＡß"
           "\u0130ǰ\u00a0\u2003\t\n\u0345\u1e9e\u03a3\u03c2\ufffd\ufdfa_-.,;:09éèàçÉÀaZ \x00")

_text = st.text(st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(SPECIAL),
                          st.characters(max_codepoint=0x7F)), max_size=24)
_valid = _text.map(lambda t: t.encode("utf-8"))


def _inject(a):
    raw, bad, pos = a
    p = pos % (len(raw) + 1)
    return raw[:p] + bad + raw[p:]


def _cut(a):
    """Valid text ending in a multi-byte sequence cut short."""
    raw, c, k = a
    enc = c.encode("utf-8")
    return raw + enc[:max(1, len(enc) - k)]


_injected = st.tuples(_valid, st.sampled_from(BAD), st.integers(0, 99)).map(_inject)
_truncated = st.tuples(_valid, st.characters(min_codepoint=0x80, blacklist_categories=("Cs",)),
                       st.integers(1, 3)).map(_cut)
raw_doc = st.one_of(st.binary(max_size=32), _valid, _injected, _truncated,
                    st.lists(st.one_of(_valid, st.sampled_from(BAD)), max_size=5).map(b"".join))
# several documents a batch: a sequence cut short at the end of one document must not read
# the next one; the last one ends the buffer
raw_docs = st.lists(raw_doc, min_size=1, max_size=6)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Run the parallel kernels on one thread here: the properties are about the per-document
    cores, and hundreds of tiny calls would otherwise each pay a thread-pool barrier (tens of
    milliseconds on a loaded 2-core machine, 5-10x the whole test)."""
    import numba
    n = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(n)


def make_batch(docs: list) -> Batch:
    """A Batch straight from raw bytes (what a reader would build, without its checks)."""
    offsets = np.zeros(len(docs) + 1, np.int64)
    np.cumsum([len(d) for d in docs], out=offsets[1:])
    return Batch([str(i) for i in range(len(docs))], np.frombuffer(b"".join(docs), np.uint8), offsets)


def strict(raw: bytes):
    """(text, None), or (None, the UnicodeDecodeError) when Python's strict decoder rejects raw."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as e:
        return None, e


def fast_docs(batch: Batch, tables=None) -> np.ndarray:
    """Per document: True when the kernels normalise it (no exact slow path needed)."""
    lens, _ = CPU.norm_tok_counts(batch.data, batch.offsets, tables or get_tables())
    return np.asarray(lens) >= 0


def tokenizable(docs: list, strip: bool = False) -> list:
    """Indices of the documents ``engine.text.tokenize`` can take: all but the invalid ones that
    need the slow path, which ``Batch.text`` decodes strictly in Python (not a kernel: see
    ``test_invalid_document_on_the_slow_path``)."""
    fast = fast_docs(make_batch(docs), get_tables(strip))
    return [d for d, raw in enumerate(docs) if fast[d] or strict(raw)[1] is None]


# ---------------------------------------------------------------------------- reader check
@given(raw_docs)
@settings(max_examples=400, **FUZZ)
def test_reader_check_flags_exactly_what_python_rejects(docs):
    b = make_batch(docs)
    flags = get_tables().flags
    checked = doc_flaws(b.data, b.offsets, flags, True)
    unchecked = doc_flaws(b.data, b.offsets, flags, False)   # any bytes: no crash either
    for d, raw in enumerate(docs):
        text, err = strict(raw)
        s, e = int(b.offsets[d]), int(b.offsets[d + 1])
        assert utf8_error(b.data, s, e) == (-1 if err is None else err.start)
        loose = raw.decode("utf-8", "replace")   # how the kernels read it
        want = FLAW_BLANK if not loose.strip() else FLAW_NUL if "\0" in loose else 0
        assert unchecked[d] == want
        assert checked[d] == (FLAW_UTF8 if err is not None else want)


# ---------------------------------------------------------------------------- tokenizer
@given(raw_docs, st.booleans())
@settings(max_examples=300, **FUZZ)
def test_tokenize_raw_bytes(docs, strip):
    opts = TextOptions(strip_accents=strip)
    b = make_batch(docs)
    t = get_tables(strip)
    lens, ntok = CPU.norm_tok_counts(b.data, b.offsets, t)   # every document, whatever its bytes
    keep = tokenizable(docs, strip)
    toks = tokenize(make_batch([docs[d] for d in keep]), CPU, opts)
    norm, off = toks.host("norm"), toks.host("norm_offsets")
    for i, d in enumerate(keep):
        text, err = strict(docs[d])
        if err is not None:   # read as "replace" reads it (U+FFFD per maximal subpart)
            text = docs[d].decode("utf-8", "replace")
        assert toks.doc_tokens(i) == reference.tokens(text, strip)
        assert bytes(norm[off[i]:off[i + 1]]).decode("utf-8") == reference.normalize(text, strip)
        if lens[d] >= 0:   # the counting pass sized exactly what the writing pass wrote
            assert (off[i + 1] - off[i], toks.host("doc_tok_offsets")[i + 1] - toks.host("doc_tok_offsets")[i]) \
                == (lens[d], ntok[d])
    assert [int(h) for h in toks.host("tok_hash")] == [hash_token(x) for i in range(len(keep))
                                                       for x in toks.doc_tokens(i)]


def test_invalid_document_on_the_slow_path():
    raw = b"cafe\xcc\x81 \xff d\xc3"   # a combining mark (slow path), an invalid byte, a cut sequence
    b = make_batch([raw, b"ok"])
    assert list(fast_docs(b)) == [False, True]
    toks = tokenize(b, CPU)
    assert toks.doc_tokens(0) == reference.tokens(raw.decode("utf-8", "replace"))


@given(raw_docs, st.integers(1, 4))
@settings(max_examples=300, **FUZZ)
def test_char_ngrams_on_raw_bytes(docs, n):
    """Windows of raw (not normalised, maybe invalid) bytes: as many as counted, in bounds;
    on valid UTF-8 exactly the n-character substrings."""
    b = make_batch(docs)
    data = b.data
    ncp = CPU.codepoint_counts(data, b.offsets)
    m = np.maximum(ncp - n + 1, 0)
    out_off = np.zeros(m.size + 1, np.int64)
    np.cumsum(m, out=out_off[1:])
    total = int(out_off[-1])
    # one guard slot past the end: a kernel writing more windows than counted would touch it
    h = np.full(total + 1, 7, np.uint64)
    start = np.full(total + 1, -7, np.int64)
    ln = np.full(total + 1, -7, np.int32)
    CPU.char_ngrams(data, b.offsets, n, out_off, h, start, ln)
    assert (h[total], start[total], ln[total]) == (7, -7, -7)
    for d, raw in enumerate(docs):
        s, e = int(b.offsets[d]), int(b.offsets[d + 1])
        w = range(out_off[d], out_off[d + 1])
        assert all(s <= start[k] and start[k] + ln[k] <= e and ln[k] > 0 for k in w)
        assert [int(h[k]) for k in w] == [xxhash.xxh64_intdigest(bytes(data[start[k]:start[k] + ln[k]])) for k in w]
        text, err = strict(raw)
        if err is None:
            assert ncp[d] == len(text)
            assert [bytes(data[start[k]:start[k] + ln[k]]) for k in w] == \
                [text[i:i + n].encode("utf-8") for i in range(len(text) - n + 1)]


# ---------------------------------------------------------------------------- fused CPU passes
def _text_types(batch: Batch, opts: TextOptions):
    """``kernels.cpu.cooc.text_types`` on every document (one part, as ``_TypeTable.add_text``
    runs a small batch): (local type number of each token, tokens per document (-1: slow path),
    the table)."""
    from engine.cooc import _TypeTable
    from kernels.cpu.cooc import text_types
    t = get_tables(opts.strip_accents)
    types = _TypeTable(cap=1 << 12, parts=1)
    nd = batch.n_docs
    out = np.full((1, batch.n_bytes + nd + 1), -1, np.int32)
    out_n = np.zeros(1, np.int64)
    doc_ntok = np.zeros(nd, np.int64)
    resume, d_end, full = np.zeros(1, np.int64), np.full(1, nd, np.int64), np.zeros(1, np.int8)
    stop = np.empty(0, np.uint64)
    text_types(batch.data, batch.offsets, t.flags, t.map_off, t.map_len, t.map_cps, np.int64(max_expansion(t)),
               stop, np.int64(opts.min_token_len), resume, d_end, types.tab, types.cap - 1, types.used,
               types.limit, types.count, types.pos, types.len, types.pool, types.pool_used, out, out_n,
               doc_ntok, full)
    assert full[0] == 0 and resume[0] == nd   # room for everything: one call
    return out[0, :out_n[0]], doc_ntok, types


@given(raw_docs)
@settings(max_examples=150, **FUZZ)
def test_cooc_text_types_on_raw_bytes(docs):
    from engine.cooc import _TypeTable
    b = make_batch(docs)
    opts = TextOptions()
    tt, doc_ntok, types = _text_types(b, opts)   # every document, whatever its bytes
    tt2, doc_ntok2, types2 = _text_types(b, opts)
    np.testing.assert_array_equal(tt, tt2)       # deterministic
    np.testing.assert_array_equal(doc_ntok, doc_ntok2)
    fast = fast_docs(b)
    assert list(doc_ntok < 0) == list(~fast)
    # the fast documents' tokens, as tokenize gives them (the unfused path)
    sub = make_batch([docs[d] for d in np.flatnonzero(fast)])
    toks = tokenize(sub, CPU, opts)
    assert list(doc_ntok[fast]) == list(np.diff(toks.host("doc_tok_offsets")))
    np.testing.assert_array_equal(types.hashes()[tt], toks.host("tok_hash"))
    # type numbers go by first occurrence; each keeps the spelling of its first token
    first = np.unique(tt, return_index=True)[1]
    assert types.terms(np.arange(types.numbers)) == [toks.token(int(i)) for i in first]
    # the engine's own entry point, on what it can take (see tokenizable)
    keep = make_batch([docs[d] for d in tokenizable(docs)])
    ref = tokenize(keep, CPU, opts)
    table = _TypeTable(cap=1 << 12, parts=1)
    segments, n_tokens = table.add_text(keep, opts)
    assert n_tokens == ref.n_tokens
    got = Counter(int(x) for tt_, _, _ in segments for x in table.hashes()[tt_])
    assert got == Counter(int(x) for x in ref.host("tok_hash"))


@given(raw_docs, st.sampled_from(["word:2", "char:3"]))
@settings(max_examples=120, **FUZZ)
def test_minhash_signatures_on_raw_bytes(docs, shingle):
    from engine.minhash import (
        MinHashConfig,
        _fused_args,
        batch_signatures,
        permutations,
        shingles,
        signatures_from_hashes,
    )
    from kernels.cpu.minhash import text_signatures
    cfg = MinHashConfig(shingle=shingle, perms=16, seed=3)
    b = make_batch(docs)
    pa, pb = permutations(cfg.perms, cfg.seed)
    runs = []
    for _ in range(2):   # every document, whatever its bytes; twice: deterministic
        sig = np.zeros((b.n_docs, cfg.perms), np.uint32)
        nsh = np.empty(b.n_docs, np.int64)
        text_signatures(b.data, b.offsets, *_fused_args(cfg), pa, pb, sig, nsh)
        runs.append((sig, nsh))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    sig, nsh = runs[0]
    fast = fast_docs(b)
    assert list(nsh < 0) == list(~fast)
    # fused == unfused (tokenize -> shingles -> signatures) on the fast documents
    sub = make_batch([docs[d] for d in np.flatnonzero(fast)])
    h, off = shingles(tokenize(sub, CPU, cfg.text), cfg, CPU)
    np.testing.assert_array_equal(nsh[fast], np.diff(off))
    np.testing.assert_array_equal(sig[fast], signatures_from_hashes(h, off, cfg, CPU))
    # the engine's entry point, on what it can take
    keep = tokenizable(docs)
    s2, n2 = batch_signatures(make_batch([docs[d] for d in keep]), CPU, cfg)
    kf = [i for i, d in enumerate(keep) if fast[d]]
    np.testing.assert_array_equal(s2[kf], sig[[d for d in keep if fast[d]]])
    assert (n2 >= 0).all()
