"""Throughput of the JSONL chunk check that lets cuDF parse a chunk (engine.gpu.jsonl_check):
the vectorised numpy check against the per-line kernel's CPU twin, both on one thread, on
32 MB chunks of whole lines of a bench corpus (the reader's default ``json_chunk_bytes``).

    python -m bench.jsonl_check [--lang en] [--mb 100] [--chunk-mb 32] [--threads 1] [--repeat 3]

Prints MB/s per check (best of ``repeat`` passes over the file) and whether both gave the
same answer on every chunk.  The CUDA twin's speed needs a real GPU (not measured here).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench.corpus_gen import ensure_corpus


def chunks(path, chunk_bytes: int):
    """(buffer, end, newline positions) of each chunk of whole lines of ``path``."""
    data = path.read_bytes()
    at = 0
    while at < len(data):
        cut = data.rfind(b"\n", at, at + chunk_bytes) + 1 if at + chunk_bytes < len(data) else len(data)
        if cut <= at:
            cut = len(data)
        buf = bytearray(data[at:cut])
        yield buf, len(buf), np.flatnonzero(np.frombuffer(buf, np.uint8) == 10)
        at = cut


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lang", default="en", choices=("en", "fr"))
    ap.add_argument("--mb", type=float, default=100)
    ap.add_argument("--chunk-mb", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args(argv)
    import numba

    from engine.gpu.jsonl_check import chunk_flaw, chunk_flaw_njit, field_pattern
    numba.set_num_threads(a.threads)
    path = ensure_corpus(a.lang, a.mb)
    parts = list(chunks(path, a.chunk_mb << 20))
    total = sum(end for _, end, _ in parts)
    pats = field_pattern("text"), field_pattern("id")
    chunk_flaw_njit(*parts[0], *pats)     # compiled (or loaded from the cache) before timing
    answers, best = {}, {}
    for name, fn in (("numpy", chunk_flaw), ("kernel (CPU twin)", chunk_flaw_njit)):
        for _ in range(a.repeat):
            t = time.perf_counter()
            answers[name] = [fn(*p, *pats) for p in parts]
            best[name] = min(best.get(name, 1e9), time.perf_counter() - t)
    print(f"{path.name}: {total / 1e6:.1f} MB in {len(parts)} chunks, {a.threads} thread(s)")
    for name, s in best.items():
        print(f"  {name:18s} {total / 1e6 / s:8.1f} MB/s")
    print(f"  kernel / numpy     {best['numpy'] / best['kernel (CPU twin)']:8.2f}x;"
          f" same answers: {answers['numpy'] == answers['kernel (CPU twin)']}")


if __name__ == "__main__":
    main()
