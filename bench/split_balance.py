"""Work per GPU thread before and after long-document splitting (engine.gpu.split), on the CPU.

No GPU needed: the split plans come from the real glue (the cut kernel runs in the CUDA
simulator, the other plans are array code) on a batch of ordinary documents of the bench
corpus plus a few long ones, and the work of each thread is read off them:

* tokenize: bytes per thread (one document before, one segment after);
* word n-grams (n = 3): start positions per thread;
* char n-grams: normalised bytes per thread;
* signatures: shingles per thread (each of the ``perms`` threads of a part does the same).

For each, the number of threads, the mean and the maximum work, and max / mean: the
length of the longest thread relative to the average one, i.e. how long the tail of the
launch is when the device is full.  With ``--check`` the batch is also tokenised both ways
(CPU backend, simulated GPU backend) and the outputs compared byte for byte.

    NUMBA_ENABLE_CUDASIM=1 python -m bench.split_balance --corpus bench/data/en-10MB-seed0-v1.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")   # before numba is imported

import numpy as np  # noqa: E402


def load_batch(path: str, normal_bytes: int, long_mb: list[float]):
    from engine.corpus import batch_from_texts
    texts, size = [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            t = json.loads(line)["text"]
            texts.append(t)
            size += len(t.encode())
            if size >= normal_bytes:
                break
    pool = "\n".join(texts)
    longs = []
    for mb in long_mb:
        n = int(mb * 1_000_000)
        longs.append((pool * (n // max(len(pool), 1) + 1))[:n])
    # the long documents among the others, as a reader would meet them
    docs = texts[: len(texts) // 2] + longs + texts[len(texts) // 2:]
    return batch_from_texts(docs)


def stats(work) -> dict:
    w = np.asarray(work, dtype=np.float64)
    return {"threads": int(w.size), "mean": round(float(w.mean()), 1), "max": int(w.max()),
            "max_over_mean": round(float(w.max() / w.mean()), 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="bench/data/en-10MB-seed0-v1.jsonl")
    ap.add_argument("--normal-mb", type=float, default=2.0, help="MB of ordinary documents")
    ap.add_argument("--long-mb", default="0.5,1,4", help="sizes of the long documents, MB")
    ap.add_argument("--check", action="store_true", help="also compare the tokens with the CPU backend's")
    a = ap.parse_args(argv)
    from engine.backend import GPUBackend, get_backend
    from engine.gpu.split import _chunks
    from engine.normalize import get_tables
    from engine.text import tokenize

    b = load_batch(a.corpus, int(a.normal_mb * 1e6), [float(x) for x in a.long_mb.split(",")])
    g = GPUBackend(simulated=True, strict=False)
    sp, p = g.splitter, g.splitter.params
    cpu = get_backend("cpu")
    toks = tokenize(b, cpu)
    t0 = time.perf_counter()
    bounds, _ = sp.segments(g.to_device(b.data), g.to_device(b.offsets), g.tables(get_tables(False)))
    t_cut = time.perf_counter() - t0
    out = {"batch": {"docs": b.n_docs, "bytes": int(b.offsets[-1]), "long_docs_mb": a.long_mb},
           "params": p.__dict__ if hasattr(p, "__dict__") else str(p), "cut_kernel_sim_s": round(t_cut, 2)}
    out["tokenize_bytes"] = {"before": stats(np.diff(b.offsets)), "after": stats(np.diff(bounds))}
    n = 3
    tok_off = toks.doc_tok_offsets
    starts = np.maximum(np.diff(tok_off) - (n - 1), 0)
    cnt_off = np.concatenate([[0], np.cumsum(starts)]).astype(np.int64)
    lo, hi, _ = sp._word_ranges(tok_off, n, cnt_off)
    out["word3_starts"] = {"before": stats(starts), "after": stats(np.maximum(hi - lo - (n - 1), 0))}
    cb, _, _ = _chunks(g, toks.norm_offsets, p.char_chunk_bytes)
    out["char_norm_bytes"] = {"before": stats(np.diff(toks.norm_offsets)), "after": stats(np.diff(cb))}
    sb, _, _ = _chunks(g, cnt_off, p.signature_shingles)
    out["signature_shingles"] = {"before": stats(starts), "after": stats(np.diff(sb))}
    if a.check:
        gt = tokenize(b, g)
        same = all(np.array_equal(toks.host(k), gt.host(k)) for k in
                   ("norm", "norm_offsets", "tok_start", "tok_len", "tok_hash", "doc_tok_offsets"))
        out["tokens_equal_cpu"] = bool(same)
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
