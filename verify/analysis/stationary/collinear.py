"""Other stationary points of collinear configurations: Newton from random starts (float64
composite Gauss-Legendre, then refined in mpmath), compared with Theorem 3.1's construction."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import mpmath
import numpy as np

from verify.engine.backend import gauss_legendre

from .path import _check_n, stationary_radius_reference

__all__ = ["collinear_loss_mp", "collinear_grad_mp", "collinear_grad_float", "SearchResult", "search_collinear"]


def _collinear_breakpoints(a):
    pts = {mpmath.mpf(0)}
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            if a[i] != a[j]:
                pts.add((a[i] + a[j]) / 2)
    pts = [p for p in pts if abs(p) < 40]
    return [-mpmath.inf] + sorted(pts) + [mpmath.inf]


def _collinear_terms(y, a):
    lg = [ai * y - ai * ai / 2 for ai in a]
    top = max(lg)
    e = [mpmath.exp(x - top) for x in lg]
    z = mpmath.fsum(e)
    w = [ei / z for ei in e]
    v = mpmath.fdot(w, a)
    return w, v


def collinear_loss_mp(a, *, dps: int = 30):
    """L for scaled means a_1..a_n on a line through mu* = 0 (d = 1), mpmath.quad."""
    with mpmath.workdps(dps):
        a = [mpmath.mpf(x) for x in a]
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)

        def f(y):
            _, v = _collinear_terms(y, a)
            return v * v * mpmath.exp(-y * y / 2) * norm

        return +mpmath.quad(f, _collinear_breakpoints(a))


def collinear_grad_mp(a, *, dps: int = 30):
    """dL/da_i (pathwise) for collinear scaled means, one mpmath.quad per component."""
    with mpmath.workdps(dps):
        a = [mpmath.mpf(x) for x in a]
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)
        pts = _collinear_breakpoints(a)
        out = []
        for i in range(len(a)):
            def f(y, i=i):
                w, v = _collinear_terms(y, a)
                return 2 * w[i] * (v + v * (a[i] - v) * (y - a[i])) * mpmath.exp(-y * y / 2) * norm

            out.append(+mpmath.quad(f, pts))
        return out


@functools.lru_cache(maxsize=4)
def _gl_composite(T: float, panels: int, order: int):
    x, w = gauss_legendre(order)
    edges = np.linspace(-T, T, panels + 1)
    mid = (edges[1:] + edges[:-1]) / 2
    half = (edges[1:] - edges[:-1]) / 2
    y = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    wt = (half[:, None] * w[None, :]).ravel() * np.exp(-y * y / 2) / math.sqrt(2 * math.pi)
    return y, wt


def collinear_grad_float(a) -> tuple[float, np.ndarray]:
    """(L, dL/da) for collinear scaled means, float64 composite Gauss-Legendre on
    [-14, 14] (tail < 1e-40; 560 panels of 8 nodes resolve transitions of width
    >= 0.05, i.e. |a_i - a_j| <= 20)."""
    a = np.asarray(a, dtype=np.float64)
    y, wq = _gl_composite(14.0, 560, 8)
    lg = y[:, None] * a[None, :] - a * a / 2
    lg -= lg.max(axis=1, keepdims=True)
    e = np.exp(lg)
    w = e / e.sum(axis=1, keepdims=True)
    v = w @ a
    loss = float(wq @ (v * v))
    g = 2 * (wq[:, None] * w * (v[:, None] + v[:, None] * (a[None, :] - v[:, None]) * (y[:, None] - a[None, :]))).sum(0)
    return loss, g


@dataclass
class SearchResult:
    """Stationary points found by Newton from ``starts`` starts in [-R, R]^n.

    ``points``: distinct stationary points with non-zero loss, each a dict with
    the means (decimal strings, sorted), loss, gradient residual (mpmath) and
    ``kind`` ("construction" if it is a permutation/reflection of
    (s*, -s*, 0, ..), else "other").  ``outcomes``: counts of how the starts
    ended (converged to L > 0 point, to the zero-loss point, diverged/stalled).
    """

    n: int
    starts: int
    region: float
    seed: int
    points: list
    outcomes: dict

    def summary(self) -> str:
        kinds = [p["kind"] for p in self.points]
        other = sum(1 for k in kinds if k == "other")
        return (f"n = {self.n}: {self.starts} starts in [-{self.region}, {self.region}]^{self.n}: "
                f"{len(self.points)} distinct stationary point(s) with L > 0 "
                f"({len(self.points) - other} of the construction's form, {other} other); outcomes {self.outcomes}")


def _canonical(a):
    """Sorted means up to reflection a -> -a (the loss is invariant under both)."""
    b = sorted(a)
    c = sorted(-x for x in a)
    return min(tuple(round(x, 6) for x in b), tuple(round(x, 6) for x in c))


def search_collinear(n: int, *, starts: int = 40, region: float = 4.0, seed: int = 0, dps: int = 30,
                     grad_tol: float = 1e-10, loss_tol: float = 1e-6) -> SearchResult:
    """Newton (scipy ``root``, hybrid method) on the collinear gradient from random starts.

    Starts are uniform in [-region, region]^n (fixed seed).  A start that ends
    with |grad| < ``grad_tol`` (float64) and L > ``loss_tol`` is refined with
    ``mpmath.findroot`` at ``dps`` and kept if the mpmath gradient residual is
    below 10^(-dps/2).  n = 2 is allowed (the construction needs n >= 3).
    """
    from scipy.optimize import root

    n = _check_n(n, minimum=1)
    rng = np.random.default_rng(seed)
    found: dict = {}
    outcomes = {"stationary_L>0": 0, "zero_loss": 0, "not_converged_or_escaped": 0}
    s_star = None
    if n >= 3:
        s_star = float(stationary_radius_reference(n))
    for _ in range(starts):
        x0 = rng.uniform(-region, region, size=n)
        sol = root(lambda x: collinear_grad_float(x)[1], x0, method="hybr", options={"xtol": 1e-13})
        x = sol.x
        if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > 12:
            outcomes["not_converged_or_escaped"] += 1
            continue
        loss, g = collinear_grad_float(x)
        if np.max(np.abs(g)) > grad_tol:
            outcomes["not_converged_or_escaped"] += 1
            continue
        if loss <= loss_tol:
            outcomes["zero_loss"] += 1
            continue
        outcomes["stationary_L>0"] += 1
        key = _canonical(x)
        if key in found:
            continue
        with mpmath.workdps(dps):
            try:
                xr = mpmath.findroot(lambda *z: collinear_grad_mp(list(z), dps=dps),
                                     [mpmath.mpf(float(xi)) for xi in x], tol=mpmath.mpf(10) ** (-dps + 5))
                xr = [xr[i] for i in range(n)] if n > 1 else [xr]
            except (ValueError, ZeroDivisionError):
                xr = [mpmath.mpf(float(xi)) for xi in x]
            res = max(abs(gi) for gi in collinear_grad_mp(xr, dps=dps))
            lmp = collinear_loss_mp(xr, dps=dps)
            srt = sorted(xr)
            kind = "other"
            if s_star is not None:
                target = sorted([s_star, -s_star] + [0.0] * (n - 2))
                if all(abs(float(p) - q) < 1e-6 for p, q in zip(srt, target)):
                    kind = "construction"
            found[key] = {
                "means": [mpmath.nstr(xi, 20) for xi in srt],
                "loss": mpmath.nstr(lmp, 15),
                "residual": mpmath.nstr(res, 3),
                "kind": kind,
            }
    return SearchResult(n=n, starts=starts, region=region, seed=seed, points=list(found.values()), outcomes=outcomes)
