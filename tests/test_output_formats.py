"""Table files (engine.output_formats.write_table_file): each format reads back as the
table written; the ``unique_strings`` columns of a Parquet file are stored without a
dictionary or statistics, prefix-coded, and still read back the same (pyarrow, pandas)."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine.output_formats import write_table_file


def _table():
    words = sorted({f"{a} {b}" for a in ("of", "the", "été", "日本") for b in ("a", "ab", "abc", "x" * 40)})
    return pa.table({"ngram": words, "n": pa.array([2] * len(words), pa.int32()),
                     "count": pa.array(range(len(words), 0, -1), pa.int64())})


@pytest.mark.parametrize("unique", [(), ("ngram",), ("ngram", "count", "missing")])
def test_parquet_reads_back_the_same(tmp_path, unique):
    t = _table()
    write_table_file(t, tmp_path / "t", "x.parquet", unique_strings=unique)
    back = pq.read_table(tmp_path / "t")
    assert back.equals(t)
    assert back.to_pandas().equals(t.to_pandas())
    col = pq.ParquetFile(tmp_path / "t").metadata.row_group(0).column(0)
    if "ngram" in unique:   # the string column: prefix-coded, no dictionary, no min/max
        assert "DELTA_BYTE_ARRAY" in col.encodings and not col.has_dictionary_page
        assert col.statistics is None or not col.statistics.has_min_max
        cnt = pq.ParquetFile(tmp_path / "t").metadata.row_group(0).column(2)
        assert cnt.statistics.has_min_max   # a non-string column named in it keeps its defaults
    else:
        assert col.has_dictionary_page and col.statistics.has_min_max


def test_csv_and_jsonl_ignore_unique_strings(tmp_path):
    t = _table()
    write_table_file(t, tmp_path / "c", "x.csv", unique_strings=("ngram",))
    import pyarrow.csv as pacsv
    assert pacsv.read_csv(tmp_path / "c").column("ngram").to_pylist() == t.column("ngram").to_pylist()
    write_table_file(t, tmp_path / "j", "x.jsonl", unique_strings=("ngram",))
    rows = [json.loads(line) for line in (tmp_path / "j").read_text(encoding="utf-8").splitlines()]
    assert rows == t.to_pylist()
