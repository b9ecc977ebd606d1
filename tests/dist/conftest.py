"""Fixtures of the distributed tests: one embedded cluster per module, and a small mixed
corpus (JSONL with bad lines and ids, text files, Parquet in one-row groups, gzip JSONL).

dask is a test dependency (``make test`` installs the ``dist`` extra): a missing dask is a
collection error here, never a skip."""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import dask
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from distributed import Client, LocalCluster

ROOT = Path(__file__).resolve().parents[2]
SEEDS = sorted((ROOT / "seeds").glob("*.txt"))


@pytest.fixture(scope="module")
def client():
    # the workers are spawned: they import engine from the checkout, whatever is installed
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    # one death allowed per task: a task that kills its worker once is rerun, twice is KilledWorker
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None,
                               processes=True, silence_logs=50)
        c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def _texts() -> list[str]:
    out = []
    for f in SEEDS:
        t = f.read_text(encoding="utf-8")
        words = t.split()
        out += [t, " ".join(words[: len(words) // 2]) + " une fin différente", t.replace("the", "a")]
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A folder read in this order: a.jsonl (bad lines, some ids, a duplicate), b/*.txt,
    c.parquet (one row a group, a null), d.jsonl.gz, e.jsonl (no final newline)."""
    d = tmp_path_factory.mktemp("corpus")
    texts = _texts()
    lines = []
    for i, t in enumerate(texts):
        if i % 5 == 2:
            lines.append("{not json")
        if i % 7 == 3:
            lines.append("")
        rec = {"text": t}
        if i % 2:
            rec["id"] = f"doc-{i % 4}"   # duplicate ids across partitions: warnings
        lines.append(json.dumps(rec, ensure_ascii=False))
    (d / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (d / "b").mkdir()
    for i, t in enumerate(texts[:4]):
        (d / "b" / f"{i}.txt").write_text(t[: 400 + 100 * i], encoding="utf-8")
    (d / "b" / "blank.txt").write_text("   \n", encoding="utf-8")
    rows = [t[:300] for t in texts[:6]] + [None] + [texts[0][:200]]
    pq.write_table(pa.table({"text": rows, "id": [f"p{i}" for i in range(len(rows))]}), d / "c.parquet",
                   row_group_size=1)
    with gzip.open(d / "d.jsonl.gz", "wt", encoding="utf-8") as f:
        for t in texts[:3]:
            f.write(json.dumps({"text": t[:500]}) + "\n")
    (d / "e.jsonl").write_text("\n".join(json.dumps({"text": t[100:600]}) for t in texts[:5]), encoding="utf-8")
    return d
