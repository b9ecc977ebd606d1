"""``corpus bench``: the benchmark suite (bench/run.py) from the ``corpus`` command.

The harness lives in the repository's ``bench/`` folder and is not packaged: it
generates its corpora from the seeds and the Python documentation, runs each
measurement as ``python -m bench.common`` with the checkout on ``PYTHONPATH``, and
writes its results into ``bench/results``.  So the command works from a source
checkout (``pip install -e .`` or the Makefile's .venv).  In a plain install it is
still listed, so that ``corpus --help`` reads the same as the README everywhere,
and it exits 1 with one line saying it needs a source checkout (rather than
typer's "No such command", which would leave the user guessing).
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from engine.cli import common as cc

__all__ = ["register", "load_bench_run", "bench_argv"]

# the checkout holding engine/ (the harness is looked for there; an install has none)
REPO = Path(__file__).resolve().parents[2]


def load_bench_run():
    """The harness ``bench.run`` of the checkout ``engine`` was imported from.

    Returns
    -------
    module or None
        None in a plain install: ``engine/`` then sits in site-packages with no
        ``bench/`` beside it.  Only that folder is looked at, never whatever else
        ``import bench`` might find on ``sys.path`` (another distribution's module).
    """
    if not (REPO / "bench" / "run.py").is_file():
        return None
    if str(REPO) not in sys.path:  # an editable install maps engine/ only, not the checkout
        sys.path.insert(0, str(REPO))
    return importlib.import_module("bench.run")


def bench_argv(jobs=None, devices=None, peers=None, sizes=None, lang=None, repeat=None, seed=None,
               quick=False, timeout=None, output_dir=None) -> list[str]:
    """The ``python -m bench.run`` arguments for these options (None: the harness default)."""
    argv: list[str] = []
    for flag, v in (("--jobs", jobs), ("--devices", devices), ("--peers", peers), ("--sizes", sizes),
                    ("--lang", lang), ("--repeat", repeat), ("--seed", seed), ("--timeout", timeout),
                    ("--output-dir", output_dir)):
        if v is not None:
            argv += [flag, str(v)]
    if quick:
        argv.append("--quick")
    return argv


def register(app) -> None:
    @app.command()
    def bench(
        jobs: Annotated[Optional[str], typer.Option(
            "--jobs", help="Comma-separated jobs: ngrams,minhash,cooc (default all).")] = None,
        devices: Annotated[Optional[str], typer.Option(
            "--devices", help="corpus-engine devices: cpu,gpu (default both; an absent GPU is reported as absent).")] = None,
        peers: Annotated[Optional[str], typer.Option(
            "--peers", help="Peer tools to run, e.g. sklearn,counter,datasketch,rensa,scipy (default all).")] = None,
        sizes: Annotated[Optional[str], typer.Option(
            "--sizes", help="Corpus sizes, e.g. 10MB,100MB,1GB (MB = 10^6 bytes; default 10MB,50MB, quick 1MB).")] = None,
        lang: Annotated[Optional[str], typer.Option("--lang", help="Corpus languages: fr,en.")] = None,
        repeat: Annotated[Optional[int], typer.Option(
            "--repeat", help="Timed runs per measurement (default 3; quick 1).")] = None,
        seed: Annotated[Optional[int], typer.Option("--seed", help="Corpus generator seed (default 0).")] = None,
        quick: Annotated[bool, typer.Option(
            "--quick", help="Small corpora, one repeat, capped peers (under two minutes).")] = False,
        timeout: Annotated[Optional[float], typer.Option(
            "--timeout", help="Seconds per measurement (default 1800; quick 60).")] = None,
        output_dir: Annotated[Optional[Path], typer.Option(
            "--output-dir", help="Folder for results.json, results.md and the PNG charts "
                                 "(default bench/results, or bench/results/tmp with --quick).")] = None,
    ) -> None:
        """Benchmark every job on every device and peer tool, on the same generated corpora.

        Each measurement runs in its own process (JIT warm-up timed apart); writes
        results.json, results.md, throughput.png and scaling.png.  Needs a source
        checkout (the harness in bench/ is not part of a plain install)."""
        run = load_bench_run()
        if run is None:
            cc.fail("corpus bench needs the bench/ folder of a source checkout of corpus-engine "
                    f"(not found beside {REPO / 'engine'}): this install has no benchmark harness; "
                    "clone the repository and install it with `pip install -e '.[bench]'`", 1)
        argv = bench_argv(jobs, devices, peers, sizes, lang, repeat, seed, quick, timeout, output_dir)
        try:
            rc = run.main(argv)
        except SystemExit as e:  # argparse: bad values (code 2), already explained on stderr
            code = e.code if isinstance(e.code, int) else 2
            raise typer.Exit(code) from None
        except KeyboardInterrupt:
            cc.fail("interrupted", 130)
        if rc:
            raise typer.Exit(rc)
        out = Path(output_dir) if output_dir else REPO / "bench" / ("results/tmp" if quick else "results")
        cc.out_console.print(f"results: {out.resolve() / 'results.md'}", soft_wrap=True)
        cc.out_console.print(f"         {out.resolve() / 'results.json'}", soft_wrap=True)
        for name in ("throughput.png", "scaling.png"):
            if (out / name).exists():
                cc.out_console.print(f"chart:   {out.resolve() / name}", soft_wrap=True)
