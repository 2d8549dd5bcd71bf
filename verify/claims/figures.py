"""Figure helpers shared by the claims: one look for every figure the report draws.

Importing this module selects matplotlib's non-interactive Agg backend, so
figures are drawn the same way on a laptop, a server and CI (no display).

* :func:`new_axes` -- a figure with labelled axes;
* :func:`save` -- write it (creating the folder) and free it;
* :func:`local_slopes` -- d log y / d log x between neighbouring points, the
  measured exponent of a power law such as L(tau) ~ tau^(-1) (Theorem 3.5);
* :func:`loglog_with_slopes` -- a log-log plot over a panel of its local
  slopes, with the exponent the claim predicts drawn as a reference line.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display needed, same output everywhere

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["new_axes", "save", "local_slopes", "loglog_with_slopes"]

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


def local_slopes(x, y, *, per_decade: int | None = None):
    """Local exponents of ``y`` against ``x``: returns ``(x_mid, slope)``.

    ``slope[k] = (log y[k+1] - log y[k]) / (log x[k+1] - log x[k])`` at the
    geometric midpoint ``x_mid[k]``.  Points with a non-positive or non-finite
    ``x`` or ``y`` are dropped (a log-log plot cannot show them).  With
    ``per_decade``, the points are first thinned to about that many per decade
    of ``x``: neighbouring iterates of a long run differ by noise, and the
    slope over a wider step shows the trend.

    Example: ``local_slopes([1, 10, 100], [1, 0.1, 0.01])`` gives slopes ``[-1, -1]``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d of the same length, got shapes {x.shape} and {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    lx, ly = np.log10(x[keep]), np.log10(y[keep])
    if lx.size < 2:
        raise ValueError("need at least two points with positive finite x and y")
    if np.any(np.diff(lx) <= 0):
        raise ValueError("x must be strictly increasing")
    if per_decade is not None:
        if per_decade < 1:
            raise ValueError(f"per_decade must be >= 1, got {per_decade}")
        # the first point at or after each mark of an even grid in log x, and the last point
        marks = np.arange(lx[0], lx[-1], 1.0 / per_decade)
        idx = np.unique(np.append(np.searchsorted(lx, marks), lx.size - 1))
        lx, ly = lx[idx], ly[idx]
    return 10 ** ((lx[1:] + lx[:-1]) / 2), np.diff(ly) / np.diff(lx)


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
