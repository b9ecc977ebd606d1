"""kernels.cpu.bytecopy against plain slicing: every length, every alignment, copies that
end at the source's last byte (no read past it), and nothing written past the slack."""
import numpy as np
from numba import njit

from kernels.cpu.bytecopy import SLACK, copy_bytes


@njit(cache=False)
def _copy(src, s, dst, p, o, ln):
    copy_bytes(src, s, dst, p, o, ln)


def test_copy_bytes_matches_slicing_and_keeps_to_its_slack():
    rng = np.random.default_rng(3)
    src = rng.integers(0, 256, 301, dtype=np.uint8)
    for ln in range(0, 40):
        for s in list(range(0, 12)) + [src.size - ln - k for k in range(0, 9) if src.size - ln - k >= 0]:
            for o in range(0, 9):
                dst = np.full((3, 128), 7, np.uint8)
                _copy(src, np.int64(s), dst, np.int64(1), np.int64(o), np.int64(ln))
                assert bytes(dst[1, o:o + ln]) == bytes(src[s:s + ln])
                assert (dst[1, :o] == 7).all() and (dst[1, o + ln + SLACK - 1:] == 7).all()
                assert (dst[0] == 7).all() and (dst[2] == 7).all()


def test_word_ngram_strings_written_by_the_table_are_exact():
    """The counting kernel's strings (tokens joined by one space, copied eight bytes at a
    time) equal the Python join, for tokens of every length at the end of the text too."""
    from engine.corpus import batch_from_texts
    from engine.ngrams import count_ngrams
    from tests import reference
    words = ["a", "bb", "ccc", "dddd", "eeeee", "ffffff", "ggggggg", "hhhhhhhh", "iiiiiiiii",
             "jjjjjjjjjjjjjjjjj", "été", "日本語", "x" * 40]
    rng = np.random.default_rng(5)
    texts = [" ".join(rng.choice(words, rng.integers(1, 30))) for _ in range(200)] + ["x" * 40, "a"]
    got = count_ngrams([batch_from_texts(texts)], n="1-3", device="cpu")
    want = reference.word_ngram_counts(texts, (1, 2, 3))
    assert {(r["ngram"], r["n"]): (r["count"], r["doc_freq"]) for r in got.to_pylist()} == want
