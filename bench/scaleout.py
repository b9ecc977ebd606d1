"""Scale-out benchmark: each job in one process and on embedded Dask clusters.

    python -m bench.run --scheduler single,local:1,local:2 [--jobs ngrams,cooc,minhash]
                        [--sizes 50MB] [--lang en] [--output-dir DIR]

Per job and scheduler: wall seconds (cluster start-up apart), seconds per phase, tasks,
bytes shuffled (map -> reduce) and gathered (-> client) per MB of text, peak RSS of the
busiest worker, and for the largest cluster the recovery time after a worker killed in
its first map task.  Outputs are checked equal to the single-process run.  On a 2-core
machine this measures overhead, not speed-up.  Writes scaleout-<lang>-<size>MB.json / .md.
"""
from __future__ import annotations

import json
import os
import resource
import tempfile
import time
from pathlib import Path

__all__ = ["run_scaleout"]


def _job(name: str):
    """(run function, config, output of a result as bytes-comparable tables)."""
    if name == "ngrams":
        from engine import ngrams
        return ngrams.run, ngrams.NgramConfig(n="1-2", top=1000), lambda r: [r.table()]
    if name == "cooc":
        from engine import cooc
        return cooc.run, cooc.CoocConfig(window=5), lambda r: [r.table("llr"), r.vocab_table()]
    from engine import minhash
    return minhash.run, minhash.MinHashConfig(), lambda r: [r.table("pairs"), r.table("clusters")]


def _cluster(spec: str):
    from distributed import Client
    n = int(spec.split(":")[1]) if ":" in spec else (os.cpu_count() or 1)
    from engine.dist.cluster import _local_cluster
    t0 = time.perf_counter()
    env = dict(os.environ)
    cluster = _local_cluster(n, gpu=False)   # the embedded cluster of --scheduler local:N
    os.environ.clear()
    os.environ.update(env)   # the nannies' OMP_NUM_THREADS=1 is not for this process
    client = Client(cluster)
    return cluster, client, time.perf_counter() - t0


def _row(job, sched, seconds, res, text_mb, startup=None) -> dict:
    c = res.stats.counters
    row = {"job": job, "scheduler": sched, "seconds": round(seconds, 3),
           "mb_per_s": round(text_mb / seconds, 2)}
    if sched != "single":
        row.update(startup_s=round(startup, 2), tasks=c["dist_tasks"], partitions=c["dist_partitions"],
                   shuffle_bytes_per_mb=round(c["dist_shuffle_bytes"] / text_mb),
                   gather_bytes_per_mb=round(c["dist_gather_bytes"] / text_mb),
                   peak_rss_worker_mb=round(c.get("dist_peak_rss_bytes", 0) / 1e6),
                   phases={k[len("dist_seconds_"):]: v for k, v in c.items() if k.startswith("dist_seconds_")})
    else:
        row["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3)
    return row


def _measure(job: str, path: Path, schedulers: list[str], log) -> list[dict]:
    from engine.dist import Hooks, Scheduler
    run, cfg, tables = _job(job)
    text_mb = path.stat().st_size / 1e6
    rows = []
    run([path], "cpu", cfg)   # JIT warm-up in this process
    t0 = time.perf_counter()
    ref = run([path], "cpu", cfg)
    rows.append(_row(job, "single", time.perf_counter() - t0, ref, text_mb))
    log(f"{job} single: {rows[-1]['seconds']} s")
    expected = tables(ref)
    for spec in [s for s in schedulers if s != "single"]:
        cluster, client, startup = _cluster(spec)
        try:
            run([path], "cpu", cfg, scheduler=Scheduler(client, partitions=1))   # warm the workers
            t0 = time.perf_counter()
            res = run([path], "cpu", cfg, scheduler=client)
            row = _row(job, spec, time.perf_counter() - t0, res, text_mb, startup)
            row["equal_to_single"] = all(a.equals(b) for a, b in zip(tables(res), expected))
            row["overhead_vs_single"] = round(row["seconds"] / rows[0]["seconds"], 2)
            if spec == schedulers[-1]:
                marker = Path(tempfile.mkdtemp()) / "killed"
                t0 = time.perf_counter()
                res2 = run([path], "cpu", cfg, scheduler=Scheduler(
                    client, hooks=Hooks(fault=("map" if job == "ngrams" else
                                               "vocab" if job == "cooc" else "signatures", 0,
                                               str(marker), "kill_once"))))
                row["recovery_s"] = round(time.perf_counter() - t0 - row["seconds"], 2)
                row["equal_after_kill"] = all(a.equals(b) for a, b in zip(tables(res2), expected))
            rows.append(row)
            log(f"{job} {spec}: {row['seconds']} s ({row['overhead_vs_single']}x), "
                f"{row['shuffle_bytes_per_mb']} B/MB shuffled, equal {row['equal_to_single']}")
        finally:
            client.close()
            cluster.close()
    return rows


def _markdown(doc: dict) -> str:
    lines = [f"# Scale-out: {doc['corpus']} ({doc['text_mb']:.1f} MB)", "",
             f"{doc['created']}; {doc['machine']}. The machine was shared with other jobs: "
             "ratios within one run only.", "",
             "| job | scheduler | s | x single | tasks | shuffled B/MB | gathered B/MB | worker RSS MB | "
             "recovery s | phases (s) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in doc["rows"]:
        ph = ", ".join(f"{k} {v:.2f}" for k, v in r.get("phases", {}).items())
        lines.append(f"| {r['job']} | {r['scheduler']} | {r['seconds']} | {r.get('overhead_vs_single', 1.0)} | "
                     f"{r.get('tasks', '')} | {r.get('shuffle_bytes_per_mb', '')} | {r.get('gather_bytes_per_mb', '')} | "
                     f"{r.get('peak_rss_worker_mb', r.get('peak_rss_mb', ''))} | {r.get('recovery_s', '')} | {ph} |")
    return "\n".join(lines) + "\n"


def run_scaleout(schedulers: list[str], jobs: list[str], sizes: list[float], langs: list[str],
                 outdir: Path, seed: int = 0) -> int:
    """The hook of ``python -m bench.run --scheduler ...``: writes the tables, returns 0."""
    import platform

    from bench.corpus_gen import ensure_corpus

    def log(msg):
        print(f"[scaleout] {msg}", flush=True)

    outdir.mkdir(parents=True, exist_ok=True)
    for lang in langs:
        for mb in sizes:
            path = ensure_corpus(lang, mb, seed)
            doc = {"created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "corpus": path.name,
                   "text_mb": path.stat().st_size / 1e6,
                   "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                   "schedulers": schedulers, "rows": []}
            for job in jobs:
                doc["rows"] += _measure(job, path, schedulers, log)
            stem = outdir / f"scaleout-{lang}-{mb:g}MB"
            stem.with_suffix(".json").write_text(json.dumps(doc, indent=2) + "\n")
            stem.with_suffix(".md").write_text(_markdown(doc))
            log(f"wrote {stem}.json and .md")
    return 0
