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


@pytest.mark.parametrize("pack_min", [2, 50, 10**9])
def test_order_rows_numpy_sorted_groups_match_python_sort(monkeypatch, pack_min):
    """Count groups sorted by numpy's sort of packed (prefix, index) keys (any group of
    ``pack_min`` rows or more) or in numba: both the order of Python's sort."""
    from kernels.cpu import ngram_order
    monkeypatch.setattr(ngram_order, "PACK_MIN", pack_min)
    rng = np.random.default_rng(7)
    stems = ["", "of the ", "of the same ", "abcd", "abcde", "abcdef", "x" * 20, "x" * 21, "ü"]
    strings = sorted({rng.choice(stems) + "".join(rng.choice(list("ab é"), rng.integers(0, 30)))
                      for _ in range(3000)} - {""})
    rng.shuffle(strings)
    counts = (rng.zipf(1.8, len(strings)) % 5 + 1).astype(np.int64)
    enc, data, off = _rows(strings)
    want = sorted(range(len(enc)), key=lambda i: (-counts[i], enc[i]))
    for parts in (1, 2, 5):
        got = ngram_order.order_rows(counts, data, off[:-1], off[1:], parts=parts, min_parallel=0)
        assert got.tolist() == want


@pytest.mark.parametrize("size", [0, 1, 2, 16, 17, 100, 3000])
def test_sort_pairs128_matches_lexsort(size):
    """The 128-bit run sort against numpy's lexsort, on random, tied, sorted, reversed and
    organ-pipe keys; the payload moves with its key."""
    from kernels.cpu.ngram_order import TODO_ROWS, sort_pairs128
    rng = np.random.default_rng(size)
    todo = np.empty((TODO_ROWS, 3), np.int64)
    half = np.arange(size // 2, dtype=np.uint64)
    cases = [rng.integers(0, 2**64, size, dtype=np.uint64), rng.integers(0, 3, size).astype(np.uint64),
             np.arange(size, dtype=np.uint64), np.arange(size, dtype=np.uint64)[::-1].copy(),
             np.zeros(size, np.uint64), np.concatenate([half, half[::-1], np.zeros(size % 2, np.uint64)])]
    for ka in cases:
        kb = rng.integers(0, 4, size).astype(np.uint64) << np.uint64(62)
        order = np.arange(size, dtype=np.int32)
        a, b = ka.copy(), kb.copy()
        sort_pairs128(order, a, b, 0, size, todo)
        assert np.array_equal(a, ka[order]) and np.array_equal(b, kb[order])
        want = np.lexsort((kb, ka))
        assert np.array_equal(ka[order], ka[want]) and np.array_equal(kb[order], kb[want])


def test_gather_rows_matches_python():
    """Strings and columns of rows in a given order, as plain Python slices them."""
    from kernels.cpu.ngram_rows import gather_rows
    rng = np.random.default_rng(3)
    strings = ["".join(rng.choice(list("abc é日"), rng.integers(0, 9))) for _ in range(250_000)]
    enc, data, off = _rows(strings)
    m = len(enc)
    n = rng.integers(1, 4, m).astype(np.int8)
    counts, dfs = rng.integers(1, 10**6, m), rng.integers(1, 100, m)
    for rows in (rng.permutation(m), rng.choice(m, 1000, replace=False), np.empty(0, np.int64)):
        for parts in (1, 2, 3):
            out, o, gn, gc, gd = gather_rows(rows, data, off, n, counts, dfs, parts=parts, min_part=1)
            assert o.dtype == np.int32 and o.size == rows.size + 1 and o[0] == 0
            assert bytes(out) == b"".join(enc[r] for r in rows)
            assert [bytes(out[o[i]:o[i + 1]]) for i in range(rows.size)] == [enc[r] for r in rows]
            assert gn.tolist() == n[rows].tolist() and gc.tolist() == counts[rows].tolist()
            assert gd.tolist() == dfs[rows].tolist()
