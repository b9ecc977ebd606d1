"""The first run after install on several cores: while a command compiles the kernels it needs
first, a worker process compiles those of its later sections into numba's shared cache.

numba compiles a kernel on its first call, holding the GIL: a cold command compiles one kernel
after the other (about 25 s of CPU for ``corpus analyze``).  Its sections are independent
jobs, though: the n-grams, MinHash and co-occurrence of ``corpus analyze`` share only the
tokenisation.  (``corpus analyze``, one pass feeding all its sections, has a recorded plan
instead, :mod:`engine.warmup_plan`: its kernels with their signatures, compiled from the
last to the first.)  :func:`prefetch` starts a worker (``python -m engine.warmup UNIT...``; one a
unit where cores allow, :func:`plan_workers`) that runs the jobs of the later sections, through their public API, on a small synthetic corpus
(:func:`sample_batches`): every kernel those jobs dispatch is compiled and saved into the
cache while the command itself works through its first sections.  When the command reaches
them its kernels load from the cache (numba looks there before it compiles).  Which kernels
a unit compiles is whatever its job's code calls: there is no list of kernels to keep up.

Nothing here can change a result: the command runs exactly as without the worker, and a
kernel the worker has not saved yet is compiled by the command as before (numba's saves are
made safe against concurrent writers in :mod:`kernels.jit_cache`).  When the command ends
first, the workers are stopped (their saves are atomic renames; what they finished stays cached).

No worker is started when the cache is warm (a marker file a unit, written by the worker when
the unit is done, or for a planned unit by the command once it holds every kernel of the plan,
stamped by the kernels' tree hash), with fewer than two usable cores, under
``NUMBA_DISABLE_JIT`` or the CUDA simulator, for ``--device gpu``, or with
``CORPUS_ENGINE_WARMUP=0``.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator, Sequence

__all__ = ["UNITS", "prefetch", "plan_workers", "sample_batches", "warm", "start_worker", "enabled", "run_units"]


def _words() -> list[str]:
    # French and English words, accents included: the tokeniser's non-ASCII paths compile too
    return ("the corpus engine counts words and pairs of words in every document while "
            "le moteur compte les mots et les paires de mots dans chaque document déjà été "
            "naïve café über straße near duplicate documents share most of their shingles").split()


def sample_batches(n_docs: int = 48):
    """A small corpus in one :class:`engine.corpus.Batch`: repeated words (co-occurrences above
    any ``min_count``), near-duplicate documents (MinHash candidates, verified pairs,
    clusters), French and English stop words, accented letters."""

    from engine.corpus import Batch, batch_from_texts
    words = _words()
    texts = []
    for d in range(n_docs):
        base = d // 2           # documents come in near-identical pairs
        body = [words[(base * 7 + 3 * i) % len(words)] for i in range(60)]
        if d % 2:
            body[base % len(body)] = "variante"
        texts.append(" ".join(body) + ".")
    b = batch_from_texts(texts)
    # writable, as the corpus readers' arrays (numba specialises a read-only array apart)
    return [Batch(b.doc_ids, b.data.copy(), b.offsets, b.doc_base)]


def _run_ngrams(text) -> None:
    from engine import ngrams
    ngrams.run(sample_batches(), "cpu", ngrams.NgramConfig(n="1-3", top=10, text=text)).table()


def _run_minhash(text) -> None:
    from engine import minhash
    minhash.run(sample_batches(), "cpu", minhash.MinHashConfig(text=text)).summary()


def _run_cooc(text) -> None:
    from engine import cooc
    res = cooc.run(sample_batches(), "cpu", cooc.CoocConfig(window=5, min_count=2, measure="llr", text=text))
    if res.vocab:
        res.associates(res.vocab[0], "llr", 5)


def _run_analyze_plan(text) -> None:
    # ``corpus analyze``'s kernels from its recorded plan (engine.warmup_plan), the last it
    # calls first: the worker starts where the command ends and they meet in the middle
    from engine import warmup_plan
    warmup_plan.compile_entries(warmup_plan.load("analyze"))


#: warm-up units: the jobs (or the recorded plan) whose kernels a worker compiles, by name
UNITS = {"ngrams": _run_ngrams, "minhash": _run_minhash, "cooc": _run_cooc,
         "analyze": _run_analyze_plan}


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def enabled(device: str = "auto") -> bool:
    """Whether a worker could help: JIT on, not the simulator, not the GPU, two cores or more."""
    env = os.environ
    if env.get("CORPUS_ENGINE_WARMUP", "1") == "0" or device == "gpu":
        return False
    if env.get("NUMBA_DISABLE_JIT", "0") not in ("", "0") or env.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return False
    return usable_cores() >= 2


def _marker(unit: str) -> Path | None:
    """The file saying ``unit``'s kernels are in the cache, beside numba's cache of our kernels
    (None when numba has no writable cache folder for them)."""
    try:
        from kernels.cpu import text
        from kernels.jit_cache import tree_stamp
        folder = Path(text.doc_flaws._cache._cache_path)
    except Exception:   # noqa: BLE001  (no cache: nothing to warm)
        return None
    return folder / f"corpus-engine-warm-{unit}-{tree_stamp().hex()[:16]}"


def warm(unit: str) -> bool:
    """Whether a worker has compiled ``unit`` into the cache of the current kernels."""
    marker = _marker(unit)
    return marker is None or marker.exists()


def start_worker(units: Sequence[str], stopwords: str | None, device: str = "auto") -> subprocess.Popen:
    """``python -m engine.warmup`` for ``units``, silent, in this process's environment."""
    argv = [sys.executable, "-m", "engine.warmup", "--device", device, "--stopwords", stopwords or "", *units]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=dict(os.environ, CORPUS_ENGINE_WARMUP="0"))


def plan_workers(units: Sequence[str], cores: int) -> list[list[str]]:
    """The units of each worker: one worker a unit while cores remain beside the command's,
    dealt in order (the first units first: the sections the command reaches last)."""
    n = max(1, min(len(units), cores - 1))
    return [list(units[i::n]) for i in range(n)] if units else []


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.wait(5)
    if worker.poll() is None:
        worker.kill()
        worker.wait()


@contextlib.contextmanager
def prefetch(units: Sequence[str], stopwords: str | None = None, device: str = "auto") -> Iterator[list[str]]:
    """Around a command: when the cache is cold, workers compile ``units`` while the command
    runs (list first the section the command reaches last: the worker meets the command in the
    middle); stopped when the command ends.  Yields the units being prefetched (empty: none)."""
    cold = [u for u in units if not warm(u)] if enabled(device) else []
    workers: list[subprocess.Popen] = []
    try:
        for group in plan_workers(cold, usable_cores()):
            workers.append(start_worker(group, stopwords, device))
    except OSError:          # no process can be started here: the command compiles alone
        cold = [u for w in workers for u in w.args[6:]]
    try:
        yield cold
    finally:
        for worker in workers:
            _stop(worker)
        _mark_planned_units(cold)


#: units that are a recorded plan (engine.warmup_plan) of the command that prefetches them
PLANNED = {"analyze": "analyze"}


def _mark_planned_units(units: Sequence[str]) -> None:
    """Write the marker of each planned unit whose every kernel this process now holds (it
    called them: they are in the cache, compiled by it or by the worker).  A warm command ends
    long before a worker finishes loading a whole plan: without this no worker would ever
    write the marker, and every later run would start one."""
    from engine import warmup_plan
    for unit in units:
        if unit in PLANNED and warmup_plan.held(warmup_plan.load(PLANNED[unit])):
            marker = _marker(unit)
            if marker is not None:
                with contextlib.suppress(OSError):
                    marker.touch()


def run_units(units: Sequence[str], stopwords: str | None) -> None:
    """The worker: each unit's jobs on the sample corpus, then its marker."""
    from engine.text import text_options
    text = text_options(stopwords, False, 1)
    for unit in units:
        UNITS[unit](text)
        marker = _marker(unit)
        if marker is not None:
            marker.touch()


def _main(argv: list[str]) -> int:
    device, stopwords = "auto", None
    while argv[:1] in (["--device"], ["--stopwords"]) and len(argv) >= 2:
        if argv[0] == "--device":
            device = argv[1]
        else:
            stopwords = argv[1] or None
        argv = argv[2:]
    unknown = [u for u in argv if u not in UNITS]
    if unknown:
        print(f"unknown warm-up units: {', '.join(unknown)} (known: {', '.join(UNITS)})", file=sys.stderr)
        return 2
    if device == "auto":
        from engine.backend import gpu_status
        if gpu_status()[0]:
            return 0     # the command runs on the GPU: its CPU kernels are not needed
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # as the command's process (engine.cli)
    # No lower priority by default: while the command compiles (one thread) the worker has its
    # own core either way, and on a machine shared with other work a niced worker is starved
    # (measured, load ~8 on 2 cores: nice 10 left the worker 4 kernels of the plan and the
    # first run took 94 s; nice 0: 19 kernels, the two met in the middle, 63 s).
    # CORPUS_ENGINE_WARMUP_NICE=N: the command's own threads first when both want a core.
    with contextlib.suppress(OSError, AttributeError, ValueError):
        nice = int(os.environ.get("CORPUS_ENGINE_WARMUP_NICE", "0"))
        if nice:
            os.nice(nice)
    run_units(argv, stopwords)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
