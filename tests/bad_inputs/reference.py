"""Plain-Python reference of what the reader keeps and what it reports (no engine code).

The rules (README "Bad input" and issue 9), one JSONL line at a time:

* lines are split on ``\\n``; a line that is empty or only whitespace is ignored silently
  (it still counts for the line numbers); a UTF-8 BOM at the start of the file is ignored;
* the line's bytes must decode under the encoding (strictly) -> else ``utf8``;
* the line must be exactly one JSON value (RFC 8259: no raw control characters inside
  strings, nothing after the value) -> else ``malformed``;
* the value must be an object -> else ``object``;
* its text field must be a string -> else ``field`` (missing, number, null, list...);
* the text must not be empty or whitespace only -> else ``empty``;
* it must not hold NUL -> else ``nul``;
* it must be encodable as UTF-8 (no lone surrogate from a ``\\ud800`` escape) -> else ``surrogate``.

The id of a kept document is its id field's JSON text (``1``, ``2.5``,
``9007199254740993`` exactly as written; a string as itself), or ``NAME:LINE``
when the field is missing or null.
"""
from __future__ import annotations

import json
import zlib

REASON_RE = {
    # keyword regexes (re.I) the skip reason must match, per category
    "utf8": r"utf-?8|encoding|decod",
    "malformed": r"malformed|json|pars",
    "object": r"object",
    "field": r"missing|non-string|not a string|field|string",
    "empty": r"empty|blank",
    "nul": r"nul|binary",
    "surrogate": r"surrogate|unicode|utf-?8",
    "binary": r"binary|nul",
}


class _Num:
    """A JSON number, kept as its text."""
    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


def _id_text(v, default):
    if v is None:
        return default
    if isinstance(v, str):
        return v
    if isinstance(v, _Num):
        return v.text
    if isinstance(v, bool):
        return "true" if v else "false"
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


def _reject_constant(name):
    raise ValueError(f"not JSON: {name}")


def parse_line(line: str):
    """The JSON value of one line (numbers as _Num), or raise ValueError."""
    return json.loads(line, parse_int=_Num, parse_float=_Num, parse_constant=_reject_constant)


def jsonl_documents(data: bytes, name: str, encoding: str = "utf-8", text_field: str = "text",
                    id_field: str = "id", first_line: int = 1):
    """(docs [(id, text)], skips [(category, line)]) of a JSONL file's bytes, by the rules above."""
    docs, skips = [], []
    if encoding.replace("_", "-").lower() in ("utf-8", "utf8") and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for lineno, raw in enumerate(data.split(b"\n"), first_line):
        if not raw.strip():
            continue
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError:
            skips.append(("utf8", lineno))
            continue
        try:
            obj = parse_line(line)
        except (ValueError, RecursionError):   # RecursionError: nesting deeper than Python parses
            skips.append(("malformed", lineno))
            continue
        if not isinstance(obj, dict):
            skips.append(("object", lineno))
            continue
        text = obj.get(text_field)
        if not isinstance(text, str):
            skips.append(("field", lineno))
            continue
        if not text.strip():
            skips.append(("empty", lineno))
            continue
        if "\x00" in text:
            skips.append(("nul", lineno))
            continue
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            skips.append(("surrogate", lineno))
            continue
        docs.append((_id_text(obj.get(id_field), f"{name}:{lineno}"), text))
    return docs, skips


def text_document(data: bytes, doc_id: str, encoding: str = "utf-8"):
    """(doc or None, category or None) of a whole text file."""
    if not data.strip():
        return None, "empty"
    if b"\x00" in data and not encoding.lower().startswith("utf-16"):
        return None, "binary"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None, "utf8"
    if encoding.lower() in ("utf-8", "utf8") and text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        return None, "empty"
    return (doc_id, text), None


def complete_lines_of_prefix(prefix: bytes) -> bytes:
    """The whole lines (through the last newline) of a decompressed prefix."""
    return prefix[:prefix.rfind(b"\n") + 1]


def gzip_prefix(truncated: bytes) -> bytes:
    """What a gzip stream's truncated bytes decompress to (as far as they go)."""
    d = zlib.decompressobj(wbits=31)
    return d.decompress(truncated)


def zstd_prefix(truncated: bytes) -> bytes:
    import zstandard
    d = zstandard.ZstdDecompressor().decompressobj()
    try:
        return d.decompress(truncated)
    except zstandard.ZstdError:
        return b""
