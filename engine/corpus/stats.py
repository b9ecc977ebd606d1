"""What a read skipped and warned about (:class:`ReadStats`), and the per-document checks
and one-line messages behind it."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from engine.stats import MAX_LOCATIONS


def _note(counts: Counter, locations: dict, reason: str, where: str, n: int) -> None:
    counts[reason] += n
    locs = locations.setdefault(reason, [])
    if len(locs) < MAX_LOCATIONS:
        locs.append(where)


@dataclass
class ReadStats:
    """What was read, what was skipped and what was warned about, with the first few
    locations per reason.

    ``skipped`` counts documents (or files, lines, row groups) left out; ``warnings``
    counts things read as they are but worth a word (a duplicate id, a path given twice),
    so that the skip counts stay exact.
    """
    documents: int = 0
    bytes: int = 0
    files: int = 0
    skipped: Counter = field(default_factory=Counter)
    locations: dict = field(default_factory=dict)
    warnings: Counter = field(default_factory=Counter)
    warning_locations: dict = field(default_factory=dict)
    # how JSONL / Parquet were read when a GPU backend asked for device ingest (on_device):
    # ``cudf`` / ``host`` chunks, documents and bytes, and why the host read what it read
    ingest: Counter = field(default_factory=Counter)
    ingest_reasons: Counter = field(default_factory=Counter)

    def note_ingest(self, way: str | None, reason: str | None = None, docs: int = 0, nbytes: int = 0,
                    file_bytes: int = 0, id_bytes: int = 0) -> None:
        """Count one input piece (a file, a JSONL chunk, a row group) read by ``way``
        (``"cudf"``, ``"host"``; None: figures only), with the host's ``reason``."""
        if way is not None:
            self.ingest[f"{way}_pieces"] += 1
        if reason is not None:
            self.ingest_reasons[reason] += 1
        for key, v in (("cudf_documents", docs), ("cudf_text_bytes", nbytes), ("cudf_file_bytes", file_bytes),
                       ("cudf_id_bytes", id_bytes)):
            if v:
                self.ingest[key] += v

    def ingest_counters(self) -> dict:
        """The job counters of the ingest (none when no device ingest was asked for):
        ``ingest`` (``cudf``, ``host`` or ``cudf+host``), ``ingest_reason`` (why the host read
        what it read, with counts) and the figures of :meth:`note_ingest`."""
        if not self.ingest and not self.ingest_reasons:
            return {}
        ways = [w for w in ("cudf", "host") if self.ingest.get(f"{w}_pieces")]
        out = {"ingest": "+".join(ways) or "host"}
        if self.ingest_reasons:
            out["ingest_reason"] = "; ".join(f"{r} ({n})" for r, n in sorted(self.ingest_reasons.items()))
        out.update({f"ingest_{k}": int(v) for k, v in sorted(self.ingest.items())})
        return out

    def skip(self, reason: str, where: str, n: int = 1) -> None:
        """Count ``n`` skipped items for ``reason`` at ``where``."""
        _note(self.skipped, self.locations, reason, where, n)

    def warn(self, reason: str, where: str, n: int = 1) -> None:
        """Count ``n`` warnings for ``reason`` at ``where`` (nothing is left out)."""
        _note(self.warnings, self.warning_locations, reason, where, n)

    @property
    def n_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def n_warnings(self) -> int:
        return sum(self.warnings.values())

    def summary_lines(self) -> list[str]:
        """``skipped N (reason): loc, loc ...`` then ``warning: N (reason): loc ...`` lines."""
        lines = []
        for prefix, counts, locations in (("skipped ", self.skipped, self.locations),
                                          ("warning: ", self.warnings, self.warning_locations)):
            for reason, n in sorted(counts.items()):
                locs = locations.get(reason, [])
                more = " ..." if n > len(locs) else ""
                lines.append(f"{prefix}{n} ({reason}): {', '.join(locs)}{more}")
        return lines

    def merge(self, other: "ReadStats") -> "ReadStats":
        """``self`` followed by ``other`` (a later partition of the corpus): sums, and the
        first locations per reason in that order, as one reader would have kept them."""
        self.documents += other.documents
        self.bytes += other.bytes
        self.files += other.files
        self.ingest.update(other.ingest)
        self.ingest_reasons.update(other.ingest_reasons)
        for mine_counts, mine_locs, counts, locs in (
                (self.skipped, self.locations, other.skipped, other.locations),
                (self.warnings, self.warning_locations, other.warnings, other.warning_locations)):
            mine_counts.update(counts)
            for reason, where in locs.items():
                kept = mine_locs.setdefault(reason, [])
                kept.extend(where[:max(MAX_LOCATIONS - len(kept), 0)])
        return self

    def as_dict(self) -> dict:
        return {"documents": self.documents, "bytes": self.bytes, "files": self.files,
                "skipped": dict(self.skipped), "skipped_locations": self.locations,
                "warnings": dict(self.warnings), "warning_locations": self.warning_locations}


def _doc_flaws(data: np.ndarray, offsets: np.ndarray, check_utf8: bool) -> np.ndarray:
    """Per document (int8): 0, or a ``kernels.cpu.text.doc_flaws`` code (blank by the Unicode
    tables, NUL byte, invalid UTF-8)."""
    from engine.normalize import get_tables
    flags = get_tables().flags
    if not check_utf8 and offsets.size > 1 and data[offsets[0]:offsets[-1]].all():
        # no NUL byte anywhere (one SIMD pass): only blank documents remain to be found, at
        # a few bytes each, where doc_flaws reads every byte of every document
        from kernels.cpu.jsonl_read import blank_flaws
        return blank_flaws(data, offsets, flags)
    from kernels.cpu.text import doc_flaws
    return doc_flaws(data, offsets, flags, check_utf8)


def _first_line(e: BaseException, limit: int = 160) -> str:
    """An exception's message on one short line (Arrow's may span several)."""
    msg = "".join(c if c.isprintable() else " " for c in str(e))   # Arrow may quote raw bytes
    msg = " ".join(msg.split()) or type(e).__name__
    return msg if len(msg) <= limit else msg[:limit - 3] + "..."
