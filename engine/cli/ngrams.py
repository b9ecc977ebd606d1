"""``corpus ngrams``: word and character n-gram counts.

The command line only: options, messages, outputs; the work is in ``engine.ngrams``.
"""
from __future__ import annotations

# typer evaluates the annotations (strings under ``from __future__ import annotations``)
# in this module's globals, so the names they use are imported at module level.
from typing import Annotated, Optional

import typer

from engine.cli import common as cc


def register(app) -> None:
    @app.command()
    def ngrams(
        paths: cc.Paths = None,
        n: Annotated[str, typer.Option("--n", help="n or a range low-high, e.g. 1-3.")] = "1",
        char: Annotated[bool, typer.Option("--char", help="Character n-grams of the normalised text instead of word n-grams.")] = False,
        top: Annotated[Optional[int], typer.Option("--top", help="Keep the K most frequent per n.")] = None,
        min_count: Annotated[int, typer.Option("--min-count", help="Drop n-grams seen fewer times.")] = 1,
        memory: Annotated[Optional[str], typer.Option("--memory", help="Bound on counting tables, e.g. 2GB; past it counts spill to disk (default: a quarter of RAM).")] = None,
        stopwords: cc.Stopwords = None,
        strip_accents: cc.StripAccents = False,
        min_token_len: cc.MinTokenLen = 1,
        device: cc.Device = "auto",
        output: cc.Output = None,
        stats: cc.StatsPath = None,
        text_field: cc.TextField = "text",
        id_field: cc.IdField = "id",
        encoding: cc.Encoding = "utf-8",
        strict: cc.Strict = False,
        quiet: cc.Quiet = False,
        scheduler: cc.Scheduler = None,
    ) -> None:
        """Count word or character n-grams: occurrences (count) and documents (doc_freq).

        Without --output, prints a table (top 50 rows); with it, at most 20 (none with --quiet). Output columns: ngram, n, count, doc_freq,
        ordered by count descending then ngram. Formats: .parquet, .csv, .jsonl.
        --stats writes the run's statistics (JSON).
        With no PATH, runs on the bundled sample corpus (seeds/).
        """
        import time

        from engine.ngrams import NgramConfig, run
        from engine.output import plan_outputs, run_inputs

        with cc.job(quiet) as ctx:
            # the reader first (expanding the paths reads nothing): the outputs are checked
            # against its files before any work
            reader = ctx.reader(paths, text_field, id_field, encoding, strict)
            plan = plan_outputs({"--output": output, "--stats": stats}, run_inputs(reader, stopwords=stopwords),
                                formats={"--stats": cc.STATS_FORMATS})
            cfg = NgramConfig(n=n, char=char, top=top, min_count=min_count, memory=memory,
                              text=cc.text_options(stopwords, strip_accents, min_token_len))
            backend = ctx.backend(device)
            with plan:
                t0 = time.perf_counter()
                result = run(reader, backend, cfg, scheduler=scheduler)
                dt = time.perf_counter() - t0
                ctx.report(reader)
                table = result.table()
                if output is not None:
                    with result.stats.stage("write"):
                        result.write(output, plan=plan)
                rows = cc.console_rows(output, quiet, 50)
                if rows:
                    cc.print_rows(table, f"{'char' if char else 'word'} n-grams", output, rows)
                if stats is not None:
                    plan.write_text("--stats", result.stats.to_json())
                plan.commit()
            if not quiet:
                mb = reader.stats.bytes / 1e6
                cc.err_console.print(
                    f"[dim]{result.stats.documents} documents, {result.stats.tokens} tokens, {mb:.1f} MB "
                    f"in {dt:.2f} s ({mb / max(dt, 1e-9):.1f} MB/s) on {backend.describe()}; "
                    f"{table.num_rows} rows" + (f" -> {output}" if output else "") + "[/dim]")
