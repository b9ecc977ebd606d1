"""The n-gram output order (kernels.cpu.ngram_order.order_rows) against Python's sort by
(count desc, UTF-8 bytes), and against kernels.cpu.sort.order_rows: ties on count and
on 7-, 8-, 15-byte prefixes, counts around the keyed bound (255) and past 2**16,
strings shorter than the key's prefix, empty and one-row inputs, 1-3 threads."""
import numpy as np
import pytest


def _rows(strings):
    enc = [s.encode() for s in strings]
    off = np.zeros(len(enc) + 1, np.int64)
    np.cumsum([len(b) for b in enc], out=off[1:])
    data = np.frombuffer(b"".join(enc), np.uint8) if enc else np.empty(0, np.uint8)
    return enc, data, off


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_order_rows_matches_python_sort(seed):
    from kernels.cpu import sort
    from kernels.cpu.ngram_order import COUNT_CAP, order_rows
    rng = np.random.default_rng(seed)
    stems = ["", "a", "ab", "abcdef", "abcdefg", "abcdefgh", "abcdefghijklmno", "abcdefghijklmnop",
             "of the ", "été ", "日本"]
    strings = sorted({rng.choice(stems) + "".join(rng.choice(list("abz é"), rng.integers(0, 12)))
                      for _ in range(6000)} - {""})
    rng.shuffle(strings)
    pick = rng.random(len(strings))
    counts = np.where(pick < 0.05, rng.integers(1, 200_000, len(strings)),
                      np.where(pick < 0.15, np.where(pick < 0.1, COUNT_CAP, 255) + rng.integers(-2, 3, len(strings)),
                               rng.zipf(1.5, len(strings)) % 7 + 1)).astype(np.int64)
    enc, data, off = _rows(strings)
    want = sorted(range(len(enc)), key=lambda i: (-counts[i], enc[i]))
    for parts in (1, 2, 3):
        got = order_rows(counts, data, off[:-1], off[1:], parts=parts, min_parallel=0)
        assert got.tolist() == want
    assert sort.order_rows(counts, data, off[:-1], off[1:]).tolist() == want


def test_order_rows_small_inputs_and_all_tied_counts():
    from kernels.cpu.ngram_order import order_rows
    for strings, counts in [([], []), (["x"], [3]), (["b", "a"], [300, 300]), (["b", "a"], [1, 1]),
                            (["abcdefg", "abcdefgh", "abcdefg h", "abcdef"], [2, 2, 2, 2])]:
        enc, data, off = _rows(strings)
        c = np.array(counts, np.int64)
        want = sorted(range(len(enc)), key=lambda i: (-c[i], enc[i]))
        for parts in (1, 2):
            assert order_rows(c, data, off[:-1], off[1:], parts=parts, min_parallel=0).tolist() == want
