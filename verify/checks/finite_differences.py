"""Finite differences of the loss against the gradient (check 3 of Lemma 2.2).

* :func:`check_fd_mp`: Richardson-extrapolated central differences of an mpmath loss against an
  mpmath gradient (>= 25 digits when k = 1);
* :func:`check_fd_float64`: directional central differences of a float64 loss with error
  estimate, the tolerance derived from that estimate and a truncation estimate from two steps.

Each takes the loss and the gradient as functions, so wrong variants can be passed in
(:mod:`verify.checks.variants`) and must be rejected.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np

from verify.engine.tolerances import gradient_scale
from verify.engine.validation import means_mp

from .compare import TOLERANCES, CheckReport, Comparison, finish
from .richardson import richardson

__all__ = ["check_fd_mp", "check_fd_float64", "unit_directions"]


def unit_directions(n, d, count, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        u = rng.standard_normal((n, d))
        out.append(u / np.linalg.norm(u))
    return out


def check_fd_mp(loss_fn, grad_fn, mu, mu_star, t, *, dps: int | None = None, digits: int | None = None,
                h=None, levels: int | None = None, directions: str | int = "coordinates", seed: int = 0,
                ) -> CheckReport:
    """Richardson-extrapolated central differences of an mpmath loss vs an mpmath gradient.

    ``loss_fn(mu, mu_star, t, dps=...)`` -> (mpf, err) and ``grad_fn(mu, mu_star, t, dps=...)`` ->
    n lists of d mpf of dL/dmu (unscaled).  ``directions``: "coordinates" (every component) or an
    int (that many fixed-seed unit directions u, comparing <grad, u>).  The difference quotient
    D(h) = (L(mu + h u) - L(mu - h u)) / 2h at h, h/2, h/4, ... is extrapolated (error series in
    h^2); its error estimate is the extrapolation's last correction plus the loss's error / h
    (times the tableau's amplification, < 3).  Tolerance: 10^-digits times the gradient scale
    (:func:`verify.engine.tolerances.gradient_scale`, unscaled gradient).
    The extrapolation must itself be below that tolerance, or the check fails (it cannot
    vouch for the digits).  Coordinates of mu are shifted in mpmath, exactly.
    """
    tm = TOLERANCES["mpmath"]
    dps = tm["fd_dps"] if dps is None else dps
    digits = tm["fd_digits"] if digits is None else digits
    levels = tm["fd_levels"] if levels is None else levels
    with mpmath.workdps(dps):
        h0 = mpmath.mpf(tm["fd_h"] if h is None else h)
        m, s = means_mp(mu, mu_star)
        n, d = len(m), len(s)
        tt = mpmath.mpf(t)
        L0, L0e = loss_fn(m, s, tt, dps=dps)
        G = grad_fn(m, s, tt, dps=dps)
        if directions == "coordinates":
            dirs = []
            for i in range(n):
                for k in range(d):
                    u = [[mpmath.mpf(0)] * d for _ in range(n)]
                    u[i][k] = mpmath.mpf(1)
                    dirs.append((f"mu[{i}][{k}]", u))
        else:
            dirs = [(f"u{j} (seed {seed})", [[mpmath.mpf(float(x)) for x in r] for r in U])
                    for j, U in enumerate(unit_directions(n, d, int(directions), seed))]
        spread = max(mpmath.sqrt(mpmath.fsum((mpmath.exp(-tt) * (m[i][k] - s[k])) ** 2 for k in range(d)))
                     for i in range(n))
        scale = gradient_scale(G, L0, spread, t=float(tt))
        tol = mpmath.mpf(10) ** (-digits) * scale
        rows, fd_errs = [], []
        label = f"t={mpmath.nstr(tt, 6)}, dps={dps}, h0={mpmath.nstr(h0, 3)}"
        for name, u in dirs:
            Ds, rnd = [], mpmath.mpf(0)
            for j in range(levels):
                hj = h0 / 2**j
                plus = [[m[i][k] + hj * u[i][k] for k in range(d)] for i in range(n)]
                minus = [[m[i][k] - hj * u[i][k] for k in range(d)] for i in range(n)]
                Lp, ep = loss_fn(plus, s, tt, dps=dps)
                Lm, em = loss_fn(minus, s, tt, dps=dps)
                Ds.append((Lp - Lm) / (2 * hj))
                rnd = max(rnd, (ep + em) / (2 * hj))
            best, trunc, _ = richardson(Ds)
            fd_err = trunc + 3 * rnd
            fd_errs.append(fd_err)
            analytical = mpmath.fsum(G[i][k] * u[i][k] for i in range(n) for k in range(d))
            rows.append(Comparison(label, f"<grad, {name}>", best, analytical, tol))
        worst = max(fd_errs)
        note = ""
        if worst > tol:
            note = (f"the finite differences are only good to {mpmath.nstr(worst, 3)} "
                    f"> tolerance {mpmath.nstr(tol, 3)}: use a smaller h, more levels or a higher dps")
            for r in rows:
                r.ok = False
        return finish("finite differences (mpmath, Richardson)", rows, scale,
                       {"dps": dps, "digits_required": digits, "fd_err": worst, "tolerance": tol,
                        "levels": levels}, note=note, digits=min(dps, 40))


def check_fd_float64(loss_fn, grad_fn, mu, mu_star, t, *, n_dirs: int = 3, seed: int = 0, h: float | None = None,
                     ) -> CheckReport:
    """Directional central differences of a float64 loss vs <grad, u>.

    ``loss_fn(mu, mu_star, t, error=True)`` -> (L, err); ``grad_fn(mu, mu_star, t, error=True)`` ->
    (G, err), G = dL/dmu (unscaled), shape (n, d).  For ``n_dirs`` fixed-seed unit vectors u:
    D(h) = (L(mu + h u) - L(mu - h u)) / 2h with h = fd_h * e^{t} (mu's natural length at noise t).
    Tolerance, derived per direction:
        err_factor * [ (err(+h) + err(-h)) / 2h            (the loss's error estimate / h)
                       + |D(2h) - D(h)| / 3                  (truncation c h^2, from two steps;
                                                              it includes their quadrature noise)
                       + sum |u| * grad err ]                (the gradient's own error estimate)
    """
    tf = TOLERANCES["float64"]
    mu_a = np.asarray(mu, dtype=np.float64)
    ms_a = np.asarray(mu_star, dtype=np.float64)
    n, d = mu_a.shape
    h = tf["fd_h"] * math.exp(t) if h is None else float(h)
    G, Ge = grad_fn(mu_a, ms_a, t, error=True)
    G, Ge = np.asarray(G, dtype=np.float64), np.asarray(Ge, dtype=np.float64)
    L0, _ = loss_fn(mu_a, ms_a, t, error=True)
    rows = []
    label = f"t={t:g}, n={n}, d={d}, h={h:.2g}"
    ef = tf["err_factor"]
    details = {"h": h, "tolerance_rel": []}
    spread = float(np.max(np.linalg.norm(math.exp(-t) * (mu_a - ms_a), axis=1)))
    scale = gradient_scale(G, L0, spread, t=t)
    for j, u in enumerate(unit_directions(n, d, n_dirs, seed)):
        D, qerr = {}, {}
        for hh in (h, 2 * h):
            Lp, ep = loss_fn(mu_a + hh * u, ms_a, t, error=True)
            Lm, em = loss_fn(mu_a - hh * u, ms_a, t, error=True)
            D[hh] = (Lp - Lm) / (2 * hh)
            qerr[hh] = (ep + em) / (2 * hh)
        trunc = abs(D[2 * h] - D[h]) / 3
        tol = ef * (qerr[h] + trunc + float(np.sum(np.abs(u) * Ge)))
        details["tolerance_rel"].append(tol / scale if scale > 0 else math.inf)
        rows.append(Comparison(label, f"<grad, u{j}> (seed {seed})", D[h], float(np.sum(G * u)), tol))
    return finish("finite differences (float64, directional)", rows, scale, details)
