"""Duplicate ids across partitions: each partition's reader finds the repeats within it; the
client, which sees every partition's explicit ids in corpus order, finds them all, so the
warning count and its first locations are one reader's.

Ids travel as stable 64-bit hashes (BLAKE2b: Python's ``hash`` differs between processes)
with their locations; two different ids with the same hash (odds about n^2 / 2^65) would
make a false warning, as in one reader."""
from __future__ import annotations

import hashlib

import numpy as np

from engine.corpus import MAX_LOCATIONS

__all__ = ["DUPLICATE", "logged_ids", "fix_duplicate_warnings"]

DUPLICATE = "duplicate id (document kept)"   # the reader's reason


def _h(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                          "little", signed=True)


def logged_ids(id_log: list) -> tuple[np.ndarray, list[str]]:
    """(int64 hashes, locations) of a reader's ``id_log``, in reading order."""
    hashes = np.fromiter((_h(i) for ids, _ in id_log for i in ids), np.int64)
    return hashes, [w for _, where in id_log for w in where]


def fix_duplicate_warnings(merged, logs: list) -> None:
    """Set the duplicate-id warning of ``merged`` (a ReadStats of every partition, in order)
    from the partitions' logged ids (``logs``: one (hashes, locations) a partition, in order)."""
    logs = [x for x in logs if x is not None]
    hashes = np.concatenate([h for h, _ in logs]) if logs else np.empty(0, np.int64)
    merged.warnings.pop(DUPLICATE, None)
    merged.warning_locations.pop(DUPLICATE, None)
    if hashes.size == 0:
        return
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    repeat = np.flatnonzero(first[inverse.ravel()] != np.arange(hashes.size))
    if repeat.size == 0:
        return
    locations = [w for _, where in logs for w in where]
    merged.warnings[DUPLICATE] = int(repeat.size)
    merged.warning_locations[DUPLICATE] = [locations[k] for k in repeat[:MAX_LOCATIONS].tolist()]
