r"""The tokenizer kernel against the definition: re.findall(r"\w+", NFKC(s).casefold())."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.backend import get_backend
from engine.corpus import batch_from_texts
from engine.normalize import get_tables
from engine.text import TextOptions, hash_token, tokenize
from tests import reference

CPU = get_backend("cpu")

# Arbitrary Unicode with the interesting parts over-represented: combining marks,
# emoji (with ZWJ and skin tones), CJK, RTL, typographic quotes, compatibility forms.
SPECIAL = ("\u0301\u0308\u0327\u20dd\u200d\U0001F600\U0001F44D\U0001F3FD日本語中文한국어"
           "각\u05d0\u05d1\u0627\u0644\u2019\u00ab\u00bb\u201c\u201d'ﬁﬀ½²Ⅻ①ｱＡß\u0130ǰ\u00a0\u2003\t\n"
           "\u0345\u1e9e\u03a3\u03c2_-.,;:0123456789éèàçÉÀ")
text_st = st.lists(st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(SPECIAL),
                             st.characters(max_codepoint=0x7F)),   # the kernels' ASCII fast path
                   max_size=60).map("".join)


def _tokens_of(texts, opts=TextOptions()):
    toks = tokenize(batch_from_texts(texts), CPU, opts)
    return [toks.doc_tokens(d) for d in range(len(texts))], toks


@given(st.lists(text_st, min_size=1, max_size=5))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_tokens_equal_definition(texts):
    got, toks = _tokens_of(texts)
    assert got == [reference.tokens(t) for t in texts]
    # hashes are xxHash64 of each token's normalised UTF-8
    h = toks.host("tok_hash")
    flat = [t for d in got for t in d]
    assert [int(x) for x in h] == [hash_token(t) for t in flat]


@given(st.lists(text_st, min_size=1, max_size=4))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_normalised_text_equals_definition(texts):
    for strip in (False, True):
        toks = tokenize(batch_from_texts(texts), CPU, TextOptions(strip_accents=strip))
        norm, off = toks.host("norm"), toks.host("norm_offsets")
        for d, t in enumerate(texts):
            assert bytes(norm[off[d]:off[d + 1]]).decode("utf-8") == reference.normalize(t, strip)


def test_examples_from_the_issue():
    got, _ = _tokens_of(["l'IA aujourd'hui", "Ｎｖｉｄｉａ ﬁne Straße"])
    assert got == [["l", "ia", "aujourd", "hui"], ["nvidia", "fine", "strasse"]]


def test_every_ascii_code_point_in_context():
    # each ASCII code point between words, next to non-ASCII and at the ends of a document
    texts = ["".join(f"Ab{chr(c)}é{chr(c)}Z" for c in range(128)),
             "".join(chr(c) for c in range(128)) + "Ça va? OK_1\x1c\x1fX",
             "".join(chr(c) for c in range(127, -1, -1))]
    got, _ = _tokens_of(texts)
    assert got == [reference.tokens(t) for t in texts]
    toks = tokenize(batch_from_texts(texts), CPU)
    norm, off = toks.host("norm"), toks.host("norm_offsets")
    for d, t in enumerate(texts):
        assert bytes(norm[off[d]:off[d + 1]]).decode("utf-8") == reference.normalize(t, False)


def test_decomposed_accents_take_the_exact_slow_path():
    got, toks = _tokens_of(["cafe\u0301 de\u0301ja\u0300", "café"])
    assert got == [["café", "déjà"], ["café"]]
    assert toks.slow_docs == 1


def test_strip_accents_and_min_len():
    got, _ = _tokens_of(["Été à Paris, où l'on a vu ça"], TextOptions(strip_accents=True, min_token_len=2))
    assert got == [["ete", "paris", "ou", "on", "vu", "ca"]]


def test_stopwords_fr_en_and_file(tmp_path):
    got, _ = _tokens_of(["Le partenariat de Nvidia and the OpenAI"], TextOptions(stopwords=("fr", "en")))
    assert got == [["partenariat", "nvidia", "openai"]]
    f = tmp_path / "stop.txt"
    f.write_text("# mine\nNvidia\n", encoding="utf-8")
    got, _ = _tokens_of(["Le partenariat de Nvidia"], TextOptions(stopwords=(str(f),)))
    assert got == [["le", "partenariat", "de"]]


def test_unknown_stopword_list_is_a_clear_error():
    from engine.text import ParameterError
    with pytest.raises(ParameterError, match="neither a file nor a language code"):
        _tokens_of(["x"], TextOptions(stopwords=("klingon",)))


def test_tables_flag_only_context_sensitive_code_points():
    t = get_tables()
    unsafe = lambda c: bool(t.flags[ord(c)] & 4)
    assert not any(unsafe(c) for c in "aéàçÉÀßﬁ½日한")
    assert unsafe("\u0301") and unsafe("\u1161")  # combining acute, Hangul vowel jamo


def test_empty_and_whitespace_documents():
    got, toks = _tokens_of(["", "   ", "\n\t"])
    assert got == [[], [], []]
    assert toks.n_tokens == 0


def test_invalid_utf8_reads_as_replacement_characters():
    # a reader may let invalid bytes through: each maximal invalid subpart reads as U+FFFD
    # (not a word character), exactly as bytes.decode("utf-8", "replace") reads it, and a
    # sequence cut short at the end of a document never takes bytes of the next one
    import numpy as np

    from engine.corpus import Batch
    docs = [b"caf\xc3", b"\xa9 ok", b"abc\xffdef \xed\xa0\x80x \xe2\x82", b"na\xc3\xafve\xf0\x9f\x98"]
    off = np.zeros(len(docs) + 1, np.int64)
    np.cumsum([len(d) for d in docs], out=off[1:])
    toks = tokenize(Batch([str(i) for i in range(len(docs))], np.frombuffer(b"".join(docs), np.uint8), off), CPU)
    assert [toks.doc_tokens(d) for d in range(len(docs))] == [["caf"], ["ok"], ["abc", "def", "x"], ["naïve"]]
    norm, noff = toks.host("norm"), toks.host("norm_offsets")
    for d, raw in enumerate(docs):
        assert bytes(norm[noff[d]:noff[d + 1]]).decode("utf-8") == reference.normalize(raw.decode("utf-8", "replace"))
