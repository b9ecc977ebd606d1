"""The benchmark foundation: corpus generator (deterministic, real-text based,
planted near-duplicates with exact ground truth) and the runner's quick mode
(files and their structure only, never timings)."""
from __future__ import annotations

import itertools
import json
import math
import random
import re
import unicodedata
from pathlib import Path

import pytest

from bench import common, corpus_gen, run


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    d = tmp_path / "data"
    monkeypatch.setattr(corpus_gen, "DATA_DIR", d)
    monkeypatch.setenv("CORPUS_BENCH_DATA", str(d))
    return d


def _docs(path):
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_same_seed_same_bytes_other_seed_differs(tmp_path, monkeypatch):
    paths = {}
    for tag, seed in (("a", 0), ("b", 0), ("c", 1)):
        monkeypatch.setattr(corpus_gen, "DATA_DIR", tmp_path / tag)
        paths[tag] = corpus_gen.ensure_corpus("fr", 0.05, seed=seed)
    a, b, c = (paths[k].read_bytes() for k in "abc")
    assert a == b
    assert a != c
    assert corpus_gen.ensure_corpus("fr", 0.05, seed=1) == paths["c"]   # cached, not rebuilt


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_corpus_shape_and_language(data_dir, lang):
    path = corpus_gen.ensure_corpus(lang, 0.1, seed=0)
    assert path.parent == data_dir
    size = path.stat().st_size
    assert 100_000 <= size < 120_000
    docs = _docs(path)
    assert len(docs) > 10
    assert all(set(d) == {"id", "text"} for d in docs)
    assert len({d["id"] for d in docs}) == len(docs)
    lengths = sorted(len(d["text"]) for d in docs)
    assert 300 <= lengths[len(lengths) // 2] <= 5000          # realistic document lengths
    text = " ".join(d["text"] for d in docs)
    words = re.findall(r"\w+", text.casefold())
    if lang == "fr":
        assert re.search(r"[éèàçêù]", text), "French text has accented letters"
        assert sum(w in {"de", "la", "le", "et", "les", "des"} for w in words) / len(words) > 0.08
    else:
        assert sum(w in {"the", "of", "and", "to", "is", "a"} for w in words) / len(words) > 0.08
    meta = corpus_gen.corpus_meta(path)
    assert meta["docs"] == len(docs) and meta["bytes"] == size


def _shingles(text, k=5):
    toks = re.findall(r"\w+", unicodedata.normalize("NFKC", text).casefold())
    if len(toks) < k:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i:i + k]) for i in range(len(toks) - k + 1)}


def test_planted_duplicates_ground_truth_is_exact(data_dir):
    import pyarrow.parquet as pq
    path, truth = corpus_gen.ensure_dup_corpus("fr", 60, seed=0)
    docs = {d["id"]: d["text"] for d in _docs(path)}
    assert len(docs) == 60
    t = pq.read_table(truth).to_pylist()
    assert t and set(t[0]) == {"doc_a", "doc_b", "jaccard", "planted", "target"}
    sets = {i: _shingles(x) for i, x in docs.items()}
    listed = {}
    for r in t:
        assert r["doc_a"] < r["doc_b"]
        a, b = sets[r["doc_a"]], sets[r["doc_b"]]
        j = len(a & b) / len(a | b)
        assert r["jaccard"] == pytest.approx(j, abs=1e-12)
        if r["planted"]:
            assert abs(j - r["target"]) <= 0.06
        listed[(r["doc_a"], r["doc_b"])] = j
    planted = [r for r in t if r["planted"]]
    assert len(planted) == round(0.3 * 60)
    assert {r["target"] for r in planted} >= {1.0, 0.9, 0.5}
    for x, y in itertools.combinations(sorted(docs), 2):       # nothing above the floor is missing
        if (x, y) not in listed:
            a, b = sets[x], sets[y]
            assert len(a & b) / len(a | b) < corpus_gen.TRUTH_MIN_JACCARD


def test_parse_size():
    assert run.parse_size("10MB") == 10 and run.parse_size("1GB") == 1000
    assert run.parse_size("0.5MB") == 0.5 and run.parse_size("500kB") == 0.5
    with pytest.raises(ValueError):
        run.parse_size("ten")


def test_missing_job_module_is_none():
    assert common.load_job("no_such_job_module") is None


def test_quick_run_writes_reports(data_dir, tmp_path):
    import matplotlib.image as mpimg
    out = tmp_path / "out"
    rc = run.main(["--quick", "--jobs", "ngrams", "--sizes", "0.2MB", "--lang", "fr,en",
                   "--output-dir", str(out)])
    assert rc == 0
    doc = json.loads((out / "results.json").read_text())
    assert {"schema", "created", "command", "machine", "config", "corpora", "results",
            "skipped_jobs", "charts", "total_s"} <= set(doc)
    m = doc["machine"]
    assert {"cpu_model", "logical_cores", "python", "packages", "gpu"} <= set(m)
    assert "numpy" in m["packages"]
    rows = doc["results"]
    assert {(r["lang"], r["tool"]) for r in rows} >= {("fr", "engine-cpu"), ("en", "engine-cpu"),
                                                      ("fr", "counter"), ("en", "counter")}
    for r in rows:
        assert {"job", "tool", "lang", "size_mb", "status"} <= set(r)
        assert r["status"] in {"ok", "absent", "error", "timeout"}
        if r["status"] == "ok":
            assert {"median_s", "min_s", "max_s", "mb_per_s", "docs_per_s", "peak_rss_mb",
                    "warmup_s", "ratio_to_cpu", "input_bytes"} <= set(r)
        else:
            assert r["reason"]
    assert all(r["status"] == "ok" for r in rows if r["tool"] == "counter")
    gpu = [r for r in rows if r["tool"] == "engine-gpu"]
    assert gpu, "an absent device is reported, not dropped"
    if not m["gpu"]:
        assert all(r["status"] == "absent" for r in gpu)
    md = (out / "results.md").read_text()
    assert "## ngrams" in md and "| lang | corpus MB | tool |" in md and "engine-gpu" in md
    for name in doc["charts"]:
        img = mpimg.imread(out / name)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert set(doc["charts"]) == {"throughput.png", "scaling.png"}


# ---------------------------------------------------------------- end-to-end rows (bench/e2e.py)

def _tokens(text):
    return re.findall(r"\w+", text.lower())


def test_polars_peer_counts_match_a_counter(data_dir, tmp_path):
    from collections import Counter

    import pyarrow.parquet as pq

    from bench import e2e_peers
    path = corpus_gen.ensure_corpus("fr", 0.05, seed=0)
    e2e_peers.polars_ngrams(str(path), str(tmp_path / "p.parquet"))
    got = pq.read_table(tmp_path / "p.parquet").to_pylist()
    for n in (1, 2, 3):
        counts, dfs = Counter(), Counter()
        for d in _docs(path):
            toks = _tokens(d["text"])
            grams = [" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)]
            counts.update(grams)
            dfs.update(set(grams))
        want = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:100]
        rows = [r for r in got if r["n"] == n]
        assert [(r["ngram"], r["count"], r["doc_freq"]) for r in rows] == \
            [(g, c, dfs[g]) for g, c in want]


def test_duckdb_peer_counts_window_pairs(data_dir, tmp_path):
    from collections import Counter

    import pyarrow.parquet as pq

    from bench import e2e_peers
    path = corpus_gen.ensure_corpus("en", 0.05, seed=0)
    e2e_peers.duckdb_cooc(str(path), str(tmp_path / "c.parquet"))
    rows = pq.read_table(tmp_path / "c.parquet").to_pylist()
    freq, pairs = Counter(), Counter()
    for d in _docs(path):
        toks = _tokens(d["text"])
        freq.update(toks)
        for i, a in enumerate(toks):
            for b in toks[i + 1:i + 1 + e2e_peers.COOC_WINDOW]:
                if a != b:
                    pairs[min(a, b), max(a, b)] += 1
    assert len(rows) == e2e_peers.COOC_TOP
    llr = [r["llr"] for r in rows]
    assert llr == sorted(llr, reverse=True)
    for r in rows:
        assert r["a"] < r["b"] and r["count"] == pairs[r["a"], r["b"]]
        assert freq[r["a"]] >= e2e_peers.COOC_MIN_COUNT and freq[r["b"]] >= e2e_peers.COOC_MIN_COUNT


def test_rensa_peer_flags_a_planted_copy(tmp_path):
    import pyarrow.parquet as pq

    from bench import e2e_peers
    texts = [" ".join(f"w{i}x{j}" for j in range(60)) for i in range(20)]
    texts.append(texts[3])                                   # an exact copy of document 3
    p = tmp_path / "c.jsonl"
    p.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    e2e_peers.rensa_minhash(str(p), str(tmp_path / "r.parquet"))
    t = pq.read_table(tmp_path / "r.parquet").to_pydict()
    flagged = {i for i, f in zip(t["id"], t["duplicate"]) if f}
    assert flagged and flagged <= {"d3", "d20"}


def test_readme_quotes_the_peers_code_verbatim():
    src = (Path(run.ROOT) / "bench" / "e2e_peers.py").read_text(encoding="utf-8")
    readme = (Path(run.ROOT) / "bench" / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"# --- peer: (\S+)\n(.*?)# --- end\n", src, re.S)
    assert {name for name, _ in blocks} == {"polars-ngrams", "duckdb-cooc", "rensa-minhash"}
    for _, code in blocks:
        assert code.rstrip() in readme


def test_quick_e2e_section_merges_into_earlier_results(data_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps({
        "schema": 1, "created": "x", "command": "earlier", "machine": common.machine_info(),
        "config": {"jobs": ["ngrams"]}, "skipped_jobs": {}, "corpora": [],
        "results": [{"job": "ngrams", "tool": "counter", "lang": "fr", "size_mb": 1.0,
                     "status": "ok", "mb_per_s": 1.0, "median_s": 1.0, "input_bytes": 1e6,
                     "peak_rss_mb": 50.0}]}))
    rc = run.main(["--quick", "--e2e", "--e2e-jobs", "ngrams", "--sizes", "0.1MB", "--lang", "fr",
                   "--output-dir", str(out)])
    assert rc == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["command"] == "earlier" and doc["results"][0]["tool"] == "counter"   # kept
    rows = doc["e2e"]["rows"]
    assert {(r["job"], r["tool"]) for r in rows} == {("ngrams", "corpus"), ("ngrams", "polars")}
    for r in rows:
        assert r["status"] == "ok", r
        assert r["median_s"] > 0 and r["peak_rss_mb"] > 5 and r["mb_per_s"] > 0
    eng = next(r for r in rows if r["tool"] == "corpus")
    peer = next(r for r in rows if r["tool"] == "polars")
    assert eng["ratio_to_peer"] == pytest.approx(eng["mb_per_s"] / peer["mb_per_s"])
    start = {s["what"]: s for s in doc["e2e"]["startup"]}
    assert {"python -c pass", "corpus --help", "corpus ngrams seeds/ -o x.parquet"} <= set(start)
    assert all(s["status"] == "ok" and s["median_s"] > 0 and s["cpu_s"] > 0 for s in start.values())
    md = (out / "results.md").read_text()
    assert "## end to end" in md and "`corpus ngrams --n 1-3 --top 100 -o out.parquet`" in md
    section = md[md.index("## end to end"):]
    assert section.splitlines()[2].startswith("Command: `python -m bench.run --quick --e2e")   # its own
    assert f"Date: {doc['e2e_created']}" in section
    assert "e2e.png" in doc["charts"] and (out / "e2e.png").stat().st_size > 1000


def test_e2e_writes_the_engines_bytecode_as_an_install_does():
    import importlib.util

    import engine.cli.common
    from bench.e2e import compile_bytecode
    pyc = Path(importlib.util.cache_from_source(engine.cli.common.__file__))
    pyc.unlink(missing_ok=True)   # as in a tree run under PYTHONDONTWRITEBYTECODE
    compile_bytecode()
    assert pyc.is_file() and pyc.stat().st_mtime >= Path(engine.cli.common.__file__).stat().st_mtime


# ---------------------------------------------------------------- scaling (bench/scaling.py)

def _row(job, size_mb, seconds, rss, tool="corpus", lang="en", status="ok", cpu=None):
    return {"job": job, "tool": tool, "kind": "engine" if tool == "corpus" else "peer", "lang": lang,
            "size_mb": size_mb, "input_bytes": size_mb * 0.98e6, "status": status,
            "median_s": seconds, "peak_rss_mb": rss, "cpu_s": cpu}


def test_scaling_slopes_of_synthetic_rows():
    from bench import scaling
    rows = [  # listed out of order: the series are sorted by size
        _row("ngrams", 100, 1.0 + 100 * 0.98 * 0.05, 400.0),
        _row("ngrams", 10, 1.0 + 10 * 0.98 * 0.05, 400.0),      # 1 s start-up + 0.05 s/MB, flat memory
        _row("ngrams", 1000, 1.0 + 1000 * 0.98 * 0.05, 400.0),
        _row("cooc", 10, 2.0, 100.0, cpu=3.0),                    # cost and memory grow as size^2
        _row("cooc", 100, 200.0, 10000.0, cpu=30.0),              # (CPU seconds only linearly)
        _row("cooc", 1000, 0.0, 0.0, status="error"),             # a failed row is not in a slope
        _row("ngrams", 10, 3.0, 900.0, tool="polars"),           # another tool is its own series
    ]
    slopes = {(s["job"], s["tool"], s["from_mb"], s["to_mb"]): s for s in scaling.slopes(rows)}
    assert set(slopes) == {("ngrams", "corpus", 10, 100), ("ngrams", "corpus", 100, 1000),
                           ("cooc", "corpus", 10, 100)}
    for key in (("ngrams", "corpus", 10, 100), ("ngrams", "corpus", 100, 1000)):
        s = slopes[key]
        assert s["s_per_mb"] == pytest.approx(0.05)              # the start-up cancels out
        assert s["size_x"] == pytest.approx(10)
        assert s["rss_x"] == pytest.approx(1) and s["rss_exponent"] == pytest.approx(0, abs=1e-12)
    s = slopes[("ngrams", "corpus", 100, 1000)]
    t100, t1000 = 1.0 + 98 * 0.05, 1.0 + 980 * 0.05
    assert s["mb_per_s_ratio"] == pytest.approx((980 / t1000) / (98 / t100))
    assert s["time_exponent"] == pytest.approx(math.log(t1000 / t100) / math.log(10))
    q = slopes[("cooc", "corpus", 10, 100)]
    assert q["time_exponent"] == pytest.approx(2) and q["rss_exponent"] == pytest.approx(2)
    assert q["mb_per_s_ratio"] == pytest.approx(0.1)
    assert q["cpu_exponent"] == pytest.approx(1) and s["cpu_exponent"] is None   # no CPU seconds: none
    sized = scaling.size_rows(rows)
    assert len(sized) == 6
    first = next(r for r in sized if r["job"] == "cooc" and r["size_mb"] == 10)
    assert first["mb_per_s"] == pytest.approx(9.8 / 2.0) and first["rss_per_text"] == pytest.approx(100 / 9.8)
    md = "\n".join(scaling.markdown(rows))
    assert "| ngrams | en | corpus | 100 MB → 1 GB | 10.0 |" in md
    assert "| cooc | en | corpus | 1 GB | – | error:" in md


def test_cold_start_rows_use_a_fresh_cache_and_leave_ours(tmp_path, monkeypatch):
    from bench import e2e
    ours = tmp_path / "ours"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(ours))
    # writes one file into the cache it is given only when that cache is empty, as a JIT would
    # (no braces: the arguments are format strings, like the commands' {out})
    code = ("import os, sys; d = os.environ['NUMBA_CACHE_DIR']; os.makedirs(d, exist_ok=True); "
            "sys.exit(3) if d == sys.argv[1] else None; "
            "n = len(os.listdir(d)); open(os.path.join(d, 'k' + str(n)), 'w').write('x' * 1000) if n == 0 else None")
    rows = e2e.measure_cold_start("probe", ("-c", code, str(ours)), timeout=60)
    assert [r["status"] for r in rows] == ["ok", "ok", "ok"]
    assert "first run after install" in rows[0]["what"] and "second run" in rows[1]["what"]
    assert "no warm-up worker" in rows[2]["what"]
    # the second run found it filled; the run without the worker had its own empty caches
    assert [r["cache_files"] for r in rows] == [1, 1, 1]
    assert rows[0]["cache_files_by_var"] == {"NUMBA_CACHE_DIR": 1, "CORPUS_ENGINE_CACHE": 0, "XDG_CACHE_HOME": 0}
    assert rows[0]["median_s"] > 0 and rows[0]["peak_rss_mb"] > 1
    assert not ours.exists()
    md = "\n".join(e2e.startup_markdown(rows))
    assert "| `probe: first run after install (empty caches)` | 1 |" in md and "1 files" in md


def test_quick_scaling_section_beside_the_e2e_one(data_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(json.dumps({
        "schema": 1, "created": "x", "command": "earlier", "machine": common.machine_info(),
        "config": {"jobs": []}, "skipped_jobs": {}, "corpora": [], "results": [],
        "e2e": {"config": {"repeat": 1}, "startup": [], "rows": []}}))
    rc = run.main(["--quick", "--scaling", "--e2e-jobs", "ngrams,minhash", "--sizes", "0.1MB,0.3MB",
                   "--lang", "fr", "--e2e-peers", "polars", "--e2e-peer-max-mb", "0.2MB",
                   "--output-dir", str(out)])
    assert rc == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["command"] == "earlier" and "e2e" in doc                      # kept
    sec = doc["scaling"]
    rows = {(r["job"], r["tool"], r["size_mb"]): r for r in sec["rows"]}
    assert set(rows) == {("ngrams", "corpus", 0.1), ("ngrams", "corpus", 0.3), ("ngrams", "polars", 0.1),
                         ("ngrams", "polars", 0.3), ("minhash", "corpus", 0.1), ("minhash", "corpus", 0.3)}
    assert rows[("ngrams", "polars", 0.3)]["status"] == "skipped"           # above the peer cap
    assert "0.2" in rows[("ngrams", "polars", 0.3)]["reason"]
    for key, r in rows.items():
        if key != ("ngrams", "polars", 0.3):
            assert r["status"] == "ok", r
    assert sec["config"]["peer_max_mb"] == 0.2 and sec["config"]["peers"] == ["polars"]
    assert [c["size_mb"] for c in sec["corpora"]] == [0.1, 0.3]
    big, small = rows[("ngrams", "corpus", 0.3)], rows[("ngrams", "corpus", 0.1)]
    assert big["input_bytes"] > 2 * small["input_bytes"]
    md = (out / "results.md").read_text()
    assert "## scaling: end to end at growing corpus sizes" in md
    assert "| ngrams | fr | corpus | 0.1 MB → 0.3 MB |" in md and "| minhash | fr | corpus | 0.1 MB → 0.3 MB |" in md
    assert "scaling-e2e.png" in doc["charts"] and (out / "scaling-e2e.png").stat().st_size > 1000


def test_scaling_flags_are_checked():
    for argv in (["--scaling", "--e2e"], ["--scaling", "--e2e-peers", "spark"],
                 ["--scaling", "--e2e-peer-max-mb", "lots"]):
        with pytest.raises(SystemExit) as e:
            run.main(argv)
        assert e.value.code == 2


def test_generator_fast_walk_draws_like_the_plain_chain():
    """The numbered-state walk of _Writer.sentence against a plain walk over _chain's dict,
    with the same seed: the same sentences (the corpora's bytes do not change)."""
    w = corpus_gen._Writer("en", 7, corpus_gen._LEX_RATE)
    rng = random.Random("en:7:")
    starts, succ = corpus_gen._chain("en")
    lexicon = corpus_gen._lexicon("en")
    draws: list[str] = []

    def plain_sentence():
        w1, w2 = starts[rng.randrange(len(starts))]
        out = [w1, w2]
        while len(out) < 90:
            nxt = succ.get((w1, w2))
            if not nxt:
                break
            w3 = nxt[rng.randrange(len(nxt))] if len(nxt) > 1 else nxt[0]
            if w3 == corpus_gen._END:
                break
            out.append(w3)
            w1, w2 = w2, w3
        if lexicon:
            for i, tok in enumerate(out):
                m = corpus_gen._CORE.match(tok)
                if m and corpus_gen._LETTERS["en"].match(m.group(2)) and m.group(2) not in w.stop \
                        and rng.random() < corpus_gen._LEX_RATE:
                    if not draws:
                        draws.extend(rng.choices(lexicon[0], cum_weights=lexicon[1], k=4096))
                    out[i] = m.group(1) + draws.pop() + m.group(3)
        return " ".join(out)

    for _ in range(3000):
        assert w.sentence() == plain_sentence()


def test_a_command_over_the_memory_cap_or_the_timeout_is_stopped_with_its_children(tmp_path):
    import os
    import sys
    import time

    import psutil

    from bench import e2e
    pid_file = tmp_path / "pid"
    hog = ("import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); "
           "b = bytearray(400 * 2**20); b[::4096] = b'x' * len(b[::4096]); time.sleep(60)")
    t0 = time.perf_counter()
    r = e2e.time_process_rss([sys.executable, "-c", hog, str(pid_file)], timeout=50, max_rss_mb=150)
    assert r["status"] == "memory" and "150 MB" in r["reason"], r
    assert time.perf_counter() - t0 < 40
    pid = int(pid_file.read_text())
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    pid_file.unlink()
    sleeper = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)"
    r = e2e.time_process_rss([sys.executable, "-c", sleeper, str(pid_file)], timeout=8)
    assert r["status"] == "timeout", r
    pid = int(pid_file.read_text())     # the command itself, under /usr/bin/time, is gone too
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    ok = e2e.time_process_rss([sys.executable, "-c", "pass"], timeout=30, max_rss_mb=10_000)
    assert ok["status"] == "ok" and ok["wall_s"] > 0 and os.path.exists(sys.executable)
