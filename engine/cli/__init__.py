"""The ``corpus`` command line (typer).

Exit codes: 0 ok, 1 failure (bad input, missing GPU, unwritable output), 2 bad usage.
Each command lives in its own module of this package (``engine.cli.ngrams``...), which
adds it to the app (``register(app)``); only this package imports typer and console code.
"""
from __future__ import annotations

import gc
import importlib
import importlib.abc
import os
import sys

import typer

from engine.cli import coercion
from engine.cli.common import out_console

coercion.install()   # plain options without pydantic (0.08-0.1 s of every command)

app = typer.Typer(
    name="corpus",
    help="GPU-accelerated text-corpus analytics: n-grams, MinHash near-duplicates, "
         "term co-occurrence. Runs on the CPU (numba) when no GPU is usable.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _start(gpu_memory: str = typer.Option(
        None, "--gpu-memory", help="Device memory the GPU path may plan for (e.g. 8GB; default: half "
                                   "the free memory). Past it, n-gram tables move to the host.")) -> None:
    # a batch job: keep freed memory for the next batch instead of faulting in fresh pages
    from engine.memory import retain_freed_memory
    retain_freed_memory()
    if gpu_memory is not None:
        from engine.backend import set_gpu_memory
        from engine.cli.common import fail
        from engine.errors import ParameterError
        try:
            set_gpu_memory(gpu_memory)
        except ParameterError as e:
            fail(e.for_flag("--gpu-memory"), 2)


@app.command()
def info() -> None:
    """Versions, available backends, GPU name and memory, numba threading."""
    import platform

    import numba
    import numpy
    import pyarrow

    import engine
    from engine.backend import gpu_status, simulator_enabled
    from engine.normalize import get_tables

    ok, why = gpu_status()
    lines = [
        ("corpus-engine", engine.__version__),
        ("python", platform.python_version()),
        ("numpy", numpy.__version__),
        ("numba", numba.__version__),
        ("pyarrow", pyarrow.__version__),
        ("unicode (tables)", get_tables().unicode_version),
        ("backends", "cpu" + (", gpu" if ok else "")),
        ("gpu", why if ok else f"not usable: {why}"),
        ("cuda simulator", "on" if simulator_enabled() else "off"),
        ("numba threads", str(numba.get_num_threads())),
        ("numba threading layer", _threading_layer()),
    ]
    for mod in ("cupy", "cudf", "numba_cuda"):
        try:
            m = importlib.import_module(mod)
            lines.append((mod, getattr(m, "__version__", "installed")))
        except Exception:
            lines.append((mod, "not installed"))
    from rich.table import Table
    t = Table(show_header=False)
    for k, v in lines:
        t.add_row(k, v)
    out_console.print(t)


def _threading_layer() -> str:
    import numba
    import numpy as np
    from numba import njit, prange

    @njit(parallel=True)
    def _touch(a):
        for i in prange(a.size):
            a[i] += 1
    try:
        _touch(np.zeros(4))
        return numba.threading_layer()
    except Exception as e:  # pragma: no cover - depends on the install
        return f"unavailable ({e})"


# one module a command (or a pair of related commands), each adding itself to the app
for _mod in ("ngrams", "minhash", "cooc", "analyze", "bench"):
    importlib.import_module(f"engine.cli.{_mod}").register(app)


def main() -> None:
    """The ``corpus`` script: :func:`tune_process`, then the command."""
    tune_process()
    try:
        app()
    finally:
        # Everything alive now lives until the exit: the interpreter's last collections
        # need not walk it (numba's and typer's ~150,000 objects: 0.1-0.3 s of every run).
        gc.freeze()


#: garbage-collector thresholds of the ``corpus`` process (Python's default: 700, 10, 10)
GC_THRESHOLDS = (10_000, 10, 10)


def tune_process() -> None:
    """Settings of a short batch process, applied before numpy or numba is imported.

    * A single OpenBLAS thread (unless ``OPENBLAS_NUM_THREADS`` is set): no job calls
      BLAS on more than a few numbers, yet numpy and scipy (which numba imports) each
      start a pool of BLAS threads, which cost CPU at start-up and at exit.
    * Rarer garbage collections: importing numba, llvmlite, pyarrow and typer creates
      ~150,000 objects that all live until the exit, and the default thresholds walk
      them again and again (about 300 collections, 0.1 s, before the first batch).
      Per batch a job allocates a few large arrays, not many small objects.
    * numba's BLAS probe skipped (:class:`_SkipNumbaBlasProbe`): 0.08-0.1 s of every command.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    gc.set_threshold(*GC_THRESHOLDS)
    if os.environ.get("CORPUS_ENGINE_NUMBA_BLAS_PROBE", "0") != "1" and "scipy" not in sys.modules:
        sys.meta_path.insert(0, _SkipNumbaBlasProbe())


class _SkipNumbaBlasProbe(importlib.abc.MetaPathFinder):
    """Refuse ``scipy`` to the one probe numba runs when it loads its array functions.

    ``numba.np.arraymath`` imports ``scipy.linalg.cython_blas`` at import time (``_check_blas``)
    only to decide whether ``np.convolve``/``np.correlate`` may call BLAS; importing
    scipy.linalg (and, through it, numpy.f2py and numpy.testing) is 0.08-0.1 s of every
    command, and no kernel uses those functions.  The probe then reads "no BLAS"; every
    other import of scipy (numba's linear algebra compiles ``ensure_blas`` again, the
    engine's own uses) is untouched, and the finder removes itself after the probe.
    ``CORPUS_ENGINE_NUMBA_BLAS_PROBE=1`` keeps numba's probe.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "scipy" and not name.startswith("scipy."):
            return None
        if "numba.np.arraymath" in sys.modules and hasattr(sys.modules["numba.np.arraymath"], "_HAVE_BLAS"):
            self._remove()           # the probe has run: nothing more to refuse
            return None
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_name == "_check_blas" and frame.f_globals.get("__name__") == "numba.np.arraymath":
                self._remove()
                raise ImportError("scipy not imported for numba's BLAS probe (corpus start-up)")
            frame = frame.f_back
        return None

    def _remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)


if __name__ == "__main__":
    main()
