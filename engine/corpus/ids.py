"""Document ids and JSON values as text; the set of explicit ids seen (duplicates)."""
from __future__ import annotations

import json
from typing import Sequence

import numpy as np


class _NumberText(str):
    """A JSON number kept as its source text (``1.0`` stays ``"1.0"``, big integers exact)."""


def _reject_constant(name: str):
    raise ValueError(f"{name} is not JSON")   # Python accepts NaN and Infinity; JSON does not


def _json_id_text(value, line_text: str, id_field: str) -> str | None:
    """The id of a JSON line: a string as it is, a number as written, ``true``/``false``,
    an object or array as compact JSON; None when absent or null."""
    if value is None or isinstance(value, str):
        return None if value is None else str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    full = json.loads(line_text)[id_field]   # numbers inside as numbers again
    return json.dumps(full, ensure_ascii=False, separators=(",", ":"))


def _value_text(value) -> str | None:
    """A Parquet id value as text: integers as integers, strings as they are."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


# ---------------------------------------------------------------------------------- duplicate ids
class _IdSet:
    """The ids seen so far as 64-bit hashes in sorted runs, merged like a binary counter:
    8 bytes per distinct id and no Python strings kept.  Python's string hash is 64-bit and
    fixed within a process, which is all this needs.  Two different ids with the same hash
    (odds about n^2 / 2^65: 3 in 10^4 for 10^8 ids) would make a false warning, never a
    lost document."""

    def __init__(self):
        self.runs: list[np.ndarray] = []

    def add(self, ids: Sequence[str]) -> np.ndarray:
        """Record ``ids``; returns the indices of those seen before (earlier in ``ids`` too)."""
        h = np.fromiter(map(hash, ids), np.int64, len(ids))
        hs = np.sort(h)
        if not (hs[1:] == hs[:-1]).any() and not any(_found(run, hs).any() for run in self.runs):
            self._push(hs)   # the usual case: all new, and already a sorted run
            return np.empty(0, np.int64)
        order = np.argsort(h, kind="stable")
        seen = np.zeros(len(ids), bool)
        seen[order[1:][hs[1:] == hs[:-1]]] = True   # the later ones of equal ids
        for run in self.runs:
            seen |= _found(run, h)
        self._push(np.unique(h[~seen]))
        return np.flatnonzero(seen)

    def _push(self, run: np.ndarray) -> None:
        if run.size:
            self.runs.append(run)
        while len(self.runs) > 1 and self.runs[-2].size <= 2 * self.runs[-1].size:
            last = self.runs.pop()   # a stable sort of two sorted runs is a merge
            self.runs[-1] = np.sort(np.concatenate([self.runs[-1], last]), kind="stable")


def _found(run: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Which of the hashes ``h`` the sorted ``run`` holds."""
    return run[np.minimum(np.searchsorted(run, h), run.size - 1)] == h


# ---------------------------------------------------------------------------------- reader
