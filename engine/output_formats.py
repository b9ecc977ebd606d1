"""Table files and table display: the formats a table output may have, and the console view.

:func:`write_table_file` writes a ``pyarrow.Table`` in the format a file name ends with
(.parquet with zstd, .csv, .jsonl one JSON object a line); ``engine.output`` calls it on a
plan's temp file.  :func:`print_table` shows the first rows on a rich console (rich is
imported only when called).
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

__all__ = ["write_table_file", "print_table"]


def write_table_file(table: pa.Table, dest: Path, name: str, unique_strings: tuple = ()) -> None:
    """Write a table to a file in the format a file name ends with.

    Parameters
    ----------
    table : pyarrow.Table
        What to write.
    dest : Path
        The file written (a temp file: its own name does not matter).
    name : str
        The lower-cased target file name: ``.parquet`` (zstd), ``.csv``, else JSON lines.
    unique_strings : tuple of str, optional
        String columns whose values are all distinct and sorted in long runs (the n-gram
        column).  Parquet stores them without a dictionary (one per row group would only
        fill up and fall back to plain values, after the work of building it), prefix-coded
        (DELTA_BYTE_ARRAY: sorted neighbours share their first bytes) and without min/max
        statistics (each row group spans nearly the whole alphabet, so they prune nothing).
        On the 6.5 M n-grams of 100 MB of English: 39 -> 27 MB, 18% less writing time.
        Other formats ignore it.
    """
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq
        pq.write_table(table, dest, compression="zstd", **_parquet_options(table, unique_strings))
    elif name.endswith(".csv"):
        import pyarrow.csv as pacsv
        pacsv.write_csv(table, dest)
    else:
        with open(dest, "w", encoding="utf-8") as f:
            for row in table.to_pylist():
                f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _parquet_options(table: pa.Table, unique_strings: tuple) -> dict:
    """pyarrow.parquet.write_table's options for the ``unique_strings`` columns of ``table``."""
    unique = [c for c in unique_strings if c in table.column_names
              and (pa.types.is_string(table.schema.field(c).type) or pa.types.is_large_string(table.schema.field(c).type))]
    if not unique:
        return {}
    others = [c for c in table.column_names if c not in unique]
    return {"use_dictionary": others, "write_statistics": others,
            "column_encoding": {c: "DELTA_BYTE_ARRAY" for c in unique}}


def print_table(table: pa.Table, title: str | None = None, console=None, max_rows: int = 50,
                float_digits: int = 4) -> None:
    """Print the first rows of a table on a rich console.

    Parameters
    ----------
    table : pyarrow.Table
        What to show; numbers are right-aligned.
    title : str, optional
        Shown above the table.
    console : rich.console.Console, optional
        Where to print (default: a new console on standard output).
    max_rows : int, optional
        Rows shown; a line says how many more there are.
    float_digits : int, optional
        Digits after the point of float cells.
    """
    from rich.console import Console
    from rich.table import Table
    console = console or Console()
    t = Table(title=title, show_lines=False)
    for name in table.column_names:
        numeric = pa.types.is_integer(table.schema.field(name).type) or pa.types.is_floating(table.schema.field(name).type)
        t.add_column(name, justify="right" if numeric else "left")
    for row in table.slice(0, max_rows).to_pylist():
        t.add_row(*[f"{v:.{float_digits}f}" if isinstance(v, float) else str(v) for v in row.values()])
    console.print(t)
    if table.num_rows > max_rows:
        console.print(f"[dim]... {table.num_rows - max_rows} more rows (use --output to write them all)[/dim]")
