"""Theorem 3.1 on the symmetric path: the 1-D integrals, the stationary radius s*(n) and its table.

On the path a = (s e_1, -s e_1, 0, ..., 0) (scaled means, mu* = 0) everything is a 1-D integral
over y_1 ~ N(0, 1) (``mpmath.quad`` with the softmax transitions as breakpoints): the loss
:func:`path_loss`, the radial gradient :func:`radial_gradient` (the e_1 component of dL/da_1,
pathwise formula) and :func:`path_derivative` (d/ds of the path integrand, a second formula);
dL/ds = 2 x radial gradient because dL/da_2 = -dL/da_1.  :func:`stationary_radius` is the root
s*(n); :func:`reference_table` holds s*(n), L(s*) for n = 3..8 at 70 digits.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import mpmath
import numpy as np

__all__ = ["DEFAULT_DPS", "construction", "path_loss", "radial_gradient", "path_derivative", "stationary_radius",
           "stationary_radius_str", "max_noise_level", "expected_zero_modes", "path_second_derivative",
           "reference_table", "stationary_radius_reference", "generate_reference_table"]

DEFAULT_DPS = 50


def _check_n(n, minimum: int = 3) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"n must be >= {minimum} for the construction of Theorem 3.1, got n = {n}")
    return int(n)


def _check_d(d) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"d must be a positive int, got {d!r}")
    return int(d)


def construction(n: int, s, d: int = 1) -> list[list]:
    """The configuration of Theorem 3.1 in scaled coordinates (mu* = 0).

    Returns n lists of d numbers: a_1 = s e_1, a_2 = -s e_1, a_i = 0 (i >= 3).
    ``s`` is kept as given (mpf, str, float) so no precision is lost.
    """
    n = _check_n(n)
    d = _check_d(d)
    zero = 0 * s if not isinstance(s, str) else "0"
    neg = -s if not isinstance(s, str) else ("-" + s if not s.startswith("-") else s[1:])
    a = [[zero] * d for _ in range(n)]
    a[0][0] = s
    a[1][0] = neg
    return a


def _path_terms(y, s, m):
    """Integrand pieces at y for a = (s, -s, 0 x m) in one dimension.

    Returns (v^2, pathwise e_1-gradient of a_1, d/ds v^2) without the density.
    """
    e1 = mpmath.exp(s * y - s * s / 2)
    e2 = mpmath.exp(-s * y - s * s / 2)
    z = e1 + e2 + m
    w1 = e1 / z
    v = s * (e1 - e2) / z
    g1 = 2 * (w1 * v + w1 * v * (s - v) * (y - s))
    de1 = (y - s) * e1
    de2 = (-y - s) * e2
    dv = (e1 - e2) / z + s * ((de1 - de2) * z - (e1 - e2) * (de1 + de2)) / (z * z)
    return v * v, g1, 2 * v * dv


def _path_breakpoints(s, m):
    """Softmax transitions: where l_1 = l_2 (y = 0), where a_1 or a_2 takes over
    from the m means at 0 (y = +-(s/2 + log(m)/s)), and y = +-s/2."""
    pts = [mpmath.mpf(0)]
    if s != 0:
        half = abs(s) / 2
        pts += [half, -half]
        if m > 1:
            pts += [half + mpmath.log(m) / abs(s), -(half + mpmath.log(m) / abs(s))]
    return [-mpmath.inf] + sorted(set(pts)) + [mpmath.inf]


def _path_integral(which: int, s, n: int, dps: int, error: bool):
    n = _check_n(n)
    with mpmath.workdps(dps):
        s = mpmath.mpf(s)
        m = n - 2
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)

        def f(y):
            return _path_terms(y, s, m)[which] * mpmath.exp(-y * y / 2) * norm

        val, err = mpmath.quad(f, _path_breakpoints(s, m), error=True)
        return (+val, +err) if error else +val


def path_loss(s, n: int, *, dps: int = DEFAULT_DPS, error: bool = False):
    """L(s) = E|v|^2 on the symmetric path a = (s e_1, -s e_1, 0, ..., 0).

    With ``error=True`` returns (value, quadrature error estimate).
    """
    return _path_integral(0, s, n, dps, error)


def radial_gradient(s, n: int, *, dps: int = DEFAULT_DPS, error: bool = False):
    """g(s) = e_1 . dL/da_1 on the symmetric path (pathwise formula).

    dL/da_2 = -dL/da_1 at the construction, so dL/ds = 2 g(s) and
    g(s*) = 0 is the whole stationarity condition (the other components vanish
    by symmetry).
    """
    return _path_integral(1, s, n, dps, error)


def path_derivative(s, n: int, *, dps: int = DEFAULT_DPS, error: bool = False):
    """dL/ds on the symmetric path, from d/ds of v(s)^2 directly (not the
    pathwise gradient formula): an independent formula for 2 g(s)."""
    return _path_integral(2, s, n, dps, error)


@functools.lru_cache(maxsize=64)
def _stationary_radius_cached(n: int, dps: int) -> str:
    # A coarse scan at low precision brackets the sign change of g, which is
    # positive for small s (L rises from 0) and negative for large s.
    with mpmath.workdps(20):
        grid = [mpmath.mpf(k) / 4 for k in range(2, 60)]
        prev = None
        bracket = None
        for s in grid:
            g = radial_gradient(s, n, dps=20)
            if prev is not None and prev[1] > 0 and g < 0:
                bracket = (prev[0], s)
                break
            prev = (s, g)
    if bracket is None:
        raise ArithmeticError(f"no sign change of the radial gradient for n = {n} in s in [0.5, 15]")
    with mpmath.workdps(dps):
        root = mpmath.findroot(
            lambda s: radial_gradient(s, n, dps=dps), (mpmath.mpf(bracket[0]), mpmath.mpf(bracket[1])),
            solver="anderson", tol=mpmath.mpf(10) ** (-dps + 5), maxsteps=50, verify=False,
        )
        return mpmath.nstr(root, dps, strip_zeros=False)


def stationary_radius(n: int, *, dps: int = DEFAULT_DPS):
    """s*(n): the root of the radial gradient on the symmetric path.

    Returned as an mpf at the caller's working precision (parse it inside a
    wider ``workdps`` to keep all digits); computed at ``dps`` (about
    dps - 15 correct digits: the quadrature error of ``radial_gradient``
    divided by |g'(s*)|, which is of order 1).  Cached per (n, dps).
    """
    n = _check_n(n)
    return mpmath.mpf(_stationary_radius_cached(n, int(dps)))


def stationary_radius_str(n: int, *, dps: int = DEFAULT_DPS) -> str:
    """s*(n) as a decimal string with ``dps`` significant digits."""
    return _stationary_radius_cached(_check_n(n), int(dps))


def max_noise_level(M, n: int, *, dps: int = 30):
    """Largest noise level t at which the Theorem 3.1 point is within the initial range.

    The unscaled means sit at distance e^{t} s*(n) from mu*; they are within
    M = max_i |mu_i(0) - mu*| iff e^{-t} M >= s*, i.e. t <= log(M / s*(n)).
    Returns log(M / s*) as a float; a negative value means that no t >= 0
    works for this M (M < s*).  Raises ValueError for M <= 0.
    """
    if not (isinstance(M, (int, float, np.floating, np.integer)) or isinstance(M, mpmath.mpf)) or not M > 0:
        raise ValueError(f"M must be a positive number, got {M!r}")
    with mpmath.workdps(dps + 5):
        return float(mpmath.log(mpmath.mpf(M) / stationary_radius_reference(n)))


def expected_zero_modes(n: int, d: int) -> int:
    """Number of exactly zero Hessian eigenvalues at the construction.

    * Rotations about mu* (the loss is O(d)-invariant): the orbit's tangent
      space at (s e_1, -s e_1, 0, ..) is {(A s e_1, -A s e_1, 0..): A skew},
      of dimension d - 1.  Means at mu* = 0 are fixed by every rotation and
      add nothing; translations are not symmetries (mu* is fixed).
    * Splitting the cluster of m = n - 2 means at mu* off the axis: the
      perturbation a_j = c_j delta u (j >= 3) with sum_j c_j = 0 and u
      orthogonal to e_1 changes the softmax numerator and denominator only at
      second order, by delta^2 sum c_j^2 ((u.y)^2 - |u|^2, 2 u (u.y)), and the
      first variation of L in that direction is
      E[(2 v.u (u.y) - |v|^2 ((u.y)^2 - 1)) / Z] = 0 because u.y is
      independent of y_1 (on which v and Z depend) and has mean 0 and
      variance 1.  The mixed second derivatives with any other direction
      vanish for the same reason, so these are (m - 1)(d - 1) null vectors.
      They are not symmetries (the loss changes at fourth order).

    Total: (d - 1) + (n - 3)(d - 1) = (n - 2)(d - 1).
    """
    n = _check_n(n)
    d = _check_d(d)
    return (n - 2) * (d - 1)


def path_second_derivative(n: int, *, dps: int = 30, step: str = "1e-8"):
    """L''(s*) on the symmetric path: central difference of dL/ds (mpmath, error ~ step^2)."""
    with mpmath.workdps(dps + 10):
        s = stationary_radius_reference(n)
        hh = mpmath.mpf(step)
        return (path_derivative(s + hh, n, dps=dps + 10) - path_derivative(s - hh, n, dps=dps + 10)) / (2 * hh)


_TABLE_PATH = Path(__file__).resolve().parents[2] / "data" / "thm_3_1_stationary_radii.json"


@functools.lru_cache(maxsize=1)
def reference_table() -> dict[int, dict[str, str]]:
    """s*(n), L(s*) for n = 3..8 as computed at dps 70 (``generate_reference_table``).

    {n: {"s_star": str, "agreement_dps50": str, "loss": str}}.  Tests recompute
    entries; the table saves the claim and the figures a minute per n.
    """
    data = json.loads(_TABLE_PATH.read_text(encoding="utf-8"))
    return {int(k): v for k, v in data["radii"].items()}


def stationary_radius_reference(n: int):
    """s*(n) from the reference table when it has n (as an mpf at the caller's
    precision), else computed at ``DEFAULT_DPS``."""
    n = _check_n(n)
    table = reference_table()
    if n in table:
        return mpmath.mpf(table[n]["s_star"])
    return mpmath.mpf(stationary_radius_str(n, dps=DEFAULT_DPS))


def generate_reference_table(ns=range(3, 9), path=_TABLE_PATH) -> dict:
    """Recompute the table (about 40 s per n) and write it, marked as generated."""
    radii = {}
    for n in ns:
        s50 = stationary_radius_str(n, dps=50)
        s70 = stationary_radius_str(n, dps=70)
        with mpmath.workdps(80):
            agree = mpmath.nstr(abs(mpmath.mpf(s50) - mpmath.mpf(s70)), 3)
            loss = mpmath.nstr(path_loss(mpmath.mpf(s70), n, dps=70), 40)
        radii[str(n)] = {"s_star": s70, "agreement_dps50": agree, "loss": loss}
    out = {
        "_generated": "GENERATED by verify.analysis.stationary.generate_reference_table(); do not edit by hand. "
                      "s_star: root of the radial gradient at dps 70 (mpmath.quad + findroot); "
                      "agreement_dps50: |s*(dps 50) - s*(dps 70)|; loss: L(s*) at dps 70. "
                      "Source: Theorem 3.1 construction, arXiv 2511.22069 (scaled means, mu* = 0).",
        "radii": radii,
    }
    Path(path).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return out
