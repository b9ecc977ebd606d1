"""The n-gram job's result: the output rows (one Arrow table), the run's statistics, writers."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from engine import arrow_arrays
from engine.stats import JobStats

__all__ = ["NgramResult", "ngram_table", "COLUMNS"]

COLUMNS = ("ngram", "n", "count", "doc_freq")


def ngram_table(data: np.ndarray, offsets: np.ndarray, n: np.ndarray, counts: np.ndarray,
                doc_freq: np.ndarray) -> pa.Table:
    """The output table of rows already in output order (strings ``data[offsets[i]:offsets[i+1]]``;
    int32 offsets are used as they are)."""
    rows = n.size
    if data.size < 2**31:  # Arrow's plain string type (int32 offsets), what readers expect
        ngram = pa.StringArray.from_buffers(rows, pa.py_buffer(offsets.astype(np.int32, copy=False)),
                                            pa.py_buffer(data))
    else:
        ngram = pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data))
    return pa.table({"ngram": ngram, "n": arrow_arrays.numeric(n, np.int32),
                     "count": arrow_arrays.numeric(counts, np.int64),
                     "doc_freq": arrow_arrays.numeric(doc_freq, np.int64)})


@dataclass
class NgramResult:
    """The n-grams kept (count descending, then ngram by code point) and the run's stats."""
    rows: pa.Table
    stats: JobStats

    def table(self) -> pa.Table:
        """Columns ngram (string), n (int32), count (int64), doc_freq (int64)."""
        return self.rows

    def to_cudf(self):
        """:meth:`table` as a ``cudf.DataFrame`` (needs cudf: the ``gpu`` extra)."""
        from engine.gpu.frames import to_cudf
        return to_cudf(self.table())

    @property
    def num_rows(self) -> int:
        return self.rows.num_rows

    def write(self, path: str | os.PathLike, plan=None, key: str = "--output") -> Path:
        """Write the table to ``path`` (.parquet, .csv, .jsonl), atomically; within a command's
        :class:`engine.output.OutputPlan` when ``plan`` is given (the command commits)."""
        from engine.output import write_table
        # every (n, ngram) is one row, so the strings are distinct (n-grams of different n
        # differ in length or spaces), sorted within each count
        if plan is not None:
            return plan.write_table(key, self.rows, unique_strings=("ngram",))
        return write_table(self.rows, path, unique_strings=("ngram",))
