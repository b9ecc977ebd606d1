"""The CLI through typer's CliRunner: outputs readable by pyarrow/pandas, one-line errors, exit codes."""
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests import reference

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("ext", [".parquet", ".csv", ".jsonl"])
def test_ngrams_outputs(tmp_path, ext):
    out = tmp_path / f"ng{ext}"
    r = run("ngrams", SEEDS, "--n", "1-2", "--output", out, "--quiet")
    assert r.exit_code == 0, r.output
    if ext == ".parquet":
        df = pq.read_table(out).to_pandas()
    elif ext == ".csv":
        df = pd.read_csv(out, keep_default_na=False)
    else:
        df = pd.DataFrame([json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()])
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    exp = reference.word_ngram_counts(texts, (1, 2))
    got = {(g, int(n)): (int(c), int(d)) for g, n, c, d in zip(df.ngram, df.n, df["count"], df.doc_freq)}
    assert got == exp
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temp file left behind"


def test_ngrams_table_on_stdout_default_seeds():
    r = run("ngrams", "--n", "1", "--top", "3", "--stopwords", "fr,en", "--quiet")
    assert r.exit_code == 0, r.output
    assert "openai" in r.output and "nvidia" in r.output


@pytest.mark.parametrize("args,code,msg", [
    (["ngrams", "nope/missing"], 1, "input path does not exist"),
    (["ngrams", SEEDS, "--device", "gpu"], 1, "--device gpu: no usable GPU"),
    (["ngrams", SEEDS, "--device", "tpu"], 2, "--device must be one of"),
    (["ngrams", SEEDS, "--n", "4-2"], 2, "--n must satisfy"),
    (["ngrams", SEEDS, "--output", "x.xlsx"], 1, "unsupported extension"),
    (["ngrams", SEEDS, "--output", "no/such/dir/x.csv"], 1, "folder does not exist"),
    (["ngrams", SEEDS, "--stopwords", "zz"], 2, "neither a file nor a language code"),
])
def test_errors_are_one_line(args, code, msg):
    r = run(*args)
    assert r.exit_code == code, r.output
    assert msg in r.output
    assert "Traceback" not in r.output
    assert len([ln for ln in r.output.splitlines() if ln.strip()]) <= 2


def test_skips_are_reported_and_strict_fails(tmp_path):
    (tmp_path / "ok.txt").write_text("bonjour le monde", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"bad \xff\xfe")
    r = run("ngrams", tmp_path)
    assert r.exit_code == 0
    assert "skipped 1 (invalid utf-8)" in r.output and "bad.txt" in r.output
    r = run("ngrams", tmp_path, "--strict")
    assert r.exit_code == 1 and "bad.txt: invalid utf-8" in r.output


def test_info():
    r = run("info")
    assert r.exit_code == 0, r.output
    assert "numba" in r.output and "backends" in r.output


def test_help_lists_commands():
    r = run("--help")
    assert r.exit_code == 0
    for cmd in ("info", "ngrams", "analyze"):
        assert cmd in r.output


def test_outputs_get_normal_permissions(tmp_path):
    import os
    import stat
    out = tmp_path / "ng.csv"
    assert run("ngrams", SEEDS, "--output", out, "--quiet").exit_code == 0
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o666 & ~umask
