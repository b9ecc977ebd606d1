"""``corpus cooc``: term co-occurrence.

The command line only: options, messages, outputs; the work is in ``engine.cooc``.
"""
from __future__ import annotations

# typer evaluates the annotations (strings under ``from __future__ import annotations``)
# in this module's globals, so the names they use are imported at module level.
from typing import Annotated, Optional

import typer

from engine.cli import common as cc


def register(app) -> None:
    """Add the ``cooc`` command to the typer ``app``."""
    @app.command()
    def cooc(
        paths: cc.Paths = None,
        window: Annotated[str, typer.Option("--window", help="Token window W (pairs at distance 1..W), or 'doc' (documents containing both terms).")] = "5",
        weighting: Annotated[str, typer.Option("--weighting", help="none (w = 1) or harmonic (w = 1/distance).")] = "none",
        min_count: Annotated[int, typer.Option("--min-count", help="Drop terms seen fewer times (before pairing).")] = 2,
        max_vocab: Annotated[int, typer.Option("--max-vocab", help="Keep the most frequent terms only (ties by term).")] = 50000,
        measure: Annotated[str, typer.Option("--measure", help="Sort by: count, pmi, ppmi, npmi or llr.")] = "llr",
        term: Annotated[Optional[str], typer.Option("--term", help="Show the terms most associated with this word.")] = None,
        top: Annotated[Optional[int], typer.Option("--top", help="Rows to show and write (default: show 20, write all; 10 with --term). With --output the console shows at most 20.")] = None,
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
        """Term co-occurrence (window or document) with PMI, PPMI, NPMI and log-likelihood (G^2).

        Output: .npz (sparse count matrix + <name>.vocab.tsv beside it), .parquet, .csv, .jsonl."""
        from engine import params
        from engine.cooc import CoocConfig, CoocResult, run
        from engine.output import FORMATS, plan_outputs, run_inputs

        with cc.job(quiet) as ctx:
            params.integer("top", top, minimum=1, optional=True)
            cfg = CoocConfig(window=window, weighting=weighting, min_count=min_count, max_vocab=max_vocab,
                             measure=measure, text=cc.text_options(stopwords, strip_accents, min_token_len))
            # the reader first (expanding the paths reads nothing): the output, and for .npz
            # its vocabulary companion, are checked against its files before any work
            reader = ctx.reader(paths, text_field, id_field, encoding, strict)
            inputs = run_inputs(reader, stopwords=stopwords)
            npz = output is not None and output.suffix.lower() == ".npz"
            formats = {"--output": FORMATS + (".npz",), "--stats": cc.STATS_FORMATS}
            if npz:
                plan = plan_outputs({"--stats": stats}, inputs, formats, extra=CoocResult.npz_targets(output))
            else:
                plan = plan_outputs({"--output": output, "--stats": stats}, inputs, formats)
            backend = ctx.backend(device)
            with plan:
                res = run(reader, backend, cfg, scheduler=scheduler)
                ctx.report(reader)
                if term is not None:
                    table = res.associates(term, measure, top or 10)
                    title = f"terms most associated with {res.spelling(term)!r} by {measure}"
                else:
                    table = res.table(measure, top)
                    title = f"co-occurring pairs by {measure}"
                if not quiet:
                    cc.err_console.print(f"[dim]{res.summary()}; {res.stats.total_seconds:.2f} s[/dim]")
                rows = cc.console_rows(output, quiet, top or 20)
                if rows:
                    cc.print_rows(table, title, output, rows)
                wrote = []
                if npz:
                    p, v = res.write_npz(output, plan=plan)
                    wrote.append(f"wrote {p} and {v}")
                elif output is not None:
                    plan.write_table("--output", table)
                    wrote.append(f"wrote {output} ({table.num_rows} rows)")
                if stats is not None:
                    plan.write_text("--stats", res.stats.to_json())
                    wrote.append(f"wrote {stats}")
                if wrote:
                    plan.commit()
                for line in wrote if not quiet else []:   # --quiet: errors only
                    cc.err_console.print(line)
