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
E2E_JOBS = ("ngrams", "ngrams-full", "cooc", "minhash", "analyze")
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
    Command("analyze", "corpus", "engine", "corpus analyze --no-report (n-grams + MinHash + cooc, one pass)",
            _CLI + ("analyze", "{inp}", "--no-report", "--device", "cpu", "-q")),
)
STARTUP = (("python -c pass", ("-c", "pass")), ("corpus --help", _CLI + ("--help",)),
           # a command on the 19 kB seeds/: start-up plus a few milliseconds of work
           ("corpus ngrams seeds/ -o x.parquet", _CLI + ("ngrams", "seeds", "-o", "{out}/x.parquet", "-q")),
           ("corpus cooc seeds/ -o x.parquet", _CLI + ("cooc", "seeds", "-o", "{out}/x.parquet", "-q")),
           ("corpus minhash seeds/ -o x.parquet", _CLI + ("minhash", "seeds", "-o", "{out}/x.parquet", "-q")),
           ("corpus analyze seeds/ --no-report", _CLI + ("analyze", "seeds", "--no-report", "-q")))
# the first run after install: every cache the engine fills (numba's JIT cache, engine.normalize's
# tables under CORPUS_ENGINE_CACHE or XDG_CACHE_HOME) points into a fresh, empty folder
COLD_START = ("corpus analyze seeds/ --no-report", _CLI + ("analyze", "seeds", "--no-report", "-q"))
COLD_CACHE_VARS = ("NUMBA_CACHE_DIR", "CORPUS_ENGINE_CACHE", "XDG_CACHE_HOME")
PEER_MODULES = {"polars": "polars", "duckdb": "duckdb", "rensa": "rensa"}
PEER_TOOLS = tuple(c.tool for c in COMMANDS if c.kind == "peer")


def _env(extra: dict | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(extra or {})
    return env


def default_max_rss_mb() -> float:
    """80% of the machine's memory: a process above it is stopped before the OOM killer picks one."""
    import psutil
    return 0.8 * psutil.virtual_memory().total / 2**20


def _tree_rss_mb(pid: int) -> float:
    """Resident MB of a process and all its descendants (0 when it is gone)."""
    import psutil
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def _stop(p: subprocess.Popen) -> None:
    """Kill the child's whole session (``/usr/bin/time`` and the command under it)."""
    import signal
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            p.kill()
    p.communicate()


def _wait(p: subprocess.Popen, t0: float, timeout: float, max_rss_mb: float | None) -> tuple[dict | None, str]:
    """(None, stderr) once the child exits; (a timeout or memory row, "") when it was stopped."""
    while True:
        left = timeout - (time.perf_counter() - t0)
        try:   # communicate returns as soon as the child exits: the poll step costs no precision
            _, err = p.communicate(timeout=max(0.0, min(left, 0.25) if max_rss_mb else left))
            return None, err
        except subprocess.TimeoutExpired:
            if time.perf_counter() - t0 >= timeout:
                _stop(p)
                return {"status": "timeout", "reason": f"over {timeout:.0f} s"}, ""
            rss_now = _tree_rss_mb(p.pid) if max_rss_mb else 0.0
            if max_rss_mb and rss_now > max_rss_mb:
                _stop(p)
                return {"status": "memory", "reason": f"stopped at {rss_now:.0f} MB resident, over "
                                                      f"--e2e-max-rss {max_rss_mb:.0f} MB"}, ""


def time_process_rss(argv: list[str], timeout: float, env: dict | None = None,
                     max_rss_mb: float | None = None) -> dict:
    """Wall seconds and the child's own peak RSS (MB) of one process.

    The child is started by ``/usr/bin/time`` where it exists: Linux keeps the peak RSS
    of a process across exec, so a child forked straight from this (large) runner would
    report the runner's size.  It runs in its own session, so a timeout stops the command
    itself, not only ``/usr/bin/time``.  With ``max_rss_mb`` the resident memory of the child's
    process tree is polled (every 0.25 s) and the command is stopped above it: status
    ``memory`` (a 1 GB corpus must not let the OOM killer choose what to kill on a shared machine).
    """
    with tempfile.TemporaryDirectory(prefix="e2e-rss-") as tmp:
        rss_file = Path(tmp) / "rss"
        timer = Path("/usr/bin/time")
        full = [str(timer), "-f", "%M %U %S", "-o", str(rss_file), *argv] if timer.exists() else argv
        t0 = time.perf_counter()
        p = subprocess.Popen(full, cwd=ROOT, env=_env(env), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        try:
            failed, err = _wait(p, t0, timeout, max_rss_mb)
        except BaseException:      # Ctrl-C: its own session would not get the SIGINT
            _stop(p)
            raise
        if failed:
            return failed
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


def _measure(cmd: Command, inp: Path, warm: Path, repeat: int, timeout: float,
             max_rss_mb: float | None = None) -> dict:
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
            r = time_process_rss(cmd.argv(inp, Path(out)), timeout, max_rss_mb=max_rss_mb)
            if r["status"] != "ok":
                return r
            runs.append(r)
    walls = [r["wall_s"] for r in runs]
    cpus = [r["cpu_s"] for r in runs if r["cpu_s"] is not None]
    return {"status": "ok", "times_s": walls, "median_s": statistics.median(walls),
            "cpu_s": statistics.median(cpus) if cpus else None,
            "warmup_s": first["wall_s"], "peak_rss_mb": max((r["peak_rss_mb"] or 0) for r in runs) or None}


def _folder_size(path: Path) -> tuple[int, float]:
    files = [f for f in path.rglob("*") if f.is_file()]
    return len(files), sum(f.stat().st_size for f in files) / 1e6


def measure_cold_start(what: str = COLD_START[0], args: tuple[str, ...] = COLD_START[1],
                       timeout: float = 300.0) -> list[dict]:
    """The first run after install and the run after it, as start-up rows, then the first run
    again without :mod:`engine.warmup`'s worker.

    Every cache variable of :data:`COLD_CACHE_VARS` points into a fresh temporary folder (the
    runner's own caches are untouched): the first process compiles every kernel it uses, the
    second loads what the first wrote.  ``cache_files`` / ``cache_mb``: what the folder holds
    after each run.  One process each (a cold start happens once per install).
    """
    rows = []
    with tempfile.TemporaryDirectory(prefix="e2e-cold-") as tmp, \
            tempfile.TemporaryDirectory(prefix="e2e-cold-out-") as out:
        argv = [sys.executable, *(a.format(out=out) for a in args)]
        # the first run without engine.warmup's worker too (CORPUS_ENGINE_WARMUP=0): what the
        # worker gains, in its own empty caches
        for label, sub, extra in (("first run after install (empty caches)", "a", {}),
                                  ("second run (caches filled)", "a", {}),
                                  ("first run after install, no warm-up worker", "b",
                                   {"CORPUS_ENGINE_WARMUP": "0"})):
            env = {var: str(Path(tmp) / sub / var.lower()) for var in COLD_CACHE_VARS} | extra
            r = time_process_rss(argv, timeout, env=env)
            files, mb = _folder_size(Path(tmp) / sub)
            ok = r["status"] == "ok"
            rows.append({"what": f"{what}: {label}", "status": r["status"], "reason": r.get("reason"),
                         "runs": 1, "median_s": r.get("wall_s"), "min_s": r.get("wall_s"),
                         "cpu_s": r.get("cpu_s"), "peak_rss_mb": r.get("peak_rss_mb") if ok else None,
                         "cache_files": files, "cache_mb": mb,
                         "cache_files_by_var": {var: _folder_size(Path(env[var]))[0] for var in COLD_CACHE_VARS}})
    return rows


def measure_startup(repeat: int = 5, timeout: float = 120.0, cold: bool = True) -> list[dict]:
    """Median wall and CPU (user + system) seconds of processes that do (almost) no work,
    warm: one untimed run first.  CPU seconds are what a shared machine distorts least.
    With ``cold``, :func:`measure_cold_start`'s two rows (first run after install) follow."""
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
                         "peak_rss_mb": max((r["peak_rss_mb"] or 0 for r in ok), default=None),
                         "runs": repeat})
    if cold:
        rows += measure_cold_start(timeout=max(timeout, 300.0))
    return rows


def _corpus(lang: str, size: float, seed: int, log) -> tuple[Path, dict]:
    """The corpus and its facts; ``build_s`` is the generation time (None when it was cached)."""
    t0 = time.perf_counter()
    path = ensure_corpus(lang, size, seed)
    took = time.perf_counter() - t0
    meta = dict(corpus_meta(path))
    meta["build_s"] = took if took > 0.5 else None
    if meta["build_s"]:
        log(f"corpus {path.name}: generated in {took:.1f} s ({meta['bytes'] / 1e6 / took:.1f} MB/s)")
    return path, meta


def compile_bytecode() -> None:
    """Write the engine's .pyc files, as ``pip install`` does.  An editable tree run with
    PYTHONDONTWRITEBYTECODE (CI, this sandbox) has none, so every process compiled the modules
    it imports from source (54 for ngrams on seeds/, 0.06-0.09 s of start-up in cProfile), a
    cost an installed engine never pays."""
    import compileall

    import engine
    import kernels
    for pkg in (engine, kernels):
        compileall.compile_dir(str(Path(pkg.__file__).parent), quiet=1)


def run_e2e(langs: list[str], sizes: list[float], seed: int, repeat: int, timeout: float,
            jobs: list[str] | None = None, log=print, peers: set[str] | None = None,
            peer_max_mb: float | None = None, startup: bool = True, cold: bool = True,
            max_rss_mb: float | None = None) -> dict:
    """Every end-to-end command on every corpus; returns the ``e2e`` section of results.json.

    ``peers``: the peer tools to run (None: all; an empty set: none).  ``peer_max_mb``: peers are
    reported as skipped on corpora larger than this (at 1 GB they take many minutes and GBs).
    ``startup`` adds the start-up table (``cold``: with the first run after install).
    ``max_rss_mb``: a timed command whose processes hold more is stopped (status ``memory``);
    default :func:`default_max_rss_mb`.
    """
    if max_rss_mb is None:
        max_rss_mb = default_max_rss_mb()
    compile_bytecode()
    from bench.common import warmup_input
    jobs = list(jobs or E2E_JOBS)
    rows, corpora = [], []
    for lang in langs:
        for size in sizes:
            path, meta = _corpus(lang, size, seed, log)
            corpora.append({"lang": lang, "size_mb": size, "path": str(path), "bytes": meta["bytes"],
                            "text_bytes": meta["text_bytes"], "docs": meta["docs"], "build_s": meta["build_s"]})
            warm = warmup_input(path)
            for cmd in COMMANDS:
                if cmd.job not in jobs or (cmd.kind == "peer" and peers is not None and cmd.tool not in peers):
                    continue
                row = {"job": cmd.job, "tool": cmd.tool, "kind": cmd.kind, "command": cmd.what,
                       "lang": lang, "size_mb": size, "corpus": str(path),
                       "input_bytes": meta["text_bytes"], "input_docs": meta["docs"]}
                if cmd.kind == "peer" and peer_max_mb is not None and size > peer_max_mb:
                    row.update(status="skipped", reason=f"peer above --e2e-peer-max-mb {peer_max_mb:g}")
                else:
                    row.update(_measure(cmd, path, warm, repeat, timeout, max_rss_mb))
                if row["status"] == "ok":
                    row["mb_per_s"] = meta["text_bytes"] / 1e6 / row["median_s"]
                    log(f"e2e {cmd.job} {lang} {size:g}MB {cmd.tool}: {row['mb_per_s']:.2f} MB/s "
                        f"({row['median_s']:.2f} s, RSS {_f(row['peak_rss_mb'], 0)} MB)")
                else:
                    log(f"e2e {cmd.job} {lang} {size:g}MB {cmd.tool}: {row['status']} ({row['reason']})")
                rows.append(row)
    add_peer_ratios(rows)
    if startup:
        log("start-up table" + (" (with the first run after install)" if cold else ""))
    return {"config": {"langs": langs, "sizes_mb": sizes, "seed": seed, "repeat": repeat,
                       "jobs": jobs, "timeout_s": timeout,
                       "peers": "all" if peers is None else sorted(peers), "peer_max_mb": peer_max_mb,
                       "max_rss_mb": max_rss_mb},
            "corpora": corpora, "startup": measure_startup(cold=cold) if startup else [], "rows": rows}


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


def markdown(section: dict, title: str = "## end to end (a process per command, start-up included)",
             provenance: str | None = None) -> list[str]:
    """The ``end to end`` section of results.md (with the scaling tables when it has several sizes);
    ``provenance``: the section's command and date, under the title."""
    lines = [title, ""] + ([provenance, ""] if provenance else []) + [
             "| job | lang | corpus MB | tool | command | status | wall s | MB/s | × peer | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in section["rows"]:
        st = r["status"] if r["status"] == "ok" else f"{r['status']}: {r.get('reason', '')}".replace("|", "/")
        lines.append(f"| {r['job']} | {r['lang']} | {r['input_bytes'] / 1e6:.1f} | {r['tool']} | "
                     f"`{r['command']}` | {st} | {_f(r.get('median_s'))} | {_f(r.get('mb_per_s'))} | "
                     f"{_f(r.get('ratio_to_peer'))} | {_f(r.get('peak_rss_mb'), 0)} |")
    lines += ["", "Each command ran once untimed on a 100 kB sample (warm numba and page caches), then "
              f"{section['config']['repeat']} timed run(s); wall time of the whole process over the "
              "document text bytes; × peer = corpus-engine MB/s over the peer's on the same file in "
              "the same run. Peers' code: bench/README.md (bench/e2e_peers.py).", ""]
    built = [c for c in section.get("corpora", []) if c.get("build_s")]
    if built:
        lines += ["Corpora generated in this run: " + "; ".join(
            f"{Path(c['path']).name} {c['build_s']:.0f} s ({c['bytes'] / 1e6 / c['build_s']:.1f} MB/s)"
            for c in built) + ".", ""]
    if len({r["size_mb"] for r in section["rows"]}) > 1:
        from bench import scaling
        lines += scaling.markdown(section["rows"], "### cost against corpus size")
    return lines + startup_markdown(section.get("startup") or [])


def startup_markdown(startup: list[dict]) -> list[str]:
    """The start-up table: warm processes (median of N after one untimed), then the cold start."""
    if not startup:
        return []
    lines = ["Start-up (warm rows: median of the runs after one untimed; the first run after install: "
             "one process with every engine cache in a fresh empty folder, then the second run on that "
             "folder; CPU = user + system):", "",
             "| process | runs | median wall s | min wall s | median CPU s | peak RSS MB | cache after |",
             "|---|---|---|---|---|---|---|"]
    for s in startup:
        wall = _f(s["median_s"]) if s["status"] == "ok" else f"{s['status']}: {s.get('reason') or ''}"
        cache = f"{s['cache_files']} files, {s['cache_mb']:.1f} MB" if "cache_files" in s else "–"
        lines.append(f"| `{s['what']}` | {s.get('runs', '–')} | {wall} | {_f(s['min_s'])} | "
                     f"{_f(s.get('cpu_s'))} | {_f(s['peak_rss_mb'], 0)} | {cache} |")
    return lines + [""]


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
            hit.sort(key=lambda r: -r["input_bytes"])          # several sizes: the largest
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


__all__ = ["COMMANDS", "E2E_JOBS", "compile_bytecode", "DEFAULT_MB", "PEER_TOOLS", "run_e2e", "measure_startup",
           "measure_cold_start", "markdown", "startup_markdown", "chart", "time_process_rss",
           "add_peer_ratios"]


if __name__ == "__main__":   # python -m bench.e2e: the start-up table alone
    for row in measure_startup(cold="--cold" in sys.argv):
        print(f"{row['what']:40s} wall {_f(row['median_s'])} s (min {_f(row['min_s'])})  "
              f"CPU {_f(row['cpu_s'])} s  RSS {_f(row['peak_rss_mb'], 0)} MB")
