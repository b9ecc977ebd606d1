"""The report's HTML: one self-contained page (style sheet inline, images as base64 data: URIs,
nothing fetched from the network), :func:`build_html`."""
from __future__ import annotations

import base64
import html
import math

import numpy as np

from engine.report.data import ReportData
from engine.report.figures import render_figures, zipf_fit

__all__ = ["build_html", "CSS"]


# ---------------------------------------------------------------------------- HTML
CSS = """
:root { --fg:#1d2630; --muted:#5f6b76; --line:#dfe3e8; --accent:#3b6ea5; --bg:#ffffff; --soft:#f5f7f9; }
* { box-sizing: border-box; }
body { margin:0; color:var(--fg); background:var(--bg);
  font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif; }
header { background:#23374d; color:#fff; padding:18px 32px 14px; }
header h1 { margin:0 0 4px; font-size:22px; }
header p { margin:0; color:#c8d3de; font-size:13px; }
nav { padding:8px 32px; background:var(--soft); border-bottom:1px solid var(--line); font-size:13px; }
nav a { color:var(--accent); text-decoration:none; margin-right:16px; }
main { max-width:1180px; padding:8px 32px 40px; }
h2 { font-size:18px; margin:28px 0 10px; padding-bottom:4px; border-bottom:2px solid var(--line); }
h3 { font-size:15px; margin:18px 0 8px; }
p.note { color:var(--muted); margin:4px 0 10px; font-size:13px; }
.grid { display:flex; flex-wrap:wrap; gap:18px 28px; align-items:flex-start; }
.pair { display:grid; grid-template-columns: minmax(0, 620px) minmax(240px, 1fr); gap:18px 28px; align-items:start; }
.pair figure img { width:100%; }
.pair > table, .pair > div { justify-self:start; }
.wide figure img { width:100%; max-width:780px; }
@media (max-width: 960px) { .pair { grid-template-columns: 1fr; } }
.cards { display:flex; flex-wrap:wrap; gap:12px; margin:10px 0 6px; }
.card { background:var(--soft); border:1px solid var(--line); border-radius:6px; padding:8px 14px; min-width:120px; }
.card .v { font-size:20px; font-weight:600; font-variant-numeric: tabular-nums; }
.card .k { color:var(--muted); font-size:12px; }
figure { margin:0; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; }
figcaption { color:var(--muted); font-size:12px; margin-top:4px; max-width:640px; }
table { border-collapse:collapse; font-size:13px; margin:4px 0 8px; }
th, td { padding:3px 10px; border-bottom:1px solid var(--line); text-align:left; vertical-align:top; }
th { background:var(--soft); font-weight:600; }
td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
table.kv th { background:none; color:var(--muted); font-weight:normal; }
.warn { color:#8a5a00; }
.err { color:#a12b2b; background:#fbeeee; border:1px solid #efcccc; padding:8px 12px; border-radius:4px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size:12.5px;
  background:var(--soft); padding:1px 4px; border-radius:3px; }
.assoc { display:flex; flex-wrap:wrap; gap:14px 22px; }
.assoc table { min-width:220px; }
footer { color:var(--muted); font-size:12px; margin-top:30px; }
"""


def _e(x) -> str:
    return html.escape(str(x), quote=True)


def _num(v) -> str:
    """Numbers as the CLI prints them: ints plain (no separators); floats with 2-3 decimals."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return "–"
        return f"{v:.0f}" if abs(v) >= 1000 else (f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}")
    return _e(v)


def _img(figures: dict[str, bytes], name: str, alt: str, caption: str = "") -> str:
    if name not in figures:
        return ""
    b64 = base64.b64encode(figures[name]).decode("ascii")
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure><img src="data:image/png;base64,{b64}" alt="{_e(alt)}" data-name="{_e(name)}">{cap}</figure>'


def _table(headers: list[str], rows: list[list], numeric: set[int] = frozenset(), cls: str = "",
           attrs: str = "") -> str:
    c = f' class="{_e(cls)}"' if cls else ""
    num_cls = ' class="num"'
    head = "".join(f"<th{num_cls if i in numeric else ''}>{_e(h)}</th>" for i, h in enumerate(headers))
    body = []
    for r in rows:
        cells = []
        for i, v in enumerate(r):
            if i in numeric:
                cells.append(f'<td class="num">{_num(v)}</td>')
            else:
                cells.append(f"<td>{_e(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table{c}{attrs}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _kv(d: dict, cls: str = "kv") -> str:
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_num(v) if isinstance(v, (int, float, np.number)) else _e(v)}</td></tr>"
                   for k, v in d.items())
    return f'<table class="{cls}"><tbody>{rows}</tbody></table>'


def _section_summary(d: ReportData, figures) -> str:
    cards = "".join(f'<div class="card"><div class="v">{_num(v)}</div><div class="k">{_e(k)}</div></div>'
                    for k, v in list(d.summary.items())[:6])
    rest = dict(list(d.summary.items())[6:])
    parts = [f'<h2 id="summary">Corpus summary</h2><div class="cards" id="summary-cards">{cards}</div>']
    if rest:
        parts.append(_kv(rest))
    if d.inputs:
        parts.append("<p class=\"note\">inputs: " + ", ".join(f"<code>{_e(p)}</code>" for p in d.inputs) + "</p>")
    parts.append("<h3>Skipped inputs and warnings</h3>")
    if d.skipped:
        parts.append(_table(["reason", "count", "first locations"],
                            [[r, n, ", ".join(locs) + (" …" if n > len(locs) else "")] for r, n, locs in d.skipped],
                            numeric={1}, cls="skipped"))
    else:
        parts.append('<p class="note">none: every input was read.</p>')
    if d.languages:
        parts.append("<h3>Languages</h3>")
        total = sum(d.languages.values()) or 1
        parts.append(_table(["language", "documents", "share"],
                            [[k, v, f"{100 * v / total:.0f}%"] for k, v in d.languages.items()],
                            numeric={1}, cls="languages"))
        if d.languages_note:
            parts.append(f'<p class="note">{_e(d.languages_note)}</p>')
    return "".join(parts)


def _section_ngrams(d: ReportData, figures) -> str:
    parts = ['<h2 id="ngrams">Top n-grams</h2>']
    if d.ngrams_note:
        parts.append(f'<p class="note">{_e(d.ngrams_note)}</p>')
    if not d.ngrams:
        parts.append('<p class="note">no n-grams (empty corpus).</p>')
    for n, rows in sorted(d.ngrams.items()):
        parts.append(f"<h3>{n}-grams</h3>")
        if not rows:
            parts.append(f'<p class="note">no {n}-grams.</p>')
            continue
        parts.append('<div class="pair">' + _img(figures, f"ngrams_{n}.png", f"bar chart of the top {n}-grams")
                     + _table(["ngram", "count", "doc_freq"], [list(r) for r in rows], numeric={1, 2},
                              cls="ngrams", attrs=f' data-n="{n}"') + "</div>")
    return "".join(parts)


def _section_zipf(d: ReportData, figures) -> str:
    parts = ['<h2 id="zipf">Rank-frequency (Zipf)</h2>']
    if d.zipf_counts is None or not len(d.zipf_counts):
        return parts[0] + '<p class="note">no words.</p>'
    fit = zipf_fit(d.zipf_counts)
    c = np.asarray(d.zipf_counts)
    facts = {"distinct words": int(c.size), "words (stop words kept)": int(c.sum()),
             "words seen once (hapaxes)": int((c == 1).sum())}
    if fit:
        facts["fitted exponent (slope)"] = round(fit[0], 3)
    cap = ("Each dot is a distinct word: its rank by frequency against its number of occurrences, "
           "log-log. Zipf's law is a straight line of slope about -1.")
    parts.append('<div class="pair">' + _img(figures, "zipf.png", "rank-frequency plot, log-log", cap)
                 + _kv(facts) + "</div>")
    if d.zipf_note:
        parts.append(f'<p class="note">{_e(d.zipf_note)}</p>')
    return "".join(parts)


def _section_start(heading: str, sec: dict | None) -> tuple[list[str], bool]:
    """Heading plus the common head of an optional section: (parts, finished).

    A section that was not computed or failed is finished by a one-line note."""
    if sec is None:
        return [heading + '<p class="note">not computed.</p>'], True
    if sec.get("error"):
        return [heading + f'<p class="err">{_e(sec["error"])}</p>'], True
    parts = [heading]
    if sec.get("note"):
        parts.append(f'<p class="note">{_e(sec["note"])}</p>')
    return parts, False


def _section_minhash(d: ReportData, figures) -> str:
    mh = d.minhash
    parts, done = _section_start('<h2 id="near-duplicates">Near-duplicates (MinHash)</h2>', mh)
    if done:
        return parts[0]
    if mh.get("summary"):
        parts.append(_kv(mh["summary"], cls="kv minhash-summary"))
    ids = mh.get("doc_ids") or []
    if mh.get("matrix") is not None and len(ids) >= 2:
        parts.append("<h3>Similarity matrix</h3>")
        if len(ids) <= 12:  # small enough to print the numbers too (as the console does)
            mat = np.asarray(mh["matrix"], dtype=np.float64)
            legend = _table(["#", "document"] + [str(j) for j in range(len(ids))],
                            [[i, x] + ["–" if np.isnan(v) else f"{v:.2f}" for v in mat[i]]
                             for i, x in enumerate(ids)],
                            numeric={0} | set(range(2, len(ids) + 2)), cls="doc-legend similarity")
        else:
            legend = _table(["#", "document"], [[i, x] for i, x in enumerate(ids)], numeric={0},
                            cls="doc-legend")
        parts.append('<div class="pair">' + _img(figures, "similarity.png", "similarity heatmap",
                                                 mh.get("matrix_caption", "")) + legend + "</div>")
    parts.append("<h3>Clusters</h3>")
    clusters = mh.get("clusters") or []
    if clusters:
        rows = []
        for c in clusters:
            members = c.get("members", [])
            more = c["size"] - len(members)
            rows.append([c["representative"], c["size"],
                         ", ".join(members) + (f" … (+{more})" if more > 0 else ""),
                         c.get("max_jaccard", float("nan"))])
        parts.append(_table(["representative (kept)", "size", "members", "max Jaccard"], rows,
                            numeric={1, 3}, cls="clusters"))
        if mh.get("clusters_note"):
            parts.append(f'<p class="note">{_e(mh["clusters_note"])}</p>')
    else:
        parts.append(f'<p class="note">{_e(mh.get("no_clusters", "no near-duplicate clusters."))}</p>')
    return "".join(parts)


def _section_cooc(d: ReportData, figures) -> str:
    co = d.cooc
    parts, done = _section_start('<h2 id="cooc">Co-occurrence</h2>', co)
    if done:
        return parts[0]
    terms = co.get("terms") or {}
    cols = co.get("columns") or ["score", "count"]
    tables = []
    for t, rows in terms.items():
        body = [[r["term"]] + [r.get(c, "") for c in cols] for r in rows]
        tables.append(f"<div><h3>{_e(t)}</h3>"
                      + (_table(["associate"] + cols, body, numeric=set(range(1, len(cols) + 1)),
                                cls="assoc-table",
                                attrs=f' data-term="{_e(t)}"') if body else '<p class="note">no associates.</p>')
                      + "</div>")
    parts.append('<div class="assoc">' + "".join(tables) + "</div>")
    parts.append('<div class="wide">' + _img(figures, "cooc_network.png", "co-occurrence network",
                      "Main terms (large, coloured) linked to their strongest associates; thicker lines "
                      "are stronger associations; associates shared by several main terms are yellow.")
                 + "</div>")
    return "".join(parts)


def _section_params(d: ReportData, figures) -> str:
    parts = ['<h2 id="parameters">Parameters and versions</h2><div class="grid">']
    if d.params:
        parts.append("<div><h3>Parameters</h3>" + _kv(d.params, cls="kv params") + "</div>")
    if d.versions:
        parts.append("<div><h3>Versions</h3>" + _kv(d.versions, cls="kv versions") + "</div>")
    parts.append("</div>")
    if d.command:
        parts.append(f'<p class="note">command: <code>{_e(d.command)}</code></p>')
    return "".join(parts)


def build_html(data: ReportData, figures: dict[str, bytes] | None = None) -> str:
    """The whole report as one HTML5 string (images inlined as base64 PNG)."""
    figures = render_figures(data) if figures is None else figures
    nav = "".join(f'<a href="#{a}">{_e(t)}</a>' for a, t in (
        ("summary", "Summary"), ("ngrams", "N-grams"), ("zipf", "Zipf"),
        ("near-duplicates", "Near-duplicates"), ("cooc", "Co-occurrence"), ("parameters", "Parameters")))
    sub = f"{_e(data.created)}" + (f" · {len(data.inputs)} input path(s)" if data.inputs else "")
    body = "".join(f(data, figures) for f in (_section_summary, _section_ngrams, _section_zipf,
                                              _section_minhash, _section_cooc, _section_params))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{_e(data.title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"<header><h1>{_e(data.title)}</h1><p>{sub}</p></header>\n<nav>{nav}</nav>\n"
            f"<main>\n{body}\n<footer>Generated by corpus-engine"
            f"{' ' + _e(data.versions.get('corpus-engine', '')) if data.versions else ''}. "
            "Self-contained: no scripts, fonts or images are fetched.</footer>\n</main>\n</body>\n</html>\n")

