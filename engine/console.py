"""Console tables the commands and ``corpus analyze`` share (rich)."""
from __future__ import annotations

import numpy as np

__all__ = ["print_matrix", "print_summary"]


def print_matrix(ids, m, console, title: str) -> None:
    """The matrix ``m`` (rows and columns: ``ids``, numbered) with two decimals, ``-`` for NaN."""
    from rich.table import Table
    t = Table(title=title)
    t.add_column("#", justify="right")
    t.add_column("document")
    for j in range(len(ids)):
        t.add_column(str(j), justify="right")
    for i, name in enumerate(ids):
        short = name if len(name) <= 32 else name[:29] + "..."
        t.add_row(str(i), short, *["-" if np.isnan(v) else f"{v:.2f}" for v in m[i]])
    console.print(t)


def print_summary(summary: dict, console, title: str = "MinHash near-duplicates") -> None:
    """Two columns, name and value (integers with thousands separators)."""
    from rich.table import Table
    t = Table(title=title, show_header=False)
    for k, v in summary.items():
        t.add_row(k, f"{v:,}" if isinstance(v, int) else str(v))
    console.print(t)
