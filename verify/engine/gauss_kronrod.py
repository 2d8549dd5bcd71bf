"""Gauss-Kronrod pairs on [-1, 1], computed here (not copied from tables).

A Kronrod rule K_{2N+1} adds N + 1 nodes to the N-point Gauss-Legendre rule G_N
and integrates polynomials of degree 3N + 1 exactly.  Its nodes contain G_N's,
so one set of 2N + 1 integrand values gives both G_N and K_{2N+1}; |K - G| is the
estimate of G_N's error (and, applied to the far more accurate K, a conservative one).
Nested over several axes, each level then costs 2N + 1 evaluations per panel
instead of the 3N of a separate (N, 2N) Gauss pair.

The added nodes are the zeros of the Stieltjes polynomial E_{N+1}, defined by
int P_N(x) E_{N+1}(x) x^j dx = 0 (j = 0..N); they interlace with the Gauss nodes.
The weights make the rule exact on P_0..P_{2N}.  All of it in mpmath at 40 extra
digits, then rounded.
"""

from __future__ import annotations

from functools import lru_cache

import mpmath
import numpy as np

from .backend import gauss_legendre

__all__ = ["gauss_kronrod", "gauss_kronrod_float"]


def _legendre_all(x, n):
    """P_0(x)..P_n(x) by the three-term recurrence."""
    p = [mpmath.mpf(1), x]
    for j in range(1, n):
        p.append(((2 * j + 1) * x * p[j] - j * p[j - 1]) / (j + 1))
    return p[: n + 1]


@lru_cache(maxsize=None)
def gauss_kronrod(n: int, dps: int = 30):
    """(nodes, kronrod_weights, gauss_weights) as tuples of mpf, nodes ascending, 2n + 1 of them;
    gauss_weights is 0 at the added (Kronrod) nodes."""
    with mpmath.workdps(dps + 40):
        # Gauss nodes and weights (the package's one Gauss-Legendre rule), converged to 10^-(dps + 35)
        gx, gw = (list(v) for v in gauss_legendre(n, dps + 23))
        # Stieltjes polynomial E_{n+1} = P_{n+1} + sum_{j<=n} c_j P_j; orthogonality to x^m P_n
        # for m = 0..n, integrals by a Gauss rule exact to degree 3n + 2
        qx, qw = gauss_legendre(2 * n + 2, dps + 23)
        P = [_legendre_all(x, n + 1) for x in qx]
        rows, rhs = [], []
        for m in range(n + 1):
            t = [w * x**m * p[n] for x, w, p in zip(qx, qw, P)]
            rows.append([mpmath.fsum(ti * p[j] for ti, p in zip(t, P)) for j in range(n + 1)])
            rhs.append(-mpmath.fsum(ti * p[n + 1] for ti, p in zip(t, P)))
        c = mpmath.lu_solve(mpmath.matrix(rows), mpmath.matrix(rhs))

        def E(x):
            p = _legendre_all(x, n + 1)
            return p[n + 1] + mpmath.fsum(c[j] * p[j] for j in range(n + 1))

        # zeros of E interlace with the Gauss nodes: one in each gap, one beyond each end
        gs = sorted(gx)
        brackets = [(-1, gs[0])] + [(gs[i], gs[i + 1]) for i in range(n - 1)] + [(gs[-1], 1)]
        kx = [mpmath.findroot(E, (lo, hi), solver="anderson") for lo, hi in brackets]
        nodes = sorted(gs + kx)
        # weights: exact on P_0..P_{2n}
        PL = [_legendre_all(x, 2 * n) for x in nodes]
        M = mpmath.matrix([[p[j] for p in PL] for j in range(2 * n + 1)])
        b = mpmath.matrix([2] + [0] * (2 * n))
        kw = mpmath.lu_solve(M, b)
        gmap = {mpmath.nstr(x, dps + 20): w for x, w in zip(gx, gw)}
        gwt = [gmap.get(mpmath.nstr(x, dps + 20), mpmath.mpf(0)) for x in nodes]
        out = (tuple(+x for x in nodes), tuple(+kw[i] for i in range(2 * n + 1)), tuple(+w for w in gwt))
    return out


@lru_cache(maxsize=None)
def gauss_kronrod_float(n: int):
    """The pair in float64: (nodes (2n+1,), kronrod weights, gauss weights (0 at added nodes))."""
    if n == 10:
        return np.array(_K21_NODES), np.array(_K21_KRONROD), np.array(_K21_GAUSS)
    x, kw, gw = gauss_kronrod(n)
    return (np.array([float(v) for v in x]), np.array([float(v) for v in kw]), np.array([float(v) for v in gw]))


#: G10/K21 to 20 digits, as :func:`gauss_kronrod` (10) computes them (checked against it in
#: tests/test_nested_rule.py); kept as numbers so a process does not spend ~1 s in mpmath.
_K21_NODES = (-0.99565716302580808074,
    -0.97390652851717172008,
    -0.930157491355708226,
    -0.86506336668898451073,
    -0.78081772658641689706,
    -0.67940956829902440623,
    -0.56275713466860468334,
    -0.4333953941292471908,
    -0.29439286270146019813,
    -0.14887433898163121088,
    0.0,
    0.14887433898163121088,
    0.29439286270146019813,
    0.4333953941292471908,
    0.56275713466860468334,
    0.67940956829902440623,
    0.78081772658641689706,
    0.86506336668898451073,
    0.930157491355708226,
    0.97390652851717172008,
    0.99565716302580808074,
)
_K21_KRONROD = (0.011694638867371874278,
    0.032558162307964727479,
    0.054755896574351996031,
    0.075039674810919952767,
    0.093125454583697605535,
    0.1093871588022976419,
    0.12349197626206585108,
    0.13470921731147332593,
    0.1427759385770600808,
    0.14773910490133849137,
    0.14944555400291690566,
    0.14773910490133849137,
    0.1427759385770600808,
    0.13470921731147332593,
    0.12349197626206585108,
    0.1093871588022976419,
    0.093125454583697605535,
    0.075039674810919952767,
    0.054755896574351996031,
    0.032558162307964727479,
    0.011694638867371874278,
)
_K21_GAUSS = (0.0,
    0.066671344308688137594,
    0.0,
    0.14945134915058059315,
    0.0,
    0.219086362515982044,
    0.0,
    0.26926671930999635509,
    0.0,
    0.29552422471475287017,
    0.0,
    0.29552422471475287017,
    0.0,
    0.26926671930999635509,
    0.0,
    0.219086362515982044,
    0.0,
    0.14945134915058059315,
    0.0,
    0.066671344308688137594,
    0.0,
)
