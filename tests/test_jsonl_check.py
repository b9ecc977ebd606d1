"""The cheap check that lets cuDF parse a JSONL chunk (engine.gpu.jsonl_check): every flaw of
its list refused with its reason, clean JSON accepted, and, against Python's json module as
the oracle, no randomly mutated line accepted that the host parser would not read as an
object with a string text and id.  The per-line kernel (kernels.jsonl_core, here through its
CPU twin) gives the numpy check's decision and reason on every chunk of the fuzz, and each
line's code is the numpy check's reason for that line alone."""
import json
import random

import numpy as np
import pytest

from engine.gpu.jsonl_check import REASONS, chunk_flaw, chunk_flaw_njit, field_pattern, reason
from kernels import jsonl_core

TEXT, ID = field_pattern("text"), field_pattern("id")


def _check(raw: bytes):
    """The numpy check's answer, asserted equal to the per-line kernel's (CPU twin)."""
    buf = bytearray(raw)
    ends = np.flatnonzero(np.frombuffer(buf, np.uint8) == 10)
    one = chunk_flaw(buf, len(buf), ends, TEXT, ID)
    assert chunk_flaw_njit(buf, len(buf), ends, TEXT, ID) == one, raw
    return one


CLEAN = [json.dumps({"id": "a1", "text": "x \"q\" \\ é 😀 \\x \n\t", "n": [1, -2.5e3, 0, -0, True, None, {"k": []}],
                     "o": {}}, ensure_ascii=True).encode(),
         json.dumps({"id": "a1", "text": "x \"q\" \\ é 😀", "z": 1e-7}, ensure_ascii=False).encode(),
         b'{"text":"y","meta":{"text":5,"id":7},"l":[[],[{}]]}', b'{"type": "text", "text": "z", "f": false}',
         b'{"text": "only"}', b'{}', b'{"id": "no text"}', b'{"text": "\\u0000 NUL and \\u001f"}']


def test_clean_chunks_pass_and_count_lines():
    assert _check(b"\n".join(CLEAN) + b"\n") == (None, len(CLEAN))
    assert _check(b"\n".join(CLEAN)) == (None, len(CLEAN))     # no newline after the last line
    assert field_pattern("text") == b'"text"' and field_pattern('a"b') is None and field_pattern("clé") is None


@pytest.mark.parametrize("line,reason", [
    (b"", "blank lines"), (b"  ", "one JSON object"), (b'{"text": "a\tb"}', "control characters"),
    (b'{"text": "a"}\r', "control characters"), (b' {"text": "a"}', "one JSON object"), (b"[1]", "one JSON object"),
    (b'{"text": "\xff"}', "invalid UTF-8"), (b'{"text": "\\x41"}', "unusual escapes"),
    (b'{"text": "\\u12"}', "malformed \\u escape"), (b'{"te\\u0078t": 1}', "ASCII written as"),
    (b'{"text": "\\ud800"}', "lone surrogate"), (b'{"text": "\\udc00\\ud800"}', "lone surrogate"),
    (b'{"text": "a\\"}', "unterminated"), (b"{'text': 'a'}", "outside strings"), (b'{"text": NaN}', "not JSON"),
    (b'{"n": Infinity, "text": "a"}', "not JSON"), (b'{"n": 01, "text": "a"}', "not JSON"),
    (b'{"n": 1., "text": "a"}', "not JSON"), (b'{"n": tru, "text": "a"}', "not JSON"),
    (b'{"text": "a",}', "tokens out of place"), (b'{"text": "a" "b"}', "tokens out of place"),
    (b'{"n": [1,,2], "text": "a"}', "tokens out of place"), (b'{1: 2}', "tokens out of place"),
    (b'{"a", "text": "b"}', "keys, colons"), (b'{"text": "a": "b"}', "keys, colons"),
    (b'{"a": [1: 2]}', "tokens out of place"), (b'{"a": ["b": 2]}', "keys, colons"),
    (b'{"a": [1}]}', "brackets"), (b'{"a": {"b": 1]}', "brackets"), (b'{"a": [{"b": 1}}]}', "brackets"),
    (b'{"a": ' + b"[" * 300 + b"]" * 300 + b"}", "deeply nested"),
    (b'{"text": "a", "text": "b"}', "the text field written twice"), (b'{"text": 5}', "the text field values"),
    (b'{"text": null}', "the text field values"), (b'{"id": 3, "text": "a"}', "the id field values"),
])
def test_each_flaw_is_refused_with_its_reason(line, reason):
    why, n = _check(CLEAN[0] + b"\n" + line + b"\n" + CLEAN[2] + b"\n")
    assert why is not None and reason in why and n == 3


def _host_reads(line: bytes) -> bool:
    """Whether the host parser reads ``line`` as an object with string text and id (when
    present): Python's json, strict, as engine.corpus.jsonl."""
    try:
        obj = json.loads(line.decode("utf-8"), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (ValueError, RecursionError):
        return False
    if not isinstance(obj, dict):
        return False
    for key in ("text", "id"):
        if key in obj and not isinstance(obj[key], str):
            return False
    try:
        obj.get("text", "").encode("utf-8")
    except UnicodeEncodeError:   # a lone surrogate
        return False
    return True


@pytest.mark.parametrize("seed", range(3))
def test_no_mutated_line_accepted_that_the_host_would_not_read(seed):
    rng = random.Random(seed)
    palette = list(b'{}[],:" \\u01ae-.tnfl+EdD8c') + [ord('"')] * 3
    accepted = 0
    for _ in range(4000):
        line = bytearray(rng.choice(CLEAN[:4]))
        for _ in range(rng.randint(1, 3)):
            p = rng.randrange(len(line))
            op = rng.randint(0, 2)
            if op == 0:
                line.insert(p, rng.choice(palette))
            elif op == 1:
                del line[p]
            else:
                line[p] = rng.choice(palette)
        if _check(bytes(line) + b"\n")[0] is None:
            accepted += 1
            assert _host_reads(bytes(line)), bytes(line)
    assert accepted > 200        # the mutations leave many lines valid: the check is not refusing all


# tokens that reach the later rules (structure, keys) more often than byte mutations do
TOKENS = [b"{", b"}", b"[", b"]", b",", b":", b'"text"', b'"id"', b'"a"', b"1", b"-0.5e+3", b"true", b"null",
          b" ", b'"\\ud800\\udc00"', b'"\\ud83d"', b'"x\\\\"', b'"\\u0041"', b"01", b"tru", b'"te\\"xt"',
          b"\xc3\xa9", b"\xff", b"\t"]


def _mutated_line(rng) -> bytes:
    if rng.random() < 0.5:
        return b"{" + b"".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 12))) + b"}"
    line = bytearray(rng.choice(CLEAN))
    for _ in range(rng.randint(1, 3)):
        p = rng.randrange(1, max(2, len(line) - 1))     # inside the braces: the later rules
        t = rng.choice(TOKENS) if rng.random() < 0.5 else bytes([rng.choice(b'{}[],:" \\u01ae-.tnfl+EdD8c')])
        op = rng.randint(0, 2)
        if op == 0:
            line[p:p] = t
        elif op == 1 and line:
            del line[min(p, len(line) - 1)]
        else:
            line[p:p + 1] = t
    return bytes(line)


def _alone(line: bytes):
    """The numpy check's reason for ``line`` as a chunk of its own ("no lines" when empty)."""
    buf = bytearray(line)
    return chunk_flaw(buf, len(buf), np.empty(0, np.int64), TEXT, ID)[0]


TRUNCATED = {REASONS[jsonl_core.ESC_TRUNC], REASONS[jsonl_core.ESC_MALFORMED]}


def _same_reason(in_chunk, alone) -> bool:
    """A line's reason in its chunk and alone: the same, but for a blank line (alone, no line
    at all) and a ``\\u`` escape cut short (its four digits read on into the next line in the
    chunk, malformed there, truncated alone)."""
    if alone == "no lines":
        return in_chunk == REASONS[jsonl_core.BLANK]
    return in_chunk == alone or {in_chunk, alone} <= TRUNCATED


@pytest.mark.parametrize("seed", range(3))
def test_kernel_equals_numpy_check_and_json_on_mutated_chunks(seed):
    """Chunks of 1-4 mutated lines: the kernel's decision and reason are the numpy check's
    (``_check`` asserts it), each line's code names the numpy check's reason for that line
    alone, and the lines of every accepted chunk are read by Python's json."""
    rng = random.Random(100 + seed)
    seen, accepted = set(), 0
    for _ in range(1500):
        lines = [_mutated_line(rng) for _ in range(rng.randint(1, 4))]
        raw = b"\n".join(lines) + (b"\n" if rng.random() < 0.7 else b"")
        why, n = _check(raw)
        seen.add(why)
        buf = bytearray(raw)
        ends = np.flatnonzero(np.frombuffer(buf, np.uint8) == 10)
        codes = np.full(n + 1, -1, np.int8)
        chunk_flaw_njit(buf, len(buf), ends, TEXT, ID, codes=codes)
        assert codes[n] == -1     # one code a line, no more
        for line, code in zip(raw.split(b"\n"), codes[:n]):
            assert _same_reason(reason(int(code)), _alone(line)), line
        if why is None:
            accepted += 1
            assert all(_host_reads(line) for line in raw.split(b"\n")[:n])
    assert accepted > 50
    # the fuzz reaches most rules (the rarest, e.g. a key written twice, have their own tests)
    assert len(seen & set(REASONS.values())) >= 12


def test_kernel_without_an_id_rule_and_at_the_chunk_edges():
    buf = bytearray(b'{"id": 3, "text": "a"}\n{"text": "\\u00e9\\ud83d\\ude00"}')
    ends = np.flatnonzero(np.frombuffer(buf, np.uint8) == 10)
    for pats in ((TEXT, ID), (TEXT, None)):
        assert chunk_flaw_njit(buf, len(buf), ends, *pats) == chunk_flaw(buf, len(buf), ends, *pats)
    assert chunk_flaw_njit(buf, len(buf), ends, TEXT, None) == (None, 2)
    assert chunk_flaw_njit(bytearray(), 0, np.empty(0, np.int64), TEXT, ID) == ("no lines", 0)
    # a \\u escape cut by the end of the chunk, or by the end of its line
    for raw in (b'{"text": "a"}\n{"text": "\\u00}', b'{"text": "\\u0}\n{"text": "a"}\n'):
        _check(raw)


def test_kernel_utf8_rules_are_arrows_and_pythons():
    """Strings of bytes around the edges of UTF-8 (overlong forms, surrogates, above U+10FFFF,
    truncated sequences): the kernel (Python's strict decoder's rules) refuses exactly what
    Arrow's validator refuses in the numpy check, and what it accepts Python decodes."""
    rng = random.Random(7)
    edges = [0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xA0, 0x9F, 0xEF, 0xF0, 0xF4, 0x8F, 0x90, 0xF5, 0xFF]
    accepted = 0
    for _ in range(5000):
        body = bytes(rng.choice(edges) if rng.random() < 0.7 else rng.choice(b"az09 .") for _ in range(rng.randint(1, 6)))
        why, _ = _check(b'{"text": "' + body + b'"}\n')
        if why is None:
            accepted += 1
            body.decode("utf-8")
    assert accepted > 100
