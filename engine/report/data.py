"""What the report shows: :class:`ReportData` (plain numbers and strings gathered by engine.analyze)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

__all__ = ["ReportData"]


@dataclass
class ReportData:
    """Everything the report shows.  Every section is optional (``None``: not shown, or its
    ``{"error": "..."}`` dict: the section says why it is missing)."""
    title: str = "corpus-engine analysis"
    inputs: list[str] = field(default_factory=list)
    # ordered label -> value (ints are shown exactly as the CLI prints them)
    summary: dict[str, Any] = field(default_factory=dict)
    # (reason, count, first locations)
    skipped: list[tuple[str, int, list[str]]] = field(default_factory=list)
    languages: Optional[dict[str, int]] = None
    languages_note: str = ""
    # n -> rows (ngram, count, doc_freq), most frequent first
    ngrams: dict[int, list[tuple[str, int, int]]] = field(default_factory=dict)
    ngrams_note: str = ""
    # every unigram count (stop words kept), most frequent first, and the top words for labels
    zipf_counts: Optional[np.ndarray] = None
    zipf_words: list[str] = field(default_factory=list)
    zipf_note: str = ""
    # {"doc_ids", "matrix", "matrix_title", "clusters": [{"representative", "size", "members",
    #  "max_jaccard"}], "summary": {...}, "note"} or {"error": ...}
    minhash: Optional[dict] = None
    # {"measure", "terms": {term: [{"term", "score", "count"}]}, "note"} or {"error": ...}
    cooc: Optional[dict] = None
    params: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    created: str = ""
    command: str = ""
    # the run's engine.stats.JobStats (``corpus analyze --stats``); not shown in the report
    stats: Optional[Any] = None

