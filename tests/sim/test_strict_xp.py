"""The strict array module refuses each thing CuPy does differently from numpy, and the GPU
glue's idioms built on it give numpy's answers."""
import numpy as np
import pytest

from engine.backend import CPUBackend, GPUBackend
from engine.gpu import arrays as A
from engine.gpu.strict_xp import StrictArray, StrictError, StrictXP

xp = StrictXP
RNG = np.random.default_rng(11)


def dev(a):
    return StrictArray(np.array(a))


# ---------------------------------------------------------------------------- refusals
def test_array_valued_repeats_refused():
    counts = dev([2, 0, 3])
    with pytest.raises(StrictError, match="repeats"):
        xp.repeat(xp.arange(3), counts)
    with pytest.raises(StrictError, match="repeats"):
        xp.repeat(xp.arange(3), np.array([2, 0, 3]))
    with pytest.raises(StrictError, match="repeats"):
        xp.arange(3).repeat(counts)
    assert np.array_equal(GPUBackend(simulated=True).to_host(xp.repeat(xp.arange(3), 2)), [0, 0, 1, 1, 2, 2])


def test_argsort_needs_stable_and_sort_kinds_cupy_takes():
    a = dev([3, 1, 3, 1, 2])
    with pytest.raises(StrictError, match="stable"):
        xp.argsort(a)
    with pytest.raises(StrictError, match="stable"):
        a.argsort()
    for bad in ("quicksort", "mergesort", "heapsort"):
        with pytest.raises(StrictError, match="CuPy accepts"):
            xp.argsort(a, kind=bad)
        with pytest.raises(StrictError, match="CuPy accepts"):
            a.copy().sort(kind=bad)
    o = xp.argsort(a, kind="stable")
    assert o._a.tolist() == [1, 3, 4, 0, 2]     # ties in input order
    b = a.copy()
    b.sort()
    assert b._a.tolist() == [1, 1, 2, 3, 3]


@pytest.mark.parametrize("convert", [np.asarray, np.array, lambda d: np.concatenate([d, d]),
                                     list, lambda d: [v for v in d], lambda d: d.tolist(),
                                     lambda d: d.get(), lambda d: d.tobytes()],
                         ids=["asarray", "array", "np-function", "list", "iterate", "tolist", "get", "tobytes"])
def test_implicit_host_conversion_refused(convert):
    with pytest.raises(StrictError, match="implicit device-to-host"):
        convert(dev([1, 2, 3]))


@pytest.mark.parametrize("conv", [int, float, bool, lambda d: d.item()], ids=["int", "float", "bool", "item"])
def test_scalar_conversion_refused_and_counted_through_the_backend(conv):
    """CuPy reads a 0-d array's value from the device when converted (a synchronisation and
    a copy): refused here, 0-d included, so that every such read goes through
    backend.scalar, which counts its bytes."""
    for shape in ((2,), (1,), (1, 1)):
        with pytest.raises(StrictError, match="0-d"):
            conv(StrictArray(np.ones(shape, np.int64)))
    for zero_d in (dev([5, 6])[1], dev([1, 2, 3]).sum(), dev(7.5)):
        with pytest.raises(StrictError, match="uncounted device-to-host read"):
            conv(zero_d)
    be = GPUBackend(simulated=True)
    before = be.copied()[1]
    assert be.scalar(dev([5, 6])[1]) == 6 and be.scalar(dev([1, 2, 3]).sum()) == 6
    assert be.scalar(dev([2.5])) == 2.5 and be.scalar(dev(True)) is True
    assert be.copied()[1] - before == 8 + 8 + 8 + 1       # each value's bytes, counted
    assert be.scalar(np.int64(4)) == 4 and be.scalar(3) == 3 and be.copied()[1] - before == 25
    assert CPUBackend().scalar(np.arange(3).sum()) == 3


def test_host_arrays_refused_in_device_expressions():
    d, h = dev([1, 2, 3]), np.array([1, 1, 1])
    for expr in (lambda: d + h, lambda: h + d, lambda: d < h, lambda: h << d, lambda: d[h],
                 lambda: d[[0, 1]], lambda: xp.concatenate([d, h]), lambda: xp.asarray(h),
                 lambda: xp.asarray([1, 2]), lambda: xp.searchsorted(d, h)):
        with pytest.raises(StrictError):
            expr()
    with pytest.raises(StrictError):
        d[:] = h
    with pytest.raises(StrictError):
        d[:2] = [7, 8]
    with pytest.raises(TypeError):
        np.add(d, 1)           # a numpy ufunc on a device array
    # scalars, numpy scalars and device arrays are fine, with numpy's results
    e = (d + 1) * np.int64(2) - d
    assert e._a.tolist() == [3, 4, 5]
    d[dev([True, False, True])] = np.int64(0)
    assert d._a.tolist() == [0, 2, 0]


def test_unknown_functions_are_not_there():
    for name in ("lexsort", "get_default_memory_pool", "cuda", "asnumpy", "frombuffer"):
        assert not hasattr(xp, name)


def test_kernels_refuse_host_arrays_and_transfers_are_counted():
    g = GPUBackend(simulated=True)
    h = np.arange(10, dtype=np.int64)
    d = g.to_device(h)
    assert isinstance(d, StrictArray) and g.copied() == (80, 0)
    assert g.to_device(d) is d and g.copied() == (80, 0)          # already there: no copy
    out = g.xp.empty(10, np.int64)
    with pytest.raises(StrictError, match="kernel"):
        g.kernels.text.codepoint_counts(1, np.zeros(4, np.uint8), d[:2], out)
    back = g.to_host(d[:4])
    assert back.tolist() == [0, 1, 2, 3] and g.copied() == (80, 32)
    assert g.to_host(h) is not None and g.copied() == (80, 32)    # a host array: nothing copied
    c = CPUBackend()
    c.to_host(c.to_device(h))
    assert c.copied() == (0, 0)


def test_dispatch_resolves_each_twin():
    import kernels.cpu.minhash as km_cpu
    import kernels.cuda.minhash as km_cuda
    c, g = CPUBackend(), GPUBackend(simulated=True)
    assert c.pick(cpu=1, gpu=2) == 1 and g.pick(cpu=1, gpu=2) == 2
    assert c.kernels.minhash._mod is km_cpu and g.kernels.minhash._mod is km_cuda
    assert c.kernels.minhash.signatures is c.kernels.minhash.signatures   # resolved once
    # the same call on both: word shingles of two documents
    tok = np.array([5, 6, 7, 8, 9], np.uint64)
    toff = np.array([0, 3, 5], np.int64)
    soff = np.array([0, 2, 3], np.int64)
    outs = []
    for be in (c, g):
        h, first = be.xp.empty(3, np.uint64), be.xp.empty(3, np.int64)
        be.kernels.minhash.word_shingles(2, be.to_device(tok), be.to_device(toff), np.int64(2),
                                         be.to_device(soff), h, first)
        outs.append((be.to_host(h), be.to_host(first)))
    assert np.array_equal(outs[0][0], outs[1][0]) and outs[0][1].tolist() == [0, 1, 3]


# ---------------------------------------------------------------------------- idioms
def test_segment_of_is_repeat_of_arange():
    for _ in range(20):
        counts = RNG.integers(0, 4, size=RNG.integers(1, 12))
        off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        got = A.segment_of(xp, dev(off), int(off[-1]))
        assert got._a.tolist() == np.repeat(np.arange(counts.size), counts).tolist()


def test_device_gathers_equal_the_cpu_kernels():
    from kernels.cpu.count import gather_spans, gather_word_ngrams
    norm = np.frombuffer(b"le chat noir dort sur le tapis rouge", np.uint8).copy()
    starts = np.array([0, 3, 8, 13, 18, 22, 25, 31], np.int64)
    lens = np.array([2, 4, 4, 4, 3, 2, 5, 5], np.int32)
    be = GPUBackend(simulated=True)
    for n in (1, 2, 3):
        first = np.array([0, 2, 5 - (n - 1) + 2, 1][: 4], np.int64)
        first = first[first + n <= starts.size]
        data, off = A.gather_word_ngrams(be, dev(norm), dev(starts), dev(lens), dev(first), n)
        wd, wo = gather_word_ngrams(norm, starts, lens, first, n)
        assert data._a.tobytes() == wd.tobytes() and np.array_equal(off._a, wo)
    sel = np.array([6, 0, 3], np.int64)
    before = be.copied()[1]
    data, off = A.gather_spans(be, dev(norm), dev(starts[sel]), dev(lens[sel]))
    assert be.copied()[1] - before == 8       # the gathered size, read back counted
    wd, wo = gather_spans(norm, starts[sel], lens[sel].astype(np.int64))
    assert data._a.tobytes() == wd.tobytes() == b"tapisledort" and np.array_equal(off._a, wo)


def test_reduce_by_key_equals_a_dict():
    keys = RNG.integers(0, 9, size=200).astype(np.uint64)
    vals = RNG.integers(1, 5, size=200).astype(np.int64)
    k, v = A.reduce_by_key(xp, dev(keys), dev(vals))
    want = {}
    for a, b in zip(keys.tolist(), vals.tolist()):
        want[a] = want.get(a, 0) + b
    assert dict(zip(k._a.tolist(), v._a.tolist())) == want and k._a.tolist() == sorted(want)
