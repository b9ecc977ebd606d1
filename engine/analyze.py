"""``corpus analyze``: the main job. Top n-grams per n (stop words removed), then the
near-duplicate and co-occurrence sections when those analytics are installed."""
from __future__ import annotations

import importlib
import time
from typing import Annotated, Optional

import typer

from engine import cli_common as cc

__all__ = ["register"]


def register(app) -> None:
    @app.command()
    def analyze(
        paths: cc.Paths = None,
        top: Annotated[int, typer.Option("--top", help="Rows per n-gram order.")] = 10,
        n: Annotated[str, typer.Option("--n", help="n-gram orders, e.g. 1-3.")] = "1-3",
        stopwords: cc.Stopwords = "fr,en",
        device: cc.Device = "auto",
        text_field: cc.TextField = "text",
        id_field: cc.IdField = "id",
        encoding: cc.Encoding = "utf-8",
        strict: cc.Strict = False,
        quiet: cc.Quiet = False,
    ) -> None:
        """The main job on a corpus (default: the bundled seeds/): top n-grams per n with
        French and English stop words removed, near-duplicates and co-occurrence sections."""
        from engine.ngrams import NgramConfig, NgramStats, count_batches
        import pyarrow.compute as pc

        from engine.output import print_table

        with cc.job(quiet) as ctx:
            text = cc.text_options(stopwords, False, 1)
            cfg = NgramConfig(n=n, top=top, text=text)
            backend = ctx.backend(device)
            reader = ctx.reader(paths, text_field, id_field, encoding, strict)
            stats = NgramStats()
            t0 = time.perf_counter()
            table = count_batches(reader, backend, cfg, stats)
            ctx.report(reader)
            cc.out_console.rule("[bold]corpus")
            cc.out_console.print(
                f"{stats.documents} documents, {reader.stats.bytes / 1e6:.2f} MB, {stats.tokens} tokens "
                f"(stop words {stopwords or 'kept'}), {reader.stats.n_skipped} skipped; "
                f"{backend.describe()}, {time.perf_counter() - t0:.2f} s")
            lo, hi = cfg.n
            for k in range(lo, hi + 1):
                print_table(table.filter(pc.equal(table["n"], k)).drop(["n"]),
                            title=f"top {top} {k}-grams", console=cc.out_console)
            for mod in ("engine.minhash", "engine.cooc"):
                try:
                    m = importlib.import_module(mod)
                except ModuleNotFoundError:
                    continue
                if hasattr(m, "analyze_section"):
                    m.analyze_section(list(paths) if paths else [cc.SEEDS], backend, text, cc.out_console)
