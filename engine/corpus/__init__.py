"""Corpus readers: files, folders, JSONL (plain, gzip, zstd) and Parquet -> Batch.

Every reader yields :class:`Batch` objects, flat arrays of valid UTF-8 bytes plus
document offsets and ids, bounded in size (``batch_bytes``), so memory does not
grow with the corpus.  Bad input is skipped and counted in :class:`ReadStats`
(reason, count, first locations) or, with ``strict=True``, raised as a
:class:`CorpusError` naming the file and line.  What is read but worth a word
(a duplicate id, a file given twice) is a warning: counted apart, never raised.

Locations are ``FILE`` (a text file, a file-level problem), ``FILE:LINE`` (JSONL, lines
from 1), ``FILE:row R`` (Parquet, rows from 0) and ``FILE:row group G`` (Parquet).

Modules: :mod:`.batch` (Batch, CorpusError, assembly), :mod:`.stats` (ReadStats),
:mod:`.walk` (discovery), :mod:`.encoding` (codecs, ``auto``), :mod:`.streams` (gzip, zstd,
transcoding, file pieces), :mod:`.ids`, :mod:`.jsonl`, :mod:`.arrow` (Parquet) and
:mod:`.reader` (CorpusReader).
"""
from engine.corpus.batch import DEFAULT_BATCH_BYTES, Batch, CorpusError, batch_from_texts
from engine.corpus.encoding import (
           MARK_ERRORS,
           SNIFF_BYTES,
           _checked_encoding,
           _detect_encoding,
           _is_utf8,
           _wide_under_narrow,
)
from engine.corpus.ids import _IdSet
from engine.corpus.reader import CorpusReader, read_corpus
from engine.corpus.stats import ReadStats
from engine.corpus.streams import TRANSCODE_READ, ZSTD_READ, FilePiece
from engine.corpus.walk import JSONL_SUFFIXES, PARQUET_SUFFIXES, TEXT_SUFFIXES, _kind
from engine.stats import MAX_LOCATIONS

__all__ = ["Batch", "CorpusError", "ReadStats", "CorpusReader", "FilePiece", "read_corpus",
           "batch_from_texts", "TEXT_SUFFIXES"]

# Re-exported for the modules and tests that import them from engine.corpus (not public API).
_REEXPORTED = (DEFAULT_BATCH_BYTES, JSONL_SUFFIXES, PARQUET_SUFFIXES, SNIFF_BYTES, TRANSCODE_READ,
               ZSTD_READ, MARK_ERRORS, MAX_LOCATIONS, _checked_encoding, _detect_encoding, _is_utf8,
               _wide_under_narrow, _IdSet, _kind)
