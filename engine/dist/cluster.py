"""Where a distributed run runs: an embedded cluster, an existing one, or a given Client.

``scheduler`` is one of

- ``"local"`` / ``"local:N"``: an embedded ``LocalCluster`` of N worker processes (default:
  the machine's cores), one thread each, ``NUMBA_NUM_THREADS = cores // N``, started and
  closed here; with a GPU backend, dask-cuda's ``LocalCUDACluster`` (one worker per GPU);
- ``"tcp://HOST:PORT"`` (or ``tls://``...): an existing scheduler;
- a path to a scheduler file (``dask scheduler --scheduler-file``);
- a ``distributed.Client``, used as it is and left open.

On connect every worker must run the client's Python minor version, Unicode version, numba
and numpy: the tokenizer's tables come from the running interpreter, so a different Python
could tokenise differently.  A mismatch is one :class:`DistError` line.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from pathlib import Path
from typing import Iterator

from engine.corpus import CorpusError
from engine.errors import ParameterError

__all__ = ["DistError", "connect", "environment", "parse_scheduler"]

_LOCAL = re.compile(r"^local(?::(\d+))?$")
RETAIN_BYTES = 2**31 - 1   # glibc trim threshold of embedded workers (engine.memory's)


class DistError(CorpusError):
    """A distributed run that cannot go on (a worker mismatch, a task that keeps killing its
    workers, a crashed task): one line, exit 1.  A :class:`CorpusError` so that every command
    already reports it as one."""


def parse_scheduler(scheduler) -> tuple[str, object]:
    """(``local``, N or None) | (``address``, str) | (``file``, Path) | (``client``, Client)."""
    if not isinstance(scheduler, (str, os.PathLike)):
        from distributed import Client
        if isinstance(scheduler, Client):
            return "client", scheduler
        raise ParameterError(f"scheduler must be 'local', 'local:N', tcp://HOST:PORT, a scheduler "
                             f"file or a distributed.Client, got {type(scheduler).__name__}", "scheduler")
    text = str(scheduler).strip()
    m = _LOCAL.match(text)
    if m:
        n = int(m.group(1)) if m.group(1) else None
        if n is not None and not 1 <= n <= 1024:
            raise ParameterError(f"scheduler: local:N needs 1 <= N <= 1024, got {n}", "scheduler")
        return "local", n
    if "://" in text:
        return "address", text
    if Path(text).is_file():
        return "file", Path(text)
    raise ParameterError(f"scheduler must be 'local', 'local:N', tcp://HOST:PORT or an existing "
                         f"scheduler file, got {text!r}", "scheduler")


def environment() -> tuple:
    """What the tokenizer's results depend on: (Python minor, Unicode, numba, numpy)."""
    import platform
    import unicodedata

    import numba
    import numpy
    return (".".join(platform.python_version_tuple()[:2]), unicodedata.unidata_version,
            numba.__version__, numpy.__version__)


def _worker_environment() -> tuple:
    """:func:`environment` as a worker sees it (pickled by name: the worker's own module)."""
    from engine.dist import cluster
    return cluster.environment()


def check_workers(client) -> None:
    """A :class:`DistError` naming the first worker whose :func:`environment` differs."""
    mine = environment()
    names = ("python", "unicode", "numba", "numpy")
    for worker, theirs in sorted(client.run(_worker_environment).items()):
        theirs = tuple(theirs)
        if theirs != mine:
            diff = [f"{n} {a} (worker) vs {b} (client)" for n, a, b in zip(names, theirs, mine) if a != b]
            raise DistError(f"worker {worker} differs from this process: {', '.join(diff)}; "
                            "workers must run the same Python, Unicode, numba and numpy")


def _local_cluster(n: int | None, gpu: bool):
    cores = os.cpu_count() or 1
    if gpu:
        try:
            from dask_cuda import LocalCUDACluster
        except ImportError:
            raise DistError("scheduler local with a GPU needs dask-cuda (pip install dask-cuda)") from None
        return LocalCUDACluster(dashboard_address=None, threads_per_worker=1)
    import dask
    from distributed import LocalCluster
    n = n or cores
    threads = max(cores // n, 1)
    # workers start by spawn with the client's environment; each gets its share of the cores
    # for numba's threads.  Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536,
    # which gives every freed buffer back to the system: each batch then faults its pages in
    # again (measured: reading 100 MB of JSONL 0.3 s -> 1.6 s, a MinHash map 3x slower).  The
    # workers keep freed memory up to 2 GB instead (engine.memory's threshold, without its
    # mmap switch, so that Dask's memory monitor still sees big arrays go).
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": RETAIN_BYTES}):
        return LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                            env={"NUMBA_NUM_THREADS": str(threads)}, silence_logs=logging.CRITICAL)


@contextlib.contextmanager
def connect(scheduler, gpu: bool = False) -> Iterator:
    """A connected ``distributed.Client`` for ``scheduler`` (module docstring); an embedded
    cluster is closed on the way out, Ctrl-C included."""
    kind, value = parse_scheduler(scheduler)
    if kind == "client":
        check_workers(value)
        yield value
        return
    from distributed import Client
    cluster = None
    try:
        if kind == "local":
            before = dict(os.environ)
            with warnings.catch_warnings():
                # the scheduler's HTTP routes move to a free port when 8787 is taken: no news
                warnings.filterwarnings("ignore", message="Port .* is already in use")
                cluster = _local_cluster(value, gpu)
            # the nannies set OMP_NUM_THREADS=1 (which Arrow obeys) and a malloc trim threshold
            # for their workers in this process's environment too: give this process its own back
            for k in set(os.environ) - set(before):
                del os.environ[k]
            os.environ.update(before)
            client = Client(cluster)
        elif kind == "address":
            client = Client(value, timeout="10s")
        else:
            client = Client(scheduler_file=str(value), timeout="10s")
    except (OSError, TimeoutError) as e:
        if cluster is not None:
            cluster.close()
        raise DistError(f"cannot reach the scheduler {scheduler}: {e}") from None
    try:
        if kind != "local":
            client.wait_for_workers(1, timeout=60)
        check_workers(client)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
