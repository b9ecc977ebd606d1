"""Cost against corpus size: the end-to-end rows of several sizes as a table, slopes and a chart.

The rows are those of :func:`bench.e2e.run_e2e` (one process per command, start-up included).
For each (job, tool, language) series sorted by size, and each pair of successive sizes:

- ``s_per_mb``: marginal seconds per MB of text, ``(t2 - t1) / (mb2 - mb1)``; constant when the
  cost is linear (the start-up, paid once, cancels out);
- ``mb_per_s_ratio``: MB/s at the larger size over MB/s at the smaller (1.0 = linear; below 1
  the cost grows faster than the corpus; above 1 the fixed start-up is being amortised);
- ``time_exponent``: ``log(t2 / t1) / log(mb2 / mb1)``, the local power of the cost (1 = linear);
- ``rss_x`` and ``rss_exponent``: the same for peak RSS (exponent 0 = flat memory, 1 = memory
  proportional to the corpus).

So "linear in corpus size" and "flat in memory" are read off numbers, not off a chart.
"""
from __future__ import annotations

import math
from pathlib import Path

__all__ = ["series", "size_rows", "slopes", "markdown", "chart"]


def _key(r: dict) -> tuple[str, str, str]:
    return r["job"], r["tool"], r["lang"]


def series(rows: list[dict]) -> dict[tuple[str, str, str], list[dict]]:
    """Successful rows grouped by (job, tool, lang), each group sorted by text size."""
    out: dict[tuple[str, str, str], list[dict]] = {}
    for r in rows:
        if r.get("status") == "ok" and r.get("median_s") and r.get("input_bytes"):
            out.setdefault(_key(r), []).append(r)
    for group in out.values():
        group.sort(key=lambda r: r["input_bytes"])
    return out


def size_rows(rows: list[dict]) -> list[dict]:
    """One row per job, tool, language and size: wall s, MB/s, peak RSS MB, RSS over text."""
    out = []
    for (job, tool, lang), group in series(rows).items():
        for r in group:
            text_mb = r["input_bytes"] / 1e6
            rss = r.get("peak_rss_mb")
            out.append({"job": job, "tool": tool, "lang": lang, "size_mb": r["size_mb"],
                        "text_mb": text_mb, "wall_s": r["median_s"], "cpu_s": r.get("cpu_s"),
                        "mb_per_s": text_mb / r["median_s"],
                        "peak_rss_mb": rss, "rss_per_text": rss / text_mb if rss else None})
    return out


def _exponent(ratio: float | None, size_x: float) -> float | None:
    if not ratio or ratio <= 0 or size_x <= 1:
        return None
    return math.log(ratio) / math.log(size_x)


def slopes(rows: list[dict]) -> list[dict]:
    """Between each two successive sizes of a series: marginal s/MB, MB/s ratio, exponents."""
    out = []
    for (job, tool, lang), group in series(rows).items():
        for a, b in zip(group, group[1:]):
            mb_a, mb_b = a["input_bytes"] / 1e6, b["input_bytes"] / 1e6
            size_x = mb_b / mb_a
            time_x = b["median_s"] / a["median_s"]
            ra, rb = a.get("peak_rss_mb"), b.get("peak_rss_mb")
            rss_x = rb / ra if ra and rb else None
            ca, cb = a.get("cpu_s"), b.get("cpu_s")
            cpu_x = cb / ca if ca and cb else None
            out.append({"job": job, "tool": tool, "lang": lang,
                        "from_mb": a["size_mb"], "to_mb": b["size_mb"], "size_x": size_x,
                        "time_x": time_x,
                        "s_per_mb": (b["median_s"] - a["median_s"]) / (mb_b - mb_a) if mb_b > mb_a else None,
                        "mb_per_s_ratio": size_x / time_x,
                        "time_exponent": _exponent(time_x, size_x), "cpu_exponent": _exponent(cpu_x, size_x),
                        "rss_x": rss_x, "rss_exponent": _exponent(rss_x, size_x)})
    return out


def _f(x, nd=2) -> str:
    if x is None:
        return "–"
    return f"{x:.{nd}f}" if isinstance(x, float) else str(x)


def _mb(x: float) -> str:
    return f"{x / 1000:g} GB" if x >= 1000 else f"{x:g} MB"


def markdown(rows: list[dict], title: str = "## cost against corpus size (end to end)") -> list[str]:
    """The size table and the slope table of results.md."""
    sized, slope = size_rows(rows), slopes(rows)
    lines = [title, "",
             "| job | lang | tool | corpus | text MB | wall s | CPU s | MB/s | peak RSS MB | RSS / text |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sized:
        lines.append(f"| {r['job']} | {r['lang']} | {r['tool']} | {_mb(r['size_mb'])} | {r['text_mb']:.1f} | "
                     f"{_f(r['wall_s'])} | {_f(r['cpu_s'])} | {_f(r['mb_per_s'])} | {_f(r['peak_rss_mb'], 0)} | "
                     f"{_f(r['rss_per_text'], 1)} |")
    failed = [r for r in rows if r.get("status") != "ok"]
    for r in failed:
        lines.append(f"| {r['job']} | {r['lang']} | {r['tool']} | {_mb(r['size_mb'])} | – | "
                     f"{r['status']}: {str(r.get('reason', '')).replace('|', '/')} | – | – | – | – |")
    lines += ["", "Between successive sizes (marginal s/MB = extra seconds per extra MB of text, start-up "
              "cancels out; MB/s ratio = MB/s at the larger size over the smaller, 1.00 = linear; time "
              "exponent = log(time ×) / log(size ×), 1.00 = linear, the CPU exponent the same over user + system "
              "seconds (what a shared machine distorts least); RSS exponent 0 = flat memory, "
              "1 = proportional to the corpus):", "",
              "| job | lang | tool | sizes | size × | time × | marginal s/MB | MB/s ratio | time exponent | "
              "CPU exponent | RSS × | RSS exponent |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in slope:
        lines.append(f"| {s['job']} | {s['lang']} | {s['tool']} | {_mb(s['from_mb'])} → {_mb(s['to_mb'])} | "
                     f"{s['size_x']:.1f} | {s['time_x']:.2f} | {_f(s['s_per_mb'], 4)} | "
                     f"{s['mb_per_s_ratio']:.2f} | {_f(s['time_exponent'])} | {_f(s['cpu_exponent'])} | "
                     f"{_f(s['rss_x'])} | "
                     f"{_f(s['rss_exponent'])} |")
    lines.append("")
    return lines


def chart(rows: list[dict], outdir: Path, name: str = "scaling-e2e.png") -> str:
    """MB/s and peak RSS against corpus size (log x), one line per job, tool and language."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    groups = series(rows)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11.5, 4.4))
    # a colour per job, dashed for its peer, a marker per language
    colours = {job: f"C{i}" for i, job in enumerate(dict.fromkeys(k[0] for k in groups))}
    markers = {lang: m for lang, m in zip(dict.fromkeys(k[2] for k in groups), "osD^v")}
    ticks = sorted({r["input_bytes"] / 1e6 for g in groups.values() for r in g})
    for (job, tool, lang), group in groups.items():
        x = [r["input_bytes"] / 1e6 for r in group]
        style = dict(color=colours[job], marker=markers[lang],
                     linestyle="--" if all(r.get("kind") == "peer" for r in group) else "-")
        label = f"{job} {lang}" + ("" if tool == "corpus" else f" ({tool})")
        a1.plot(x, [mb / r["median_s"] for mb, r in zip(x, group)], label=label, **style)
        a2.plot(x, [r.get("peak_rss_mb") or float("nan") for r in group], label=label, **style)
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.3g}")
    for ax, ylabel, title, logy in ((a1, "MB/s, whole process", "throughput against corpus size", False),
                                    (a2, "peak RSS of the process (MB)", "memory against corpus size", True)):
        ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("corpus (MB of document text)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        if ticks:
            ax.set_xticks(ticks)
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        if logy:
            ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.0f}"))
            ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    a1.set_ylim(bottom=0)
    if groups:
        a2.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    else:
        a1.text(0.5, 0.5, "no successful measurement", ha="center", transform=a1.transAxes)
    fig.tight_layout()
    p = Path(outdir) / name
    fig.savefig(p, dpi=110)
    plt.close(fig)
    return p.name
