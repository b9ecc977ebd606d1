"""Benchmark harness: one subprocess per measurement, machine description, reports.

A job module (``bench/ngrams.py``, ``bench/minhash.py``, ``bench/cooc.py``) exposes::

    def tools(quick: bool = False) -> dict[str, Tool | Callable[[Path], dict]]
    def corpus(lang: str, mb: float, seed: int) -> Path      # optional

and the harness does the rest: input preparation (capped copies for slow peers,
a small warm-up sample), one child process per (job, tool, corpus) that warms
up (timed apart) and then times ``repeat`` runs, peak RSS of that child,
throughput, ratios to the CPU backend, results.json / results.md / PNG charts.
See bench/README.md.
"""
from __future__ import annotations

import datetime as _dt
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from bench.corpus_gen import corpus_meta

__all__ = ["Tool", "load_job", "job_tools", "machine_info", "measure", "prepare_input",
           "write_reports", "load_results", "gpu_available"]

ROOT = Path(__file__).resolve().parent.parent
WARMUP_BYTES = 100_000


@dataclass
class Tool:
    """One thing to time on a corpus.

    run : callable(path) -> dict.  Reads the JSONL corpus at ``path`` and does the
        whole job (files in, result table out).  The dict may give ``docs``,
        ``bytes`` (text bytes processed) and any metric (e.g. ``recall``); numbers
        other than those go to the ``extra`` column of the report.
    kind : "engine" (corpus-engine itself) or "peer" (another library).
    device : "cpu", "gpu" or None (for peers).
    reference : the row every other row of the job is compared with (the CPU backend).
    requires : modules that must be importable; if one is missing the tool is
        reported as absent with ``hint``.
    available : optional callable() -> (ok, reason), e.g. a GPU probe.
    max_mb : cap the input to the first ``max_mb`` MB of the corpus (slow peers);
        throughput is computed on what was actually processed.
    """
    run: Callable[[Path], dict]
    kind: str = "peer"
    device: str | None = None
    reference: bool = False
    requires: tuple[str, ...] = ()
    hint: str = ""
    available: Callable[[], tuple[bool, str]] | None = None
    max_mb: float | None = None
    label: str = ""


def gpu_available() -> tuple[bool, str]:
    """(usable, description) of a real GPU, from engine.backend.gpu_status()."""
    try:
        from engine.backend import gpu_status
        return gpu_status()
    except Exception as e:  # engine not importable: say why, never crash the suite
        return False, f"engine.backend.gpu_status unavailable ({type(e).__name__}: {e})"


# ---------------------------------------------------------------- job modules

def load_job(job: str):
    """The module bench.<job>, or None when it does not exist (yet)."""
    if importlib.util.find_spec(f"bench.{job}") is None:
        return None
    return importlib.import_module(f"bench.{job}")


def standalone_parser(prog: str, description: str):
    """The options every job's standalone script (``python -m bench.<job>``) shares."""
    import argparse
    ap = argparse.ArgumentParser(prog=prog, description=description)
    ap.add_argument("--mb", type=float, default=50)
    ap.add_argument("--lang", default="fr")
    ap.add_argument("--input", type=Path, help="a JSONL corpus {id, text} instead of the generated one")
    ap.add_argument("--tools", default="", help="comma-separated subset of tools")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--output-dir", type=Path, default=ROOT / "bench" / "results")
    return ap


def run_standalone(job: str, module: str, a, path: Path) -> dict:
    """Measure the tools of ``module`` (filtered by ``a.tools``) on ``path``, printing each row."""
    import importlib
    import json
    ts = job_tools(importlib.import_module(module), a.quick)
    if a.tools:
        ts = {k: v for k, v in ts.items() if k in a.tools.split(",")}
    rows = {}
    for name, tool in ts.items():
        print(f"{name} ...", flush=True)
        rows[name] = measure(job, name, tool, Path(path), a.repeat, a.quick, a.timeout)
        print(f"  {json.dumps({k: v for k, v in rows[name].items() if k not in ('times_s',)}, default=str)}",
              flush=True)
    return rows


def job_tools(mod, quick: bool) -> dict[str, Tool]:
    try:
        raw = mod.tools(quick=quick)
    except TypeError:
        raw = mod.tools()
    return {name: t if isinstance(t, Tool) else Tool(run=t) for name, t in raw.items()}


def job_corpus(mod, lang: str, mb: float, seed: int) -> Path:
    if hasattr(mod, "corpus"):
        return Path(mod.corpus(lang, mb, seed))
    from bench.corpus_gen import ensure_corpus
    return ensure_corpus(lang, mb, seed)


def tool_status(tool: Tool) -> tuple[str, str]:
    """("ok" | "absent", reason) without importing the tool's heavy modules."""
    for mod in tool.requires:
        try:
            found = importlib.util.find_spec(mod) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            return "absent", f"module {mod} not installed" + (f" ({tool.hint})" if tool.hint else "")
    if tool.available is not None:
        ok, why = tool.available()
        if not ok:
            return "absent", why
    return "ok", ""


# ---------------------------------------------------------------- inputs

def _head_copy(path: Path, max_bytes: int, name: str) -> Path:
    """The first whole lines of a JSONL file up to max_bytes, cached beside it."""
    out = path.parent / "cut" / f"{path.stem}.{name}.jsonl"
    if out.exists() and out.stat().st_mtime_ns >= path.stat().st_mtime_ns:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    size = 0
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        for line in src:
            if size and size + len(line) > max_bytes:
                break
            dst.write(line)
            size += len(line)
    os.replace(tmp, out)
    return out


def prepare_input(path: Path, max_mb: float | None) -> Path:
    if max_mb is None or path.stat().st_size <= max_mb * 1e6:
        return path
    return _head_copy(path, int(max_mb * 1e6), f"first{max_mb:g}MB")


def warmup_input(path: Path) -> Path:
    return _head_copy(path, WARMUP_BYTES, "warmup")


# ---------------------------------------------------------------- child side

def _rss_mb() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / (2**20 if sys.platform == "darwin" else 2**10)


def _child(job: str, tool_name: str, path: Path, warm: Path | None, repeat: int, quick: bool) -> dict:
    mod = load_job(job)
    tool = job_tools(mod, quick)[tool_name]
    if tool.kind == "engine":   # the memory policy of the `corpus` command (engine.memory)
        from engine.memory import retain_freed_memory
        retain_freed_memory()
    base_rss = _rss_mb()
    out: dict = {}
    if warm is not None:
        t0 = time.perf_counter()
        tool.run(warm)
        out["warmup_s"] = time.perf_counter() - t0
    times, info = [], {}
    for _ in range(repeat):
        t0 = time.perf_counter()
        info = tool.run(path) or {}
        times.append(time.perf_counter() - t0)
    out.update(times_s=times, base_rss_mb=base_rss, peak_rss_mb=_rss_mb(), info=info)
    return out


def measure(job: str, tool_name: str, tool: Tool, path: Path, repeat: int, quick: bool,
            timeout: float) -> dict:
    """Run one tool on one corpus in a fresh process; never raises."""
    row: dict = {"status": "ok"}
    status, reason = tool_status(tool)
    if status != "ok":
        return {"status": status, "reason": reason}
    inp = prepare_input(path, tool.max_mb)
    meta = corpus_meta(inp)
    warm = warmup_input(path)
    cmd = [sys.executable, "-m", "bench.common", "--child", job, tool_name, str(inp), str(warm),
           str(repeat), "1" if quick else "0"]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "reason": f"over {timeout:.0f} s", "input": str(inp)}
    row["wall_s"] = time.perf_counter() - t0
    lines = [ln for ln in cp.stdout.splitlines() if ln.startswith("{\"bench_result\"")]
    if cp.returncode != 0 or not lines:
        err = [ln for ln in (cp.stderr or "").strip().splitlines() if ln.strip()]
        return {"status": "error", "reason": err[-1][:300] if err else f"exit code {cp.returncode}",
                "input": str(inp)}
    res = json.loads(lines[-1])["bench_result"]
    info = res.pop("info", {}) or {}
    times = res["times_s"]
    docs = info.pop("docs", meta["docs"])
    nbytes = info.pop("bytes", meta["text_bytes"])
    med = statistics.median(times)
    row.update(res)
    row.update(input=str(inp), input_bytes=nbytes, input_docs=docs,
               median_s=med, min_s=min(times), max_s=max(times),
               mb_per_s=nbytes / 1e6 / med if med > 0 else None,
               docs_per_s=docs / med if med > 0 else None,
               capped=inp != path,
               extra={k: v for k, v in info.items() if isinstance(v, (int, float, str, bool))})
    return row


# ---------------------------------------------------------------- machine

def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


PACKAGES = ("corpus-engine", "numpy", "numba", "numba-cuda", "pyarrow", "scipy", "scikit-learn",
            "datasketch", "rensa", "polars", "duckdb", "cupy-cuda12x", "cudf-cu12", "wordfreq", "matplotlib", "psutil")


def machine_info() -> dict:
    info = {"cpu_model": _cpu_model(), "logical_cores": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform()}
    try:
        import psutil
        info["physical_cores"] = psutil.cpu_count(logical=False)
        info["memory_gb"] = round(psutil.virtual_memory().total / 1e9, 1)
    except ImportError:
        pass
    try:
        info["affinity_cores"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        import numba
        info["numba_threads"] = numba.config.NUMBA_NUM_THREADS
    except Exception:
        pass
    ok, desc = gpu_available()
    info["gpu"] = desc if ok else None
    info["gpu_absent_reason"] = None if ok else desc
    vers = {}
    for p in PACKAGES:
        try:
            vers[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            vers[p] = None
    info["packages"] = vers
    return info


# ---------------------------------------------------------------- reports

def _fmt(x, nd=2):
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, float):
        return f"{x:.{nd}f}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


def add_ratios(results: list[dict]) -> None:
    """ratio_to_cpu = MB/s of the row / MB/s of the job's reference tool, same corpus."""
    ref = {(r["job"], r["lang"], r["size_mb"]): r.get("mb_per_s") for r in results
           if r.get("reference") and r["status"] == "ok"}
    for r in results:
        base = ref.get((r["job"], r["lang"], r["size_mb"]))
        r["ratio_to_cpu"] = (r["mb_per_s"] / base) if (base and r.get("mb_per_s")) else None


def write_markdown(doc: dict, path: Path) -> None:
    m = doc["machine"]
    lines = ["# corpus-engine benchmark", "",
             f"Command: `{doc['command']}`  ", f"Date: {doc['created']}", "",
             f"Machine: {m['cpu_model']}, {m['logical_cores']} logical cores"
             + (f", {m.get('memory_gb')} GB RAM" if m.get("memory_gb") else "")
             + f", Python {m['python']}, GPU: {m['gpu'] or 'absent (' + str(m['gpu_absent_reason']) + ')'}", ""]
    vers = ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v)
    lines += [f"Packages: {vers}", ""]
    for job in doc["config"]["jobs"]:
        rows = [r for r in doc["results"] if r["job"] == job]
        lines += [f"## {job}", ""]
        if doc["skipped_jobs"].get(job):
            lines += [f"_Skipped: {doc['skipped_jobs'][job]}_", ""]
            continue
        extras = sorted({k for r in rows for k in (r.get("extra") or {})})
        head = ["lang", "corpus MB", "tool", "status", "input MB", "MB/s", "docs/s", "× CPU",
                "median s", "min s", "max s", "warm-up s", "peak RSS MB"] + extras
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            st = r["status"] if r["status"] == "ok" else f"{r['status']}: {r.get('reason', '')}"
            st = st.replace("|", "/")
            inmb = r.get("input_bytes")
            cells = [r["lang"], _fmt(r["size_mb"], 1), r["tool"], st,
                     _fmt(inmb / 1e6 if inmb else None, 1) + (" (capped)" if r.get("capped") else ""),
                     _fmt(r.get("mb_per_s")), _fmt(r.get("docs_per_s"), 0), _fmt(r.get("ratio_to_cpu")),
                     _fmt(r.get("median_s"), 3), _fmt(r.get("min_s"), 3), _fmt(r.get("max_s"), 3),
                     _fmt(r.get("warmup_s"), 3), _fmt(r.get("peak_rss_mb"), 0)]
            cells += [_fmt((r.get("extra") or {}).get(k), 3) for k in extras]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["MB = 10^6 bytes of document text (UTF-8). Capped peers ran on the first part of the "
              "corpus (input MB); their MB/s is over what they processed. Warm-up (JIT compilation, "
              "first imports) ran once per process on a 100 kB sample and is not in the timings. "
              "Peak RSS is the whole child process (interpreter and imports included).", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def write_charts(doc: dict, outdir: Path) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    ok = [r for r in doc["results"] if r["status"] == "ok" and r.get("mb_per_s")]
    jobs = [j for j in doc["config"]["jobs"] if not doc["skipped_jobs"].get(j)] or ["(none)"]
    files = []

    # throughput per job and tool, at the largest size of each language
    fig, axes = plt.subplots(1, len(jobs), figsize=(5.5 * len(jobs), 4.2), squeeze=False)
    for ax, job in zip(axes[0], jobs):
        rows = [r for r in doc["results"] if r["job"] == job]
        tools = list(dict.fromkeys(r["tool"] for r in rows))
        langs = list(dict.fromkeys(r["lang"] for r in rows))
        width = 0.8 / max(1, len(langs))
        for li, lang in enumerate(langs):
            big = max((r["size_mb"] for r in rows if r["lang"] == lang), default=None)
            vals = []
            for t in tools:
                hit = [r for r in ok if r["job"] == job and r["tool"] == t and r["lang"] == lang
                       and r["size_mb"] == big]
                vals.append(hit[0]["mb_per_s"] if hit else 0.0)
            xs = [i + li * width for i in range(len(tools))]
            bars = ax.bar(xs, vals, width, label=f"{lang} ({big:g} MB)" if big else lang)
            for b, v, _tool in zip(bars, vals, tools):
                if v == 0.0:
                    ax.text(b.get_x() + b.get_width() / 2, 0, "absent", rotation=90, ha="center",
                            va="bottom", fontsize=7, color="grey")
        ax.set_xticks([i + width * (len(langs) - 1) / 2 for i in range(len(tools))])
        ax.set_xticklabels(tools, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("MB/s (median)")
        ax.set_title(f"{job}: throughput")
        if any(v for v in ax.containers):
            ax.legend(fontsize=8)
        if ok and any(r["job"] == job for r in ok):
            vals_all = [r["mb_per_s"] for r in ok if r["job"] == job]
            if max(vals_all) / max(min(vals_all), 1e-9) > 50:
                ax.set_yscale("log")
    fig.tight_layout()
    p = outdir / "throughput.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    files.append(p.name)

    # cost curves: time and memory against corpus size, log-log
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    series = {}
    for r in ok:
        series.setdefault((r["job"], r["tool"], r["lang"]), []).append(r)
    for (job, tool, lang), rows in sorted(series.items()):
        rows.sort(key=lambda r: r["input_bytes"])
        x = [r["input_bytes"] / 1e6 for r in rows]
        a1.plot(x, [r["median_s"] for r in rows], marker="o", label=f"{job}/{tool}/{lang}")
        a2.plot(x, [r["peak_rss_mb"] for r in rows], marker="o", label=f"{job}/{tool}/{lang}")
    for ax, yl, t in ((a1, "time, median (s)", "time vs corpus size"),
                      (a2, "peak RSS of the process (MB)", "memory vs corpus size")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("input (MB of text)")
        ax.set_ylabel(yl)
        ax.set_title(t)
        ax.grid(True, which="both", alpha=0.3)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    if series:
        a2.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
    else:
        a1.text(0.5, 0.5, "no successful measurement", ha="center", transform=a1.transAxes)
    fig.tight_layout()
    p = outdir / "scaling.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    files.append(p.name)
    return files


def write_reports(doc: dict, outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    add_ratios(doc["results"])
    doc["charts"] = write_charts(doc, outdir)
    if doc.get("e2e"):
        from bench import e2e
        doc["charts"].append(e2e.chart(doc["e2e"], outdir))
    if doc.get("scaling"):
        from bench import scaling
        doc["charts"].append(scaling.chart(doc["scaling"]["rows"], outdir))
    (outdir / "results.json").write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
    write_markdown(doc, outdir / "results.md")
    if doc.get("e2e"):
        from bench import e2e
        with open(outdir / "results.md", "a", encoding="utf-8") as f:
            f.write("\n".join(e2e.markdown(doc["e2e"], provenance=_provenance(doc, "e2e"))))
    if doc.get("scaling"):
        from bench import e2e
        with open(outdir / "results.md", "a", encoding="utf-8") as f:
            f.write("\n".join(e2e.markdown(doc["scaling"], "## scaling: end to end at growing corpus sizes",
                                            provenance=_provenance(doc, "scaling"))))


def _provenance(doc: dict, key: str) -> str:
    """The command and date of a results.json section: its own when it was run alone onto
    earlier results (``run.py`` keeps them as ``<key>_command`` / ``<key>_created``)."""
    command = doc.get(f"{key}_command") or doc.get("command", "?")
    created = doc.get(f"{key}_created") or doc.get("created", "?")
    return f"Command: `{command}`  \nDate: {created}"


def load_results(outdir: Path) -> dict | None:
    """The results.json already in ``outdir``, or None."""
    p = Path(outdir) / "results.json"
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


# ---------------------------------------------------------------- child entry point

if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "--child":
        _, _, job, name, path, warm, repeat, quick = sys.argv
        from bench import common as _self  # the real module, not __main__ (same Tool class)
        try:
            res = _self._child(job, name, Path(path), Path(warm) if warm != "-" else None,
                         int(repeat), quick == "1")
        except Exception as e:
            traceback.print_exc()
            print(f"{type(e).__name__}: {e}", file=sys.stderr)
            sys.exit(1)
        print(json.dumps({"bench_result": res}, default=str))
        sys.exit(0)
    print("internal entry point of bench.run; use python -m bench.run", file=sys.stderr)
    sys.exit(2)
