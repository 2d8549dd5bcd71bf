"""Theorem 2.1's regime (large noise): its condition, the theorem's step, and the cluster's spread.

The leading-order theory (measured by the claim thm-2.1, :mod:`verify.claims.thm_2_1`).  Write a_i = m_i - m*
(scaled), abar = mean_i a_i, delta_i = a_i - abar, Sigma = (1/n) sum_i delta_i delta_i^T.
Expanding the softmax, v(y) = abar + Sigma y + (cubic in delta), and since L is even in
the configuration,

    L_t = |abar|^2 + tr(Sigma^2) + O(|abar| |delta|^2 + |delta|^6).

So the mean of the cluster contracts exponentially (abar <- (1 - 2 eta_s / n) abar, with
eta_s the step on the scaled means), while the spread feels a quartic loss: the Hessian at
the collapsed point is degenerate in the spread directions and dL/d delta_i = (4/n) Sigma delta_i.
Each non-zero eigenvalue of Sigma then obeys lambda <- lambda - (8 eta_s / n) lambda^2, i.e.

    lambda_k(tau) = 1 / (1 / lambda_k(0) + 8 eta_s tau / n)  ->  n / (8 eta_s tau).

Hence max_i |mu_i - mu*| ~ tau^(-1/2) (parameter exponent -1/2) and
L_t ~ rank(Sigma) (n / (8 eta_s tau))^2 (loss exponent -2), after a tail onset
tau_0 = n / (8 eta_s lambda_min(0)) (:func:`tail_onset`).  The local slopes approach their limits with
O(1/tau) corrections (from 1/(c + b tau), the O(lambda) terms, and the discrete step),
which is the Richardson order used by :mod:`verify.analysis.rates`.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["threshold", "theorem_step", "scaled_step", "spread_configuration", "spread_eigenvalues", "tail_onset"]


def threshold(n: int, M: float) -> float:
    """The theorem's condition: t must exceed log n + log M + 2."""
    return math.log(n) + math.log(M) + 2.0


def theorem_step(n: int, d: int) -> float:
    """eta = 1 / (n^4 d^2): the theorem's order of step with constant 1 (the constant is unknown)."""
    return 1.0 / (n**4 * d**2)


def scaled_step(eta: float, t: float, convention: str) -> float:
    """The step on the scaled means that ``eta`` in ``convention`` amounts to."""
    if convention == "scaled":
        return eta
    if convention == "unscaled":
        return eta * math.exp(-2 * t)
    raise ValueError(f"convention must be 'scaled' or 'unscaled', got {convention!r}")


def spread_configuration(n: int, d: int, *, M: float, mu_star, seed: int, kappa: float = 2.0,
                         mean_fraction: float = 0.3) -> np.ndarray:
    """Initial means with max_i |mu_i - mu*| = M exactly and a well-conditioned spread.

    Random directions (``seed``); the centred configuration's non-zero singular values are
    set to a geometric sequence from 1 to 1/sqrt(kappa), so the non-zero eigenvalues of the
    spread Sigma(0) are within a factor ``kappa`` of each other (the tail onset is
    n / (8 eta lambda_min), so a nearly degenerate spread would need arbitrarily long runs);
    the cluster's centre is offset from mu* by ``mean_fraction`` times the spread's size.
    """
    if n < 2:
        raise ValueError(f"n must be >= 2 (one mean has no spread), got {n}")
    if not (kappa >= 1):
        raise ValueError(f"kappa must be >= 1, got {kappa!r}")
    mu_star = np.asarray(mu_star, dtype=float)
    rng = np.random.default_rng(seed)
    raw = rng.standard_normal((n, d))
    raw -= raw.mean(axis=0)
    u, _, vt = np.linalg.svd(raw, full_matrices=False)
    r = min(n - 1, d)
    sv = kappa ** (-0.5 * np.arange(r) / max(r - 1, 1))
    delta = (u[:, :r] * sv) @ vt[:r]
    size = math.sqrt(np.mean(np.sum(delta**2, axis=1)))
    direction = rng.standard_normal(d)
    direction /= np.linalg.norm(direction)
    a = delta + mean_fraction * size * direction
    a *= M / np.max(np.linalg.norm(a, axis=1))
    return mu_star + a


def spread_eigenvalues(mu, mu_star, t) -> np.ndarray:
    """Eigenvalues (descending) of Sigma = (1/n) sum_i delta_i delta_i^T of the scaled means."""
    a = math.exp(-t) * (np.asarray(mu, dtype=float) - np.asarray(mu_star, dtype=float))
    delta = a - a.mean(axis=0)
    return np.linalg.eigvalsh(delta.T @ delta / a.shape[0])[::-1]


def tail_onset(mu0, mu_star, t, eta, convention="scaled") -> float:
    """tau_0 = n / (8 eta_s lambda_min): where the slowest spread direction enters its 1/tau law."""
    n = np.asarray(mu0).shape[0]
    lam = spread_eigenvalues(mu0, mu_star, t)
    if not lam[0] > 0:  # a collapsed cluster has no spread to wait for
        return 0.0
    lam = lam[lam > 1e-12 * lam[0]]
    return n / (8.0 * scaled_step(eta, t, convention) * float(lam[-1]))
