"""The public reference: the population loss L_t and its gradient, with error estimates.

This is the contract that the claims, the gate and outside implementations
are compared with.  Every function takes

* ``mu``: shape (n, d), the unscaled learnable means mu_i;
* ``mu_star``: shape (d,), the unscaled ground truth mu*;
* ``t``: the noise level, t >= 0;

and computes the scaled means m_i = e^{-t} mu_i, m* = e^{-t} mu* inside.

    L_t(mu) = E_{x ~ N(m*, I_d)} | sum_i w_i(x) m_i - m* |^2      (no factor 1/2)

* :func:`grad` is dL_t/dmu_i (unscaled), :func:`grad_scaled` is dL_t/dm_i;
  ``grad = e^{-t} * grad_scaled``.
* ``tol`` is a relative, normwise accuracy: the loss to ``tol * L``, the
  gradient to ``tol`` times :func:`verify.engine.tolerances.gradient_scale`,
  max(max_ij |grad_ij|, L / max(1, A)) with A = max_i |m_i - m*| (so at a
  stationary point, relative to the loss over the means' scale, which has a
  gradient's units), in the scaled convention.
  Where float64 rounding alone exceeds that (far from m* with the means
  close together, the integrand cancels), AccuracyError says so at once.  When the quadrature
  cannot certify it, :class:`AccuracyError` is raised; no inaccurate number
  is returned.
* ``error=True`` returns ``(value, absolute error estimate)``, the estimate
  of the same shape as the value; :func:`evaluate` returns both and more.

The accuracy reached is measured by ``tests/test_reference_accuracy.py`` and
``verify selfcheck``; proofs_map.md gives the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from .backend import mp_backend
from .expectation import population_expectations, reduce_float, reduce_mp
from .mixture import mixture_expectations, reduce_mixture
from .time_average import Averaged, averaged_expectations, check_window, weighting_function
from .tolerances import DEFAULT_DPS, DEFAULT_TOL, MIN_TOL, AccuracyError
from .validation import check_dps, check_flag, check_means, check_mixture, check_mp_tol, check_noise_level, check_tol, \
    means_mp, mixture_mp

__all__ = [
    "loss", "grad", "grad_scaled", "evaluate", "loss_mp", "grad_mp", "grad_scaled_mp", "evaluate_mp",
    "Evaluation", "loss_avg", "grad_avg", "evaluate_avg", "loss_avg_mp", "grad_avg_mp", "evaluate_avg_mp",
    "Averaged", "loss_mix", "grad_mix", "evaluate_mix", "loss_mix_mp", "grad_mix_mp", "evaluate_mix_mp",
    "AccuracyError", "DEFAULT_TOL", "MIN_TOL", "DEFAULT_DPS", "warm_up",
]


@dataclass
class Evaluation:
    """Loss and gradients at one configuration, each with an absolute error estimate."""

    loss: object
    loss_err: object
    grad: object  # dL/dmu (unscaled), (n, d)
    grad_err: object
    grad_scaled: object  # dL/dm (scaled), (n, d)
    grad_scaled_err: object
    k: int  # dimension of the Gaussian integral (span of the mean differences)
    nodes: int  # integrand evaluations used
    t: float


#: a float64 result below the normal range errs by up to 2^-1075 a rounding, absolutely
_SUBNORMAL = 2.0**-1070


def _unscaled(s, Gs, Gse):
    """dL/dmu = e^-t dL/dm, from the scaled gradient ``Gs`` (within ``Gse``) and s = e^-t as float64
    computed it, with an absolute estimate that also covers the unscaling's own rounding.

    With u = eps / 2 the unit roundoff: s = e^-t (1 + d1), |d1| <= 2u (libm's exp within an ulp, as
    in the k = 0 closed form of :func:`.expectation.population_expectations`), and G = s Gs rounds
    once more, (1 + d2) with |d2| <= u.  Against the exact e^-t G* (|Gs - G*| <= Gse):
    |G - e^-t G*| <= e^-t Gse + e^-t |Gs| |(1 + d1)(1 + d2) - 1|, where e^-t = s / (1 + d1) < s (1 + 1.01 eps)
    and e^-t |Gs| = |G| / ((1 + d1)(1 + d2)), so the second term is below 3.01u |G|.  The estimate
    computed below rounds too: s * Gse, its factor 1 + 4 eps (exact: 1 + 2^-50) and the two sums each
    lower the first term by at most u, (1 - u)^4 (1 + 8u) > 1 + 1.01 eps; 2 eps |G| is exact and keeps
    4u (1 - u)^2 > 3.01u |G| through the sums.  Below the normal range each of the six roundings
    (with G's) errs by up to 2^-1075 absolutely instead: 2^-1070 covers them.
    """
    G = s * Gs
    eps = np.finfo(np.float64).eps
    return G, s * Gse * (1 + 4 * eps) + 2 * eps * np.abs(G) + _SUBNORMAL


def evaluate(mu, mu_star, t, *, tol=DEFAULT_TOL, with_grad: bool = True) -> Evaluation:
    """Loss, gradient (scaled and unscaled) and their error estimates, in float64."""
    check_flag(with_grad, "with_grad")
    mu, mu_star = check_means(mu, mu_star)
    t = check_noise_level(t)
    tol = check_tol(tol, floor=MIN_TOL)
    red = reduce_float(mu, mu_star, t)
    ex = population_expectations(red, tol=tol, with_grad=with_grad)
    L, Le = float(ex.loss), float(ex.loss_err)
    if not with_grad:
        return Evaluation(L, Le, None, None, None, None, ex.k, ex.nodes, t)
    Gs = np.asarray(ex.grad_scaled, dtype=np.float64)
    Gse = np.asarray(ex.grad_scaled_err, dtype=np.float64)
    G, Ge = _unscaled(red.scale, Gs, Gse)
    return Evaluation(L, Le, G, Ge, Gs, Gse, ex.k, ex.nodes, t)


def warm_up() -> None:
    """Load the engine's compiled code now.  A fresh process otherwise pays it (numba loading its
    cache, seconds on a loaded machine: docs/ENGINE_API.md) inside its first evaluation with a sharp
    axis, which a caller timing each call (the gate's worker) would count against that call."""
    evaluate(np.array([[0.0, 0.0], [2.0, 3.0], [-2.0, 2.5]]), np.zeros(2), 0.0, tol=1e-6)


def loss(mu, mu_star, t, *, tol=DEFAULT_TOL, error: bool = False):
    """L_t (float); with ``error=True``, ``(L_t, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate(mu, mu_star, t, tol=tol, with_grad=False)
    return (ev.loss, ev.loss_err) if error else ev.loss


def grad(mu, mu_star, t, *, tol=DEFAULT_TOL, error: bool = False):
    """dL_t/dmu_i, shape (n, d); with ``error=True``, ``(grad, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate(mu, mu_star, t, tol=tol)
    return (ev.grad, ev.grad_err) if error else ev.grad


def grad_scaled(mu, mu_star, t, *, tol=DEFAULT_TOL, error: bool = False):
    """dL_t/dm_i with m_i = e^{-t} mu_i (same unscaled inputs), shape (n, d)."""
    check_flag(error, "error")
    ev = evaluate(mu, mu_star, t, tol=tol)
    return (ev.grad_scaled, ev.grad_scaled_err) if error else ev.grad_scaled


# -- mpmath ---------------------------------------------------------------------


#: working digits added to the requested dps inside every mpmath evaluation
MP_GUARD = 10


def _mp_unscaled(s, Gs, Gse):
    """:func:`_unscaled` at mpmath's working precision (call inside it; no subnormal range): s Gs,
    and s Gse (1 + 4 eps) + 2 eps |s Gs| with that precision's eps (the same derivation, e^-t from
    mpmath within an ulp)."""
    eps = mpmath.mp.eps
    G = [[s * x for x in r] for r in Gs]
    return G, [[s * e * (1 + 4 * eps) + 2 * eps * abs(g) for e, g in zip(re, rg)] for re, rg in zip(Gse, G)]


def _rounded(value, err, dps: int):
    """``value`` rounded to ``dps`` digits, and its estimate: ``err`` plus what that rounding
    changed, rounded up to ``dps`` digits.  (Call inside the working precision: err + |value - v|
    is formed there, losing at most its ulp, and the factor 1 + 2 eps at dps digits, exact, outweighs
    both that and the last rounding to nearest, which loses at most eps / 2.)"""
    value, err = mpmath.mpf(value), mpmath.mpf(err)
    with mpmath.workdps(dps):
        v = +value
    e = err + abs(value - v)
    with mpmath.workdps(dps):
        return v, +(e * (1 + 2 * mpmath.mp.eps))


def _rounded_grid(values, errs, dps: int):
    pairs = [[_rounded(v, e, dps) for v, e in zip(rv, re)] for rv, re in zip(values, errs)]
    return [[v for v, _ in r] for r in pairs], [[e for _, e in r] for r in pairs]


def _t_mp(t, name="t"):
    if isinstance(t, str):
        try:
            t = mpmath.mpf(t)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {t!r}") from None
    check_noise_level(t, name)
    return mpmath.mpf(t)


def evaluate_mp(mu, mu_star, t, *, dps: int = DEFAULT_DPS, tol=None, with_grad: bool = True) -> Evaluation:
    """As :func:`evaluate`, in mpmath at ``dps`` working digits.

    ``tol`` defaults to 10^-(dps - 5).  Inputs may be nested sequences of
    mpf, str, int or float; strings are parsed at the working precision, so
    exponentially small numbers such as '1e-868000' keep their value.
    Outputs are mpf and nested lists of mpf, rounded back to ``dps`` digits; each estimate
    includes that rounding.
    """
    check_flag(with_grad, "with_grad")
    dps = check_dps(dps)
    guard = MP_GUARD
    with mpmath.workdps(dps + guard):
        tol_v = check_mp_tol(tol, dps)
        m, s = means_mp(mu, mu_star)
        tt = _t_mp(t)
        red = reduce_mp(m, s, tt)
        ex = population_expectations(red, tol=tol_v, backend=mp_backend(dps + guard), with_grad=with_grad)
        L, Le = _rounded(ex.loss, ex.loss_err, dps)
        if not with_grad:
            return Evaluation(L, Le, None, None, None, None, ex.k, ex.nodes, float(tt))
        Gs, Gse = [list(r) for r in ex.grad_scaled], [list(r) for r in ex.grad_scaled_err]
        G, Ge = _rounded_grid(*_mp_unscaled(red.scale, Gs, Gse), dps)
        Gs, Gse = _rounded_grid(Gs, Gse, dps)
    return Evaluation(L, Le, G, Ge, Gs, Gse, ex.k, ex.nodes, float(tt))


def loss_mp(mu, mu_star, t, *, dps: int = DEFAULT_DPS, tol=None, error: bool = False):
    """L_t as an mpf; with ``error=True``, ``(L_t, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate_mp(mu, mu_star, t, dps=dps, tol=tol, with_grad=False)
    return (ev.loss, ev.loss_err) if error else ev.loss


def grad_mp(mu, mu_star, t, *, dps: int = DEFAULT_DPS, tol=None, error: bool = False):
    """dL_t/dmu_i as n lists of d mpf; with ``error=True``, ``(grad, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate_mp(mu, mu_star, t, dps=dps, tol=tol)
    return (ev.grad, ev.grad_err) if error else ev.grad


def grad_scaled_mp(mu, mu_star, t, *, dps: int = DEFAULT_DPS, tol=None, error: bool = False):
    """dL_t/dm_i as n lists of d mpf; with ``error=True``, ``(grad, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate_mp(mu, mu_star, t, dps=dps, tol=tol)
    return (ev.grad_scaled, ev.grad_scaled_err) if error else ev.grad_scaled


# -- the time-averaged loss (verify.engine.time_average) ---------------------------------------
#
# L_bar(mu) = integral of lambda(t) L_t(mu) dt over [t_min, t_max], a function of the unscaled
# means; weighting "uniform", "noise-variance" (lambda ~ 1 - e^{-2t}) or a callable, normalised
# over the window.  grad_avg is dL_bar/dmu = integral of lambda(t) e^{-t} dL_t/dm dt.  tol is
# relative and normwise as for loss/grad; the error estimates add the rule in t's to the
# engine's (Averaged.quad_err and Averaged.engine_err split the loss's; the mpmath functions' loss_err
# adds the rounding of the value to dps digits).


def evaluate_avg(mu, mu_star, t_min, t_max, *, weighting="uniform", tol=DEFAULT_TOL,
                 with_grad: bool = True) -> Averaged:
    """L_bar and dL_bar/dmu (float64) with error estimates: an :class:`Averaged`."""
    check_flag(with_grad, "with_grad")
    mu, mu_star = check_means(mu, mu_star)
    a, b = check_window(t_min, t_max)
    tol = check_tol(tol, floor=MIN_TOL)
    lam = weighting_function(weighting, a, b)
    out = averaged_expectations(mu, mu_star, a, b, lam, tol=tol, with_grad=with_grad)
    out.loss, out.loss_err = float(out.loss), float(out.loss_err)
    out.quad_err, out.engine_err, out.scale = float(out.quad_err), float(out.engine_err), float(out.scale or 0)
    if with_grad:
        out.grad, out.grad_err = out.grad.astype(float), out.grad_err.astype(float)
    return out


def loss_avg(mu, mu_star, t_min, t_max, *, weighting="uniform", tol=DEFAULT_TOL, error: bool = False):
    """L_bar (float); with ``error=True``, ``(L_bar, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate_avg(mu, mu_star, t_min, t_max, weighting=weighting, tol=tol, with_grad=False)
    return (ev.loss, ev.loss_err) if error else ev.loss


def grad_avg(mu, mu_star, t_min, t_max, *, weighting="uniform", tol=DEFAULT_TOL, error: bool = False):
    """dL_bar/dmu_i (unscaled), shape (n, d); with ``error=True``, ``(grad, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate_avg(mu, mu_star, t_min, t_max, weighting=weighting, tol=tol)
    return (ev.grad, ev.grad_err) if error else ev.grad


def evaluate_avg_mp(mu, mu_star, t_min, t_max, *, weighting="uniform", dps: int = DEFAULT_DPS, tol=None,
                    with_grad: bool = True) -> Averaged:
    """As :func:`evaluate_avg` in mpmath at ``dps`` digits (tol defaults to 10^-(dps - 5)); a
    callable weighting is called with mpf arguments.  Values are mpf, gradients n lists of d mpf."""
    check_flag(with_grad, "with_grad")
    dps = check_dps(dps)
    guard = MP_GUARD
    with mpmath.workdps(dps + guard):
        tol_v = check_mp_tol(tol, dps)
        m, s = means_mp(mu, mu_star)
        a, b = _t_mp(t_min, "t_min"), _t_mp(t_max, "t_max")
        check_window(a, b)
        backend = mp_backend(dps + guard)
        lam = weighting_function(weighting, a, b, backend)
        out = averaged_expectations(m, s, a, b, lam, tol=tol_v, backend=backend, with_grad=with_grad)
        # the estimates include the rounding to dps digits (loss_err then exceeds quad_err + engine_err by it)
        out.loss, out.loss_err = _rounded(out.loss, out.loss_err, dps)
        if with_grad:
            out.grad, out.grad_err = _rounded_grid(out.grad, out.grad_err, dps)
    with mpmath.workdps(dps):
        out.quad_err, out.engine_err = +out.quad_err, +out.engine_err
        if with_grad:
            out.scale = +out.scale
    return out


def loss_avg_mp(mu, mu_star, t_min, t_max, *, weighting="uniform", dps: int = DEFAULT_DPS, tol=None,
                error: bool = False):
    """L_bar as an mpf; with ``error=True``, ``(L_bar, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate_avg_mp(mu, mu_star, t_min, t_max, weighting=weighting, dps=dps, tol=tol, with_grad=False)
    return (ev.loss, ev.loss_err) if error else ev.loss


def grad_avg_mp(mu, mu_star, t_min, t_max, *, weighting="uniform", dps: int = DEFAULT_DPS, tol=None,
                error: bool = False):
    """dL_bar/dmu_i as n lists of d mpf; with ``error=True``, ``(grad, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate_avg_mp(mu, mu_star, t_min, t_max, weighting=weighting, dps=dps, tol=tol)
    return (ev.grad, ev.grad_err) if error else ev.grad


# -- mixture ground truths (verify.engine.mixture) ---------------------------------------------
#
# x ~ sum_k pi_k N(mu*_k, I): at noise t, p*_t = sum_k pi_k N(e^{-t} mu*_k, I) and
# L_t = E_{p*_t} |s_theta - grad log p*_t|^2 (no factor 1/2).  mu_stars (K, d), weights (K,) > 0
# summing to 1.  The Evaluation's k is the dimension of the span of all n + K points' differences.


def evaluate_mix(mu, mu_stars, weights, t, *, tol=DEFAULT_TOL, with_grad: bool = True) -> Evaluation:
    """L_t and its gradients for a mixture ground truth, float64, as an :class:`Evaluation`."""
    check_flag(with_grad, "with_grad")
    mu, mu_stars, w = check_mixture(mu, mu_stars, weights)
    t = check_noise_level(t)
    tol = check_tol(tol, floor=MIN_TOL)
    comps, sc = reduce_mixture(mu, mu_stars, w, t)
    ex = mixture_expectations(comps, w, tol=tol, with_grad=with_grad)
    L, Le = float(ex.loss), float(ex.loss_err)
    if not with_grad:
        return Evaluation(L, Le, None, None, None, None, ex.k, ex.nodes, t)
    Gs = np.asarray(ex.grad_scaled, dtype=float)
    Gse = np.asarray(ex.grad_scaled_err, dtype=float)
    G, Ge = _unscaled(sc, Gs, Gse)
    return Evaluation(L, Le, G, Ge, Gs, Gse, ex.k, ex.nodes, t)


def loss_mix(mu, mu_stars, weights, t, *, tol=DEFAULT_TOL, error: bool = False):
    """L_t against the mixture (float); with ``error=True``, ``(L_t, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate_mix(mu, mu_stars, weights, t, tol=tol, with_grad=False)
    return (ev.loss, ev.loss_err) if error else ev.loss


def grad_mix(mu, mu_stars, weights, t, *, tol=DEFAULT_TOL, error: bool = False):
    """dL_t/dmu_i (unscaled) against the mixture, shape (n, d); with ``error=True``, ``(grad, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate_mix(mu, mu_stars, weights, t, tol=tol)
    return (ev.grad, ev.grad_err) if error else ev.grad


def evaluate_mix_mp(mu, mu_stars, weights, t, *, dps: int = DEFAULT_DPS, tol=None,
                    with_grad: bool = True) -> Evaluation:
    """As :func:`evaluate_mix` in mpmath at ``dps`` digits (tol defaults to 10^-(dps - 5))."""
    check_flag(with_grad, "with_grad")
    dps = check_dps(dps)
    guard = MP_GUARD
    with mpmath.workdps(dps + guard):
        tol_v = check_mp_tol(tol, dps)
        m, s, w = mixture_mp(mu, mu_stars, weights)
        tt = _t_mp(t)
        backend = mp_backend(dps + guard)
        comps, sc = reduce_mixture(m, s, w, tt, backend)
        ex = mixture_expectations(comps, w, tol=tol_v, backend=backend, with_grad=with_grad)
        L, Le = _rounded(ex.loss, ex.loss_err, dps)
        if not with_grad:
            return Evaluation(L, Le, None, None, None, None, ex.k, ex.nodes, float(tt))
        Gs, Gse = [list(r) for r in ex.grad_scaled], [list(r) for r in ex.grad_scaled_err]
        G, Ge = _rounded_grid(*_mp_unscaled(sc, Gs, Gse), dps)
        Gs, Gse = _rounded_grid(Gs, Gse, dps)
    return Evaluation(L, Le, G, Ge, Gs, Gse, ex.k, ex.nodes, float(tt))


def loss_mix_mp(mu, mu_stars, weights, t, *, dps: int = DEFAULT_DPS, tol=None, error: bool = False):
    """L_t against the mixture as an mpf; with ``error=True``, ``(L_t, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate_mix_mp(mu, mu_stars, weights, t, dps=dps, tol=tol, with_grad=False)
    return (ev.loss, ev.loss_err) if error else ev.loss


def grad_mix_mp(mu, mu_stars, weights, t, *, dps: int = DEFAULT_DPS, tol=None, error: bool = False):
    """dL_t/dmu_i against the mixture as n lists of d mpf; with ``error=True``, ``(grad, abs_err)``."""
    check_flag(error, "error")
    ev = evaluate_mix_mp(mu, mu_stars, weights, t, dps=dps, tol=tol)
    return (ev.grad, ev.grad_err) if error else ev.grad
