"""n-gram counting on the GPU backend (CUDA simulator) equals the CPU backend exactly."""
import pytest

from engine.corpus import batch_from_texts
from engine.ngrams import count_ngrams
from engine.text import TextOptions

TEXTS = [
    "Nvidia et OpenAI ont conclu un partenariat : 10 gigawatts, 100 milliards de dollars.",
    "L'action Nvidia a progressé ; OpenAI construit l'infrastructure. Nvidia, OpenAI !",
    "",
    "cafe\u0301 — Ｎｖｉｄｉａ ﬁn 😀 日本語 Nvidia et OpenAI",
    "un",
]


def batches():
    return [batch_from_texts(TEXTS[:2], base=0), batch_from_texts(TEXTS[2:], ids=["c", "d", "e"], base=2)]


@pytest.mark.parametrize("kw", [dict(n="1-3"), dict(n="2-4", char=True), dict(n="1-2", top=3),
                                dict(n="1-2", text=TextOptions(stopwords=("fr",), strip_accents=True))])
def test_gpu_equals_cpu(kw):
    cpu = count_ngrams(batches(), device="cpu", **kw)
    gpu = count_ngrams(batches(), device="gpu", **kw)
    assert cpu.num_rows > 3
    assert gpu.equals(cpu)


def test_gpu_spill_equals_cpu():
    """The host-table path of a GPU partition (map_partition: the device reduces each batch,
    the host table spills past its budget) equals the CPU; run() on a GPU is device-resident."""
    from engine import ngrams
    cfg = ngrams.NgramConfig(n="1-3", memory="1MB")
    cpu = count_ngrams(batches(), n="1-3", device="cpu")
    part = ngrams.map_partition(batches(), "gpu", cfg)
    assert ngrams.finish(ngrams.combine([part]), cfg).table().equals(cpu)
    assert count_ngrams(batches(), n="1-3", device="gpu", memory="1MB").equals(cpu)


def test_device_string_order_is_byte_order():
    import numpy as np

    from engine.backend import get_backend
    from engine.gpu.ngrams import string_order
    g = get_backend("gpu")
    rng = np.random.default_rng(5)
    words = [bytes(rng.integers(0, 4, size=rng.integers(0, 20)).astype(np.uint8) + 97 * (i % 2))
             for i in range(60)] + [b"ab", b"ab\x00", b"a", b"", b"abcdefghij", b"abcdefghi"]
    data = b"".join(words)
    starts = np.cumsum([0] + [len(w) for w in words[:-1]]).astype(np.int64)
    lens = np.array([len(w) for w in words], np.int64)
    o = g.to_host(string_order(g, g.to_device(np.frombuffer(data, np.uint8)), g.to_device(starts),
                               g.to_device(lens)))
    assert [words[i] for i in o] == sorted(words)


def test_gpu_partials_equal_cpu_partials_and_combine():
    """map_partition on the GPU path (device reduce, strings from first occurrences) gives the
    CPU's rows, first occurrences included; combined over two partitions, the same table."""
    import numpy as np

    from engine import ngrams
    cfg = ngrams.NgramConfig(n="1-3")

    def rows(p):
        return sorted((int(p.n[i]), int(p.keys[i]), p.string(i), int(p.counts[i]), int(p.doc_freq[i]),
                       int(p.first[i])) for i in range(len(p)))

    parts = [[b] for b in batches()]
    cpu = [ngrams.map_partition(p, "cpu", cfg) for p in parts]
    gpu = [ngrams.map_partition(p, "gpu", cfg) for p in parts]
    for c, g in zip(cpu, gpu):
        assert rows(g) == rows(c) and len(c) > 3
    assert gpu[0].stats.device_to_host_bytes > 0
    whole = ngrams.run(batches(), "cpu", cfg).table()
    assert ngrams.finish(ngrams.combine(gpu), cfg).table().equals(whole)
    assert np.array_equal(ngrams.combine(gpu).counts, ngrams.combine(cpu).counts)


def test_device_tables_past_the_budget_move_to_the_host():
    """A device budget smaller than the first batch's tables: they move to the host and the
    rest is counted by the host-table path; the same table as the CPU."""
    from engine import ngrams
    from engine.backend import GPUBackend
    g = GPUBackend(simulated=True)
    g.memory = 2000    # bytes: below the parser's 1 MB floor, for a corpus this small
    cfg = ngrams.NgramConfig(n="1-3")
    res = ngrams.run(batches(), g, cfg)
    assert res.stats.counters["device_rows_moved_to_host"] > 0 and res.stats.device_to_host_bytes > 0
    assert res.table().equals(count_ngrams(batches(), n="1-3", device="cpu"))
    assert ngrams.run(batches(), g, ngrams.NgramConfig(n="1-2", top=3)).table().equals(
        count_ngrams(batches(), n="1-2", top=3, device="cpu"))
