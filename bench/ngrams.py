"""n-gram benchmark: word 1-3 grams, from JSONL files to a result table.

Tools (each returns a table of ngram, count, doc_freq, so all do the same job):

- ``engine-cpu``: ``engine.ngrams.count_ngrams(paths, n=(1, 3), device="cpu")``, the reference row.
- ``engine-cpu-top1000``: the same counting with ``top=1000`` (per n): only those rows are
  ordered and returned, the usual "top n-grams" job.
- ``engine-gpu``: the same on ``device="gpu"``; absent (with the reason) without a usable GPU.
- ``sklearn``: ``CountVectorizer(ngram_range=(1, 3))`` with a ``\\w+`` token pattern, plus
  the column sums and document frequencies.  About 1 MB/s: its input is capped.
- ``counter``: a plain ``collections.Counter`` loop over ``re.findall(r"\\w+", NFKC(text).casefold())``,
  capped as well (its memory grows with distinct trigrams).
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

from bench.common import Tool, gpu_available

JOB = "ngrams"
N = (1, 3)
_WORD = re.compile(r"\w+")


def _read_texts(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def _engine(device: str, top: int | None = None):
    def run(path: Path) -> dict:
        from engine.ngrams import count_ngrams
        from engine.text import TextOptions
        table = count_ngrams([str(path)], n=N, char=False, top=top, min_count=1,
                             text=TextOptions(), device=device)
        return {"distinct": table.num_rows}
    return run


def _sklearn(path: Path) -> dict:
    import numpy as np
    import pyarrow as pa
    from sklearn.feature_extraction.text import CountVectorizer
    texts = _read_texts(path)
    cv = CountVectorizer(ngram_range=N, token_pattern=r"(?u)\w+", lowercase=True)
    x = cv.fit_transform(texts)
    counts = np.asarray(x.sum(axis=0)).ravel()
    dfs = np.diff(x.tocsc().indptr)
    names = cv.get_feature_names_out()
    table = pa.table({"ngram": names, "n": [s.count(" ") + 1 for s in names],
                      "count": counts, "doc_freq": dfs})
    return {"distinct": table.num_rows, "docs": len(texts)}


def _counter(path: Path) -> dict:
    import pyarrow as pa
    counts: Counter = Counter()
    dfs: Counter = Counter()
    docs = 0
    for text in _read_texts(path):
        docs += 1
        toks = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
        grams = []
        for n in range(N[0], N[1] + 1):
            grams += [" ".join(toks[i:i + n]) for i in range(len(toks) - n + 1)]
        counts.update(grams)
        dfs.update(set(grams))
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    table = pa.table({"ngram": [k for k, _ in items], "n": [k.count(" ") + 1 for k, _ in items],
                      "count": [v for _, v in items], "doc_freq": [dfs[k] for k, _ in items]})
    return {"distinct": table.num_rows, "docs": docs}


def tools(quick: bool = False) -> dict[str, Tool]:
    cap = 0.5 if quick else 4.0
    return {
        "engine-cpu": Tool(run=_engine("cpu"), kind="engine", device="cpu", reference=True,
                           requires=("engine.ngrams",),
                           hint="corpus-engine n-gram job not built yet"),
        # the same counting, but only the 1000 most frequent per n are ordered and returned
        "engine-cpu-top1000": Tool(run=_engine("cpu", top=1000), kind="engine", device="cpu",
                                   requires=("engine.ngrams",)),
        "engine-gpu": Tool(run=_engine("gpu"), kind="engine", device="gpu",
                           requires=("engine.ngrams",), available=gpu_available,
                           hint="pip install 'corpus-engine[gpu]'"),
        "sklearn": Tool(run=_sklearn, requires=("sklearn",), max_mb=cap,
                        hint="pip install scikit-learn"),
        "counter": Tool(run=_counter, max_mb=cap if quick else 10.0),
    }
