"""Figure helpers shared by the claims: one look for every figure the report draws.

The claims draw their own figures (each ``ClaimResult.figures`` entry is a drawing function),
so these helpers sit in the claims layer, below the report that calls them.

Importing this module selects matplotlib's non-interactive Agg backend, so
figures are drawn the same way on a laptop, a server and CI (no display).

* :func:`new_axes` -- a figure with labelled axes;
* :func:`save` -- write it (creating the folder) and free it;
* :func:`loglog_with_slopes` -- a log-log plot over a panel of its local
  slopes, with the exponent the claim predicts drawn as a reference line.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display needed, same output everywhere

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from verify.analysis.rates import local_slopes  # noqa: E402

__all__ = ["plt", "new_axes", "save", "loglog_with_slopes"]

_FIGSIZE = (6.0, 4.0)
_DPI = 120


def new_axes(*, xlabel: str, ylabel: str, title: str | None = None, figsize=_FIGSIZE):
    """A new figure with one labelled axes; returns ``(fig, ax)``."""
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    return fig, ax


def save(fig, path) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix, PNG by default) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=_DPI, format=path.suffix[1:] or "png")
    finally:
        plt.close(fig)
    return path


def loglog_with_slopes(path, x, y, *, xlabel: str, ylabel: str, title: str | None = None,
                       predicted_slope: float | None = None, per_decade: int | None = 10,
                       label: str | None = None) -> Path:
    """Draw ``y`` against ``x`` on log-log axes over a panel of its local slopes; save to ``path``.

    ``predicted_slope`` (e.g. -1 for a rate O(1/tau)) is drawn as a dashed line
    in the slope panel, so a reader sees at once whether the measured exponent
    settles on it.
    """
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(_FIGSIZE[0], 1.4 * _FIGSIZE[1]),
                                      height_ratios=(2, 1), layout="constrained")
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    shown = (xs > 0) & (ys > 0)
    top.loglog(xs[shown], ys[shown], label=label)
    top.set_ylabel(ylabel)
    top.grid(True, which="major", alpha=0.3)
    if title:
        top.set_title(title)
    if label:
        top.legend()
    xm, slope = local_slopes(xs, ys, per_decade=per_decade)
    bottom.semilogx(xm, slope, marker=".", label="measured")
    if predicted_slope is not None:
        bottom.axhline(predicted_slope, linestyle="--", color="k", label=f"predicted {predicted_slope:g}")
        bottom.legend()
    # at least one unit of slope in view: an exact power law should look flat, not like noise
    shown_slopes = np.append(slope, [] if predicted_slope is None else [predicted_slope])
    lo, hi = float(shown_slopes.min()), float(shown_slopes.max())
    if hi - lo < 1.0:
        mid = (hi + lo) / 2
        lo, hi = mid - 0.5, mid + 0.5
    bottom.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    bottom.ticklabel_format(axis="y", useOffset=False)
    bottom.set_xlabel(xlabel)
    bottom.set_ylabel("local slope")
    bottom.grid(True, which="major", alpha=0.3)
    return save(fig, path)
