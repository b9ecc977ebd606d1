"""The report's figures: matplotlib (Agg) PNGs of the n-grams, Zipf curve, similarity matrix
and co-occurrence network, by name (:func:`render_figures`)."""
from __future__ import annotations

import io
import math

import numpy as np

from engine.report.data import ReportData

__all__ = ["render_figures", "zipf_fit", "fig_ngrams", "fig_zipf", "fig_similarity", "fig_network",
           "PALETTE", "DPI"]

PALETTE = ["#3b6ea5", "#d9822b", "#4e9a57", "#b0413e", "#7d5ba6", "#8c6d46", "#c55a9a", "#5f6b73"]
DPI = 110


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

