"""Theorem 2.1's regime (large noise): its condition, the theorem's step, and the cluster's spread.

The leading-order theory (derived in :mod:`verify.claims.thm_2_1`): the spread
Sigma = (1/n) sum_i delta_i delta_i^T of the scaled means obeys
lambda <- lambda - (8 eta_s / n) lambda^2 per step, so its slowest direction enters its
1/tau law after tau_0 = n / (8 eta_s lambda_min) steps (:func:`tail_onset`).
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
    lam = lam[lam > 1e-12 * lam[0]]
    return n / (8.0 * scaled_step(eta, t, convention) * float(lam[-1]))
