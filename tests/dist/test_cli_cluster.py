"""The command line on clusters: an existing one (``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1, passed as tcp://), and an embedded one whose task crashes (exit 1,
one line, no output file)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env.update(extra)
    return env


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)], capture_output=True,
                          text=True, env=env or _env(), timeout=300)


@pytest.fixture(scope="module")
def tcp_cluster(tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster")
    sfile = d / "scheduler.json"
    env = _env()
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(sfile)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(300):
            if sfile.exists() and sfile.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(sfile.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nworkers", "1",
                                           "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield address, sfile
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_existing_cluster_over_tcp(tcp_cluster, corpus, tmp_path):
    address, sfile = tcp_cluster
    assert re.match(r"tcp://127\.0\.0\.1:\d+$", address)
    one, many = tmp_path / "one.csv", tmp_path / "many.csv"
    r1 = _cli("ngrams", corpus, "--n", "1-2", "--top", "50", "-q", "-o", one)
    r2 = _cli("ngrams", corpus, "--n", "1-2", "--top", "50", "-q", "-o", many, "--scheduler", address)
    assert r1.returncode == 0, r1.stderr
    assert r2.returncode == 0, r2.stderr
    assert many.read_bytes() == one.read_bytes()
    assert r2.stderr == r1.stderr   # the same skip report
    c1, c2 = tmp_path / "one.npz", tmp_path / "many.npz"
    r3 = _cli("cooc", corpus, "-q", "-o", c1)
    r4 = _cli("cooc", corpus, "-q", "-o", c2, "--scheduler", sfile)   # a scheduler file
    assert r3.returncode == 0 and r4.returncode == 0, r4.stderr
    assert (tmp_path / "many.vocab.tsv").read_bytes() == (tmp_path / "one.vocab.tsv").read_bytes()
    import numpy as np
    a, b = np.load(c1), np.load(c2)
    assert sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k]) for k in a.files)


def test_embedded_cluster_task_crash_leaves_no_output(corpus, tmp_path):
    out = tmp_path / "pairs.csv"
    hooks = json.dumps({"fault": ["signatures", 0, "", "raise"]})
    r = _cli("minhash", corpus, "-q", "-o", out, "--scheduler", "local:2",
             env=_env(CORPUS_ENGINE_DIST_HOOKS=hooks))
    assert r.returncode == 1
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "injected failure" in lines[0], r.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_analyze_on_the_cluster(tcp_cluster, corpus):
    address, _ = tcp_cluster
    r1 = _cli("analyze", corpus, "--no-report", "-q")
    r2 = _cli("analyze", corpus, "--no-report", "-q", "--scheduler", address)
    assert r1.returncode == 0 and r2.returncode == 0, r2.stderr
    timing = re.compile(r"\d+\.\d+ s\b")
    assert timing.sub("T", r2.stdout) == timing.sub("T", r1.stdout)
    assert "top 10 1-grams" in r1.stdout
