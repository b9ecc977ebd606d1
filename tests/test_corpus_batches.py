"""Batch assembly (engine.corpus.batch._assemble): batches are even (no small remainder
between two full ones), bounded, and hold every document once, in corpus order."""
import json
import random

import numpy as np
import pytest

from engine.corpus import CorpusReader
from engine.corpus.batch import BATCH_SLACK, _assemble, _Block


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join("w%d" % rng.randrange(50) for _ in range(rng.randrange(5, 40))) for _ in range(n)]


def _check_documents(batches, ids, texts) -> None:
    """Every document once, in order, with its text and its corpus index (the oracle: the
    documents as written)."""
    got_ids = [i for b in batches for i in b.doc_ids]
    got_texts = [b.text(k) for b in batches for k in range(b.n_docs)]
    assert got_ids == ids
    assert got_texts == texts
    assert [b.doc_base for b in batches] == np.cumsum([0] + [b.n_docs for b in batches[:-1]]).tolist()


def _check_even(batches, batch_bytes: int, longest: int) -> None:
    """No batch past the bound by more than the slack (or one document); every batch but the
    corpus's last at least half the bound (less one document): no small remainder."""
    for b in batches:
        assert b.n_bytes <= batch_bytes * (1 + BATCH_SLACK) + longest
    for b in batches[:-1]:
        assert b.n_bytes >= batch_bytes // 2 - longest


@pytest.mark.parametrize("chunk", [700, 1500, 4000])
def test_reader_batches_are_even_and_complete(tmp_path, chunk):
    """The reader hands its pieces (JSON chunks parsed as blocks) to the assembly once they
    reach the bound, so they overshoot it by part of a chunk: that part is no batch of its own."""
    texts = _texts(600)
    ids = [f"d{i}" for i in range(len(texts))]
    p = tmp_path / "c.jsonl"
    p.write_text("".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in zip(ids, texts)), encoding="utf-8")
    batch_bytes = 3000
    batches = list(CorpusReader([p], batch_bytes=batch_bytes, json_chunk_bytes=chunk))
    _check_documents(batches, ids, texts)
    _check_even(batches, batch_bytes, max(len(t) for t in texts))
    assert len(batches) > 3


def test_text_files_make_even_batches(tmp_path):
    texts = _texts(80, seed=1)
    for i, t in enumerate(texts):
        (tmp_path / f"{i:03d}.txt").write_text(t, encoding="utf-8")
    batches = list(CorpusReader([tmp_path], batch_bytes=500))
    assert [b.text(k) for b in batches for k in range(b.n_docs)] == texts
    _check_even(batches, 500, max(len(t) for t in texts))


def _block(ids, texts) -> _Block:
    raw = [t.encode() for t in texts]
    off = np.zeros(len(raw) + 1, np.int64)
    np.cumsum([len(r) for r in raw], out=off[1:])
    return _Block(list(ids), np.frombuffer(b"".join(raw), np.uint8).copy(), off)


@pytest.mark.parametrize("batch_bytes", [1, 97, 1000, 2600, 10 ** 6])
def test_assemble_mixed_pieces(batch_bytes):
    """Blocks and single documents mixed, a block larger than several batches, empty
    documents: the same documents in order, batches even."""
    texts = _texts(300, seed=2) + [""] * 3 + _texts(20, seed=3)
    ids = [str(i) for i in range(len(texts))]
    pieces = [_block(ids[:150], texts[:150])]
    pieces += [(ids[i], texts[i].encode()) for i in range(150, 170)]
    pieces += [_block(ids[170:171], texts[170:171]), _block(ids[171:], texts[171:])]
    batches = list(_assemble(pieces, 0, batch_bytes))
    _check_documents(batches, ids, texts)
    longest = max(len(t.encode()) for t in texts)
    total = sum(len(t.encode()) for t in texts)
    if batch_bytes >= longest:
        _check_even(batches, batch_bytes, longest)
        assert len(batches) == max(1, -(-total // batch_bytes)) or total <= batch_bytes * (1 + BATCH_SLACK)


def test_assemble_within_the_slack_is_one_batch():
    """The reader's case: the bound reached by a little: one batch, not the bound and a remainder."""
    texts = ["x" * 100] * 11
    batches = list(_assemble([_block(map(str, range(11)), texts)], 5, 1000))
    assert [b.n_docs for b in batches] == [11]
    assert batches[0].doc_base == 5
