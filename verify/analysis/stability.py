"""The largest step gradient descent can take near its limit: 2 / lambda_max of the Hessian there.

Gradient descent m <- m - eta grad L is linearly stable at a minimum iff eta < 2 / lambda_max(H)
(H the Hessian of L in the scaled means; in the unscaled convention the step on the scaled means
is eta e^{-2t}, so the limit on eta is e^{2t} times larger).  Closed forms at the two limits the
dynamics reach (scaled means a_i = m_i - m*, loss without 1/2):

* every mean at m* (all converge): near the collapsed point L = |abar|^2 + tr Sigma^2 + ...
  (:mod:`verify.claims.thm_2_1`, derivation), so d^2 L / da_i da_j = (2/n^2) I from |abar|^2 and the
  spread is quartic: lambda_max = 2/n (eigenvector: all means moving together), limit eta < n;
* k means at m* and the others receding to infinity (partial recovery with k survivors): the far
  means' weights vanish near m*, the survivors see the collapsed loss of k means, lambda_max = 2/k,
  limit eta < k (one survivor: eta < 1).

:func:`hessian` measures H by central differences of the engine's gradient, which the tests
compare with these closed forms (and the closed forms are what the studies report beside the
measured eta_max).
"""

from __future__ import annotations

import math

import numpy as np

from verify.engine.reference import grad_scaled

__all__ = ["hessian", "lambda_max", "collapsed_lambda_max", "limit_point", "step_limit"]


def collapsed_lambda_max(k: int) -> float:
    """lambda_max of the Hessian with k means collapsed at m* (the others, if any, infinitely far): 2/k."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    return 2.0 / k


def step_limit(lam: float, *, t: float = 0.0, convention: str = "scaled") -> float:
    """The stability limit 2 / lambda on the step eta of ``convention`` at noise level t."""
    if not lam > 0:
        raise ValueError(f"lambda must be > 0, got {lam!r}")
    if convention == "scaled":
        return 2.0 / lam
    if convention == "unscaled":
        return math.exp(2 * t) * 2.0 / lam
    raise ValueError(f"convention must be 'scaled' or 'unscaled', got {convention!r}")


def limit_point(n: int, d: int, survivors: int, *, far: float = 8.0) -> np.ndarray:
    """Scaled means at the limit of a run with ``survivors`` means converging: those at m* = 0, the
    others at distance ``far`` along e_1 (receding; at 8 their weight near m* is ~e^{-32})."""
    if not 1 <= survivors <= n:
        raise ValueError(f"survivors must be in [1, n = {n}], got {survivors}")
    a = np.zeros((n, d))
    a[survivors:, 0] = far
    return a


def hessian(a, *, h: float = 1e-4, tol: float = 1e-12):
    """Hessian of L (t = 0, m* = 0) at scaled means ``a`` (n, d) by central differences of the
    engine's gradient; returns ``(H, err)`` with H symmetrised, shape (n d, n d), and err the
    largest difference between the steps h and h/2 plus the asymmetry (the truncation error is
    O(h^2), the engine's O(tol / h))."""
    a = np.asarray(a, dtype=float)
    n, d = a.shape
    star = np.zeros(d)

    def columns(step):
        H = np.empty((n * d, n * d))
        for j in range(n * d):
            e = np.zeros(n * d)
            e[j] = step
            gp = grad_scaled(a + e.reshape(n, d), star, 0.0, tol=tol)
            gm = grad_scaled(a - e.reshape(n, d), star, 0.0, tol=tol)
            H[:, j] = (gp - gm).ravel() / (2 * step)
        return H

    H1, H2 = columns(h), columns(h / 2)
    err = float(np.max(np.abs(H1 - H2)) + np.max(np.abs(H2 - H2.T)))
    return (H2 + H2.T) / 2, err


def lambda_max(a, **kw) -> tuple[float, float]:
    """(largest eigenvalue of :func:`hessian` at ``a``, its error bound: the Hessian's error, by Weyl)."""
    H, err = hessian(a, **kw)
    return float(np.linalg.eigvalsh(H)[-1]), err
