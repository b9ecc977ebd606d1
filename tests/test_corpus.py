"""Readers: every input kind, encodings, bad input counted or (strict) raised, bounded batches."""
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from engine.corpus import CorpusError, CorpusReader
from engine.errors import ParameterError


def read_all(paths, **kw):
    r = CorpusReader(paths, **kw)
    docs = []
    for b in r:
        assert b.offsets[0] == 0 and b.offsets[-1] == b.data.size
        docs += [(b.doc_ids[i], b.text(i)) for i in range(b.n_docs)]
    return docs, r.stats


def test_folder_recursive_txt_md_only(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("un", encoding="utf-8")
    (tmp_path / "b.md").write_text("deux", encoding="utf-8")
    (tmp_path / "c.bin").write_bytes(b"ignored")
    (tmp_path / "README.md").write_text("about this corpus", encoding="utf-8")
    docs, stats = read_all([tmp_path])
    assert docs == [("a/x.txt", "un"), ("b.md", "deux")]
    assert stats.documents == 2 and stats.skipped == {"README, not a document": 1}


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_jsonl_variants_ids_and_bad_lines(tmp_path, suffix):
    lines = [json.dumps({"id": "a", "text": "bonjour"}), "{not json", json.dumps({"text": "sans id"}),
             json.dumps({"id": 3, "body": "no text"}), json.dumps({"id": 4, "text": ""}), "",
             json.dumps([1, 2])]
    raw = ("\n".join(lines) + "\n").encode()
    p = tmp_path / f"c{suffix}"
    if suffix.endswith(".gz"):
        raw = gzip.compress(raw)
    elif suffix.endswith(".zst"):
        raw = zstandard.ZstdCompressor().compress(raw)
    p.write_bytes(raw)
    docs, stats = read_all([p])
    assert docs == [("a", "bonjour"), (f"c{suffix}:3", "sans id")]
    assert stats.skipped == {"malformed JSON line": 1, "missing or non-string field 'text'": 1,
                             "empty document": 1, "JSON line is not an object": 1}
    assert stats.locations["malformed JSON line"] == [f"{p}:2"]
    with pytest.raises(CorpusError, match=rf"c{suffix}:2: malformed JSON line"):
        read_all([p], strict=True)


def test_custom_fields(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text(json.dumps({"key": "k1", "body": "texte"}) + "\n", encoding="utf-8")
    docs, _ = read_all([p], text_field="body", id_field="key")
    assert docs == [("k1", "texte")]


def test_parquet(tmp_path):
    p = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": ["x", "y", "z"], "text": ["été", None, "hiver"]}), p)
    docs, stats = read_all([p])
    assert docs == [("x", "été"), ("z", "hiver")]
    assert stats.skipped == {"missing field 'text'": 1}
    with pytest.raises(CorpusError, match="no column 'body'"):
        read_all([p], text_field="body")


def test_bad_files_are_counted_and_strict_names_them(tmp_path):
    (tmp_path / "ok.txt").write_text("très bien", encoding="utf-8")
    (tmp_path / "latin.txt").write_bytes("déjà vu, garçon".encode("cp1252"))
    (tmp_path / "bin.txt").write_bytes(b"\x89PNG\x00\x00\x01")
    (tmp_path / "empty.txt").write_bytes(b"")
    docs, stats = read_all([tmp_path])
    assert docs == [("ok.txt", "très bien")]
    assert stats.skipped == {"invalid utf-8": 1, "binary content (NUL bytes)": 1,
                             "empty document": 1}
    with pytest.raises(CorpusError, match="bin.txt: binary content"):
        read_all([tmp_path], strict=True)


def test_encoding_auto_and_explicit(tmp_path):
    text = "Le garçon a déjà mangé des crêpes à l'été, naïf et œcuménique. " * 5
    (tmp_path / "latin.txt").write_bytes(text.encode("cp1252"))
    (tmp_path / "utf.txt").write_text("déjà", encoding="utf-8")
    article = open(Path(__file__).parent.parent / "seeds" / "000_20a184fcca39e5dc.txt", encoding="utf-8").read()
    (tmp_path / "article.txt").write_bytes(article.encode("cp1252"))
    docs, stats = read_all([tmp_path], encoding="auto")
    assert dict(docs) == {"latin.txt": text, "utf.txt": "déjà", "article.txt": article}
    docs, _ = read_all([tmp_path / "latin.txt"], encoding="cp1252")  # explicit: no guessing
    assert docs == [("latin.txt", text)]
    with pytest.raises(ParameterError, match="unknown codec"):   # a bad parameter: CLI exit 2
        CorpusReader([tmp_path], encoding="nope-8")


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        CorpusReader([tmp_path / "nope"])


def test_batches_are_bounded_and_ordered(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text("".join(json.dumps({"id": i, "text": "mot " * 50}) + "\n" for i in range(100)),
                 encoding="utf-8")
    r = CorpusReader([p], batch_bytes=1000)
    batches = list(r)
    assert len(batches) == 20
    assert all(b.n_bytes <= 1000 for b in batches)
    assert [b.doc_base for b in batches] == list(range(0, 100, 5))
    assert sum(b.n_docs for b in batches) == r.stats.documents == 100


def test_progress_reports_all_bytes(tmp_path):
    for i in range(3):
        (tmp_path / f"{i}.txt").write_text("abc " * 10, encoding="utf-8")
    seen = []
    r = CorpusReader([tmp_path], progress=seen.append)
    list(r)
    assert sum(seen) == r.total_bytes == 120


def _python_reference(path, text_field="text", id_field="id"):
    """What the JSONL reader must return: the definition, line by line."""
    docs = []
    for lineno, line in enumerate(path.read_bytes().split(b"\n"), 1):
        if not line.strip():
            continue
        obj = json.loads(line)
        t = obj.get(text_field)
        if isinstance(t, str) and t.strip() and "\x00" not in t:
            i = obj.get(id_field)
            docs.append((str(i) if i is not None else f"{path.name}:{lineno}", t))
    return docs


@pytest.mark.parametrize("chunk", [64, 1000, 1 << 20])
def test_jsonl_fast_path_equals_line_by_line(tmp_path, monkeypatch, chunk):
    import random
    rng = random.Random(chunk)
    rows = []
    for i in range(300):
        kind = rng.random()
        if kind < 0.05:
            rows.append("")                                  # blank line
        elif kind < 0.1:
            rows.append(json.dumps({"id": f"d{i}", "text": None}))
        elif kind < 0.15:
            rows.append(json.dumps({"id": f"d{i}", "text": " \u3000\t"}))  # whitespace only
        elif kind < 0.2:
            rows.append(json.dumps({"id": f"d{i}", "text": "a\x00b"}))
        elif kind < 0.3:
            rows.append(json.dumps({"text": f"sans id {i} é"}))
        else:
            rows.append(json.dumps({"id": f"d{i}", "text": f"texte {i} « déjà » 😀", "extra": [1, 2]}))
    p = tmp_path / "c.jsonl"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    from engine.corpus import CorpusReader as R
    monkeypatch.setattr(R, "_jsonl_lines", lambda *a: (_ for _ in ()).throw(AssertionError("slow path used")))
    docs, stats = read_all([p], json_chunk_bytes=chunk, batch_bytes=500)
    assert docs == _python_reference(p)
    expected_skips = sum(1 for r in rows if r and (json.loads(r)["text"] is None or not json.loads(r)["text"].strip()
                                                   or "\x00" in json.loads(r)["text"]))
    assert stats.n_skipped == expected_skips
    for loc in sum(stats.locations.values(), []):
        line = int(loc.rsplit(":", 1)[1])
        obj = json.loads(rows[line - 1])
        assert obj["text"] is None or not obj["text"].strip() or "\x00" in obj["text"]


def test_jsonl_irregular_chunk_falls_back_exactly(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text(json.dumps({"id": 1, "text": "un"}) + "\n" + json.dumps({"id": "x", "text": "deux"}) + "\n"
                 + json.dumps({"id": 2, "text": 5}) + "\n" + '{"id": 3, "text": "lone \\ud800"}\n', encoding="utf-8")
    docs, stats = read_all([p])
    assert docs == [("1", "un"), ("x", "deux")]
    assert stats.skipped == {"missing or non-string field 'text'": 1, "invalid unicode (lone surrogate)": 1}


def test_jsonl_many_arrow_chunks_equal_line_by_line(tmp_path):
    # documents big enough that Arrow's JSON reader returns several chunks per read
    import io

    import pyarrow.json as pj
    rows = []
    for i in range(400):
        t = None if i % 97 == 5 else "\t " if i % 89 == 3 else f"doc {i} " + "é mot " * (1000 + i)
        rows.append(json.dumps({"id": i, "text": t} if i % 7 else {"text": t}))
    p = tmp_path / "big.jsonl"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert pj.read_json(io.BytesIO(p.read_bytes())).column("text").num_chunks > 1
    docs, stats = read_all([p], batch_bytes=1 << 20)
    assert docs == _python_reference(p)
    assert stats.n_skipped == sum(1 for i in range(400) if i % 97 == 5 or i % 89 == 3)


def test_parquet_bad_rows_are_counted_with_their_row(tmp_path):
    # a string column written without validation: invalid UTF-8 must be caught, not tokenised
    texts = [b"bon", b"", b"a\x00b", b"caf\xc3", b"\xed\xa0\x80x", b"  \xe3\x80\x80", "déjà".encode(), b"ok"]
    offs = [0]
    for t in texts:
        offs.append(offs[-1] + len(t))
    arr = pa.Array.from_buffers(pa.string(), len(texts), [None, pa.py_buffer(bytes(memoryview(
        pa.array(offs, pa.int32()).buffers()[1]))), pa.py_buffer(b"".join(texts))])
    p = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"text": arr}), p, row_group_size=3)
    docs, stats = read_all([p])
    assert docs == [("bad.parquet:0", "bon"), ("bad.parquet:6", "déjà"), ("bad.parquet:7", "ok")]
    assert stats.skipped == {"empty document": 2, "binary content (NUL bytes)": 1,
                             "invalid utf-8": 2}
    assert sorted(sum(stats.locations.values(), [])) == [f"{p}:row {r}" for r in (1, 2, 3, 4, 5)]
