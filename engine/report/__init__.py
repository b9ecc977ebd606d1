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

from pathlib import Path

from engine.report.data import ReportData

# The figure makers (engine.report.figures) and the page (engine.report.page), re-exported,
# are imported on first use: ``corpus analyze --no-report`` plans no report and builds none.
_LAZY = {"DPI": "figures", "PALETTE": "figures", "fig_network": "figures", "fig_ngrams": "figures",
         "fig_similarity": "figures", "fig_zipf": "figures", "render_figures": "figures",
         "zipf_fit": "figures", "CSS": "page", "build_html": "page"}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module
    value = getattr(import_module(f"engine.report.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


__all__ = ["ReportData", "render_figures", "build_html", "write_report", "report_targets", "plot_names",
           "zipf_fit"]


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
    from engine.report.figures import render_figures
    from engine.report.page import build_html
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
