"""The documents' UTF-8 that ``corpus analyze`` keeps for MinHash's exact verification, on
disk instead of in memory.

Verification rebuilds the shingle sets of the few documents in candidate pairs only, so
the texts are written once, in corpus order, to an anonymous temporary file (unlinked at
creation: nothing to clean up, even after a crash; written on a thread while the pass
works) and read back through a memory map: only the pages of the candidates' documents
are ever loaded.  Resident memory holds one
int64 offset a document instead of the corpus (``engine.minhash.map_partition`` keeps the
texts in memory: 1 GB for 1 GB of text).

Texts of device batches that cuDF read (no host copy) stay on the device, as
``engine.minhash`` keeps them on a GPU: copying them to the host would cost the whole
text in device-to-host bytes.
"""
from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from engine.corpus.batch import DeviceBatch

__all__ = ["KeptTexts"]


class KeptTexts:
    """The texts of a corpus, batch by batch in corpus order (:meth:`add`), then as one flat
    UTF-8 array and its offsets (:meth:`arrays`: what ``MinHashPartial.text_data`` and
    ``text_offsets`` hold)."""

    def __init__(self, backend):
        self.be = backend
        self.file = None            # the anonymous spill file (opened on the first host bytes)
        self.parts: list = []       # ("file", start, size) or ("device", array), in corpus order
        self.offsets = [np.zeros(1, np.int64)]
        self.size = 0               # bytes so far (file and device parts)
        self.file_bytes = 0
        # the writes run on a thread (a write releases the GIL), in order, while the pass
        # works on the batch; each holds its batch's bytes until written
        self.writer: ThreadPoolExecutor | None = None
        self.pending: list = []

    def add(self, batch) -> None:
        """Keep the texts of ``batch`` (a host batch, or a device batch)."""
        if isinstance(batch, DeviceBatch) and batch.source is not None:
            batch = batch.source    # copied from a host batch: its bytes are on the host
        if isinstance(batch, DeviceBatch):
            off = batch.host_offsets()
            lo = int(self.be.to_host(batch.offsets[:1])[0])
            self.parts.append(("device", batch.data[lo:lo + int(off[-1])]))
        else:
            lo, hi = int(batch.offsets[0]), int(batch.offsets[-1])
            off = batch.offsets - lo
            self._write(batch.data[lo:hi])
        self.offsets.append(off[1:] + self.size)
        self.size += int(off[-1])

    def _write(self, data: np.ndarray) -> None:
        if self.file is None:
            self.file = tempfile.TemporaryFile(prefix="corpus-analyze-texts-")
            self.writer = ThreadPoolExecutor(1, thread_name_prefix="corpus-analyze-texts")
        self.pending.append(self.writer.submit(self.file.write, memoryview(np.ascontiguousarray(data))))
        self.parts.append(("file", self.file_bytes, int(data.size)))
        self.file_bytes += int(data.size)

    def _written(self) -> None:
        """Wait for the writes submitted (a failed one raises here)."""
        pending, self.pending = self.pending, []
        for w in pending:
            w.result()

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(UTF-8 bytes, int64 offsets ``n_docs + 1``): a read-only memory map of the file,
        or, when some texts are on the device, one device array (the file's parts copied
        up once, counted by the backend)."""
        offsets = np.concatenate(self.offsets)
        host = self._mapped()
        if not any(p[0] == "device" for p in self.parts):
            return host, offsets
        xp = self.be.xp
        pieces = [p[1] if p[0] == "device" else self.be.to_device(np.ascontiguousarray(host[p[1]:p[1] + p[2]]))
                  for p in self.parts]
        return (xp.concatenate(pieces) if pieces else xp.empty(0, np.uint8)), offsets

    def _mapped(self) -> np.ndarray:
        if self.file is None or self.file_bytes == 0:
            return np.empty(0, np.uint8)
        self._written()
        self.file.flush()
        return np.memmap(self.file, dtype=np.uint8, mode="r", shape=(self.file_bytes,))

    def close(self) -> None:
        """Close the file (a memory map made by :meth:`arrays` stays readable until dropped)."""
        if self.writer is not None:
            self.writer.shutdown(wait=True)   # the writes end before the file closes
            self.writer = None
        self.pending = []
        if self.file is not None:
            self.file.close()
            self.file = None
