"""Arithmetic for the quadrature (float64 or mpmath) and the one implementation of each rule.

* :class:`Backend`, :data:`FLOAT64`, :func:`mp_backend`: the same quadrature code runs in
  float64 (numpy) and in mpmath (numpy object arrays of mpf);
* :func:`gauss_legendre` on [-1, 1] and :func:`gauss_legendre_tensor` on [-1, 1]^q;
* :func:`gauss_hermite` for the standard normal density (weights sum to 1) and
  :func:`gauss_hermite_tensor` for N(0, I_k).

Each rule is given in float64 (``dps=None``) or to ``dps`` decimal digits, cached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import numpy as np

__all__ = ["Backend", "FLOAT64", "mp_backend", "gauss_legendre", "gauss_legendre_tensor", "gauss_hermite",
           "gauss_hermite_tensor"]


@lru_cache(maxsize=None)
def gauss_legendre(n: int, dps: int | None = None):
    """Gauss-Legendre nodes and weights on [-1, 1]: numpy's in float64, else to ``dps`` digits
    (Newton on P_n from Tricomi's initial guesses)."""
    if dps is None:
        return np.polynomial.legendre.leggauss(n)
    with mpmath.workdps(dps + 15):
        xs, ws = [], []
        for i in range(1, n + 1):
            x = mpmath.cos(mpmath.pi * (i - mpmath.mpf(1) / 4) / (n + mpmath.mpf(1) / 2))
            for _ in range(100):
                p0, p1 = mpmath.mpf(1), x
                for k in range(2, n + 1):
                    p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
                dp = n * (x * p1 - p0) / (x * x - 1)
                dx = p1 / dp
                x -= dx
                if abs(dx) < mpmath.mpf(10) ** (-(dps + 12)):
                    break
            p0, p1 = mpmath.mpf(1), x
            for k in range(2, n + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            dp = n * (x * p1 - p0) / (x * x - 1)
            xs.append(x)
            ws.append(2 / ((1 - x * x) * dp * dp))
    return np.array(xs, dtype=object), np.array(ws, dtype=object)


@lru_cache(maxsize=None)
def gauss_hermite(n: int, dps: int | None = None):
    """Gauss-Hermite nodes and weights for the standard normal density (weights sum to 1).

    float64: numpy's probabilists' rule.  To ``dps`` digits: Newton on He_n from the float64
    nodes, weights n! / (n^2 He_{n-1}(x)^2) normalised to sum to 1."""
    if dps is None:
        x, w = np.polynomial.hermite_e.hermegauss(n)
        return x, w / math.sqrt(2 * math.pi)
    with np.errstate(all="ignore"):  # only the nodes are used as starting points; weights overflow for n > ~380
        x0, _ = np.polynomial.hermite_e.hermegauss(n)
    with mpmath.workdps(dps + 15):
        def he(x):
            p0, p1 = mpmath.mpf(1), x
            for k in range(1, n):
                p0, p1 = p1, x * p1 - k * p0
            return p1, p0  # He_n, He_{n-1}

        xs, ws = [], []
        for xi in x0:
            x = mpmath.mpf(float(xi))
            for _ in range(100):
                p, pm = he(x)
                dx = p / (n * pm)  # He_n' = n He_{n-1}
                x -= dx
                if abs(dx) <= mpmath.mpf(10) ** (-(dps + 12)) * max(1, abs(x)):
                    break
            _, pm = he(x)
            xs.append(x)
            ws.append(mpmath.factorial(n) / (n * n * pm * pm))
        total = mpmath.fsum(ws)
        ws = [w / total for w in ws]
    return np.array(xs, dtype=object), np.array(ws, dtype=object)


@lru_cache(maxsize=None)
def gauss_hermite_tensor(orders: tuple, dps: int | None = None):
    """The tensor rule for N(0, I_k), ``orders[j]`` nodes along axis j: ``(X (N, k), W (N,))``,
    nodes in C order (the last axis fastest)."""
    orders = tuple(int(o) for o in orders)
    xs = [gauss_hermite(n, dps) for n in orders]
    idx = np.stack([g.ravel() for g in np.meshgrid(*[np.arange(n) for n in orders], indexing="ij")], axis=1)
    X = np.stack([xs[j][0][idx[:, j]] for j in range(len(orders))], axis=1)
    W = xs[0][1][idx[:, 0]]
    for j in range(1, len(orders)):
        W = W * xs[j][1][idx[:, j]]
    return X, W


def gauss_legendre_tensor(q: int, n: int, dps: int | None = None):
    """The tensor rule on [-1, 1]^q with n nodes per axis: ``(X (n^q, q), W (n^q,))``."""
    x, w = gauss_legendre(n, dps)
    grids = np.meshgrid(*([np.arange(n)] * q), indexing="ij")
    idx = np.stack([g.ravel() for g in grids], axis=1)
    X = x[idx]  # (n^q, q)
    W = np.prod(w[idx], axis=1) if dps is None else np.array([mpmath.fprod(r) for r in w[idx]], dtype=object)
    return X, W


@dataclass(frozen=True)
class Backend:
    """Arithmetic for the quadrature: float64 or mpmath at ``dps`` digits."""

    name: str
    dps: int
    eps: float  # the working precision's machine epsilon (twice the unit roundoff), as a float
    inner_order: int  # N of the (N, 2N) Gauss-Legendre pair on each inner panel
    outer_order: tuple  # N of the (N, 2N) pair per outer dimension, by number of outer dims
    active_margin: float  # nats: a transition dominated by more than this gets no grading

    @property
    def is_mp(self) -> bool:
        return self.name == "mpmath"

    @property
    def rule_dps(self) -> int | None:
        """The ``dps`` argument of the rules: None in float64."""
        return self.dps if self.is_mp else None

    def rule(self, n: int):
        """Gauss-Legendre nodes and weights on [-1, 1] in this arithmetic."""
        return gauss_legendre(n, self.rule_dps)

    def array(self, values):
        if self.is_mp:
            return np.array(values, dtype=object)
        return np.asarray(values, dtype=np.float64)

    def exp(self, x):
        if self.is_mp:
            return _mp_exp(x)
        return np.exp(x)

    def scalar(self, x):
        return mpmath.mpf(x) if self.is_mp else float(x)


_mp_exp = np.frompyfunc(mpmath.exp, 1, 1)

#: float64: on a panel graded around each softmax transition the worst Bernstein-ellipse
#: parameter is about 5.8, so 10 nodes give ~5.8^-20 ~ 5e-16 and the (10, 20) pair's
#: difference is an honest estimate at the 1e-15 level.
FLOAT64 = Backend("float64", 16, 2.0**-52, 10, {1: 10, 2: 6, 3: 5}, 40.0)


def mp_backend(dps: int) -> Backend:
    """mpmath backend: the inner order N is chosen so 5.8^(-2N) <= 10^-(dps+5)."""
    n_inner = max(12, math.ceil((dps + 5) * math.log(10) / (2 * math.log(5.8))))
    n_outer = max(8, math.ceil(n_inner / 2))
    return Backend(
        "mpmath", dps, 10.0 ** (-dps), n_inner, {1: n_outer, 2: max(6, n_outer // 2), 3: max(5, n_outer // 3)},
        dps * math.log(10) + 10.0,
    )
