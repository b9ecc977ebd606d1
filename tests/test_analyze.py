"""``corpus analyze`` with its HTML report, and ``corpus bench`` (structure only, never timings)."""
from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from tests.test_report import check_images, parse_report, table_rows

runner = CliRunner()
ENV = {"COLUMNS": "200"}   # one console line per table row
ROW = re.compile(r"^[│|] (.+?) +[│|] +(\d+) [│|] +(\d+) [│|]$")


def _invoke(args):
    return runner.invoke(app, args, env=ENV)


def _cli_ngram_tables(out: str) -> dict[int, list[list[str]]]:
    """The 'top K n-grams' tables of the console output: n -> rows [ngram, count, doc_freq]."""
    tables, cur = {}, None
    for line in out.splitlines():
        m = re.search(r"top \d+ (\d)-grams", line)
        if m:
            cur = tables.setdefault(int(m.group(1)), [])
            continue
        r = ROW.match(line.strip())
        if r and cur is not None:
            cur.append([r.group(1).strip(), r.group(2), r.group(3)])
        elif cur is not None and line.strip().startswith("└"):
            cur = None
    return tables


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("analyze")
    report, plots = d / "report.html", d / "plots"
    res = _invoke(["analyze", "--report", str(report), "--plots", str(plots)])
    assert res.exit_code == 0, res.output
    return res.output, report, plots


def test_report_contains_the_numbers_the_cli_prints(seeds_run):
    out, report, _ = seeds_run
    p = parse_report(report.read_text(encoding="utf-8"))
    m = re.search(r"(\d+) documents, ([\d.]+) MB, (\d+) tokens", out)
    assert m, out[:500]
    docs, mb, tokens = m.groups()
    summary = " ".join(p.text).split("Corpus summary", 1)[1].split("Top n-grams", 1)[0]
    assert f"{docs} documents" in summary and f"{tokens} tokens" in summary and f"{mb} MB" in summary
    cli = _cli_ngram_tables(out)
    assert set(cli) == {1, 2, 3} and all(len(v) == 10 for v in cli.values())
    for n, rows in cli.items():
        assert table_rows(p, **{"class": "ngrams", "data-n": str(n)}) == rows
    assert cli[1][0][0] == "openai"
    # near-duplicate matrix: the console's numbers are in the report's table
    cli_matrix = [line.split("│")[3:-1] for line in out.splitlines()
                  if re.match(r"^[│|] \d [│|] \d\d\d_", line)]
    assert len(cli_matrix) == 5
    html_matrix = table_rows(p, **{"class": "doc-legend similarity"})
    assert [r[2:] for r in html_matrix] == [[c.strip() for c in row] for row in cli_matrix]
    # co-occurrence: "openai │ 59 │ nvidia (35), ..." -> the report's associates of openai
    line = next(x for x in out.splitlines() if re.match(r"^[│|] openai +[│|] +\d+ [│|] \S+ \(\d+\)", x))
    first = re.search(r"[│|] (\S+) \((\d+)\)", line)
    assert first
    assert table_rows(p, **{"data-term": "openai"})[0][0] == first.group(1)
    assert table_rows(p, **{"data-term": "openai"})[0][-1] == first.group(2)
    assert f"report: {report.resolve()}" in out


def test_report_images_decode_and_plots_are_written(seeds_run):
    import matplotlib.image as mpimg
    out, report, plots = seeds_run
    p = parse_report(report.read_text(encoding="utf-8"))
    imgs = check_images(p)
    expected = {"ngrams_1.png", "ngrams_2.png", "ngrams_3.png", "zipf.png", "similarity.png",
                "cooc_network.png"}
    assert set(imgs) == expected
    assert {f.name for f in plots.iterdir()} == expected
    for f in plots.iterdir():
        img = mpimg.imread(f)
        assert img.shape == imgs[f.name].shape
    assert f"plots: 6 PNG files in {plots.resolve()}" in out


def test_default_run_writes_report_in_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = _invoke(["analyze"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "report.html").is_file()
    assert f"report: {(tmp_path / 'report.html').resolve()}" in res.output
    assert [f.name for f in tmp_path.iterdir()] == ["report.html"]   # no temporary file left
    parse_report((tmp_path / "report.html").read_text(encoding="utf-8"))


def test_missing_report_folder_fails_before_the_work(tmp_path):
    res = _invoke(["analyze", "--report", str(tmp_path / "no" / "r.html")])
    assert res.exit_code == 1
    assert "does not exist" in res.output and "Traceback" not in res.output
    assert "documents" not in res.output


def _write_corpus(folder: Path, n_docs: int, copies: int) -> None:
    rng = random.Random(3)
    words = [f"mot{i}" for i in range(3000)]
    folder.mkdir()
    texts = [" ".join(rng.choice(words) for _ in range(250)) for _ in range(n_docs)]
    for k in range(copies):  # near-copies of document 0: one word replaced
        w = texts[0].split()
        w[40 + 50 * k] = "changed"
        texts.append(" ".join(w))
    for i, t in enumerate(texts):
        (folder / f"d{i:02d}.txt").write_text(t + "\n", encoding="utf-8")


def test_clusters_and_heatmap_on_more_documents(tmp_path):
    import io

    from rich.console import Console

    from engine.analyze import analyze_corpus
    from engine.report import build_html
    corpus = tmp_path / "c"
    _write_corpus(corpus, 14, 3)
    con = Console(file=io.StringIO(), width=200)
    data = analyze_corpus([corpus], device="cpu", console=con)
    mh = data.minhash
    assert "error" not in mh, mh
    assert mh["summary"]["documents"] == 17 and mh["summary"]["clusters"] == 1
    assert mh["clusters"] == [{"representative": "d00.txt", "size": 4,
                               "members": ["d00.txt", "d14.txt", "d15.txt", "d16.txt"],
                               "max_jaccard": pytest.approx(mh["clusters"][0]["max_jaccard"])}]
    assert mh["clusters"][0]["max_jaccard"] >= 0.8
    assert mh["doc_ids"] == ["d00.txt", "d14.txt", "d15.txt", "d16.txt"]   # heatmap of the cluster
    assert "Largest near-duplicate" in con.file.getvalue()
    p = parse_report(build_html(data))
    assert table_rows(p, **{"class": "clusters"})[0][:2] == ["d00.txt", "4"]
    assert "similarity.png" in check_images(p)


# ---------------------------------------------------------------------------- corpus bench
def test_bench_quick_writes_results(tmp_path, monkeypatch):
    from bench import corpus_gen
    data = tmp_path / "data"
    monkeypatch.setattr(corpus_gen, "DATA_DIR", data)
    monkeypatch.setenv("CORPUS_BENCH_DATA", str(data))
    out = tmp_path / "out"
    res = _invoke(["bench", "--quick", "--jobs", "ngrams", "--sizes", "0.05MB", "--lang", "fr",
                   "--peers", "counter", "--output-dir", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "results.json").read_text())
    assert doc["config"]["quick"] is True and doc["config"]["jobs"] == ["ngrams"]
    assert doc["config"]["sizes_mb"] == [0.05] and doc["config"]["langs"] == ["fr"]
    tools = {r["tool"]: r for r in doc["results"]}
    assert {"engine-cpu", "engine-gpu", "counter"} <= set(tools) and "sklearn" not in tools
    assert tools["engine-cpu"]["status"] == "ok" and tools["counter"]["status"] == "ok"
    assert tools["engine-gpu"]["status"] in {"ok", "absent"}
    assert (out / "results.md").is_file() and (out / "throughput.png").is_file()
    assert f"results: {out.resolve() / 'results.md'}" in res.output


def test_bench_bad_value_is_usage_error(tmp_path):
    res = _invoke(["bench", "--jobs", "nope", "--output-dir", str(tmp_path)])
    assert res.exit_code == 2
    assert "unknown value(s): nope" in res.output


def test_bench_without_bench_folder(monkeypatch):
    import engine.cli.bench as bc
    monkeypatch.setattr(bc, "load_bench_run", lambda: None)
    res = _invoke(["bench", "--quick"])
    assert res.exit_code == 1
    assert "needs the bench/ folder of a source checkout" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_analyze_stats_and_no_cli_dependency(tmp_path):
    import subprocess
    st = tmp_path / "s.json"
    res = _invoke(["analyze", "--no-report", "--device", "cpu", "--stats", str(st)])
    assert res.exit_code == 0, res.output
    d = json.loads(st.read_text(encoding="utf-8"))
    assert d["job"] == "analyze" and d["documents"] == 5 and d["files"] == 5
    assert {"read", "ngrams", "unigrams", "near_duplicates", "cooccurrence", "languages"} <= set(d["seconds"])
    # the library module stands without the command line
    code = ("import sys, engine.analyze; bad = [m for m in ('typer', 'engine.cli') if m in sys.modules]; "
            "print(*bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert run.returncode == 0, run.stdout + run.stderr


def test_analyze_corpus_takes_a_reader_and_callbacks(tmp_path):
    import io

    from rich.console import Console

    from engine.analyze import analyze_corpus
    from engine.corpus import CorpusReader
    corpus = tmp_path / "c"
    _write_corpus(corpus, 3, 0)
    seen, warned = [], []
    con = Console(file=io.StringIO(), width=200)
    data = analyze_corpus(CorpusReader([corpus]), device="cpu", console=con, on_read=seen.append,
                          warn=warned.append)
    assert len(seen) == 1 and isinstance(seen[0], CorpusReader) and warned == []
    assert sorted(data.inputs) == sorted(str(f) for f in corpus.glob("*.txt"))   # the reader's files
    assert data.stats.documents == data.summary["documents"] == 3
    assert "top 10 1-grams" in con.file.getvalue()


@pytest.mark.parametrize("value", ["abc", "0", "1KB", "-5GB", "1.2.3", "2XB"])
def test_bad_memory_is_one_line_and_usage_error(tmp_path, value):
    res = _invoke(["analyze", "--no-report", "--memory", value, str(tmp_path / "missing")])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and "--memory" in lines[0] and "Traceback" not in res.output


def test_memory_option_reaches_the_pass(tmp_path):
    """--memory 1MB spills the n-gram tables (8,192 entries; 20 documents of 250 random words
    make ~10,000 distinct 2- and 3-grams) and prints the same tables as the default."""
    corpus = tmp_path / "c"
    _write_corpus(corpus, 20, 0)
    outs = []
    for extra in ([], ["--memory", "1MB"]):
        st = tmp_path / f"s{len(extra)}.json"
        res = _invoke(["analyze", "--no-report", "--device", "cpu", "--stats", str(st), str(corpus)] + extra)
        assert res.exit_code == 0, res.output
        outs.append((json.loads(st.read_text(encoding="utf-8"))["counters"], _cli_ngram_tables(res.output)))
    (default, tables), (small, small_tables) = outs
    assert small["ngram_spills"] > 0 and default["ngram_spills"] == 0
    assert small_tables == tables and len(tables[2]) == 10
