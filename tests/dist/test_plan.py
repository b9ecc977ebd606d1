"""Partition planning without a cluster: the pieces of every partitioning, read one after the
other, give the documents, skips, warnings and locations of one reader."""
from __future__ import annotations

import codecs
import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.corpus import CorpusReader, ReadStats
from engine.dist.ids import fix_duplicate_warnings, logged_ids
from engine.dist.plan import count_newlines, plan_partitions, read_partition


def _docs(reader):
    out = []
    for b in reader:
        out += [(b.doc_ids[i], bytes(b.data[b.offsets[i]:b.offsets[i + 1]])) for i in range(b.n_docs)]
    return out


@pytest.fixture
def mixed(tmp_path):
    lines = []
    for i in range(60):
        if i % 7 == 3:
            lines.append("{bad json")
        elif i % 9 == 4:
            lines.append("")
        elif i % 11 == 5:
            lines.append(json.dumps({"text": "  "}))
        else:
            lines.append(json.dumps({"text": f"doc {i} é words", **({"id": f"x{i % 4}"} if i % 2 else {})}))
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "b.jsonl").write_bytes(codecs.BOM_UTF8 + b'{"text": "bom first"}\r\n{"text": "crlf"}\r\n{"text": "x"}')
    (tmp_path / "c.txt").write_text("a text file", encoding="utf-8")
    (tmp_path / "d.txt").write_text("  ", encoding="utf-8")
    pq.write_table(pa.table({"text": [f"row {i}" if i % 5 else None for i in range(23)]}), tmp_path / "e.parquet",
                   row_group_size=3)
    with gzip.open(tmp_path / "f.jsonl.gz", "wt") as f:
        f.write("".join(json.dumps({"text": f"gz {i}"}) + "\n" for i in range(5)))
    return tmp_path


@pytest.mark.parametrize("partition_bytes", [1, 7, 60, 300, 1000, 10**9])
def test_pieces_read_as_one_reader(mixed, partition_bytes):
    one = CorpusReader([mixed])
    expected = _docs(one)
    reader = CorpusReader([mixed])
    specs = plan_partitions(reader, partition_bytes)
    got, parts, logs = [], ReadStats(), []
    for s in specs:
        r = read_partition(s, reader.options())
        r.id_log = []
        got += _docs(r)
        parts.merge(r.stats)
        logs.append(logged_ids(r.id_log))
    fix_duplicate_warnings(parts, logs)   # the repeats across partitions, found on the client
    assert got == expected
    assert ReadStats().merge(reader.stats).merge(parts).as_dict() == one.stats.as_dict()
    assert one.stats.warnings["duplicate id (document kept)"] > 10
    if partition_bytes == 1:   # a JSONL line, a row group, a file a partition
        assert len(specs) > 50
        assert all(p.nbytes > 0 for s in specs for p in s.pieces)
    if partition_bytes >= 10**9:
        assert len(specs) == 1


def test_ranges_start_at_line_starts_and_count_lines(mixed):
    reader = CorpusReader([mixed / "a.jsonl"])
    specs = plan_partitions(reader, 100)
    raw = (mixed / "a.jsonl").read_bytes()
    pieces = [p for s in specs for p in s.pieces]
    assert len(pieces) > 5 and pieces[0].start == 0 and pieces[-1].stop == len(raw)
    for p, q in zip(pieces, pieces[1:]):
        assert p.stop == q.start and raw[q.start - 1:q.start] == b"\n"
        assert q.line0 == raw[:q.start].count(b"\n") == p.line0 + count_newlines(str(mixed / "a.jsonl"), p.start, p.stop)


def test_strict_error_is_the_earliest(mixed):
    with pytest.raises(Exception) as one:
        _docs(CorpusReader([mixed], strict=True))
    reader = CorpusReader([mixed], strict=True)
    first = None
    for s in plan_partitions(reader, 50):
        try:
            _docs(read_partition(s, reader.options()))
        except Exception as e:
            first = e
            break
    assert str(first) == str(one.value)


def test_unsplittable_files_stay_whole(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b"".join(json.dumps({"text": f"t{i}"}).encode("utf-16") + b"\n"
                                               for i in range(20)))
    for enc in ("utf-16", "auto"):
        specs = plan_partitions(CorpusReader([tmp_path], encoding=enc), 1)
        assert len(specs) == 1 and not specs[0].pieces[0].is_range
