"""MinHash benchmark: near-duplicate detection from JSONL text to clusters, and signatures alone.

``python -m bench.minhash --mb 50 --lang fr`` (or ``--input PATH``) runs every tool in its own
process (``bench.common.measure``: warm-up apart, peak RSS of the child) and writes
``bench/results/minhash-<lang>-<size>.json`` and ``.md``.  The module also exposes
``tools(quick)`` for ``python -m bench.run --jobs minhash``.

End to end (text -> clusters, word 5-gram shingles, 128 permutations, threshold 0.8):

- ``engine-cpu`` / ``engine-gpu``: ``engine.minhash.run`` (tokenizer kernel, shingles,
  affine32 signatures, LSH, exact verification, connected components).
- ``datasketch``: ``MinHash.update_batch`` on the shingles of the Python tokenisation a user
  would write (``re.findall(r"\\w+", NFKC(text).casefold())``), ``MinHashLSH`` insert + query,
  scipy connected components.  Capped input (a few MB/s).
- ``rensa``: the same Python tokenisation, ``RMinHash.digest_matrix_from_token_sets`` and
  ``RMinHashLSH`` (``insert_matrix`` + queries), connected components.

Signatures only, from the same precomputed uint64 shingle hashes (the engine's word 5-grams,
cached beside the corpus as .npz), 128 permutations; the time of the signature call alone is
reported as ``sig_s`` and ``gperm_s`` (10^9 shingle-permutations per second):

- ``sig-engine-cpu``: ``engine.minhash.signatures_from_hashes`` (numba, affine32).
- ``sig-rensa``: ``RMinHash.digest_matrix_from_flat_token_hashes`` (rensa's flat-buffer API).
- ``sig-datasketch``: ``MinHash.update_batch`` per document (affine32), capped.

Quality and memory (each in its own child process, run before the tools so that no child
inherits this process's peak RSS):

- ``--recall N``: recall and precision of the engine on ``bench.corpus_gen.ensure_dup_corpus``
  (N documents, ~30% planted near-duplicates at known Jaccard, exact ground truth):
  recall over true pairs at J >= threshold and at J >= threshold + 0.05, precision = found
  pairs whose exact J >= threshold / found pairs, planted recall per level.
- ``--memory N``: peak RSS and wall time of one ``corpus minhash`` process (pairs and clusters
  written to Parquet) on N generated documents of 100-300 bytes (``short_docs_corpus``).
"""
import json
import re
import time
import unicodedata
from pathlib import Path

from bench.common import Tool, gpu_available

JOB = "minhash"
PERMS = 128
THRESHOLD = 0.8
SHINGLE = 5
_WORD = re.compile(r"\w+")
ROOT = Path(__file__).resolve().parent.parent


def _texts(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def _py_shingles(text: str) -> list[str]:
    toks = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    if len(toks) < SHINGLE:
        return [" ".join(toks)] if toks else []
    return [" ".join(toks[i:i + SHINGLE]) for i in range(len(toks) - SHINGLE + 1)]


def _components(n: int, pairs) -> int:
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    if not pairs:
        return 0
    a, b = (np.array(x, dtype=np.int64) for x in zip(*pairs))
    m = coo_matrix((np.ones(a.size, np.int8), (a, b)), shape=(n, n))
    labels = connected_components(m, directed=False)[1]
    sizes = np.bincount(labels)
    return int((sizes >= 2).sum())


def _engine(device: str):
    def run(path: Path) -> dict:
        from engine.backend import get_backend
        from engine.minhash import MinHashConfig
        from engine.minhash import run as mh_run
        res = mh_run(Path(path), get_backend(device), MinHashConfig(perms=PERMS, threshold=THRESHOLD))
        res.clusters_table()
        s = res.summary()
        return {"docs": s["documents"], "bytes": res.sigs.n_bytes, "pairs": s["verified pairs"],
                "clusters": s["clusters"], "candidates": s["candidate pairs"]}
    return run


def _datasketch(path: Path) -> dict:
    from datasketch import MinHash, MinHashLSH
    texts = _texts(path)
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=PERMS)
    sigs = []
    for i, t in enumerate(texts):
        m = MinHash(num_perm=PERMS)
        m.update_batch([s.encode("utf-8") for s in _py_shingles(t)])
        lsh.insert(i, m)
        sigs.append(m)
    pairs = {(min(i, j), max(i, j)) for i, m in enumerate(sigs) for j in lsh.query(m) if j != i}
    return {"docs": len(texts), "bytes": sum(len(t.encode()) for t in texts), "pairs": len(pairs),
            "clusters": _components(len(texts), sorted(pairs))}


def _rensa(path: Path) -> dict:
    from rensa import RMinHash, RMinHashLSH
    texts = _texts(path)
    sh = [_py_shingles(t) for t in texts]
    mat = RMinHash.digest_matrix_from_token_sets(sh, PERMS, 42)
    lsh = RMinHashLSH(THRESHOLD, PERMS, 16)  # rensa needs bands dividing perms: 16 x 8
    lsh.insert_matrix(mat)
    mhs = []
    for toks in sh:
        m = RMinHash(PERMS, 42)
        m.update(toks)
        mhs.append(m)
    pairs = {(min(i, j), max(i, j)) for i, m in enumerate(mhs) for j in lsh.query(m) if j != i}
    return {"docs": len(texts), "bytes": sum(len(t.encode()) for t in texts), "pairs": len(pairs),
            "clusters": _components(len(texts), sorted(pairs))}


# ---------------------------------------------------------------- signatures only
def shingle_cache(path: Path) -> Path:
    """uint64 word 5-gram hashes + offsets of every document of ``path`` (cached .npz)."""
    import numpy as np
    out = Path(path).with_suffix(".shingles5.npz")
    if out.exists() and out.stat().st_mtime_ns >= Path(path).stat().st_mtime_ns:
        return out
    from engine.backend import get_backend
    from engine.corpus import CorpusReader
    from engine.minhash import MinHashConfig, shingles
    from engine.text import tokenize
    be = get_backend("cpu")
    cfg = MinHashConfig()
    hs, cs = [], []
    for batch in CorpusReader([path]):
        h, off = shingles(tokenize(batch, be), cfg, be)
        hs.append(h)
        cs.append(np.diff(off))
    off = np.zeros(sum(c.size for c in cs) + 1, np.int64)
    np.cumsum(np.concatenate(cs), out=off[1:])
    tmp = out.with_name(out.stem + ".tmp.npz")
    np.savez(tmp, h=np.concatenate(hs), off=off)
    tmp.replace(out)
    return out


def _load_shingles(path: Path):
    import numpy as np
    z = np.load(shingle_cache(path))
    return z["h"], z["off"]


def _sig_engine(path: Path) -> dict:
    from engine.backend import get_backend
    from engine.minhash import signatures_from_hashes
    h, off = _load_shingles(path)
    t0 = time.perf_counter()
    signatures_from_hashes(h, off, PERMS, get_backend("cpu"), seed=1)
    dt = time.perf_counter() - t0
    return {"docs": off.size - 1, "sig_s": dt, "gperm_s": h.size * PERMS / dt / 1e9}


def _sig_rensa(path: Path) -> dict:
    from rensa import RMinHash
    h, off = _load_shingles(path)
    t0 = time.perf_counter()
    RMinHash.digest_matrix_from_flat_token_hashes(h, off, PERMS, 42)
    dt = time.perf_counter() - t0
    return {"docs": off.size - 1, "sig_s": dt, "gperm_s": h.size * PERMS / dt / 1e9}


def _sig_datasketch(path: Path) -> dict:
    from datasketch import MinHash
    h, off = _load_shingles(path)
    t0 = time.perf_counter()
    for d in range(off.size - 1):
        m = MinHash(num_perm=PERMS, hashfunc=lambda v: v)
        m.update_batch(h[off[d]:off[d + 1]] >> 32)
    dt = time.perf_counter() - t0
    return {"docs": off.size - 1, "sig_s": dt, "gperm_s": h.size * PERMS / dt / 1e9}


def tools(quick: bool = False) -> dict:
    return {
        "engine-cpu": Tool(run=_engine("cpu"), kind="engine", device="cpu", reference=True,
                           requires=("engine.minhash",)),
        "engine-gpu": Tool(run=_engine("gpu"), kind="engine", device="gpu", requires=("engine.minhash",),
                           available=gpu_available, hint="pip install 'corpus-engine[gpu]'"),
        "datasketch": Tool(run=_datasketch, requires=("datasketch",), hint="pip install datasketch",
                           max_mb=0.5 if quick else 3),
        "rensa": Tool(run=_rensa, requires=("rensa",), hint="pip install rensa",
                      max_mb=1 if quick else 10),
        "sig-engine-cpu": Tool(run=_sig_engine, kind="engine", device="cpu", requires=("engine.minhash",),
                               label="signatures only"),
        "sig-rensa": Tool(run=_sig_rensa, requires=("rensa",), hint="pip install rensa",
                          label="signatures only"),
        "sig-datasketch": Tool(run=_sig_datasketch, requires=("datasketch",), label="signatures only",
                               max_mb=0.5 if quick else 3),
    }


# ---------------------------------------------------------------- quality and memory
def recall_precision(lang: str, n_docs: int = 10000, seed: int = 0, threshold: float = THRESHOLD,
                     device: str = "cpu") -> dict:
    """Recall and precision of ``engine.minhash.run`` on the planted near-duplicate corpus.

    Truth = pairs of the generator's exact ground truth (word 5-shingles) with Jaccard at or
    above ``threshold``; recall is also given for pairs at or above ``threshold + 0.05`` (the
    issue's criterion) and per planted level.
    """
    import pyarrow.parquet as pq

    from bench.corpus_gen import ensure_dup_corpus
    from engine.backend import get_backend
    from engine.minhash import MinHashConfig
    from engine.minhash import run as mh_run
    path, truth_path = ensure_dup_corpus(lang, n_docs, seed)
    t = pq.read_table(truth_path).to_pydict()
    t0 = time.perf_counter()
    res = mh_run(Path(path), get_backend(device), MinHashConfig(perms=PERMS, threshold=threshold))
    secs = time.perf_counter() - t0
    pt = res.pairs_table().to_pydict()
    found = {tuple(sorted(p)) for p in zip(pt["doc_a"], pt["doc_b"])}
    jac = {(a, b): j for a, b, j in zip(t["doc_a"], t["doc_b"], t["jaccard"])}
    pos = {k for k, j in jac.items() if j >= threshold}
    strong = {k for k, j in jac.items() if j >= threshold + 0.05}
    true_found = {k for k in found if jac.get(k, 0.0) >= threshold}
    by_level = {}
    for a, b, pl, tg, j in zip(t["doc_a"], t["doc_b"], t["planted"], t["target"], t["jaccard"]):
        if pl and j >= threshold:
            hit, tot = by_level.get(tg, (0, 0))
            by_level[tg] = (hit + ((a, b) in found), tot + 1)
    return {"corpus": str(path), "docs": res.sigs.n_docs, "seconds": round(secs, 3),
            "threshold": threshold, "truth_pairs": len(pos), "found_pairs": len(found),
            "recall": len(pos & found) / max(len(pos), 1),
            f"recall_at_{threshold + 0.05:.2f}": len(strong & found) / max(len(strong), 1),
            "precision": len(true_found) / max(len(found), 1),
            "candidates": int(res.cand_a.size),
            "planted_recall_by_level": {f"{k:g}": f"{h}/{n}" for k, (h, n) in sorted(by_level.items())}}


def short_docs_corpus(n_docs: int = 1_000_000, seed: int = 0, lang: str = "en") -> Path:
    """``n_docs`` documents of 100-300 bytes (sentences of bench.corpus_gen), cached JSONL."""
    import random

    from bench.corpus_gen import _LEX_RATE_DUP, DATA_DIR, _Writer
    out = DATA_DIR / f"{lang}-short{n_docs}-seed{seed}.jsonl"
    if out.exists():
        return out
    rng = random.Random(f"short:{lang}:{seed}")
    w = _Writer(lang, seed, _LEX_RATE_DUP, salt="short")
    sents = [w.sentence() for _ in range(min(300_000, 2 * n_docs))]  # each used ~3x: chance overlaps
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for i in range(n_docs):
            target = rng.randint(100, 300)
            parts, size = [], 0
            while size < target:
                s = sents[rng.randrange(len(sents))]
                parts.append(s)
                size += len(s.encode("utf-8")) + 1
            text = " ".join(parts).encode("utf-8")[:target].decode("utf-8", "ignore")
            f.write(json.dumps({"id": f"s{i}", "text": text}, ensure_ascii=False) + "\n")
    tmp.replace(out)
    return out


def peak_memory(path: Path, device: str = "cpu", extra=()) -> dict:
    """Peak RSS (MB, wait4's ru_maxrss) and wall time of one ``corpus minhash`` process on
    ``path``, writing pairs and clusters to Parquet (interpreter start and imports included)."""
    import os
    import subprocess
    import sys
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "engine.cli", "minhash", str(path), "--device", device, "-q",
               "--output", f"{tmp}/pairs.parquet", "--clusters", f"{tmp}/clusters.parquet", *extra]
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate()
        secs = time.perf_counter() - t0
        _, _, ru = os.wait4(p.pid, 0) if p.returncode is None else (0, 0, None)
    import resource
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 if ru is None else ru.ru_maxrss / 1024
    lines = [ln.strip("│ ").replace("│", ":") for ln in out.splitlines() if "│" in ln]
    return {"corpus": str(path), "peak_rss_mb": round(peak), "seconds": round(secs, 2), "rc": p.returncode,
            "input_mb": round(Path(path).stat().st_size / 1e6, 1), "summary": lines,
            "error": err.strip().splitlines()[-1:] if p.returncode else []}


# ---------------------------------------------------------------- standalone script
def main(argv=None) -> int:
    from bench.common import machine_info, run_standalone, standalone_parser
    ap = standalone_parser("python -m bench.minhash", __doc__.split("\n\n")[0])
    ap.add_argument("--recall", type=int, default=0, metavar="N",
                    help="also measure recall/precision on the planted near-duplicate corpus of N docs")
    ap.add_argument("--memory", type=int, default=0, metavar="N",
                    help="also measure peak RSS of `corpus minhash` on N short (100-300 byte) documents")
    ap.add_argument("--only-extra", action="store_true", help="skip the throughput tools")
    a = ap.parse_args(argv)
    extra = {}
    if a.memory:  # first: the child's peak RSS starts from this process's (see below)
        extra["memory"] = peak_memory(short_docs_corpus(a.memory, lang=a.lang))
        print(json.dumps(extra["memory"]), flush=True)
    if a.recall:  # in a child too, so that the tools' children start small
        import subprocess
        import sys
        code = (f"import json; from bench.minhash import recall_precision; "
                f"print(json.dumps(recall_precision({a.lang!r}, {a.recall})))")
        cp = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True)
        extra["recall"] = json.loads(cp.stdout.strip().splitlines()[-1])
        print(json.dumps(extra["recall"]), flush=True)
    if a.only_extra:
        return 0
    if a.input is not None:
        path, tag = a.input, a.input.stem
    else:
        from bench.corpus_gen import ensure_corpus
        path, tag = ensure_corpus(a.lang, a.mb, 0), f"{a.lang}-{a.mb:g}MB"
    # in a child: Linux carries a parent's peak RSS into its children (ru_maxrss survives exec)
    import subprocess
    import sys
    subprocess.run([sys.executable, "-c", f"from bench.minhash import shingle_cache; shingle_cache({str(path)!r})"],
                   cwd=ROOT, check=True)
    rows = run_standalone(JOB, "bench.minhash", a, Path(path))
    a.output_dir.mkdir(parents=True, exist_ok=True)
    out = {"job": JOB, "corpus": str(path), "perms": PERMS, "threshold": THRESHOLD,
           "shingle": f"word:{SHINGLE}", "machine": machine_info(), "results": rows, **extra}
    js = a.output_dir / f"minhash-{tag}.json"
    js.write_text(json.dumps(out, indent=2, default=str))
    md = [f"# MinHash benchmark ({tag}, {PERMS} permutations, word 5-grams, threshold {THRESHOLD})", "",
          "| tool | status | MB/s | docs/s | G shingle-perm/s | peak RSS MB | pairs | clusters | input MB |",
          "|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        ex = r.get("extra", {}) or {}
        f = lambda v, p=1: "" if v is None else (f"{v:.{p}f}" if isinstance(v, float) else str(v))
        md.append(f"| {name} | {r.get('status')} {r.get('reason', '')} | {f(r.get('mb_per_s'))} | "
                  f"{f(r.get('docs_per_s'), 0)} | {f(ex.get('gperm_s'), 2)} | {f(r.get('peak_rss_mb'), 0)} | "
                  f"{f(ex.get('pairs'))} | {f(ex.get('clusters'))} | "
                  f"{f((r.get('input_bytes') or 0) / 1e6)} |")
    if "recall" in extra:
        r = extra["recall"]
        md += ["", f"Planted near-duplicates ({r['docs']} docs, threshold {r['threshold']}): recall "
               f"{r['recall']:.4f} (J >= {r['threshold']}), "
               + ", ".join(f"{k} {v:.4f}" for k, v in r.items() if k.startswith("recall_at_"))
               + f", precision {r['precision']:.4f}, {r['found_pairs']} pairs found of {r['truth_pairs']}."]
    if "memory" in extra:
        m = extra["memory"]
        md += ["", f"Peak RSS of `corpus minhash` on {m['input_mb']:.0f} MB of short documents: "
               f"{m['peak_rss_mb']:.0f} MB ({m['seconds']} s)."]
    (a.output_dir / f"minhash-{tag}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    print(f"wrote {js} and {js.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
