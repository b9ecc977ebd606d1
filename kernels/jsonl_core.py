"""Per-line scalar core of the JSONL check that lets cuDF parse a chunk, shared by the CPU and
CUDA twins (``kernels.cpu.jsonl_check``, ``kernels.cuda.jsonl_check``).

:func:`line_flaw` decides one line with one pass over its bytes and no allocation: a byte
state machine (backslash runs, the string mask, escapes and surrogate pairs, bare words,
token adjacency, depth with a bit stack of container kinds, top-level keys).  It implements
the rules of the vectorised numpy check (``engine.gpu.jsonl_check``: that module's docstring
lists them; that check stays the oracle in tests) exactly, and returns the code of the
*first rule in that check's order* that the line breaks.  Every rule of the numpy check is a
property of single lines once the newlines are known (a backslash run, a string, a bracket
or a bare word never crosses a newline in a chunk whose lines pass the earlier rules), so the
numpy check's reason for a chunk is the smallest code over its lines: the chunk-level
wrapper takes the minimum.

Within a line the rules are tested in the same pass; a later rule's test may be wrong on a
line that broke an earlier one, but the smallest code set is then that earlier rule's, and
each rule's test is exact on lines that pass all the rules before it (which is all the numpy
check assumes of them either).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from kernels.hashing import utf8_next

# flaw codes, in the numpy check's order (0: no flaw); engine.gpu.jsonl_check.REASONS names them
CTRL, BLANK, NOT_OBJECT, UTF8 = 1, 2, 3, 4
ESC_END, ESC_UNUSUAL, ESC_TRUNC, ESC_MALFORMED, ESC_ASCII, ESC_SURROGATE = 5, 6, 7, 8, 9, 10
UNTERMINATED, OTHER_CHARS, SCALARS, PAIRS, DEPTH, GRAMMAR = 11, 12, 13, 14, 15, 16
TEXT_TWICE, TEXT_VALUE, ID_TWICE, ID_VALUE = 17, 18, 19, 20
N_CODES = 21
NONE = 127   # "no flaw yet" while a line is scanned (returned as 0)

MAX_DEPTH = 200   # as engine.gpu.jsonl_check.MAX_DEPTH (the bit stack holds 256 levels)

# token kinds: the newline between lines, the structural bytes, a string, a bare word
T_NL, T_OPEN, T_CLOSE, T_LB, T_RB, T_COMMA, T_COLON, T_STR, T_VAL = 0, 1, 2, 3, 4, 5, 6, 7, 8


@njit(cache=True, inline="always")
def _follows(k):
    """Bit mask of the token kinds that may follow kind ``k`` (JSON lines: necessary, not
    sufficient; the numpy check's ``_legal_pairs``)."""
    if k == T_NL:
        return 1 << T_OPEN
    if k == T_OPEN:
        return (1 << T_STR) | (1 << T_CLOSE)
    if k == T_CLOSE:
        return (1 << T_COMMA) | (1 << T_CLOSE) | (1 << T_RB) | (1 << T_NL)
    if k == T_LB:
        return (1 << T_STR) | (1 << T_VAL) | (1 << T_OPEN) | (1 << T_LB) | (1 << T_RB)
    if k == T_RB or k == T_VAL:
        return (1 << T_COMMA) | (1 << T_CLOSE) | (1 << T_RB)
    if k == T_COMMA or k == T_COLON:
        return (1 << T_STR) | (1 << T_VAL) | (1 << T_OPEN) | (1 << T_LB)
    return (1 << T_COMMA) | (1 << T_COLON) | (1 << T_CLOSE) | (1 << T_RB)   # T_STR


@njit(cache=True, inline="always")
def _struct_kind(b):
    """Token kind of a structural byte ``{}[],:``, or -1."""
    if b == 123:
        return T_OPEN
    if b == 125:
        return T_CLOSE
    if b == 91:
        return T_LB
    if b == 93:
        return T_RB
    if b == 44:
        return T_COMMA
    if b == 58:
        return T_COLON
    return -1


@njit(cache=True, inline="always")
def _is_scalar_byte(b):
    """``-+.``, digits, ASCII letters, ``_``: the bytes of bare words (the numpy check's _SCALAR)."""
    return (b == 45 or b == 43 or b == 46 or b == 95 or (48 <= b <= 57) or (97 <= b <= 122)
            or (65 <= b <= 90))


@njit(cache=True, inline="always")
def _is_hex(b):
    return (48 <= b <= 57) or (97 <= b <= 102) or (65 <= b <= 70)


@njit(cache=True, inline="always")
def _is_digit(b):
    return 48 <= b <= 57


@njit(cache=True)
def _word_is(a, s, e, w0, w1, w2, w3, w4, n):
    """Whether ``a[s:e]`` is the ``n``-letter word ``w0 w1 ...`` (n 4 or 5)."""
    if e - s != n:
        return False
    if a[s] != w0 or a[s + 1] != w1 or a[s + 2] != w2 or a[s + 3] != w3:
        return False
    return n == 4 or a[s + 4] == w4


@njit(cache=True)
def scalar_ok(a, s, e):
    """Whether the bare word ``a[s:e]`` is ``true``, ``false``, ``null`` or a JSON number
    (``-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?``)."""
    if _word_is(a, s, e, 116, 114, 117, 101, 0, 4) or _word_is(a, s, e, 110, 117, 108, 108, 0, 4):
        return True
    if _word_is(a, s, e, 102, 97, 108, 115, 101, 5):
        return True
    i = s
    if i < e and a[i] == 45:
        i += 1
    if i >= e or not _is_digit(a[i]):
        return False
    if a[i] == 48:
        i += 1
    else:
        while i < e and _is_digit(a[i]):
            i += 1
    if i < e and a[i] == 46:
        i += 1
        if i >= e or not _is_digit(a[i]):
            return False
        while i < e and _is_digit(a[i]):
            i += 1
    if i < e and (a[i] == 101 or a[i] == 69):
        i += 1
        if i < e and (a[i] == 43 or a[i] == 45):
            i += 1
        if i >= e or not _is_digit(a[i]):
            return False
        while i < e and _is_digit(a[i]):
            i += 1
    return i == e


@njit(cache=True)
def _key_is(a, p, end, pat):
    """Whether the string opening at ``a[p]`` starts with the bytes of ``pat`` (``"name"``,
    quotes included: then the key is exactly ``name``)."""
    n = pat.size
    if n == 0 or p + n > end:
        return False
    for j in range(n):
        if a[p + j] != pat[j]:
            return False
    return True


@njit(cache=True, inline="always")
def _stack_get(w0, w1, w2, w3, d):
    """Bit ``d - 1`` of the bit stack (1: level ``d`` is an array, 0: an object)."""
    i = d - 1
    w = w0 if i < 64 else (w1 if i < 128 else (w2 if i < 192 else w3))
    return (w >> np.uint64(i & 63)) & np.uint64(1)


@njit(cache=True, inline="always")
def _stack_set(w0, w1, w2, w3, d, bit):
    i = d - 1
    m = np.uint64(1) << np.uint64(i & 63)
    v = np.uint64(bit) << np.uint64(i & 63)
    if i < 64:
        w0 = (w0 & ~m) | v
    elif i < 128:
        w1 = (w1 & ~m) | v
    elif i < 192:
        w2 = (w2 & ~m) | v
    else:
        w3 = (w3 & ~m) | v
    return w0, w1, w2, w3


@njit(cache=True)
def line_flaw(a, s, e, end, text_pat, id_pat):
    """The flaw code of the JSONL line ``a[s:e]`` (no newline; ``a[e]`` is the newline when
    ``e < end``, ``end`` the chunk's length), 0 when it has none.

    ``text_pat``, ``id_pat``: the bytes of ``"text"`` and ``"id"`` as the numpy check's
    ``field_pattern`` gives them (uint8 arrays; an empty one: no rule for that field).
    Bytes of the next line are read only where the numpy check reads them too (the four
    digits of a ``\\u`` escape, which a truncated line's newline makes malformed).
    """
    if e <= s:
        return BLANK
    worst = NONE
    if a[s] != 123 or a[e - 1] != 125:
        worst = NOT_OBJECT
    # string mask and escapes
    bs_run = 0           # backslashes just before the byte
    in_str = False
    pend_high = -1       # position of a \uD8xx-\uDBxx escape awaiting its low half at +6
    # tokens
    prev1 = T_NL
    prev2 = -1
    prev1_cont = 0       # the container kind (T_OPEN / T_LB, 0: none) of prev1 and prev2
    prev2_cont = 0
    prev1_pos = -1
    run_start = -1       # start of the bare word being read (-1: none)
    depth = 0
    max_depth = 0
    neg = False
    w0 = w1 = w2 = w3 = np.uint64(0)
    n_text = 0
    n_id = 0
    want_text_str = False    # the token after a top-level text (id) key's colon must be a string
    want_id_str = False
    i = s
    while i <= e:
        if in_str:
            # most bytes are string contents: skip the plain ASCII ones (no quote, backslash,
            # control byte or UTF-8 sequence: nothing there for any rule) in a tight loop
            j = i
            while j < e:
                c = a[j]
                if c == 34 or c == 92 or c < 0x20 or c >= 0x80:
                    break
                j += 1
            if j > i:
                bs_run = 0
                i = j
        # -- one byte (i == e: the end of the line, a newline token) -----------------------
        kind = -1
        step = 1
        if i == e:
            b = 10
            kind = T_NL
            if run_start >= 0 and not scalar_ok(a, run_start, i):
                worst = min(worst, SCALARS)
            run_start = -1
        else:
            b = a[i]
            if b >= 0x80:
                cp, n = utf8_next(a, i, e)
                if cp < 0:
                    worst = min(worst, UTF8)
                else:
                    step = n
            elif b < 0x20:
                worst = min(worst, CTRL)
            if b == 92 and bs_run % 2 == 0:   # a backslash that starts an escape
                worst = min(worst, _escape_flaw(a, i, end))
                if i + 5 < end and a[i + 1] == 117:
                    d0, d1 = a[i + 2] | 0x20, a[i + 3] | 0x20
                    low = d0 == 100 and (99 <= d1 <= 102)       # \uDC00-\uDFFF
                    high = d0 == 100 and (d1 == 56 or d1 == 57 or d1 == 97 or d1 == 98)
                    if pend_high >= 0:
                        if low and i == pend_high + 6:
                            low = False        # the pair is complete
                        else:
                            worst = min(worst, ESC_SURROGATE)
                        pend_high = -1
                    if low:
                        worst = min(worst, ESC_SURROGATE)
                    if high:
                        pend_high = i
            quote = b == 34 and bs_run % 2 == 0
            bs_run = bs_run + 1 if b == 92 else 0
            scalar = not in_str and _is_scalar_byte(b)    # a quote is not a scalar byte
            if quote:
                if not in_str:
                    kind = T_STR
                in_str = not in_str
            elif not in_str and not scalar:
                sk = _struct_kind(b)
                if sk >= 0:
                    kind = sk
                elif b != 32:
                    worst = min(worst, OTHER_CHARS)
            if scalar:
                if run_start < 0:
                    run_start = i
                    kind = T_VAL
            elif run_start >= 0:    # a bare word ends: one of JSON's
                if not scalar_ok(a, run_start, i):
                    worst = min(worst, SCALARS)
                run_start = -1
        # -- one token -------------------------------------------------------------------
        if kind >= 0:
            if not (_follows(prev1) >> kind) & 1:
                worst = min(worst, PAIRS)
            top = 0
            if 1 <= depth <= MAX_DEPTH:
                top = T_LB if _stack_get(w0, w1, w2, w3, depth) else T_OPEN
            cont = top
            if kind == T_OPEN or kind == T_LB:
                depth += 1
                max_depth = max(max_depth, depth)
                if depth <= MAX_DEPTH:
                    w0, w1, w2, w3 = _stack_set(w0, w1, w2, w3, depth, 1 if kind == T_LB else 0)
            elif kind == T_CLOSE or kind == T_RB:
                depth -= 1
                if depth < 0:
                    neg = True
                if cont != (T_OPEN if kind == T_CLOSE else T_LB):
                    worst = min(worst, GRAMMAR)    # closed by the other kind (or nothing open)
            if kind == T_NL and depth != 0:
                worst = min(worst, DEPTH)
            # a colon only in an object, right after a key: a string after { or ,
            if kind == T_COLON and not (cont == T_OPEN and (prev2 == T_OPEN or prev2 == T_COMMA)):
                worst = min(worst, GRAMMAR)
            # in an object, every { followed by a string, and every comma, opens key and colon
            if kind != T_COLON and ((prev2 == T_COMMA and prev2_cont == T_OPEN)
                                    or (prev2 == T_OPEN and prev1 == T_STR)):
                worst = min(worst, GRAMMAR)
            if prev1 == T_COMMA and prev1_cont == T_OPEN and kind != T_STR:
                worst = min(worst, GRAMMAR)
            # the values of the top-level text and id keys
            if want_text_str and kind != T_STR:
                worst = min(worst, TEXT_VALUE)
            if want_id_str and kind != T_STR:
                worst = min(worst, ID_VALUE)
            want_text_str = want_id_str = False
            if kind == T_COLON and prev1 == T_STR and depth == 1:
                if _key_is(a, prev1_pos, end, text_pat):
                    n_text += 1
                    want_text_str = True
                if _key_is(a, prev1_pos, end, id_pat):
                    n_id += 1
                    want_id_str = True
            prev2, prev2_cont = prev1, prev1_cont
            prev1, prev1_cont, prev1_pos = kind, cont, i
        i += step
    if in_str:
        worst = min(worst, UNTERMINATED)
    if pend_high >= 0:
        worst = min(worst, ESC_SURROGATE)
    if neg or max_depth > MAX_DEPTH:
        worst = min(worst, DEPTH)
    if n_text > 1:
        worst = min(worst, TEXT_TWICE)
    if n_id > 1:
        worst = min(worst, ID_TWICE)
    return 0 if worst == NONE else worst


@njit(cache=True)
def _escape_flaw(a, i, end):
    """The escape rules broken by the escape whose backslash is ``a[i]`` (NONE: none), in the
    numpy check's order; the surrogate pairing is :func:`line_flaw`'s."""
    if i + 1 >= end:
        return ESC_END
    nx = a[i + 1]
    if not (nx == 34 or nx == 92 or nx == 47 or nx == 98 or nx == 102 or nx == 110 or nx == 114
            or nx == 116 or nx == 117):
        return ESC_UNUSUAL
    if nx != 117:
        return NONE
    if i + 5 >= end:
        return ESC_TRUNC
    for j in range(2, 6):
        if not _is_hex(a[i + j]):
            return ESC_MALFORMED
    if a[i + 2] == 48 and a[i + 3] == 48 and 50 <= a[i + 4] <= 55:
        return ESC_ASCII
    return NONE
