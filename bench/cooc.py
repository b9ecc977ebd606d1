"""Co-occurrence benchmark: window 5 and 10, JSONL in, top-1000 table by LLR out (all pairs scored).

Tools (all build the window matrix with min count 2 and a 50000-term vocabulary,
score every pair and sort the top 1000):

- ``engine-cpu-w5`` / ``engine-cpu-w10``: ``engine.cooc.run`` on the CPU backend (w5 is the reference row).
- ``engine-gpu-w5`` / ``engine-gpu-w10``: the GPU backend; absent (with the reason) without a usable GPU.
- ``scipy-w5`` / ``scipy-w10``: what a user would write: ``re.findall(r"\\w+")`` on NFKC + casefold
  text, a ``Counter`` vocabulary dict, id arrays shifted by 1..W, ``scipy.sparse.coo_matrix`` ->
  CSR, M + M.T, PMI / LLR with numpy on the non-zeros.

Standalone: ``python -m bench.cooc --mb 50 --lang fr`` (JSON + Markdown under bench/results/).
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

from bench.common import Tool, gpu_available

JOB = "cooc"
ROOT = Path(__file__).resolve().parent.parent
MIN_COUNT, MAX_VOCAB, TOP = 2, 50000, 1000
_WORD = re.compile(r"\w+")


def _engine(device: str, window: int):
    def run(path: Path) -> dict:
        from engine.cooc import CoocConfig
        from engine.cooc import run as cooc_run
        res = cooc_run([str(path)], device, CoocConfig(window=window, min_count=MIN_COUNT,
                                                        max_vocab=MAX_VOCAB, measure="llr"))
        table = res.table("llr", top=TOP)
        return {"docs": res.n_docs, "bytes": res.n_bytes, "tokens": res.n_tokens, "pairs": res.nnz,
                "vocab": len(res.vocab), "rows": table.num_rows}
    return run


def _scipy(window: int):
    def run(path: Path) -> dict:
        import numpy as np
        import scipy.sparse as sp
        docs, nbytes = [], 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    text = json.loads(line)["text"]
                    nbytes += len(text.encode("utf-8"))
                    docs.append(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))
        freq = Counter(t for d in docs for t in d)
        kept = sorted((kv for kv in freq.items() if kv[1] >= MIN_COUNT), key=lambda kv: (-kv[1], kv[0]))[:MAX_VOCAB]
        vocab = {t: i for i, (t, _) in enumerate(kept)}
        ids = np.fromiter((vocab.get(t, -1) for d in docs for t in d), np.int64)
        doc = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
        n = len(vocab)
        rows, cols = [], []
        for s in range(1, window + 1):
            a, b = ids[:-s], ids[s:]
            ok = (doc[:-s] == doc[s:]) & (a >= 0) & (b >= 0)
            rows.append(a[ok])
            cols.append(b[ok])
        r, c = np.concatenate(rows), np.concatenate(cols)
        m = sp.coo_matrix((np.ones(r.size), (r, c)), shape=(n, n)).tocsr()
        m = (m + m.T).tocsr()
        T = m.sum()
        marg = np.asarray(m.sum(axis=1)).ravel()
        u = sp.triu(m).tocoo()
        k, ra, rb = u.data, marg[u.row], marg[u.col]
        pmi = np.log(k * T / (ra * rb))
        g = np.zeros(k.size)
        for cell, row, col in ((k, ra, rb), (ra - k, ra, T - rb), (rb - k, T - ra, rb),
                               (T - ra - rb + k, T - ra, T - rb)):
            with np.errstate(divide="ignore", invalid="ignore"):
                g += np.where(cell > 0, cell * np.log(cell * T / (row * col)), 0.0)
        llr = 2 * g
        top = np.argsort(-llr)[:TOP]
        names = [t for t, _ in kept]
        rows_out = [(names[u.row[i]], names[u.col[i]], k[i], pmi[i], llr[i]) for i in top]
        return {"docs": len(docs), "bytes": nbytes, "tokens": int(ids.size), "pairs": int(k.size),
                "vocab": n, "rows": len(rows_out)}
    return run


def tools(quick: bool = False) -> dict:
    out = {}
    for w in (5, 10):
        out[f"engine-cpu-w{w}"] = Tool(run=_engine("cpu", w), kind="engine", device="cpu", reference=(w == 5),
                                       requires=("engine.cooc",), label=f"window {w}")
        out[f"engine-gpu-w{w}"] = Tool(run=_engine("gpu", w), kind="engine", device="gpu",
                                       requires=("engine.cooc",), available=gpu_available,
                                       hint="pip install 'corpus-engine[gpu]'", label=f"window {w}")
        out[f"scipy-w{w}"] = Tool(run=_scipy(w), requires=("scipy",), hint="pip install scipy",
                                  max_mb=2 if quick else 20, label=f"window {w}")
    return out


# ---------------------------------------------------------------- standalone script
def main(argv=None) -> int:
    from bench.common import machine_info, run_standalone, standalone_parser
    ap = standalone_parser("python -m bench.cooc", __doc__.split("\n\n")[0])
    a = ap.parse_args(argv)
    if a.input is not None:
        path, tag = a.input, a.input.stem
    else:
        from bench.corpus_gen import ensure_corpus
        path, tag = ensure_corpus(a.lang, a.mb, 0), f"{a.lang}-{a.mb:g}MB"
    rows = run_standalone(JOB, "bench.cooc", a, Path(path))
    ref = {w: rows.get(f"scipy-w{w}", {}).get("mb_per_s") for w in (5, 10)}
    a.output_dir.mkdir(parents=True, exist_ok=True)
    out = {"job": JOB, "corpus": str(path), "min_count": MIN_COUNT, "max_vocab": MAX_VOCAB, "top": TOP,
           "machine": machine_info(), "results": rows}
    js = a.output_dir / f"cooc-{tag}.json"
    js.write_text(json.dumps(out, indent=2, default=str))
    f = lambda v, p=1: "" if v is None else (f"{v:.{p}f}" if isinstance(v, float) else str(v))
    md = [f"# Co-occurrence benchmark ({tag}, min count {MIN_COUNT}, max vocab {MAX_VOCAB}, "
          f"all pairs scored, top {TOP} by LLR)", "",
          "| tool | status | MB/s | M tokens/s | x scipy | peak RSS MB | pairs | input MB |",
          "|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        ex = r.get("extra", {}) or {}
        w = 10 if name.endswith("w10") else 5
        tok_s = (ex.get("tokens") / r["median_s"] / 1e6) if ex.get("tokens") and r.get("median_s") else None
        ratio = (r["mb_per_s"] / ref[w]) if r.get("mb_per_s") and ref[w] else None
        md.append(f"| {name} | {r.get('status')} {r.get('reason', '')} | {f(r.get('mb_per_s'))} | {f(tok_s, 2)} | "
                  f"{f(ratio, 1)} | {f(r.get('peak_rss_mb'), 0)} | {f(ex.get('pairs'))} | "
                  f"{f((r.get('input_bytes') or 0) / 1e6)} |")
    (a.output_dir / f"cooc-{tag}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    print(f"wrote {js} and {js.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
