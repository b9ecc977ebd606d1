"""Bad parameters and bad files end in one line and the right exit code (0 ok, 1 failure,
2 bad parameter), never a traceback: --device, stop-word files, the similarity matrix's
memory, and --signatures files."""
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from engine import minhash as mh
from engine.backend import BackendUnavailable, get_backend, gpu_status
from engine.cli import app
from engine.corpus import CorpusError, batch_from_texts
from engine.errors import ParameterError
from engine.text import TextOptions, stopword_hashes, tokenize

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
CPU = get_backend("cpu")
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def assert_one_line_error(r, code: int, msg: str) -> None:
    """Exit ``code``, ``msg`` in the output, which is one line and no traceback."""
    assert r.exit_code == code, r.output
    assert msg in r.output, r.output
    assert "Traceback" not in r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1, r.output


# ---------------------------------------------------------------------------- --device
@pytest.mark.parametrize("command", [["ngrams"], ["cooc"], ["minhash"], ["similarity"],
                                     ["analyze", "--no-report"]])
def test_unknown_device_is_a_bad_parameter(command):
    r = run(*command, SEEDS, "--device", "nonsense", "-q")
    assert_one_line_error(r, 2, "--device must be one of auto, cpu, gpu, got 'nonsense'")


def test_get_backend_errors():
    with pytest.raises(ParameterError, match="--device must be one of"):
        get_backend("tpu")
    if not gpu_status()[0]:  # a missing GPU is the machine's fault, not the parameter's: exit 1
        with pytest.raises(BackendUnavailable, match="no usable GPU"):
            get_backend("gpu")


# ---------------------------------------------------------------------------- stop words
@pytest.fixture(params=["empty", "blank", "comments"])
def wordless_file(request, tmp_path):
    content = {"empty": "", "blank": "  \n\n\t\n", "comments": "# stop words\n  \n# none yet\n"}
    path = tmp_path / f"{request.param}.txt"
    path.write_text(content[request.param], encoding="utf-8")
    return path


@pytest.mark.parametrize("command", ["ngrams", "cooc", "minhash", "similarity"])
def test_stopword_file_without_words_is_a_bad_parameter(command, wordless_file):
    r = run(command, SEEDS, "--stopwords", wordless_file, "--device", "cpu", "-q")
    assert_one_line_error(r, 2, f"--stopwords: {wordless_file} holds no words")


def test_stopword_file_of_punctuation_is_a_bad_parameter(tmp_path):
    path = tmp_path / "dashes.txt"
    path.write_text("---\n...\n", encoding="utf-8")
    r = run("ngrams", SEEDS, "--stopwords", f"fr,{path}", "--device", "cpu", "-q")
    assert_one_line_error(r, 2, f"--stopwords: {path} holds no words (only punctuation or symbols)")


def test_empty_stopword_set_is_uint64_and_harmless(monkeypatch):
    empty = stopword_hashes(TextOptions())
    assert empty.dtype == np.uint64 and empty.size == 0
    from engine.corpus import batch_from_texts
    batch = batch_from_texts(["le chat et le chien", "", "un"])
    plain = tokenize(batch, CPU, TextOptions())
    # a stop-word set that comes out empty anyway: nothing removed, nothing crashes
    import engine.text as text
    monkeypatch.setattr(text, "stopword_hashes", lambda opts: np.empty(0, np.uint64))
    toks = tokenize(batch, CPU, TextOptions(stopwords=("fr",)))
    np.testing.assert_array_equal(toks.tok_hash, plain.tok_hash)
    np.testing.assert_array_equal(toks.doc_tok_offsets, plain.doc_tok_offsets)


def test_stopword_file_with_words_still_works(tmp_path):
    path = tmp_path / "stop.txt"
    path.write_text("# mine\n  nvidia  \n\nopenai\n", encoding="utf-8")
    r = run("ngrams", SEEDS, "--stopwords", path, "--n", "1", "--top", "3", "--device", "cpu", "-q")
    assert r.exit_code == 0, r.output
    assert "nvidia" not in r.output and "openai" not in r.output


# ---------------------------------------------------------------------------- similarity memory
def _available(monkeypatch, n_bytes: float) -> None:
    import engine.memory  # what the similarity check reads (no psutil at start-up)
    monkeypatch.setattr(engine.memory, "available_memory", lambda: int(n_bytes))


def test_similarity_refuses_a_matrix_that_does_not_fit(monkeypatch):
    _available(monkeypatch, 100)  # the seeds' 5 x 5 matrix needs about 400 bytes
    r = run("similarity", SEEDS, "--device", "cpu", "-q")
    assert_one_line_error(r, 1, "similarity: at least 5 documents (read so far) need 0.0 GB")
    assert "GB available; use `corpus minhash` for large corpora, or lower --max-docs" in r.output


def test_similarity_refusal_on_a_large_corpus_names_the_sizes(monkeypatch, tmp_path):
    # the case: --max-docs raised far above the corpus, 50,000 documents
    inp = tmp_path / "many.jsonl"
    inp.write_text("".join(json.dumps({"id": f"d{i}", "text": f"mot{i % 97} texte {i}"}) + "\n"
                           for i in range(50_000)), encoding="utf-8")
    _available(monkeypatch, 9.1e9)
    r = run("similarity", inp, "--max-docs", "1000000", "--device", "cpu", "-q")
    assert r.exit_code == 1, r.output
    m = re.search(r"similarity: at least (\d+) documents \(read so far\) need ([\d.]+) GB "
                  r"\(a ([\d.]+) GB matrix and its temporaries\), 9\.1 GB available", r.output)
    assert m, r.output
    n = int(m.group(1))
    assert n <= 50_000 and mh._similarity_bytes(n, exact=False) > 9.1e9  # refused when it crossed
    assert float(m.group(3)) == pytest.approx(8 * n * n / 1e9, abs=0.05)
    assert float(m.group(2)) > 9.1
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) == 1


def test_similarity_counts_a_list_before_any_signature(monkeypatch):
    _available(monkeypatch, 100)

    def no_signatures(*a, **k):
        raise AssertionError("signatures computed before the memory check")

    monkeypatch.setattr(mh, "compute_signatures", no_signatures)
    with pytest.raises(CorpusError, match=r"^similarity: 6 documents need .* GB available"):
        mh.similarity_matrix(batch_from_texts(["a b c"] * 6), CPU, mh.MinHashConfig())
    with pytest.raises(CorpusError, match="more than 5 documents"):
        mh.similarity_matrix(batch_from_texts(["a b c"] * 6), CPU, mh.MinHashConfig(), max_docs=5)


def test_similarity_exact_counts_its_larger_temporaries(monkeypatch):
    n = 10
    fits_estimate = mh._similarity_bytes(n, exact=False) + 1
    assert mh._similarity_bytes(n, exact=True) > fits_estimate
    _available(monkeypatch, fits_estimate)
    texts = [f"doc {i} words here" for i in range(n)]
    ids, m = mh.similarity_matrix(batch_from_texts(texts), CPU, mh.MinHashConfig())
    assert m.shape == (n, n)
    with pytest.raises(CorpusError, match="similarity: 10 documents need"):
        mh.similarity_matrix(batch_from_texts(texts), CPU, mh.MinHashConfig(), exact=True)


def test_similarity_checks_gpu_memory_for_the_estimate(monkeypatch):
    _available(monkeypatch, 1e12)
    pool = SimpleNamespace(free_bytes=lambda: 0)
    xp = SimpleNamespace(cuda=SimpleNamespace(Device=lambda: SimpleNamespace(mem_info=(1000, 10**9))),
                         get_default_memory_pool=lambda: pool)
    from engine.backend import Backend, GPUBackend

    class FakeGPU(GPUBackend):   # the real device query, on a stand-in for cupy
        def __init__(self):
            Backend.__init__(self)
            self.simulated, self.strict, self.memory, self.xp = False, False, None, xp
    gpu = FakeGPU()
    with pytest.raises(CorpusError, match=r"matrix on the GPU, 0\.0 GB free; .* or --device cpu"):
        mh._check_similarity_memory(100, gpu, exact=False)
    mh._check_similarity_memory(100, gpu, exact=True)  # --exact works on the host


# ---------------------------------------------------------------------------- --signatures files
PERMS = 16


@pytest.fixture(scope="module")
def good_signatures(tmp_path_factory):
    """A valid signature file (PERMS wide) and its table, to derive broken ones from."""
    cfg = mh.MinHashConfig(perms=PERMS)
    texts = [f"le document numéro {i} dit des choses sur le sujet {i % 3}" for i in range(6)]
    sigs = mh.compute_signatures(batch_from_texts(texts), CPU, cfg)
    path = tmp_path_factory.mktemp("sig") / "good.parquet"
    mh.save_signatures(sigs, path)
    return path, pq.read_table(path)


def _write(path: Path, table: pa.Table, meta=None) -> Path:
    if meta is not None:
        table = table.replace_schema_metadata(meta)
    pq.write_table(table, path)
    return path


def _meta(table: pa.Table) -> dict:
    return json.loads(table.schema.metadata[mh._META_KEY])


def _with_meta(table: pa.Table, **changes) -> dict:
    meta = _meta(table)
    for k, v in changes.items():
        if v is None:
            meta.pop(k)
        else:
            meta[k] = v
    return {mh._META_KEY: json.dumps(meta).encode()}


def _signature_column(table: pa.Table, width: int, variable: bool = False, null_row: int = -1,
                      null_value: bool = False):
    sig = np.asarray(table.column("signature").combine_chunks().flatten()).reshape(table.num_rows, -1)
    rows = [list(map(int, r[:width])) + [0] * max(0, width - len(r)) for r in sig]
    if null_value:
        rows[1][0] = None
    if null_row >= 0:
        rows[null_row] = None
    if variable:
        rows[2] = rows[2][:-1]
        return pa.array(rows, pa.list_(pa.uint32()))
    return pa.array(rows, pa.list_(pa.uint32(), width))


def _replace(table: pa.Table, name: str, col) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, col)


def _broken(kind: str, table: pa.Table, path: Path) -> Path:
    """Write the signature file variant ``kind`` to ``path``."""
    keep = table.schema.metadata
    if kind == "csv":
        path.write_text("doc_id,n_shingles,signature\nd0,3,1 2 3\n", encoding="utf-8")
    elif kind == "random bytes":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif kind == "empty file":
        path.write_bytes(b"")
    elif kind == "no metadata":
        _write(path, table.replace_schema_metadata(None))
    elif kind == "metadata not json":
        _write(path, table, {mh._META_KEY: b"{not json"})
    elif kind == "metadata lacks perms":
        _write(path, table, _with_meta(table, perms=None))
    elif kind == "bad perms":
        _write(path, table, _with_meta(table, perms="sixteen"))
    elif kind == "other format":
        _write(path, table, _with_meta(table, format=99))
    elif kind == "other family":
        _write(path, table, _with_meta(table, family="murmur"))
    elif kind == "missing column":
        _write(path, table.drop(["n_shingles"]), keep)
    elif kind == "doc_id not string":
        _write(path, _replace(table, "doc_id", pa.array(range(table.num_rows), pa.int64())), keep)
    elif kind == "signature not uint32":
        sig = _signature_column(table, PERMS)
        _write(path, _replace(table, "signature", sig.cast(pa.list_(pa.int64(), PERMS))), keep)
    elif kind == "narrow signatures":
        _write(path, _replace(table, "signature", _signature_column(table, PERMS // 2)), keep)
    elif kind == "one short row":
        _write(path, _replace(table, "signature", _signature_column(table, PERMS, variable=True)), keep)
    elif kind == "null doc_id":
        ids = table.column("doc_id").to_pylist()
        ids[1] = None
        _write(path, _replace(table, "doc_id", pa.array(ids, pa.string())), keep)
    elif kind == "null signature row":
        _write(path, _replace(table, "signature", _signature_column(table, PERMS, null_row=3)), keep)
    elif kind == "null signature value":
        _write(path, _replace(table, "signature", _signature_column(table, PERMS, null_value=True)), keep)
    elif kind == "negative count":
        n = table.column("n_shingles").to_pylist()
        n[4] = -1
        _write(path, _replace(table, "n_shingles", pa.array(n, pa.int64())), keep)
    return path


BROKEN = {
    "csv": "is not a Parquet file (",
    "random bytes": "is not a Parquet file (",
    "empty file": "is not a Parquet file (",
    "no metadata": "has no corpus-engine signature metadata (not a file written by --save-signatures)",
    "metadata not json": "its signature metadata is not a JSON object",
    "metadata lacks perms": "its metadata lacks perms",
    "bad perms": "metadata perms must be an integer >= 1, got 'sixteen'",
    "other format": "signature format 99, this corpus-engine reads format 1",
    "other family": "hash family 'murmur', this corpus-engine computes 'affine32'",
    "missing column": "has no column 'n_shingles' (columns: doc_id, signature)",
    "doc_id not string": "column 'doc_id' is int64, expected string",
    "signature not uint32": "int64>[16], expected a list of uint32",  # pyarrow names the item
    "narrow signatures": "signatures of 8 values, the file's metadata says perms=16",
    "one short row": "row 2 has a signature of 15 values, the file's metadata says perms=16",
    "null doc_id": "column 'doc_id' has 1 null row(s) (first: row 1)",
    "null signature row": "column 'signature' has 1 null row(s) (first: row 3)",
    "null signature value": "column 'signature' holds 1 null value(s)",
    "negative count": "column 'n_shingles' has a negative count (row 4)",
}


@pytest.mark.parametrize("kind", list(BROKEN))
def test_bad_signature_file_is_one_line(kind, good_signatures, tmp_path):
    path = _broken(kind, good_signatures[1], tmp_path / "sig.parquet")
    with pytest.raises(CorpusError) as e:
        mh.load_signatures(path)
    assert str(e.value).startswith(f"--signatures: {path}") and BROKEN[kind] in str(e.value)
    r = run("minhash", SEEDS, "--signatures", path, "--perms", PERMS, "--device", "cpu", "-q")
    assert_one_line_error(r, 1, BROKEN[kind])


def test_good_signature_files_load(good_signatures, tmp_path):
    path, table = good_signatures
    sigs = mh.load_signatures(path)
    assert sigs.n_docs == table.num_rows and sigs.sig.shape == (table.num_rows, PERMS)
    assert sigs.sig.dtype == np.uint32 and sigs.sig.flags.c_contiguous
    # a variable-length list column of the right width is accepted (e.g. rewritten by pandas)
    var = _replace(table, "signature", _signature_column(table, PERMS).cast(pa.list_(pa.uint32())))
    again = mh.load_signatures(_write(tmp_path / "var.parquet", var, table.schema.metadata))
    np.testing.assert_array_equal(again.sig, sigs.sig)
    r = run("minhash", SEEDS, "--signatures", path, "--perms", PERMS, "--device", "cpu", "-q")
    assert r.exit_code == 0, r.output


def test_signature_settings_mismatch_is_a_bad_parameter(good_signatures):
    r = run("minhash", SEEDS, "--signatures", good_signatures[0], "--perms", 32, "--device", "cpu", "-q")
    assert_one_line_error(r, 2, "made with perms=16, this run uses perms=32")


def test_missing_signature_file(tmp_path):
    r = run("minhash", SEEDS, "--signatures", tmp_path / "none.parquet", "--device", "cpu", "-q")
    assert r.exit_code == 1 and "Traceback" not in r.output, r.output
