"""The futures of a distributed run: explicit keys, test hooks, faults, and the figures
(tasks, bytes shuffled, seconds per phase) that end up in the result's stats.

Every task runs :func:`task` (a module-level function: workers import it by name), which
applies the test hooks (random delays shuffling completion order, injected faults) before
the job's own function.  A task that keeps killing its workers fails the run with one
:class:`DistError` line (``KilledWorker``), as does a task that raises.
"""
from __future__ import annotations

import os
import random
import time
import uuid
from dataclasses import dataclass, field

from engine.corpus import CorpusError
from engine.dist.cluster import DistError
from engine.stats import JobStats

__all__ = ["Scheduler", "Hooks", "DistRun", "task", "Meta"]

MIN_PARTITION_BYTES = 32 << 20
MAX_PARTITION_BYTES = 1 << 30


@dataclass(frozen=True)
class Hooks:
    """Test hooks carried by every task.  ``delay``: each task first sleeps a random time up
    to this many seconds.  ``fault``: ``(phase, index, marker, mode)``: the task of that phase
    and index kills its worker (``os._exit``) the first time (``mode="kill_once"``, the
    ``marker`` file records the attempt), kills it every time (``"kill"``) or raises
    (``"raise"``).  ``narrow``: keep only the low ``narrow`` bits of n-gram keys (collisions)."""
    delay: float = 0.0
    fault: tuple | None = None
    narrow: int = 0

    @classmethod
    def from_env(cls) -> "Hooks":
        """Hooks from ``CORPUS_ENGINE_DIST_HOOKS`` (JSON of the fields; tests of the command
        line use it), else none."""
        import json
        spec = os.environ.get("CORPUS_ENGINE_DIST_HOOKS")
        if not spec:
            return cls()
        d = json.loads(spec)
        return cls(float(d.get("delay", 0)), tuple(d["fault"]) if d.get("fault") else None, int(d.get("narrow", 0)))

    def apply(self, phase: str, index: int) -> None:
        if self.delay:
            time.sleep(random.random() * self.delay)
        if self.fault is None or tuple(self.fault[:2]) != (phase, index):
            return
        _, _, marker, mode = self.fault
        if mode == "raise":
            raise RuntimeError(f"injected failure in {phase} task {index}")
        if mode == "kill" or not os.path.exists(marker):
            if marker:
                open(marker, "w").close()
            os._exit(1)


@dataclass
class Scheduler:
    """What ``scheduler=`` accepts besides a string or a Client: the target and options.

    Parameters
    ----------
    target : ``local``, ``local:N``, ``tcp://HOST:PORT``, a scheduler file or a Client.
    partition_bytes : on-disk bytes a partition (default: the corpus over twice the
        workers, within 32 MB - 1 GB).  ``1``: one document a partition where formats allow.
    partitions : aim at this many partitions instead (``partition_bytes`` from it).
    buckets : reducers of the shuffle (default: one a worker).
    hooks : test hooks (:class:`Hooks`).
    """
    target: object = "local"
    partition_bytes: int | None = None
    partitions: int | None = None
    buckets: int | None = None
    hooks: Hooks = field(default_factory=Hooks.from_env)

    def sizing(self, total_bytes: int, workers: int) -> tuple[int, int]:
        """(partition_bytes, buckets) for a corpus of ``total_bytes`` on ``workers``."""
        if self.partition_bytes is not None:
            pb = self.partition_bytes
        elif self.partitions is not None:
            pb = -(-max(total_bytes, 1) // max(self.partitions, 1))
        else:
            pb = min(max(total_bytes // max(2 * workers, 1), MIN_PARTITION_BYTES), MAX_PARTITION_BYTES)
        return max(int(pb), 1), max(int(self.buckets or workers), 1)


@dataclass
class Meta:
    """What a map task reports beside its pieces: its stats, its reader's stats, the bytes of
    its pieces, or the corpus error that stopped it (``--strict``)."""
    stats: JobStats | None = None
    read: object = None
    piece_bytes: int = 0
    error: str | None = None
    ids: tuple | None = None   # (stable id hashes, their locations): engine.dist.ids


def task(hooks: Hooks, phase: str, index: int, fn, *args):
    """Run ``fn(*args)`` as the task ``phase``/``index`` (hooks first)."""
    hooks.apply(phase, index)
    return fn(*args)


def map_task(hooks: Hooks, phase: str, index: int, fn, spec, options, *args):
    """A map task: ``fn(reader, *args) -> (stats, pieces)`` on the partition ``spec``; the
    corpus error of a ``--strict`` run (or a file the reader refuses) is reported, not
    raised, so that the client names the earliest one in corpus order."""
    from engine.dist.plan import read_partition
    hooks.apply(phase, index)
    from engine.dist.ids import logged_ids
    _arrow_threads()
    reader = read_partition(spec, options)
    reader.id_log = []
    try:
        stats, pieces = fn(reader, *args)
    except CorpusError as e:
        return (Meta(None, reader.stats, 0, str(e)),)
    return (Meta(stats, reader.stats, sum(_nbytes(p) for p in pieces), ids=logged_ids(reader.id_log)), *pieces)


def _arrow_threads() -> None:
    """Arrow's thread pool sized like numba's: a Dask nanny starts its worker with
    ``OMP_NUM_THREADS=1``, which Arrow takes for the core count (its JSON parser would run
    on one thread, 4-5x slower)."""
    import numba
    import pyarrow as pa
    n = max(int(numba.config.NUMBA_NUM_THREADS), 1)
    if pa.cpu_count() != n:
        pa.set_cpu_count(n)


def _nbytes(obj) -> int:
    """Bytes of the numpy arrays held by ``obj`` (a partial or a tuple of arrays)."""
    import numpy as np
    if isinstance(obj, np.ndarray):
        return obj.nbytes
    if isinstance(obj, (tuple, list)):
        return sum(_nbytes(x) for x in obj)
    if hasattr(obj, "__dict__"):
        return sum(_nbytes(v) for v in vars(obj).values())
    return 0


def _pick(values, k: int):
    return values[k]


class DistRun:
    """The futures of one job on ``client``: keys ``JOB-PHASE-INDEX-TOKEN``, figures kept."""

    def __init__(self, client, job: str, hooks: Hooks):
        self.client, self.job, self.hooks = client, job, hooks
        self.token = uuid.uuid4().hex[:10]
        self.tasks = 0
        self.shuffle_bytes = 0
        self.gather_bytes = 0
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def key(self, phase: str, index) -> str:
        return f"{self.job}-{phase}-{index}-{self.token}"

    def submit(self, phase: str, index, fn, *args):
        self.tasks += 1
        return self.client.submit(task, self.hooks, phase, index, fn, *args,
                                  key=self.key(phase, index), pure=False)

    def submit_map(self, phase: str, spec, fn, options, *args, workers=None):
        """The map task of ``spec``; ``workers``: where to run it preferably."""
        self.tasks += 1
        return self.client.submit(map_task, self.hooks, phase, spec.index, fn, spec, options, *args,
                                  key=self.key(phase, spec.index), pure=False, workers=workers,
                                  allow_other_workers=workers is not None)

    def pieces(self, phase: str, fut, index: int, count: int) -> list:
        """Futures of items ``1..count`` of map output ``fut`` (item 0 is its Meta), each a
        task on the map's worker, so that a reducer fetches only its own piece."""
        self.tasks += count
        return [self.client.submit(_pick, fut, k + 1, key=self.key(f"{phase}-piece{k}", index), pure=False)
                for k in range(count)]

    def metas(self, phase: str, futs: list, progress=None) -> list[Meta]:
        """The Meta of each map output, in partition order; ``progress(k)`` as each ends.
        The earliest corpus error (``--strict``) is raised as one reader would raise it."""
        from distributed import as_completed
        index = {f.key: k for k, f in enumerate(futs)}
        metas = [self.client.submit(_pick, f, 0, key=self.key(f"{phase}-meta", k), pure=False)
                 for k, f in enumerate(futs)]
        self.tasks += len(metas)
        if progress is not None:
            by_meta = {m.key: index[f.key] for m, f in zip(metas, futs)}
            for m in as_completed(metas):
                if m.status == "finished":
                    progress(by_meta[m.key])
        out = self.gather(metas)
        for m in out:
            if m.error is not None:
                raise CorpusError(m.error)
        self.shuffle_bytes += sum(m.piece_bytes for m in out)
        return out

    def gather(self, futs):
        """Results of ``futs``; a task that kept killing its workers, or that raised, is a
        :class:`DistError` (the futures of the run are released)."""
        from distributed.scheduler import KilledWorker
        try:
            return self.client.gather(futs)
        except KilledWorker as e:
            raise DistError(f"a task kept killing its workers ({_killed_key(e)}); "
                            "no output was written") from None
        except (CorpusError, KeyboardInterrupt, MemoryError):
            raise
        except Exception as e:   # the task's own exception, re-raised here by Dask
            msg = " ".join(str(e).split()) or type(e).__name__
            raise DistError(f"a task failed: {type(e).__name__}: {msg[:300]}; no output was written") from None

    def phase(self, name: str) -> None:
        """Close the client-side phase ``name`` (seconds since the last phase ended)."""
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._t
        self._t = now

    def figures(self, partitions: int, buckets: int) -> dict:
        """The run's figures as counters of the result's JobStats."""
        out = {"dist_workers": len(self.client.scheduler_info(n_workers=-1).get("workers", {})),
               "dist_partitions": partitions, "dist_buckets": buckets, "dist_tasks": self.tasks,
               "dist_shuffle_bytes": int(self.shuffle_bytes), "dist_gather_bytes": int(self.gather_bytes)}
        out.update({f"dist_seconds_{k}": round(v, 6) for k, v in self.seconds.items()})
        try:
            rss = self.client.run(_peak_rss)
            out["dist_peak_rss_bytes"] = max(rss.values()) if rss else 0
        except Exception:   # a worker gone at the very end: the figure is only informative
            pass
        return out


def _peak_rss() -> int:
    """The worker's peak resident memory: VmHWM (per address space; ``ru_maxrss`` would
    carry over the peak of the process that spawned it, Linux keeps it across exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _killed_key(e) -> str:
    key = getattr(e, "task", None) or (e.args[0] if e.args else "")
    return f"task {key}" if key else "KilledWorker"
