"""One shape of statistics for every job: what was read, skipped, counted, and where the
time went.

Every job's result carries a :class:`JobStats` (``result.stats``); ``corpus ... --stats
PATH.json`` writes :meth:`JobStats.as_dict`. Partial stats of several partitions
:meth:`merge` exactly (sums; first locations in partition order), so a distributed run
reports what one process would.
"""
from __future__ import annotations

import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

__all__ = ["JobStats", "MAX_LOCATIONS"]

MAX_LOCATIONS = 5   # as the reader keeps: the first few locations per reason


def _merge_locations(into: dict, other: dict) -> None:
    for reason, locs in other.items():
        mine = into.setdefault(reason, [])
        mine.extend(locs[:max(MAX_LOCATIONS - len(mine), 0)])


@dataclass
class JobStats:
    """Counters of one job (or one partition of it).

    Parameters
    ----------
    job : str
        ``ngrams``, ``minhash``, ``cooc`` or ``similarity``.
    backend : str
        The backend's description (``cpu (numba 0.68, 2 threads)``).
    documents, tokens, bytes, files : int
        What was read and tokenised.
    skipped, warnings : collections.Counter
        The reader's skipped documents and warnings, by reason.
    skipped_locations, warning_locations : dict
        Reason -> the first ``MAX_LOCATIONS`` locations (``FILE:LINE``...).
    seconds : dict
        Seconds per stage (``read``, ``tokenize``, ``count``, ``order``, ``write``...).
    host_to_device_bytes, device_to_host_bytes : int
        Copies between host and GPU (0 on the CPU).
    counters : dict
        Job-specific figures (``candidate_pairs``, ``distinct_keys``...).
    """
    job: str = ""
    backend: str = ""
    documents: int = 0
    tokens: int = 0
    bytes: int = 0
    files: int = 0
    skipped: Counter = field(default_factory=Counter)
    skipped_locations: dict = field(default_factory=dict)
    warnings: Counter = field(default_factory=Counter)
    warning_locations: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)
    host_to_device_bytes: int = 0
    device_to_host_bytes: int = 0
    counters: dict = field(default_factory=dict)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the seconds spent in the ``with`` block to stage ``name``.

        Parameters
        ----------
        name : str
            The stage (a key of :attr:`seconds`); time adds up over several blocks.
        """
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    def add_read(self, read_stats) -> "JobStats":
        """Take over what the reader reported.

        Parameters
        ----------
        read_stats : engine.corpus.ReadStats or None
            Its files, skips and warnings are added; its documents and bytes are taken only
            when the job did not count them itself.

        Returns
        -------
        JobStats
            ``self``.
        """
        if read_stats is None:
            return self
        self.files += read_stats.files
        self.documents = self.documents or read_stats.documents
        self.bytes = self.bytes or read_stats.bytes
        self.skipped.update(read_stats.skipped)
        _merge_locations(self.skipped_locations, read_stats.locations)
        self.warnings.update(read_stats.warnings)
        _merge_locations(self.warning_locations, read_stats.warning_locations)
        self.counters.update(getattr(read_stats, "ingest_counters", dict)())   # cuDF or host, and why
        return self

    def merge(self, other: "JobStats") -> "JobStats":
        """Add the stats of the partition after this one (exact, in partition order).

        Parameters
        ----------
        other : JobStats
            The later partition's stats.

        Returns
        -------
        JobStats
            ``self``: counts, seconds and numeric counters summed, the first locations kept
            in order (``self``'s first), the first non-empty job and backend names.
        """
        for name in ("documents", "tokens", "bytes", "files", "host_to_device_bytes",
                     "device_to_host_bytes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.job = self.job or other.job
        self.backend = self.backend or other.backend
        self.skipped.update(other.skipped)
        _merge_locations(self.skipped_locations, other.skipped_locations)
        self.warnings.update(other.warnings)
        _merge_locations(self.warning_locations, other.warning_locations)
        for k, v in other.seconds.items():
            self.seconds[k] = self.seconds.get(k, 0.0) + v
        for k, v in other.counters.items():
            self.counters[k] = self.counters.get(k, 0) + v if isinstance(v, (int, float)) else v
        return self

    @property
    def total_seconds(self) -> float:
        """Seconds of all stages together."""
        return sum(self.seconds.values())

    def as_dict(self) -> dict:
        """The stats as plain data.

        Returns
        -------
        dict
            JSON-ready (ints, floats rounded to the microsecond, strings, lists and dicts):
            what ``--stats PATH.json`` writes.
        """
        return {"job": self.job, "backend": self.backend, "documents": int(self.documents),
                "tokens": int(self.tokens), "bytes": int(self.bytes), "files": int(self.files),
                "skipped": dict(self.skipped), "skipped_locations": self.skipped_locations,
                "warnings": dict(self.warnings), "warning_locations": self.warning_locations,
                "seconds": {k: round(v, 6) for k, v in self.seconds.items()},
                "host_to_device_bytes": int(self.host_to_device_bytes),
                "device_to_host_bytes": int(self.device_to_host_bytes),
                "counters": {k: (int(v) if hasattr(v, "dtype") else v) for k, v in self.counters.items()}}

    def to_json(self) -> str:
        """:meth:`as_dict` as indented JSON text, ending with a newline."""
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"
