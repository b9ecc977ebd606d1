"""Where the memory of ``corpus analyze`` goes: RSS over the pass and the phases after it,
and the bytes each consumer of the pass holds (numpy arrays reachable from it).

    python -m bench.analyze_memory CORPUS.jsonl [--every 20] [--memory 1GB] [--json out.json]

Prints, every ``--every`` batches: MB read, RSS, and the MB held by each consumer (n-gram
counters, word counts, MinHash signatures and texts, cooc vocabulary and token cache); then
the peak RSS of each phase (the pass, then each ``stats.stage`` of ``analyze_corpus``).  A
measurement tool: it patches ``JobStats.stage`` to mark phases and runs
``engine.analyze.analyze_corpus`` with a probe in its pass.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time

import numpy as np
import psutil


def held_bytes(obj, seen: set | None = None, depth: int = 0) -> int:
    """Bytes of the numpy arrays reachable from ``obj`` (attributes, dicts, lists; each
    buffer once, a view counted by its base)."""
    seen = set() if seen is None else seen
    if depth > 6 or id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        base = obj
        while isinstance(base.base, np.ndarray):
            base = base.base
        if id(base) in seen and base is not obj:
            return 0
        seen.add(id(base))
        return int(base.nbytes)
    if isinstance(obj, (str, bytes, int, float, bool, type(None))):
        return 0
    if isinstance(obj, dict):
        return sum(held_bytes(v, seen, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple, set)):
        if obj and all(isinstance(v, str) for v in list(obj)[:8]):
            return sum(len(v) + 49 for v in obj)   # ids kept as Python strings
        return sum(held_bytes(v, seen, depth + 1) for v in obj)
    d = getattr(obj, "__dict__", None)
    return held_bytes(d, seen, depth + 1) if d else 0


class Sampler:
    """RSS every ``dt`` seconds in a thread, with the phase marked at that time."""

    def __init__(self, dt: float = 0.05):
        self.proc, self.dt = psutil.Process(), dt
        self.phase = "start"
        self.peak: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            self.sample()
            time.sleep(self.dt)

    def sample(self) -> int:
        rss = self.proc.memory_info().rss
        self.peak[self.phase] = max(self.peak.get(self.phase, 0), rss)
        return rss


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus")
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--json", default=None)
    ap.add_argument("--batch-mb", type=float, default=None, help="reader batch size (default: the reader's)")
    ap.add_argument("--memory", default=None, help="analyze's --memory (default: none given)")
    args = ap.parse_args(argv)

    import engine.analyze as an
    from engine.analyze_pass import analyze_pass
    from engine.memory import retain_freed_memory
    from engine.stats import JobStats
    retain_freed_memory()   # as the CLI does

    sampler = Sampler()
    rows: list[dict] = []
    state = {"batches": 0, "bytes": 0}
    orig_stage = JobStats.stage

    @contextlib.contextmanager
    def stage(self, name):
        outer = sampler.phase
        if self.job == "analyze" and name not in ("read", "tokenize", "languages") and outer == "after pass":
            sampler.phase = name
        try:
            with orig_stage(self, name):
                yield
        finally:
            sampler.sample()
            sampler.phase = outer

    def probe(batch, consumers):
        state["batches"] += 1
        state["bytes"] += batch.n_bytes
        if state["batches"] % args.every:
            return
        row = {"MB read": round(state["bytes"] / 1e6, 1), "RSS MB": round(sampler.sample() / 1e6)}
        for name, c in consumers.items():
            if name in ("cooc", "words"):   # a type table, and its token cache apart
                cache = getattr(c, "tokens", None) or getattr(c, "cache", None)
                row["cooc cache MB"] = round(held_bytes(cache) / 1e6, 1)
                row[f"{name} types MB"] = round(held_bytes({k: v for k, v in vars(c).items()
                                                            if v is not cache}) / 1e6, 1)
            elif name == "minhash":
                sig = getattr(c, "signatures", c)
                row["minhash sig MB"] = round(held_bytes(sig.sig) / 1e6, 1)
                row["minhash text MB"] = round(held_bytes(sig.text) / 1e6, 1)   # in memory
                row["minhash ids MB"] = round(held_bytes(sig.ids) / 1e6, 1)
            else:
                row[f"{name} MB"] = round(held_bytes(c) / 1e6, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)

    def pass_with_probe(*a, **kw):
        sampler.phase = "pass"
        try:
            return analyze_pass(*a, probe=probe, **kw)
        finally:
            sampler.sample()
            sampler.phase = "after pass"

    def marked(cls, method, label):
        orig = getattr(cls, method)

        def wrapper(*a, **kw):
            outer, sampler.phase = sampler.phase, label
            try:
                return orig(*a, **kw)
            finally:
                sampler.sample()
                sampler.phase = outer
        setattr(cls, method, wrapper)

    from engine.analyze_pass import SignaturesAndTexts
    from engine.analyze_words import WordTypes
    from engine.ngrams.counting import KeyCounter
    from engine.ngrams.job import NgramConsumer
    marked(NgramConsumer, "partial", "pass: n-gram partial")
    marked(KeyCounter, "spill", "pass: n-gram spill")
    marked(SignaturesAndTexts, "partial", "pass: minhash partial")
    marked(WordTypes, "partials", "pass: vocabulary partials")
    an.analyze_pass = pass_with_probe
    JobStats.stage = stage
    sampler.thread.start()
    t0 = time.perf_counter()
    from engine.corpus import CorpusReader
    opts = {} if args.batch_mb is None else {"batch_bytes": int(args.batch_mb * (1 << 20))}
    data = an.analyze_corpus(CorpusReader([args.corpus], **opts), console=_quiet_console(),
                             memory=args.memory)
    sampler.sample()
    sampler.phase = "report data"
    sampler.stop.set()
    sampler.thread.join()
    wall = time.perf_counter() - t0
    peaks = {k: round(v / 1e6) for k, v in sampler.peak.items()}
    print("peak RSS MB by phase:", json.dumps(peaks))
    print("seconds:", json.dumps({k: round(v, 2) for k, v in data.stats.seconds.items()}), f"wall {wall:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "peaks": peaks, "seconds": data.stats.seconds, "wall": wall}, f, indent=1)


def _quiet_console():
    import io

    from rich.console import Console
    return Console(file=io.StringIO(), width=120)


if __name__ == "__main__":
    main()
