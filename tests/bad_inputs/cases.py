"""The bad files of the battery, built in a folder, with what the CLI must do with them.

A :class:`Case` builds its inputs in a fresh folder and returns a :class:`Built`: the input
arguments, extra options, and the :class:`Expect` of every command (one for all, or one per
command).  The expected surviving documents come from ``tests/bad_inputs/reference.py`` (plain
Python, no engine code) or are written out by hand.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tests.bad_inputs import reference as R

COMMANDS = ("ngrams", "minhash", "cooc")

# reason keyword regexes of the container / file-level problems
RX = dict(R.REASON_RE)
RX.update({
    "object": r"not an? (json )?object|object",
    "malformed": r"malformed|invalid json|pars|syntax|extra data|json",
    "field": r"missing|non-string|not a string|field",
    "empty": r"empty|blank|whitespace",
    "nul": r"\bnul\b|nul byte|binary|\\x00",
    "binary": r"\bnul\b|nul byte|binary|\\x00",
    "surrogate": r"surrogate|unicode|utf-?8",
    "truncated": r"truncat|compress|unexpected end|ended|incomplete|eof|end of (file|stream)|corrupt|unreadable",
    "notzstd": r"zstd|zst|compress|unreadable|corrupt|invalid|frame|magic|not",
    "notgzip": r"gzip|gz|compress|unreadable|corrupt|invalid|magic|not",
    "junk": r"junk|trailing|garbage|gzip|compress|unreadable|after|extra",
    "emptyfile": r"empty|truncat|gzip|compress|unreadable|no data|zero|no document",
    "parquet": r"parquet|corrupt|unreadable|page|thrift|invalid|couldn|error|fail",
    "badlink": r"broken|symlink|link|missing|exist|unreadable|no such|dangling",
    "special": r"fifo|pipe|not a regular|special|regular|device|socket",
    "cp1252": r"cp1252|encoding|decod|invalid",
    "utf16": r"utf-?16|encoding|decod|invalid|truncat",
})


# ---------------------------------------------------------------------------- expectations
@dataclass
class Skip:
    """A ``skipped N (reason): loc, ...`` line: reason matching RX[cat] (or ``regex``), N, first loc.

    ``whole_file``: the location is a file (matched by name, a ``:detail`` after it allowed);
    ``either``: a ``warning: ...`` line naming the location does as well (kept-with-warning)."""
    cat: str
    count: object          # an int, or a tuple of the counts that are right
    first: str
    whole_file: bool = False
    either: bool = False
    regex: str | None = None

    @property
    def rx(self) -> str:
        return self.regex or RX[self.cat]


@dataclass
class Warn:
    """A ``warning: ...`` line matching ``regex`` and containing ``contains``; with ``first``, a
    ``warning: N (reason): locations`` line whose N is ``count`` and first location ``first``."""
    regex: str
    contains: str = ""
    count: int | None = None
    first: str | None = None


@dataclass
class Expect:
    code: int = 0
    docs: list | None = None          # [(id, text)] surviving, in corpus order (code 0)
    skips: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    allow: str | None = None          # regex of further skip reasons tolerated (e.g. a partial last line)
    kept: list | None = None          # minhash --dedup-output when it differs from docs
    clusters: set | None = None       # minhash --clusters {(doc_id, cluster)} when checked
    error: list = field(default_factory=list)   # regexes the output must match (code != 0)
    one_line: bool = False            # exactly one non-blank output line (parameter / output errors)


@dataclass
class Built:
    inputs: list
    expect: object                    # Expect, or {cmd: Expect}
    args: list = field(default_factory=list)       # options for every command
    cmd_args: dict = field(default_factory=dict)   # cmd -> options replacing the default outputs
    commands: tuple = COMMANDS

    def expect_for(self, cmd) -> Expect:
        return self.expect[cmd] if isinstance(self.expect, dict) else self.expect


@dataclass
class Case:
    id: str
    klass: str
    build: Callable[[Path], Built]
    commands: tuple = COMMANDS
    isolate: bool = False             # run in a subprocess (may crash the process or hang)
    timeout: float = 150.0
    debatable: str = ""               # why the expectation could be argued


def default_output_args(cmd: str, out: Path) -> list:
    if cmd == "ngrams":
        return ["--n", "1", "-o", str(out / "ng.parquet")]
    if cmd == "minhash":
        return ["--shingle", "word:1", "--threshold", "0.9",
                "--dedup-output", str(out / "kept.jsonl"), "--clusters", str(out / "clusters.jsonl")]
    return ["--window", "2", "--min-count", "1", "-o", str(out / "cooc.parquet")]


COMMON_ARGS = ["--device", "cpu", "--quiet"]


# ---------------------------------------------------------------------------- file system snapshots
def snapshot(root: Path) -> dict:
    """{relative path: what it is} for everything under ``root`` (hidden files too), without
    following links or opening FIFOs: regular files by SHA-256."""
    out = {}
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(root).as_posix()
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = "link -> " + os.readlink(p)
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = "dir"
            elif stat.S_ISREG(st.st_mode):
                out[rel] = "sha256 " + hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[rel] = f"special {stat.S_IFMT(st.st_mode):o}"
    return out


# ---------------------------------------------------------------------------- helpers
def T(i: int, tag: str = "mot") -> str:
    """A document text with words of its own (no near-duplicates between documents)."""
    return f"{tag}{i}a {tag}{i}b {tag}{i}c {tag}{i}d"


def J(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def lines(*items, end=b"\n") -> bytes:
    return b"\n".join(items) + end


def jsonl_expect(data: bytes, name: str, encoding="utf-8", text_field="text", id_field="id",
                 order=None, **kw) -> Expect:
    """Expect from the reference reader: docs, and one Skip per category (count, first line)."""
    docs, skips = R.jsonl_documents(data, name, encoding, text_field, id_field)
    cats = {}
    for cat, line in skips:
        cats.setdefault(cat, []).append(line)
    order = order or list(cats)
    sk = [Skip(c, len(cats[c]), f"{name}:{cats[c][0]}") for c in order if c in cats]
    return Expect(docs=docs, skips=sk, **kw)


def strict_expect(loc: str) -> Expect:
    return Expect(code=1, error=[re.escape(loc) + r"(?!\d)"])


def write_parquet(path: Path, ids, texts_bytes, row_group_size=None, **kw):
    import pyarrow as pa
    import pyarrow.parquet as pq
    text = pa.array(texts_bytes, pa.binary()).view(pa.string())
    t = pa.table({"id": pa.array(ids, pa.string()), "text": text})
    pq.write_table(t, path, row_group_size=row_group_size, **kw)


# ---------------------------------------------------------------------------- 1. invalid UTF-8
def _u8_jsonl(bad_texts: list[bytes], before=1, after=1):
    def build(d: Path) -> Built:
        items = [J({"id": f"g{i}", "text": T(i)}) for i in range(before)]
        items += [b'{"id": "b%d", "text": "' % k + t + b'"}' for k, t in enumerate(bad_texts)]
        items += [J({"id": f"g{i}", "text": T(i)}) for i in range(before, before + after)]
        data = lines(*items)
        (d / "a.jsonl").write_bytes(data)
        return Built([d / "a.jsonl"], jsonl_expect(data, "a.jsonl"))
    return build


def u8_other_fields(d: Path) -> Built:
    data = lines(J({"id": "g0", "text": T(0)}),
                 b'{"id": "bad \xff id", "text": "' + T(1).encode() + b'"}',
                 b'{"id": "g2", "text": "' + T(2).encode() + b'", "meta": "x \xc3\x28 y"}',
                 J({"id": "g3", "text": T(3)}))
    (d / "a.jsonl").write_bytes(data)
    return Built([d / "a.jsonl"], jsonl_expect(data, "a.jsonl"))


def u8_many(d: Path) -> Built:
    items = []
    for i in range(3000):
        if i % 100 == 49:
            items.append(b'{"id": "b%d", "text": "bad \xff\xfe %d"}' % (i, i))
        else:
            items.append(J({"id": f"g{i}", "text": T(i)}))
    data = lines(*items)
    (d / "a.jsonl").write_bytes(data)
    return Built([d / "a.jsonl"], jsonl_expect(data, "a.jsonl"))


def u8_first_last(d: Path) -> Built:
    data = lines(b'{"text": "\xfe\xff first"}', J({"text": T(1)}), J({"text": T(2)}),
                 b'{"text": "last \xc3"}', end=b"")
    (d / "a.jsonl").write_bytes(data)
    return Built([d / "a.jsonl"], jsonl_expect(data, "a.jsonl"))


def u8_gz(d: Path) -> Built:
    data = lines(J({"text": T(0)}), b'{"text": "bad \xff\xfe bytes"}', J({"text": T(2)}))
    (d / "a.jsonl.gz").write_bytes(gzip.compress(data))
    return Built([d / "a.jsonl.gz"], jsonl_expect(data, "a.jsonl.gz"))


U8_TEXT_FILES = {
    "bad1.txt": b"bad \xff\xfe bytes here",
    "bad2.txt": "café tronqué ".encode() + b"\xc3",
    "bad3.txt": b"overlong \xc0\xaf slash",
    "bad4.txt": b"surrogate \xed\xa0\x80 here",
    "good.txt": "bonjour le monde café\n".encode(),
}


def u8_text(d: Path) -> Built:
    for n, b in U8_TEXT_FILES.items():
        (d / n).write_bytes(b)
    return Built([d], Expect(docs=[("good.txt", "bonjour le monde café\n")],
                             skips=[Skip("utf8", 4, "bad1.txt", whole_file=True)]))


PARQUET_ROWS = [b"good first row", b"bad \xff\xfe bytes", "caf\u00e9 d\u00e9j\u00e0 vu".encode(),
                b"trunc \xe2\x82", None, b"   ", b"last good row"]


def u8_parquet(d: Path) -> Built:
    ids = [f"r{i}" for i in range(len(PARQUET_ROWS))]
    write_parquet(d / "p.parquet", ids, PARQUET_ROWS)
    docs = [(ids[i], t.decode()) for i, t in enumerate(PARQUET_ROWS) if i in (0, 2, 6)]
    return Built([d / "p.parquet"], Expect(docs=docs, skips=[
        Skip("utf8", 2, "p.parquet:row 1"), Skip("field", 1, "p.parquet:row 4"),
        Skip("empty", 1, "p.parquet:row 5")]))


def u8_parquet_many(d: Path) -> Built:
    """Many rows in several row groups and batches; bad rows spread out (row locations right)."""
    n = 70000
    texts = [(b"bad \xf5\x80 %d" % i) if i % 10000 == 5 else T(i).encode() for i in range(n)]
    ids = [f"r{i}" for i in range(n)]
    write_parquet(d / "p.parquet", ids, texts, row_group_size=30000)
    docs = [(ids[i], texts[i].decode()) for i in range(n) if i % 10000 != 5]
    return Built([d / "p.parquet"], Expect(docs=docs, skips=[Skip("utf8", 7, "p.parquet:row 5")]))


def u8_parquet_large_string(d: Path) -> Built:
    import pyarrow as pa
    import pyarrow.parquet as pq
    text = pa.array(PARQUET_ROWS, pa.large_binary()).view(pa.large_string())
    ids = [f"r{i}" for i in range(len(PARQUET_ROWS))]
    pq.write_table(pa.table({"id": ids, "text": text}), d / "p.parquet", store_schema=True)
    docs = [(ids[i], t.decode()) for i, t in enumerate(PARQUET_ROWS) if i in (0, 2, 6)]
    return Built([d / "p.parquet"], Expect(docs=docs, skips=[
        Skip("utf8", 2, "p.parquet:row 1"), Skip("field", 1, "p.parquet:row 4"),
        Skip("empty", 1, "p.parquet:row 5")]))


def u8_strict_jsonl(d: Path) -> Built:
    data = lines(J({"text": T(0)}), J({"text": T(1)}), b'{"text": "bad \xff\xfe bytes"}',
                 b'{"text": "bad \xc0\xaf again"}', J({"text": T(4)}))
    (d / "a.jsonl").write_bytes(data)
    return Built([d / "a.jsonl"], strict_expect("a.jsonl:3"), args=["--strict"])


def u8_strict_text(d: Path) -> Built:
    for n, b in U8_TEXT_FILES.items():
        (d / n).write_bytes(b)
    return Built([d], Expect(code=1, error=[r"bad1\.txt"]), args=["--strict"])


def u8_strict_parquet(d: Path) -> Built:
    write_parquet(d / "p.parquet", [f"r{i}" for i in range(len(PARQUET_ROWS))], PARQUET_ROWS)
    return Built([d / "p.parquet"], strict_expect("p.parquet:row 1"), args=["--strict"])


# ---------------------------------------------------------------------------- 2. encodings
def enc_latin1_jsonl(d: Path) -> Built:
    data = lines(J({"id": "a", "text": "plain ascii words"}),
                 '{"id": "b", "text": "café déjà vu"}'.encode("latin-1"),
                 '{"id": "c", "text": "naïve Noël"}'.encode("latin-1"))
    (d / "a.jsonl").write_bytes(data)
    return Built([d / "a.jsonl"], Expect(docs=[("a", "plain ascii words"), ("b", "café déjà vu"),
                                                ("c", "naïve Noël")]),
                 args=["--encoding", "latin-1"])


UTF16_TEXTS = {
    "le_bom.txt": ("utf-16-le", True, "Bonjour le monde, voici un café déjà servi à Noël.\n"),
    "be_bom.txt": ("utf-16-be", True, "Grüße aus München, schöne Straße und Äpfel für alle.\n"),
    "le_nobom.txt": ("utf-16-le", False, "Ceci est un texte français sans marque d'ordre, élève.\n"),
    "be_nobom.txt": ("utf-16-be", False, "Otro texto en español: año, niño, corazón y canción.\n"),
}


def _utf16(names, encoding):
    def build(d: Path) -> Built:
        docs = []
        for n in names:
            codec, bom, text = UTF16_TEXTS[n]
            raw = text.encode(codec)
            if bom:
                raw = "\ufeff".encode(codec) + raw
            (d / n).write_bytes(raw)
            docs.append((n, text))
        return Built([d], Expect(docs=sorted(docs)), args=["--encoding", encoding])
    return build


CP1252_LINE = "café déjà vu – “quoted”"


def enc_cp1252_auto(d: Path) -> Built:
    (d / "legacy.txt").write_bytes(CP1252_LINE.encode("cp1252"))
    (d / "modern.txt").write_bytes("texte moderne en utf-8: élève, œuvre\n".encode())
    return Built([d], Expect(docs=[("legacy.txt", CP1252_LINE),
                                   ("modern.txt", "texte moderne en utf-8: élève, œuvre\n")]),
                 args=["--encoding", "auto"])


def enc_cp1252_undefined(d: Path) -> Built:
    data = lines('{"text": "ok – fine"}'.encode("cp1252"), b'{"text": "undefined \x81 byte"}',
                 '{"text": "“good” again"}'.encode("cp1252"))
    (d / "a.jsonl").write_bytes(data)
    return Built([d / "a.jsonl"], Expect(docs=[("a.jsonl:1", "ok – fine"), ("a.jsonl:3", "“good” again")],
                                         skips=[Skip("cp1252", 1, "a.jsonl:2")]),
                 args=["--encoding", "cp1252"])


def enc_utf8_bom_text(d: Path) -> Built:
    (d / "bom.txt").write_bytes(b"\xef\xbb\xbf" + "texte avec BOM, élève\n".encode())
    return Built([d], Expect(docs=[("bom.txt", "texte avec BOM, élève\n")]))


def enc_utf16_jsonl(d: Path) -> Built:
    text = "\n".join(json.dumps({"id": f"u{i}", "text": T(i) + " élève"}, ensure_ascii=False)
                     for i in range(3)) + "\n"
    (d / "a.jsonl").write_bytes(text.encode("utf-16"))
    return Built([d / "a.jsonl"], Expect(docs=[(f"u{i}", T(i) + " élève") for i in range(3)]),
                 args=["--encoding", "utf-16"])


def _bad_codec(codec):
    def build(d: Path) -> Built:
        (d / "a.jsonl").write_bytes(lines(J({"text": T(0)})))
        return Built([d / "a.jsonl"], Expect(code=2, error=[r"--encoding", re.escape(codec)], one_line=True),
                     args=["--encoding", codec])
    return build


def enc_auto_latin1_jsonl(d: Path) -> Built:
    texts = ["café déjà vu, naïve Noël à l'école", "élève très âgé, garçon français", "plain ascii words"]
    data = lines(*[json.dumps({"id": f"l{i}", "text": t}, ensure_ascii=False).encode("latin-1")
                   for i, t in enumerate(texts)])
    (d / "a.jsonl").write_bytes(data)
    return Built([d / "a.jsonl"], Expect(docs=[(f"l{i}", t) for i, t in enumerate(texts)]),
                 args=["--encoding", "auto"])


def enc_utf16_odd_length(d: Path) -> Built:
    (d / "good.txt").write_bytes("texte complet en utf-16, élève\n".encode("utf-16"))
    (d / "odd.txt").write_bytes("texte coupé en utf-16".encode("utf-16") + b"\x41")
    return Built([d], Expect(docs=[("good.txt", "texte complet en utf-16, élève\n")],
                             skips=[Skip("utf16", 1, "odd.txt", whole_file=True)]),
                 args=["--encoding", "utf-16"])


def enc_auto_binary_and_empty(d: Path) -> Built:
    (d / "good.txt").write_bytes("du texte en cp1252 – “guillemets”, élève".encode("cp1252"))
    (d / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\xff\xfe")
    (d / "blank.txt").write_bytes(b" \n\t\r\n")
    return Built([d], Expect(docs=[("good.txt", "du texte en cp1252 – “guillemets”, élève")],
                             skips=[Skip("binary", 1, "image.txt", whole_file=True),
                                    Skip("empty", 1, "blank.txt", whole_file=True)]),
                 args=["--encoding", "auto"])


# ---------------------------------------------------------------------------- 3. containers
def _many_lines(n, tag="z"):
    return b"".join(J({"id": f"{tag}{i}", "text": T(i, tag)}) + b"\n" for i in range(n))


def _truncated(name, compress, prefix_of, n):
    def build(d: Path) -> Built:
        data = _many_lines(n)
        trunc = compress(data)[:-20]
        (d / name).write_bytes(trunc)
        prefix = prefix_of(trunc)
        complete = R.complete_lines_of_prefix(prefix)
        tail = prefix[len(complete):]
        assert data.startswith(prefix) and len(complete) > 1000, "test data: prefix too short"
        docs, skips = R.jsonl_documents(complete, name)
        assert not skips
        partial = bool(tail.strip())
        if partial:
            try:
                json.loads(tail)
                raise AssertionError("test data: the partial last line is valid JSON")
            except ValueError:
                pass
        exp = Expect(docs=docs, skips=[Skip("truncated", 1, name, whole_file=True)],
                     allow=RX["malformed"] if partial else None)
        return Built([d / name], exp)
    return build


def _zstd_compress(data):
    import zstandard
    return zstandard.ZstdCompressor(level=3).compress(data)


def cont_zst_not_zstd(d: Path) -> Built:
    (d / "good.jsonl").write_bytes(lines(J({"id": "g", "text": T(0)})))
    (d / "fake.jsonl.zst").write_bytes(lines(J({"id": "f", "text": T(1)})))
    return Built([d], Expect(docs=[("g", T(0))],
                             skips=[Skip("notzstd", 1, "fake.jsonl.zst", whole_file=True)]))


def cont_gz_not_gzip(d: Path) -> Built:
    (d / "good.jsonl").write_bytes(lines(J({"id": "g", "text": T(0)})))
    (d / "fake.jsonl.gz").write_bytes(lines(J({"id": "f", "text": T(1)})))
    return Built([d], Expect(docs=[("g", T(0))],
                             skips=[Skip("notgzip", 1, "fake.jsonl.gz", whole_file=True)]))


def cont_gz_junk(d: Path) -> Built:
    data = _many_lines(50)
    (d / "a.jsonl.gz").write_bytes(gzip.compress(data) + b"junk")
    docs, _ = R.jsonl_documents(data, "a.jsonl.gz")
    return Built([d / "a.jsonl.gz"], Expect(docs=docs, skips=[Skip("junk", 1, "a.jsonl.gz", whole_file=True,
                                                                     either=True)]))


def cont_gz_empty(d: Path) -> Built:
    (d / "good.jsonl").write_bytes(lines(J({"id": "g", "text": T(0)})))
    (d / "empty.jsonl.gz").write_bytes(b"")
    return Built([d], Expect(docs=[("g", T(0))],
                             skips=[Skip("emptyfile", 1, "empty.jsonl.gz", whole_file=True, either=True)]))


def cont_gz_header_only(d: Path) -> Built:
    (d / "good.jsonl").write_bytes(lines(J({"id": "g", "text": T(0)})))
    (d / "cut.jsonl.gz").write_bytes(gzip.compress(_many_lines(10))[:6])
    return Built([d], Expect(docs=[("g", T(0))],
                             skips=[Skip("truncated", 1, "cut.jsonl.gz", whole_file=True)]))


def cont_gz_multimember(d: Path) -> Built:
    a, b = _many_lines(5, "p"), _many_lines(5, "q")
    (d / "a.jsonl.gz").write_bytes(gzip.compress(a) + gzip.compress(b))
    docs, _ = R.jsonl_documents(a + b, "a.jsonl.gz")
    return Built([d / "a.jsonl.gz"], Expect(docs=docs))


def cont_jsonl_zero_bytes(d: Path) -> Built:
    (d / "good.jsonl").write_bytes(lines(J({"id": "g", "text": T(0)})))
    (d / "empty.jsonl").write_bytes(b"")
    return Built([d], Expect(docs=[("g", T(0))],
                             skips=[Skip("emptyfile", 1, "empty.jsonl", whole_file=True, either=True)]))


def _parquet_corrupt(bad_rg):
    def build(d: Path) -> Built:
        import pyarrow.parquet as pq
        n, rg = 300, 100
        ids = [f"r{i}" for i in range(n)]
        texts = [T(i).encode() for i in range(n)]
        p = d / "p.parquet"
        write_parquet(p, ids, texts, row_group_size=rg, use_dictionary=False, compression="zstd")
        md = pq.ParquetFile(p).metadata
        assert md.num_row_groups == 3
        col = md.row_group(bad_rg).column(1)       # the text column's chunk
        assert col.path_in_schema == "text"
        raw = bytearray(p.read_bytes())
        off = col.data_page_offset
        raw[off:off + 24] = b"\xff" * 24               # the page header: not thrift any more
        p.write_bytes(bytes(raw))
        docs = [(ids[i], texts[i].decode()) for i in range(n) if i // rg != bad_rg]
        # one file reported, or the rows of the lost row group counted: either count is right
        return Built([p], Expect(docs=docs, skips=[Skip("parquet", (1, rg), "p.parquet", whole_file=True)]))
    return build


def cont_parquet_not_parquet(d: Path) -> Built:
    (d / "good.jsonl").write_bytes(lines(J({"id": "g", "text": T(0)})))
    (d / "bad.parquet").write_bytes(b"this is not a parquet file at all\n" * 20)
    return Built([d], Expect(docs=[("g", T(0))],
                             skips=[Skip("parquet", 1, "bad.parquet", whole_file=True)]))


def cont_parquet_truncated(d: Path) -> Built:
    (d / "good.jsonl").write_bytes(lines(J({"id": "g", "text": T(0)})))
    write_parquet(d / "cut.parquet", ["a", "b"], [T(1).encode(), T(2).encode()])
    raw = (d / "cut.parquet").read_bytes()
    (d / "cut.parquet").write_bytes(raw[:len(raw) // 2])
    return Built([d], Expect(docs=[("g", T(0))],
                             skips=[Skip("parquet", 1, "cut.parquet", whole_file=True)]))


def cont_parquet_no_text_column(d: Path) -> Built:
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"id": ["a"], "body": [T(0)]}), d / "p.parquet")
    return Built([d / "p.parquet"], Expect(code=1, one_line=True, error=[r"text", r"p\.parquet"]))


def cont_parquet_text_not_string(d: Path) -> Built:
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"id": ["a", "b"], "text": [1, 2]}), d / "p.parquet")
    return Built([d / "p.parquet"], Expect(code=1, one_line=True, error=[r"text", r"p\.parquet"]))


# ---------------------------------------------------------------------------- 4. outputs
def _one_input(d: Path) -> Path:
    p = d / "a.jsonl"
    p.write_bytes(lines(J({"id": "a", "text": T(0)}), J({"id": "b", "text": T(1)})))
    return p


OUT_ERR = Expect(code=1, one_line=True)


def out_same_as_input(d: Path) -> Built:
    a = str(_one_input(d))
    return Built([a], OUT_ERR, cmd_args={
        "ngrams": ["-o", a], "minhash": ["--dedup-output", a], "cooc": ["-o", a]})


def out_same_as_input_spelled(d: Path) -> Built:
    _one_input(d)
    other = str(d / "." / ".." / d.name / "a.jsonl")
    return Built([d / "a.jsonl"], OUT_ERR, cmd_args={
        "ngrams": ["-o", other], "minhash": ["--dedup-output", other], "cooc": ["-o", other]})


def out_file_of_input_folder(d: Path) -> Built:
    _one_input(d)
    (d / "b.jsonl").write_bytes(lines(J({"id": "c", "text": T(2)})))
    b = str(d / "b.jsonl")
    return Built([d], OUT_ERR, cmd_args={
        "ngrams": ["-o", b], "minhash": ["--dedup-output", b], "cooc": ["-o", b]})


def _minhash_flag_is_input(flag):
    def build(d: Path) -> Built:
        a = str(_one_input(d))
        return Built([a], OUT_ERR, cmd_args={"minhash": [flag, a]}, commands=("minhash",))
    return build


def out_minhash_signatures_is_input(d: Path) -> Built:
    write_parquet(d / "p.parquet", ["a", "b"], [T(0).encode(), T(1).encode()])
    p = str(d / "p.parquet")
    return Built([p], OUT_ERR, cmd_args={"minhash": ["--save-signatures", p]}, commands=("minhash",))


def out_is_directory(d: Path) -> Built:
    a = _one_input(d)
    for n in ("dir.parquet", "dir.jsonl"):
        (d / n).mkdir()
    return Built([a], OUT_ERR, cmd_args={
        "ngrams": ["-o", str(d / "dir.parquet")], "minhash": ["--dedup-output", str(d / "dir.jsonl")],
        "cooc": ["-o", str(d / "dir.parquet")]})


def out_under_regular_file(d: Path) -> Built:
    a = _one_input(d)
    (d / "file.txt").write_text("a regular file\n")
    return Built([a], OUT_ERR, cmd_args={
        "ngrams": ["-o", str(d / "file.txt" / "x.parquet")],
        "minhash": ["--dedup-output", str(d / "file.txt" / "x.jsonl")],
        "cooc": ["-o", str(d / "file.txt" / "x.parquet")]})


def out_via_symlinked_folder(d: Path) -> Built:
    _one_input(d)
    link = d.parent / (d.name + "-link")
    os.symlink(d, link)
    other = str(link / "a.jsonl")
    return Built([d / "a.jsonl"], OUT_ERR, cmd_args={
        "ngrams": ["-o", other], "minhash": ["--dedup-output", other], "cooc": ["-o", other]})


def out_hard_link_of_input(d: Path) -> Built:
    a = _one_input(d)
    os.link(a, d / "b.jsonl")
    b = str(d / "b.jsonl")
    return Built([a], OUT_ERR, cmd_args={
        "ngrams": ["-o", b], "minhash": ["--dedup-output", b], "cooc": ["-o", b]})


def out_cooc_npz_vocab_is_input(d: Path) -> Built:
    (d / "x.vocab.tsv").write_text(T(0) + " " + T(1) + "\n", encoding="utf-8")
    return Built([d / "x.vocab.tsv"], OUT_ERR, cmd_args={"cooc": ["-o", str(d / "x.npz")]}, commands=("cooc",))


def out_minhash_signatures_not_parquet(d: Path) -> Built:
    a = _one_input(d)
    (d / "sig.parquet").write_bytes(b"not parquet at all\n" * 10)
    return Built([a], OUT_ERR, cmd_args={"minhash": ["--signatures", str(d / "sig.parquet")]},
                 commands=("minhash",))


def out_minhash_output_eq_clusters(d: Path) -> Built:
    a = _one_input(d)
    p = str(d / "p.parquet")
    return Built([a], OUT_ERR, cmd_args={"minhash": ["--output", p, "--clusters", p]}, commands=("minhash",))


def out_minhash_output_eq_dedup(d: Path) -> Built:
    a = _one_input(d)
    p = str(d / "p.jsonl")
    return Built([a], OUT_ERR, cmd_args={"minhash": ["--output", p, "--dedup-output", p]},
                 commands=("minhash",))


def out_minhash_under_file_clusters(d: Path) -> Built:
    a = _one_input(d)
    (d / "file.txt").write_text("a regular file\n")
    return Built([a], OUT_ERR, cmd_args={"minhash": ["--clusters", str(d / "file.txt" / "c.parquet")]},
                 commands=("minhash",))


# ---------------------------------------------------------------------------- 5. JSON details
def _jsonl_case(*items, end=b"\n", name="a.jsonl", order=None, args=(), **kw):
    def build(d: Path) -> Built:
        data = lines(*items, end=end)
        (d / name).write_bytes(data)
        return Built([d / name], jsonl_expect(data, name, order=order, **kw), args=list(args))
    return build


def json_two_objects_one_line(d: Path) -> Built:
    data = lines(J({"id": "a", "text": T(0)}),
                 J({"id": "b", "text": T(1)}) + J({"id": "c", "text": T(2)}),
                 J({"id": "d", "text": T(3)}),
                 J({"id": "e", "text": "   "}),
                 J({"id": "f", "text": T(5)}))
    (d / "a.jsonl").write_bytes(data)
    exp = jsonl_expect(data, "a.jsonl")
    assert [s.first for s in exp.skips] == ["a.jsonl:2", "a.jsonl:4"]
    return Built([d / "a.jsonl"], exp)


def json_line_separators(d: Path) -> Built:
    data = lines(J({"text": "a\u2028b c\u2029d"}), J({"text": "e\x85f g\u000bh"}),
                 '{"text": "raw \u2028 ls \u2029 ps \u0085 nel"}'.encode(), b"[]", J({"text": T(4)}))
    (d / "a.jsonl").write_bytes(data)
    exp = jsonl_expect(data, "a.jsonl")
    assert exp.skips[0].first == "a.jsonl:4" and len(exp.docs) == 4
    return Built([d / "a.jsonl"], exp)


def json_deep_nesting(d: Path) -> Built:
    deep = b"[" * 100000 + b"]" * 100000
    data = lines(J({"text": T(0)}), deep, b'{"text": "' + T(2).encode() + b'", "meta": ' + deep + b"}",
                 J({"text": T(3)}))
    (d / "a.jsonl").write_bytes(data)
    return Built([d / "a.jsonl"], Expect(
        docs=[("a.jsonl:1", T(0)), ("a.jsonl:4", T(3))],
        skips=[Skip("deep", 2, "a.jsonl:2", regex=r"malformed|json|deep|nest|recurs|object|pars")]))


def json_ids_numbers(d: Path) -> Built:
    same = "exactly the same words in both of these documents"
    data = lines(b'{"id": 1, "text": "' + T(0).encode() + b'"}',
                 b'{"id": 2.5, "text": "' + same.encode() + b'"}',
                 b'{"id": 9007199254740993, "text": "' + same.encode() + b'"}',
                 b'{"id": -3, "text": "' + T(3).encode() + b'"}',
                 b'{"id": 1.0, "text": "' + T(4).encode() + b'"}')
    (d / "a.jsonl").write_bytes(data)
    docs = [("1", T(0)), ("2.5", same), ("9007199254740993", same), ("-3", T(3)), ("1.0", T(4))]
    assert R.jsonl_documents(data, "a.jsonl")[0] == docs
    kept = [x for x in docs if x[0] != "9007199254740993"]
    return Built([d / "a.jsonl"], Expect(docs=docs, kept=kept,
                                         clusters={("2.5", "2.5"), ("9007199254740993", "2.5")}))


def json_ids_huge_and_null(d: Path) -> Built:
    data = lines(b'{"id": 123456789012345678901234567890, "text": "' + T(0).encode() + b'"}',
                 b'{"id": "x", "text": "' + T(1).encode() + b'"}',
                 b'{"id": null, "text": "' + T(2).encode() + b'"}',
                 b'{"text": "' + T(3).encode() + b'"}')
    (d / "a.jsonl").write_bytes(data)
    docs = [("123456789012345678901234567890", T(0)), ("x", T(1)), ("a.jsonl:3", T(2)), ("a.jsonl:4", T(3))]
    assert R.jsonl_documents(data, "a.jsonl")[0] == docs
    return Built([d / "a.jsonl"], Expect(docs=docs))


def json_duplicate_ids(d: Path) -> Built:
    data = lines(J({"id": "dup1", "text": T(0)}), J({"id": "u", "text": T(1)}),
                 J({"id": "dup1", "text": T(2)}))
    (d / "a.jsonl").write_bytes(data)
    exp = jsonl_expect(data, "a.jsonl")
    exp.warnings = [Warn(r"duplicate", count=1, first="a.jsonl:3")]
    return Built([d / "a.jsonl"], exp)


def json_many_malformed(d: Path) -> Built:
    items = [(b'{"text": "broken %d' % i) if i % 10 == 9 else J({"text": T(i)}) for i in range(1000)]
    return _jsonl_case(*items)(d)


def json_strict(items, loc):
    def build(d: Path) -> Built:
        (d / "a.jsonl").write_bytes(lines(*items))
        return Built([d / "a.jsonl"], strict_expect(loc), args=["--strict"])
    return build


def json_crlf(d: Path) -> Built:
    data = b"\r\n".join([J({"id": "a", "text": T(0)}), J({"id": "b", "text": T(1)}), b"[1, 2]",
                         J({"id": "c", "text": T(3)})]) + b"\r\n"
    (d / "a.jsonl").write_bytes(data)
    exp = jsonl_expect(data, "a.jsonl")
    assert exp.skips[0].first == "a.jsonl:3" and len(exp.docs) == 3
    return Built([d / "a.jsonl"], exp)


def json_blank_lines(d: Path) -> Built:
    data = b"\n\n" + J({"text": T(0)}) + b"\n   \n\t\n\r\n" + J({"text": T(1)}) + b"\n\n" + b'"a string"' \
        + b"\n" + J({"text": T(2)}) + b"\n\n\n"
    (d / "a.jsonl").write_bytes(data)
    exp = jsonl_expect(data, "a.jsonl")
    assert exp.skips[0].first == "a.jsonl:9" and [x[0] for x in exp.docs] == ["a.jsonl:3", "a.jsonl:7", "a.jsonl:10"]
    return Built([d / "a.jsonl"], exp)


# ---------------------------------------------------------------------------- 6. the rest
def rest_same_file_twice(d: Path) -> Built:
    a = _one_input(d)
    return Built([a, a], Expect(docs=[("a", T(0)), ("b", T(1))],
                                warnings=[Warn(r"twice|more than once|duplicate|already|same|once|repeat", "a.jsonl")]))


def rest_file_and_its_folder(d: Path) -> Built:
    a = _one_input(d)
    return Built([d, a], Expect(docs=[("a", T(0)), ("b", T(1))],
                                warnings=[Warn(r"twice|more than once|duplicate|already|same|once|repeat", "a.jsonl")]))


def rest_symlink_alias(d: Path) -> Built:
    _one_input(d)
    os.symlink("a.jsonl", d / "alias.jsonl")
    return Built([d], Expect(docs=[("a", T(0)), ("b", T(1))],
                             warnings=[Warn(r"twice|more than once|duplicate|already|same|once|repeat|link|alias",
                                            "alias.jsonl")]))


def rest_broken_symlink(d: Path) -> Built:
    (d / "good.txt").write_text(T(0) + "\n", encoding="utf-8")
    os.symlink(d / "nowhere" / "gone.txt", d / "broken.txt")
    return Built([d], Expect(docs=[("good.txt", T(0) + "\n")],
                             skips=[Skip("badlink", 1, "broken.txt", whole_file=True)]))


def rest_fifo(d: Path) -> Built:
    (d / "good.txt").write_text(T(0) + "\n", encoding="utf-8")
    os.mkfifo(d / "pipe.jsonl")
    os.mkfifo(d / "pipe.txt")
    return Built([d], Expect(docs=[("good.txt", T(0) + "\n")],
                             skips=[Skip("special", 2, "pipe.jsonl", whole_file=True)]))


def rest_symlink_dir_loop(d: Path) -> Built:
    (d / "sub").mkdir()
    (d / "sub" / "good.txt").write_text(T(0) + "\n", encoding="utf-8")
    os.symlink("..", d / "sub" / "up")
    os.symlink(".", d / "self")
    return Built([d], Expect(docs=[("sub/good.txt", T(0) + "\n")], allow=RX["badlink"] + "|loop|recurs|cycle"))


def _stopwords_file(content):
    def build(d: Path) -> Built:
        a = _one_input(d)
        aux = d.parent / (d.name + "-aux")
        aux.mkdir()
        if content is None:
            (aux / "stop.txt").mkdir()
        else:
            (aux / "stop.txt").write_bytes(content)
        return Built([a], Expect(code=2, one_line=True, error=[r"stop"]),
                     args=["--stopwords", str(aux / "stop.txt")])
    return build


def rest_empty_folder(d: Path) -> Built:
    (d / "empty").mkdir()
    return Built([d / "empty"], Expect(code=1, one_line=True, error=[r"empty|no (input|document|file)"]))


def rest_strict_markup(d: Path) -> Built:
    name = "[bold]data[red].jsonl"
    (d / name).write_bytes(lines(J({"text": T(0)}), b"{not json"))
    return Built([d / name], strict_expect(name + ":2"), args=["--strict"])


def rest_device_nonsense(d: Path) -> Built:
    a = _one_input(d)
    return Built([a], Expect(code=2, one_line=True, error=[r"--device", r"nonsense"]),
                 args=["--device", "nonsense"])


def _odd_name(name):
    def build(d: Path) -> Built:
        data = lines(J({"text": T(0)}), b"{not json", J({"text": T(2)}))
        (d / name).write_bytes(data)
        return Built([d / name], jsonl_expect(data, name))
    return build


def rest_text_files(d: Path) -> Built:
    (d / "good.txt").write_text(T(0) + "\n", encoding="utf-8")
    (d / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    (d / "blank.txt").write_bytes(b" \n\t\r\n")
    (d / "empty.txt").write_bytes(b"")
    (d / "crlf.md").write_bytes(b"line one\r\nline two\r\n")
    return Built([d], Expect(docs=[("crlf.md", "line one\r\nline two\r\n"), ("good.txt", T(0) + "\n")],
                             skips=[Skip("binary", 1, "image.txt", whole_file=True),
                                    Skip("empty", 2, "blank.txt", whole_file=True)]))


def rest_strict_binary(d: Path) -> Built:
    (d / "good.txt").write_text(T(0) + "\n", encoding="utf-8")
    (d / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    return Built([d], Expect(code=1, error=[r"image\.txt"]), args=["--strict"])


# ---------------------------------------------------------------------------- the battery
CASES = [
    # 1. invalid UTF-8 (subprocesses: it used to corrupt the heap)
    Case("jsonl_ff_fe", "utf8", _u8_jsonl([b"bad \xff\xfe bytes"]), isolate=True),
    Case("jsonl_truncated_seq_at_end", "utf8",
         _u8_jsonl([b"fin tronqu\xc3", b"euro \xe2\x82", b"emoji \xf0\x9f\x98"]), isolate=True),
    Case("jsonl_overlong", "utf8", _u8_jsonl([b"slash \xc0\xaf", b"three \xe0\x80\xaf", b"nul \xc0\x80"]),
         isolate=True),
    Case("jsonl_surrogate", "utf8", _u8_jsonl([b"hi \xed\xa0\x80 there", b"lo \xed\xbf\xbf"]), isolate=True),
    Case("jsonl_f5_and_above", "utf8",
         _u8_jsonl([b"a \xf5\x80\x80\x80", b"b \xf8\x88\x80\x80\x80", b"c \xff", b"d \xf4\x90\x80\x80"]),
         isolate=True),
    Case("jsonl_lone_continuation", "utf8", _u8_jsonl([b"\x80 start", b"mid \xbf dle"]), isolate=True),
    Case("jsonl_bad_in_other_fields", "utf8", u8_other_fields, isolate=True,
         debatable="invalid UTF-8 outside the text field (id, another field): expected skipped as utf-8"),
    Case("jsonl_many_bad_lines", "utf8", u8_many, isolate=True),
    Case("jsonl_first_and_last_line_no_newline", "utf8", u8_first_last, isolate=True),
    Case("jsonl_gz", "utf8", u8_gz, isolate=True),
    Case("text_files", "utf8", u8_text, isolate=True),
    Case("parquet_string_column", "utf8", u8_parquet, isolate=True,
         debatable="Parquet row locations are 0-based (current reader)"),
    Case("parquet_many_row_groups", "utf8", u8_parquet_many, isolate=True),
    Case("parquet_large_string", "utf8", u8_parquet_large_string, isolate=True),
    Case("strict_jsonl", "utf8", u8_strict_jsonl, isolate=True),
    Case("strict_text", "utf8", u8_strict_text, isolate=True),
    Case("strict_parquet", "utf8", u8_strict_parquet, isolate=True),
    # 2. encodings (misread bytes would reach the kernels as invalid UTF-8: subprocesses)
    Case("latin1_jsonl", "encoding", enc_latin1_jsonl, isolate=True),
    Case("utf16_with_bom", "encoding", _utf16(["be_bom.txt", "le_bom.txt"], "utf-16"), isolate=True),
    Case("utf16_le_no_bom", "encoding", _utf16(["le_nobom.txt"], "utf-16"), isolate=True,
         debatable="Python's utf-16 codec reads BOM-less input as little-endian"),
    Case("utf16_be_no_bom_explicit", "encoding", _utf16(["be_nobom.txt"], "utf-16-be"), isolate=True),
    Case("utf16_auto_with_bom", "encoding", _utf16(["be_bom.txt", "le_bom.txt"], "auto"), isolate=True),
    Case("utf16_auto_no_bom", "encoding", _utf16(["be_nobom.txt", "le_nobom.txt"], "auto"), isolate=True,
         debatable="BOM-less UTF-16 detected by --encoding auto (charset-normalizer; NUL bytes are not binary here)"),
    Case("cp1252_auto_short_line", "encoding", enc_cp1252_auto, isolate=True),
    Case("cp1252_undefined_byte", "encoding", enc_cp1252_undefined, isolate=True),
    Case("utf8_bom_text_file", "encoding", enc_utf8_bom_text, isolate=True,
         debatable="a UTF-8 BOM at the start of a text file is dropped from the document text"),
    Case("utf16_jsonl", "encoding", enc_utf16_jsonl, isolate=True,
         debatable="JSONL in UTF-16 with --encoding utf-16: lines split after decoding"),
    Case("auto_latin1_jsonl", "encoding", enc_auto_latin1_jsonl, isolate=True,
         debatable="--encoding auto on a latin-1 JSONL file: detected per file (cp1252 or latin-1 read it the same)"),
    Case("utf16_odd_length", "encoding", enc_utf16_odd_length, isolate=True),
    Case("auto_binary_and_blank_files", "encoding", enc_auto_binary_and_empty, isolate=True),
    Case("codec_rot13", "encoding", _bad_codec("rot13")),
    Case("codec_base64", "encoding", _bad_codec("base64")),
    Case("codec_bz2", "encoding", _bad_codec("bz2")),
    Case("codec_unknown", "encoding", _bad_codec("no-such-codec")),
    # 3. containers
    Case("gz_truncated", "container", _truncated("a.jsonl.gz", gzip.compress, R.gzip_prefix, 3000)),
    Case("zst_truncated", "container", _truncated("a.jsonl.zst", _zstd_compress, R.zstd_prefix, 12000)),
    Case("zst_not_zstd", "container", cont_zst_not_zstd),
    Case("gz_not_gzip", "container", cont_gz_not_gzip),
    Case("gz_trailing_junk", "container", cont_gz_junk),
    Case("gz_zero_bytes", "container", cont_gz_empty),
    Case("gz_header_only", "container", cont_gz_header_only),
    Case("gz_multimember", "container", cont_gz_multimember),
    Case("jsonl_zero_bytes", "container", cont_jsonl_zero_bytes,
         debatable="a zero-byte .jsonl reported (as empty) like a zero-byte .txt is"),
    Case("parquet_corrupt_last_row_group", "container", _parquet_corrupt(2), isolate=True),
    Case("parquet_corrupt_middle_row_group", "container", _parquet_corrupt(1), isolate=True,
         debatable="the row groups after a corrupt one are still read"),
    Case("parquet_not_parquet", "container", cont_parquet_not_parquet),
    Case("parquet_truncated", "container", cont_parquet_truncated),
    Case("parquet_no_text_column", "container", cont_parquet_no_text_column,
         debatable="a Parquet file without the --text-field column: exit 1 (input failure), not 2"),
    Case("parquet_text_column_not_string", "container", cont_parquet_text_not_string),
    # 4. outputs
    Case("output_is_input", "output", out_same_as_input),
    Case("output_is_input_other_spelling", "output", out_same_as_input_spelled),
    Case("output_is_file_of_input_folder", "output", out_file_of_input_folder),
    Case("minhash_output_is_input", "output", _minhash_flag_is_input("--output"), commands=("minhash",)),
    Case("minhash_clusters_is_input", "output", _minhash_flag_is_input("--clusters"), commands=("minhash",)),
    Case("minhash_save_signatures_is_input", "output", out_minhash_signatures_is_input, commands=("minhash",)),
    Case("output_is_directory", "output", out_is_directory),
    Case("output_under_regular_file", "output", out_under_regular_file),
    Case("minhash_clusters_under_regular_file", "output", out_minhash_under_file_clusters,
         commands=("minhash",)),
    Case("output_is_input_via_symlinked_folder", "output", out_via_symlinked_folder),
    Case("output_is_hard_link_of_input", "output", out_hard_link_of_input,
         debatable="a hard link of an input is the same file (os.path.samefile)"),
    Case("cooc_npz_vocab_is_input", "output", out_cooc_npz_vocab_is_input, commands=("cooc",)),
    Case("minhash_signatures_not_parquet", "output", out_minhash_signatures_not_parquet, commands=("minhash",)),
    Case("minhash_output_eq_clusters", "output", out_minhash_output_eq_clusters, commands=("minhash",)),
    Case("minhash_output_eq_dedup", "output", out_minhash_output_eq_dedup, commands=("minhash",)),
    # 5. JSON details
    Case("two_objects_one_line", "json", json_two_objects_one_line),
    Case("unicode_line_separators", "json", json_line_separators),
    Case("deep_nesting", "json", json_deep_nesting,
         debatable="100000-deep arrays: skipped as malformed (Python's json raises RecursionError)"),
    Case("ids_ints_and_floats", "json", json_ids_numbers),
    Case("ids_huge_string_null_missing", "json", json_ids_huge_and_null),
    Case("duplicate_ids", "json", json_duplicate_ids),
    Case("not_objects", "json", _jsonl_case(J({"text": T(0)}), b"[1, 2, 3]", b'"a string"', b"null", b"42",
                                            b"true", J({"text": T(6)}))),
    Case("text_field_missing_or_not_string", "json", _jsonl_case(
        J({"text": T(0)}), b'{"id": 1}', b'{"text": 5}', b'{"text": null}', b'{"text": ["a", "b"]}',
        b'{"text": {"a": 1}}', b'{"text": true}', J({"text": T(7)}))),
    Case("empty_and_whitespace_texts", "json", _jsonl_case(
        J({"text": T(0)}), b'{"text": ""}', b'{"text": "   "}', b'{"text": "\\t\\n\\r "}',
        '{"text": "\u00a0\u3000"}'.encode(), J({"text": T(5)}))),
    Case("nul_escaped_in_text", "json", _jsonl_case(J({"text": T(0)}), b'{"text": "a\\u0000b c"}',
                                                     J({"text": T(2)}))),
    Case("nul_raw_in_line", "json", _jsonl_case(J({"text": T(0)}), b'{"text": "a\x00b c"}', J({"text": T(2)}),
                                                 order=None),
         debatable="a raw NUL byte inside a JSON string: malformed (RFC 8259) or binary, either wording accepted"),
    Case("lone_surrogate_escape", "json", _jsonl_case(J({"text": T(0)}), b'{"text": "x \\ud800 y"}',
                                                       b'{"text": "\\udc80 z"}', J({"text": T(3)})),
         debatable="a lone \\ud800 escape: skipped (not replaced by U+FFFD)"),
    Case("valid_escapes", "json", _jsonl_case(b'{"text": "caf\\u00e9 \\ud83d\\ude00 na\\u00efve \\"q\\" \\/"}',
                                              J({"text": T(1)}))),
    Case("bom_at_file_start", "json", _jsonl_case(b"\xef\xbb\xbf" + J({"text": T(0)}), J({"text": T(1)}))),
    Case("crlf_line_ends", "json", json_crlf),
    Case("last_line_without_newline", "json", _jsonl_case(J({"text": T(0)}), b"[]", J({"text": T(2)}), end=b"")),
    Case("blank_lines", "json", json_blank_lines),
    Case("trailing_garbage", "json", _jsonl_case(J({"text": T(0)}), J({"text": T(1)}) + b" x",
                                                 J({"text": T(2)}) + b",", J({"text": T(3)}) + b"   ",
                                                 J({"text": T(4)}))),
    Case("many_malformed", "json", json_many_malformed),
    Case("strict_malformed", "json", json_strict([J({"text": T(0)}), b"{oops", b"[1]"], "a.jsonl:2")),
    Case("strict_not_object", "json", json_strict([J({"text": T(0)}), b"", b"[1]", b"{oops"], "a.jsonl:3")),
    Case("strict_empty_text", "json", json_strict([J({"text": T(0)}), J({"text": T(1)}), J({"text": " "})],
                                                  "a.jsonl:3")),
    # 6. the rest
    Case("same_file_twice", "rest", rest_same_file_twice),
    Case("file_and_its_folder", "rest", rest_file_and_its_folder,
         debatable="a file given again through its folder is the same file"),
    Case("symlink_alias_in_folder", "rest", rest_symlink_alias,
         debatable="a symlink in a folder to a file of the folder is the same file"),
    Case("broken_symlink_in_folder", "rest", rest_broken_symlink),
    Case("fifos_in_folder", "rest", rest_fifo, isolate=True, timeout=60),
    Case("symlink_dir_loops_in_folder", "rest", rest_symlink_dir_loop, isolate=True, timeout=60,
         debatable="symlinked folders that loop: read each file once (reporting the loop is allowed, not required)"),
    Case("stopwords_empty_file", "rest", _stopwords_file(b"")),
    Case("stopwords_blank_file", "rest", _stopwords_file(b"\n  \n\t\n")),
    Case("stopwords_invalid_utf8", "rest", _stopwords_file(b"le\nla\n\xff\xfe\n"),
         debatable="a stop-word file that is not UTF-8: a bad parameter (2)"),
    Case("stopwords_is_a_folder", "rest", _stopwords_file(None)),
    Case("empty_folder", "rest", rest_empty_folder,
         debatable="a folder with no documents: exit 1 with one line (not an empty result)"),
    Case("strict_rich_markup_in_file_name", "rest", rest_strict_markup),
    Case("device_nonsense", "rest", rest_device_nonsense),
    Case("rich_markup_in_file_name", "rest", _odd_name("[bold]data[red].jsonl")),
    Case("colon_and_space_in_file_name", "rest", _odd_name("my data: v1.jsonl")),
    Case("binary_and_empty_text_files", "rest", rest_text_files),
    Case("strict_binary_text_file", "rest", rest_strict_binary),
]

ids = [c.id for c in CASES]
assert len(ids) == len(set(ids)), "duplicate case ids"
