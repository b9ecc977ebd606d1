"""Pieces every ``corpus`` command shares: input options, progress, errors, skip reports.

Commands declare the shared options with the ``Annotated`` aliases below, then::

    with job(quiet) as ctx:                      # errors -> one red line, exit 1/2
        reader = ctx.reader(paths, text_field, id_field, encoding, strict)
        backend = ctx.backend(device)
        ...                                      # iterate reader for batches
        ctx.report(reader)                       # skip counts and locations, stderr
"""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Iterator, List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from engine.errors import ParameterError

# Start-up: `corpus --help` and every command import this module, so it imports no numpy,
# pyarrow or job module; what a command needs is imported when it runs (engine.corpus,
# engine.backend, engine.output, engine.text below, the job's package in its body).

# soft_wrap: an error or skip line stays one line whatever the terminal width
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False)
#: where a command's console sections go under --quiet when a file holds its result
silent_console = Console(quiet=True)


# --- shared options -----------------------------------------------------------------------
Paths = Annotated[Optional[List[Path]], typer.Argument(
    help="Input files or folders: folders (recursive *.txt, *.md), text files, "
         "JSONL (.jsonl, .jsonl.gz, .jsonl.zst), Parquet. Several may be given.",
    show_default=False)]
TextField = Annotated[str, typer.Option("--text-field", help="JSONL key / Parquet column holding the text.")]
IdField = Annotated[str, typer.Option("--id-field", help="JSONL key / Parquet column holding the id (else FILE:LINE).")]
Encoding = Annotated[str, typer.Option("--encoding", help="Text encoding: a Python codec name, or 'auto' "
                                        "(UTF-8 when valid, else detected per file).")]
Strict = Annotated[bool, typer.Option("--strict", help="Stop at the first bad document instead of skipping and counting it.")]
Stopwords = Annotated[Optional[str], typer.Option(
    "--stopwords", help="Comma-separated stop-word lists to drop: language codes (fr,en,...) and/or files (one word a line).")]
StripAccents = Annotated[bool, typer.Option("--strip-accents", help="Drop accents (combining marks) after normalisation.")]
MinTokenLen = Annotated[int, typer.Option("--min-token-len", help="Drop tokens shorter than this many characters.")]
Device = Annotated[str, typer.Option("--device", help="auto (GPU if usable), cpu, or gpu.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar, timing, summary or 'wrote' lines; the result on the console only when no file holds it (errors and skipped inputs are still reported).")]
Output = Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the result here; format from the extension.")]
StatsPath = Annotated[Optional[Path], typer.Option(
    "--stats", help="Also write the run's statistics here (JSON: documents, tokens, bytes, skips with "
                    "their first locations, seconds per stage, backend, host/device copies).")]
STATS_FORMATS = (".json",)
Scheduler = Annotated[Optional[str], typer.Option(
    "--scheduler", help="Run on a Dask cluster: local or local:N (an embedded cluster of N worker "
                        "processes; one worker a GPU with --device gpu), tcp://HOST:PORT or a scheduler "
                        "file (an existing cluster). Default: this process. Same output either way.")]

# library parameter names whose flag is not "--" + the name with dashes
FLAGS = {"n": "--n"}


class JobContext:
    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.progress = None
        self.task = None

    def reader(self, paths, text_field="text", id_field="id", encoding="utf-8", strict=False,
               batch_bytes=None):
        """The command's :class:`engine.corpus.CorpusReader`, with a progress bar on a terminal."""
        from engine.corpus import CorpusReader
        from engine.resources import seeds_dir
        paths = list(paths) if paths else [seeds_dir()]   # no path: the bundled sample corpus
        kwargs = {} if batch_bytes is None else {"batch_bytes": batch_bytes}
        reader = CorpusReader(paths, text_field=text_field, id_field=id_field, encoding=encoding,
                              strict=strict, progress=self._advance, **kwargs)
        if not self.quiet and err_console.is_terminal and self.progress is None:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )
            self.progress = Progress(TextColumn("[bold]reading"), BarColumn(), DownloadColumn(),
                                     TransferSpeedColumn(), TimeRemainingColumn(),
                                     console=err_console, transient=True)
            self.progress.start()
            self.task = self.progress.add_task("read", total=reader.total_bytes)
        return reader

    def _advance(self, n: int) -> None:
        if self.progress is not None:
            self.progress.advance(self.task, n)

    def backend(self, device: str):
        from engine.backend import get_backend
        return get_backend(device)

    def stop_progress(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def report(self, reader) -> None:
        """Skip counts and first locations on stderr (always when something was skipped)."""
        self.stop_progress()
        for line in reader.stats.summary_lines():
            err_console.print(f"[yellow]{escape(line)}[/yellow]")


def text_options(stopwords, strip_accents: bool, min_token_len: int):
    """engine.text.text_options, imported when a command runs (start-up)."""
    from engine.text import text_options as make
    return make(stopwords, strip_accents, min_token_len)


#: rows the console shows when the result also goes to a file (the file has them all)
PREVIEW_ROWS = 20


def console_rows(output, quiet: bool, default: int) -> int:
    """Rows of the result to print: ``default`` without ``--output``; with it at most
    PREVIEW_ROWS, and none with ``--quiet`` (the file is the result, the console a glance)."""
    if output is None:
        return default
    return 0 if quiet else min(default, PREVIEW_ROWS)


def print_rows(table, title: str, output, rows: int) -> None:
    """The first ``rows`` rows of ``table`` on stdout; what is left is in ``output`` (or not shown)."""
    from engine.output import print_table
    if output is None:
        print_table(table, title=title, console=out_console, max_rows=rows)
        return
    print_table(table.slice(0, rows), title=title, console=out_console, max_rows=rows)
    if table.num_rows > rows:
        out_console.print(f"[dim]... {table.num_rows - rows} more rows in {escape(str(output))}[/dim]")


def fail(msg: str, code: int = 1):
    # messages carry file names: escape them so "[bold]x.jsonl" is printed as it is
    err_console.print(f"[red]error:[/red] {escape(msg)}")
    raise typer.Exit(code)


@contextlib.contextmanager
def job(quiet: bool = False) -> Iterator[JobContext]:
    """Run a command body: known errors become one line on stderr and an exit code."""
    from engine.backend import BackendUnavailable
    from engine.corpus import CorpusError
    from engine.output import OutputError
    ctx = JobContext(quiet)
    try:
        yield ctx
    except (CorpusError, BackendUnavailable, OutputError) as e:
        ctx.stop_progress()
        fail(str(e), 1)
    except ParameterError as e:   # the library names its parameter; the user typed a flag
        ctx.stop_progress()
        fail(e.for_flag(FLAGS.get(e.param)), 2)
    except KeyboardInterrupt:
        ctx.stop_progress()
        fail("interrupted (no partial output was written)", 130)
    except MemoryError:
        ctx.stop_progress()
        fail("out of memory: lower --memory or the batch size", 1)
    except OSError as e:   # disk full, I/O error while writing: the output plan removed its temps
        ctx.stop_progress()
        where = f"{e.filename}: " if e.filename else ""
        fail(f"{where}{e.strerror or e} (no partial output was written)", 1)
    finally:
        ctx.stop_progress()
