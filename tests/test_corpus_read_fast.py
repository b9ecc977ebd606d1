"""The host reader's fast paths: the blank-only document check of NUL-free Arrow chunks
(``kernels.cpu.jsonl_read.blank_flaws``) against the full check and the definition."""
import json
import random

import numpy as np

from engine.corpus import CorpusReader
from engine.corpus.stats import _doc_flaws
from engine.normalize import get_tables
from kernels.constants import FLAW_BLANK, FLAW_NUL
from kernels.cpu.jsonl_read import blank_flaws
from kernels.cpu.text import doc_flaws

# Python's str.strip() whitespace (the definition of a blank document) and a few non-spaces
SPACES = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2003\u200a\u2028\u2029\u202f\u205f\u3000"
OTHERS = "a\u200bé😀\ufeff-\u00ad0"


def _flat(texts):
    raw = [t.encode("utf-8") for t in texts]
    off = np.zeros(len(raw) + 1, np.int64)
    np.cumsum([len(r) for r in raw], out=off[1:])
    return np.frombuffer(b"".join(raw), np.uint8).copy(), off


def _random_texts(seed, n=2000):
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        k = rng.choice([0, 1, 2, 5, 30])
        t = "".join(rng.choice(SPACES) for _ in range(k))
        if rng.random() < 0.5:
            pos = rng.randrange(k + 1)
            t = t[:pos] + rng.choice(OTHERS) + t[pos:]
        texts.append(t)
    return texts


def test_blank_flaws_is_doc_flaws_without_nul():
    flags = get_tables().flags
    for seed in range(3):
        texts = _random_texts(seed)
        data, off = _flat(texts)
        got = blank_flaws(data, off, flags)
        expected = np.array([FLAW_BLANK if not t.strip() else 0 for t in texts], np.int8)
        assert np.array_equal(got, expected)
        assert np.array_equal(got, doc_flaws(data, off, flags, False))
        assert np.array_equal(_doc_flaws(data, off, False), expected)


def test_doc_flaws_with_a_nul_byte_takes_the_full_check():
    texts = ["bon", " \u3000", "a\x00b", "", "\x00", "ok"]
    data, off = _flat(texts)
    assert _doc_flaws(data, off, False).tolist() == [0, FLAW_BLANK, FLAW_NUL, FLAW_BLANK, FLAW_NUL, 0]
    # a slice of a larger buffer: only the documents' bytes decide (a NUL outside is ignored)
    wide = np.concatenate([np.zeros(3, np.uint8), data[:off[2]], np.zeros(2, np.uint8)])
    assert _doc_flaws(wide, off[:3] + 3, False).tolist() == [0, FLAW_BLANK]


def test_jsonl_chunks_with_and_without_nul_read_as_the_definition(tmp_path):
    rng = random.Random(7)
    rows = []
    for i in range(600):
        r = rng.random()
        text = (rng.choice(["", " \u3000\t", "\u2028"]) if r < 0.15 else
                "x\x00y" if r < 0.17 else f"doc {i} {rng.choice(OTHERS)}")
        rows.append(json.dumps({"id": f"d{i}", "text": text}, ensure_ascii=rng.random() < 0.5))
    p = tmp_path / "c.jsonl"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    expected = [(o["id"], o["text"]) for o in map(json.loads, rows) if o["text"].strip() and "\x00" not in o["text"]]
    for chunk in (256, 4096, 1 << 20):   # small chunks: most hold no NUL (the blank-only check)
        reader = CorpusReader([p], json_chunk_bytes=chunk, batch_bytes=1000)
        docs = [(i, b.text(k)) for b in reader for k, i in enumerate(b.doc_ids)]
        assert docs == expected
        assert reader.stats.n_skipped == len(rows) - len(expected)
