"""``corpus minhash`` and ``corpus similarity``: near-duplicates and the similarity matrix.

The command line only: options, messages, outputs; the work is in ``engine.minhash``.
"""

# typer evaluates the annotations (strings under ``from __future__ import annotations``)
# in this module's globals, so the names they use are imported at module level.
from pathlib import Path
from typing import Annotated, Optional

import typer

# the job package (numpy, numba) is imported when a command runs: start-up of every command
# builds this module.  The --max-docs default is the library's (checked by tests/test_console.py).
SIMILARITY_DOCS_DEFAULT = 2000


def write_dedup(*args, **kwargs):
    """engine.minhash.write_dedup, imported when called (a module-level name: tests replace it)."""
    from engine.minhash import write_dedup as write
    return write(*args, **kwargs)


def register(app) -> None:
    """Add the ``minhash`` and ``similarity`` commands to the typer ``app``."""
    from engine.cli.common import (
        PREVIEW_ROWS,
        STATS_FORMATS,
        Device,
        Encoding,
        IdField,
        MinTokenLen,
        Paths,
        Quiet,
        Scheduler,
        StatsPath,
        Stopwords,
        Strict,
        StripAccents,
        TextField,
        console_rows,
        job,
        out_console,
        print_rows,
        text_options,
    )
    Shingle = Annotated[str, typer.Option("--shingle", help="Shingles: word:N (word n-grams) or char:N (character n-grams).")]
    Perms = Annotated[int, typer.Option("--perms", help="Number of hash permutations (signature length).")]
    Seed = Annotated[int, typer.Option("--seed", help="Seed of the permutation parameters.")]

    @app.command()
    def minhash(
        paths: Paths = None,
        shingle: Shingle = "word:5",
        perms: Perms = 128,
        threshold: Annotated[float, typer.Option("--threshold", help="Jaccard similarity at or above which two documents are near-duplicates.")] = 0.8,
        bands: Annotated[Optional[int], typer.Option("--bands", help="LSH bands (with --rows; default: chosen from --threshold).")] = None,
        rows: Annotated[Optional[int], typer.Option("--rows", help="LSH rows per band (with --bands).")] = None,
        seed: Seed = 1,
        verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Check candidates with the exact Jaccard of their shingle sets (default) or keep the estimate.")] = True,
        max_bucket: Annotated[int, typer.Option("--max-bucket", help="LSH buckets above this size are linked as a chain, not all pairs.")] = 64,
        device: Device = "auto",
        output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Pairs (doc_a, doc_b, estimate, jaccard): .parquet, .csv or .jsonl.")] = None,
        clusters: Annotated[Optional[Path], typer.Option("--clusters", help="Clusters (doc_id, cluster, size): .parquet, .csv or .jsonl.")] = None,
        dedup_output: Annotated[Optional[Path], typer.Option("--dedup-output", help="The corpus minus the non-representative near-duplicates, JSONL {id, text}.")] = None,
        save_signatures_: Annotated[Optional[Path], typer.Option("--save-signatures", help="Save the signatures (Parquet) for a later incremental run.")] = None,
        signatures: Annotated[Optional[Path], typer.Option("--signatures", help="Saved signatures to add this corpus to (incremental dedup).")] = None,
        text_field: TextField = "text",
        id_field: IdField = "id",
        encoding: Encoding = "utf-8",
        strict: Strict = False,
        stopwords: Stopwords = None,
        strip_accents: StripAccents = False,
        min_token_len: MinTokenLen = 1,
        stats: StatsPath = None,
        quiet: Quiet = False,
        scheduler: Scheduler = None,
    ) -> None:
        """Near-duplicate documents: MinHash signatures, LSH, exact verification, clusters."""
        from engine.console import print_summary
        from engine.minhash import MinHashConfig, load_signatures, run, save_signatures
        from engine.minhash.store import _check_meta
        from engine.output import FORMATS, plan_outputs, run_inputs

        with job(quiet) as ctx:
            cfg = MinHashConfig(shingle=shingle, perms=perms, threshold=threshold, bands=bands,
                                rows=rows, seed=seed, verify=verify, max_bucket=max_bucket,
                                text=text_options(stopwords, strip_accents, min_token_len))

            def reader():
                return ctx.reader(paths, text_field, id_field, encoding, strict)

            # the reader first (expanding the paths reads nothing), then every output is
            # checked against its files and the other outputs, before any work
            r = reader()
            plan = plan_outputs(
                {"--output": output, "--clusters": clusters, "--dedup-output": dedup_output,
                 "--save-signatures": save_signatures_, "--stats": stats},
                run_inputs(r, signatures, stopwords=stopwords),
                {"--output": FORMATS, "--clusters": FORMATS, "--dedup-output": (".jsonl",),
                 "--save-signatures": (".parquet",), "--stats": STATS_FORMATS})
            base = load_signatures(signatures) if signatures is not None else None
            if base is not None:
                _check_meta(base.meta, cfg)
            backend = ctx.backend(device)
            with plan:  # all outputs renamed into place together, after the last is complete
                res = run(r, backend, cfg, base=base, scheduler=scheduler)
                ctx.report(r)
                if output is not None:
                    res.write(output, "pairs", plan=plan, key="--output")
                if clusters is not None:
                    res.write(clusters, "clusters", plan=plan, key="--clusters")
                if save_signatures_ is not None:
                    save_signatures(res.sigs, save_signatures_, plan=plan)
                if dedup_output is not None:
                    q = ctx.quiet
                    ctx.quiet = True  # no second progress bar for the re-read
                    try:
                        write_dedup(reader, res.keep_new, dedup_output, plan=plan)
                    finally:
                        ctx.quiet = q
                if stats is not None:
                    plan.write_text("--stats", res.stats.to_json())
                plan.commit()
            summ = res.summary()
            if not base:
                summ.pop("saved documents")
            mb = res.sigs.n_bytes / 1e6
            summ["time"] = f"{res.seconds:.2f} s ({mb / max(res.seconds, 1e-9):.1f} MB/s, {res.backend_name})"
            # with --quiet the console shows the result only when no file was asked for
            silent = quiet and any(f is not None for f in (output, clusters, dedup_output, save_signatures_))
            rows = 0 if silent else console_rows(output, quiet, PREVIEW_ROWS)
            if not silent:
                print_summary(summ, out_console)
            if rows and res.pair_a.size:
                print_rows(res.table("pairs"), "Near-duplicate pairs", output, rows)

    @app.command()
    def similarity(
        paths: Paths = None,
        shingle: Shingle = "word:5",
        perms: Perms = 128,
        seed: Seed = 1,
        exact: Annotated[bool, typer.Option("--exact", help="Exact Jaccard of the shingle sets instead of the MinHash estimate.")] = False,
        max_docs: Annotated[int, typer.Option("--max-docs", help="Refuse corpora with more documents than this.")] = SIMILARITY_DOCS_DEFAULT,
        device: Device = "auto",
        output: Annotated[Optional[Path], typer.Option("--output", "-o", help="The matrix: .npy, or .parquet/.csv/.jsonl (doc_id + one column per document).")] = None,
        text_field: TextField = "text",
        id_field: IdField = "id",
        encoding: Encoding = "utf-8",
        strict: Strict = False,
        stopwords: Stopwords = None,
        strip_accents: StripAccents = False,
        min_token_len: MinTokenLen = 1,
        stats: StatsPath = None,
        quiet: Quiet = False,
        scheduler: Scheduler = None,
    ) -> None:
        """All-pairs estimated Jaccard similarity matrix of a small corpus (e.g. the seed articles)."""
        from engine import params
        from engine.console import print_matrix
        from engine.minhash import MinHashConfig, run_similarity
        from engine.output import FORMATS, plan_outputs, run_inputs

        with job(quiet) as ctx:
            cfg = MinHashConfig(shingle=shingle, perms=perms, seed=seed,
                                text=text_options(stopwords, strip_accents, min_token_len))
            params.integer("max_docs", max_docs, minimum=1)  # before reading anything
            r = ctx.reader(paths, text_field, id_field, encoding, strict)
            plan = plan_outputs({"--output": output, "--stats": stats}, run_inputs(r, stopwords=stopwords),
                                {"--output": (".npy",) + FORMATS, "--stats": STATS_FORMATS})
            backend = ctx.backend(device)
            with plan:
                res = run_similarity(r, backend, cfg, max_docs=max_docs, exact=exact, scheduler=scheduler)
                ids, m = res.doc_ids, res.matrix
                ctx.report(r)
                if output is not None:
                    res.write(output, plan=plan, key="--output")
                if stats is not None:
                    plan.write_text("--stats", res.stats.to_json())
                plan.commit()
            what = "exact" if exact else f"estimated ({perms} permutations)"
            rows = console_rows(output, quiet, PREVIEW_ROWS)
            if rows and len(ids) <= rows:
                print_matrix(ids, m, out_console, f"Jaccard similarity, {what}, {cfg.shingle} shingles")
            elif rows:   # a corner of the matrix, the rest in the file
                print_matrix(ids[:rows], m[:rows, :rows], out_console,
                             f"Jaccard similarity, {what}, {cfg.shingle} shingles: first {rows} of {len(ids)}")
                if output is None:
                    out_console.print(f"{len(ids)} documents: use --output to write the whole matrix")
