"""Figure helpers shared by the claims: one look for every figure the report draws, and its check.

The claims draw their own figures (each ``ClaimResult.figures`` entry is a drawing function),
so these helpers sit in the claims layer, below the report that calls them.

Importing this module selects matplotlib's non-interactive Agg backend, so
figures are drawn the same way on a laptop, a server and CI (no display).

* :func:`new_axes` -- a figure with labelled axes and a title that fits;
* :func:`set_title` / :func:`suptitle` -- a title wrapped to the width it has, never clipped;
* :func:`style_key` -- legend entries for line styles (solid: exact, dashed: sampled, ...), so a
  legend can name colours and styles instead of every line;
* :func:`save` -- check the figure (:func:`figure_problems`), write it and free it;
* :func:`loglog_with_slopes` -- a log-log plot over a panel of its local slopes, with the
  exponent the claim predicts drawn as a reference line.

What every figure must have (:func:`figure_problems`; :func:`save` refuses a figure without it):
a title inside the figure, x and y labels on every axes (or on the axes it shares that axis
with), a legend entry for every line -- its own label, or a style that the legends name and a
colour that they name or a labelled colour bar explains -- and legends of at most
:data:`MAX_LEGEND` entries.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display needed, same output everywhere

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from verify.analysis.rates import local_slopes  # noqa: E402

__all__ = ["plt", "new_axes", "set_title", "suptitle", "style_key", "save", "loglog_with_slopes",
           "figure_problems", "FigureError", "MAX_LEGEND"]

_FIGSIZE = (6.0, 4.0)
_DPI = 120
#: the most entries a legend may have and still be read at a glance (more: name colours and styles)
MAX_LEGEND = 8


class FigureError(ValueError):
    """A figure lacks a title, an axis label or a legend entry (the message lists what)."""


def _wrapped(text: str, inches: float, fontsize: float) -> str:
    # an average character is ~0.55 em wide; keep a margin so the widest line still fits
    chars = max(20, int(inches * 72 / (0.6 * fontsize)))
    lines = textwrap.wrap(text, chars, break_long_words=False, break_on_hyphens=False)
    # as many lines as needed, of even length: no last line holding one orphaned word
    for even in range(-(-len(text) // max(len(lines), 1)), chars):
        balanced = textwrap.wrap(text, even, break_long_words=False, break_on_hyphens=False)
        if len(balanced) <= len(lines):
            return "\n".join(balanced)
    return "\n".join(lines)


def set_title(ax, text: str, fontsize: float = 11.0):
    """An axes title wrapped to the axes' width (never clipped at the figure's edge)."""
    width = ax.get_position().width * ax.figure.get_figwidth()
    return ax.set_title(_wrapped(text, width, fontsize), fontsize=fontsize)


def suptitle(fig, text: str, fontsize: float = 12.0):
    """A figure title wrapped to the figure's width."""
    return fig.suptitle(_wrapped(text, fig.get_figwidth(), fontsize), fontsize=fontsize)


def new_axes(*, xlabel: str, ylabel: str, title: str | None = None, figsize=_FIGSIZE):
    """A new figure with one labelled axes; returns ``(fig, ax)``."""
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        set_title(ax, title)
    ax.grid(True, which="major", alpha=0.3)
    return fig, ax


def style_key(label: str, linestyle: str = "-", marker: str = "None", color: str = "0.35") -> Line2D:
    """A legend entry for a line style alone (grey), e.g. ``style_key("sampled", "--")``: lines are
    then covered by a colour entry and a style entry instead of one entry each."""
    return Line2D([], [], color=color, linestyle=linestyle, marker=marker, label=label)


def save(fig, path) -> Path:
    """Check ``fig`` (:func:`figure_problems`; :class:`FigureError` if it fails), write it to ``path``
    (format from the suffix, PNG by default) and close it.  The folder must exist."""
    path = Path(path)
    try:
        problems = figure_problems(fig)
        if problems:
            raise FigureError(f"{path.name}: " + "; ".join(problems))
        fig.savefig(path, dpi=_DPI, format=path.suffix[1:] or "png")
    finally:
        plt.close(fig)
    return path


# -- the check ------------------------------------------------------------------------------------


def _style(artist) -> tuple:
    return (artist.get_linestyle(), str(artist.get_marker()))


def _rgba(color) -> tuple:
    return tuple(np.round(mcolors.to_rgba(color), 3))


def _has_data(line) -> bool:
    x = np.asarray(line.get_xdata(), dtype=object)
    return line.get_visible() and x.size > 0


def _shares_label(ax, axis: str) -> bool:
    group = ax.get_shared_x_axes() if axis == "x" else ax.get_shared_y_axes()
    getter = "get_xlabel" if axis == "x" else "get_ylabel"
    return any(getattr(other, getter)() for other in group.get_siblings(ax) if other is not ax)


def figure_problems(fig) -> list[str]:
    """What keeps ``fig`` from being read on its own (empty list: nothing); see the module doc."""
    fig.canvas.draw()  # lay out, so text extents are final
    problems = []
    box = fig.bbox
    plots = [ax for ax in fig.axes if ax.get_visible() and not hasattr(ax, "_colorbar")]
    colorbars = [ax for ax in fig.axes if hasattr(ax, "_colorbar")]
    titles = [t for t in [fig._suptitle] + [ax.title for ax in plots] if t is not None and t.get_text()]
    if not titles:
        problems.append("no title")
    for t in titles:
        ext = t.get_window_extent()
        if ext.x0 < box.x0 - 0.5 or ext.x1 > box.x1 + 0.5 or ext.y0 < box.y0 - 0.5 or ext.y1 > box.y1 + 0.5:
            problems.append(f"title {t.get_text()[:40]!r} reaches outside the figure")
    handles, texts = [], set()
    for legend in [ax.get_legend() for ax in plots] + list(fig.legends):
        if legend is None:
            continue
        entries = [t.get_text() for t in legend.get_texts()]
        if len(entries) > MAX_LEGEND:
            problems.append(f"a legend has {len(entries)} entries (at most {MAX_LEGEND}: name colours and styles)")
        handles += [h for h in legend.legend_handles if h is not None]
        texts.update(entries)
    colours = {_rgba(h.get_color()) for h in handles if isinstance(h, Line2D)}
    styles = {_style(h) for h in handles if isinstance(h, Line2D)}
    for k, ax in enumerate(plots):
        where = f"axes {k + 1}" + (f" ({ax.get_title()[:30]!r})" if ax.get_title() else "")
        if not ax.get_xlabel() and not _shares_label(ax, "x"):
            problems.append(f"{where} has no x label")
        if not ax.get_ylabel() and not _shares_label(ax, "y"):
            problems.append(f"{where} has no y label")
        mapped = [a for a in ax.collections + ax.images if getattr(a, "get_array", lambda: None)() is not None]
        if mapped and not colorbars:
            problems.append(f"{where} maps values to colours without a colour bar")
        for line in ax.lines:
            if not _has_data(line):
                continue
            label = line.get_label()
            if label and not label.startswith("_") and label in texts:
                continue
            if _style(line) in styles and (_rgba(line.get_color()) in colours or colorbars):
                continue  # a colour entry (or the colour bar) and a style entry name it
            problems.append(f"{where}: a line ({label if not label.startswith('_') else 'unlabelled'}, "
                            f"colour {mcolors.to_hex(line.get_color())}, style {_style(line)}) has no legend entry")
    for cb in colorbars:
        if not (cb.get_ylabel() or cb.get_xlabel()):
            problems.append("a colour bar has no label")
    return problems


# -- a common plot ------------------------------------------------------------------------------


def loglog_with_slopes(path, x, y, *, xlabel: str, ylabel: str, title: str,
                       predicted_slope: float | None = None, per_decade: int | None = 10,
                       label: str | None = None, predicted_label: str | None = None) -> Path:
    """Draw ``y`` against ``x`` on log-log axes over a panel of its local slopes; save to ``path``.

    ``predicted_slope`` (e.g. -1 for a rate O(1/tau)) is drawn as a dashed line
    in the slope panel, so a reader sees at once whether the measured exponent
    settles on it (``predicted_label`` says whose prediction it is).
    """
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(_FIGSIZE[0], 1.4 * _FIGSIZE[1]),
                                      height_ratios=(2, 1), layout="constrained")
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    shown = (xs > 0) & (ys > 0)
    top.loglog(xs[shown], ys[shown], label=label or ylabel)
    top.set_ylabel(ylabel)
    top.grid(True, which="major", alpha=0.3)
    set_title(top, title)
    top.legend()
    xm, slope = local_slopes(xs, ys, per_decade=per_decade)
    bottom.semilogx(xm, slope, marker=".", label="measured local slope")
    if predicted_slope is not None:
        bottom.axhline(predicted_slope, linestyle="--", color="k",
                       label=predicted_label or f"predicted {predicted_slope:g}")
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
