"""The jobs of `make gpu-check` (see .ci/gpu-check): each job on each corpus with
``--device cpu`` and ``--device gpu``, outputs compared byte for byte, timings and stats kept.

Environment: ``OUT`` (results folder), ``GPU_CHECK_MB`` (generated corpus size, default
200, at least 200 for the issue's figure), ``GPU_CHECK_TIMEOUT`` (seconds a run, 900).
Exit 0 when every run succeeded and every GPU output equals the CPU's.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JOBS = {"ngrams": (["--n", "1-3", "--top", "100000"], ["out.parquet"]),
        "minhash": (["--clusters", "clusters.parquet"], ["out.parquet", "clusters.parquet"]),
        "cooc": ([], ["out.parquet"])}


def big_corpus(work: Path, mb: float) -> Path:
    """The bench generator's English corpus of ``mb`` MB plus 2000 near-duplicates, so that
    MinHash has pairs and clusters to compare."""
    sys.path.insert(0, str(ROOT))
    from bench.corpus_gen import ensure_corpus
    lines = ensure_corpus("en", mb, 0).read_text("utf-8").splitlines(keepends=True)
    path = work / f"en-{mb:g}mb-dups.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(lines)
        for i, line in enumerate(lines[:2000]):
            f.write(json.dumps({"id": f"dup{i}", "text": json.loads(line)["text"] + " and more"}) + "\n")
    return path


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def run_one(job: str, src: str, device: str, folder: Path, timeout: float) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    extra, _ = JOBS[job]
    cmd = [sys.executable, "-m", "engine.cli", job, src, "--device", device, "-o", "out.parquet",
           "--stats", "stats.json", *extra]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=timeout)
        rc, tail = p.returncode, (p.stdout[-600:] + p.stderr[-1500:])
    except subprocess.TimeoutExpired:
        rc, tail = "timeout", ""
    seconds = time.perf_counter() - t0
    stats = json.loads((folder / "stats.json").read_text()) if (folder / "stats.json").exists() else None
    return {"rc": rc, "seconds": round(seconds, 3), "stats": stats, "tail": tail if rc != 0 else ""}


def main() -> int:
    out = Path(os.environ.get("OUT", ROOT / "gpu-check")).resolve()
    work = out / "runs"
    (out / "stats").mkdir(parents=True, exist_ok=True)
    mb = float(os.environ.get("GPU_CHECK_MB", "200"))
    timeout = float(os.environ.get("GPU_CHECK_TIMEOUT", "900"))
    corpora = {"seeds": str(ROOT / "seeds"), f"{mb:g}MB": str(big_corpus(out, mb))}
    results, ok = [], True
    for cname, src in corpora.items():
        size = sum(f.stat().st_size for f in Path(src).rglob("*") if f.is_file()) if Path(src).is_dir() \
            else Path(src).stat().st_size
        for job, (_, outputs) in JOBS.items():
            r = {"corpus": cname, "bytes": size, "job": job}
            for device in ("cpu", "gpu"):
                d = work / cname / job / device
                r[device] = run_one(job, src, device, d, timeout)
                if r[device]["stats"] is not None:
                    (out / "stats" / f"{cname}-{job}-{device}.json").write_text(json.dumps(r[device]["stats"], indent=1))
                r[device]["MB_per_s"] = round(size / 1e6 / max(r[device]["seconds"], 1e-9), 2)
            same = all(r[dev]["rc"] == 0 for dev in ("cpu", "gpu")) and all(
                (work / cname / job / "cpu" / o).exists() and (work / cname / job / "gpu" / o).exists()
                and sha(work / cname / job / "cpu" / o) == sha(work / cname / job / "gpu" / o) for o in outputs)
            r["bytes_equal"] = same
            r["speedup"] = round(r["cpu"]["seconds"] / max(r["gpu"]["seconds"], 1e-9), 2) if same else None
            ok &= same
            results.append(r)
            print("gpu-check:", json.dumps({k: r[k] for k in ("corpus", "job", "bytes_equal", "speedup")}),
                  "cpu", r["cpu"]["rc"], r["cpu"]["seconds"], "s; gpu", r["gpu"]["rc"], r["gpu"]["seconds"], "s",
                  flush=True)
            (out / "results.json").write_text(json.dumps(results, indent=1))
    lines = ["| corpus | job | cpu s | gpu s | gpu MB/s | speedup | d2h bytes | h2d bytes | equal |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        st = r["gpu"]["stats"] or {}
        lines.append(f"| {r['corpus']} | {r['job']} | {r['cpu']['seconds']} | {r['gpu']['seconds']} | "
                     f"{r['gpu']['MB_per_s']} | {r['speedup']} | {st.get('device_to_host_bytes', '?')} | "
                     f"{st.get('host_to_device_bytes', '?')} | {r['bytes_equal']} |")
    (out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
