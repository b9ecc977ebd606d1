"""Process memory policy for batch jobs: keep freed memory for reuse.

glibc gives every allocation above 32 MB its own ``mmap`` and returns it to the
system on ``free``; the next array of that size is fresh memory again, and each
of its pages is faulted in and zeroed by the kernel on first touch.  An
analytics job allocates and frees arrays of hundreds of MB per batch (reader
buffers, token arrays, pair buffers, sort scratch), so it pays those faults on
every batch and every call.  Measured on the 2-core test machine, co-occurrence
on 50 MB (window 5, second and third run in one process): 1.0-1.7 s with the
default policy, 0.9-1.0 s when freed memory is kept (system time 15-50 ->
4-6 jiffies per run).

:func:`retain_freed_memory` asks glibc to serve large allocations from the heap
and not to give freed memory back (``mallopt(M_MMAP_MAX, 0)``,
``mallopt(M_TRIM_THRESHOLD, 2 GB)``).  Peak memory is unchanged; the process keeps
its peak until it exits, as is usual for batch jobs.  The ``corpus`` command calls
it at start; a library user opts in by calling it.  ``CORPUS_ENGINE_RETAIN_MEMORY=0``
turns it off.  No-op off glibc.

:func:`small_pages` is the other half: big arrays written and read in order are
allocated on ordinary pages rather than transparent huge pages.
"""
from __future__ import annotations

import ctypes
import os
from contextlib import contextmanager

__all__ = ["available_memory", "retain_freed_memory", "small_pages", "total_memory"]

_M_TRIM_THRESHOLD = -1   # glibc malloc.h
_M_MMAP_MAX = -4
_applied: bool | None = None


def retain_freed_memory() -> bool:
    """Keep freed memory in the process for reuse (see the module doc); True when applied."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("CORPUS_ENGINE_RETAIN_MEMORY", "1").strip() in ("0", "false", "no", "off"):
        return False
    try:
        libc = ctypes.CDLL(None)   # the C library this process runs on (find_library("c") runs ldconfig)
        libc.gnu_get_libc_version  # noqa: B018 - raises AttributeError off glibc; glibc only (musl, macOS: not this allocator)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    _applied = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    return _applied


def total_memory() -> int:
    """Physical memory of the machine in bytes (what ``psutil.virtual_memory().total`` reads).

    ``sysconf`` first: psutil costs ~10 ms of every command's start-up to import."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):   # no sysconf names (Windows, some BSDs)
        import psutil
        return psutil.virtual_memory().total


def available_memory() -> int:
    """Memory available to a new allocation, in bytes (``psutil.virtual_memory().available``).

    Linux: ``MemAvailable`` of ``/proc/meminfo``, what psutil reads, without its import."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    import psutil  # other systems, or a kernel without MemAvailable (before 3.14)
    return psutil.virtual_memory().available


@contextmanager
def small_pages():
    """Host arrays allocated inside get ordinary 4 kB pages, not transparent huge pages.

    numpy asks the kernel for huge pages on arrays of 4 MB and more (madvise).  Where
    THP defrag is ``madvise`` (the default of many distributions) the first touch of
    such memory may stall on memory compaction.  Measured on the 2-core test machine,
    per 50 MB of text: the tokenizer's outputs (written and read in order, so huge
    pages buy nothing) took 0.45-0.59 s with huge pages, 0.29-0.38 s without.
    """
    try:
        from numpy._core import multiarray
    except ImportError:   # numpy 1.x
        from numpy.core import multiarray
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    if setter is None:
        yield
        return
    previous = setter(False)
    try:
        yield
    finally:
        setter(previous)
