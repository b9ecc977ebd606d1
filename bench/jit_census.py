"""What a ``corpus`` command compiles or loads from numba's cache: one line a kernel.

``python -m bench.jit_census [--fresh] -- ngrams seeds -q -o /tmp/x.csv`` runs the command in
this process with numba's dispatcher patched to record, per compiled function, each
signature it compiled (or loaded from the cache) and the seconds that took, exclusive of the
kernels it called (a caller's typing compiles its callees inside its own ``compile``).
``--fresh`` points ``NUMBA_CACHE_DIR`` at an empty folder first: the first run after install.
``--record-plan FILE`` also writes the kernels of ``kernels.*`` the command called from Python,
with their signatures, in call order: an :mod:`engine.warmup_plan` plan (engine/warmup_plans/).

A function listed with several signatures was specialised several times (literal ints or
bools at call sites, int32 against int64, C against A layouts): each is a full compilation.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import defaultdict


def _install_probe(records: dict, plan: list | None = None) -> None:
    from numba.core.dispatcher import Dispatcher

    original = Dispatcher.compile
    stack: list[list[float]] = []      # [start, seconds spent in callees]

    def compile_probe(self, sig):
        before = len(self.overloads)
        stack.append([time.perf_counter(), 0.0])
        try:
            return original(self, sig)
        finally:
            start, inner = stack.pop()
            took = time.perf_counter() - start
            if stack:
                stack[-1][1] += took
            if len(self.overloads) > before:            # a new specialisation, compiled or loaded
                name = f"{self.py_func.__module__}.{self.py_func.__qualname__}"
                sig_text = ", ".join(str(t) for t in self.signatures[-1])
                records[name].append((sig_text, took - inner, bool(self.targetoptions.get("parallel"))))
                if plan is not None and not stack and self.py_func.__module__.startswith("kernels."):
                    _plan_entry(plan, self, self.signatures[-1])

    Dispatcher.compile = compile_probe


def _plan_entry(plan: list, dispatcher, sig) -> None:
    from engine.warmup_plan import Unsupported, entry
    try:
        plan.append(entry(dispatcher.py_func.__module__, dispatcher.py_func.__qualname__, sig))
    except Unsupported as e:
        print(f"left out of the plan: {dispatcher.py_func.__qualname__}: {e}", file=sys.stderr)


def report(records: dict, wall: float, out=sys.stdout) -> None:
    """Kernels by exclusive seconds, with their specialisation counts."""
    rows = sorted(records.items(), key=lambda kv: -sum(s for _, s, _ in kv[1]))
    total = sum(s for recs in records.values() for _, s, _ in recs)
    n = sum(len(r) for r in records.values())
    print(f"{n} specialisations of {len(records)} functions, {total:.2f} s in numba "
          f"compile/load (exclusive), command wall {wall:.2f} s", file=out)
    for name, recs in rows:
        par = " parallel" if any(p for *_, p in recs) else ""
        print(f"{sum(s for _, s, _ in recs):7.2f} s  {len(recs)}x  {name}{par}", file=out)
        if len(recs) > 1:
            for sig, s, _ in recs:
                print(f"           {s:6.2f} s  ({sig})", file=out)


def main(argv: list[str]) -> int:
    fresh = "--fresh" in argv[: argv.index("--")] if "--" in argv else "--fresh" in argv
    args = argv[argv.index("--") + 1:] if "--" in argv else []
    if fresh:
        os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="jit-census-")
    head = argv[: argv.index("--")] if "--" in argv else argv
    plan_path = head[head.index("--record-plan") + 1] if "--record-plan" in head else None
    plan: list | None = [] if plan_path else None
    records: dict = defaultdict(list)
    _install_probe(records, plan)
    from engine.cli import app, tune_process
    tune_process()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        app(args, standalone_mode=False)
    finally:
        report(records, time.perf_counter() - t0, out=sys.stderr)
        print(f"command CPU {time.process_time() - c0:.2f} s", file=sys.stderr)
        if plan_path:
            from engine.warmup_plan import dumps
            with open(plan_path, "w") as f:
                f.write(dumps(plan))
            print(f"plan: {len(plan)} kernels -> {plan_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
