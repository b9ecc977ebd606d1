"""Hash partitions of the map outputs: each partial is cut into ``buckets`` pieces by its
keys, the pieces of bucket ``p`` go to reducer ``p``, which combines them in partition order.

The bucket of a key is taken from its product with a 64-bit odd constant (Fibonacci
hashing), not from its raw top bits, so that narrowed keys (a test hook) still spread.
"""
from __future__ import annotations

import numpy as np

__all__ = ["bucket_of", "bucket_order", "take_strings"]

_FIB = np.uint64(0x9E3779B97F4A7C15)


def bucket_of(keys: np.ndarray, buckets: int) -> np.ndarray:
    """int64 bucket of each uint64 key in ``[0, buckets)``."""
    with np.errstate(over="ignore"):
        mixed = np.asarray(keys, np.uint64) * _FIB
    return ((mixed >> np.uint64(32)) % np.uint64(buckets)).astype(np.int64)


def bucket_order(keys: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, bounds): rows ``order[bounds[p]:bounds[p+1]]`` are bucket ``p``'s, in their
    original order (stable)."""
    b = bucket_of(keys, buckets)
    order = np.argsort(b, kind="stable")
    bounds = np.searchsorted(b[order], np.arange(buckets + 1))
    return order, bounds


def take_strings(data: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flat strings ``rows`` of (data, offsets) as a new flat pair."""
    from kernels.cpu.count import gather_spans
    rows = np.asarray(rows, np.int64)
    return gather_spans(data, offsets[rows], offsets[rows + 1] - offsets[rows])
