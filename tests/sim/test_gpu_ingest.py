"""cuDF ingest under the simulator, with a stand-in cudf (tests/sim/cudf_standin.py): the
reader's documents, ids, skips, locations and warnings through the device path equal the host
reader's on files with every kind of flaw (the flawed chunks taking the host path, counted
with their reason); the three jobs give the same tables through it as on the CPU, with the
text no longer copied to the device; the pure logic (row groups, string columns, to_cudf)."""
import json
import sys
import types

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from engine import ngrams
from engine.backend import get_backend
from engine.corpus import CorpusError, CorpusReader, batch_from_texts
from engine.corpus.batch import DeviceBatch
from engine.errors import ParameterError
from engine.gpu import frames
from engine.gpu.ingest import DeviceIngest, column_batch, plan_row_groups, split_batch
from engine.resources import seeds_dir
from tests.sim.corpora import jsonl_and_parquet, real_texts, write_jsonl, write_parquet
from tests.sim.cudf_standin import StandIn, StringColumn
from tests.sim.jobs import JOBS, tables

GPU, CPU = get_backend("gpu"), get_backend("cpu")


def _docs(reader):
    """(doc_base, id, text) of every document, in order, and the reader's stats."""
    out = []
    for b in reader:
        h = b.host() if isinstance(b, DeviceBatch) else b
        out += [(h.doc_base + i, h.doc_ids[i], h.text(i)) for i in range(h.n_docs)]
    return out, {k: v for k, v in reader.stats.as_dict().items()}


def _both(paths, **options):
    """The host reader's (docs, stats) and the device path's (docs, stats, reader, stand-in)."""
    host = _docs(CorpusReader(paths, **options))
    fake = StandIn()
    r = CorpusReader(paths, **options).on_device(GPU, fake)
    return host, _docs(r), r, fake


CLEAN = [{"id": f"d{i}", "text": f"texte numéro {i} 😀 fin"} for i in range(40)]
# lines cuDF may read (the device checks find the flaws) and lines the cheap check sends to
# the host parser (their chunk only: small chunks keep the rest of the file on cuDF)
DEVICE_FLAWS = [b'{"id": "a", "text": "   "}\n', b'{"id": "b"}\n', b'{"id": "c", "text": "x\\u0000y"}\n',
                b'{"text": "no id here"}\n', b'{"id": "d1", "text": "a duplicate id"}\n',
                b'{"id": "e", "text": "\\u2003\\u00a0"}\n', b'{"id": "f", "other": {"text": "nested"}}\n']
HOST_FLAWS = [b"\n", b"   \n", b'{"id": "g", "text": "bad \xff utf-8"}\n', b'{"id": "h", "text": "tab\there"}\n',
              b'{"id": "i", "text": 12}\n', b'{"id": 7, "text": "number id"}\n', b'{"id": "j", "text": "x",}\n',
              b'{"id": "k", "text": "lone \\ud800"}\n', b'{"id": "l", "v": NaN, "text": "nan"}\n',
              b'{"id": "m", "text": "a"} {"id": "n", "text": "b"}\n', b'not json\n', b'[1, 2]\n',
              b'{"id": "o", "text": "a", "text": "b"}\n', b'{"id": "p", "text": "cr"}\r\n',
              b'{"id": "q", "te\\u0078t": 5, "text": "escaped key"}\n', b'{"id": "r", "text": "trunc']


def _lines(kinds):
    out = []
    for k, flaw in enumerate(kinds):
        out += [json.dumps(CLEAN[(3 * k + j) % 40]).encode() + b"\n" for j in range(3)] + [flaw]
    return out


@pytest.mark.parametrize("chunk", [64, 300, 1 << 20])
def test_reader_device_path_equals_host_reader(tmp_path, chunk):
    clean = write_jsonl(tmp_path / "clean.jsonl", [json.dumps(c).encode() + b"\n" for c in CLEAN])
    dev = write_jsonl(tmp_path / "dev.jsonl", _lines(DEVICE_FLAWS))
    mixed = write_jsonl(tmp_path / "mixed.jsonl", _lines(DEVICE_FLAWS + HOST_FLAWS[:-1]) + [HOST_FLAWS[-1]])
    before = GPU.copied()
    host, device, r, fake = _both([clean, dev, mixed], json_chunk_bytes=chunk)
    h2d = GPU.copied()[0] - before[0]
    assert device == host
    assert host[1]["skipped"] and host[1]["warnings"]        # the battery has skips and warnings
    c = r.stats.ingest_counters()
    # every chunk went to the device for the check (kernels.cuda.jsonl_check), and the ones
    # cuDF parsed went again: cuDF reads its byte range from the file itself
    files = sum(p.stat().st_size for p in (clean, dev, mixed))
    assert h2d >= files + c["ingest_cudf_file_bytes"] > files
    assert fake.json_calls > 0 and c["ingest_cudf_pieces"] > 0 and c["ingest_host_pieces"] > 0
    assert c["ingest"] == "cudf+host" and "blank lines" in c["ingest_reason"]
    if chunk == 1 << 20:   # one chunk a file: the clean files by cuDF, the mixed one by the host parser
        assert c["ingest_cudf_pieces"] == 2 and c["ingest_host_pieces"] == 1


@pytest.mark.parametrize("flaw", DEVICE_FLAWS[:3] + HOST_FLAWS[2:5])
def test_strict_mode_raises_the_host_readers_error(tmp_path, flaw):
    p = write_jsonl(tmp_path / "s.jsonl", [json.dumps(c).encode() + b"\n" for c in CLEAN[:5]] + [flaw])
    with pytest.raises(CorpusError) as host:
        list(CorpusReader([p], strict=True))
    with pytest.raises(CorpusError) as device:
        list(CorpusReader([p], strict=True).on_device(GPU, StandIn()))
    assert str(device.value) == str(host.value) and "s.jsonl:6: " in str(host.value)


def test_files_the_device_path_leaves_to_the_host(tmp_path):
    import gzip
    lines = [json.dumps(c).encode() + b"\n" for c in CLEAN]
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(gzip.compress(b"".join(lines)))
    bom = write_jsonl(tmp_path / "bom.jsonl", [b"\xef\xbb\xbf"] + lines)
    txt = tmp_path / "t.txt"
    txt.write_text("un texte à part")
    host, device, r, fake = _both([gz, bom, txt])
    assert device == host
    reasons = r.stats.ingest_counters()["ingest_reason"]
    assert "compressed JSONL (1)" in reasons and "text file (1)" in reasons
    # the chunk after a byte-order mark is read by the host parser; nothing by cuDF here
    assert "a byte-order mark (1)" in reasons and fake.json_calls == 0
    enc = _both([bom], encoding="latin-1")
    assert enc[1] == enc[0] and "encoding latin-1" in enc[2].stats.ingest_counters()["ingest_reason"]


def test_device_ingest_is_chosen_explicitly():
    r = CorpusReader([seeds_dir()])
    assert DeviceIngest.choose(CPU, r) == (None, "CPU backend")
    assert DeviceIngest.choose(GPU, r)[1] == "CUDA simulator (cuDF needs a real GPU)"
    assert DeviceIngest.choose(GPU, r, StandIn())[1] is None
    odd = CorpusReader([seeds_dir()], text_field='te"xt')
    assert "not a plain ASCII name" in DeviceIngest.choose(GPU, odd, StandIn())[1]
    # a job on a reader without a stand-in: host reads, and the stats say why
    res = ngrams.run(CorpusReader([seeds_dir()]), GPU, ngrams.NgramConfig(n="1", top=5))
    assert res.stats.counters["ingest"] == "host" and "CUDA simulator" in res.stats.counters["ingest_reason"]
    assert "ingest" not in ngrams.run(CorpusReader([seeds_dir()]), CPU, ngrams.NgramConfig(n="1")).stats.counters


def test_parquet_device_path_equals_host_reader(tmp_path):
    texts = [c["text"] for c in CLEAN] + [None, "  ", "a\x00b", "fine", "\u3000"]
    p1 = write_parquet(tmp_path / "a.parquet", texts, list(range(len(texts))), 7)
    p2 = write_parquet(tmp_path / "b.parquet", texts, [f"x{i % 9}" for i in range(len(texts))], 100)
    # invalid UTF-8 in a string column (written without validation)
    raw = [t.encode() for t in texts if t] + [b"bad \xff"]
    arr = pa.Array.from_buffers(pa.string(), len(raw), [None, pa.py_buffer(np.cumsum([0] + [len(x) for x in raw]).astype(np.int32)),
                                                       pa.py_buffer(b"".join(raw))])
    p3 = tmp_path / "c.parquet"
    pq.write_table(pa.table({"text": arr}), p3, row_group_size=10)
    host, device, r, fake = _both([p1, p2, p3], batch_bytes=200)
    assert device == host and fake.parquet_calls == 7 + 1 + 5
    assert set(host[1]["skipped"]) == {"missing field 'text'", "empty document", "binary content (NUL bytes)",
                                       "invalid utf-8"}
    assert r.stats.ingest_counters()["ingest"] == "cudf"


def _corpus(tmp_path):
    """The seed articles, two edited copies (MinHash pairs) and Python reference topics, as a
    JSONL file and a Parquet file."""
    return jsonl_and_parquet(tmp_path, real_texts())


@pytest.mark.parametrize("job", list(JOBS))
def test_jobs_through_device_ingest_equal_cpu_and_copy_less(tmp_path, job):
    paths = _corpus(tmp_path)
    mod, cfg = JOBS[job]
    cpu = mod.run(CorpusReader(paths), CPU, cfg)
    via_host = mod.run(CorpusReader(paths), GPU, cfg)
    via_cudf = mod.run(CorpusReader(paths).on_device(GPU, StandIn()), GPU, cfg)
    for tc, th, td in zip(tables(job, cpu), tables(job, via_host), tables(job, via_cudf)):
        assert tc.num_rows > 0 and th.equals(tc) and td.equals(tc)
    s = via_cudf.stats
    assert s.counters["ingest"] == "cudf" and s.counters["ingest_cudf_documents"] == s.documents == cpu.stats.documents
    assert s.skipped == cpu.stats.skipped and s.bytes == cpu.stats.bytes
    # the same batches on the device and on the host: the text and its offsets no longer
    # cross to the device (the batches' boundaries are the same, so is every other copy)
    device_batches = list(CorpusReader(paths).on_device(GPU, StandIn()))
    host_batches = [b.host() for b in device_batches]
    on_dev, on_host = mod.run(device_batches, GPU, cfg), mod.run(host_batches, GPU, cfg)
    assert tables(job, on_dev)[0].equals(tables(job, cpu)[0])
    text = sum(b.data.nbytes + b.offsets.nbytes for b in host_batches)
    assert on_host.stats.host_to_device_bytes - on_dev.stats.host_to_device_bytes >= text > s.bytes
    if job == "minhash":   # verification gathers the candidates' texts on the device too
        assert s.counters["verified_pairs"] > 0
        assert on_dev.stats.device_to_host_bytes <= on_host.stats.device_to_host_bytes + 8 * s.documents


def test_plan_row_groups():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ParameterError, match="batch_bytes"):
            plan_row_groups([1, 2], bad)
    assert plan_row_groups([5, 5, 30, 1, 1, 1], 10) == [[0, 1], [2], [3, 4, 5]]
    assert plan_row_groups([], 10) == []


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_string_column_to_device_arrays_and_split(dtype):
    texts = ["un", "", "déjà vu", "😀 fin", "encore un texte", "x"]
    col = StringColumn.from_values(texts)
    col.children = (type(col.children[0])(np.asarray(col.children[0]).astype(dtype)),)
    data, off = column_batch(GPU, col, len(texts))
    assert off.dtype == np.int64 and data.dtype == np.uint8
    b = DeviceBatch(list("abcdef"), data, off, 0, GPU, sum(len(t.encode()) for t in texts))
    assert [b.text(i) for i in range(6)] == texts and b.host().n_bytes == b.n_bytes
    parts = split_batch(b, 8)
    assert len(parts) > 1 and [t for p in parts for t in (p.text(i) for i in range(p.n_docs))] == texts
    assert sum(p.n_bytes for p in parts) == b.n_bytes and [i for p in parts for i in p.doc_ids] == list("abcdef")
    with pytest.raises(ValueError, match="offsets for"):
        column_batch(GPU, col, 2)
    with pytest.raises(TypeError, match="not a string column"):
        column_batch(GPU, object(), 0)
    empty = StringColumn.from_values(["", None])
    empty.base_data = None                     # cudf keeps no character buffer for no characters
    data, off = column_batch(GPU, empty, 2)
    assert data.size == 0 and off.size == 3


def test_to_cudf_without_cudf_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "cudf", None)     # import cudf -> ImportError
    with pytest.raises(frames.CudfUnavailable) as e:
        frames.to_cudf(pa.table({"x": [1]}))
    assert "\n" not in str(e.value) and "corpus-engine[gpu]" in str(e.value)


def test_to_cudf_hands_the_arrow_table_to_cudf(monkeypatch):
    seen = []
    fake = types.SimpleNamespace(DataFrame=types.SimpleNamespace(from_arrow=lambda t: seen.append(t) or "frame"))
    monkeypatch.setitem(sys.modules, "cudf", fake)
    res = ngrams.run(batch_from_texts(["un deux un"]), "cpu", ngrams.NgramConfig(n="1"))
    assert res.to_cudf() == "frame" and seen[0].equals(res.table())


def test_parquet_row_groups_counted_as_copied_to_the_device(tmp_path):
    """cuDF copies each row group's text column chunk (its file bytes, compressed) to the
    device: counted in the backend's host-to-device bytes, with the 16 bytes of the batch's
    first and last offsets' index; nothing else crosses up for a clean file."""
    texts = [f"document {i} " + "mot " * (i % 17) for i in range(60)]
    for codec in ("snappy", "none"):
        p = tmp_path / f"{codec}.parquet"
        pq.write_table(pa.table({"id": [f"i{i}" for i in range(60)], "text": texts}), p, row_group_size=25,
                       compression=codec)
        meta = pq.ParquetFile(p).metadata
        chunks = [meta.row_group(g).column(1).total_compressed_size for g in range(meta.num_row_groups)]
        assert meta.row_group(0).column(1).path_in_schema == "text" and len(chunks) == 3
        list(CorpusReader([p]).on_device(GPU, StandIn()))     # the normalisation tables go up once
        before = GPU.copied()[0]
        docs = _docs(CorpusReader([p]).on_device(GPU, StandIn()))[0]
        assert GPU.copied()[0] - before == sum(chunks) + 16 * len(chunks)
        assert [d[2] for d in docs] == texts
