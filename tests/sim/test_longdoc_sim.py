"""Long documents split into GPU work units (engine.gpu.split) give exactly the CPU's results.

The GPU backend here has every bound of :class:`SplitParams` tiny, so that every document
of a few dozen bytes is cut into segments, its n-grams into ranges of start positions, its
normalised text into chunks and its shingles into parts; the CPU backend (one core call per
whole document) is the oracle, and the cut rule itself is checked against the core on both
halves of every cut it finds.  Inputs stay tiny: the simulator runs each thread in Python.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.backend import GPUBackend, get_backend
from engine.corpus import Batch
from engine.errors import ParameterError
from engine.gpu.split import SplitParams
from engine.normalize import get_tables, reference_tokens
from engine.text import TextOptions, tokenize
from kernels.split_core import quiet_cut
from kernels.text_core import normalize_tokenize_doc

SEG = 24
TINY = SplitParams(segment_bytes=SEG, ngram_starts=3, char_chunk_bytes=7, signature_shingles=3)

# Adversarial documents: what a cut could get wrong if the rule were not exact.
DOCS = [
    "le conseil municipal a voté hier soir le budget de la ville, pour l'année prochaine.",
    "x" * 90,                                                    # one token, no cut anywhere
    "aujourd'hui l'homme c'est-à-dire — « l’été » qu’il dit, rock'n'roll " * 2,  # apostrophes, hyphens
    "a \u0301b " * 6 + "et la suite du texte sans accent combinant",  # combining mark after a space: slow path
    "deux  \t\n  espaces \u00a0 insécables\u3000et  \u2003 autres   blancs    " * 2,  # runs, NBSP after space
    "é" * 20 + " " + "日本語のテキスト。句読点、そして😀😀😀 " * 3,  # 2-, 3-, 4-byte UTF-8 at the cuts
    "ﬁn ﬂux Straße ½ ㈱ İstanbul Ⅻ x² ǰ ﷺ ﬁﬁﬁﬁ " * 2,               # multi-code-point mappings
    "",                                                          # an empty document among long ones
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!! ?????????????????? ...........",  # tokenless parts
    "court",
    "   " + "mot " * 20 + "   ",
    "क \u0903x नमस्ते दुनिया क्षत्रिय " * 2,                         # marks that are safe, after a space
    "Nvidia et OpenAI ont conclu un partenariat : 10 gigawatts, 100 milliards de dollars. " * 2,
]
RAW = [   # invalid UTF-8 at and around the window starts (a reader may let it through)
    b"ab \x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80 cd "
    b"\xe2\x82 ef \xf0\x9f\x98 gh \xc3 ij \xed\xa0\x80 kl \xff\xfe mn " * 2,
    b"mot " * 5 + b"\xe6\x97\xa5\xe6\x97" + b" fin " + b"\xe6" * 30 + b" la fin.",
]


def raw_batch(docs):
    offsets = np.zeros(len(docs) + 1, np.int64)
    np.cumsum([len(d) for d in docs], out=offsets[1:])
    return Batch([str(i) for i in range(len(docs))], np.frombuffer(b"".join(docs), np.uint8).copy(), offsets)


def batch(base=0):
    b = raw_batch([d.encode("utf-8") for d in DOCS] + RAW)
    b.doc_base = base
    return b


@pytest.fixture(scope="module")
def backends():
    g = GPUBackend(simulated=True)
    g.splitter.params = TINY
    return get_backend("cpu"), g


def test_params_are_checked():
    with pytest.raises(ParameterError, match="segment_bytes"):
        SplitParams(segment_bytes=0)
    with pytest.raises(ParameterError, match="ngram_starts"):
        SplitParams(ngram_starts=1.5)
    with pytest.raises(ParameterError, match="doc_pair_pieces"):
        SplitParams(doc_pair_pieces=1 << 40)


def test_params_from_the_environment(monkeypatch):
    """``CORPUS_GPU_SPLIT`` sets any of the bounds for every GPU backend made after; a bad
    value is one ParameterError line naming the variable and the field, raised when the
    backend is made."""
    from engine.backend import GPUBackend
    from engine.gpu.split import SPLIT_ENV
    assert SplitParams.parse(None) == SplitParams.parse(" ") == SplitParams()
    assert SplitParams.parse("segment_bytes=100, doc_pair_pieces=3") == SplitParams(segment_bytes=100,
                                                                                    doc_pair_pieces=3)
    monkeypatch.setenv(SPLIT_ENV, "ngram_starts=7,char_chunk_bytes=9,signature_shingles=5")
    g = GPUBackend(simulated=True)
    assert g.splitter.params == SplitParams(ngram_starts=7, char_chunk_bytes=9, signature_shingles=5)
    for bad, says in (("segment_bytes=0", "segment_bytes must be an integer >= 1"), ("ngram_starts=1.5", "integer"),
                      ("segments=4", "is not name=value"), ("segment_bytes", "is not name=value"),
                      ("char_chunk_bytes=99999999999", "<= 2147483647")):
        monkeypatch.setenv(SPLIT_ENV, bad)
        with pytest.raises(ParameterError) as e:
            GPUBackend(simulated=True)
        assert str(e.value).startswith(f"{SPLIT_ENV}: ") and says in str(e.value) and "\n" not in str(e.value)


def test_bad_split_environment_is_exit_2_one_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from engine.cli import app
    from engine.resources import seeds_dir
    monkeypatch.setenv("CORPUS_GPU_SPLIT", "segment_bytes=-1")
    r = CliRunner().invoke(app, ["ngrams", str(seeds_dir()), "--device", "gpu", "--top", "3"])
    assert r.exit_code == 2 and r.output.strip().count("\n") == 0, r.output
    assert "CORPUS_GPU_SPLIT: segment_bytes must be" in r.output


# --------------------------------------------------------------------------- the cut rule
def _norm_tok(data, s, e, t):
    """(normalised bytes, token (start, length, code points, hash) rows) of data[s:e] by the core."""
    d8, d64, d32, dh = np.empty(1, np.uint8), np.empty(1, np.int64), np.empty(1, np.int32), np.empty(1, np.uint64)
    ln, nt = normalize_tokenize_doc(data, s, e, t.flags, t.map_off, t.map_len, t.map_cps, d8, 0, d64, d32, d32,
                                    dh, 0, False)
    if ln < 0:
        return None
    out = np.zeros(ln, np.uint8)
    ts, tl, tn, th = np.zeros(nt, np.int64), np.zeros(nt, np.int32), np.zeros(nt, np.int32), np.zeros(nt, np.uint64)
    normalize_tokenize_doc(data, s, e, t.flags, t.map_off, t.map_len, t.map_cps, out, 0, ts, tl, tn, th, 0, True)
    return bytes(out), list(zip(ts.tolist(), tl.tolist(), tn.tolist(), th.tolist()))


def _check_every_cut(raw: bytes, t):
    """Every position quiet_cut may return for ``raw`` splits it exactly: the core on the two
    halves, concatenated (the second shifted), is the core on the whole.  Returns the cuts."""
    data = np.frombuffer(raw, np.uint8).copy()
    e = data.size
    whole = _norm_tok(data, 0, e, t)
    cuts = []
    for lo in range(1, e):
        c = quiet_cut(data, lo, lo + 1, e, t.flags, t.map_off, t.map_len, t.map_cps)
        if c < 0:
            continue
        assert lo < c < e
        cuts.append(c)
        left, right = _norm_tok(data, 0, c, t), _norm_tok(data, c, e, t)
        if whole is None:   # the slow path: some part must say so too
            assert left is None or right is None
            continue
        shift = len(left[0])
        assert left[0] + right[0] == whole[0]
        assert left[1] + [(s + shift, n, k, h) for s, n, k, h in right[1]] == whole[1]
    return sorted(set(cuts))


@pytest.mark.parametrize("strip", [False, True])
def test_every_cut_of_the_adversarial_documents_is_exact(strip):
    t = get_tables(strip)
    n_cuts = [len(_check_every_cut(d, t)) for d in [d.encode("utf-8") for d in DOCS] + RAW]
    assert n_cuts[1] == 0 and n_cuts[7] == 0          # one token; empty
    assert sum(c > 0 for c in n_cuts) >= len(DOCS) - 2  # every other document has cuts


PIECES = ["a", "Z", "é", " ", "  ", "\t", "\n", "\u00a0", "\u3000", "'", "’", "-", ".", "日", "。", "😀", "ﬁ",
          "½", "㈱", "İ", "\u0301", "\u0903", "ß", "_", "1", "x²"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=14), st.booleans())
def test_random_cuts_are_exact(pieces, strip):
    _check_every_cut("".join(pieces).encode("utf-8"), get_tables(strip))


# --------------------------------------------------------------------------- tokens
def _segments(g, b):
    t = g.tables(get_tables(False))
    plan = g.splitter.segments(g.to_device(b.data), g.to_device(b.offsets), t)
    bounds, doc_seg = (g.to_host(a) for a in plan)
    return bounds, np.diff(doc_seg)


def test_every_long_document_is_split(backends):
    _, g = backends
    b = batch()
    lengths = np.diff(b.offsets)
    bounds, per_doc = _segments(g, b)
    assert bounds[0] == b.offsets[0] and bounds[-1] == b.offsets[-1] and np.all(np.diff(bounds) >= 0)
    assert np.isin(b.offsets, bounds).all()                     # documents start segments
    assert (np.diff(bounds) == 0).sum() == (lengths == 0).sum()  # only empty documents are empty
    uncuttable = {1}   # one token
    for d in range(b.n_docs):
        if lengths[d] > 2 * SEG and d not in uncuttable:
            assert per_doc[d] >= 2, (d, DOCS[d] if d < len(DOCS) else RAW[d - len(DOCS)])
    assert per_doc[1] == 1 and per_doc.sum() >= 3 * b.n_docs


@pytest.mark.parametrize("opts", [TextOptions(), TextOptions(strip_accents=True, min_token_len=2),
                                  TextOptions(stopwords=("fr", "en"))])
def test_tokens_equal_cpu(backends, opts):
    cpu, g = backends
    b = batch()
    c, t = tokenize(b, cpu, opts), tokenize(b, g, opts)
    for name in ("norm", "norm_offsets", "tok_start", "tok_len", "tok_nch", "tok_hash", "doc_tok_offsets"):
        np.testing.assert_array_equal(c.host(name), t.host(name), err_msg=name)
    assert t.slow_docs == c.slow_docs >= 1
    if not opts.stopwords:   # and the definition (plain Python), for the documents that are text
        for d in range(len(DOCS)):
            want = [w for w in reference_tokens(DOCS[d], opts.strip_accents) if len(w) >= opts.min_token_len]
            assert t.doc_tokens(d) == want, d


def test_kernel_passes_equal_cpu_without_the_memo(backends):
    """Both tokenizer passes as in the fuzz tests: the write pass gets fresh copies, so the split
    plan is found and counted again; lens (-1 for the slow path) and token counts equal too."""
    cpu, g = backends
    b, t = batch(), get_tables(False)
    res = []
    for be in (cpu, g):
        lens, ntok = (be.to_host(a).copy() for a in be.norm_tok_counts(be.asarray(b.data), be.asarray(b.offsets), t))
        n_off = np.concatenate([[0], np.cumsum(np.maximum(lens, 0))]).astype(np.int64)
        t_off = np.concatenate([[0], np.cumsum(np.where(lens >= 0, ntok, 0))]).astype(np.int64)
        nt = int(t_off[-1])
        dev = [be.asarray(a) for a in (np.zeros(int(n_off[-1]), np.uint8), np.zeros(nt, np.int64),
                                       np.zeros(nt, np.int32), np.zeros(nt, np.int32), np.zeros(nt, np.uint64))]
        be.norm_tok_write(be.asarray(b.data), be.asarray(b.offsets), t, be.asarray(lens), be.asarray(n_off), dev[0],
                          be.asarray(t_off), *dev[1:])
        res.append([lens, ntok] + [be.to_host(a) for a in dev])
    assert (res[0][0] < 0).sum() >= 1
    for x, y in zip(*res):
        np.testing.assert_array_equal(x, y)


# --------------------------------------------------------------------------- n-grams
@pytest.mark.parametrize("n", [1, 2, 5])
def test_word_and_char_ngrams_equal_cpu(backends, n):
    cpu, g = backends
    out = []
    for be in (cpu, g):
        xp, toks = be.xp, tokenize(batch(), be)
        cnt = xp.maximum(xp.diff(toks.doc_tok_offsets) - n + 1, 0)
        off = be.to_device(np.concatenate([[0], np.cumsum(be.to_host(cnt))]).astype(np.int64))
        m = int(be.to_host(off)[-1])
        keys, first = xp.empty(m, np.uint64), xp.empty(m, np.int64)
        be.word_ngrams(toks.tok_hash, toks.doc_tok_offsets, n, off, keys, first)
        nch = be.codepoint_counts(toks.norm, toks.norm_offsets)
        cc = np.maximum(be.to_host(nch) - n + 1, 0)
        coff = be.to_device(np.concatenate([[0], np.cumsum(cc)]).astype(np.int64))
        mc = int(cc.sum())
        ck, cs, cl = xp.empty(mc, np.uint64), xp.empty(mc, np.int64), xp.empty(mc, np.int32)
        be.char_ngrams(toks.norm, toks.norm_offsets, n, coff, ck, cs, cl)
        out.append([be.to_host(a) for a in (keys, first, nch, ck, cs, cl)])
    for x, y in zip(*out):
        np.testing.assert_array_equal(x, y)
    assert out[0][0].size > 100 and out[0][3].size > 300


@pytest.mark.parametrize("kw", [dict(n="1-3"), dict(n="2-4", char=True), dict(n="1-2", top=5)])
def test_ngrams_job_equals_cpu(backends, kw):
    from engine import ngrams
    cpu, g = backends
    cfg = ngrams.NgramConfig(**kw)
    parts = [batch(), raw_batch([DOCS[0].encode(), DOCS[2].encode()])]
    parts[1].doc_base = parts[0].n_docs
    want = ngrams.run(parts, cpu, cfg).table()
    assert want.num_rows >= 5
    assert ngrams.run(parts, g, cfg).table().equals(want)


# --------------------------------------------------------------------------- MinHash
@pytest.mark.parametrize("shingle", ["word:3", "char:4", "word:30"])
def test_shingles_and_signatures_equal_cpu(backends, shingle):
    from engine.minhash import MinHashConfig, compute_signatures
    cfg = MinHashConfig(shingle=shingle, perms=8, seed=3)
    c, g = (compute_signatures(batch(), be, cfg) for be in backends)
    np.testing.assert_array_equal(c.n_shingles, g.n_shingles)
    np.testing.assert_array_equal(c.sh_offsets, g.sh_offsets)
    np.testing.assert_array_equal(c.sh_hash, g.sh_hash)
    np.testing.assert_array_equal(c.sig, g.sig)
    assert (c.n_shingles == 0).sum() >= 1
    if shingle == "word:30":   # most documents are shorter: one shingle of all their tokens
        assert (c.n_shingles == 1).sum() >= 8 and (c.n_shingles > 1).sum() >= 2
    else:
        assert (c.n_shingles > 3).sum() >= 8


def test_minhash_job_equals_cpu(backends):
    from engine.minhash import MinHashConfig, run
    docs = [DOCS[0], DOCS[0].replace("hier soir", "mardi"), DOCS[12], DOCS[12][:100], "", DOCS[2]]
    b = raw_batch([d.encode() for d in docs])
    cfg = MinHashConfig(shingle="word:2", perms=8, threshold=0.4)
    rc, rg = (run([b], be, cfg) for be in backends)
    for kind in ("pairs", "clusters"):
        assert rg.table(kind).equals(rc.table(kind)), kind
    assert rc.table("pairs").num_rows >= 1
