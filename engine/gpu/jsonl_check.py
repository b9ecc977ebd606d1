"""The cheap check that decides, chunk by chunk, whether cuDF may parse JSONL lines.

The host reader's JSONL semantics (engine.corpus.jsonl) are Python's ``json`` module's:
strict JSON, one object a line, skips named per line.  cuDF's JSON reader is another parser;
where its behaviour on a flaw is not known to be the same, the chunk goes to the host parser
instead.  This check finds those flaws in the raw bytes, without a parse: it may refuse a
clean chunk (a false alarm costs speed only), never accept one with a flaw of the list below.

Three implementations give the same decision and the same reason on every chunk (tests):

* :func:`chunk_flaw_device`, what engine.gpu.ingest runs: the chunk's bytes on the device,
  one thread a line (kernels.cuda.jsonl_check around the per-line core kernels.jsonl_core,
  a byte state machine), the smallest flaw code reduced there, one byte back;
* :func:`chunk_flaw_njit`, the same core on the CPU (kernels.cpu.jsonl_check, a ``prange``
  over lines): 4-9x the numpy check on one thread (bench/jsonl_check.py, en and fr);
* :func:`chunk_flaw`, vectorised numpy scans and Arrow's SIMD UTF-8 validator: the oracle of
  the tests, written independently of the core (whole-chunk masks, not a per-line machine).

* bytes: valid UTF-8; no control byte but the newlines (so no blank line, CR or raw tab);
  every line ``{...}``;
* escapes: only JSON's, ``\\uXXXX`` with four hex digits, surrogates in pairs only (a lone one
  is "invalid unicode" to the host), no ASCII written as ``\\u0020``..``\\u007f`` (so a key
  cannot be spelled so, "te\\u0078t" being "text" to Python);
* the string mask (which bytes are inside string literals: unescaped quotes, an escaped
  quote being one after an odd run of backslashes) then gives the structure exactly:
  outside strings only ``{}[],:``, spaces, numbers in JSON's syntax and ``true``/``false``/
  ``null`` (so no NaN, Infinity, single quotes or bare words); adjacent tokens that JSON
  allows (no trailing or double comma, no missing comma or colon, a key is a string);
  brackets balanced on every line, nesting at most :data:`MAX_DEPTH` (Python's parser
  recurses per level);
* the text and id fields: at most one top-level key of each a line, its value a string.

What the check leaves to cuDF, and how each is caught after the parse (engine.gpu.ingest):

* a missing text field: a null row, skipped as the host skips it (same reason, same line);
* a blank text or one holding NUL (``\\u0000``): found on the device by the host's flaw
  rules (kernels.cuda.ingest.doc_flaws);
* structure that pairs of tokens do not show (a colon inside an array, ``{"a", "b"}``,
  ``[}``): cuDF's tokenizer raises, and the chunk goes to the host parser; a row count other
  than the line count sends it there too.  A real GPU is needed to confirm that cuDF raises
  on each of these (tests/gpu).
"""
from __future__ import annotations

import json
import re

import numpy as np

from kernels import jsonl_core as C

__all__ = ["field_pattern", "chunk_flaw", "chunk_flaw_njit", "chunk_flaw_device", "device_patterns",
           "REASONS", "reason"]

_OPEN, _CLOSE, _QUOTE, _BACKSLASH = ord("{"), ord("}"), ord('"'), ord("\\")
_LB, _RB, _COMMA, _COLON = ord("["), ord("]"), ord(","), ord(":")
_ESCAPES = np.frombuffer(b'"\\/bfnrtu', np.uint8)
_HEX = np.frombuffer(b"0123456789abcdefABCDEF", np.uint8)
_HIGH = np.frombuffer(b"89abAB", np.uint8)    # \uD8.. to \uDB..: a high surrogate
_LOW = np.frombuffer(b"cdefCDEF", np.uint8)   # \uDC.. to \uDF..: a low surrogate
MAX_DEPTH = C.MAX_DEPTH   # 200: Python's parser recurses per level (the host skips deep lines as malformed)

# what each flaw code of the per-line kernels (kernels.jsonl_core) is called; the numpy check
# gives the same reasons, in the same order (a chunk's reason: its smallest code)
_TWICE, _NOT_STRINGS = " written twice on a line", " values that are not strings"
_R = {C.CTRL: "blank lines or control characters (CR, tab, NUL)", C.BLANK: "blank lines",
      C.NOT_OBJECT: "lines that do not hold one JSON object each", C.UTF8: "invalid UTF-8",
      C.ESC_END: "an escape at the end of a line", C.ESC_UNUSUAL: "unusual escapes",
      C.ESC_TRUNC: "a truncated \\u escape", C.ESC_MALFORMED: "a malformed \\u escape",
      C.ESC_ASCII: "ASCII written as \\u escapes", C.ESC_SURROGATE: "lone surrogate escapes",
      C.UNTERMINATED: "unterminated strings",
      C.OTHER_CHARS: "characters outside strings that JSON does not allow (single quotes...)",
      C.SCALARS: "numbers or literals that are not JSON", C.PAIRS: "malformed JSON (tokens out of place)",
      C.DEPTH: "unbalanced or deeply nested brackets",
      C.GRAMMAR: "malformed JSON (keys, colons or brackets out of place)",
      C.TEXT_TWICE: "the text field" + _TWICE, C.TEXT_VALUE: "the text field" + _NOT_STRINGS,
      C.ID_TWICE: "the id field" + _TWICE, C.ID_VALUE: "the id field" + _NOT_STRINGS}
REASONS = dict(_R)


def reason(code: int) -> str | None:
    """The reason named by a flaw code of :mod:`kernels.jsonl_core` (None for 0: no flaw)."""
    return None if code == 0 else _R[int(code)]


def _table(chars: bytes) -> np.ndarray:
    t = np.zeros(256, bool)
    t[np.frombuffer(chars, np.uint8)] = True
    return t


_STRUCT = _table(b"{}[],:")
_SCALAR = _table(b"-+.0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_OTHER, _C_STRUCT, _C_SCALAR, _C_SPACE = 1, 2, 3, 4   # byte classes outside strings (0: inside)
_CLASS = np.full(256, _OTHER, np.uint8)
_CLASS[_STRUCT] = _C_STRUCT
_CLASS[_SCALAR] = _C_SCALAR
_CLASS[[ord(" "), 10]] = _C_SPACE
# bare words outside strings, one a line: JSON numbers and literals only
_SCALARS = re.compile(rb"(?:(?:true|false|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\n)*")
_NL, _STR, _VAL = 10, ord("s"), ord("v")   # token kinds besides the structural bytes themselves


def _legal_pairs() -> np.ndarray:
    """Which token may follow which in JSON lines (``s`` a string, ``v`` another scalar,
    newline between lines): necessary, not sufficient (the container is not known)."""
    t = np.zeros((256, 256), bool)
    follows = {"{": "s}", "[": "sv{[]", "s": ",:}]", "v": ",}]", ",": "sv{[", ":": "sv{[", "}": ",}]\n",
               "]": ",}]", "\n": "{"}
    for a, bs in follows.items():
        for b in bs:
            t[ord(a), ord(b)] = True
    return t


_LEGAL = _legal_pairs()


def field_pattern(name: str) -> bytes | None:
    """The bytes of ``"name"`` as a JSON key is written, or None when the name is not plain
    ASCII without quotes, backslashes or control characters (then the key could be spelled
    with escapes that no byte scan sees: the device path is not used)."""
    if not name or not name.isascii() or any(c in name for c in '"\\') or not name.isprintable():
        return None
    return json.dumps(name).encode("ascii")


def _utf8_valid(a: np.ndarray) -> bool:
    import pyarrow as pa
    whole = pa.Array.from_buffers(pa.large_string(), 1, [None, pa.py_buffer(np.array([0, a.size], np.int64)),
                                                         pa.py_buffer(a)])
    try:
        whole.validate(full=True)
        return True
    except pa.ArrowInvalid:
        return False


def _run_starts(bpos: np.ndarray) -> np.ndarray:
    """Per position of ``bpos`` (sorted), where its run of consecutive positions starts."""
    new_run = np.concatenate([[True], np.diff(bpos) != 1])
    return bpos[np.flatnonzero(new_run)][np.cumsum(new_run) - 1]


def _escape_flaw(a: np.ndarray) -> str | None:
    """Backslash escapes Python would refuse or decode otherwise than strict JSON says."""
    bpos = np.flatnonzero(a == _BACKSLASH)
    if not bpos.size:
        return None
    # the backslashes that start an escape: the 1st, 3rd... of each run (``\\\\`` is one escape)
    bs = bpos[(bpos - _run_starts(bpos)) % 2 == 0]
    if bs[-1] + 1 >= a.size:
        return _R[C.ESC_END]
    nxt = a[bs + 1]
    if not np.isin(nxt, _ESCAPES).all():
        return _R[C.ESC_UNUSUAL]      # \x and the like: Python refuses them
    u = bs[nxt == ord("u")]
    if not u.size:
        return None
    if u[-1] + 5 >= a.size:
        return _R[C.ESC_TRUNC]
    digits = a[u[:, None] + np.arange(2, 6)]
    if not np.isin(digits, _HEX).all():
        return _R[C.ESC_MALFORMED]
    if ((digits[:, 0] == ord("0")) & (digits[:, 1] == ord("0")) & (digits[:, 2] >= ord("2"))
            & (digits[:, 2] <= ord("7"))).any():
        # ASCII written as \u0020..\u007f (json.dumps never does it): a key could be spelled
        # so, "te\u0078t" being "text" to Python, and no byte scan would see the duplicate
        return _R[C.ESC_ASCII]
    sur = (digits[:, 0] | 0x20) == ord("d")
    high = u[sur & np.isin(digits[:, 1], _HIGH)]
    low = u[sur & np.isin(digits[:, 1], _LOW)]
    # every high surrogate followed by a low one, every low one preceded: pairs only (a lone
    # surrogate is "invalid unicode" to the host, and cuDF's decoding of one is unknown)
    if high.size != low.size or not np.array_equal(high + 6, low):
        return _R[C.ESC_SURROGATE]
    return None


def _unescaped_quotes(a: np.ndarray) -> np.ndarray:
    """Positions of the quotes that open or close strings: not after an odd run of backslashes."""
    q = np.flatnonzero(a == _QUOTE)
    maybe = np.flatnonzero(a[np.maximum(q - 1, 0)] == _BACKSLASH) if q.size else q
    if not maybe.size:
        return q
    bpos = np.flatnonzero(a == _BACKSLASH)
    run_start = _run_starts(bpos)
    c = q[maybe] - 1
    length = c - run_start[np.searchsorted(bpos, c)] + 1
    return np.delete(q, maybe[length % 2 == 1])


def _structure_flaw(a: np.ndarray, ends: np.ndarray, n_lines: int, pats) -> str | None:
    """The flaws of the bullet "the string mask" and of the fields (module docstring)."""
    end = a.size
    uq = _unescaped_quotes(a)
    toggle = np.zeros(end, np.uint8)
    toggle[uq] = 1
    inside = np.bitwise_xor.accumulate(toggle)   # 1 from an opening quote to its closing one
    if inside[end - 1] or (ends.size and inside[ends].any()):
        return _R[C.UNTERMINATED]
    # the class of every byte outside strings (0 inside): one table lookup over the chunk
    cls = _CLASS[a]
    inside ^= 1
    cls *= inside          # 0 inside strings
    cls[uq] = 0
    if (cls == _OTHER).any():
        return _R[C.OTHER_CHARS]
    struct = np.flatnonzero(cls == _C_STRUCT)
    idx = np.flatnonzero(cls == _C_SCALAR)
    parts = [(struct, a[struct]), (ends, np.full(ends.size, _NL, np.uint8)),
             (uq[inside[uq] == 0], None)]   # opening quotes (``inside`` is inverted now)
    if idx.size:
        brk = np.flatnonzero(np.diff(idx) != 1) + 1
        if not _SCALARS.fullmatch(np.insert(a[idx], brk, _NL).tobytes() + b"\n"):
            return _R[C.SCALARS]
        parts.append((idx[np.concatenate([[0], brk])], np.full(brk.size + 1, _VAL, np.uint8)))
    parts[2] = (parts[2][0], np.full(parts[2][0].size, _STR, np.uint8))
    pos = np.concatenate([p for p, _ in parts])
    order = np.argsort(pos, kind="stable")
    pos, seq = pos[order], np.concatenate([k for _, k in parts])[order]
    if seq[-1] != _NL:   # a last line without a newline: end it like the others
        seq, pos = np.append(seq, np.uint8(_NL)), np.append(pos, end)
    if not _LEGAL[seq[:-1], seq[1:]].all():
        return _R[C.PAIRS]
    step = np.isin(seq, (_OPEN, _LB)).astype(np.int64) - np.isin(seq, (_CLOSE, _RB))
    depth = np.cumsum(step)            # after each token
    if depth.min() < 0 or depth[seq == _NL].any() or depth.max() > MAX_DEPTH:
        return _R[C.DEPTH]
    if not _grammar_ok(seq, step, depth):
        return _R[C.GRAMMAR]
    # top-level keys: a string at depth 1 followed by a colon
    k = np.flatnonzero((seq[:-2] == _STR) & (seq[1:-1] == _COLON) & (depth[:-2] == 1))
    for pat, what in pats:
        if pat is None or not k.size:
            continue
        p = pos[k]
        ok = p + len(pat) <= end
        for j, c in enumerate(pat):
            ok[ok] &= a[p[ok] + j] == c
        key = k[ok]
        if not key.size:
            continue
        if (np.bincount(np.searchsorted(ends, pos[key]), minlength=n_lines) > 1).any():
            return f"{what}{_TWICE}"
        if (seq[key + 2] != _STR).any():
            return f"{what}{_NOT_STRINGS}"
    return None


def _containers(seq: np.ndarray, step: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """Per token, the kind (``{`` or ``[``) of the innermost container it is in, or closes
    (0 between lines): the last opening bracket before it that left the depth it is at."""
    cont = np.zeros(seq.size, np.uint8)
    before = depth - step
    opens = np.flatnonzero(step == 1)
    for d in np.unique(depth[opens]).tolist():
        o = opens[depth[opens] == d]
        t = np.flatnonzero(before == d)
        t = t[t > o[0]]
        cont[t] = seq[o[np.searchsorted(o, t) - 1]]
    return cont


def _grammar_ok(seq: np.ndarray, step: np.ndarray, depth: np.ndarray) -> bool:
    """What the legal pairs cannot see, with each token's container known: a colon only in
    an object, right after a key (a string after ``{`` or ``,``); in an object every ``{``
    or ``,`` followed by a key and its colon; brackets closed by their own kind."""
    cont = _containers(seq, step, depth)
    n = seq.size
    nxt2 = np.append(seq[2:], np.zeros(2, np.uint8))
    prev2 = np.concatenate([np.zeros(2, np.uint8), seq[:-2]])
    colon = seq == _COLON
    if colon.any() and not ((cont[colon] == _OPEN).all() and np.isin(prev2[colon], (_OPEN, _COMMA)).all()):
        return False
    opens_key = ((seq == _COMMA) & (cont == _OPEN)) | ((seq == _OPEN) & (np.append(seq[1:], 0) == _STR))
    if opens_key.any() and not (nxt2[opens_key] == _COLON).all():
        return False
    if not ((np.append(seq[1:], 0)[(seq == _COMMA) & (cont == _OPEN)] == _STR).all()):
        return False
    closes = np.isin(seq, (_CLOSE, _RB))
    return n == 0 or bool((cont[closes] == np.where(seq[closes] == _CLOSE, _OPEN, _LB)).all())


def chunk_flaw(buf, end: int, ends: np.ndarray, text_pat: bytes, id_pat: bytes | None) -> tuple[str | None, int]:
    """(why the whole JSONL lines ``buf[:end]`` (newlines at ``ends``) must take the host
    parser, or None; the number of lines).  None: no flaw of the module docstring's list."""
    a = np.frombuffer(buf, np.uint8, end)
    n_lines = int(ends.size) + (end > 0 and a[end - 1] != 10)
    if end == 0:
        return "no lines", 0
    if int(np.count_nonzero(a < 0x20)) != int(ends.size):
        return _R[C.CTRL], n_lines
    starts = np.concatenate([np.zeros(1, np.int64), ends + 1])[:n_lines]
    stops = np.append(ends, end)[:n_lines]
    if (stops <= starts).any():
        return _R[C.BLANK], n_lines
    if not ((a[starts] == _OPEN).all() and (a[stops - 1] == _CLOSE).all()):
        return _R[C.NOT_OBJECT], n_lines
    if not _utf8_valid(a):
        return _R[C.UTF8], n_lines
    why = _escape_flaw(a) or _structure_flaw(a, ends, n_lines, ((text_pat, "the text field"), (id_pat, "the id field")))
    return why, n_lines


# ---------------------------------------------------------------------------- the per-line kernels
def _pattern_array(pat: bytes | None) -> np.ndarray:
    return np.frombuffer(pat or b"", np.uint8)


def _worst(codes) -> int:
    """The smallest non-zero code of ``codes`` (host array), 0 when all are 0."""
    flawed = codes[codes != 0]
    return int(flawed.min()) if flawed.size else 0


def chunk_flaw_njit(buf, end: int, ends: np.ndarray, text_pat: bytes, id_pat: bytes | None,
                    codes: np.ndarray | None = None) -> tuple[str | None, int]:
    """:func:`chunk_flaw` by the CPU twin of the per-line kernel (kernels.cpu.jsonl_check):
    the same decision and reason, one pass over the bytes, lines in parallel (numba's
    threads).  ``codes``: an int8 array of at least the line count to receive each line's
    flaw code (tests), else one is made."""
    from kernels.cpu.jsonl_check import line_flaws
    a = np.frombuffer(buf, np.uint8, end)
    n_lines = int(ends.size) + (end > 0 and a[end - 1] != 10)
    if end == 0:
        return "no lines", 0
    out = np.empty(n_lines, np.int8) if codes is None else codes[:n_lines]
    line_flaws(a, np.ascontiguousarray(ends, np.int64), np.int64(end), _pattern_array(text_pat),
               _pattern_array(id_pat), out)
    return reason(_worst(out)), n_lines


def device_patterns(backend, text_pat: bytes, id_pat: bytes | None):
    """The two key patterns as device arrays for :func:`chunk_flaw_device` (copy once, reuse)."""
    return backend.to_device(_pattern_array(text_pat)), backend.to_device(_pattern_array(id_pat))


def chunk_flaw_device(backend, data, n_lines: int, patterns) -> tuple[str | None, int]:
    """:func:`chunk_flaw` of the chunk ``data`` (a device uint8 array of its ``end`` bytes,
    ``n_lines`` lines) checked on the device: newlines found there, one thread per line
    (kernels.cuda.jsonl_check), the smallest code reduced there; one byte comes back.
    ``patterns``: :func:`device_patterns`."""
    end = int(data.size)
    if end == 0:
        return "no lines", 0
    xp = backend.xp
    ends = xp.flatnonzero(data == 10).astype(np.int64)
    if int(ends.size) not in (n_lines, n_lines - 1):
        raise ValueError(f"{int(ends.size)} newlines on the device for {n_lines} lines")
    codes = xp.empty(n_lines, np.int8)
    backend.kernels.jsonl_check.line_flaws(n_lines, data, ends, np.int64(end), patterns[0], patterns[1], codes)
    worst = backend.to_host(xp.where(codes == 0, np.int8(C.NONE), codes).min())
    code = int(worst)
    return reason(0 if code == C.NONE else code), n_lines
