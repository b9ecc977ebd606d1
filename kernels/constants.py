"""Constants shared by the kernels and the engine, each defined once (numpy only: importing
this module compiles nothing).

Code-point flags (``engine.normalize`` builds the per-code-point table, the text cores read
it): one bit each, a code point may carry several.

Document flaws (``kernels.cpu.text.doc_flaws`` and the reader): why a document is skipped,
0 when it is usable.

Keys: ``EMPTY`` marks a free slot of the co-occurrence type tables and is never a pair key
(term ids are < 2**31, so a key's high word is < 2**31); ``LOW32`` masks the low word of a
uint64 key.
"""
from __future__ import annotations

import numpy as np

__all__ = ["WORD", "SPACE", "UNSAFE", "IDENT", "FLAW_BLANK", "FLAW_NUL", "FLAW_UTF8", "FLAW_MISSING",
           "EMPTY", "LOW32"]

# code-point flags
WORD = 1     # the code point matches re's \w
SPACE = 2    # the code point matches re's \s
UNSAFE = 4   # context-sensitive under NFKC: the document takes the exact slow path
IDENT = 8    # the code point maps to itself

# document flaws
FLAW_BLANK = 1     # empty, or only whitespace
FLAW_NUL = 2       # holds a NUL byte
FLAW_UTF8 = 3      # not valid UTF-8
FLAW_MISSING = 4   # a null row (Arrow / Parquet)

# uint64 keys
EMPTY = np.uint64(0xFFFFFFFFFFFFFFFF)
LOW32 = np.uint64(0xFFFFFFFF)
