"""The array idioms every job writes: offsets from counts, runs of equal sorted keys,
segment ids, ragged gathers.

Flat layouts are the rule in this engine (a batch's text is one byte array plus int64
offsets, a document's tokens are a slice of one token array, a partial's spellings are
flat UTF-8 plus offsets), so the same few conversions recur.  Each is written here once,
for numpy and (``xp=cupy``) for device arrays, with the exact dtypes the kernels expect:
offsets and positions are int64.
"""
from __future__ import annotations

import numpy as np

__all__ = ["offsets_from_counts", "sorted_runs", "run_lengths", "segment_ids", "gather_ranges"]


def offsets_from_counts(counts, xp=np):
    """Offsets of consecutive segments of the given sizes.

    Parameters
    ----------
    counts : array_like of int
        Size of each segment (``n`` values, each >= 0).
    xp : module, optional
        ``numpy`` (default) or ``cupy``: where the result lives.

    Returns
    -------
    ndarray of int64, shape (n + 1,)
        ``[0, c0, c0 + c1, ...]``: segment ``i`` is ``offsets[i] .. offsets[i + 1]``, the
        total is ``offsets[-1]``.
    """
    counts = xp.asarray(counts)
    off = xp.zeros(counts.size + 1, np.int64)
    if counts.size:
        xp.cumsum(counts, out=off[1:])
    return off


def sorted_runs(keys, xp=np):
    """Sort ``keys`` and find the runs of equal keys (the sort + run-length idiom).

    Parameters
    ----------
    keys : ndarray
        One-dimensional keys (any sortable dtype).
    xp : module, optional
        ``numpy`` (default; a stable sort: equal keys keep their order) or ``cupy``.

    Returns
    -------
    order : ndarray of int64
        The permutation that sorts ``keys``.
    starts : ndarray of int64
        Index in ``keys[order]`` of the first key of each run (empty for no keys): run
        ``r`` is ``keys[order[starts[r]:starts[r + 1]]]``, its key is
        ``keys[order[starts[r]]]``.
    """
    order = xp.argsort(keys, kind="stable") if xp is np else xp.argsort(keys)
    if keys.size == 0:
        return order.astype(np.int64), xp.empty(0, np.int64)
    ks = keys[order]
    first = xp.empty(ks.size, dtype=bool)
    first[0] = True
    first[1:] = ks[1:] != ks[:-1]
    return order, xp.flatnonzero(first).astype(np.int64)


def run_lengths(starts, n: int, xp=np):
    """Length of each run, given the runs' first indices (``sorted_runs``) and ``n`` items in all.

    Parameters
    ----------
    starts : ndarray of int64
        Increasing first index of every run, ``starts[0] == 0`` when not empty.
    n : int
        Number of items (the end of the last run).
    xp : module, optional
        ``numpy`` (default) or ``cupy``.

    Returns
    -------
    ndarray of int64
        ``starts[r + 1] - starts[r]``, with ``n`` closing the last run.
    """
    return xp.diff(xp.concatenate([starts, xp.asarray([n], np.int64)]))


def segment_ids(offsets, xp=np):
    """Segment (document) of every item of a flat array cut by ``offsets``.

    Parameters
    ----------
    offsets : ndarray of int64, shape (n + 1,)
        Increasing segment offsets (empty segments allowed), ``offsets[0] == 0``.
    xp : module, optional
        ``numpy`` (default) or ``cupy``.

    Returns
    -------
    ndarray of int64, shape (offsets[-1],)
        ``i`` for every item of segment ``i``.
    """
    n = int(offsets[-1])
    if xp is np:
        return np.repeat(np.arange(offsets.size - 1, dtype=np.int64), np.diff(offsets))
    return xp.searchsorted(offsets, xp.arange(n, dtype=np.int64), side="right") - 1


def gather_ranges(data, starts, lens):
    """The ranges ``data[starts[i] : starts[i] + lens[i]]`` one after the other (host arrays).

    Parameters
    ----------
    data : ndarray
        The flat source (e.g. UTF-8 bytes).
    starts, lens : ndarray of int64
        Start and length of each range in ``data``.

    Returns
    -------
    flat : ndarray
        The ranges concatenated (``data``'s dtype).
    offsets : ndarray of int64, shape (len(lens) + 1,)
        Where each range is in ``flat``.
    """
    lens = np.asarray(lens, np.int64)
    offsets = offsets_from_counts(lens)
    src = np.repeat(np.asarray(starts, np.int64) - offsets[:-1], lens) + np.arange(offsets[-1])
    return data[src], offsets
