"""Text encodings: codec checks, ``auto`` detection (BOM, NUL pattern, UTF-8, charset-normalizer)
and the marking of undecodable bytes."""
from __future__ import annotations

import codecs
import re

import numpy as np

from engine.errors import ParameterError

SNIFF_BYTES = 64 << 10        # head of a JSONL stream that --encoding auto looks at


# ---------------------------------------------------------------------------------- encodings
def _checked_encoding(name: str) -> str:
    """``name`` if it is ``auto`` or a Python text codec, else a :class:`ParameterError`."""
    if name == "auto":
        return name
    hint = "use a Python text codec such as utf-8, cp1252, latin-1, utf-16, or 'auto'"
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ParameterError(f"--encoding: unknown codec {name!r} ({hint})") from None
    # rot13, base64, zlib... are codecs too, but they map bytes to bytes (or str to str)
    if not getattr(info, "_is_text_encoding", True):
        raise ParameterError(f"--encoding: {name!r} is not a text encoding ({hint})")
    try:
        codecs.decode(b"", name)
    except UnicodeError:   # "undefined" decodes nothing, not even b""
        raise ParameterError(f"--encoding: {name!r} decodes nothing ({hint})") from None
    return name


def _codec(name: str) -> str:
    return codecs.lookup(name).name


def _is_utf8(name: str) -> bool:
    """UTF-8 (with or without BOM): the bytes are used as they are, no transcoding."""
    return _codec(name) in ("utf-8", "utf-8-sig")


def _is_wide(name: str) -> bool:
    """UTF-16 or UTF-32: NUL bytes are part of the encoding, not a sign of binary content."""
    return _codec(name).startswith(("utf-16", "utf-32"))


# longest first: the UTF-32-LE BOM starts like the UTF-16-LE one
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def _bom_encoding(head: bytes) -> str | None:
    """The codec a byte-order mark at the start of ``head`` names (it consumes the BOM)."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    return None


def _wide_under_narrow(head: bytes, encoding: str) -> str | None:
    """The reason to give for a file that opens with a UTF-16/32 byte-order mark and holds
    NUL bytes but is read with an 8-bit ``encoding`` (else None): its NULs are no sign of
    binary content.  Under an explicit encoding a BOM is not obeyed: ``FF FE`` could be
    anything's first two bytes."""
    bom = _bom_encoding(head)
    if bom in ("utf-16", "utf-32") and b"\x00" in head and not _is_wide(encoding):
        return f"{bom.upper()} text read as {encoding} (use --encoding {bom} or auto)"
    return None


def _decodes(sample: bytes, name: str) -> bool:
    """Whether ``sample`` (possibly cut inside a character) decodes under ``name``."""
    try:
        codecs.getincrementaldecoder(name)().decode(sample, final=False)
        return True
    except UnicodeDecodeError:
        return False


def _wide_by_nuls(sample: bytes) -> str | None:
    """UTF-16/32 without a BOM, told by where the NUL bytes fall: text in UTF-16 has a NUL
    in (nearly) every other byte on one side only, UTF-32 in the two high bytes of every
    unit.  Binary content has NULs anywhere and fails these tests."""
    a = np.frombuffer(sample, np.uint8, len(sample) // 4 * 4)
    if a.size < 4 or (a != 0).all():
        return None
    units = a.reshape(-1, 4)
    if (units[:, 3] == 0).all() and (units[:, 2] <= 0x10).all() and _decodes(sample, "utf-32-le"):
        return "utf-32-le"
    if (units[:, 0] == 0).all() and (units[:, 1] <= 0x10).all() and _decodes(sample, "utf-32-be"):
        return "utf-32-be"
    pairs = a.reshape(-1, 2)
    zero_lo, zero_hi = (pairs[:, 0] == 0).mean(), (pairs[:, 1] == 0).mean()
    if zero_hi >= 0.3 and zero_lo <= 0.05 and _decodes(sample, "utf-16-le"):
        return "utf-16-le"
    if zero_lo >= 0.3 and zero_hi <= 0.05 and _decodes(sample, "utf-16-be"):
        return "utf-16-be"
    return None


CP1252_SLACK = 0.1   # chaos by which cp1252 may trail charset-normalizer's pick and still win


def _legacy_encoding(sample: bytes) -> str | None:
    """A single- or multi-byte legacy encoding of ``sample`` by charset-normalizer, or None.

    Short Western text is decoded about as cleanly by many code pages, and
    charset-normalizer's pick among them is close to arbitrary (cp775, mac_latin2,
    cp1006...; JSON punctuation or one typographic quote is enough to sway it).  cp1252,
    the common legacy encoding, is measured in any case (charset-normalizer may leave it
    out of its shortlist) and wins when it is as coherent (language likeness) as the pick
    and no more than ``CP1252_SLACK`` more chaotic (about one odd character in ten).  The
    price: a short Turkish cp1254 text may come out as cp1252 (6 letters differ).
    """
    from charset_normalizer import from_bytes
    best = from_bytes(sample).best()
    cp1252 = from_bytes(sample, cp_isolation=["cp1252"]).best()
    if cp1252 is not None and (best is None or (cp1252.chaos <= best.chaos + CP1252_SLACK
                                                and cp1252.coherence >= best.coherence - 1e-9)):
        return "cp1252"
    return best.encoding if best is not None else None


def _detect_encoding(sample: bytes, whole: bool) -> str | None:
    """``--encoding auto`` for one file from ``sample`` (its start, or all of it if ``whole``):
    a BOM, then the NUL pattern of UTF-16/32, then UTF-8 if valid, then charset-normalizer.
    None: undetectable."""
    named = _bom_encoding(sample) or _wide_by_nuls(sample)
    if named:
        return named
    if b"\x00" in sample:
        return "utf-8"    # binary, or NULs in JSON lines: reported as such under utf-8
    # a sample cut from a stream may end inside a character
    if _valid_utf8(sample) if whole else _decodes(sample, "utf-8"):
        return "utf-8"
    return _legacy_encoding(sample)


def _valid_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


MARK_ERRORS = "corpus-engine-mark"
_MARKS = re.compile("[\udc00-\udcff]")


def _mark_undecodable(err: UnicodeDecodeError) -> tuple[str, int]:
    """Decoding error handler: each byte the codec cannot decode becomes the lone surrogate
    U+DC00 + byte.  Encoded with ``surrogatepass`` it is invalid UTF-8, so the line that holds
    it is caught by the UTF-8 check like any other, and the line parser reports it with its
    position in the original encoding."""
    return "".join(chr(0xDC00 + b) for b in err.object[err.start:err.end]), err.end


codecs.register_error(MARK_ERRORS, _mark_undecodable)


def _encoded_len(text: str, name: str) -> int:
    """Bytes of ``text`` in the codec ``name``, less the BOM some codecs put first."""
    return len(text.encode(name, "replace")) - len("".encode(name))


# ---------------------------------------------------------------------------------- streams
