"""On a real GPU: every job and every kernel family equals the CPU backend exactly, and the
copies between host and device are counted (the parity tests of tests/sim, no simulator)."""
import numpy as np
import pytest

from engine import cooc, minhash, ngrams
from engine.backend import GPUBackend, get_backend
from engine.corpus import batch_from_texts
from engine.resources import seeds_dir
from engine.text import TextOptions, tokenize
from tests.sim.test_cooc_sim import TEXTS as COOC_TEXTS
from tests.sim.test_minhash_sim import TEXTS as MINHASH_TEXTS
from tests.sim.test_ngrams_sim import TEXTS as NGRAM_TEXTS
from tests.sim.test_text_sim import TEXTS as TEXT_TEXTS

CPU = get_backend("cpu")
GPU = get_backend("gpu")


def test_backend_is_a_real_gpu():
    assert isinstance(GPU, GPUBackend) and not GPU.simulated
    assert type(GPU.xp).__name__ == "module" and GPU.xp.__name__ == "cupy"


@pytest.mark.parametrize("opts", [TextOptions(), TextOptions(strip_accents=True, min_token_len=2),
                                  TextOptions(stopwords=("fr", "en"))])
def test_tokenize_equals_cpu(opts):
    b = batch_from_texts(TEXT_TEXTS)
    c, g = tokenize(b, CPU, opts), tokenize(b, GPU, opts)
    for name in ("norm", "norm_offsets", "tok_start", "tok_len", "tok_nch", "tok_hash", "doc_tok_offsets"):
        np.testing.assert_array_equal(c.host(name), g.host(name), err_msg=name)


@pytest.mark.parametrize("kw", [dict(n="1-3"), dict(n="2-4", char=True), dict(n="1-2", top=3)])
def test_ngrams_equal_cpu(kw):
    cfg = ngrams.NgramConfig(**kw)
    b = batch_from_texts(NGRAM_TEXTS)
    assert ngrams.run(b, GPU, cfg).table().equals(ngrams.run(b, CPU, cfg).table())


@pytest.mark.parametrize("shingle", ["word:3", "char:4"])
def test_minhash_equals_cpu(shingle):
    cfg = minhash.MinHashConfig(shingle=shingle, perms=16, threshold=0.5)
    c, g = (minhash.run(batch_from_texts(MINHASH_TEXTS), be, cfg) for be in (CPU, GPU))
    for kind in ("pairs", "clusters"):
        assert c.table(kind).equals(g.table(kind)), kind
    np.testing.assert_array_equal(c.sigs.sig, g.sigs.sig)


def test_similarity_matrix_equals_cpu():
    cfg = minhash.MinHashConfig(shingle="word:3", perms=16)
    _, mc = minhash.similarity_matrix(batch_from_texts(MINHASH_TEXTS), CPU, cfg)
    _, mg = minhash.similarity_matrix(batch_from_texts(MINHASH_TEXTS), GPU, cfg)
    np.testing.assert_array_equal(mc, mg)


@pytest.mark.parametrize("cfg", [cooc.CoocConfig(window=2, min_count=1),
                                 cooc.CoocConfig(window=3, weighting="harmonic", min_count=2),
                                 cooc.CoocConfig(window="doc", min_count=1)], ids=["w2", "w3-harmonic", "doc"])
def test_cooc_equals_cpu(cfg):
    b = batch_from_texts(COOC_TEXTS)
    c, g = cooc.run(b, CPU, cfg), cooc.run(b, GPU, cfg)
    assert c.vocab == g.vocab and c.table().equals(g.table())


@pytest.mark.parametrize("job", ["ngrams", "cooc", "minhash"])
def test_seeds_equal_cpu_and_copies_counted(job):
    mod, cfg = {"ngrams": (ngrams, ngrams.NgramConfig(n="1-3", top=100)), "cooc": (cooc, cooc.CoocConfig()),
                "minhash": (minhash, minhash.MinHashConfig())}[job]
    src = [str(seeds_dir())]
    c, g = mod.run(src, CPU, cfg), mod.run(src, GPU, cfg)
    tables = {"ngrams": lambda r: [r.table()], "cooc": lambda r: [r.table(None, 1000)],
              "minhash": lambda r: [r.table("pairs"), r.table("clusters")]}[job]
    for tc, tg in zip(tables(c), tables(g)):
        assert tg.equals(tc)
    assert g.stats.host_to_device_bytes >= g.stats.bytes and g.stats.device_to_host_bytes > 0


def test_ngrams_device_tables_past_the_budget():
    g = GPUBackend()
    g.memory = 2000     # bytes: the first batch's tables already pass it
    b = [batch_from_texts(NGRAM_TEXTS[:2]), batch_from_texts(NGRAM_TEXTS[2:], base=2)]
    for kw in (dict(n="1-3"), dict(n="1-2", top=3)):
        cfg = ngrams.NgramConfig(**kw)
        res = ngrams.run(b, g, cfg)
        assert res.stats.counters["device_rows_moved_to_host"] > 0
        assert res.table().equals(ngrams.run(b, CPU, cfg).table())


def test_device_string_order_is_byte_order():
    from engine.gpu.ngrams import string_order
    rng = np.random.default_rng(5)
    words = [bytes(rng.integers(97, 101, size=rng.integers(0, 20)).astype(np.uint8)) for _ in range(200)]
    data = np.frombuffer(b"".join(words), np.uint8)
    starts = np.cumsum([0] + [len(w) for w in words[:-1]]).astype(np.int64)
    lens = np.array([len(w) for w in words], np.int64)
    o = GPU.to_host(string_order(GPU, GPU.to_device(data), GPU.to_device(starts), GPU.to_device(lens)))
    assert [words[i] for i in o] == sorted(words)


def test_minhash_signatures_stay_on_the_device():
    cfg = minhash.MinHashConfig(shingle="word:3", perms=16, threshold=0.5)
    dev = minhash.map_partition([batch_from_texts(MINHASH_TEXTS)], GPU, cfg, device_resident=True)
    assert dev.holder is GPU and not isinstance(dev.sig, np.ndarray)
    res = minhash.finish(minhash.combine([dev]), cfg, backend=GPU)
    one = minhash.run(batch_from_texts(MINHASH_TEXTS), CPU, cfg)
    assert res.table("pairs").equals(one.table("pairs"))
    np.testing.assert_array_equal(res.sigs.sig, one.sigs.sig)


@pytest.mark.parametrize("cfg", [cooc.CoocConfig(window=2, min_count=1), cooc.CoocConfig(window="doc", min_count=1)],
                         ids=["w2", "doc"])
@pytest.mark.parametrize("measure", ["count", "pmi", "npmi", "llr"])
def test_cooc_top_chosen_on_the_device_equals_cpu(cfg, measure):
    """The top's rows chosen with CUDA's log (a margin for its ulps), their measures the CPU's."""
    src = [str(seeds_dir())]
    c, g = cooc.run(src, CPU, cfg), cooc.run(src, GPU, cfg)
    for top in (1, 50, c.nnz // 3):
        assert g.table(measure, top).equals(c.table(measure, top)), top
    assert "raw" not in vars(g)


def test_cooc_measure_kernel_close_to_the_cpu():
    from kernels.cuda import cooc_measures as km
    res = cooc.run([str(seeds_dir())], CPU, cooc.CoocConfig(window=3, weighting="harmonic"))
    m, t = res._margins()
    for name, code in (("pmi", 1), ("npmi", 3), ("llr", 4)):
        out = GPU.xp.empty(res.nnz, np.float64)
        dev = [GPU.to_device(x) for x in (res.a, res.b, res.raw, np.ascontiguousarray(m, np.int64))]
        GPU.launch(km.measure_rows, 4096, np.int64(code), *dev, np.int64(t), np.int64(res.divisor), True, out)
        # within the margin engine.gpu.cooc_result allows the top's candidates
        np.testing.assert_allclose(GPU.to_host(out), res.measure(name), rtol=1e-12, atol=1e-9)
