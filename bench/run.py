"""Benchmark runner: every job on every device and peer, on the same generated corpora.

    python -m bench.run [--jobs ngrams,minhash,cooc] [--devices cpu,gpu] [--peers NAMES]
                        [--sizes 10MB,50MB] [--lang fr,en] [--repeat 3] [--seed 0]
                        [--quick] [--output-dir DIR]

Writes results.json, results.md, throughput.png and scaling.png into the output
folder (default bench/results, or bench/results/tmp with --quick).  A job whose
module bench/<job>.py does not exist yet is skipped and said so; a tool whose
package or device is missing is reported as absent, with the reason.
"""
from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from pathlib import Path

from bench import common
from bench.corpus_gen import LANGS, corpus_meta

ROOT = Path(__file__).resolve().parent.parent
JOBS = ("ngrams", "minhash", "cooc")
QUICK_SIZE_MB = 1.0
SCALING_SIZES_MB = [10.0, 100.0, 1000.0]
SCALING_PEER_MAX_MB = 100.0


def parse_size(spec: str) -> float:
    """'10MB' -> 10.0, '1GB' -> 1000.0, '0.5MB' -> 0.5, '20' -> 20.0 (MB = 10^6 bytes)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kKmMgG]?)[bB]?\s*", spec)
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"--sizes: {spec!r} is not a size like 10MB, 0.5MB or 1GB")
    return float(m.group(1)) * {"": 1, "k": 1e-3, "m": 1, "g": 1e3}[m.group(2).lower()]


def _csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", default=None, help="comma-separated: ngrams,minhash,cooc (default all; "
                    "none with --e2e)")
    ap.add_argument("--devices", default="cpu,gpu", help="corpus-engine devices: cpu,gpu")
    ap.add_argument("--peers", default=None,
                    help="peer tools to run (e.g. sklearn,counter,datasketch,rensa,scipy); default all")
    ap.add_argument("--sizes", default=None, help="corpus sizes, e.g. 10MB,50MB (default 10MB,50MB; quick 1MB)")
    ap.add_argument("--lang", default="fr,en", help="fr,en")
    ap.add_argument("--repeat", type=int, default=None, help="timed runs per measurement (default 3; quick 1)")
    ap.add_argument("--seed", type=int, default=0, help="corpus generator seed")
    ap.add_argument("--quick", action="store_true", help="small corpora, one repeat, capped peers (< 2 min)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per measurement (default 1800; quick 60)")
    ap.add_argument("--output-dir", default=None, help="folder for results.json, results.md and charts")
    add_e2e_arguments(ap)
    ap.add_argument("--scheduler", default=None,
                    help="scale-out run instead: schedulers to compare, e.g. single,local:1,local:2 (bench/scaleout.py)")
    return ap


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = build_parser()
    a = ap.parse_args(argv)
    if a.jobs is None:   # --e2e / --scaling alone add their section to the results already there
        a.jobs = "" if (a.e2e or a.scaling) else ",".join(JOBS)
    jobs, devices, langs = _csv(a.jobs), _csv(a.devices), _csv(a.lang)
    bad = [j for j in jobs if j not in JOBS] + [d for d in devices if d not in ("cpu", "gpu")] \
        + [x for x in langs if x not in LANGS]
    if bad:
        ap.error(f"unknown value(s): {', '.join(bad)} (jobs: {', '.join(JOBS)}; devices: cpu, gpu; "
                 f"languages: {', '.join(LANGS)})")
    try:
        sizes = [parse_size(s) for s in _csv(a.sizes)] if a.sizes else \
            ([QUICK_SIZE_MB] if a.quick else [10.0, 50.0])
    except ValueError as e:
        ap.error(str(e))
    try:
        peer_max_mb = parse_size(a.e2e_peer_max_mb) if a.e2e_peer_max_mb else None
    except ValueError as e:
        ap.error(str(e).replace("--sizes", "--e2e-peer-max-mb"))
    try:
        max_rss_mb = parse_size(a.e2e_max_rss) if a.e2e_max_rss else None
    except ValueError as e:
        ap.error(str(e).replace("--sizes", "--e2e-max-rss"))
    if a.scaling and a.e2e:
        ap.error("--scaling and --e2e are separate sections: run one at a time")
    e2e_peers = _peer_set(ap, a.e2e_peers)
    repeat = a.repeat or (1 if a.quick else 3)
    if repeat < 1:
        ap.error("--repeat must be >= 1")
    timeout = a.timeout or (60.0 if a.quick else 1800.0)
    peers = set(_csv(a.peers)) if a.peers else None
    outdir = Path(a.output_dir) if a.output_dir else ROOT / "bench" / ("results/tmp" if a.quick else "results")
    if a.scheduler:
        from bench.scaleout import run_scaleout
        return run_scaleout(_csv(a.scheduler), jobs, sizes, langs, outdir, a.seed)

    t_start = time.perf_counter()
    doc = {"schema": 1, "created": common.now_iso(),
           "command": "python -m bench.run " + " ".join(shlex.quote(x) for x in argv),
           "machine": common.machine_info(),
           "config": {"jobs": jobs, "devices": devices, "peers": sorted(peers) if peers else "all",
                      "sizes_mb": sizes, "langs": langs, "repeat": repeat, "seed": a.seed,
                      "quick": a.quick, "timeout_s": timeout},
           "skipped_jobs": {}, "corpora": [], "results": []}
    seen_corpora = set()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f}s] {msg}", file=sys.stderr, flush=True)

    for job in jobs:
        mod = common.load_job(job)
        if mod is None:
            why = f"bench/{job}.py does not exist yet"
            doc["skipped_jobs"][job] = why
            log(f"{job}: skipped ({why})")
            continue
        try:
            tools = common.job_tools(mod, a.quick)
        except Exception as e:
            doc["skipped_jobs"][job] = f"bench/{job}.py tools() failed: {type(e).__name__}: {e}"
            log(f"{job}: skipped ({doc['skipped_jobs'][job]})")
            continue
        for lang in langs:
            for size in sizes:
                try:
                    path = common.job_corpus(mod, lang, size, a.seed)
                except Exception as e:
                    doc["results"].append({"job": job, "tool": "*", "lang": lang, "size_mb": size,
                                           "status": "error", "reason": f"corpus: {type(e).__name__}: {e}"})
                    log(f"{job} {lang} {size:g}MB: corpus failed: {e}")
                    continue
                if str(path) not in seen_corpora:
                    seen_corpora.add(str(path))
                    m = corpus_meta(path)
                    doc["corpora"].append({"job": job, "lang": lang, "size_mb": size, "path": str(path),
                                           "bytes": m["bytes"], "text_bytes": m["text_bytes"], "docs": m["docs"]})
                for name, tool in tools.items():
                    if tool.kind == "engine" and tool.device not in devices:
                        continue
                    if tool.kind != "engine" and (("cpu" not in devices) or (peers and name not in peers)):
                        continue
                    row = {"job": job, "tool": name, "kind": tool.kind, "device": tool.device or "cpu",
                           "reference": tool.reference, "lang": lang, "size_mb": size, "corpus": str(path)}
                    row.update(common.measure(job, name, tool, path, repeat, a.quick, timeout))
                    doc["results"].append(row)
                    if row["status"] == "ok":
                        log(f"{job} {lang} {size:g}MB {name}: {row['mb_per_s']:.2f} MB/s "
                            f"(median {row['median_s']:.3f}s, RSS {row['peak_rss_mb']:.0f} MB)")
                    else:
                        log(f"{job} {lang} {size:g}MB {name}: {row['status']} ({row.get('reason', '')})")
    if a.e2e or a.scaling:
        run_e2e_section(a, doc, sizes if a.sizes else None, langs, repeat, timeout, log,
                        peers=e2e_peers, peer_max_mb=peer_max_mb, max_rss_mb=max_rss_mb)
    doc["total_s"] = time.perf_counter() - t_start
    common.write_reports(doc, outdir)
    log(f"wrote {outdir}/results.json, results.md, {', '.join(doc['charts'])}")
    return 0


# ---------------------------------------------------------------- end-to-end section (bench/e2e.py)

def add_e2e_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--e2e", action="store_true",
                    help="also time each corpus command and its peer as whole processes (default "
                         "100MB; without --jobs only this, merged into the results already there)")
    ap.add_argument("--e2e-jobs", default=None,
                    help="end-to-end jobs: ngrams,ngrams-full,cooc,minhash,analyze (default all)")
    ap.add_argument("--scaling", action="store_true",
                    help="cost against corpus size: the end-to-end commands at each of --sizes (default "
                         "10MB,100MB,1GB; peers only up to --e2e-peer-max-mb, default 100MB), with slopes "
                         "and scaling-e2e.png, as its own section (the --e2e one stays)")
    ap.add_argument("--e2e-peers", default=None,
                    help="end-to-end peers to run: all, none, or some of polars,duckdb,rensa (default all)")
    ap.add_argument("--e2e-peer-max-mb", default=None,
                    help="skip (and say so) the end-to-end peers on corpora above this size, e.g. 100MB "
                         "(default: no limit; 100MB with --scaling)")
    ap.add_argument("--e2e-max-rss", default=None,
                    help="stop (status memory) an end-to-end command whose processes hold more than "
                         "this, e.g. 16GB (default: 80%% of the machine's memory)")


def _peer_set(ap: argparse.ArgumentParser, spec: str | None) -> set[str] | None:
    """--e2e-peers: None for all, an empty set for none, else the named peer tools."""
    from bench.e2e import PEER_TOOLS
    if spec is None or spec.strip().lower() == "all":
        return None
    if spec.strip().lower() == "none":
        return set()
    names = set(_csv(spec))
    bad = sorted(names - set(PEER_TOOLS))
    if bad:
        ap.error(f"--e2e-peers: unknown {', '.join(bad)} (known: all, none, {', '.join(PEER_TOOLS)})")
    return names


def run_e2e_section(a, doc: dict, sizes: list[float] | None, langs: list[str], repeat: int,
                    timeout: float, log, peers: set[str] | None = None,
                    peer_max_mb: float | None = None, max_rss_mb: float | None = None) -> None:
    """doc["e2e"] (or doc["scaling"] with --scaling) from bench.e2e.run_e2e; with no in-process
    job, the earlier results in the output folder are kept and only this section is replaced."""
    from bench import e2e
    key = "scaling" if a.scaling else "e2e"
    jobs = _csv(a.e2e_jobs) if a.e2e_jobs else list(e2e.E2E_JOBS)
    bad = [j for j in jobs if j not in e2e.E2E_JOBS]
    if bad:
        raise SystemExit(f"--e2e-jobs: unknown {', '.join(bad)} (known: {', '.join(e2e.E2E_JOBS)})")
    if a.scaling:
        sizes = sizes or ([QUICK_SIZE_MB / 2, QUICK_SIZE_MB] if a.quick else SCALING_SIZES_MB)
        if peer_max_mb is None:
            peer_max_mb = SCALING_PEER_MAX_MB
    sizes = sizes or ([QUICK_SIZE_MB] if a.quick else [e2e.DEFAULT_MB])
    reps = a.repeat or 1
    # --quick --scaling: no start-up table (the --e2e section has one); a full run measures it
    doc[key] = e2e.run_e2e(langs, sizes, a.seed, reps, timeout, jobs, log=log, peers=peers,
                           peer_max_mb=peer_max_mb, startup=not (a.scaling and a.quick),
                           cold=not a.quick, max_rss_mb=max_rss_mb)
    if not doc["config"]["jobs"]:
        outdir = Path(a.output_dir) if a.output_dir else ROOT / "bench" / ("results/tmp" if a.quick else "results")
        previous = common.load_results(outdir)
        if previous is not None:   # the in-process tables stay; only this section is new
            previous.update({key: doc[key], f"{key}_command": doc["command"], f"{key}_created": doc["created"]})
            doc.clear()
            doc.update(previous)


if __name__ == "__main__":
    sys.exit(main())
