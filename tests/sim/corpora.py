"""Corpus files of the simulator tests of device ingest (tests/sim/test_gpu_ingest.py,
tests/sim/test_analyze_sim.py): JSONL and Parquet written from texts."""
import json

import pyarrow as pa
import pyarrow.parquet as pq

from engine.resources import seeds_dir


def write_jsonl(path, lines):
    """``lines`` (bytes as they are, anything else as one JSON line) written to ``path``."""
    path.write_bytes(b"".join(x if isinstance(x, bytes) else json.dumps(x).encode() for x in lines))
    return path


def write_parquet(path, texts, ids, group):
    """An ``id`` and a ``text`` column, ``group`` rows a row group."""
    pq.write_table(pa.table({"id": pa.array(ids), "text": pa.array(texts, pa.string())}), path, row_group_size=group)
    return path


def real_texts(topics: int = 40) -> list[str]:
    """The seed articles, two edited copies (MinHash pairs) and the first ``topics`` Python
    reference topics (``pydoc_data``, shipped with CPython)."""
    import pydoc_data.topics
    texts = [p.read_text("utf-8") for p in sorted(seeds_dir().glob("*.txt"))]
    texts += [texts[0].replace("the", "a", 3), texts[2] + " One more sentence at the end."]
    for name in sorted(pydoc_data.topics.topics)[:topics]:
        texts.append(pydoc_data.topics.topics[name])
    return texts


def jsonl_and_parquet(tmp_path, texts):
    """The first half of ``texts`` as a JSONL file, the rest as a Parquet file of 8-row groups."""
    half = len(texts) // 2
    j = write_jsonl(tmp_path / "c.jsonl", [json.dumps({"id": f"j{i}", "text": t}).encode() + b"\n"
                                           for i, t in enumerate(texts[:half])])
    p = write_parquet(tmp_path / "c.parquet", texts[half:], [f"p{i}" for i in range(len(texts) - half)], 8)
    return [j, p]
