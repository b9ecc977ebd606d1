"""engine.arrays: the shared array idioms against plain-Python definitions."""
import itertools

import numpy as np
import pytest

from engine.arrays import gather_ranges, offsets_from_counts, run_lengths, segment_ids, sorted_runs

RNG = np.random.default_rng(7)


@pytest.mark.parametrize("counts", [[], [0], [3], [2, 0, 5, 0, 0, 1], RNG.integers(0, 9, 50).tolist()])
def test_offsets_from_counts(counts):
    off = offsets_from_counts(np.asarray(counts, np.int32))
    assert off.dtype == np.int64
    assert off.tolist() == [0] + list(itertools.accumulate(counts))
    assert offsets_from_counts(counts).tolist() == off.tolist()   # a list works too


@pytest.mark.parametrize("keys", [[], [5], [3, 1, 3, 2, 1, 3], RNG.integers(0, 6, 40).tolist()])
def test_sorted_runs_and_their_lengths(keys):
    k = np.asarray(keys, np.uint64)
    order, starts = sorted_runs(k)
    # stable: equal keys keep their order, as sorted() does
    assert order.tolist() == sorted(range(len(keys)), key=lambda i: keys[i])
    distinct = sorted(set(keys))
    assert k[order][starts].tolist() == distinct
    assert run_lengths(starts, k.size).tolist() == [keys.count(x) for x in distinct]
    assert starts.dtype == np.int64


@pytest.mark.parametrize("counts", [[0], [2, 0, 3], [0, 0, 1, 0], RNG.integers(0, 5, 30).tolist()])
def test_segment_ids(counts):
    off = offsets_from_counts(counts)
    want = [d for d, c in enumerate(counts) for _ in range(c)]
    assert segment_ids(off).tolist() == want


def test_gather_ranges():
    data = np.frombuffer(b"abcdefghij", np.uint8)
    starts, lens = np.array([7, 0, 3, 9], np.int64), np.array([2, 3, 0, 1], np.int64)
    flat, off = gather_ranges(data, starts, lens)
    assert flat.tobytes() == b"hi" + b"abc" + b"" + b"j"
    assert off.tolist() == [0, 2, 5, 5, 6]
    flat, off = gather_ranges(data, np.empty(0, np.int64), np.empty(0, np.int64))
    assert flat.size == 0 and flat.dtype == np.uint8 and off.tolist() == [0]
