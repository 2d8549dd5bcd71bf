"""The engine's loss and gradient in the protocols of the checks, and deliberately wrong
variants that every check must reject (its negative controls).

:data:`wrong_variants` keys: "cubic_dropped" (gradient = e^{-t} 2 E[w_i v], the gradient-EM term
only), "half_loss" (a loss with a factor 1/2, paired with the correct gradient),
"scaled_as_unscaled" (dL/dm passed as dL/dmu), "double_scaled" (e^{-2t} dL/dm).
"""

from __future__ import annotations

import math
from typing import Callable

import mpmath
import numpy as np

from verify.engine.model import softmax_weights
from verify.engine.reference import grad_mp, grad_scaled, grad_scaled_mp, loss, loss_mp

from .compare import TOLERANCES
from .stein import expectation_line_mp, gauss_hermite_expectation, memoised

__all__ = ["reference_loss_mp", "reference_grad_mp", "wrong_variants"]


def reference_loss_mp(mu, mu_star, t, *, dps=50):
    """``verify.engine.reference.loss_mp`` with its error estimate: the loss_fn protocol of :func:`check_fd_mp`."""
    return loss_mp(mu, mu_star, t, dps=dps, error=True)


def reference_grad_mp(mu, mu_star, t, *, dps=50):
    """``verify.engine.reference.grad_mp`` (dL/dmu, unscaled): the grad_fn protocol of :func:`check_fd_mp`."""
    return grad_mp(mu, mu_star, t, dps=dps)


def _half_loss_mp(mu, mu_star, t, *, dps=50):
    L, e = reference_loss_mp(mu, mu_star, t, dps=dps)
    return L / 2, e / 2


def _half_loss(mu, mu_star, t, error=False, **kw):
    L, e = loss(mu, mu_star, t, error=True, **kw)
    return (L / 2, e / 2) if error else L / 2


def _scaled_as_unscaled(mu, mu_star, t, **kw):
    return grad_scaled(mu, mu_star, t, **kw)


def _double_scaled(mu, mu_star, t, **kw):
    out = grad_scaled(mu, mu_star, t, **kw)
    f = math.exp(-2 * float(t))
    if isinstance(out, tuple):
        return f * out[0], f * out[1]
    return f * out


def _grad_scaled_mp(mu, mu_star, t, **kw):
    return memoised("grad_scaled_mp", grad_scaled_mp, mu, mu_star, t, **kw)


def _scaled_as_unscaled_mp(mu, mu_star, t, **kw):
    return _grad_scaled_mp(mu, mu_star, t, **kw)


def _double_scaled_mp(mu, mu_star, t, dps=50, **kw):
    G = _grad_scaled_mp(mu, mu_star, t, dps=dps, **kw)
    with mpmath.workdps(dps):
        f = mpmath.exp(-2 * mpmath.mpf(t))
        return [[f * x for x in r] for r in G]


def _em_only_mp(mu, mu_star, t, dps=50, **kw):
    """e^{-t} * 2 E[w_i v]: the gradient with the cubic terms dropped (k <= 1)."""
    G, _ = expectation_line_mp(mu, mu_star, t, dps=dps, which="em")
    with mpmath.workdps(dps):
        f = mpmath.exp(-mpmath.mpf(t))
        return [[f * x for x in r] for r in G]


def _em_only(mu, mu_star, t, error=False, **kw):
    """e^{-t} * 2 E[w_i v] in float64 (Gauss-Hermite on R^d, d <= 3): the cubic terms dropped.
    Its error estimate is the difference of two orders."""
    def em(x, mu_, ms_, t_):
        w = softmax_weights(x, mu_, t_)
        a = math.exp(-t_) * (np.asarray(mu_) - np.asarray(ms_))
        v = w @ a
        return 2.0 * w[:, :, None] * v[:, None, :]

    o1, o2 = TOLERANCES["float64"]["gh_orders"]
    g1 = gauss_hermite_expectation(em, np.asarray(mu, float), np.asarray(mu_star, float), t, o1)
    g2 = gauss_hermite_expectation(em, np.asarray(mu, float), np.asarray(mu_star, float), t, o2)
    f = math.exp(-t)
    return (f * g2, f * np.abs(g2 - g1)) if error else f * g2


#: Deliberately wrong implementations; every check must reject each of them at t > 0.
#: Keys: "cubic_dropped" (gradient = e^{-t} 2 E[w_i v], the gradient-EM term only),
#: "half_loss" (a loss with a factor 1/2, paired with the correct gradient),
#: "scaled_as_unscaled" (dL/dm passed as dL/dmu), "double_scaled" (e^{-2t} dL/dm).
#: Each entry: {"float64": fn, "mpmath": fn}; loss variants return (value, err).
wrong_variants: dict[str, dict[str, Callable]] = {
    "cubic_dropped": {"float64": _em_only, "mpmath": _em_only_mp},
    "half_loss": {"float64": _half_loss, "mpmath": _half_loss_mp},
    "scaled_as_unscaled": {"float64": _scaled_as_unscaled, "mpmath": _scaled_as_unscaled_mp},
    "double_scaled": {"float64": _double_scaled, "mpmath": _double_scaled_mp},
}
