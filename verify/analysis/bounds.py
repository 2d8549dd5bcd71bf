"""Rate bounds: is y(tau) = O(tau^p) on a run, judged as a bound?

A theorem that says L(tau) <= C / sqrt(tau) (Theorem 2.1) or L(tau) = O(1/tau) (Corollary 3.6,
Figure 1) makes a one-sided statement about the exponent of y: any faster decay satisfies it (a
tau^-2 or an exponential converger holds), and only a slower one refutes it.  A finite run shows
the local exponent over the windows of its tail (:func:`verify.analysis.rates.window_slopes`);
the exponent's limit is bounded from the trend of those slopes:

* **steepening** (each of the last two window slopes at most the one before, within the
  measurement's own error): the limit is at most the last slope (the trend continued), so the
  *upper* estimate is the last slope; the *lower* estimate is the Richardson extrapolation of the
  slopes minus its error estimate (:func:`verify.analysis.rates.asymptotic_slope`'s tableau), or
  minus infinity with fewer than three windows;
* **flattening** (the last slope above the one before): the limit is at least the last slope (the
  *lower* estimate) and at most the Richardson extrapolation plus its error (the *upper* one).

Verdict of the bound y = O(tau^p) (``kind="upper"``): ``"holds"`` when upper <= p (margin
p - upper >= 0), ``"fails"`` when lower > p, ``"undecided"`` otherwise.  Of the lower bound
y = Omega(tau^p) (``kind="lower"``, Theorem 3.7): ``"holds"`` when lower >= p (margin lower - p),
``"fails"`` when upper < p.  A y that reaches exactly 0 on the tail
decays faster than any power (holds, upper = -inf).  The assumption is the trend's continuation
beyond the run, the same assumption every finite measurement of a rate makes; it is written in
the result's ``reason``.

The constant: ``C(tau) = y(tau) tau^(-p)``; :class:`BoundCheck` reports its maximum over the
window, its value at the end and where its maximum sits, beside the margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from verify.checks.richardson import richardson

from .rates import window_slopes

__all__ = ["BoundCheck", "check_bound", "BOUND_VERDICTS"]

BOUND_VERDICTS = ("holds", "fails", "undecided")


@dataclass
class BoundCheck:
    """The bound y = O(x^exponent) on one run (module doc)."""

    verdict: str  # "holds", "fails" or "undecided"
    exponent: float  # the bound's exponent p
    upper: float  # upper estimate of the limit exponent of y
    lower: float  # lower estimate
    trend: str  # "steepening", "flattening" or "reached zero"
    windows: list  # [(from, to, slope)]
    extrapolated: float  # Richardson limit of the slopes (NaN with fewer than 3 windows)
    extrapolation_error: float
    constant_max: float  # max of y x^(-p) over the window's records
    constant_end: float  # its value at the last record
    constant_argmax: float  # where the maximum sits
    reason: str
    kind: str = "upper"  # "upper": y = O(x^p); "lower": y = Omega(x^p)

    @property
    def margin(self) -> float:
        """How far inside the bound the measured exponent lies (>= 0 when it holds): p - upper for
        an upper bound, lower - p for a lower bound."""
        return self.exponent - self.upper if self.kind == "upper" else self.lower - self.exponent

    @property
    def last_slope(self) -> float:
        return self.windows[-1][2] if self.windows else math.nan

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "kind": self.kind, "exponent": self.exponent, "upper": self.upper,
                "lower": self.lower, "margin": self.margin, "trend": self.trend,
                "windows": [{"from": a, "to": b, "slope": s} for a, b, s in self.windows],
                "extrapolated": self.extrapolated, "extrapolation_error": self.extrapolation_error,
                "constant_max": self.constant_max, "constant_end": self.constant_end,
                "constant_argmax": self.constant_argmax, "reason": self.reason}


def check_bound(x, y, exponent: float, *, ratio: float = 2.0, windows: int | None = 4, min_start: float | None = None,
                at_records: bool = False, order: float = 1.0, noise: float = 0.0, name: str = "y",
                kind: str = "upper") -> BoundCheck:
    """Judge y = O(x^exponent) on the tail of a run (module doc).

    Windows: ``windows`` geometric windows of ratio ``ratio`` ending at the last x (log-log
    interpolation between records), or with ``at_records=True`` between the records nearest the
    edges, as many as start at or after ``min_start`` (:func:`verify.analysis.rates.window_slopes`).
    ``noise``: the error of log y from the computation; slopes within 2 noise / log(ratio) of each
    other count as equal, and the Richardson error is widened by it.  ``order``: the correction
    order q assumed by the extrapolation (1: corrections O(1/x)).
    """
    if kind not in ("upper", "lower"):
        raise ValueError(f"kind must be 'upper' or 'lower', got {kind!r}")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-d of the same length, got shapes {x.shape} and {y.shape}")
    if not math.isfinite(exponent):
        raise ValueError(f"exponent must be finite, got {exponent!r}")
    if not (noise >= 0):
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    pos = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        const = y[pos] * x[pos] ** (-exponent)
    start = min_start if min_start is not None else (x[-1] / ratio**windows if windows else x[pos][0])
    in_window = x[pos] >= start * (1 - 1e-12)
    c_win, x_win = const[in_window], x[pos][in_window]
    k = int(np.nanargmax(c_win)) if c_win.size and np.any(np.isfinite(c_win)) else 0
    cmax = float(c_win[k]) if c_win.size else math.nan
    cend = float(const[-1]) if const.size else math.nan
    cat = float(x_win[k]) if x_win.size else math.nan
    if y[-1] == 0 and np.all(np.isfinite(y)):
        verdict = "holds" if kind == "upper" else "fails"
        return BoundCheck(verdict, float(exponent), -math.inf, -math.inf, "reached zero", [], math.nan, math.nan,
                          cmax, cend, cat, f"{name} reached exactly 0 at x = {x[-1]:g}: faster than any power", kind)
    if at_records:
        w = window_slopes(x, y, ratio=ratio, windows=None, at_records=True, min_start=min_start)
    else:
        w = window_slopes(x, y, ratio=ratio, windows=windows)
    table = [(float(a), float(b), float(s)) for a, b, s in zip(w.edges[:-1], w.edges[1:], w.slopes)
             if math.isfinite(s)]
    s = np.array([t[2] for t in table])
    if s.size == 0:
        return BoundCheck("undecided", float(exponent), math.inf, -math.inf, "none", [], math.nan, math.nan,
                          cmax, cend, cat, f"{name}: no window slope could be formed", kind)
    tol = 2.0 * noise / math.log(ratio)
    if s.size >= 3:
        p = np.array(richardson(list(s), ratio=ratio, power=order)[2][1])
        f = 1.0 / (ratio**order - 1.0)
        diffs = np.abs(np.diff(p))[::-1]
        err = float(np.max(diffs / ratio ** (2 * order * np.arange(diffs.size)))) + (1 + 2 * f) * tol
        extrap = float(p[-1])
    else:
        extrap, err = math.nan, math.inf
    d = np.diff(s)
    steepening = bool(np.all(d[-2:] <= tol)) if d.size else True
    if steepening:
        upper, lower = float(s[-1]), (extrap - err if math.isfinite(extrap) else -math.inf)
        lower = min(lower, upper)
        trend = "steepening"
    else:
        upper, lower = (extrap + err if math.isfinite(extrap) else math.inf), float(s[-1])
        upper = max(upper, lower)
        trend = "flattening"
    if kind == "upper" and upper <= exponent:
        verdict = "holds"
        reason = (f"{name} = O(x^{exponent:g}): the local exponent is {trend} and at most {upper:+.4f} "
                  f"(margin {exponent - upper:.3g}), assuming the trend of the last windows continues")
    elif kind == "lower" and lower >= exponent:
        verdict = "holds"
        reason = (f"{name} = Omega(x^{exponent:g}): the local exponent is {trend} and at least {lower:+.4f} "
                  f"(margin {lower - exponent:.3g}), assuming the trend of the last windows continues")
    elif kind == "upper" and lower > exponent:
        verdict = "fails"
        reason = (f"{name} decays slower than x^{exponent:g}: the local exponent is {trend} and at least "
                  f"{lower:+.4f} > {exponent:g}")
    elif kind == "lower" and upper < exponent:
        verdict = "fails"
        reason = (f"{name} decays faster than x^{exponent:g}: the local exponent is {trend} and at most "
                  f"{upper:+.4f} < {exponent:g}")
    else:
        verdict = "undecided"
        reason = (f"{name}: the local exponent lies in [{lower:+.4f}, {upper:+.4f}] ({trend}), which "
                  f"contains the bound's {exponent:g}")
    return BoundCheck(verdict, float(exponent), float(upper), float(lower), trend, table, extrap, err,
                      cmax, cend, cat, reason, kind)
