"""Boundaries read from the brackets, and the law r*(M0, eta, n) fitted to them.

Each boundary is reported as its bracket (the last good and the first bad value tried), a value
(the good end: the value the runs show to work), and an uncertainty (the bracket's width: the
boundary lies inside it if the outcome is monotone in the parameter, which the bracket checks:
``non_monotone`` is reported when a good value lies beyond the first bad one).

**The r* law.**  Along Theorem 3.2's proof the cluster's spread along the centre's direction grows
by prod_tau (1 + 4 eta_s A_tau^2 / n) while the centre's distance A_tau falls from A0 = e^{-t} M0
(:func:`verify.analysis.cluster.linear_amplification`; log amplification LA ~ A0^2 for small steps),
so a linear picture predicts r* = C exp(-beta LA) with beta = 1 and C the critical spread at
the hand-off.  :func:`fit_radius_law` fits log r* = log C - beta LA by weighted least squares,
each bracket taken as a uniform interval in log r (standard deviation width / sqrt 12), and
scales the covariance by chi^2 / dof when the scatter exceeds the brackets.
"""

from __future__ import annotations

import math

import numpy as np

from verify.analysis.cluster import linear_amplification, theorem_radius_log10
from verify.analysis.large_noise import scaled_step

__all__ = ["bracket_entry", "log_amplification", "fit_radius_law"]


def bracket_entry(state: dict, *, scale: str) -> dict:
    """A boundary from a :meth:`verify.analysis.brackets.Bracket.state` (module doc)."""
    good, bad = state["good"], state["bad"]
    both = good == good and bad == bad
    out = {"status": state["status"], "value": good if good == good else None,
           "bracket": [min(good, bad), max(good, bad)] if both else None,
           "good": good if good == good else None, "bad": bad if bad == bad else None,
           "undecided_inside": state["undecided_inside"], "non_monotone": state["non_monotone"],
           "points": state["points"]}
    if both:
        if scale == "log":
            out["estimate"] = math.sqrt(good * bad)
            out["log10_halfwidth"] = abs(math.log10(bad / good)) / 2
        else:
            out["estimate"] = (good + bad) / 2
            out["halfwidth"] = abs(bad - good) / 2
    return out


def log_amplification(M0: float, n: int, eta: float, *, t: float = 0.0, convention: str = "scaled") -> float:
    """LA: natural log of the linear amplification of the spread from A0 = e^{-t} M0 to the hand-off."""
    A0 = math.exp(-t) * M0
    if A0 <= 1 / (6 * n):
        return 0.0
    return linear_amplification(A0, n, scaled_step(eta, t, convention))["log_amplification"]


def fit_radius_law(points: list[dict]) -> dict:
    """Fit log r* = log C - beta LA (module doc).  ``points``: dicts with ``LA``, ``r_low`` (good
    end), ``r_high`` (bad end).  Needs two points with distinct LA; returns beta, log10 C, their
    standard errors, chi^2, dof and the residuals (in log10 r)."""
    # an unbracketed boundary (no bad radius found: r_high NaN or inf; none good: r_low NaN or 0) is no point
    pts = [p for p in points if p["r_low"] is not None and p["r_high"] is not None
           and 0 < p["r_low"] < p["r_high"] < math.inf]
    if len({round(p["LA"], 12) for p in pts}) < 2:
        return {"fitted": False, "reason": f"{len(pts)} bracketed points; the law needs two with different LA"}
    x = np.array([p["LA"] for p in pts])
    y = np.array([(math.log(p["r_low"]) + math.log(p["r_high"])) / 2 for p in pts])
    sig = np.array([(math.log(p["r_high"]) - math.log(p["r_low"])) / math.sqrt(12) for p in pts])
    X = np.stack([np.ones_like(x), -x], axis=1)
    W = 1 / sig**2
    A = X.T @ (W[:, None] * X)
    cov = np.linalg.inv(A)
    coef = cov @ (X.T @ (W * y))
    resid = y - X @ coef
    chi2 = float(np.sum(W * resid**2))
    dof = len(pts) - 2
    scale = max(1.0, chi2 / dof) if dof > 0 else 1.0
    cov = cov * scale
    ln10 = math.log(10)
    return {
        "fitted": True, "law": "r* = C exp(-beta LA), LA = log of the linear amplification (~ (e^-t M0)^2)",
        "beta": float(coef[1]), "beta_err": float(math.sqrt(cov[1, 1])),
        "log10_C": float(coef[0] / ln10), "log10_C_err": float(math.sqrt(cov[0, 0]) / ln10),
        "chi2": chi2, "dof": dof, "covariance_scaled_by": scale,
        "residuals_log10": [float(v / ln10) for v in resid], "points": len(pts),
    }


def paper_radius_log10(M0: float, n: int, d: int) -> float:
    """log10 of Theorem 3.2's radius exp(-10^6 n d M0^3) / (108 n d)."""
    return theorem_radius_log10(M0, n, d)
