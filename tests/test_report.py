"""engine.report: the self-contained HTML report (structure, no network references,
embedded images that decode, escaping, plots written as files)."""
from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest

from engine.report import ReportData, build_html, render_figures, write_report, zipf_fit

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class ReportParser(HTMLParser):
    """Checks that tags balance and collects images, tables and references."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.imgs: list[dict] = []
        self.refs: list[tuple[str, str, str]] = []   # (tag, attribute, value) of src/href
        self.scripts = 0
        self.links = 0
        self.tables: list[dict] = []                 # {"attrs", "rows": [[cell text]]}
        self.ids: set[str] = set()
        self._cell: list[str] | None = None
        self.text: list[str] = []
        self.doctype = False

    def handle_decl(self, decl):
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            if a["id"] in self.ids:
                self.errors.append(f"duplicate id {a['id']}")
            self.ids.add(a["id"])
        for k in ("src", "href"):
            if k in a:
                self.refs.append((tag, k, a[k] or ""))
        if tag == "img":
            self.imgs.append(a)
        elif tag == "script":
            self.scripts += 1
        elif tag == "link":
            self.links += 1
        elif tag == "table":
            self.tables.append({"attrs": a, "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._cell = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None and self.tables and self.tables[-1]["rows"]:
            self.tables[-1]["rows"][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        self.text.append(data)


def parse_report(text: str) -> ReportParser:
    """Parse ``text`` and assert the report is well formed and self-contained."""
    p = ReportParser()
    p.feed(text)
    p.close()
    assert p.doctype, "starts with <!DOCTYPE html>"
    assert not p.errors, p.errors[:5]
    assert not p.stack, f"unclosed tags: {p.stack}"
    assert p.scripts == 0 and p.links == 0, "no scripts, no external style sheets or fonts"
    for tag, attr, value in p.refs:
        assert not re.match(r"\s*(https?:)?//", value, re.I), f"network reference {tag} {attr}={value[:60]}"
        if tag == "img":
            assert value.startswith("data:image/png;base64,"), value[:40]
        else:
            assert value.startswith("#"), f"only in-page links: {value[:60]}"
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text, re.I), "no remote CSS resources"
    assert not re.search(r"@import", text), "no CSS imports"
    return p


def decode_png(src: str) -> np.ndarray:
    import matplotlib.image as mpimg
    raw = base64.b64decode(src.split(",", 1)[1], validate=True)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(io.BytesIO(raw), format="png")
    assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
    return img


def check_images(p: ReportParser) -> dict[str, np.ndarray]:
    out = {}
    for a in p.imgs:
        assert a.get("alt"), "every image has alt text"
        out[a.get("data-name")] = decode_png(a["src"])
    return out


def table_rows(p: ReportParser, **attrs) -> list[list[str]]:
    """Body rows (header dropped) of the first table whose attributes include ``attrs``."""
    for t in p.tables:
        if all(t["attrs"].get(k) == v for k, v in attrs.items()):
            return t["rows"][1:]
    raise AssertionError(f"no table with {attrs}")


# ---------------------------------------------------------------------------- synthetic data
def _data(**kw) -> ReportData:
    rng = np.random.default_rng(0)
    counts = np.sort((1000 / np.arange(1, 400) ** 1.0).astype(np.int64) + 1)[::-1]
    m = np.array([[1.0, 0.9, 0.1], [0.9, 1.0, 0.2], [0.1, 0.2, 1.0]])
    d = dict(
        inputs=["corpus/"],
        summary={"documents": 3, "tokens": 4242, "MB": 0.01, "distinct words": 399,
                 "skipped inputs": 2, "files": 5, "bytes": 12345},
        skipped=[("invalid UTF-8", 2, ["a.txt", "b.txt"])],
        languages={"fr": 2, "en": 1}, languages_note="guessed",
        ngrams={1: [("<script>alert(1)</script>", 7, 2), ("nvidia", 5, 3)],
                2: [("l'ia & co", 3, 1)], 3: []},
        zipf_counts=counts, zipf_words=["de", "la"],
        minhash={"doc_ids": ["a", "b", "c"], "matrix": m.tolist(), "matrix_title": "sim",
                 "clusters": [{"representative": "a", "size": 2, "members": ["a", "b"], "max_jaccard": 0.9}],
                 "summary": {"documents": 3, "clusters": 1}},
        cooc={"measure": "llr", "columns": ["llr", "npmi", "count"],
              "terms": {"nvidia": [{"term": "openai", "score": 9.5, "llr": 9.5, "npmi": 0.2, "count": 35},
                                   {"term": "gpu", "score": 3.0, "llr": 3.0, "npmi": 0.1, "count": 4}],
                        "openai": [{"term": "nvidia", "score": 9.5, "llr": 9.5, "npmi": 0.2, "count": 35},
                                   {"term": "altman", "score": float(rng.uniform(1, 2)), "llr": 1.5,
                                    "npmi": 0.3, "count": 6}]}},
        params={"n": "1-3", "top": 10}, versions={"corpus-engine": "0.1.0"},
        created="2025-01-01 00:00:00 UTC", command="corpus analyze corpus/")
    d.update(kw)
    return ReportData(**d)


def test_full_report_is_valid_self_contained_html():
    data = _data()
    figs = render_figures(data)
    assert set(figs) == {"ngrams_1.png", "ngrams_2.png", "zipf.png", "similarity.png", "cooc_network.png"}
    text = build_html(data, figs)
    p = parse_report(text)
    imgs = check_images(p)
    assert set(imgs) == set(figs)
    # user text is escaped, never markup
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert table_rows(p, **{"class": "ngrams", "data-n": "1"})[0] == ["<script>alert(1)</script>", "7", "2"]
    assert table_rows(p, **{"class": "ngrams", "data-n": "2"}) == [["l'ia & co", "3", "1"]]
    assert ["invalid UTF-8", "2", "a.txt, b.txt"] in table_rows(p, **{"class": "skipped"})
    assert table_rows(p, **{"class": "clusters"})[0][:3] == ["a", "2", "a, b"]
    assert table_rows(p, **{"data-term": "nvidia"})[0] == ["openai", "9.50", "0.200", "35"]
    body = " ".join(p.text)
    for s in ("4242", "Corpus summary", "Rank-frequency", "Near-duplicates", "Co-occurrence",
              "Parameters and versions", "corpus analyze corpus/", "no 3-grams"):
        assert s in body, s
    for anchor in ("summary", "ngrams", "zipf", "near-duplicates", "cooc", "parameters"):
        assert anchor in p.ids


def test_sections_missing_or_failed_are_explained():
    data = _data(ngrams={}, zipf_counts=None, minhash={"error": "near-duplicate section failed: boom"},
                 cooc={"error": "Co-occurrence unavailable: engine.cooc could not be imported (x)."},
                 skipped=[], languages=None)
    figs = render_figures(data)
    assert figs == {}
    p = parse_report(build_html(data, figs))
    assert p.imgs == []
    body = " ".join(p.text)
    assert "near-duplicate section failed: boom" in body
    assert "engine.cooc could not be imported" in body
    assert "every input was read" in body


def test_large_matrix_and_single_main_term():
    n = 30
    rng = np.random.default_rng(1)
    m = rng.uniform(0, 1, (n, n))
    m = (m + m.T) / 2
    np.fill_diagonal(m, 1.0)
    m[3, :] = m[:, 3] = np.nan   # an empty document
    data = _data(minhash={"doc_ids": [f"doc-{i:03d}-" + "x" * 40 for i in range(n)], "matrix": m.tolist(),
                          "clusters": []},
                 cooc={"measure": "llr", "terms": {"solo": [{"term": f"w{i}", "score": float(i)} for i in range(8)]}})
    figs = render_figures(data)
    p = parse_report(build_html(data, figs))
    check_images(p)
    assert "no near-duplicate clusters" in " ".join(p.text)


def test_zipf_fit_recovers_exponent():
    r = np.arange(1, 5001)
    counts = np.floor(1e6 * r ** -1.1).astype(np.int64)
    slope, _ = zipf_fit(counts)
    assert slope == pytest.approx(-1.1, abs=0.02)
    assert zipf_fit(np.array([5, 1, 1])) is None


def test_write_report_atomic_with_plots(tmp_path):
    out = tmp_path / "r.html"
    path, pngs = write_report(_data(), out, tmp_path / "plots" / "deep")
    assert path == out and out.is_file()
    assert not [f for f in tmp_path.iterdir() if f.name.endswith(".tmp")]
    parse_report(out.read_text(encoding="utf-8"))
    assert sorted(p.name for p in pngs) == sorted(render_figures(_data()))
    import matplotlib.image as mpimg
    for p in pngs:
        assert mpimg.imread(p).shape[0] > 50
    assert (out.stat().st_mode & 0o644) == 0o644, "readable like any other file the user writes"


def test_write_report_missing_folder(tmp_path):
    from engine.output import OutputError
    with pytest.raises(OutputError, match="does not exist"):
        write_report(_data(), tmp_path / "nope" / "r.html")
