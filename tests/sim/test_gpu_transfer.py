"""Pinned, overlapped host-to-device copies (engine.gpu.transfer): one batch read and copied
ahead of the one computed, in order, every byte counted; the pinned copier's protocol
(copy stream, events, slot reuse) checked against a stand-in of the cupy calls it makes;
the simulator's plain copies, and the jobs' results through them."""
import numpy as np

from engine import ngrams
from engine.backend import get_backend
from engine.corpus import batch_from_texts
from engine.corpus.batch import DeviceBatch
from engine.gpu.strict_xp import raw
from engine.gpu.transfer import PinnedCopier, PlainCopier, copier_for, staged

GPU = get_backend("gpu")


def _batches(n, log=None):
    base = 0
    for i in range(n):
        b = batch_from_texts([f"texte {i} " * (i + 1), f"autre {i}", "é" * i], [f"{i}a", f"{i}b", f"{i}c"], base)
        base += b.n_docs
        if log is not None:
            log.append(("read", i))
        yield b


def test_plain_copies_in_order_counted_and_one_ahead():
    assert isinstance(copier_for(GPU), PlainCopier)
    log, out = [], []
    h2d = GPU.h2d_bytes
    expect = [b for b in _batches(4)]
    for k, b in enumerate(staged(_batches(4, log), GPU)):
        log.append(("use", k))
        out.append(b)
    # batch i+1 is read (and its copy started) before batch i is handed over, never i+2
    assert log == [("read", 0), ("read", 1), ("use", 0), ("read", 2), ("use", 1), ("read", 3), ("use", 2), ("use", 3)]
    assert all(isinstance(b, DeviceBatch) for b in out)
    for e, b in zip(expect, out):
        assert b.doc_ids == e.doc_ids and b.doc_base == e.doc_base and b.n_bytes == e.n_bytes
        assert np.array_equal(raw(b.data), e.data) and np.array_equal(raw(b.offsets), e.offsets)
        assert b.text(1) == e.text(1) and b.host() is b.source     # host bytes kept: no copy back
    assert GPU.h2d_bytes - h2d == sum(e.data.nbytes + e.offsets.nbytes for e in expect)


def test_device_batches_pass_through_uncopied():
    host = list(_batches(3))
    dev = DeviceBatch(host[1].doc_ids, GPU.to_device(host[1].data), GPU.to_device(host[1].offsets),
                      host[1].doc_base, GPU, host[1].n_bytes)
    h2d = GPU.h2d_bytes
    out = list(staged([host[0], dev, host[2]], GPU))
    assert out[1] is dev and [b.doc_base for b in out] == [b.doc_base for b in host]
    assert GPU.h2d_bytes - h2d == sum(b.data.nbytes + b.offsets.nbytes for b in (host[0], host[2]))


def test_jobs_equal_through_staged_copies():
    texts = ["le chat dort", "le chien dort aussi", "un chat, un chien"] * 3
    cfg = ngrams.NgramConfig(n="1-2")
    cpu = ngrams.run(batch_from_texts(texts), "cpu", cfg).table()
    parts = [batch_from_texts(texts[i:i + 2], base=i) for i in range(0, len(texts), 2)]
    assert ngrams.run(parts, GPU, cfg).table().equals(cpu)


# ---------------------------------------------------------------------------- pinned copier
class _Event:
    def __init__(self, log, name):
        self.log, self.name, self.synced = log, name, False

    def synchronize(self):
        self.synced = True
        self.log.append(("sync", self.name))


class _Stream:
    def __init__(self, cp, name, non_blocking=False):
        self.cp, self.name, self.non_blocking, self.n = cp, name, non_blocking, 0

    def record(self):
        self.n += 1
        ev = _Event(self.cp.log, f"{self.name}{self.n}")
        self.cp.log.append(("record", self.name, ev.name))
        return ev

    def wait_event(self, ev):
        self.cp.log.append(("wait", self.name, ev.name))

    def __enter__(self):
        self.cp.current.append(self)

    def __exit__(self, *a):
        self.cp.current.pop()


class _DevArray:
    def __init__(self, cp, n, dtype):
        self.cp, self.a = cp, np.zeros(n, dtype)
        self.stream = cp.current[-1].name
        self.nbytes = self.a.nbytes

    def set(self, arr, stream=None):
        assert any(np.shares_memory(arr, np.frombuffer(m, np.uint8)) for m in self.cp.pinned), \
            "copied from pageable memory"
        self.a[:] = arr
        self.cp.log.append(("copy", stream.name, self.a.nbytes))


class _FakeCupy:
    """The cupy calls PinnedCopier makes, logged."""

    def __init__(self):
        import types
        self.log, self.pinned = [], []
        self.null = _Stream(self, "null")
        self.current = [self.null]
        fake = self

        def alloc_pinned_memory(size):
            mem = bytearray(size)
            fake.pinned.append(mem)
            fake.log.append(("pinned", size))
            return mem
        self.cuda = types.SimpleNamespace(Stream=lambda non_blocking=False: _Stream(fake, "copy", non_blocking),
                                          alloc_pinned_memory=alloc_pinned_memory,
                                          get_current_stream=lambda: fake.current[-1])

    def empty(self, n, dtype):
        return _DevArray(self, n, dtype)


def test_pinned_copier_protocol():
    cp = _FakeCupy()
    be = get_backend("gpu")
    copier = PinnedCopier(be, cupy=cp)
    assert copier.stream.non_blocking
    expect = list(_batches(5))
    h2d = be.h2d_bytes
    out = []
    for k, b in enumerate(staged(_batches(5), be, copier)):
        cp.log.append(("use", k))
        out.append(b)
    for e, b in zip(expect, out):
        assert np.array_equal(b.data.a, e.data) and np.array_equal(b.offsets.a, e.offsets)
        assert b.doc_ids == e.doc_ids and b.doc_base == e.doc_base and b.source is not None
        assert b.data.stream == "copy"       # allocated on the copy stream's pool
    assert be.h2d_bytes - h2d == sum(e.data.nbytes + e.offsets.nbytes for e in expect)
    assert [x for x in cp.log if x[0] == "pinned"] == [("pinned", 1 << 20)] * 2    # two slots, reused
    log = cp.log
    uses = [log.index(("use", k)) for k in range(5)]
    copy_done = [x[2] for x in log if x[0] == "record" and x[1] == "copy"]
    assert len(copy_done) == 5
    for k in range(5):
        # the job's stream waits for batch k's copy before batch k is used...
        assert log.index(("wait", "null", copy_done[k])) < uses[k]
        # ...and batch k+1's copy was issued before batch k was used (the overlap)
        if k + 1 < 5:
            issued = max(i for i, x in enumerate(log) if x[0] == "copy" and i < log.index(("record", "copy", copy_done[k + 1])))
            assert issued < uses[k]
        # slot k % 2 is refilled by batch k+2 only after batch k's copy out of it is done
        if k + 2 < 5:
            assert ("sync", copy_done[k]) in log
            assert log.index(("sync", copy_done[k])) < log.index(("record", "copy", copy_done[k + 2]))
    # every copy on the copy stream, after it waited for the job's queued work
    assert all(x[1] == "copy" for x in log if x[0] == "copy")
    assert sum(1 for x in log if x[0] == "wait" and x[1] == "copy") == 5
