"""The CUDA co-occurrence kernels (in the simulator) equal the CPU twins exactly; so does the whole job."""
import numpy as np
import pytest

from engine.backend import get_backend
from engine.cooc import CoocConfig, run
from engine.corpus import batch_from_texts
from kernels.cpu import cooc as kc
from kernels.cuda import cooc as kg

TEXTS = [
    "Nvidia et OpenAI : 10 gigawatts, 100 milliards de dollars pour OpenAI.",
    "OpenAI et Nvidia ; Nvidia Nvidia investit.",
    "",
    "les centres de données de Nvidia",
    "a",
    "Sam Altman (OpenAI) et Jensen Huang (Nvidia) : 10 gigawatts.",
]

GPU = get_backend("gpu")
RNG = np.random.default_rng(3)
IDS = RNG.integers(-1, 6, size=40).astype(np.int32)
DOC_OFF = np.array([0, 7, 7, 19, 20, 40], np.int64)
TOK_END = DOC_OFF[np.searchsorted(DOC_OFF, np.arange(IDS.size), side="right")]


def test_backend_is_simulated():
    assert GPU.name == "gpu" and GPU.simulated


def test_lookup_ids():
    hashes = RNG.integers(0, 2**63, size=30, dtype=np.int64).astype(np.uint64)
    vocab = np.unique(hashes[::2])
    ids = RNG.permutation(vocab.size).astype(np.int32)
    out = np.empty(hashes.size, np.int32)
    GPU.launch(kg.lookup_ids, hashes.size, vocab, ids, hashes, out)
    assert np.array_equal(out, kc.lookup_ids(vocab, ids, hashes))
    assert (out[::2] >= 0).all()


@pytest.mark.parametrize("window,harmonic", [(1, False), (3, True)])
def test_window_pair_kernels(window, harmonic):
    wtab, _ = CoocConfig(window=window, weighting="harmonic" if harmonic else "none").weights()
    counts = np.empty(IDS.size, np.int64)
    GPU.launch(kg.window_pair_counts, IDS.size, IDS, TOK_END, np.int64(window), wtab,
               np.empty(1, np.uint64), np.empty(1, np.int64), counts)
    assert np.array_equal(counts, kc.window_pair_counts(IDS, TOK_END, window, wtab))
    off = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    total = int(counts.sum())
    kg_, wg = np.empty(total, np.uint64), np.empty(total, np.int64)
    kc_, wc = np.empty(total, np.uint64), np.empty(total, np.int64)
    GPU.launch(kg.window_pair_write, IDS.size, IDS, TOK_END, np.int64(window), wtab, off, kg_, wg)
    kc.window_pair_write(IDS, TOK_END, window, wtab, off, kc_, wc)
    assert total > 10 and np.array_equal(kg_, kc_) and np.array_equal(wg, wc)


def test_doc_pair_kernel():
    uids = np.array([0, 2, 5, 1, 3, 0, 1, 2, 3, 4], np.int32)
    row_end = np.array([3, 3, 3, 5, 5, 10, 10, 10, 10, 10], np.int64)
    counts = row_end - np.arange(uids.size)
    off = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    total = int(counts.sum())
    kg_, wg = np.empty(total, np.uint64), np.empty(total, np.int64)
    kc_, wc = np.empty(total, np.uint64), np.empty(total, np.int64)
    GPU.launch(kg.doc_pair_write, uids.size, uids, row_end, off, kg_, wg)
    kc.doc_pair_write(uids, row_end, off, kc_, wc)
    assert np.array_equal(kg_, kc_) and np.array_equal(wg, wc)


@pytest.mark.parametrize("cfg", [CoocConfig(window=2, min_count=1), CoocConfig(window=3, weighting="harmonic", min_count=2),
                                 CoocConfig(window="doc", min_count=1)], ids=["w2", "w3-harmonic", "doc"])
def test_job_gpu_equals_cpu(cfg):
    b = batch_from_texts(TEXTS)
    c = run(b, "cpu", cfg)
    g = run(b, GPU, cfg)
    assert "simulator" in g.backend
    assert c.vocab == g.vocab and c.nnz > 5
    for name in ("a", "b", "raw", "term_count"):
        assert np.array_equal(getattr(c, name), getattr(g, name)), name
    if cfg.doc_mode:
        assert np.array_equal(c.doc_freq, g.doc_freq)
    assert c.table().equals(g.table())
