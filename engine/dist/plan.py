"""Partition planning on the client: specs, not data.

A distributed run cuts the corpus at document boundaries only, in the order one
:class:`engine.corpus.CorpusReader` reads it: a text file whole (small files grouped), a
plain UTF-8 JSONL file by byte ranges snapped to line ends, a Parquet file by row groups,
a compressed stream (gzip, zstd) or a file in another encoding whole.  A task receives a
:class:`PartitionSpec` (file pieces, a few hundred bytes) and reads it with
:meth:`CorpusReader.for_pieces`; partition ``i`` holds the documents that one reader would
yield after those of partitions ``0..i-1``, so that combining in partition order is exact.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from engine.corpus import SNIFF_BYTES, CorpusReader, FilePiece, _is_utf8, _kind, _wide_under_narrow

__all__ = ["PartitionSpec", "plan_partitions", "count_newlines", "read_partition"]

SNAP_READ = 1 << 16        # bytes read at a time looking for the line end after a cut
COUNT_READ = 16 << 20      # bytes read at a time counting newlines


@dataclass(frozen=True)
class PartitionSpec:
    """One partition: its index in corpus order, its file pieces, its on-disk bytes."""
    index: int
    pieces: tuple
    nbytes: int


def _splittable_jsonl(path: Path, encoding: str) -> bool:
    """Plain JSONL in UTF-8 (explicit), without a UTF-16/32 byte-order mark: its lines can be
    cut apart.  ``auto`` and other encodings decide from the head, which only the first
    piece would see: such a file stays whole."""
    name = path.name.lower()
    if not name.endswith((".jsonl", ".ndjson")) or encoding == "auto" or not _is_utf8(encoding):
        return False
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return False   # the task reports it, as one reader would
    return _wide_under_narrow(head, encoding) is None and not head.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def _line_start_after(f, cut: int, size: int) -> int:
    """The start of the first line that begins at or after byte ``cut`` (``size``: none)."""
    pos = cut - 1        # a line begins at ``cut`` when byte cut - 1 is a newline
    f.seek(pos)
    while pos < size:
        chunk = f.read(SNAP_READ)
        if not chunk:
            break
        k = chunk.find(b"\n")
        if k >= 0:
            return pos + k + 1
        pos += len(chunk)
    return size


def _jsonl_ranges(path: Path, size: int, piece_bytes: int) -> list[tuple[int, int]]:
    """Byte ranges of ``piece_bytes`` or so covering the file, each a run of whole lines."""
    starts = [0]
    with open(path, "rb") as f:
        while starts[-1] + piece_bytes < size:
            s = _line_start_after(f, starts[-1] + piece_bytes, size)
            if s >= size:
                break
            starts.append(s)   # > the last start: the cut is past it
    stops = starts[1:] + [size]
    return list(zip(starts, stops))


def count_newlines(path: str, start: int, stop: int) -> int:
    """Newlines in bytes ``[start, stop)`` of ``path`` (a range's lines, for line numbers)."""
    n = 0
    with open(path, "rb") as f:
        f.seek(start)
        left = stop - start
        while left > 0:
            chunk = f.read(min(COUNT_READ, left))
            if not chunk:
                break
            n += chunk.count(b"\n")
            left -= len(chunk)
    return n


def _parquet_pieces(path: Path, rel: str, size: int, piece_bytes: int) -> list[FilePiece]:
    """Runs of row groups of about ``piece_bytes`` (metadata sizes), or the file whole when
    its metadata do not read (the task reports why)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    try:
        meta = pq.ParquetFile(path).metadata
    except (pa.ArrowException, OSError):
        return [FilePiece(str(path), rel, size)]
    if meta.num_row_groups <= 1:
        return [FilePiece(str(path), rel, size)]
    pieces, g0, row0, rows, acc = [], 0, 0, 0, 0
    total = max(sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups)), 1)
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        acc += rg.total_byte_size * size / total      # the group's share of the file on disk
        rows += rg.num_rows
        if acc >= piece_bytes or g == meta.num_row_groups - 1:
            pieces.append(FilePiece(str(path), rel, size, groups=(g0, g + 1), row0=row0))
            g0, row0, acc = g + 1, row0 + rows, 0
            rows = 0
    return pieces


def _file_pieces(reader: CorpusReader, path: Path, rel: str, size: int, piece_bytes: int,
                 ranges_out: list) -> list[FilePiece]:
    kind = _kind(path)
    if size > piece_bytes and kind == "jsonl" and _splittable_jsonl(path, reader.encoding):
        pieces = []
        for start, stop in _jsonl_ranges(path, size, piece_bytes):
            pieces.append(FilePiece(str(path), rel, size, start=start, stop=stop))
            ranges_out.append((len(ranges_out), str(path), start, stop))
        return pieces if len(pieces) > 1 else [FilePiece(str(path), rel, size)]
    if kind == "parquet" and size > 0:
        return _parquet_pieces(path, rel, size, piece_bytes)
    return [FilePiece(str(path), rel, size)]


def _with_line_numbers(pieces: list[FilePiece], counts: dict) -> list[FilePiece]:
    """``line0`` of every JSONL range: the newlines of the ranges before it in its file."""
    out, before = [], {}
    for p in pieces:
        if p.is_range:
            line0 = before.get(p.path, 0)
            before[p.path] = line0 + counts[(p.path, p.start)]
            p = FilePiece(p.path, p.rel, p.size, p.start, p.stop, line0, p.groups, p.row0)
        out.append(p)
    return out


def plan_partitions(reader: CorpusReader, partition_bytes: int,
                    count_lines: Callable[[Sequence[tuple]], list[int]] | None = None) -> list[PartitionSpec]:
    """The partitions of ``reader``'s files, each of about ``partition_bytes`` on disk.

    ``count_lines(ranges)`` counts the newlines of each ``(i, path, start, stop)`` range
    (default: here; a distributed run passes a function that maps it over the cluster).
    ``partition_bytes=1`` gives one document a partition where the formats allow it (a
    JSONL line, a Parquet row group, a text file).
    """
    partition_bytes = max(int(partition_bytes), 1)
    ranges: list = []
    pieces: list[FilePiece] = []
    for path, rel, size in reader.files:
        pieces.extend(_file_pieces(reader, path, rel, size, partition_bytes, ranges))
    if ranges:
        counter = count_lines or (lambda rs: [count_newlines(p, a, b) for _, p, a, b in rs])
        counts = counter(ranges)
        pieces = _with_line_numbers(pieces, {(p, a): int(c) for (_, p, a, _), c in zip(ranges, counts)})
    specs, current, acc = [], [], 0
    for p in pieces:
        current.append(p)
        acc += p.nbytes
        if acc >= partition_bytes:
            specs.append(PartitionSpec(len(specs), tuple(current), acc))
            current, acc = [], 0
    if current:
        specs.append(PartitionSpec(len(specs), tuple(current), acc))
    return specs


def read_partition(spec: PartitionSpec, options: dict) -> CorpusReader:
    """The reader of one partition (iterate it for batches; ``.stats`` after)."""
    return CorpusReader.for_pieces(spec.pieces, **options)


def partition_sizes(specs: Sequence[PartitionSpec]) -> np.ndarray:
    """On-disk bytes of each partition."""
    return np.array([s.nbytes for s in specs], np.int64)
