"""An independent float64 evaluation of L and dL/dm_i for means on a line (d = 1, t = 0).

Gauss-Legendre panels of width 4 on [-40, 40], graded geometrically toward each crossing of
neighbouring logits, orders 16 and 32 compared, the mean nearest mu* as the logit reference,
plus a Gaussian tail bound beyond |z| = 40.  It shares no code with the engine's quadrature
(own panels, own integrand); it cross-checks the engine in ``tests/test_thm_3_5.py`` (the far
means of Theorems 3.5-3.7) and no claim runs on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from verify.engine.backend import gauss_legendre

__all__ = ["Expectations1D", "expectations_1d"]

#: Truncation of the z-axis: beyond |z| = 40 the density is < 1e-348, see ``_tail_bound``.
_Z_MAX = 40.0
_EPS = np.finfo(float).eps


@dataclass
class Expectations1D:
    loss: float
    loss_err: float
    grad: np.ndarray  # (n,) dL/dm_i (t = 0: equal to dL/dmu_i)
    grad_err: np.ndarray  # (n,)


def _panel_edges(a: np.ndarray) -> np.ndarray:
    """Panels of width 4 on [-40, 40], graded geometrically toward each crossing of neighbouring logits."""
    edges = [np.arange(-_Z_MAX, _Z_MAX + 0.5, 4.0)]
    s = np.sort(a)
    for lo, hi in zip(s[:-1], s[1:]):
        gap = hi - lo
        if gap <= 0:
            continue
        c = 0.5 * (lo + hi)  # where the two logits a z - a^2/2 cross
        if abs(c) > _Z_MAX + 1:
            continue  # beyond the truncation: covered by the tail bound
        w = 1.0 / gap  # width of the softmax transition
        if w >= 4:
            continue
        m = int(math.ceil(math.log2(4.0 / w)))
        offs = w * np.array([0.0] + [sg * 2.0**e for e in range(m + 1) for sg in (1, -1)])
        edges.append(c + offs)
    e = np.unique(np.clip(np.concatenate(edges), -_Z_MAX, _Z_MAX))
    return e


def _integrand(z: np.ndarray, a: np.ndarray):
    """Columns: |v|^2 and g_i / 2 = w_i v + w_i v (a_i - v)(z - a_i), times phi(z) (mu* = 0 frame)."""
    i0 = int(np.argmin(np.abs(a)))
    # logit differences to a reference mean, written so that huge a lose no digits:
    # l_i - l_0 = (a_i - a_0) (z - (a_i + a_0) / 2)
    l = (a[None, :] - a[i0]) * (z[:, None] - 0.5 * (a[None, :] + a[i0]))
    l -= l.max(axis=1, keepdims=True)
    E = np.exp(l)
    w = E / E.sum(axis=1, keepdims=True)
    v = w @ a
    phi = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    g = w * v[:, None] + w * (v[:, None] * (a[None, :] - v[:, None])) * (z[:, None] - a[None, :])
    return np.concatenate([(v * v)[:, None], g], axis=1) * phi[:, None]


def _tail_bound(amax: float) -> float:
    """Bound of the integrals over |z| > 40: |integrand| / phi <= (1 + amax)^3 (1 + |z|), and
    E[(1 + |z|) 1{|z| > R}] <= 2 (P(z > R) + phi(R)) <= 4 phi(R) for R >= 1; computed in logs."""
    log_b = 3 * math.log1p(amax) + math.log(4.0) - 0.5 * _Z_MAX**2 - 0.5 * math.log(2 * math.pi)
    return math.exp(log_b) if log_b > -745 else 0.0


def expectations_1d(mu, mu_star=0.0) -> Expectations1D:
    """L and dL/dm_i for d = 1, t = 0, in float64 with absolute error estimates.

    Independent of the engine (own panels and integrand, mean nearest to mu* as the
    logit reference); used only to cross-check :mod:`verify.engine.reference`.

    ``mu``: (n,) or (n, 1) means; ``mu_star``: scalar or (1,).  The error estimate
    is |Q_32 - Q_16| summed over panels + 64 eps sum |f| w (rounding) + the tail bound.
    """
    a = np.asarray(mu, dtype=float).reshape(-1) - float(np.asarray(mu_star, dtype=float).reshape(-1)[0])
    if not np.all(np.isfinite(a)):
        raise ValueError("mu must be finite")
    edges = _panel_edges(a)
    lo, hi = edges[:-1], edges[1:]
    mid, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
    out = []
    for x, w in (gauss_legendre(16), gauss_legendre(32)):
        z = (mid[:, None] + half[:, None] * x[None, :]).reshape(-1)
        F = _integrand(z, a).reshape(len(mid), len(x), -1)
        hw = half[:, None] * w[None, :]
        out.append((np.einsum("pq,pqm->pm", hw, F), np.einsum("pq,pqm->m", np.abs(hw), np.abs(F))))
    (q1, _), (q2, absval) = out
    val = q2.sum(axis=0)
    err = np.abs(q2 - q1).sum(axis=0) + 64 * _EPS * absval + _tail_bound(float(np.max(np.abs(a))))
    # the gradient is 2 x the integral of g_i / 2
    return Expectations1D(float(val[0]), float(err[0]), 2 * val[1:], 2 * err[1:])
