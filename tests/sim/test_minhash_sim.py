"""Every CUDA MinHash kernel (in the simulator) equals its CPU twin exactly."""
import numpy as np
import pytest

from engine.backend import get_backend
from engine.corpus import batch_from_texts
from engine.minhash import (
    MinHashConfig,
    candidate_pairs,
    compute_signatures,
    exact_jaccard,
    pair_estimates,
    run,
    similarity_matrix,
)

BASE = ("le conseil municipal a vote hier soir le budget de la ville pour l annee prochaine "
        "avec une hausse des depenses d investissement dans les ecoles et les transports")
TEXTS = [
    BASE,
    BASE.replace("hier soir", "mardi soir"),
    BASE + " selon le maire",
    "Straße ﬁn déjà vu « citation » 😀 日本語 Ｎｖｉｄｉａ",
    "",
    "!!! ???",
    "court",
    "deux mots",
    BASE.replace("ecoles", "colleges").replace("budget", "plan"),
    "une autre phrase sans rapport avec le reste du corpus de test ici",
    BASE,
    "e\u0301te\u0301 à la plage",
]


@pytest.fixture(scope="module")
def backends():
    g = get_backend("gpu")
    assert g.name == "gpu" and g.simulated
    return get_backend("cpu"), g


@pytest.mark.parametrize("shingle", ["word:3", "char:4"])
def test_shingles_unique_and_signatures_equal(backends, shingle):
    cfg = MinHashConfig(shingle=shingle, perms=16, seed=7)
    c, g = (compute_signatures(batch_from_texts(TEXTS), b, cfg) for b in backends)
    np.testing.assert_array_equal(c.n_shingles, g.n_shingles)
    np.testing.assert_array_equal(c.sh_offsets, g.sh_offsets)
    np.testing.assert_array_equal(c.sh_hash, g.sh_hash)
    np.testing.assert_array_equal(c.sig, g.sig)
    assert c.sig.dtype == np.uint32 and (c.n_shingles > 0).sum() >= 9


def test_lsh_verification_and_matrix_equal(backends):
    cpu, gpu = backends
    cfg = MinHashConfig(shingle="word:3", perms=16, bands=8, rows=2, max_bucket=2)
    s = compute_signatures(batch_from_texts(TEXTS), cpu, cfg)
    live = np.flatnonzero(~s.empty)
    ca, cb = candidate_pairs(s.sig, live, 8, 2, 2, cpu)
    ga, gb = candidate_pairs(s.sig, live, 8, 2, 2, gpu)
    np.testing.assert_array_equal(ca, ga)
    np.testing.assert_array_equal(cb, gb)
    assert ca.size >= 3
    np.testing.assert_array_equal(pair_estimates(s.sig, ca, cb, cpu), pair_estimates(s.sig, ca, cb, gpu))
    jc = exact_jaccard(s, ca, cb, cpu)
    np.testing.assert_array_equal(jc, exact_jaccard(s, ca, cb, gpu))  # unique + intersection kernels
    assert (jc > 0.3).sum() >= 2
    ids_c, mc = similarity_matrix(batch_from_texts(TEXTS), cpu, cfg)
    ids_g, mg = similarity_matrix(batch_from_texts(TEXTS), gpu, cfg)
    np.testing.assert_array_equal(mc, mg)


def test_whole_run_equal(backends):
    cfg = MinHashConfig(shingle="word:3", perms=16, threshold=0.5)
    rc, rg = (run([batch_from_texts(TEXTS)], b, cfg) for b in backends)
    for name in ("pair_a", "pair_b", "estimate", "rep", "size"):
        np.testing.assert_array_equal(getattr(rc, name), getattr(rg, name), err_msg=name)
    np.testing.assert_array_equal(rc.jaccard, rg.jaccard)
    assert rc.summary() == rg.summary()
    assert rc.removed[10]  # the exact copy of document 0
    for kind in ("pairs", "clusters"):
        assert rc.table(kind).equals(rg.table(kind))


def test_job_steps_on_the_gpu_equal_the_cpu(backends):
    """map_partition on the (simulated) GPU, two partitions combined, finish there = one CPU run."""
    from engine.minhash import combine, finish, map_partition
    cfg = MinHashConfig(shingle="word:3", perms=16, threshold=0.5)
    cpu, gpu = backends
    one = run(batch_from_texts(TEXTS), cpu, cfg)
    ids = [str(i) for i in range(len(TEXTS))]
    parts = [map_partition([batch_from_texts(TEXTS[:5], ids[:5])], gpu, cfg),
             map_partition([batch_from_texts(TEXTS[5:], ids[5:], base=5)], gpu, cfg)]
    assert parts[0].backend == "gpu"
    res = finish(combine(parts), cfg)
    for kind in ("pairs", "clusters"):
        assert res.table(kind).equals(one.table(kind)), kind
    assert res.stats.counters["verified_pairs"] == one.stats.counters["verified_pairs"]


def test_device_resident_signatures(backends):
    """run() keeps the GPU's signatures on the device from map_partition to finish: only the
    counts come back per batch; the host copy is made when asked for, and equals the CPU's."""
    from engine.gpu.strict_xp import StrictArray
    from engine.minhash import combine, finish, map_partition
    cpu, gpu = backends
    cfg = MinHashConfig(shingle="word:3", perms=16, threshold=0.5)
    b = batch_from_texts(TEXTS)
    plain = map_partition([b], gpu, cfg)
    dev = map_partition([b], gpu, cfg, device_resident=True)
    assert isinstance(dev.sig, StrictArray) and dev.holder is gpu and isinstance(plain.sig, np.ndarray)
    assert dev.stats.device_to_host_bytes < plain.stats.device_to_host_bytes - 4 * 16 * len(TEXTS) + 1
    res = finish(combine([dev]), cfg, backend=gpu)
    one = run(b, cpu, cfg)
    for kind in ("pairs", "clusters"):
        assert res.table(kind).equals(one.table(kind)), kind
    np.testing.assert_array_equal(res.sigs.sig, one.sigs.sig)      # copied to the host on demand
    # two device-resident partials combine on the host, in order
    parts = [map_partition([batch_from_texts(TEXTS[:5])], gpu, cfg, device_resident=True),
             map_partition([batch_from_texts(TEXTS[5:], base=5)], gpu, cfg, device_resident=True)]
    both = combine(parts)
    assert both.holder is None and isinstance(both.sig, np.ndarray)
    np.testing.assert_array_equal(both.sig, plain.sig)
