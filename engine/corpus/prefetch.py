"""Reading ahead: the next batch is read on a thread while the caller works on the current
one, so that the reader's serial parts (file reads, line ends, ids, batch assembly) run on
the core the caller's kernels leave idle.

The CPU jobs' kernels release the GIL (numba ``nogil=True``), and so does Arrow's JSON
parser; what remains under the GIL on either side is short Python glue.  Only one batch is
read ahead (memory: one batch more than without).  A numba threading layer that cannot
launch parallel kernels from two threads at once (``workqueue``) disables the read-ahead.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")

_DONE = object()


def concurrent_kernels_ok() -> bool:
    """Whether numba's threading layer launches parallel kernels from two threads at once
    (``omp`` and ``tbb`` do; ``workqueue`` aborts the process).  When no parallel kernel has
    run yet, the layer is chosen first, as the first launch would choose it (numba's own
    ``_launch_threads``, which loads no kernel); False when that cannot be asked."""
    import numba
    try:
        return numba.threading_layer() in ("omp", "tbb")
    except ValueError:   # not chosen until the first parallel launch
        pass
    try:
        from numba.np.ufunc.parallel import _launch_threads
        _launch_threads()
        return numba.threading_layer() in ("omp", "tbb")
    except (ImportError, ValueError):
        return False


def read_ahead(items: Iterable[T]) -> Iterator[T]:
    """The items of ``items`` in order, each next one produced on a thread while the caller
    holds the current one.

    An exception raised by ``items`` is raised here, at its place in the order (after the
    items before it).  Closing the generator early stops the thread after the item it is
    producing.  Lists and tuples (nothing to read) and a threading layer that cannot run
    kernels from two threads (:func:`concurrent_kernels_ok`) are iterated as they are.
    """
    if isinstance(items, (list, tuple)) or not concurrent_kernels_ok():
        yield from items
        return
    ahead = _ReadAhead(iter(items))
    try:
        while True:
            item = ahead.take()
            if item is _DONE:
                return
            yield item
    finally:
        ahead.stop()


class _ReadAhead:
    """A producer thread one item ahead of its consumer: it produces item k + 1, hands it
    over, then waits until the consumer takes it before producing item k + 2."""

    def __init__(self, it: Iterator):
        self.it = it
        self.slot: queue.Queue = queue.Queue(maxsize=1)
        self.taken = threading.Semaphore(0)   # released by the consumer: produce the next one
        self.stopping = False
        self.thread = threading.Thread(target=self._produce, name="corpus-read-ahead", daemon=True)
        self.thread.start()

    def _produce(self) -> None:
        while True:
            try:
                item = next(self.it, _DONE)
            except BaseException as e:   # noqa: BLE001 (handed to the consumer, raised there)
                self.slot.put((None, e))
                return
            self.slot.put((item, None))
            if item is _DONE:
                return
            self.taken.acquire()
            if self.stopping:
                return

    def take(self):
        item, error = self.slot.get()
        if error is not None:
            raise error
        if item is not _DONE:
            self.taken.release()
        return item

    def stop(self) -> None:
        """Stop after the item being produced (called when the consumer is done or gone)."""
        self.stopping = True
        self.taken.release()
        while self.thread.is_alive():
            try:                      # unblock a put of the last item produced
                self.slot.get(timeout=0.05)
            except queue.Empty:
                pass
        close = getattr(self.it, "close", None)
        if close is not None:         # the reader's files are closed in its own finally blocks
            close()
