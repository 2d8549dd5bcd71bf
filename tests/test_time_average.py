"""The time-averaged loss L_bar = integral of lambda(t) L_t dt and its gradient
(:mod:`verify.engine.time_average`, ``verify.reference.loss_avg`` and friends).

* against a direct composite rule (Gauss-Legendre 20 points on 8 panels, the engine at
  tol 1e-13 at each node, its own error from the 4-panel rule): agreement within the summed
  error estimates, and the measured error below the estimate (honesty) at a loose tol;
* uniform weighting over a window of width 1e-9 is L_t at its midpoint;
* the gradient by finite differences: mpmath (Richardson, k = 1) and float64 (directional,
  k = 2), each with a negative control: the integral of lambda dL_t/dm (the factor e^{-t} of
  the unscaled gradient missing) is rejected by the same checker;
* descent on L_bar is the unscaled update through the one loop;
* bad input names its argument.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest

from verify import reference
from verify.checks.compare import GradientCheckError
from verify.checks.finite_differences import check_fd_float64, check_fd_mp
from verify.engine.backend import gauss_legendre, mp_backend
from verify.engine.time_average import weighting_function
from verify.simulate.averaged import averaged_descent
from verify.simulate.descent import gradient_descent

MU = np.array([[1.0, 0.3], [-0.7, 0.5], [0.2, -0.9]])  # n = 3, d = 2: k = 2
MU_STAR = np.array([0.2, -0.1])
WINDOW = (0.3, 1.5)
WEIGHTINGS = ["uniform", "noise-variance", lambda t: t * t]


def composite(fn, a, b, lam, panels, order=20):
    """sum over ``panels`` equal panels of the ``order``-point Gauss-Legendre rule of lam(t) fn(t)
    (fn returns (value, err)); returns (value, integrated node errors)."""
    x, w = gauss_legendre(order)
    edges = np.linspace(a, b, panels + 1)
    val = err = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        for xi, wi in zip(x, w):
            t = (lo + hi) / 2 + (hi - lo) / 2 * xi
            v, e = fn(t)
            val = val + wi * (hi - lo) / 2 * lam(t) * v
            err = err + wi * (hi - lo) / 2 * lam(t) * e
    return val, err


def composite_checked(mu, a, b, lam):
    """L_bar and dL_bar/dmu by the composite rule on 4 panels, the engine at tol 1e-13 at each
    node (1e-12: the sharper configurations hit the rounding floor at 1e-13); the error of each is |Q_4 - Q_2| plus the
    integrated node errors."""

    def fn(t):
        ev = reference.evaluate(mu, MU_STAR, t, tol=1e-12)
        return np.concatenate([[ev.loss], ev.grad.ravel()]), np.concatenate([[ev.loss_err], ev.grad_err.ravel()])

    v4, e4 = composite(fn, a, b, lam, 4)
    v2, _ = composite(fn, a, b, lam, 2)
    err = np.abs(v4 - v2) + e4
    return v4[0], err[0], v4[1:].reshape(mu.shape), err[1:].reshape(mu.shape)


@pytest.mark.parametrize("weighting", WEIGHTINGS, ids=["uniform", "noise-variance", "callable t^2"])
def test_loss_and_gradient_match_a_direct_composite_rule(weighting):
    lam = weighting_function(weighting, *WINDOW)
    L_ref, L_ref_err, G_ref, G_ref_err = composite_checked(MU, *WINDOW, lam)
    ev = reference.evaluate_avg(MU, MU_STAR, *WINDOW, weighting=weighting, tol=1e-11)
    # within the summed estimates, and each estimate within the requested tol
    assert abs(ev.loss - L_ref) <= ev.loss_err + L_ref_err
    assert np.all(np.abs(ev.grad - G_ref) <= ev.grad_err + G_ref_err)
    assert ev.loss_err <= 1e-11 * ev.loss
    assert ev.grad_err.max() <= 1e-11 * ev.scale
    # the comparison resolves the tolerance: the composite is good to 1e-12 relative
    assert L_ref_err <= 1e-12 * L_ref and G_ref_err.max() <= 1e-12 * ev.scale


def test_error_estimates_are_honest_at_a_loose_tolerance():
    """At tol = 1e-7 the adaptive rule stops after one bisection: the measured error (against the
    composite rule, whose own error is ~1e-15) must be below the estimate it reports (measured:
    loss 6.7e-13 vs estimate 2.4e-12, gradient 4.0e-12 vs 9.0e-12)."""
    mu = np.array([[1.8, 0.0], [-1.0, 1.2], [0.5, -1.5]])  # farther apart: L_t varies faster in t
    window = (0.5, 3.0)
    lam = weighting_function("uniform", *window)
    L_ref, L_ref_err, G_ref, G_ref_err = composite_checked(mu, *window, lam)
    ev = reference.evaluate_avg(mu, MU_STAR, *window, tol=1e-7)
    assert abs(ev.loss - L_ref) - L_ref_err <= ev.loss_err
    assert np.all(np.abs(ev.grad - G_ref) - G_ref_err <= ev.grad_err)
    assert ev.quad_err + ev.engine_err == pytest.approx(ev.loss_err, rel=1e-12)


def test_uniform_weighting_over_a_tiny_window_is_the_loss_at_its_midpoint():
    t, w = 1.0, 1e-9
    L_avg, e_avg = reference.loss_avg(MU, MU_STAR, t, t + w, error=True)
    L_mid, e_mid = reference.loss(MU, MU_STAR, t + w / 2, error=True)
    # the midpoint rule's error over the window is w^2 L''/24 ~ 1e-20: the estimates dominate
    assert abs(L_avg - L_mid) <= e_avg + e_mid
    G_avg, Ge_avg = reference.grad_avg(MU, MU_STAR, t, t + w, error=True)
    G_mid, Ge_mid = reference.grad(MU, MU_STAR, t + w / 2, error=True)
    assert np.all(np.abs(G_avg - G_mid) <= Ge_avg + Ge_mid)


# ---- the gradient by finite differences, with the missing e^{-t} as negative control ----------

MP_WINDOW = ("0.8", "1.0")
MP_CASE = ([["0.8"], ["-0.6"]], ["0.1"])  # n = 2, d = 1: k = 1, the engine's dps - 5 digits
_MP_LOSSES: dict = {}


def avg_loss_mp(mu, mu_star, t, *, dps):
    """loss_fn protocol of check_fd_mp (its t is unused: the window is fixed), cached."""
    key = (tuple(mpmath.nstr(x, dps + 5) for r in mu for x in r), dps)
    if key not in _MP_LOSSES:
        _MP_LOSSES[key] = reference.loss_avg_mp(mu, mu_star, *MP_WINDOW, weighting="noise-variance", dps=dps,
                                                error=True)
    return _MP_LOSSES[key]


def avg_grad_mp(mu, mu_star, t, *, dps):
    return reference.grad_avg_mp(mu, mu_star, *MP_WINDOW, weighting="noise-variance", dps=dps)


def avg_grad_without_decay_mp(mu, mu_star, t, *, dps):
    """Wrong: the integral of lambda(t) dL_t/dm (scaled), the factor e^{-t} missing (Gauss-Legendre
    14 points over the window: exact to far more digits than the control needs)."""
    with mpmath.workdps(dps + 10):
        a, b = (mpmath.mpf(x) for x in MP_WINDOW)
        lam = weighting_function("noise-variance", a, b, mp_backend(dps + 10))
        x, w = gauss_legendre(14, dps + 10)
        G = [[mpmath.mpf(0)] * len(mu_star) for _ in mu]
        for xi, wi in zip(x, w):
            t = (a + b) / 2 + (b - a) / 2 * xi
            Gs = reference.grad_scaled_mp(mu, mu_star, t, dps=dps + 5)
            G = [[g + wi * (b - a) / 2 * lam(t) * s for g, s in zip(gr, sr)] for gr, sr in zip(G, Gs)]
    return G


# dps 20: L_bar to ~1e-20 relative; with h = 1e-2, 5e-3, 2.5e-3 the extrapolated difference
# quotient's truncation is ~h^6 L^(7) ~ 1e-13 and the loss error / h ~ 1e-18, so 10 digits
# leave a margin of ~1e3 on both (the measured Richardson estimate is in the report).
FD = dict(dps=20, digits=10, h="1e-2", levels=3, directions="coordinates")


def test_gradient_by_mpmath_finite_differences():
    report = check_fd_mp(avg_loss_mp, avg_grad_mp, *MP_CASE, 0, **FD)
    assert report.details["fd_err"] < report.details["tolerance"]


def test_mpmath_finite_differences_reject_the_missing_decay_factor():
    with pytest.raises(GradientCheckError):
        check_fd_mp(avg_loss_mp, avg_grad_without_decay_mp, *MP_CASE, 0, **FD)


_F64_LOSSES: dict = {}


def _avg_loss(mu, mu_star, t, error=False):
    """loss_fn protocol of check_fd_float64 (t unused: the window is fixed), cached so that the
    negative control reuses the same loss evaluations."""
    key = np.asarray(mu, dtype=float).tobytes()
    if key not in _F64_LOSSES:
        _F64_LOSSES[key] = reference.loss_avg(mu, mu_star, *WINDOW, tol=1e-12, error=True)
    out = _F64_LOSSES[key]
    return out if error else out[0]


def _avg_grad(mu, mu_star, t, error=False):
    out = reference.grad_avg(mu, mu_star, *WINDOW, tol=1e-12, error=True)
    return out if error else out[0]


def _avg_grad_without_decay(mu, mu_star, t, error=False):
    lam = weighting_function("uniform", *WINDOW)
    return composite(lambda s: reference.grad_scaled(mu, mu_star, s, error=True), *WINDOW, lam, 4)


def test_gradient_by_float64_finite_differences_k2():
    check_fd_float64(_avg_loss, _avg_grad, MU, MU_STAR, 0.0, n_dirs=3)


def test_float64_finite_differences_reject_the_missing_decay_factor():
    with pytest.raises(GradientCheckError):
        check_fd_float64(_avg_loss, _avg_grad_without_decay, MU, MU_STAR, 0.0, n_dirs=3)


# ---- descent ------------------------------------------------------------------------------------


def test_descent_on_the_average_is_the_unscaled_update():
    mu0, mu_star = np.array([[1.0], [-0.5]]), np.array([0.2])  # k = 1: cheap at every node
    eta, steps = 0.3, 3
    run = averaged_descent(mu0, mu_star, *WINDOW, eta, steps, weighting="noise-variance", tol=1e-12)
    mu = mu0.copy()
    for _ in range(steps):
        G = reference.grad_avg(mu, mu_star, *WINDOW, weighting="noise-variance", tol=1e-12)
        mu = mu - eta * G
    # each step's gradient is good to 1e-12 of its scale (~1e-2): after 3 steps of eta 0.3 the
    # iterates agree to ~1e-14; 1e-12 absolute leaves a margin for the fast path's reused rule
    assert np.max(np.abs(run.mu - mu)) < 1e-12
    assert run.loss[-1] < run.loss[0]
    assert run.loss[0] == pytest.approx(reference.loss_avg(mu0, mu_star, *WINDOW, weighting="noise-variance"),
                                        rel=1e-11)


def test_descent_on_the_average_refuses_the_scaled_convention_and_a_noise_level():
    from verify.simulate.averaged import AveragedGradient

    with pytest.raises(ValueError, match="convention"):
        gradient_descent(MU, MU_STAR, 0.0, 0.1, 2, convention="scaled", source=AveragedGradient(*WINDOW))
    with pytest.raises(ValueError, match="t must be 0"):
        gradient_descent(MU, MU_STAR, 0.5, 0.1, 2, convention="unscaled", source=AveragedGradient(*WINDOW))


# ---- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("args,kwargs,name", [
    ((1.0, 1.0), {}, "t_max"),
    ((1.5, 0.5), {}, "t_max"),
    ((-0.1, 1.0), {}, "t_min"),
    ((0.1, float("inf")), {}, "t_max"),
    ((0.1, float("nan")), {}, "t_max"),
    ((0.1, 1.0), {"weighting": "log-uniform"}, "weighting"),
    ((0.1, 1.0), {"weighting": lambda t: -1.0}, "weighting"),
    ((0.1, 1.0), {"weighting": lambda t: 0.0}, "weighting"),
    ((0.1, 1.0), {"weighting": lambda t: float("nan")}, "weighting"),
    ((0.1, 1.0), {"weighting": lambda t: "x"}, "weighting"),
    ((0.1, 1.0), {"tol": 0.0}, "tol"),
])
def test_bad_input_names_the_argument(args, kwargs, name):
    with pytest.raises(ValueError, match=name):
        reference.loss_avg(MU, MU_STAR, *args, **kwargs)


def test_bad_means_name_the_argument():
    with pytest.raises(ValueError, match="mu"):
        reference.grad_avg(np.array([[np.nan, 0.0]]), MU_STAR, 0.1, 1.0)
    with pytest.raises(ValueError, match="t_min"):
        reference.loss_avg_mp(MP_CASE[0], MP_CASE[1], "-1", "1", dps=20)
    with pytest.raises(ValueError, match="weighting"):
        reference.loss_avg_mp(MP_CASE[0], MP_CASE[1], "0.1", "1", weighting="flat", dps=20)


def test_the_weightings_are_normalised():
    for w in ("uniform", "noise-variance", lambda t: math.exp(t)):
        lam = weighting_function(w, 0.2, 1.7)
        x, wt = gauss_legendre(30)
        assert sum(wi * 0.75 * lam(0.95 + 0.75 * xi) for xi, wi in zip(x, wt)) == pytest.approx(1, rel=1e-13)


def test_a_sharp_callable_weighting_is_normalised_to_the_working_precision():
    """The normalising integral of a callable weighting is computed to 10^-(dps - 5) on the mpmath
    path: lambda(t) = e^{-40 t} over [0, 1] at dps 30, against the closed form
    (1 - e^{-40}) / 40.  One Gauss-Legendre panel is not enough for this lambda, so a tolerance that
    accepts the first estimate (10^(dps - 5) instead of 10^-(dps - 5)) misses by 1e-7 and is
    rejected.  Tolerance 1e-24: the requested 1e-25 plus the rounding of the quotient at 30 digits."""
    with mpmath.workdps(30):
        lam = weighting_function(lambda t: mpmath.exp(-40 * t), "0", "1", mp_backend(30))
        exact = 40 / -mpmath.expm1(-40)  # 1 / integral of e^{-40 t} over [0, 1]
        assert abs(lam(mpmath.mpf(0)) / exact - 1) < mpmath.mpf("1e-24")


def test_the_loss_alone_reports_no_gradient_scale():
    """With with_grad=False there is no gradient, so no gradient scale: the field is 0 (not a
    made-up 1, which a reader would take for a measured scale), and the gradient fields are None."""
    out = reference.evaluate_avg([[0.4], [-0.3]], [0.0], 0.1, 1.0, with_grad=False)
    assert out.scale == 0.0 and out.grad is None and out.loss > 0


def test_engine_errors_over_half_the_tolerance_tighten_the_per_t_accuracy(monkeypatch):
    """When the engine's own errors, integrated over t, take more than half the tolerance, the
    per-t accuracy is tightened tenfold and the rule redone (a cancellation across t can make the
    average far smaller than its integrand).  Driven by an engine whose reported loss error is 3x
    its per-t tolerance times L_t (integrated: 3/4 of tol, over the half): the first pass asks tol/4,
    the redo tol/40, whose 3/40 fits, and the result is returned.  Rejects a redo that loosens the
    per-t accuracy (x 10) instead of tightening it, which never fits and is stopped here."""
    from dataclasses import replace

    from verify.engine import time_average

    asked = []
    real = time_average.population_expectations

    def inflated(red, *, tol, **kw):
        asked.append(float(tol))
        if len(asked) > 2000:
            raise RuntimeError("the per-t accuracy never fits")
        ex = real(red, tol=tol, **kw)
        return replace(ex, loss_err=3 * float(tol) * abs(float(ex.loss)))

    monkeypatch.setattr(time_average, "population_expectations", inflated)
    out = reference.evaluate_avg([[0.4], [-0.3]], [0.0], 0.1, 1.0, tol=1e-8, with_grad=False)
    assert sorted(set(asked), reverse=True) == [2.5e-9, 2.5e-10]
    assert out.loss_err <= 1e-8 * out.loss


def test_a_watch_that_is_not_callable_is_a_value_error_naming_it():
    """averaged_descent's ``watch``: a non-callable is refused before any step; a callable (the
    control) is called at every step."""
    mu0, star = np.array([[1.0], [-0.5]]), np.zeros(1)
    with pytest.raises(ValueError, match="watch must be callable"):
        averaged_descent(mu0, star, 0.1, 1.0, 0.1, 2, watch=3)
    seen = []
    averaged_descent(mu0, star, 0.1, 1.0, 0.1, 2, watch=lambda step, mu, record: seen.append(step))
    assert seen == [0, 1, 2]  # each step, and the final record at step 2


def test_mpmath_estimates_include_the_rounding_to_dps():
    """evaluate_avg_mp returns values rounded to dps digits; loss_err and grad_err cover that
    rounding (against dps = 40, plus its own estimate).  Negative control: the rule's and the
    engine's parts alone, quad_err + engine_err (what loss_err was), are below the loss's error."""
    mu, star, window = [["0.1"], ["0.1"]], ["0.7"], ("0.2", "0.5")
    ev = reference.evaluate_avg_mp(mu, star, *window, dps=20)
    ref = reference.evaluate_avg_mp(mu, star, *window, dps=40)
    err = abs(ev.loss - ref.loss) - ref.loss_err
    assert err <= ev.loss_err
    assert err > ev.quad_err + ev.engine_err
    for i in range(2):
        assert abs(ev.grad[i][0] - ref.grad[i][0]) - ref.grad_err[i][0] <= ev.grad_err[i][0]


# --- callable weightings that are not analytic (review 23) -------------------------------------
STEP_CASE = (np.array([[1.0, 0.5], [-0.7, 0.2]]), np.array([0.2, -0.1]))


def _split_reference(w, k):
    """The average of L_t under w over [0, 1] by Gauss-Legendre 30 on [0, k] and [k, 1] (w smooth on each)."""
    x, wt = gauss_legendre(30)

    def gl(f, a, b):
        return sum(wi * (b - a) / 2 * f((a + b) / 2 + (b - a) / 2 * xi) for xi, wi in zip(x, wt))

    def f(t):
        return w(t) * reference.loss(*STEP_CASE, t, tol=1e-13)

    return (gl(f, 0, k) + gl(f, k, 1)) / (gl(w, 0, k) + gl(w, k, 1))


def test_a_jumping_weighting_is_refused_and_a_kinked_one_keeps_its_estimate_honest():
    """A step weighting (1 on [0.3, 0.5]) came back with errors 2-2.5x its estimate, 2.3e-8 relative at
    tol 1e-8 (the rule in t's |Q_14 - Q_7| assumes an analytic weighting): it is refused, naming where
    it jumps (a bracket between two nodes halved JUMP_HALVINGS times keeps the jump's change).
    Control: a kink (|t - 0.37|) is accepted and its estimate covers the error (measured 0.19-0.5 of
    it) against Gauss-Legendre split at the kink."""
    with pytest.raises(ValueError, match=r"^weighting jumps near t = 0\.3, "):
        reference.evaluate_avg(*STEP_CASE, 0.0, 1.0, weighting=lambda t: 1.0 if 0.3 <= t <= 0.5 else 0.0, tol=1e-8)
    w = lambda t: abs(t - 0.37)  # noqa: E731
    ev = reference.evaluate_avg(*STEP_CASE, 0.0, 1.0, weighting=w, tol=1e-8, with_grad=False)
    assert abs(ev.loss - _split_reference(w, 0.37)) <= ev.loss_err <= 1e-8 * ev.loss


def test_a_weighting_the_rule_cannot_resolve_is_refused_with_what_to_do():
    """Small jumps passed a first check (how far the normaliser's rule narrowed), with errors 2.4-15x
    their estimates (1 + 1e-3 [t >= 0.37]: 1.0e-7 at tol 1e-8, review 23b): every jump is refused now,
    down to a relative 1e-12, and so is one on a bisection point (0.5: the loss's rule need not split
    there).  Support narrower than the nodes: refused as zero at every node (it said "its integral is
    0.0").  Controls: a cusp |t - 0.37|^(1/4) and a steep but smooth tanh(200 (t - 0.5)) are accepted."""
    for h, k in ((1e-3, 0.37), (1e-12, 0.3), (1.0, 0.5)):
        with pytest.raises(ValueError, match=rf"^weighting jumps near t = {k:g}, .*each smooth piece"):
            weighting_function(lambda t: 1.0 + h * (t >= k), 0.0, 1.0)
    with pytest.raises(ValueError, match=r"^weighting is not normalisable over \[0, 1\]: it is 0 at every node"):
        weighting_function(lambda t: 1.0 if 0.3 <= t <= 0.31 else 0.0, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"^weighting: the rule in t could not normalise it on \[0, 1\] to 1e-13"):
        weighting_function(lambda t: 1.0 + math.sin(1e4 * t), 0.0, 1.0)  # 1600 periods: beyond 64 intervals
    weighting_function(lambda t: abs(t - 0.37) ** 0.25, 0.0, 1.0)
    weighting_function(lambda t: 1.0 + math.tanh(200 * (t - 0.5)), 0.0, 1.0)


def test_the_normalisers_error_is_in_the_estimate():
    """The normalising integral of a callable weighting has an error (its estimate, ~1e-14 relative);
    L_bar = I / T carries it, and the rule in t's part of the estimate now adds it (it was dropped)."""
    w = lambda t: math.exp(-3 * t)  # noqa: E731
    rel = weighting_function(w, 0.0, 1.0).rel_err
    assert 0 < rel < 1e-13
    ev = reference.evaluate_avg(*STEP_CASE, 0.0, 1.0, weighting=w, tol=1e-8, with_grad=False)
    assert ev.quad_err >= rel * abs(ev.loss)
    assert not hasattr(weighting_function("uniform", 0.0, 1.0), "rel_err")  # closed form: nothing to add
