"""Result writers: Parquet / CSV / JSONL by extension, always atomic (temp file + rename)."""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

import pyarrow as pa

__all__ = ["write_table", "atomic_path", "print_table", "OutputError", "FORMATS"]

FORMATS = (".parquet", ".csv", ".jsonl")


class OutputError(Exception):
    """An output cannot be written (bad extension, unwritable folder): one line for the user."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise OutputError(f"output folder does not exist: {path.parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        # mkstemp creates the file private (0600); give it the usual permissions
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def check_output_path(path: str | os.PathLike, formats=FORMATS) -> Path:
    """Fail early (before the work) on an output path we could not write."""
    path = Path(path)
    if path.suffix.lower() not in formats:
        raise OutputError(f"--output: unsupported extension {path.suffix or '(none)'!r} for {path} "
                          f"(use {', '.join(formats)})")
    if not path.parent.exists():
        raise OutputError(f"--output: folder does not exist: {path.parent}")
    return path


def write_table(table: pa.Table, path: str | os.PathLike) -> Path:
    """Write ``table`` to ``path`` in the format its extension names, atomically."""
    path = check_output_path(path)
    ext = path.suffix.lower()
    with atomic_path(path) as tmp:
        if ext == ".parquet":
            import pyarrow.parquet as pq
            pq.write_table(table, tmp, compression="zstd")
        elif ext == ".csv":
            import pyarrow.csv as pacsv
            pacsv.write_csv(table, tmp)
        else:
            with open(tmp, "w", encoding="utf-8") as f:
                for row in table.to_pylist():
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def print_table(table: pa.Table, title: str | None = None, console=None, max_rows: int = 50,
                float_digits: int = 4) -> None:
    """Render the first ``max_rows`` rows of ``table`` as a rich table."""
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
