"""End-to-end rows: each ``corpus`` command and each peer as a whole process, start-up included.

What a user feels is the command, from the file to the written result: interpreter start,
imports, JIT cache loads, reading, work, writing.  For every (job, language, size) the
corpus-engine command (``python -m engine.cli ...``, what the ``corpus`` script runs) and
the strongest peer a user would pick instead (``python -m bench.e2e_peers ...``, code quoted
in bench/README.md) run as child processes on the same file in the same run.  Each command
runs once untimed on a 100 kB sample first (fills the numba cache and the OS page cache of
the modules: a warm start, as for any second use), then ``repeat`` timed runs.  Wall time is
measured around the process; peak RSS is the child's own (``os.wait4``).  MB/s is over the
document text bytes of the corpus; ``x peer`` is the command's MB/s over its peer's.

Also measured: warm start-up (``corpus --help``, and ``python -c pass`` as the floor).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.corpus_gen import corpus_meta, ensure_corpus

ROOT = Path(__file__).resolve().parent.parent
E2E_JOBS = ("ngrams", "ngrams-full", "cooc", "minhash")
DEFAULT_MB = 100.0


@dataclass(frozen=True)
class Command:
    """One process to time: ``argv(input, outdir)`` after ``python``."""
    job: str
    tool: str
    kind: str                      # "engine" or "peer"
    what: str                      # the command as a user types it (for the table)
    args: tuple[str, ...]          # {in} and {out} are replaced

    def argv(self, inp: Path, out: Path) -> list[str]:
        return [sys.executable] + [a.format(inp=inp, out=out) for a in self.args]


_CLI = ("-m", "engine.cli")
COMMANDS = (
    Command("ngrams", "corpus", "engine", "corpus ngrams --n 1-3 --top 100 -o out.parquet",
            _CLI + ("ngrams", "{inp}", "--n", "1-3", "--top", "100", "--device", "cpu",
                    "-o", "{out}/ngrams.parquet", "--quiet")),
    Command("ngrams", "polars", "peer", "bench.e2e_peers polars-ngrams",
            ("-m", "bench.e2e_peers", "polars-ngrams", "{inp}", "{out}/polars.parquet")),
    Command("ngrams-full", "corpus", "engine", "corpus ngrams --n 1-3 -o out.parquet (every n-gram)",
            _CLI + ("ngrams", "{inp}", "--n", "1-3", "--device", "cpu",
                    "-o", "{out}/ngrams-full.parquet", "--quiet")),
    Command("cooc", "corpus", "engine", "corpus cooc --window 5 --top 1000 -o out.parquet",
            _CLI + ("cooc", "{inp}", "--window", "5", "--top", "1000", "--device", "cpu",
                    "-o", "{out}/cooc.parquet", "--quiet")),
    Command("cooc", "duckdb", "peer", "bench.e2e_peers duckdb-cooc",
            ("-m", "bench.e2e_peers", "duckdb-cooc", "{inp}", "{out}/duckdb.parquet")),
    Command("minhash", "corpus", "engine",
            "corpus minhash -o pairs.parquet --clusters clusters.parquet (verified pairs + clusters)",
            _CLI + ("minhash", "{inp}", "--device", "cpu", "-o", "{out}/pairs.parquet",
                    "--clusters", "{out}/clusters.parquet", "--quiet")),
    Command("minhash", "rensa", "peer", "bench.e2e_peers rensa-minhash",
            ("-m", "bench.e2e_peers", "rensa-minhash", "{inp}", "{out}/rensa.parquet")),
)
STARTUP = (("python -c pass", ("-c", "pass")), ("corpus --help", _CLI + ("--help",)),
           # a command on the 19 kB seeds/: start-up plus a few milliseconds of work
           ("corpus ngrams seeds/ -o x.parquet", _CLI + ("ngrams", "seeds", "-o", "{out}/x.parquet", "-q")),
           ("corpus cooc seeds/ -o x.parquet", _CLI + ("cooc", "seeds", "-o", "{out}/x.parquet", "-q")),
           ("corpus minhash seeds/ -o x.parquet", _CLI + ("minhash", "seeds", "-o", "{out}/x.parquet", "-q")),
           ("corpus analyze seeds/ --no-report", _CLI + ("analyze", "seeds", "--no-report", "-q")))
PEER_MODULES = {"polars": "polars", "duckdb": "duckdb", "rensa": "rensa"}


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def time_process_rss(argv: list[str], timeout: float) -> dict:
    """Wall seconds and the child's own peak RSS (MB) of one process.

    The child is started by ``/usr/bin/time`` where it exists: Linux keeps the peak RSS
    of a process across exec, so a child forked straight from this (large) runner would
    report the runner's size.
    """
    with tempfile.TemporaryDirectory(prefix="e2e-rss-") as tmp:
        rss_file = Path(tmp) / "rss"
        timer = Path("/usr/bin/time")
        full = [str(timer), "-f", "%M %U %S", "-o", str(rss_file), *argv] if timer.exists() else argv
        t0 = time.perf_counter()
        p = subprocess.Popen(full, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        try:
            _, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            return {"status": "timeout", "reason": f"over {timeout:.0f} s"}
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            lines = [ln for ln in (err or "").strip().splitlines()
                     if ln.strip() and not ln.startswith("Command exited")]
            return {"status": "error", "reason": lines[-1][:300] if lines else f"exit {p.returncode}"}
        try:
            rss_kb, user, system = rss_file.read_text().split()[-3:]
            rss, cpu = int(rss_kb) / 1024, float(user) + float(system)
        except (OSError, ValueError):
            rss = cpu = None
    return {"status": "ok", "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": rss}


def _measure(cmd: Command, inp: Path, warm: Path, repeat: int, timeout: float) -> dict:
    mod = PEER_MODULES.get(cmd.tool)
    if mod is not None:
        import importlib.util
        if importlib.util.find_spec(mod) is None:
            return {"status": "absent", "reason": f"module {mod} not installed "
                                                  "(pip install 'corpus-engine[bench]')"}
    with tempfile.TemporaryDirectory(prefix="e2e-") as out:
        first = time_process_rss(cmd.argv(warm, Path(out)), timeout)   # warm-up, untimed
        if first["status"] != "ok":
            return first
        runs = []
        for _ in range(repeat):
            r = time_process_rss(cmd.argv(inp, Path(out)), timeout)
            if r["status"] != "ok":
                return r
            runs.append(r)
    walls = [r["wall_s"] for r in runs]
    return {"status": "ok", "times_s": walls, "median_s": statistics.median(walls),
            "warmup_s": first["wall_s"], "peak_rss_mb": max((r["peak_rss_mb"] or 0) for r in runs) or None}


def measure_startup(repeat: int = 5, timeout: float = 120.0) -> list[dict]:
    """Median wall and CPU (user + system) seconds of processes that do (almost) no work,
    warm: one untimed run first.  CPU seconds are what a shared machine distorts least."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="e2e-start-") as out:
        for name, args in STARTUP:
            argv = [sys.executable, *(a.format(out=out) for a in args)]
            time_process_rss(argv, timeout)
            runs = [time_process_rss(argv, timeout) for _ in range(repeat)]
            ok = [r for r in runs if r["status"] == "ok"]
            rows.append({"what": name, "status": "ok" if ok else runs[-1]["status"],
                         "median_s": statistics.median(r["wall_s"] for r in ok) if ok else None,
                         "min_s": min((r["wall_s"] for r in ok), default=None),
                         "cpu_s": statistics.median(r["cpu_s"] or 0 for r in ok) if ok else None,
                         "peak_rss_mb": max((r["peak_rss_mb"] or 0 for r in ok), default=None)})
    return rows


def run_e2e(langs: list[str], sizes: list[float], seed: int, repeat: int, timeout: float,
            jobs: list[str] | None = None, log=print) -> dict:
    """Every end-to-end command on every corpus; returns the ``e2e`` section of results.json."""
    from bench.common import warmup_input
    jobs = list(jobs or E2E_JOBS)
    rows = []
    for lang in langs:
        for size in sizes:
            path = ensure_corpus(lang, size, seed)
            meta = corpus_meta(path)
            warm = warmup_input(path)
            for cmd in COMMANDS:
                if cmd.job not in jobs:
                    continue
                row = {"job": cmd.job, "tool": cmd.tool, "kind": cmd.kind, "command": cmd.what,
                       "lang": lang, "size_mb": size, "corpus": str(path),
                       "input_bytes": meta["text_bytes"], "input_docs": meta["docs"]}
                row.update(_measure(cmd, path, warm, repeat, timeout))
                if row["status"] == "ok":
                    row["mb_per_s"] = meta["text_bytes"] / 1e6 / row["median_s"]
                    log(f"e2e {cmd.job} {lang} {size:g}MB {cmd.tool}: {row['mb_per_s']:.2f} MB/s "
                        f"({row['median_s']:.2f} s, RSS {_f(row['peak_rss_mb'], 0)} MB)")
                else:
                    log(f"e2e {cmd.job} {lang} {size:g}MB {cmd.tool}: {row['status']} ({row['reason']})")
                rows.append(row)
    add_peer_ratios(rows)
    return {"config": {"langs": langs, "sizes_mb": sizes, "seed": seed, "repeat": repeat,
                       "jobs": jobs, "timeout_s": timeout},
            "startup": measure_startup(), "rows": rows}


def add_peer_ratios(rows: list[dict]) -> None:
    """ratio_to_peer on corpus-engine rows: its MB/s over the peer's, same job and corpus."""
    peer = {(r["job"], r["lang"], r["size_mb"]): r.get("mb_per_s") for r in rows
            if r["kind"] == "peer" and r["status"] == "ok"}
    for r in rows:
        base = peer.get((r["job"], r["lang"], r["size_mb"]))
        r["ratio_to_peer"] = r["mb_per_s"] / base if (r["kind"] == "engine" and base
                                                      and r.get("mb_per_s")) else None


# ---------------------------------------------------------------- report

def _f(x, nd=2) -> str:
    return "–" if x is None else (f"{x:.{nd}f}" if isinstance(x, float) else str(x))


def markdown(section: dict) -> list[str]:
    """The ``end to end`` section of results.md."""
    lines = ["## end to end (a process per command, start-up included)", "",
             "| job | lang | corpus MB | tool | command | status | wall s | MB/s | × peer | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in section["rows"]:
        st = r["status"] if r["status"] == "ok" else f"{r['status']}: {r.get('reason', '')}".replace("|", "/")
        lines.append(f"| {r['job']} | {r['lang']} | {r['input_bytes'] / 1e6:.1f} | {r['tool']} | "
                     f"`{r['command']}` | {st} | {_f(r.get('median_s'))} | {_f(r.get('mb_per_s'))} | "
                     f"{_f(r.get('ratio_to_peer'))} | {_f(r.get('peak_rss_mb'), 0)} |")
    lines += ["", "Warm start-up (median of 5 processes after one untimed; CPU = user + system):", "",
              "| process | median wall s | min wall s | median CPU s | peak RSS MB |", "|---|---|---|---|---|"]
    for s in section["startup"]:
        lines.append(f"| `{s['what']}` | {_f(s['median_s'])} | {_f(s['min_s'])} | {_f(s.get('cpu_s'))} | "
                     f"{_f(s['peak_rss_mb'], 0)} |")
    lines += ["", "Each command ran once untimed on a 100 kB sample (warm numba and page caches), then "
              f"{section['config']['repeat']} timed run(s); wall time of the whole process over the "
              "document text bytes; × peer = corpus-engine MB/s over the peer's on the same file in "
              "the same run. Peers' code: bench/README.md (bench/e2e_peers.py).", ""]
    return lines


def chart(section: dict, outdir: Path) -> str:
    """e2e.png: MB/s of each command and its peer, per job and language."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in section["rows"] if r["status"] == "ok"]
    keys = list(dict.fromkeys((r["job"], r["lang"]) for r in section["rows"]))
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(keys) + 2), 4.2))
    width = 0.38
    for ti, kind in enumerate(("engine", "peer")):
        vals, names = [], []
        for job, lang in keys:
            hit = [r for r in rows if r["job"] == job and r["lang"] == lang and r["kind"] == kind]
            vals.append(hit[0]["mb_per_s"] if hit else 0.0)
            names.append(hit[0]["tool"] if hit else "")
        bars = ax.bar([i + ti * width for i in range(len(keys))], vals, width,
                      label="corpus-engine" if kind == "engine" else "strongest peer")
        for b, v, name in zip(bars, vals, names):
            if kind == "peer" and name:
                ax.text(b.get_x() + b.get_width() / 2, v, name, ha="center", va="bottom", fontsize=7)
    ax.set_xticks([i + width / 2 for i in range(len(keys))])
    ax.set_xticklabels([f"{j}\n{lang}" for j, lang in keys], fontsize=8)
    ax.set_ylabel("MB/s, whole process (median)")
    ax.set_title("end to end from the command line")
    ax.legend(fontsize=8)
    fig.tight_layout()
    p = outdir / "e2e.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p.name


__all__ = ["COMMANDS", "E2E_JOBS", "DEFAULT_MB", "run_e2e", "measure_startup", "markdown", "chart",
           "time_process_rss", "add_peer_ratios"]


if __name__ == "__main__":   # python -m bench.e2e: the start-up table alone
    for row in measure_startup():
        print(f"{row['what']:40s} wall {_f(row['median_s'])} s (min {_f(row['min_s'])})  "
              f"CPU {_f(row['cpu_s'])} s  RSS {_f(row['peak_rss_mb'], 0)} MB")
