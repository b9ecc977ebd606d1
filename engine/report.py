"""The ``corpus analyze --report`` HTML report: one self-contained file, plots embedded.

The report is built from a :class:`ReportData` (plain numbers and strings that
``engine.analyze`` gathers), in two steps::

    figures = render_figures(data)           # name -> PNG bytes (matplotlib, Agg)
    html = build_html(data, figures)         # one string; images as base64 data: URIs
    write_report(data, "report.html", plots_dir="plots/")   # both, written atomically

Nothing in the page refers to the network: no scripts, no web fonts, no
external style sheets or images, so the file opens the same offline and can be
mailed or archived as is.
"""
from __future__ import annotations

import base64
import html
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

__all__ = ["ReportData", "render_figures", "build_html", "write_report"]

PALETTE = ["#3b6ea5", "#d9822b", "#4e9a57", "#b0413e", "#7d5ba6", "#8c6d46", "#c55a9a", "#5f6b73"]
DPI = 110


@dataclass
class ReportData:
    """Everything the report shows.  Every section is optional (``None``: not shown, or its
    ``{"error": "..."}`` dict: the section says why it is missing)."""
    title: str = "corpus-engine analysis"
    inputs: list[str] = field(default_factory=list)
    # ordered label -> value (ints are shown exactly as the CLI prints them)
    summary: dict[str, Any] = field(default_factory=dict)
    # (reason, count, first locations)
    skipped: list[tuple[str, int, list[str]]] = field(default_factory=list)
    languages: Optional[dict[str, int]] = None
    languages_note: str = ""
    # n -> rows (ngram, count, doc_freq), most frequent first
    ngrams: dict[int, list[tuple[str, int, int]]] = field(default_factory=dict)
    ngrams_note: str = ""
    # every unigram count (stop words kept), most frequent first, and the top words for labels
    zipf_counts: Optional[np.ndarray] = None
    zipf_words: list[str] = field(default_factory=list)
    zipf_note: str = ""
    # {"doc_ids", "matrix", "matrix_title", "clusters": [{"representative", "size", "members",
    #  "max_jaccard"}], "summary": {...}, "note"} or {"error": ...}
    minhash: Optional[dict] = None
    # {"measure", "terms": {term: [{"term", "score", "count"}]}, "note"} or {"error": ...}
    cooc: Optional[dict] = None
    params: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    created: str = ""
    command: str = ""
    # the run's engine.stats.JobStats (``corpus analyze --stats``); not shown in the report
    stats: Optional[Any] = None


# ---------------------------------------------------------------------------- figures
def _plt():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
                         "axes.titlesize": 10, "axes.titleweight": "bold", "figure.dpi": DPI,
                         "svg.fonttype": "none"})
    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    # metadata without the matplotlib version/date so the same data gives the same bytes
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    import matplotlib.pyplot as plt
    plt.close(fig)
    return buf.getvalue()


def _short(s: str, width: int) -> str:
    return s if len(s) <= width else s[:width - 1] + "…"


def fig_ngrams(n: int, rows: list[tuple[str, int, int]]) -> bytes:
    plt = _plt()
    rows = rows[::-1]  # most frequent on top
    labels = [_short(r[0], 38) for r in rows]
    counts = [r[1] for r in rows]
    fig, ax = plt.subplots(figsize=(6.2, 0.28 * len(rows) + 0.9))
    bars = ax.barh(range(len(rows)), counts, color=PALETTE[(n - 1) % len(PALETTE)], height=0.7)
    ax.set_yticks(range(len(rows)), labels)
    ax.set_xlabel("occurrences")
    ax.set_title(f"top {len(rows)} {n}-grams")
    top = max(counts) if counts else 1
    ax.set_xlim(0, top * 1.12)
    for b, c in zip(bars, counts):
        ax.text(b.get_width() + top * 0.01, b.get_y() + b.get_height() / 2, str(c),
                va="center", fontsize=8, color="#333")
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    return _png(fig)


def zipf_fit(counts: np.ndarray) -> tuple[float, float] | None:
    """(slope, intercept) of log10(frequency) against log10(rank), fitted on the ranks
    whose count is at least 2 (the singleton tail is flat by construction)."""
    c = np.asarray(counts, dtype=np.float64)
    c = c[c >= 2]
    if c.size < 3:
        return None
    r = np.arange(1, c.size + 1, dtype=np.float64)
    slope, icpt = np.polyfit(np.log10(r), np.log10(c), 1)
    return float(slope), float(icpt)


def fig_zipf(counts: np.ndarray, words: list[str]) -> bytes:
    plt = _plt()
    c = np.asarray(counts, dtype=np.float64)
    r = np.arange(1, c.size + 1)
    fig, ax = plt.subplots(figsize=(6.2, 4.2))
    if c.size > 20000:  # thin the tail: keep every rank on a log grid (the curve is unchanged)
        keep = np.unique(np.geomspace(1, c.size, 4000).astype(np.int64)) - 1
        ax.loglog(r[keep], c[keep], ".", ms=2.5, color=PALETTE[0], label="words (rank, count)")
    else:
        ax.loglog(r, c, ".", ms=3, color=PALETTE[0], label="words (rank, count)")
    fit = zipf_fit(c)
    if fit:
        s, b = fit
        rr = np.array([1, max(2, int((c >= 2).sum()))])
        ax.loglog(rr, 10 ** (b + s * np.log10(rr)), "-", color=PALETTE[1], lw=1.5,
                  label=f"least-squares fit (counts ≥ 2): slope {s:.2f}")
    if words:  # the most frequent words, listed (labels on the points collide at tied counts)
        top = ", ".join(f"{_short(w, 14)} ({int(c[i])})" for i, w in enumerate(words[:5]))
        ax.text(0.02, 0.03, "most frequent: " + top, transform=ax.transAxes, fontsize=8, color="#333",
                bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="#dddddd"))
    ax.set_xlabel("rank")
    ax.set_ylabel("occurrences")
    ax.set_title("rank-frequency (Zipf), all words")
    ax.grid(True, which="major", color="#e5e5e5", linewidth=0.6)
    ax.legend(frameon=False, loc="upper right")
    return _png(fig)


def fig_similarity(doc_ids: list[str], m: np.ndarray, title: str) -> bytes:
    plt = _plt()
    m = np.asarray(m, dtype=np.float64)
    n = m.shape[0]
    side = min(9.0, 2.4 + 0.42 * n)
    fig, ax = plt.subplots(figsize=(side + 1.6, side))
    im = ax.imshow(np.ma.masked_invalid(m), vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(n), [str(i) for i in range(n)], fontsize=7 if n > 20 else 8)
    ax.set_yticks(range(n), [f"{i}  {_short(d, 28)}" for i, d in enumerate(doc_ids)],
                  fontsize=7 if n > 20 else 8)
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    if n <= 15:
        for i in range(n):
            for j in range(n):
                v = m[i, j]
                txt = "–" if np.isnan(v) else f"{v:.2f}"
                ax.text(j, i, txt, ha="center", va="center", fontsize=8,
                        color="black" if (not np.isnan(v) and v > 0.55) else "white")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03, label="Jaccard (estimated)")
    ax.set_title(title)
    return _png(fig)


def _radial_layout(n_main: int, links: dict[int, list[int]], n: int) -> np.ndarray:
    """Deterministic layout: main terms on a ring; an associate of one main term fans out
    beyond it, an associate shared by several sits between them (towards the centre); then
    a few rounds of pushing apart nodes that overlap (main terms stay put)."""
    pos = np.zeros((n, 2))
    ring = (0.45 + 0.05 * n_main) if n_main > 1 else 0.0
    ang = [math.pi / 2 - 2 * math.pi * i / max(n_main, 1) for i in range(n_main)]
    for i in range(n_main):
        pos[i] = ring * math.cos(ang[i]), ring * math.sin(ang[i])
    owners: dict[int, list[int]] = {}
    for m, us in links.items():
        for u in us:
            if u >= n_main:
                owners.setdefault(u, []).append(m)
    private: dict[int, list[int]] = {}
    shared: dict[tuple, list[int]] = {}
    for u in range(n_main, n):
        own = sorted(owners.get(u, []))
        if len(own) == 1:
            private.setdefault(own[0], []).append(u)
        elif own:
            shared.setdefault(tuple(own), []).append(u)
    for m, us in private.items():
        k = len(us)
        spread = min(2 * math.pi / max(n_main, 1) * 1.7, 2.4) if n_main > 1 else 2 * math.pi * (1 - 1 / max(k, 1))
        for j, u in enumerate(us):
            a = ang[m] + (spread * (j / (k - 1) - 0.5) if k > 1 else 0.0)
            r = 0.34 + 0.12 * (j % 2)
            pos[u] = pos[m] + (r * math.cos(a), r * math.sin(a))
    for own, us in shared.items():
        c = pos[list(own)].mean(axis=0) * 0.7
        d = np.array([-c[1], c[0]]) if np.linalg.norm(c) > 1e-6 else np.array([1.0, 0.0])
        d = d / (np.linalg.norm(d) or 1.0)
        for j, u in enumerate(us):
            pos[u] = c + d * 0.13 * (j - (len(us) - 1) / 2)
    movable = np.arange(n) >= n_main
    dmin = 0.13
    for _ in range(120):
        d = pos[:, None, :] - pos[None, :, :]
        dist = np.linalg.norm(d, axis=2) + np.eye(n)
        push = np.clip(dmin - dist, 0, None) / dist
        np.fill_diagonal(push, 0)
        move = (push[:, :, None] * d).sum(axis=1) * 0.5
        if not np.abs(move).max() > 1e-4:
            break
        pos[movable] += move[movable]
    return pos


def fig_network(terms: dict[str, list[dict]], measure: str, per_term: int = 6) -> bytes:
    plt = _plt()
    mains = list(terms)
    names = list(mains)
    index = {t: i for i, t in enumerate(names)}
    edges: dict[tuple[int, int], float] = {}
    for t in mains:
        rows = terms[t][:per_term]
        if not rows:
            continue
        scores = np.array([float(r["score"]) for r in rows])
        lo, hi = float(scores.min()), float(scores.max())
        for r, s in zip(rows, scores):
            u = r["term"]
            if u not in index:
                index[u] = len(names)
                names.append(u)
            w = 1.0 if hi == lo else 0.25 + 0.75 * (s - lo) / (hi - lo)
            key = tuple(sorted((index[t], index[u])))
            edges[key] = max(edges.get(key, 0.0), w)
    e = [(a, b, w) for (a, b), w in edges.items()]
    links: dict[int, list[int]] = {}
    for a, b, _ in e:
        links.setdefault(a, []).append(b)
        links.setdefault(b, []).append(a)
    pos = _radial_layout(len(mains), {m: links.get(m, []) for m in range(len(mains))}, len(names))
    deg = np.zeros(len(names))
    for a, b, _ in e:
        deg[a] += 1
        deg[b] += 1
    fig, ax = plt.subplots(figsize=(7.8, 7.0))
    for a, b, w in e:
        ax.plot(*zip(pos[a], pos[b]), "-", color="#8a99a8", lw=0.6 + 2.6 * w, alpha=0.55, zorder=1)
    n_main = len(mains)
    for i, name in enumerate(names):
        is_main = i < n_main
        color = PALETTE[i % len(PALETTE)] if is_main else ("#f2c14e" if deg[i] > 1 else "#c9d4de")
        ax.scatter(*pos[i], s=(900 if is_main else 60 + 40 * deg[i]), color=color, zorder=2,
                   edgecolors="white", linewidths=1.2)
        if is_main:
            ax.text(pos[i][0], pos[i][1], _short(name, 14), ha="center", va="center", zorder=4,
                    fontsize=8.5, fontweight="bold", color="white",
                    bbox=dict(boxstyle="round,pad=0.2", fc=color, ec="none", alpha=0.9))
        else:
            # label on the far side of the node from the terms it is linked to
            d = pos[i] - pos[links.get(i, [i])].mean(axis=0)
            if np.linalg.norm(d) < 1e-6:
                d = pos[i]
            d = d / (np.linalg.norm(d) or 1.0)
            ax.annotate(_short(name, 20), pos[i], xytext=(d[0] * 7, d[1] * 7), textcoords="offset points",
                        ha="left" if d[0] > 0.3 else ("right" if d[0] < -0.3 else "center"),
                        va="bottom" if d[1] > 0.3 else ("top" if d[1] < -0.3 else "center"),
                        fontsize=7.5, color="#222", zorder=3,
                        bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none", alpha=0.8))
    lim = float(np.abs(pos).max()) + 0.3
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"co-occurrence network: main terms and their top {per_term} associates ({measure}); "
                 "yellow: shared", fontsize=9)
    return _png(fig)


def render_figures(data: ReportData) -> dict[str, bytes]:
    """Name (file name of the PNG) -> PNG bytes, in report order."""
    out: dict[str, bytes] = {}
    for n, rows in sorted(data.ngrams.items()):
        if rows:
            out[f"ngrams_{n}.png"] = fig_ngrams(n, rows)
    if data.zipf_counts is not None and len(data.zipf_counts):
        out["zipf.png"] = fig_zipf(data.zipf_counts, data.zipf_words)
    mh = data.minhash or {}
    if mh.get("matrix") is not None and len(mh.get("doc_ids", [])) >= 2:
        out["similarity.png"] = fig_similarity(mh["doc_ids"], np.asarray(mh["matrix"], dtype=np.float64),
                                               mh.get("matrix_title", "estimated Jaccard"))
    co = data.cooc or {}
    if co.get("terms") and any(co["terms"].values()):
        out["cooc_network.png"] = fig_network(co["terms"], co.get("measure", "score"))
    return out


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


def plot_names(orders) -> list[str]:
    """Every PNG :func:`render_figures` may name for n-gram orders ``orders`` (for planning)."""
    return [f"ngrams_{n}.png" for n in orders] + ["zipf.png", "similarity.png", "cooc_network.png"]


def report_targets(path, plots_dir=None, orders=(1, 2, 3)) -> list:
    """The files :func:`write_report` may write, as output-plan targets: ``--report``, and
    with ``plots_dir`` each possible PNG as ``--plots/NAME`` (optional; the folder is
    created when the first is written)."""
    from engine.output import Target, folder_targets
    targets = [Target("--report", Path(path), formats=None)]
    if plots_dir is not None:
        targets += folder_targets("--plots", plots_dir, plot_names(orders))
    return targets


def write_report(data: ReportData, path, plots_dir=None, plan=None) -> tuple[Path, list[Path]]:
    """Write the report to ``path`` and, with ``plots_dir``, each PNG into that folder.

    Parameters
    ----------
    data : what the report shows.
    path : the HTML file.
    plots_dir : a folder for the PNGs (created if missing), or None.
    plan : the command's :class:`engine.output.OutputPlan` holding
        :func:`report_targets`: everything goes to its temps, renamed when the plan
        commits. Without it, the files are checked, written, then renamed together here.

    Returns
    -------
    (report path, PNG paths written).
    """
    from engine.output import Target, plan_outputs
    path = Path(path)
    if plan is None:
        with plan_outputs({}, extra=report_targets(path, plots_dir, sorted(data.ngrams))) as mine:
            result = write_report(data, path, plots_dir, plan=mine)
            mine.commit()
        return result
    figures = render_figures(data)
    plan.write_text("--report", build_html(data, figures))
    written = []
    if plots_dir is not None:
        for name, png in figures.items():
            key = f"--plots/{name}"
            if key not in plan:  # a figure the plan did not foresee: checked now, late but checked
                plan.add(Target("--plots", Path(plots_dir) / name, formats=None, key=key,
                                optional=True, make_folder=True))
            plan.write_bytes(key, png)
            written.append(plan.path(key))
    return path, written
