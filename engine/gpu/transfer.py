"""Host batches to the device ahead of use: pinned staging buffers, copies on their own
stream, double buffering.

:func:`staged` turns the batches a job reads into :class:`DeviceBatch` objects one batch
ahead: while the job computes batch ``i`` the copy of batch ``i + 1`` runs on a separate
CUDA stream.  On a real GPU (:class:`PinnedCopier`) each batch's bytes and offsets are
copied by the CPU into one of two pinned host buffers (``cupy.cuda.alloc_pinned_memory``:
the DMA engine reads pinned memory directly, where a pageable copy is staged by the driver
and blocks the host), then to fresh device arrays asynchronously on a non-blocking stream;
an event orders the job's stream after that copy, and a buffer is refilled only once its
previous copy is done.  Under the simulator, or with the strict array module, the copies
are the backend's plain counted ones (:class:`PlainCopier`), in the same order.  Every
copy is counted in the backend's host-to-device bytes either way.  Batches already on the
device (cuDF ingest) pass through untouched.

cupy is imported only by :class:`PinnedCopier`, on a real GPU.
"""
from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from engine.corpus.batch import Batch, DeviceBatch

__all__ = ["staged", "PlainCopier", "PinnedCopier", "copier_for"]


class PlainCopier:
    """The backend's own counted copies (simulator, strict array module): nothing overlaps."""

    def __init__(self, backend):
        self.be = backend

    def start(self, batch: Batch):
        """Begin copying ``batch``; returns what :meth:`finish` takes."""
        return self.be.to_device(batch.data), self.be.to_device(batch.offsets)

    def finish(self, batch: Batch, ticket) -> DeviceBatch:
        data, offsets = ticket
        return DeviceBatch(batch.doc_ids, data, offsets, batch.doc_base, self.be, batch.n_bytes, source=batch)


class PinnedCopier:
    """Copies through two pinned host buffers on a non-blocking stream (see the module
    docstring).  ``cupy``: the module (tests pass a stand-in)."""

    SLOTS = 2

    def __init__(self, backend, cupy=None):
        if cupy is None:
            import cupy
        self.cp, self.be = cupy, backend
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self.slots = [None] * self.SLOTS     # (pinned memory, its numpy view) per slot
        self.done = [None] * self.SLOTS      # event: the last copy out of the slot is complete
        self.next = 0

    def _buffer(self, k: int, nbytes: int) -> np.ndarray:
        if self.slots[k] is None or self.slots[k][1].size < nbytes:
            size = max(nbytes, 2 * (self.slots[k][1].size if self.slots[k] else 0), 1 << 20)
            mem = self.cp.cuda.alloc_pinned_memory(size)
            self.slots[k] = (mem, np.frombuffer(mem, np.uint8, size))
        return self.slots[k][1]

    def start(self, batch: Batch):
        cp, k = self.cp, self.next
        self.next = (k + 1) % self.SLOTS
        if self.done[k] is not None:
            self.done[k].synchronize()    # the slot's previous copy has left it
        data = np.ascontiguousarray(batch.data, np.uint8)
        offsets = np.ascontiguousarray(batch.offsets, np.int64)
        n_data = data.nbytes
        buf = self._buffer(k, n_data + offsets.nbytes + 8)
        at = (n_data + 7) // 8 * 8        # offsets 8-byte aligned after the bytes
        buf[:n_data] = data
        host_off = buf[at:at + offsets.nbytes].view(np.int64)
        host_off[:] = offsets
        # the device memory may be a block the job's stream freed with work still queued on it:
        # the copy stream waits for that work first (not for the batch about to be computed)
        self.stream.wait_event(cp.cuda.get_current_stream().record())
        with self.stream:
            d_data = cp.empty(n_data, np.uint8)
            d_off = cp.empty(offsets.size, np.int64)
        d_data.set(buf[:n_data], stream=self.stream)
        d_off.set(host_off, stream=self.stream)
        self.done[k] = self.stream.record()
        self.be.h2d_bytes += n_data + offsets.nbytes    # counted by the backend, as to_device does
        return d_data, d_off, self.done[k]

    def finish(self, batch: Batch, ticket) -> DeviceBatch:
        d_data, d_off, ready = ticket
        self.cp.cuda.get_current_stream().wait_event(ready)   # the job's kernels run after the copy
        return DeviceBatch(batch.doc_ids, d_data, d_off, batch.doc_base, self.be, batch.n_bytes, source=batch)


def copier_for(backend):
    """:class:`PinnedCopier` on a real GPU, else :class:`PlainCopier`."""
    return PlainCopier(backend) if backend.simulated else PinnedCopier(backend)


def staged(batches: Iterable[Batch], backend, copier=None) -> Iterator[Batch]:
    """``batches`` with each host batch copied to the device one batch ahead (double
    buffering): batch ``i + 1`` is read and its copy started before batch ``i`` is handed
    over, so the copy runs while ``i`` computes.  Device batches pass through as they are.
    ``copier``: default :func:`copier_for` the backend, made on the first host batch."""
    pending = None     # (batch, ticket) whose copy is under way

    for batch in batches:
        if isinstance(batch, DeviceBatch):
            if pending is not None:
                yield _finish(copier, pending)
                pending = None
            yield batch
            continue
        if copier is None:
            copier = copier_for(backend)
        started = (batch, copier.start(batch))
        if pending is not None:
            yield _finish(copier, pending)
        pending = started
    if pending is not None:
        yield _finish(copier, pending)


def _finish(copier, pending) -> DeviceBatch:
    batch, ticket = pending
    return copier.finish(batch, ticket)
