"""engine.warmup: a worker compiles a job's kernels into the cache, the command then loads them
without compiling; no worker where it cannot help; workers stopped with the command."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine import warmup

ROOT = Path(__file__).resolve().parents[1]

# which kernels of the package the job compiled and which it loaded from the cache (numba's
# own counters), after running the cooc job on the warm-up's sample corpus
_PROBE = textwrap.dedent("""
    import json, sys
    from numba.core.registry import CPUDispatcher
    from engine import cooc, warmup
    from engine.text import text_options
    res = cooc.run(warmup.sample_batches(), "cpu",
                   cooc.CoocConfig(window=5, min_count=2, measure="llr", text=text_options("fr,en")))
    hits = misses = 0
    for name, mod in list(sys.modules.items()):
        if not name.startswith("kernels"):
            continue
        for obj in vars(mod).values():
            if isinstance(obj, CPUDispatcher):
                hits += sum(obj.stats.cache_hits.values())
                misses += sum(obj.stats.cache_misses.values())
    print(json.dumps({"hits": hits, "misses": misses, "nnz": int(res.nnz),
                      "warm": warmup.warm("cooc")}))
""")


def _env(cache: Path, **extra) -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), NUMBA_CACHE_DIR=str(cache), **extra)


def _probe(cache: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE], env=_env(cache), capture_output=True,
                         text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_worker_compiles_into_the_cache_and_the_command_loads_it(tmp_path):
    cache = tmp_path / "numba"
    worker = subprocess.run([sys.executable, "-m", "engine.warmup", "--device", "cpu", "--stopwords", "fr,en", "cooc"],
                            env=_env(cache), capture_output=True, text=True, timeout=600)
    assert worker.returncode == 0, worker.stderr
    assert list(cache.rglob("corpus-engine-warm-cooc-*")), "the unit's marker"
    after = _probe(cache)
    assert after["warm"]
    assert after["hits"] > 10 and after["misses"] == 0, after   # loaded, nothing compiled
    # the oracle: the same job in a cold cache compiles (misses) and gives the same result
    cold = _probe(tmp_path / "cold")
    assert cold["misses"] > 10 and cold["hits"] == 0 and not cold["warm"]
    assert cold["nnz"] == after["nnz"] > 0


def test_analyze_prefetches_known_units_its_plan_first():
    from engine.cli.analyze import ANALYZE_PREFETCH
    assert set(ANALYZE_PREFETCH) <= set(warmup.UNITS) and ANALYZE_PREFETCH[0] == "analyze"


def test_unknown_unit_is_one_line_exit_2(tmp_path):
    r = subprocess.run([sys.executable, "-m", "engine.warmup", "ngramz"], env=_env(tmp_path),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "ngramz" in r.stderr


@pytest.mark.parametrize("var, value, device", [
    ("CORPUS_ENGINE_WARMUP", "0", "auto"), ("NUMBA_DISABLE_JIT", "1", "auto"),
    ("NUMBA_ENABLE_CUDASIM", "1", "auto"), (None, None, "gpu")])
def test_no_worker_where_it_cannot_help(monkeypatch, var, value, device):
    monkeypatch.setattr(warmup, "usable_cores", lambda: 8)
    for v in ("CORPUS_ENGINE_WARMUP", "NUMBA_DISABLE_JIT", "NUMBA_ENABLE_CUDASIM"):
        monkeypatch.delenv(v, raising=False)
    assert warmup.enabled("auto")
    if var:
        monkeypatch.setenv(var, value)
    assert not warmup.enabled(device)


def test_one_core_no_worker(monkeypatch):
    monkeypatch.delenv("CORPUS_ENGINE_WARMUP", raising=False)
    monkeypatch.delenv("NUMBA_DISABLE_JIT", raising=False)
    monkeypatch.delenv("NUMBA_ENABLE_CUDASIM", raising=False)
    monkeypatch.setattr(warmup, "usable_cores", lambda: 1)
    assert not warmup.enabled("cpu")
    monkeypatch.setattr(warmup, "start_worker", lambda *a: pytest.fail("a worker on one core"))
    monkeypatch.setattr(warmup, "warm", lambda unit: False)
    with warmup.prefetch(["cooc"]) as started:
        assert started == []


def test_plan_workers():
    assert warmup.plan_workers(["c", "m", "n"], 2) == [["c", "m", "n"]]
    assert warmup.plan_workers(["c", "m", "n"], 3) == [["c", "n"], ["m"]]
    assert warmup.plan_workers(["c", "m", "n"], 16) == [["c"], ["m"], ["n"]]
    assert warmup.plan_workers([], 4) == []


@pytest.fixture
def cold_two_cores(monkeypatch):
    for v in ("CORPUS_ENGINE_WARMUP", "NUMBA_DISABLE_JIT", "NUMBA_ENABLE_CUDASIM"):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setattr(warmup, "usable_cores", lambda: 2)
    monkeypatch.setattr(warmup, "warm", lambda unit: unit == "ngrams")


def test_prefetch_starts_cold_units_and_stops_the_worker(monkeypatch, cold_two_cores):
    started = []

    def fake_worker(units, stopwords, device):   # a worker that would outlive the command
        started.append((list(units), stopwords, device))
        return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

    monkeypatch.setattr(warmup, "start_worker", fake_worker)
    with warmup.prefetch(["cooc", "minhash", "ngrams"], "fr,en", "cpu") as units:
        assert units == ["cooc", "minhash"]          # ngrams is warm
    assert started == [(["cooc", "minhash"], "fr,en", "cpu")]
    # stopped (not left running past the command)
    procs = _children()
    assert not any("time.sleep(60)" in p for p in procs), procs


def test_prefetch_without_processes_runs_the_command_alone(monkeypatch, cold_two_cores):
    def no_process(units, stopwords, device):
        raise OSError("fork refused")

    monkeypatch.setattr(warmup, "start_worker", no_process)
    with warmup.prefetch(["cooc"]) as units:
        assert units == []


def _children() -> list[str]:
    """Command lines of this process's live children."""
    me = str(os.getpid())
    out = []
    for d in Path("/proc").iterdir():
        try:
            stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
            if stat[1] == me and stat[0] != "Z":
                out.append((d / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError):
            continue
    return out


def test_a_planned_unit_is_marked_warm_by_the_command_that_called_its_kernels(monkeypatch, tmp_path):
    from numba.core import types

    from engine import warmup_plan
    from kernels.hashing import mix64
    held = warmup_plan.entry("kernels.hashing", "mix64", (types.uint64,))
    not_held = warmup_plan.entry("kernels.hashing", "mix64", (types.int8,))
    mix64.compile((types.uint64,))
    plans = {"p-held": [held], "p-not": [held, not_held]}
    monkeypatch.setattr(warmup_plan, "load", lambda name: plans[name])
    monkeypatch.setattr(warmup, "PLANNED", {"u-held": "p-held", "u-not": "p-not"})
    monkeypatch.setattr(warmup, "_marker", lambda unit: tmp_path / unit)
    warmup._mark_planned_units(["u-held", "u-not", "cooc"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["u-held"]
