"""``corpus analyze``: the main job and its HTML report.

The command line only: options, messages, outputs; the work is in ``engine.analyze``.
"""
from __future__ import annotations

# typer evaluates the annotations (strings under ``from __future__ import annotations``)
# in this module's globals, so the names they use are imported at module level.
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from engine.cli import common as cc


def _command_line() -> str:
    """The command as typed, when run as the ``corpus`` script (not under a test runner)."""
    import shlex
    if Path(sys.argv[0]).name != "corpus":
        return ""
    return "corpus " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _warn(message: str) -> None:
    """A section that failed: one yellow line on stderr (the analysis goes on)."""
    cc.err_console.print(f"[yellow]{escape(message)}[/yellow]")


#: on a cold JIT cache a worker (engine.warmup) compiles the kernels of the analysis from its
#: recorded plan (engine/warmup_plans/analyze.json, seeds/), the last one called first, while
#: the command compiles from the first.  (Not the MinHash job's verification kernels, which a
#: corpus of more than a few documents reaches: a unit a warm command never completes would
#: start a worker at every run.)
ANALYZE_PREFETCH = ("analyze",)


def register(app) -> None:
    @app.command()
    def analyze(
        paths: cc.Paths = None,
        top: Annotated[int, typer.Option("--top", help="Rows per n-gram order.")] = 10,
        n: Annotated[str, typer.Option("--n", help="n-gram orders, e.g. 1-3.")] = "1-3",
        memory: Annotated[Optional[str], typer.Option("--memory", help="Bound on the n-gram counting tables and the co-occurrence token cache together, e.g. 2GB (a quarter to the cache); past it they spill to disk (default: as the single commands).")] = None,
        stopwords: cc.Stopwords = "fr,en",
        device: cc.Device = "auto",
        text_field: cc.TextField = "text",
        id_field: cc.IdField = "id",
        encoding: cc.Encoding = "utf-8",
        strict: cc.Strict = False,
        quiet: cc.Quiet = False,
        report: Annotated[Path, typer.Option(
            "--report", help="Write the HTML report here (one self-contained file).")] = Path("report.html"),
        no_report: Annotated[bool, typer.Option("--no-report", help="Console output only.")] = False,
        plots: Annotated[Optional[Path], typer.Option(
            "--plots", help="Also write the report's plots as PNG files into this folder.")] = None,
        stats: cc.StatsPath = None,
        scheduler: cc.Scheduler = None,
    ) -> None:
        """The main job on a corpus (default: the bundled seeds/): top n-grams per n with
        French and English stop words removed, near-duplicates and co-occurrence sections,
        and an HTML report with plots (report.html in the current folder unless --report).

        One streaming pass: the corpus is read once and each batch tokenised once for every
        section (memory as the single commands': the n-gram counts, the MinHash texts kept
        for verification, the co-occurrence token cache; --memory bounds the n-gram tables
        and the token cache together, which spill to disk past it).
        --stats writes the run's statistics (JSON, seconds per section)."""
        from engine.analyze import analyze_corpus, memory_split
        from engine.ngrams import parse_n
        from engine.output import plan_outputs, run_inputs
        from engine.report import report_targets, write_report
        from engine.resources import seeds_dir
        from engine.warmup import prefetch

        with cc.job(quiet) as ctx:
            memory_split(memory)   # a bad --memory: one line before any work
            # the reader first (expanding the paths reads nothing): the outputs are checked
            # against its files before any work
            reader = ctx.reader(paths, text_field, id_field, encoding, strict)
            lo, hi = parse_n(n)
            targets = [] if no_report else report_targets(report, plots, range(lo, hi + 1))
            plan = plan_outputs({"--stats": stats}, run_inputs(reader, stopwords=stopwords),
                                formats={"--stats": cc.STATS_FORMATS}, extra=targets)
            # first run after install: a worker compiles the later sections' kernels meanwhile
            with plan, prefetch(() if scheduler else ANALYZE_PREFETCH, stopwords, device):
                data = analyze_corpus(reader, top=top, n=n, stopwords=stopwords, device=device,
                                      text_field=text_field, id_field=id_field, encoding=encoding,
                                      strict=strict, on_read=ctx.report, warn=_warn,
                                      console=cc.silent_console if quiet and not no_report else cc.out_console,
                                      command=_command_line(),
                                      inputs=[str(p) for p in (paths or [seeds_dir()])],
                                      scheduler=scheduler, memory=memory)
                if stats is not None:
                    plan.write_text("--stats", data.stats.to_json())
                if no_report:
                    if plots is not None:
                        cc.err_console.print("[yellow]--plots ignored with --no-report[/yellow]")
                    plan.commit()
                    return
                path, pngs = write_report(data, report, plots, plan=plan)
                plan.commit()
            if quiet:
                return
            cc.out_console.print(f"report: {path.resolve()}", soft_wrap=True)
            if pngs:
                cc.out_console.print(f"plots: {len(pngs)} PNG files in {Path(plots).resolve()}",
                                     soft_wrap=True)
