"""The cheap check that decides, chunk by chunk, whether cuDF may parse JSONL lines.

The host reader's JSONL semantics (engine.corpus.jsonl) are Python's ``json`` module's:
strict JSON, one object a line, skips named per line.  cuDF's JSON reader is a different
parser; where its behaviour on a flaw is not known to be the same (blank lines, invalid
UTF-8, control characters, lone surrogates, NaN, trailing commas, duplicate keys, a text
or id that is not a string...), the chunk goes to the host parser instead.  This check
finds every such flaw with a few vectorised scans of the raw bytes (numpy and Arrow's
SIMD UTF-8 validator, no parse, several hundred MB/s): it may refuse a clean chunk (a
false alarm costs speed only), never accept a flawed one among the flaws listed.

What the check leaves to cuDF, and how each is caught after the parse (engine.gpu.ingest):

* a missing text field: a null row, skipped as the host skips it (same reason, line);
* a blank text or one holding NUL (``\\u0000``): found on the device by the same flaw
  rules as the host (kernels.cuda.ingest.doc_flaws);
* other malformed JSON (a missing comma, an unquoted key): cuDF's tokenizer raises, and
  the chunk goes to the host parser; a row count other than the line count (two objects on
  a line) sends it there too.

A real GPU is needed to confirm the last point on every malformation (tests/gpu).
"""
from __future__ import annotations

import json

import numpy as np

__all__ = ["field_pattern", "chunk_flaw"]

_OPEN, _CLOSE, _QUOTE, _BACKSLASH, _COLON, _SPACE = ord("{"), ord("}"), ord('"'), ord("\\"), ord(":"), ord(" ")
_ESCAPES = np.frombuffer(b'"\\/bfnrtu', np.uint8)
_HEX = np.frombuffer(b"0123456789abcdefABCDEF", np.uint8)
_HIGH = np.frombuffer(b"89abAB", np.uint8)    # \uD8.. to \uDB..: a high surrogate
_LOW = np.frombuffer(b"cdefCDEF", np.uint8)   # \uDC.. to \uDF..: a low surrogate
_BRACKETS = np.frombuffer(b"{[", np.uint8)
MAX_DEPTH = 200   # Python's parser recurses per level (the host skips deep lines as malformed)
_CONSTANT_BEFORE = b":,[-"   # NaN / Infinity where a JSON value starts (Python accepts them; JSON not)


def field_pattern(name: str) -> bytes | None:
    """The bytes of ``"name"`` as a JSON key is written, or None when the name is not plain
    ASCII without quotes, backslashes or control characters (then the key could be spelled
    with escapes that no byte scan sees: the device path is not used)."""
    if not name or not name.isascii() or any(c in name for c in '"\\') or not name.isprintable():
        return None
    return json.dumps(name).encode("ascii")


def _find_all(a: np.ndarray, pat: bytes) -> np.ndarray:
    """Start positions of ``pat`` in ``a`` (vectorised: candidates narrowed byte by byte)."""
    if a.size < len(pat):
        return np.empty(0, np.int64)
    q = np.flatnonzero(a[:a.size - len(pat) + 1] == pat[0])
    for k in range(1, len(pat)):
        q = q[a[q + k] == pat[k]]
    return q


def _utf8_valid(a: np.ndarray) -> bool:
    import pyarrow as pa
    whole = pa.Array.from_buffers(pa.large_string(), 1, [None, pa.py_buffer(np.array([0, a.size], np.int64)),
                                                         pa.py_buffer(a)])
    try:
        whole.validate(full=True)
        return True
    except pa.ArrowInvalid:
        return False


def _escape_flaw(a: np.ndarray) -> str | None:
    """Backslash escapes Python would refuse or decode otherwise than strict JSON says."""
    bs = np.flatnonzero(a == _BACKSLASH)
    if not bs.size:
        return None
    if bs[-1] + 1 >= a.size:
        return "an escape at the end of a line"
    nxt = a[bs + 1]
    if not np.isin(nxt, _ESCAPES).all():
        return "unusual escapes"      # \x and the like (or \\ before one: a false alarm, fine)
    u = bs[nxt == ord("u")]
    if not u.size:
        return None
    if u[-1] + 5 >= a.size:
        return "a truncated \\u escape"
    digits = a[u[:, None] + np.arange(2, 6)]
    if not np.isin(digits, _HEX).all():
        return "a malformed \\u escape"
    if ((digits[:, 0] == ord("0")) & (digits[:, 1] == ord("0")) & (digits[:, 2] >= ord("2"))
            & (digits[:, 2] <= ord("7"))).any():
        # ASCII written as \u0020..\u007f (json.dumps never does it): a key could be spelled
        # so, "te\u0078t" being "text" to Python, and no byte scan would see the duplicate
        return "ASCII written as \\u escapes"
    sur = (digits[:, 0] | 0x20) == ord("d")
    high = u[sur & np.isin(digits[:, 1], _HIGH)]
    low = u[sur & np.isin(digits[:, 1], _LOW)]
    # every high surrogate followed by a low one, every low one preceded: pairs only (a lone
    # surrogate is "invalid unicode" to the host, and cuDF's decoding of one is unknown)
    if high.size != low.size or not np.array_equal(high + 6, low):
        return "lone surrogate escapes"
    return None


def _constant_flaw(buf, end: int) -> str | None:
    """NaN, Infinity where a value starts, and trailing commas: Python's json refuses them
    (the host reader skips the line as malformed); cuDF might not."""
    for pat in (b",}", b",]", b", }", b", ]"):
        if buf.find(pat, 0, end) >= 0:
            return "trailing commas"
    for word in (b"NaN", b"Infinity"):
        pos = buf.find(word, 0, end)
        while pos >= 0:
            k = pos - 1
            if k >= 0 and buf[k] == _SPACE:
                k -= 1
            if k >= 0 and buf[k] in _CONSTANT_BEFORE:
                return "NaN or Infinity"
            pos = buf.find(word, pos + 1, end)
    return None


def _field_flaw(a: np.ndarray, ends: np.ndarray, n_lines: int, pat: bytes, what: str) -> str | None:
    """At most one ``"name"`` a line, each a key whose value is a string (``:"`` or ``: "``)."""
    q = _find_all(a, pat)
    if not q.size:
        return None
    line = np.searchsorted(ends, q)
    if (np.bincount(line, minlength=n_lines) > 1).any():
        return f"{what} written twice on a line"
    v = q + len(pat)
    ok = (a[v] == _COLON) & ((a[v + 1] == _QUOTE) | ((a[v + 1] == _SPACE) & (a[v + 2] == _QUOTE)))
    if not ok.all():
        return f"{what} values that are not strings"
    return None


def chunk_flaw(buf, end: int, ends: np.ndarray, text_pat: bytes, id_pat: bytes | None) -> tuple[str | None, int]:
    """(why the whole JSONL lines ``buf[:end]`` (newlines at ``ends``) must take the host
    parser, or None; the number of lines).

    None means: valid UTF-8, no control byte but the newlines, every line ``{...}`` (no
    blank line, no CR), escapes that decode the same everywhere, no NaN/Infinity or trailing
    comma, the text and id fields at most once a line and string-valued, nesting shallow.
    """
    a = np.frombuffer(buf, np.uint8, end)
    n_lines = int(ends.size) + (end > 0 and a[end - 1] != 10)
    if end == 0:
        return "no lines", 0
    if int(np.count_nonzero(a < 0x20)) != int(ends.size):
        return "blank lines or control characters (CR, tab, NUL)", n_lines
    starts = np.concatenate([np.zeros(1, np.int64), ends + 1])[:n_lines]
    stops = np.append(ends, end)[:n_lines]
    if (stops <= starts).any():
        return "blank lines", n_lines
    if not ((a[starts] == _OPEN).all() and (a[stops - 1] == _CLOSE).all()):
        return "lines that do not hold one JSON object each", n_lines
    if not _utf8_valid(a):
        return "invalid UTF-8", n_lines
    why = _escape_flaw(a) or _constant_flaw(buf, end)
    if why:
        return why, n_lines
    opens = np.flatnonzero(np.isin(a, _BRACKETS))
    if opens.size and (np.bincount(np.searchsorted(ends, opens), minlength=n_lines) > MAX_DEPTH).any():
        return "deeply nested lines", n_lines
    for pat, what in ((text_pat, "the text field"), (id_pat, "the id field")):
        if pat is not None:
            why = _field_flaw(a, ends, n_lines, pat, what)
            if why:
                return why, n_lines
    return None, n_lines
