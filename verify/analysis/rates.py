"""Measured rates: slopes of log(quantity) against log(tau), and whether they have settled.

The one module for slopes (window, local and chord slopes) and their Richardson limit.

A rate statement such as "max_i |mu_i - mu*| = Theta(tau^(-1/2))" (Theorem 2.1) or
"L(tau) >= c / tau^(1 + eps)" (Theorem 3.7) is a statement about the exponent p in
y(tau) ~ C tau^p as tau -> infinity.  A finite run only shows the local exponent
on its tail, and that exponent drifts before it settles.  This module measures it
and says how far it may still be from its limit:

* :func:`window_slopes` -- the slope of log y against log x over successive
  geometric windows of the tail, [x_end / r^W, x_end / r^(W-1)], ..., [x_end / r, x_end]
  (r = ``ratio``); each window's slope is the endpoint difference
  (log y(b) - log y(a)) / log r, with log-log interpolation between recorded points, or
  (``at_records=True``) between the recorded points nearest the edges;
* :func:`local_slopes` -- slopes between neighbouring recorded points (for plots);
* :func:`chord_slopes` -- slopes from x_end / f to x_end, for a few f (one straight line on a
  log-log plot);
* :func:`asymptotic_slope` -- the limit of those slopes, by Richardson extrapolation.
  If the local slope approaches p with a correction A x^(-q) + O(x^(-2q)), the
  window slopes s_k satisfy s_k - p = A' x_k^(-q) (x_k the window's end), so
  p ~ s_k + (s_k - s_(k-1)) / (r^q - 1).  Consecutive extrapolations are compared: their
  difference is the error estimate (it is dominated by the earlier extrapolation's
  error, about r^q times the later one's, so it over-estimates the later one's error
  in the asymptotic regime); with more windows, earlier differences count too, scaled
  down by r^(2q) per window (the extrapolations' own O(x^(-2q)) errors).  ``noise`` (the error of log y
  from the computation itself, e.g. accumulated gradient error) adds 2 noise / log r.
  The correction order q is the caller's theory: q = 1 when the corrections are
  powers of 1/x (Theorem 2.1: the spread's 1/(c + b tau)); a logarithmic correction
  has no such q, and its drift shows up as a large error estimate.
* :func:`check_rate` -- one place for the two-sided test: settled (error estimate at most
  ``settle_tol``) and the extrapolated exponent within ``predicted +- error`` (or, for a
  one-sided bound ``at_most``, below ``predicted + error``).  It returns a
  :class:`RateCheck` whose :meth:`RateCheck.table` lists the windows; :func:`assert_rate`
  raises :class:`RateMismatch` with that table.
* :func:`log_grid` -- log-spaced steps at which to record a gradient-descent run
  (``record_at=``), including the window edges exactly (recording every step costs a full
  error estimate per step; see :mod:`verify.simulate.descent`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from verify.checks.richardson import richardson

__all__ = [
    "WindowSlopes",
    "window_slopes",
    "RateEstimate",
    "asymptotic_slope",
    "RateCheck",
    "RateMismatch",
    "check_rate",
    "assert_rate",
    "log_grid",
    "local_slopes",
    "chord_slopes",
    "nearest_index",
]


@dataclass
class WindowSlopes:
    """Slopes of log y against log x over successive geometric windows (oldest first)."""

    edges: np.ndarray  # (W + 1,) window edges in x, increasing; edges[k+1] / edges[k] = ratio (or the
    #                    recorded points nearest those edges, with at_records)
    values: np.ndarray  # (W + 1,) y at the edges (log-log interpolated)
    slopes: np.ndarray  # (W,) slope over [edges[k], edges[k+1]] (NaN where it cannot be formed, at_records)
    ratio: float


def _log_arrays(x, y):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-d of the same length, got shapes {x.shape} and {y.shape}")
    keep = np.isfinite(x) & (x > 0)
    x, y = x[keep], y[keep]
    if x.size < 2:
        raise ValueError("need at least two points with positive finite x")
    if np.any(np.diff(x) <= 0):
        raise ValueError("x must be strictly increasing")
    if not np.all(np.isfinite(y) & (y > 0)):
        bad = int(np.argmax(~(np.isfinite(y) & (y > 0))))
        raise ValueError(f"y must be positive and finite on the tail (a log-log slope), got y = {y[bad]!r} "
                         f"at x = {x[bad]!r}")
    return np.log(x), np.log(y)


def nearest_index(x, target) -> int:
    """Index of the recorded x nearest to ``target`` (the first on a tie)."""
    return int(np.argmin(np.abs(np.asarray(x) - target)))


def window_slopes(x, y, *, ratio: float = 2.0, windows: int | None = 4, end: float | None = None,
                  at_records: bool = False, min_start: float | None = None) -> WindowSlopes:
    """Slopes of log y vs log x over ``windows`` geometric windows ending at ``end`` (default: last x).

    The windows are [end / ratio^W, end / ratio^(W-1)], ..., [end / ratio, end]; they must
    lie inside the recorded range of x.  Values at the edges are interpolated linearly
    in log-log coordinates (exact when the edges are recorded points).

    ``at_records=True``: each edge is moved to the nearest recorded x and the slope is taken
    between those points (no interpolation); with ``min_start`` instead of ``windows``, as many
    windows as start at or after it.  A window whose ends coincide or whose y is not positive
    gets slope NaN.
    """
    if not (isinstance(ratio, (int, float)) and math.isfinite(ratio) and ratio > 1):
        raise ValueError(f"ratio must be a number > 1, got {ratio!r}")
    if at_records:
        return _window_slopes_at_records(x, y, ratio=float(ratio), windows=windows, min_start=min_start)
    if isinstance(windows, bool) or not isinstance(windows, int) or windows < 1:
        raise ValueError(f"windows must be an integer >= 1, got {windows!r}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    end = float(x[-1]) if end is None else float(end)
    edges = end / float(ratio) ** np.arange(windows, -1, -1)
    # only the tail that the windows cover needs positive y (earlier points may be 0)
    tail = x >= edges[0] * (1 - 1e-12)
    first = int(np.argmax(tail)) if tail.any() else x.size
    if first > 0:  # the point before the first edge, for the interpolation
        tail[first - 1] = True
    lx, ly = _log_arrays(x[tail], y[tail])
    le = np.log(edges)
    if le[0] < lx[0] - 1e-9 or le[-1] > lx[-1] + 1e-9:
        raise ValueError(f"windows [{edges[0]:.6g}, {edges[-1]:.6g}] are not inside the recorded range "
                         f"[{math.exp(lx[0]):.6g}, {math.exp(lx[-1]):.6g}]")
    lv = np.interp(le, lx, ly)
    slopes = np.diff(lv) / math.log(ratio)
    return WindowSlopes(edges, np.exp(lv), slopes, float(ratio))


def _window_slopes_at_records(x, y, *, ratio: float, windows, min_start) -> WindowSlopes:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if (windows is None) == (min_start is None):
        raise ValueError("give windows or min_start, not both")
    idx, b = [nearest_index(x, x[-1])], x[-1]
    while (min_start is not None and b / ratio >= min_start) or (windows is not None and len(idx) <= windows):
        idx.append(nearest_index(x, b / ratio))
        b /= ratio
    idx = idx[::-1]
    slopes = []
    for i, j in zip(idx[:-1], idx[1:]):
        a_s, b_s = x[i], x[j]
        if a_s > 0 and b_s > a_s and y[i] > 0 and y[j] > 0:
            slopes.append(float(math.log(y[j] / y[i]) / math.log(b_s / a_s)))
        else:
            slopes.append(math.nan)
    return WindowSlopes(x[idx], y[idx], np.array(slopes), ratio)


def local_slopes(x, y, *, per_decade: int | None = None):
    """Local exponents of ``y`` against ``x``: returns ``(x_mid, slope)``.

    ``slope[k] = (log y[k+1] - log y[k]) / (log x[k+1] - log x[k])`` at the
    geometric midpoint ``x_mid[k]``.  Points with a non-positive or non-finite
    ``x`` or ``y`` are dropped (a log-log plot cannot show them).  With
    ``per_decade``, the points are first thinned to about that many per decade
    of ``x``: neighbouring iterates of a long run differ by noise, and the
    slope over a wider step shows the trend.
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


def chord_slopes(x, y, fractions=(10, 20)):
    """Slopes of log y against log x from the recorded point nearest x_end / f to the last one,
    for each f in ``fractions``: ``[(from, to, slope), ...]`` (a chord that cannot be formed is
    left out)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = []
    for f in fractions:
        i, j = nearest_index(x, x[-1] / f), len(x) - 1
        if x[i] > 0 and x[j] > x[i] and y[i] > 0 and y[j] > 0:
            out.append((int(x[i]), int(x[j]), float(math.log(y[j] / y[i]) / math.log(x[j] / x[i]))))
    return out


@dataclass
class RateEstimate:
    """The exponent p of y ~ C x^p, extrapolated from the window slopes of the tail."""

    value: float  # the last Richardson extrapolation
    error: float  # largest scaled difference of consecutive extrapolations + noise term
    windows: WindowSlopes
    extrapolated: np.ndarray  # (W - 1,) extrapolations from consecutive window pairs
    order: float
    noise: float  # error of log y assumed from the computation

    @property
    def last_slope(self) -> float:
        return float(self.windows.slopes[-1])

    def as_dict(self) -> dict:
        w = self.windows
        return {
            "windows": [{"from": float(a), "to": float(b), "slope": float(s)}
                        for a, b, s in zip(w.edges[:-1], w.edges[1:], w.slopes)],
            "ratio": w.ratio,
            "richardson_order": self.order,
            "extrapolated": [float(p) for p in self.extrapolated],
            "value": self.value,
            "error_estimate": self.error,
        }


def asymptotic_slope(x, y, *, ratio: float = 2.0, windows: int = 4, order: float = 1.0,
                     noise: float = 0.0, end: float | None = None) -> RateEstimate:
    """Richardson-extrapolated limit of the window slopes, with an error estimate.

    ``order`` is q in the assumed correction A x^(-q) of the local slope (module doc).
    ``noise`` bounds the error of each log y(edge) from the computation; it enters the
    error estimate as 2 noise / log(ratio) times the extrapolation's amplification.
    Needs ``windows >= 3`` (two extrapolations to compare).
    """
    if windows < 3:
        raise ValueError(f"windows must be >= 3 for an error estimate, got {windows}")
    if not (order > 0):
        raise ValueError(f"order must be > 0, got {order!r}")
    if not (noise >= 0):
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    if not (ratio**order >= 2):
        # the estimate |p_K - p_(K-1)| is (ratio^(2q) - 1) times the error of p_K in the
        # asymptotic regime; ratio^q >= 2 makes that >= 3x, the margin that covers the
        # pre-asymptotic regime (tests/test_rates.py); narrower windows under-estimate
        raise ValueError(f"ratio**order must be >= 2 for a conservative error estimate, got "
                         f"{ratio}**{order} = {ratio**order:.3g}")
    w = window_slopes(x, y, ratio=ratio, windows=windows, end=end)
    f = 1.0 / (ratio**order - 1.0)
    # one Richardson column: p_k = s_k + (s_k - s_(k-1)) / (ratio^q - 1)
    p = np.array(richardson(w.slopes, ratio=ratio, power=order)[2][1])
    # each slope: error <= 2 noise / log r; the extrapolation multiplies it by at most (1 + 2 f)
    noise_term = (1.0 + 2.0 * f) * 2.0 * noise / math.log(ratio)
    # differences of consecutive extrapolations, the latest first; in the asymptotic regime each
    # earlier one is ratio^(2q) times larger (the extrapolations' errors are O(x^(-2q))), so each
    # is scaled back by that factor: a chance crossing of two drifting extrapolations does not
    # make a small estimate.
    diffs = np.abs(np.diff(p))[::-1]
    err = float(np.max(diffs / ratio ** (2 * order * np.arange(diffs.size)))) + noise_term
    return RateEstimate(float(p[-1]), err, w, p, float(order), float(noise))


class RateMismatch(AssertionError):
    """A measured rate did not settle, or settled outside the predicted band."""


@dataclass
class RateCheck:
    """Outcome of :func:`check_rate`: ``ok`` with a reason and the window table."""

    ok: bool
    settled: bool
    reason: str
    name: str
    estimate: RateEstimate
    predicted: float
    band: tuple[float, float]
    settle_tol: float
    extra: dict = field(default_factory=dict)

    def table(self) -> str:
        w = self.estimate.windows
        lines = [f"{self.name}: window slopes of log y vs log x (ratio {w.ratio:g})",
                 f"  {'from':>12} {'to':>12} {'y(to)':>12} {'slope':>10} {'extrapolated':>13}"]
        ex = [None] + list(self.estimate.extrapolated)
        for k, s in enumerate(w.slopes):
            e = "" if ex[k] is None else f"{ex[k]:+13.5f}"
            lines.append(f"  {w.edges[k]:12.6g} {w.edges[k + 1]:12.6g} {w.values[k + 1]:12.4e} {s:+10.5f} {e}")
        lines.append(f"  extrapolated exponent {self.estimate.value:+.5f} +- {self.estimate.error:.2e} "
                     f"(settle tolerance {self.settle_tol:g}); band [{self.band[0]:+.5f}, {self.band[1]:+.5f}] "
                     f"around predicted {self.predicted:+g}")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        d = self.estimate.as_dict()
        d.update(ok=self.ok, settled=self.settled, reason=self.reason, predicted=self.predicted,
                 band=[float(self.band[0]), float(self.band[1])], settle_tol=self.settle_tol)
        return d


def check_rate(estimate: RateEstimate, predicted: float, *, settle_tol: float, kind: str = "equal",
               name: str = "rate") -> RateCheck:
    """Is the extrapolated exponent settled, and does it match ``predicted``?

    * settled: ``estimate.error <= settle_tol``;
    * ``kind="equal"``: |value - predicted| <= error (two-sided);
    * ``kind="at_most"``: value <= predicted + error (y falls at least as fast as x^predicted).

    The band is the estimate's own error (measured settling plus noise), never wider than
    ``settle_tol``; ``settle_tol`` is the caller's statement of the resolution needed to
    tell the predicted exponent from its alternatives.
    """
    if kind not in ("equal", "at_most"):
        raise ValueError(f"kind must be 'equal' or 'at_most', got {kind!r}")
    if not (settle_tol > 0):
        raise ValueError(f"settle_tol must be > 0, got {settle_tol!r}")
    v, e = estimate.value, estimate.error
    settled = bool(np.isfinite(v) and e <= settle_tol)
    if kind == "equal":
        band = (predicted - e, predicted + e)
        inside = band[0] <= v <= band[1]
    else:
        band = (-math.inf, predicted + e)
        inside = v <= band[1]
    if not settled:
        reason = (f"{name}: not settled: the extrapolations {np.round(estimate.extrapolated, 4).tolist()} "
                  f"differ by {e:.3g} > {settle_tol:g}")
    elif not inside:
        reason = (f"{name}: exponent {v:+.4f} +- {e:.2e} is outside [{band[0]:+.4f}, {band[1]:+.4f}] "
                  f"(predicted {'' if kind == 'equal' else '<= '}{predicted:+g})")
    else:
        reason = f"{name}: exponent {v:+.4f} +- {e:.2e} (predicted {'' if kind == 'equal' else '<= '}{predicted:+g})"
    return RateCheck(settled and inside, settled, reason, name, estimate, float(predicted), band, float(settle_tol))


def assert_rate(estimate: RateEstimate, predicted: float, *, settle_tol: float, kind: str = "equal",
                name: str = "rate") -> RateCheck:
    """:func:`check_rate`, raising :class:`RateMismatch` (message: the window table first) on failure."""
    chk = check_rate(estimate, predicted, settle_tol=settle_tol, kind=kind, name=name)
    if not chk.ok:
        raise RateMismatch(chk.table() + "\n" + chk.reason)
    return chk


# -- recording a run on a log grid --------------------------------------------------------


def log_grid(end: int, *, per_octave: int = 3, include=()) -> np.ndarray:
    """Integer steps 0, 1, ... up to ``end``: about ``per_octave`` per doubling, plus ``include``."""
    if isinstance(end, bool) or not isinstance(end, (int, np.integer)) or end < 1:
        raise ValueError(f"end must be an integer >= 1, got {end!r}")
    if per_octave < 1:
        raise ValueError(f"per_octave must be >= 1, got {per_octave!r}")
    g = np.round(2.0 ** np.arange(0, math.log2(end) + 1e-12, 1.0 / per_octave)).astype(np.int64)
    inc = np.asarray([int(i) for i in include], dtype=np.int64)
    if inc.size and (inc.min() < 0 or inc.max() > end):
        raise ValueError(f"include must lie in [0, {end}], got {inc.tolist()}")
    return np.unique(np.concatenate([[0], g[g <= end], inc, [end]]))
