"""Batches of documents: :class:`Batch`, :class:`CorpusError` and the assembly of
documents and Arrow blocks into bounded batches."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

DEFAULT_BATCH_BYTES = 64 << 20


class CorpusError(Exception):
    """A corpus problem worth one clear line (missing path, bad file in --strict mode...)."""


@dataclass
class Batch:
    """A slice of the corpus as flat arrays.

    ``data[offsets[i]:offsets[i+1]]`` is document ``i``'s UTF-8 text, its id is
    ``doc_ids[i]``, and its index in the whole corpus is ``doc_base + i``.
    """
    doc_ids: list[str]
    data: np.ndarray      # uint8
    offsets: np.ndarray   # int64, len(doc_ids) + 1
    doc_base: int = 0

    @property
    def n_docs(self) -> int:
        return len(self.doc_ids)

    @property
    def n_bytes(self) -> int:
        return int(self.offsets[-1])

    def text(self, i: int) -> str:
        # "replace" decodes invalid bytes exactly as the kernels do (U+FFFD per invalid prefix),
        # so the slow path agrees with them even on a batch that no reader validated
        return bytes(self.data[self.offsets[i]:self.offsets[i + 1]]).decode("utf-8", "replace")


@dataclass
class DeviceBatch(Batch):
    """A :class:`Batch` whose ``data`` and ``offsets`` are device arrays of a GPU ``backend``
    (read by cuDF, engine.gpu.ingest): ``backend.to_device`` of them is no copy (0 bytes),
    so the jobs' GPU steps take them as they take a host batch's.  ``offsets`` may start
    past 0 (a view of a cuDF column's buffer); ``text_bytes`` is the documents' UTF-8 size,
    known on the host.  What needs host bytes (:meth:`text`, :meth:`host`) copies them
    through the backend, which counts the copy, unless ``source`` (the host batch this one
    was copied from, engine.gpu.transfer) still holds them."""
    backend: object = None
    text_bytes: int = 0
    source: Batch | None = None

    @property
    def n_bytes(self) -> int:
        return self.text_bytes

    def text(self, i: int) -> str:
        if self.source is not None:
            return self.source.text(i)
        be = self.backend
        s, e = (int(v) for v in be.to_host(self.offsets[i:i + 2]))
        return be.to_host(self.data[s:e]).tobytes().decode("utf-8", "replace")

    def host_offsets(self) -> np.ndarray:
        """The offsets on the host, from 0 (a counted copy, 8 bytes a document)."""
        if self.source is not None:
            return self.source.offsets - self.source.offsets[0]
        off = self.backend.to_host(self.offsets)
        return off - off[0]

    def host(self) -> Batch:
        """This batch with its bytes on the host (counted copies)."""
        if self.source is not None:
            return self.source
        off = self.backend.to_host(self.offsets)
        data = self.backend.to_host(self.data[int(off[0]):int(off[-1])])
        return Batch(self.doc_ids, data, off - off[0], self.doc_base)


@dataclass
class _Block:
    """Many documents at once (from Arrow): ids, UTF-8 bytes and int64 offsets (any base)."""
    ids: list
    data: np.ndarray
    offsets: np.ndarray


# Past the bound by at most this fraction, the pieces make one batch: the reader hands its
# pieces over once they reach the bound, so they overshoot it by part of a JSON chunk; cut
# at the bound, that part was a batch of its own (337 documents between 35,000 and 15,000),
# which costs every job a whole round of per-batch work.
BATCH_SLACK = 1 / 8


def _piece_bytes(item) -> int:
    return int(item.offsets[-1] - item.offsets[0]) if isinstance(item, _Block) else len(item[1])


def _batch_bounds(total: int, batch_bytes: int) -> list[int]:
    """Where the batches of ``total`` bytes end (cumulative bytes, the last one excluded):
    none when ``total`` is within the slack of the bound, else the ``k = ceil(total /
    batch_bytes)`` even shares, so that no batch is a small remainder."""
    if total <= batch_bytes * (1 + BATCH_SLACK):
        return []
    k = -(-total // batch_bytes)
    return [total * m // k for m in range(1, k)]


def _assemble(pieces: list, base: int, batch_bytes: int) -> Iterator[Batch]:
    """Batches from documents and blocks, in order: as even as whole documents allow, each
    at most about ``batch_bytes`` (at most ``BATCH_SLACK`` past it, or one document larger)."""
    ids: list[str] = []
    datas: list = []
    lens: list = []
    nbytes = 0
    bounds = _batch_bounds(sum(_piece_bytes(p) for p in pieces), batch_bytes)
    bounds.reverse()   # the next bound last (popped)
    done = 0           # bytes in the batches yielded

    def want() -> int:
        """Bytes the batch in hand may take before it ends (none: the rest)."""
        return bounds[-1] - done if bounds else -1

    def flush():
        nonlocal ids, datas, lens, nbytes, base, done
        offsets = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(np.concatenate([np.atleast_1d(np.asarray(x, np.int64)) for x in lens]), out=offsets[1:])
        data = np.concatenate([np.frombuffer(d, np.uint8) if isinstance(d, bytes) else d for d in datas]) \
            if len(datas) != 1 or not isinstance(datas[0], np.ndarray) else datas[0]
        b = Batch(ids, data, offsets, base)
        base += len(ids)
        done += nbytes
        while bounds and bounds[-1] <= done:
            bounds.pop()
        ids, datas, lens, nbytes = [], [], [], 0
        return b

    for item in pieces:
        if isinstance(item, _Block):
            off = item.offsets
            i = 0
            n = len(item.ids)
            while i < n:
                w = want()
                if w < 0:   # the last batch: the rest of the block
                    j = n
                else:       # whole documents up to the bound (at least one)
                    j = int(np.searchsorted(off, off[i] + max(w - nbytes, 1), side="right")) - 1
                    j = min(max(i + 1, j), n)
                ids.extend(item.ids[i:j])
                datas.append(item.data[off[i]:off[j]])
                lens.append(np.diff(off[i:j + 1]))
                nbytes += int(off[j] - off[i])
                i = j
                if 0 <= w <= nbytes:
                    yield flush()
        else:
            ids.append(item[0])
            datas.append(item[1])
            lens.append(len(item[1]))
            nbytes += len(item[1])
            w = want()
            if 0 <= w <= nbytes:
                yield flush()
    if ids:
        yield flush()


def _make_batch(ids: list[str], parts: list[bytes], base: int) -> Batch:
    offsets = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum([len(p) for p in parts], out=offsets[1:])
    data = np.frombuffer(b"".join(parts), dtype=np.uint8)
    return Batch(ids, data, offsets, base)


def batch_from_texts(texts: Sequence[str], ids: Sequence[str] | None = None, base: int = 0) -> Batch:
    """A Batch from Python strings (library use and tests)."""
    ids = list(ids) if ids is not None else [str(i) for i in range(len(texts))]
    return _make_batch(ids, [t.encode("utf-8") for t in texts], base)
