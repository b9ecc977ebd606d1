"""The reader on bad input (issue 9): every problem a counted skip with its reason and
location, or a warning, or (strict) one CorpusError naming the place; never a traceback,
never a silently wrong document."""
import contextlib
import gzip
import json
import os
import signal
import socket

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

import engine.corpus as corpus
from engine.corpus import CorpusError, CorpusReader, ReadStats
from engine.errors import ParameterError
from tests.test_corpus import read_all


def jsonl(rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


@contextlib.contextmanager
def no_hang(seconds=20):
    """Fail instead of blocking forever (opening a FIFO for reading waits for a writer)."""
    def boom(*_):
        raise AssertionError("the reader blocked")
    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ------------------------------------------------------------------ 1. invalid UTF-8 in JSONL
def test_invalid_utf8_in_jsonl_text_is_skipped_with_its_line(tmp_path):
    p = tmp_path / "b.jsonl"
    p.write_bytes(b'{"text":"bad \xff\xfe bytes"}\n{"id":"g","text":"good"}\n')
    docs, stats = read_all([p])
    assert docs == [("g", "good")]
    assert stats.skipped == {"invalid utf-8": 1}
    assert stats.locations["invalid utf-8"] == [f"{p}:1"]
    with pytest.raises(CorpusError, match=r"b\.jsonl:1: invalid utf-8 at byte 13"):
        read_all([p], strict=True)


def test_invalid_utf8_anywhere_on_the_line_same_on_both_paths(tmp_path):
    # in the id, in a field not read, in the text: the line is not UTF-8, whichever parser
    lines = [b'{"id":"\xe9t\xe9","text":"un"}', b'{"id":"x","extra":"\xc3","text":"deux"}',
             b'{"id":"y","text":"trois"}', b'{"id":"z","text":"caf\xc3\xa9 \xed\xa0\x80"}']
    clean = tmp_path / "c.jsonl"
    clean.write_bytes(b"\n".join(lines) + b"\n")
    fallback = tmp_path / "f.jsonl"   # a malformed line too: that chunk is parsed line by line
    fallback.write_bytes(b"\n".join(lines) + b"\n{oops\n")
    want_reasons = {"invalid utf-8": 3}
    for p in (clean, fallback):
        docs, stats = read_all([p])
        assert docs == [("y", "trois")]
        extra = {"malformed JSON line": 1} if p is fallback else {}
        assert stats.skipped == {**want_reasons, **extra}
        assert sorted(sum(stats.locations.values(), [])) == sorted(
            [f"{p}:1", f"{p}:2", f"{p}:4"] + ([f"{p}:5"] if extra else []))


def test_only_the_chunk_with_bad_bytes_takes_the_slow_path(tmp_path, monkeypatch):
    rows = [json.dumps({"id": f"d{i}", "text": f"texte {i}"}).encode() for i in range(40)]
    rows[25] = b'{"id":"d25","text":"x\x80y"}'
    p = tmp_path / "c.jsonl"
    p.write_bytes(b"\n".join(rows) + b"\n")
    calls = []
    slow = CorpusReader._jsonl_lines
    monkeypatch.setattr(CorpusReader, "_jsonl_lines", lambda self, *a: calls.append(a[2]) or slow(self, *a))
    docs, stats = read_all([p], json_chunk_bytes=120)
    assert docs == [(f"d{i}", f"texte {i}") for i in range(40) if i != 25]
    assert stats.locations == {"invalid utf-8": [f"{p}:26"]}
    assert len(calls) == 1


def test_invalid_utf8_jsonl_decoded_with_a_given_encoding(tmp_path):
    p = tmp_path / "b.jsonl"
    p.write_bytes(b'{"text":"bad \xff\xfe bytes"}\n')
    docs, stats = read_all([p], encoding="cp1252")
    assert docs == [("b.jsonl:1", "bad ÿþ bytes")] and stats.n_skipped == 0


# ------------------------------------------------------------------ 2. encodings
@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_encoding_applies_to_jsonl(tmp_path, suffix):
    raw = jsonl([{"id": "é1", "text": "café déjà vu, garçon"}, {"text": "œuvre « à part » – 5 €"}]).decode()
    data = raw.encode("cp1252")
    if suffix == ".jsonl.gz":
        data = gzip.compress(data)
    elif suffix == ".jsonl.zst":
        data = zstandard.ZstdCompressor().compress(data)
    p = tmp_path / f"c{suffix}"
    p.write_bytes(data)
    want = [("é1", "café déjà vu, garçon"), (f"c{suffix}:2", "œuvre « à part » – 5 €")]
    assert read_all([p], encoding="cp1252")[0] == want
    assert read_all([p], encoding="auto")[0] == want
    docs, stats = read_all([p])   # utf-8: the lines are not, and say so
    assert docs == [] and stats.skipped == {"invalid utf-8": 2}


def test_multibyte_codec_split_across_reads(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus.streams, "TRANSCODE_READ", 7)   # every character split somewhere (read by streams._Transcoded)
    rows = [{"id": f"文{i}", "text": f"日本語のテキスト {i} です"} for i in range(30)]
    for enc in ("shift_jis", "utf-16-le", "euc-jp"):
        p = tmp_path / f"{enc}.jsonl"
        p.write_bytes(jsonl(rows).decode().encode(enc))
        docs, stats = read_all([p], encoding=enc, json_chunk_bytes=100)
        assert docs == [(r["id"], r["text"]) for r in rows] and stats.n_skipped == 0, enc


def test_undecodable_byte_in_a_transcoded_line_is_located(tmp_path):
    p = tmp_path / "c.jsonl"   # 0x81 is undefined in cp1252
    p.write_bytes('{"text":"un"}\n{"text":"déjà \x81 deux"}\n{"text":"trois é"}\n'.encode("latin-1"))
    docs, stats = read_all([p], encoding="cp1252")
    assert docs == [("c.jsonl:1", "un"), ("c.jsonl:3", "trois é")]
    assert stats.locations == {"invalid cp1252": [f"{p}:2"]}
    with pytest.raises(CorpusError, match=r"c\.jsonl:2: invalid cp1252 at byte 14"):
        read_all([p], encoding="cp1252", strict=True)


TEXT = "Ça va ? Très bien, merci — 日本 😀"


@pytest.mark.parametrize("enc,bom", [("utf-16-le", True), ("utf-16-be", True), ("utf-16-le", False),
                                     ("utf-16-be", False), ("utf-32-le", True), ("utf-32-be", False)])
def test_utf16_32_text_files(tmp_path, enc, bom):
    raw = (("\ufeff" if bom else "") + TEXT).encode(enc)
    p = tmp_path / "u.txt"
    p.write_bytes(raw)
    assert read_all([p], encoding="auto")[0] == [("u.txt", TEXT)]
    assert read_all([p], encoding=enc)[0] == [("u.txt", TEXT)]   # explicit: the NUL bytes are the codec's
    if bom:   # read as utf-8 (the default): said to be UTF-16/32, not binary
        name = "UTF-16" if "16" in enc else "UTF-32"
        assert read_all([p])[1].locations == {
            f"{name} text read as utf-8 (use --encoding {name.lower()} or auto)": [str(p)]}


@pytest.mark.parametrize("enc,bom", [("utf-16", True), ("utf-16-le", False), ("utf-16-be", False),
                                     ("utf-32", True)])
def test_utf16_32_jsonl(tmp_path, enc, bom):
    rows = [{"id": "a", "text": TEXT}, {"text": "deux é"}]
    raw = jsonl(rows).decode().encode(enc)
    assert raw.startswith((b"\xff\xfe", b"\xfe\xff")) == bom
    for name, data in (("u.jsonl", raw), ("u.jsonl.gz", gzip.compress(raw))):
        p = tmp_path / name
        p.write_bytes(data)
        want = [("a", TEXT), (f"{name}:2", "deux é")]
        assert read_all([p], encoding="auto")[0] == want
        assert read_all([p], encoding=enc)[0] == want
        if bom:   # the default utf-8: one line for the file, not one per line
            name = "UTF-16" if "16" in enc else "UTF-32"
            assert read_all([p])[1].locations == {
                f"{name} text read as utf-8 (use --encoding {name.lower()} or auto)": [str(p)]}


def test_binary_stays_binary_under_auto(tmp_path):
    (tmp_path / "bin.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")
    docs, stats = read_all([tmp_path], encoding="auto")
    assert docs == [] and stats.locations == {"binary content (NUL bytes)": [str(tmp_path / "bin.txt")]}


def test_auto_short_cp1252_line_and_per_file(tmp_path):
    (tmp_path / "short.txt").write_bytes("café déjà vu".encode("cp1252"))
    (tmp_path / "de.txt").write_bytes("Über Straße größer".encode("cp1252"))
    (tmp_path / "utf8.txt").write_text("déjà vu en UTF-8", encoding="utf-8")
    (tmp_path / "ru.txt").write_bytes("Съешь же ещё этих мягких французских булок, да выпей чаю.".encode("cp1251"))
    (tmp_path / "line.jsonl").write_bytes('{"text":"café déjà vu"}\n'.encode("cp1252"))
    docs, stats = read_all([tmp_path], encoding="auto")
    assert dict(docs) == {"short.txt": "café déjà vu", "de.txt": "Über Straße größer",
                          "utf8.txt": "déjà vu en UTF-8", "line.jsonl:1": "café déjà vu",
                          "ru.txt": "Съешь же ещё этих мягких французских булок, да выпей чаю."}
    assert stats.n_skipped == 0


def test_auto_on_a_long_utf8_jsonl_cut_inside_a_character(tmp_path):
    # the detection sample (64 KB) ends inside a 2-byte character: still UTF-8
    rows = [{"id": str(i), "text": "é" * 101} for i in range(400)]
    p = tmp_path / "long.jsonl"
    p.write_bytes(jsonl(rows))
    docs, stats = read_all([p], encoding="auto")
    assert docs == [(r["id"], r["text"]) for r in rows] and stats.n_skipped == 0


@pytest.mark.parametrize("name", ["rot13", "base64", "bz2", "hex", "zlib", "uu"])
def test_only_text_codecs(tmp_path, name):
    with pytest.raises(ParameterError, match="not a text encoding"):
        CorpusReader([tmp_path], encoding=name)


def test_codec_that_decodes_nothing_or_makes_surrogates(tmp_path):
    with pytest.raises(ParameterError, match="'undefined'"):
        CorpusReader([tmp_path], encoding="undefined")
    (tmp_path / "s.txt").write_bytes(b"lone \\ud800 surrogate")
    (tmp_path / "s.jsonl").write_bytes(b'{"text": "x"}\n')
    docs, stats = read_all([tmp_path], encoding="unicode_escape")
    assert docs == [("s.jsonl:1", "x")]
    assert stats.locations == {"invalid unicode (lone surrogate)": [str(tmp_path / "s.txt")]}


def test_unknown_codec_is_a_parameter_error(tmp_path):
    import engine.text
    assert engine.text.ParameterError is ParameterError
    with pytest.raises(ParameterError, match="unknown codec 'nope-8'"):
        CorpusReader([tmp_path], encoding="nope-8")


def test_bom_is_not_content(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbfbonjour")
    (tmp_path / "b.jsonl").write_bytes(b'\xef\xbb\xbf{"text":"salut"}\n')
    for enc in ("utf-8", "auto"):
        assert read_all([tmp_path], encoding=enc)[0] == [("a.txt", "bonjour"), ("b.jsonl:1", "salut")]


# ------------------------------------------------------------------ 3. containers
DOCS = [{"id": f"d{i}", "text": f"document numéro {i} " + "mot " * 30} for i in range(3000)]


def test_truncated_gzip_keeps_what_came_before(tmp_path):
    p = tmp_path / "t.jsonl.gz"
    p.write_bytes(gzip.compress(jsonl(DOCS))[:-20])
    docs, stats = read_all([p])
    n = len(docs)
    assert n > 2900 and docs == [(d["id"], d["text"]) for d in DOCS[:n]]
    reason = f"truncated gzip stream ({n} documents read before it)"
    assert stats.skipped == {reason: 1} and stats.locations[reason] == [f"{p}:{n + 1}"]
    with pytest.raises(CorpusError, match=rf"t\.jsonl\.gz:{n + 1}: truncated gzip stream"):
        read_all([p], strict=True)


def test_truncated_zstd_is_detected(tmp_path):
    p = tmp_path / "t.jsonl.zst"
    p.write_bytes(zstandard.ZstdCompressor().compress(jsonl(DOCS))[:-10])
    docs, stats = read_all([p])
    n = len(docs)
    assert docs == [(d["id"], d["text"]) for d in DOCS[:n]] and n < len(DOCS)
    assert stats.locations == {f"truncated zstd stream ({n} documents read before it)": [f"{p}:{n + 1}"]}
    with pytest.raises(CorpusError, match="truncated zstd stream"):
        read_all([p], strict=True)


def test_multi_frame_zstd_is_read_whole(tmp_path):
    c = zstandard.ZstdCompressor()
    p = tmp_path / "m.jsonl.zst"
    p.write_bytes(c.compress(jsonl(DOCS[:10])) + c.compress(jsonl(DOCS[10:20])))
    docs, stats = read_all([p])
    assert [i for i, _ in docs] == [d["id"] for d in DOCS[:20]] and stats.n_skipped == 0


@pytest.mark.parametrize("suffix,pack", [(".jsonl.gz", gzip.compress),
                                         (".jsonl.zst", zstandard.ZstdCompressor().compress)])
def test_trailing_junk_keeps_the_whole_stream(tmp_path, suffix, pack):
    p = tmp_path / f"j{suffix}"
    p.write_bytes(pack(jsonl(DOCS[:50])) + b"this is not compressed")
    docs, stats = read_all([p])
    assert docs == [(d["id"], d["text"]) for d in DOCS[:50]]
    kind = "gzip" if suffix.endswith("gz") else "zstd"
    assert stats.locations == {f"trailing junk after the {kind} stream (50 documents read before it)": [f"{p}:51"]}


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst"])
def test_not_compressed_at_all(tmp_path, suffix):
    p = tmp_path / f"n{suffix}"
    p.write_bytes(jsonl(DOCS[:3]))
    docs, stats = read_all([p])
    kind = "gzip" if suffix.endswith("gz") else "zstd"
    assert docs == [] and stats.locations == {f"not a {kind} file": [f"{p}:1"]}
    with pytest.raises(CorpusError, match=rf"n{suffix}:1: not a {kind} file"):
        read_all([p], strict=True)


def test_corrupt_gzip_data(tmp_path):
    data = bytearray(gzip.compress(jsonl(DOCS)))
    data[len(data) // 2:len(data) // 2 + 32] = b"\x00" * 32
    p = tmp_path / "c.jsonl.gz"
    p.write_bytes(bytes(data))
    docs, stats = read_all([p])
    # deflate may decode damaged data into other text before the CRC check at the end says
    # so: what precedes the damage is exact, and the damage is reported
    assert docs[:1000] == [(d["id"], d["text"]) for d in DOCS[:1000]]
    (reason,) = [r for r in stats.skipped if r.startswith("corrupt gzip stream")]
    assert "CRC check failed" in reason and reason.endswith(f"({len(docs)} documents read before it)")


@pytest.mark.parametrize("name,data", [("e.jsonl.gz", b""), ("e.jsonl.zst", b""), ("e.jsonl", b""),
                                       ("e.parquet", b""), ("z.jsonl.gz", gzip.compress(b"")),
                                       ("z.jsonl.zst", zstandard.ZstdCompressor().compress(b""))])
def test_empty_files_are_reported(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    docs, stats = read_all([p])
    assert docs == [] and stats.locations == {"empty file": [str(p)]}


def _parquet_with_corrupt_group(tmp_path):
    t = pa.table({"id": list(range(3000)), "text": [f"texte numéro {i}" for i in range(3000)]})
    p = tmp_path / "c.parquet"
    pq.write_table(t, p, row_group_size=1000, compression="none", use_dictionary=False)
    page = pq.ParquetFile(p).metadata.row_group(1).column(1).data_page_offset
    raw = bytearray(p.read_bytes())
    raw[page:page + 40] = b"\xff" * 40   # the page header of row group 1's text
    p.write_bytes(bytes(raw))
    return p


def test_corrupt_parquet_group_is_reported_and_the_others_kept(tmp_path):
    p = _parquet_with_corrupt_group(tmp_path)
    docs, stats = read_all([p])
    assert docs == [(str(i), f"texte numéro {i}") for i in list(range(1000)) + list(range(2000, 3000))]
    (reason,) = stats.skipped
    assert reason.startswith("corrupt Parquet (row group 1: ") and stats.skipped[reason] == 1000
    assert stats.locations[reason] == [f"{p}:row group 1"]
    with pytest.raises(CorpusError, match=r"c\.parquet:row group 1: corrupt Parquet"):
        read_all([p], strict=True)


def test_parquet_overwritten_anywhere_never_raises(tmp_path):
    t = pa.table({"text": [f"texte {i} " * 5 for i in range(3000)]})
    src = tmp_path / "s.parquet"
    pq.write_table(t, src, row_group_size=1000)
    raw = src.read_bytes()
    rng = np.random.default_rng(0)
    for k, frac in enumerate((0.05, 0.3, 0.5, 0.7, 0.95, 0.999)):
        bad = bytearray(raw)
        m = int(len(bad) * frac)
        bad[m:m + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
        p = tmp_path / f"b{k}.parquet"
        p.write_bytes(bytes(bad))
        docs, stats = read_all([p])
        assert all(t == f"texte {int(i.split(':')[1])} " * 5 for i, t in docs)
        assert len(docs) + stats.n_skipped >= 1


def test_not_parquet(tmp_path):
    p = tmp_path / "x.parquet"
    p.write_bytes(b"PAR1 but not really")
    docs, stats = read_all([p])
    (reason,) = stats.skipped
    assert docs == [] and reason.startswith("unreadable Parquet (") and stats.locations[reason] == [str(p)]


# ------------------------------------------------------------------ 4. JSON details
def test_two_objects_on_one_line(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"id":"a","text":"un"}{"id":"b","text":"deux"}\n{"id":"c","text":"trois"}\n'
                 '{"id":"d","text":""}\n{"id":"e","text":"cinq"}\n', encoding="utf-8")
    docs, stats = read_all([p])
    assert docs == [("c", "trois"), ("e", "cinq")]
    assert stats.locations == {"malformed JSON line": [f"{p}:1"], "empty document": [f"{p}:3"]}
    with pytest.raises(CorpusError, match=r"c\.jsonl:1: malformed JSON line"):
        read_all([p], strict=True)


def test_two_objects_on_a_line_hidden_by_a_blank_line(tmp_path):
    # as many Arrow rows as lines: the blank line and the double line cancel out
    p = tmp_path / "c.jsonl"
    p.write_text('{"text":"un"}\n\n{"text":"a"} {"text":"b"}\n{"text":"quatre"}\n', encoding="utf-8")
    docs, stats = read_all([p])
    assert docs == [("c.jsonl:1", "un"), ("c.jsonl:4", "quatre")]
    assert stats.locations == {"malformed JSON line": [f"{p}:3"]}


ID_LINES = ['{"id": 1, "text": "a"}', '{"id": 1.0, "text": "b"}', '{"id": 9007199254740993, "text": "c"}',
            '{"id": "s", "text": "d"}', '{"id": true, "text": "e"}', '{"id": -0, "text": "f"}',
            '{"id": 1e5, "text": "g"}', '{"id": null, "text": "h"}', '{"text": "i"}',
            '{"id": [1, "x"], "text": "j"}', '{"id": 12, "text": "k"}']
ID_WANT = ["1", "1.0", "9007199254740993", "s", "true", "-0", "1e5", "c.jsonl:8", "c.jsonl:9", '[1,"x"]', "12"]


@pytest.mark.parametrize("chunk", [16, 100, 1 << 20])
def test_ids_are_the_json_text_on_every_path(tmp_path, chunk):
    p = tmp_path / "c.jsonl"
    p.write_text("\n".join(ID_LINES) + "\n", encoding="utf-8")
    docs, stats = read_all([p], json_chunk_bytes=chunk)
    assert [i for i, _ in docs] == ID_WANT and stats.n_skipped == stats.n_warnings == 0


def test_int_ids_stay_on_the_fast_path(tmp_path, monkeypatch):
    monkeypatch.setattr(CorpusReader, "_jsonl_lines", lambda *a: (_ for _ in ()).throw(AssertionError("slow path")))
    p = tmp_path / "c.jsonl"
    p.write_text("".join(f'{{"id": {i}, "text": "t{i}"}}\n' for i in (1, 2, 9007199254740993, -7)), encoding="utf-8")
    assert read_all([p])[0] == [("1", "t1"), ("2", "t2"), ("9007199254740993", "t9007199254740993"), ("-7", "t-7")]


def test_mixed_int_float_ids_are_not_floats(tmp_path):
    p = tmp_path / "c.jsonl"
    p.write_text('{"id": 1, "text": "a"}\n{"id": 2.5, "text": "b"}\n', encoding="utf-8")
    assert read_all([p])[0] == [("1", "a"), ("2.5", "b")]


def test_parquet_ids_as_text(tmp_path):
    p = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": pa.array([1, None, 3], pa.int64()), "text": ["un", "deux", "trois"]}), p)
    assert read_all([p])[0] == [("1", "un"), ("c.parquet:1", "deux"), ("3", "trois")]
    pq.write_table(pa.table({"id": [1.5, 2.0], "text": ["un", "deux"]}), p)
    assert read_all([p])[0] == [("1.5", "un"), ("2.0", "deux")]


def test_duplicate_ids_are_warnings_and_documents_kept(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"id":"x","text":"un"}\n{"id":"y","text":"deux"}\n{"id":"x","text":"trois"}\n'
                 '{"text":"sans id"}\n', encoding="utf-8")
    b.write_text('{"id":"y","text":"quatre"}\n{"id":"z","text":"cinq"}\n{oops\n', encoding="utf-8")
    docs, stats = read_all([a, b])
    assert docs == [("x", "un"), ("y", "deux"), ("x", "trois"), ("a.jsonl:4", "sans id"),
                    ("y", "quatre"), ("z", "cinq")]
    assert stats.documents == 6 and stats.skipped == {"malformed JSON line": 1}
    assert stats.warnings == {"duplicate id (document kept)": 2}
    assert stats.warning_locations["duplicate id (document kept)"] == [f"{a}:3", f"{b}:1"]
    assert stats.summary_lines() == [f"skipped 1 (malformed JSON line): {b}:3",
                                     f"warning: 2 (duplicate id (document kept)): {a}:3, {b}:1"]
    d = stats.as_dict()
    assert d["warnings"] == {"duplicate id (document kept)": 2}
    assert d["warning_locations"]["duplicate id (document kept)"] == [f"{a}:3", f"{b}:1"]
    read_all([a, b], strict=False)
    with pytest.raises(CorpusError, match="malformed"):   # strict raises on skips, not on warnings
        read_all([a, b], strict=True)


def test_parquet_duplicate_ids(tmp_path):
    p = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "a", None, "b"], "text": ["1", "2", "3", "4", "5"]}), p)
    docs, stats = read_all([p])
    assert [i for i, _ in docs] == ["a", "b", "a", "c.parquet:3", "b"]
    assert stats.warning_locations == {"duplicate id (document kept)": [f"{p}:row 2", f"{p}:row 4"]}


def test_id_set_matches_a_python_set():
    rng = np.random.default_rng(1)
    ids = [f"id{v}" for v in rng.integers(0, 5000, 20000)]
    s = corpus._IdSet()
    seen, dups = set(), []
    for start in range(0, len(ids), 777):
        part = ids[start:start + 777]
        dups += (s.add(part) + start).tolist()
    for k, i in enumerate(ids):
        if i in seen:
            assert dups and dups[0] == k
            dups.pop(0)
        seen.add(i)
    assert not dups and len(s.runs) <= 16


def test_read_stats_summary_and_dict():
    st = ReadStats()
    for k in range(7):
        st.warn("w", f"f:{k}")
    st.skip("s", "f:1", n=3)
    assert st.summary_lines() == ["skipped 3 (s): f:1 ...", "warning: 7 (w): f:0, f:1, f:2, f:3, f:4 ..."]
    assert st.n_skipped == 3 and st.n_warnings == 7


# ------------------------------------------------------------------ 5. paths
def test_same_file_by_several_paths_is_read_once(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    f = d / "a.txt"
    f.write_text("bonjour", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(f)
    docs, stats = read_all([f, f, d, tmp_path / "link.txt"])
    assert docs == [("a.txt", "bonjour")]
    assert stats.warnings == {"same file given more than once (read once)": 3}
    assert stats.warning_locations["same file given more than once (read once)"] == [
        str(f), str(f), str(tmp_path / "link.txt")]
    assert stats.n_skipped == 0


def test_non_regular_entries_in_a_folder_are_reported_never_opened(tmp_path):
    (tmp_path / "ok.txt").write_text("bien", encoding="utf-8")
    os.mkfifo(tmp_path / "pipe.jsonl")
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s.sock"))
    (tmp_path / "loop").symlink_to(tmp_path)   # a folder loop: walked once
    try:
        with no_hang():
            docs, stats = read_all([tmp_path])
            assert docs == [("ok.txt", "bien")]
            assert stats.locations == {"not a regular file (FIFO)": [str(tmp_path / "pipe.jsonl")],
                                       "broken symlink": [str(tmp_path / "gone.txt")],
                                       "not a regular file (socket)": [str(tmp_path / "s.sock")]}
            with pytest.raises(CorpusError, match="broken symlink|not a regular file"):
                read_all([tmp_path], strict=True)
    finally:
        sock.close()


def test_fifo_or_broken_link_given_directly_is_one_error(tmp_path):
    os.mkfifo(tmp_path / "pipe.jsonl")
    with no_hang():
        with pytest.raises(CorpusError, match=r"not a regular file or folder: .*pipe\.jsonl \(FIFO\)"):
            CorpusReader([tmp_path / "pipe.jsonl"])
    (tmp_path / "gone.txt").symlink_to(tmp_path / "nowhere.txt")
    with pytest.raises(CorpusError, match="broken symlink"):
        CorpusReader([tmp_path / "gone.txt"])
    with pytest.raises(CorpusError, match="does not exist"):
        CorpusReader([tmp_path / "nope"])


def test_folder_without_corpus_files_is_one_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "only").mkdir()
    (tmp_path / "only" / "README.md").write_text("about", encoding="utf-8")
    (tmp_path / "only" / "notes.csv").write_text("a,b", encoding="utf-8")
    for d in ("empty", "only"):
        with pytest.raises(CorpusError, match=r"no corpus file found in .*\*\.jsonl"):
            CorpusReader([tmp_path / d])


def test_deeply_nested_json_is_a_malformed_line(tmp_path):
    deep = b"[" * 100000 + b"]" * 100000
    p = tmp_path / "a.jsonl"
    p.write_bytes(b'{"text": "un"}\n' + deep + b'\n{"text": "deux", "meta": ' + deep + b'}\n{"text": "trois"}\n')
    docs, stats = read_all([p])
    assert docs == [("a.jsonl:1", "un"), ("a.jsonl:4", "trois")]
    assert stats.locations == {"malformed JSON line (nested too deeply)": [f"{p}:2", f"{p}:3"]}
