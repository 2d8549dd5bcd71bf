"""The model of the paper, pointwise, in float64.

Notation (CLAIMS.md, "Model"):

* scaled means  m_i = e^{-t} mu_i  and ground truth  m* = e^{-t} mu*;
* data at noise level t:  x ~ q_t = N(m*, I_d);
* softmax weights  w_i(x) = exp(-|x - m_i|^2/2) / sum_j exp(-|x - m_j|^2/2);
* score  s_t(x) = sum_i w_i(x) m_i - x  (the true score is m* - x);
* population loss, no factor 1/2:  L_t = E_{x ~ q_t} |sum_i w_i(x) m_i - m*|^2.

These functions evaluate the integrands at given points ``x`` (shape (N, d));
they serve Monte Carlo estimates, plots and independent checks.  The exact
population expectations are in :mod:`verify.engine.expectation`.

Logits are formed from differences of means, ``(m_i - m_0).x - (m_i - m_0).(m_i + m_0)/2``,
never from |x - m_i|^2 directly, so the weights stay accurate for huge
coordinates (|mu| ~ 1e12), where |x - m_i|^2 would lose every digit of the
differences that decide the softmax.
"""

from __future__ import annotations

import math

import numpy as np

from .validation import check_means, check_noise_level, check_points

__all__ = [
    "scaled_means",
    "softmax_weights",
    "score",
    "loss_integrand",
    "pathwise_grad_integrand",
    "stein_grad_integrand",
]


def _check_x(x, d: int) -> np.ndarray:
    return check_points(x, "x", d, rows="N")


def scaled_means(mu, t) -> np.ndarray:
    """The time-scaled means m_i = e^{-t} mu_i (shape (n, d))."""
    return math.exp(-check_noise_level(t)) * check_points(mu, "mu")


def _centered(mu, mu_star, t):
    mu, mu_star = check_means(mu, mu_star)
    s = math.exp(-check_noise_level(t))
    a = s * (mu - mu_star)  # a_i = m_i - m*
    diff = s * (mu - mu[0])  # m_i - m_0, from the unscaled inputs (no cancellation of e^{-t} mu)
    return a, diff


def _weights_centered(y, a, diff):
    # logit_i - logit_0 = (m_i - m_0).(x - m*) - (m_i - m_0).(a_i + a_0)/2
    logits = y @ diff.T - 0.5 * np.einsum("ij,ij->i", diff, a + a[0])
    logits -= logits.max(axis=1, keepdims=True)
    w = np.exp(logits)
    w /= w.sum(axis=1, keepdims=True)
    return w


def softmax_weights(x, mu, t) -> np.ndarray:
    """w_i(x) for each row of ``x``: shape (N, n)."""
    mu = check_points(mu, "mu")
    m = scaled_means(mu, t)
    x = _check_x(x, m.shape[1])
    diff = math.exp(-float(t)) * (mu - mu[0])
    logits = x @ diff.T - 0.5 * np.einsum("ij,ij->i", diff, m + m[0])
    logits -= logits.max(axis=1, keepdims=True)
    w = np.exp(logits)
    return w / w.sum(axis=1, keepdims=True)


def score(x, mu, t) -> np.ndarray:
    """The student's score s_t(x) = sum_i w_i(x) m_i - x: shape (N, d)."""
    w = softmax_weights(x, mu, t)
    return w @ scaled_means(mu, t) - np.asarray(x, dtype=np.float64)


def loss_integrand(x, mu, mu_star, t) -> np.ndarray:
    """|s_t(x) - (m* - x)|^2 = |sum_i w_i m_i - m*|^2 at each row of x: shape (N,)."""
    a, diff = _centered(mu, mu_star, t)
    mstar = math.exp(-float(t)) * np.asarray(mu_star, dtype=np.float64)
    y = _check_x(x, a.shape[1]) - mstar
    w = _weights_centered(y, a, diff)
    v = w @ a
    return np.einsum("ij,ij->i", v, v)


def pathwise_grad_integrand(x, mu, mu_star, t) -> np.ndarray:
    """The pathwise integrand of dL_t/dm_i (scaled means): shape (N, n, d).

    Differentiating |v|^2 under the expectation, with a_i = m_i - m*,
    y = x - m*, v = sum_j w_j a_j and dw_j/da_i = w_j (delta_ij - w_i)(y - a_i):

        g_i(x) = 2 [ w_i v + w_i (v . (a_i - v)) (y - a_i) ].

    Its mean over x ~ q_t is the gradient (Lemma 2.2 / B.1 in pathwise form).
    """
    a, diff = _centered(mu, mu_star, t)
    mstar = math.exp(-float(t)) * np.asarray(mu_star, dtype=np.float64)
    y = _check_x(x, a.shape[1]) - mstar
    w = _weights_centered(y, a, diff)
    v = w @ a  # (N, d)
    s = v @ a.T - np.einsum("ij,ij->i", v, v)[:, None]  # v.(a_i - v): (N, n)
    g = w[:, :, None] * v[:, None, :] + (w * s)[:, :, None] * (y[:, None, :] - a[None, :, :])
    return 2.0 * g


def stein_grad_integrand(x, mu, mu_star, t) -> np.ndarray:
    """The Stein-form integrand of dL_t/dm_i printed in CLAIMS.md (with mu* = 0 after centring):

        2 [ w_i v + w_i sum_j w_j a_j a_j^T a_i - 2 w_i (v.a_i) v
            - 2 w_i sum_j w_j (v.a_j) a_j + 3 w_i |v|^2 v ].

    Equal to the pathwise integrand in expectation (Stein's lemma), not pointwise.
    """
    a, diff = _centered(mu, mu_star, t)
    mstar = math.exp(-float(t)) * np.asarray(mu_star, dtype=np.float64)
    y = _check_x(x, a.shape[1]) - mstar
    w = _weights_centered(y, a, diff)
    v = w @ a
    aa = a @ a.T  # a_j . a_i
    va = v @ a.T  # v . a_j: (N, n)
    vv = np.einsum("ij,ij->i", v, v)
    term2 = (w @ (aa[:, :, None] * a[:, None, :]).reshape(a.shape[0], -1)).reshape(-1, *a.shape)
    # term2[N, i, :] = sum_j w_j (a_j.a_i) a_j
    term4 = (w * va) @ a  # sum_j w_j (v.a_j) a_j: (N, d)
    g = (
        v[:, None, :]
        + term2
        - 2.0 * va[:, :, None] * v[:, None, :]
        - 2.0 * term4[:, None, :]
        + 3.0 * vv[:, None, None] * v[:, None, :]
    )
    return 2.0 * w[:, :, None] * g
