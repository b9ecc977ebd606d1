"""One definition of normalisation and tokens, everywhere.

The definition (the reference, and what ``tests/reference.py`` implements in
plain Python)::

    text  = unicodedata.normalize("NFKC", s).casefold()
    text  = strip_accents(text)            # only with strip_accents=True:
                                           # NFD, then drop every combining mark
    text  = re.sub(r"\\s+", " ", text)      # whitespace runs -> one space
    words = re.findall(r"\\w+", text)

The kernels do not call Python per character: they look each code point up in
tables built here, once, from the running interpreter's ``unicodedata`` and
``re`` (so ``\\w`` means exactly what it means to ``re``), and cached on disk
keyed by the Unicode version.  A per-code-point mapping equals the whole-string
NFKC only when no composition or canonical reordering can happen, so every code
point whose compatibility decomposition starts with a combining mark
(combining class != 0) or with a character that can be the second half of a
canonical composition (the only ways a code point can interact with what
precedes it) is flagged *unsafe*; a document containing one takes the
exact slow path (:func:`normalize_text`, the definition above, in Python).  On
real text that is rare: precomposed accents (é, à, ç) are safe.
"""
from __future__ import annotations

import os
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kernels.constants import IDENT, SPACE, UNSAFE, WORD  # the code-point flags (re-exported)

__all__ = ["Tables", "get_tables", "normalize_text", "reference_tokens",
           "WORD", "SPACE", "UNSAFE", "IDENT"]

TABLE_FORMAT = 3
N_CODEPOINTS = 0x110000

_WS = re.compile(r"\s+")
_WORD_RE = re.compile(r"\w+")


def _strip(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if not unicodedata.combining(c))


def normalize_text(s: str, strip_accents: bool = False) -> str:
    """The exact normalisation (the slow path and the definition)."""
    t = unicodedata.normalize("NFKC", s).casefold()
    if strip_accents:
        t = _strip(t)
    return _WS.sub(" ", t)


def reference_tokens(s: str, strip_accents: bool = False) -> list[str]:
    """Tokens of ``s`` by the definition (used for stop-word lists and tests)."""
    return _WORD_RE.findall(normalize_text(s, strip_accents))


@dataclass(frozen=True)
class Tables:
    """Per-code-point tables read by the normalise and tokenize kernels."""
    flags: np.ndarray      # uint8[0x110000]: WORD | SPACE | UNSAFE | IDENT
    map_off: np.ndarray    # int32[0x110000]: start of the mapping in map_cps
    map_len: np.ndarray    # uint8[0x110000]: length of the mapping (code points)
    map_cps: np.ndarray    # int32[K]: concatenated mappings
    strip_accents: bool
    unicode_version: str


def _composition_seconds() -> set[int]:
    seconds = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))  # Hangul V, T jamo
    for cp in range(N_CODEPOINTS):
        d = unicodedata.decomposition(chr(cp)) if 0xD800 > cp or cp > 0xDFFF else ""
        if d and not d.startswith("<"):
            parts = d.split()
            if len(parts) == 2:
                seconds.add(int(parts[1], 16))
    return seconds


def _build(strip_accents: bool) -> Tables:
    flags = np.zeros(N_CODEPOINTS, dtype=np.uint8)
    map_off = np.zeros(N_CODEPOINTS, dtype=np.int32)
    map_len = np.zeros(N_CODEPOINTS, dtype=np.uint8)
    cps: list[int] = []
    seconds = _composition_seconds()
    word = re.compile(r"\w")
    for cp in range(N_CODEPOINTS):
        if 0xD800 <= cp <= 0xDFFF:
            flags[cp] = IDENT  # cannot occur in valid UTF-8
            continue
        c = chr(cp)
        f = 0
        if word.match(c):
            f |= WORD
        if c.isspace():
            f |= SPACE
        if unicodedata.category(c) in ("Cn", "Co"):
            flags[cp] = f | IDENT
            continue
        first = unicodedata.normalize("NFKD", c)[0]
        if unicodedata.combining(first) or ord(first) in seconds:
            f |= UNSAFE
        m = unicodedata.normalize("NFKC", c).casefold()
        if strip_accents:
            m = _strip(m)
        if m == c:
            f |= IDENT
        else:
            map_off[cp] = len(cps)
            map_len[cp] = len(m)
            cps.extend(ord(x) for x in m)
        flags[cp] = f
    # the kernels' ASCII fast path relies on this (true of every Unicode version so far)
    for cp in range(0x80):
        low = cp + 32 if 65 <= cp <= 90 else cp
        if (flags[cp] & UNSAFE or flags[cp] & (WORD | SPACE) != flags[low] & (WORD | SPACE)
                or not (flags[cp] & IDENT if low == cp else map_len[cp] == 1 and cps[map_off[cp]] == low)):
            raise RuntimeError(f"Unicode {unicodedata.unidata_version}: U+{cp:04X} breaks the ASCII fast path")
    return Tables(flags, map_off, map_len, np.asarray(cps or [0], dtype=np.int32),
                  strip_accents, unicodedata.unidata_version)


def _cache_dir() -> Path:
    if os.environ.get("CORPUS_ENGINE_CACHE"):
        return Path(os.environ["CORPUS_ENGINE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "corpus-engine"


_MEMO: dict[bool, Tables] = {}


def get_tables(strip_accents: bool = False) -> Tables:
    """Tables for this interpreter's Unicode version, from memory, disk cache, or built (~3 s)."""
    if strip_accents in _MEMO:
        return _MEMO[strip_accents]
    key = (f"unicode-{unicodedata.unidata_version}-py{sys.version_info[0]}{sys.version_info[1]}"
           f"-strip{int(strip_accents)}-v{TABLE_FORMAT}.npz")
    path = _cache_dir() / key
    tables = None
    if path.exists():
        try:
            with np.load(path) as z:
                tables = Tables(z["flags"], z["map_off"], z["map_len"], z["map_cps"],
                                strip_accents, unicodedata.unidata_version)
        except Exception:  # a corrupt cache file is rebuilt, never trusted
            tables = None
    if tables is None:
        tables = _build(strip_accents)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez_compressed(tmp, flags=tables.flags, map_off=tables.map_off,
                                map_len=tables.map_len, map_cps=tables.map_cps)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only home still works, just slower to start
    _MEMO[strip_accents] = tables
    return tables


_EXPAND: dict = {}


def max_expansion(tables: Tables) -> int:
    """Upper bound of normalised bytes per input byte under ``tables`` (11 for Unicode 15):
    the fused CPU kernels size their per-document scratch with it."""
    key = id(tables)
    if key not in _EXPAND:
        def u8(cp):
            return np.where(cp < 0x80, 1, np.where(cp < 0x800, 2, np.where(cp < 0x10000, 3, 4)))
        mapped = np.flatnonzero(tables.map_len)
        cum = np.zeros(tables.map_cps.size + 1, np.int64)
        np.cumsum(u8(tables.map_cps.astype(np.int64)), out=cum[1:])
        start = tables.map_off[mapped].astype(np.int64)
        out = cum[start + tables.map_len[mapped]] - cum[start]
        ratio = np.ceil(out / u8(mapped)).max() if mapped.size else 1
        _EXPAND[key] = (tables, max(int(ratio), 1))
    return _EXPAND[key][1]
