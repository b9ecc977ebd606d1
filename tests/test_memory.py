"""engine.memory: the batch-job memory policy (glibc mallopt), its opt-out and its no-op cases."""
import ctypes

import engine.memory as mem


def test_policy_applies_once_and_can_be_turned_off(monkeypatch):
    monkeypatch.setattr(mem, "_applied", None)
    monkeypatch.setenv("CORPUS_ENGINE_RETAIN_MEMORY", "0")
    assert mem.retain_freed_memory() is False
    calls = []

    class FakeLibc:
        gnu_get_libc_version = object()

        class mallopt:   # records (param, value); glibc returns 1 on success
            argtypes = restype = None

            def __new__(cls, param, value):
                calls.append((param, value))
                return 1

    monkeypatch.setattr(mem, "_applied", None)
    monkeypatch.setenv("CORPUS_ENGINE_RETAIN_MEMORY", "1")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: FakeLibc)
    assert mem.retain_freed_memory() is True
    assert calls == [(mem._M_MMAP_MAX, 0), (mem._M_TRIM_THRESHOLD, 2**31 - 1)]
    assert mem.retain_freed_memory() is True and len(calls) == 2   # once per process


def test_no_glibc_is_a_no_op(monkeypatch):
    class NotGlibc:   # e.g. musl: no gnu_get_libc_version
        pass

    monkeypatch.setattr(mem, "_applied", None)
    monkeypatch.setenv("CORPUS_ENGINE_RETAIN_MEMORY", "1")
    monkeypatch.setattr(ctypes, "CDLL", lambda name: NotGlibc)
    assert mem.retain_freed_memory() is False


def test_small_pages_turns_numpy_huge_pages_off_and_restores():
    from engine.memory import small_pages
    try:
        from numpy._core.multiarray import _set_madvise_hugepage as setter
    except ImportError:
        from numpy.core.multiarray import _set_madvise_hugepage as setter
    before = setter(True)
    try:
        with small_pages():
            assert setter(False) is False    # off inside
        assert setter(True) is True          # restored after
    finally:
        setter(before)


def test_machine_memory_matches_psutil():
    """total_memory / available_memory read what psutil reads (the oracle), without importing it."""
    import psutil
    assert mem.total_memory() == psutil.virtual_memory().total
    # available memory moves between two reads: compare within 5 %
    avail = psutil.virtual_memory().available
    assert abs(mem.available_memory() - avail) <= 0.05 * avail
