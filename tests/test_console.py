"""What the commands print: with --output at most 20 rows of the result (the file has them
all), none with --quiet; without --output the usual preview."""
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from engine.cli import app

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
runner = CliRunner()


def run(*args):
    # a wide console: one table row a line, so rows can be counted
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "400"})


def data_rows(stdout: str) -> list[str]:
    """Body rows of the rich tables in ``stdout`` (the header row is drawn with ┃)."""
    return [ln for ln in stdout.splitlines() if ln.startswith("│")]


def first_cells(stdout: str) -> list[str]:
    return [ln.split("│")[1].strip() for ln in data_rows(stdout)]


@pytest.fixture(scope="module")
def dup_corpus(tmp_path_factory):
    """30 documents, 6 groups of 5 near-copies: 60 near-duplicate pairs."""
    p = tmp_path_factory.mktemp("dups") / "dups.jsonl"
    base = [" ".join(f"g{g}w{i}" for i in range(80)) for g in range(6)]
    with open(p, "w") as f:
        for g, text in enumerate(base):
            for c in range(5):
                f.write(json.dumps({"id": f"g{g}c{c}", "text": text + f" tail{c}"}) + "\n")
    return p


def test_ngrams_with_output_prints_the_first_20_rows_of_the_file(tmp_path):
    out = tmp_path / "ng.parquet"
    r = run("ngrams", SEEDS, "--n", "1-2", "-o", out)
    assert r.exit_code == 0, r.output
    written = pq.read_table(out).column("ngram").to_pylist()
    assert len(written) > 20
    assert first_cells(r.stdout) == written[:20]
    assert f"... {len(written) - 20} more rows in {out}" in r.stdout


def test_ngrams_quiet_with_output_prints_nothing(tmp_path):
    r = run("ngrams", SEEDS, "--n", "1", "-o", tmp_path / "ng.csv", "--quiet")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == ""


def test_ngrams_without_output_still_shows_50_rows():
    r = run("ngrams", SEEDS, "--n", "1", "--quiet")
    assert r.exit_code == 0, r.output
    assert len(data_rows(r.stdout)) == 50


def test_cooc_top_1000_with_output_prints_20(tmp_path):
    out = tmp_path / "c.parquet"
    r = run("cooc", SEEDS, "--top", "1000", "-o", out)
    assert r.exit_code == 0, r.output
    t = pq.read_table(out)
    assert t.num_rows == 1000
    assert first_cells(r.stdout) == t.column(0).to_pylist()[:20]
    assert "... 980 more rows in" in r.stdout
    q = run("cooc", SEEDS, "--top", "1000", "-o", tmp_path / "q.parquet", "--quiet")
    assert q.exit_code == 0 and q.stdout.strip() == ""


def test_cooc_top_5_with_output_prints_5(tmp_path):
    r = run("cooc", SEEDS, "--top", "5", "-o", tmp_path / "c.csv")
    assert r.exit_code == 0, r.output
    assert len(data_rows(r.stdout)) == 5


def test_minhash_with_output_prints_summary_and_20_pairs(tmp_path, dup_corpus):
    out = tmp_path / "pairs.parquet"
    r = run("minhash", dup_corpus, "-o", out, "--threshold", "0.5")
    assert r.exit_code == 0, r.output
    pairs = pq.read_table(out)
    assert pairs.num_rows == 60
    assert "documents" in r.stdout                       # the summary table
    assert f"... {pairs.num_rows - 20} more rows in {out}" in r.stdout
    assert first_cells(r.stdout)[-20:] == [str(x) for x in pairs.column(0).to_pylist()[:20]]
    q = run("minhash", dup_corpus, "-o", tmp_path / "q.parquet", "--threshold", "0.5", "--quiet")
    assert q.exit_code == 0 and q.output == ""                   # the file holds the result
    assert pq.read_table(tmp_path / "q.parquet").num_rows == 60


def test_minhash_quiet_without_a_file_still_shows_the_result(dup_corpus):
    q = run("minhash", dup_corpus, "--threshold", "0.5", "--quiet")
    assert q.exit_code == 0, q.output
    assert "verified pairs" in q.stdout and "Near-duplicate pairs" in q.stdout
    assert "MB/s" in q.stdout          # the summary's time row: part of the result here


def test_similarity_prints_at_most_20_rows(tmp_path, dup_corpus):
    r = run("similarity", dup_corpus, "-o", tmp_path / "m.npy")
    assert r.exit_code == 0, r.output
    rows = data_rows(r.stdout)
    assert len(rows) == 20 and "first 20 of 30" in r.stdout
    assert [c for c in first_cells(r.stdout)] == [str(i) for i in range(20)]
    q = run("similarity", dup_corpus, "-o", tmp_path / "q.npy", "--quiet")
    assert q.exit_code == 0 and q.stdout.strip() == ""
    small = run("similarity", SEEDS, "--quiet")                # 5 documents, no file: the matrix
    assert small.exit_code == 0 and len(data_rows(small.stdout)) == 5


def test_similarity_max_docs_default_is_the_librarys():
    from engine.cli.minhash import SIMILARITY_DOCS_DEFAULT
    from engine.minhash import MAX_SIMILARITY_DOCS
    assert SIMILARITY_DOCS_DEFAULT == MAX_SIMILARITY_DOCS


def test_help_imports_no_job_numpy_or_pyarrow():
    """`corpus --help` builds the app only: the jobs, numpy and pyarrow load when a command runs."""
    import subprocess
    import sys
    code = ("import sys; from engine.cli import app; import typer.main; typer.main.get_command(app); "
            "print(sorted(m for m in ('numpy', 'pyarrow', 'numba', 'engine.ngrams', 'engine.cooc', "
            "'engine.minhash', 'engine.corpus', 'engine.analyze', 'engine.report') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def seed_texts(tmp_path_factory):
    """The seed articles without the README beside them: a corpus nothing is skipped from."""
    d = tmp_path_factory.mktemp("texts")
    for p in sorted(SEEDS.glob("*.txt")):
        (d / p.name).write_bytes(p.read_bytes())
    return d


# every command that takes --quiet, each writing its result to files
QUIET_RUNS = {
    "ngrams": lambda c, t: ["ngrams", c, "--n", "1-2", "-o", t / "ng.parquet", "--stats", t / "s.json"],
    "cooc": lambda c, t: ["cooc", c, "--min-count", "1", "-o", t / "c.parquet", "--stats", t / "s.json"],
    "cooc-npz": lambda c, t: ["cooc", c, "--min-count", "1", "-o", t / "c.npz"],
    "minhash": lambda c, t: ["minhash", c, "--threshold", "0.5", "-o", t / "p.parquet",
                             "--clusters", t / "k.csv", "--stats", t / "s.json"],
    "minhash-clusters": lambda c, t: ["minhash", c, "--threshold", "0.5", "--clusters", t / "k.csv"],
    "minhash-signatures": lambda c, t: ["minhash", c, "--save-signatures", t / "sig.parquet"],
    "similarity": lambda c, t: ["similarity", c, "-o", t / "m.npy"],
    "analyze": lambda c, t: ["analyze", c, "--report", t / "r.html", "--stats", t / "s.json"],
}


@pytest.mark.parametrize("name", sorted(QUIET_RUNS))
def test_quiet_with_files_prints_nothing(tmp_path, seed_texts, dup_corpus, name):
    """--quiet with the result in files: nothing on stdout or stderr (no summary, timing or
    'wrote' lines), and the files are written."""
    corpus = dup_corpus if name.startswith("minhash") else seed_texts
    args = QUIET_RUNS[name](corpus, tmp_path)
    r = run(*args, "--quiet")
    assert r.exit_code == 0, r.output
    assert r.stdout == "" and r.stderr == ""
    written = [p.name for p in tmp_path.iterdir()]
    assert written and not [n for n in written if n.startswith(".")], written
    loud = run(*args)       # the same run without --quiet does talk: the test can fail
    assert loud.exit_code == 0 and loud.output != ""


def test_quiet_still_reports_skipped_inputs(tmp_path):
    r = run("ngrams", SEEDS, "-o", tmp_path / "ng.parquet", "--quiet")   # seeds/README.md is skipped
    assert r.exit_code == 0 and r.stdout == ""
    assert r.stderr.startswith("skipped 1 (README, not a document)")


def test_quiet_errors_still_print(tmp_path):
    r = run("ngrams", tmp_path / "missing.txt", "-o", tmp_path / "ng.parquet", "--quiet")
    assert r.exit_code == 1 and r.stdout == "" and r.stderr.startswith("error:")


def test_corpus_script_quiet_prints_nothing(tmp_path, seed_texts):
    """The real entry point (engine.cli.main: process settings, gc.freeze at exit) in its
    own process: exit 0, the file written, nothing printed."""
    import subprocess
    import sys
    out = tmp_path / "ng.csv"
    p = subprocess.run([sys.executable, "-m", "engine.cli", "ngrams", str(seed_texts), "-o", str(out), "--quiet"],
                       capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert p.returncode == 0, p.stderr
    assert p.stdout == "" and p.stderr == ""
    import pyarrow.csv as pcsv
    t = pcsv.read_csv(out)
    from tests import reference
    texts = [p.read_text(encoding="utf-8") for p in sorted(seed_texts.glob("*.txt"))]
    expected = reference.word_ngram_counts(texts, (1,))
    got = {(g, n): (c, d) for g, n, c, d in zip(*(t.column(k).to_pylist() for k in ("ngram", "n", "count", "doc_freq")))}
    assert got == expected
