"""Gradient descent (verify.simulate.descent): step conventions, the reused-rule fast path, supplied gradients."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from verify.simulate import descent as dynamics
from verify.testing import strategies
from verify.simulate.descent import gradient_descent, reporting


@given(t=st.floats(0.05, 2.0), eta=st.floats(0.01, 0.3), steps=st.integers(1, 6))
def test_single_mean_closed_form_both_conventions(t, eta, steps):
    """n = 1: L = |a|^2 with a = e^{-t}(mu - mu*), so dL/dm = 2a and
    scaled:   a <- (1 - 2 eta) a;    unscaled: a <- (1 - 2 eta e^{-2t}) a.
    Negative control: each convention's factor does not fit the other's run."""
    mu0, star = np.array([[1.5, -0.5]]), np.array([0.2, 0.1])
    a0 = math.exp(-t) * (mu0[0] - star)
    for conv, factor, wrong in [("scaled", 1 - 2 * eta, 1 - 2 * eta * math.exp(-2 * t)),
                                ("unscaled", 1 - 2 * eta * math.exp(-2 * t), 1 - 2 * eta)]:
        tr = gradient_descent(mu0, star, t, eta, steps, convention=conv)
        a = math.exp(-t) * (tr.mu[0] - star)
        np.testing.assert_allclose(a, factor**steps * a0, rtol=1e-13, atol=1e-15)
        assert not np.allclose(a, wrong**steps * a0, rtol=1e-6, atol=0)


def test_records_and_error_estimates_along_the_run():
    mu0 = np.array([[0.0, 0.0], [1.0, 0.5], [2.0, -0.4]])
    tr = gradient_descent(mu0, np.zeros(2), 0.2, 0.1, 20, record_every=5, tol=1e-10)
    assert list(tr.steps) == [0, 5, 10, 15, 20]
    assert tr.distances.shape == (5, 3) and tr.mu_history.shape == (5, 3, 2)
    assert np.all(tr.loss_err <= 1e-10 * tr.loss)
    assert np.all(tr.grad_rel_err <= 1e-10)
    assert np.all(np.diff(tr.loss) < 0)  # a small step decreases the loss


def test_reused_rule_matches_full_evaluations():
    """Between verifications the quadrature rule of the last verified step is reused without an
    estimate.  Over 60 steps the run must agree with one that verifies every step, to the
    accuracy the gradients were requested at (1e-10 relative, propagated over 60 small steps)."""
    rng = np.random.default_rng(4)
    mu0 = np.array([[4.0, 0.0], [5.0, 0.0], [6.0, 0.0]]) + 0.05 * rng.standard_normal((3, 2))
    a = gradient_descent(mu0, np.zeros(2), 0.0, 0.02, 60, record_every=60, verify_every=30)
    b = gradient_descent(mu0, np.zeros(2), 0.0, 0.02, 60, record_every=60, verify_every=1)
    scale = np.max(np.abs(mu0))
    assert np.max(np.abs(a.mu - b.mu)) <= 60 * 0.02 * 1e-10 * 100 * scale
    # negative control: a run with a slightly different step is distinguishable at that level
    c = gradient_descent(mu0, np.zeros(2), 0.0, 0.02 * (1 + 1e-6), 60, record_every=60, verify_every=1)
    assert np.max(np.abs(c.mu - b.mu)) > 60 * 0.02 * 1e-10 * 100 * scale


def test_record_at_records_exactly_the_listed_steps_and_the_ends():
    mu0 = np.array([[0.0, 0.0], [1.0, 0.5], [2.0, -0.4]])
    a = gradient_descent(mu0, np.zeros(2), 0.2, 0.1, 20, record_at=[1, 2, 4, 8, 16])
    assert list(a.steps) == [0, 1, 2, 4, 8, 16, 20]
    # the same run recorded every step passes through the same points (same nodes at recorded
    # steps; in between the reused rule, which agrees to the requested 1e-10, see above):
    # 20 steps x eta e^t (0.12) x 1e-10 x |grad| (< 2) ~ 5e-10
    b = gradient_descent(mu0, np.zeros(2), 0.2, 0.1, 20, record_every=1)
    np.testing.assert_allclose(a.mu_history, b.mu_history[a.steps], rtol=0, atol=1e-9)
    # negative control: a different schedule does not line up with these records
    assert not np.allclose(a.mu_history[1:-1], b.mu_history[[2, 3, 5, 9, 17]], rtol=0, atol=1e-6)


def test_grad_fn_runs_evaluate_the_reference_only_at_recorded_steps(monkeypatch):
    # with grad_fn the reference is needed only for the recorded loss; a wrong grad_fn is
    # followed (the run differs from the exact one), so it really is the gradient used
    from verify.engine import reference

    evaluations, grad_calls = [], []
    engine = dynamics.population_expectations
    monkeypatch.setattr(dynamics, "population_expectations",
                        lambda *a, **k: evaluations.append(1) or engine(*a, **k))

    def exact(mu, ms, t):
        grad_calls.append(1)
        return reference.grad(mu, ms, t)

    mu0 = np.array([[0.0, 0.0], [1.0, 0.5], [2.0, -0.4]])
    a = gradient_descent(mu0, np.zeros(2), 0.2, 0.1, 20, record_at=[10], grad_fn=exact)
    assert (len(evaluations), len(grad_calls)) == (3, 20)  # steps 0, 10, 20; 20 updates
    evaluations.clear()
    b = gradient_descent(mu0, np.zeros(2), 0.2, 0.1, 20, record_at=[10])
    assert len(evaluations) == 21
    # 20 steps x eta e^t (0.12) x 1e-10 relative gradient error x |grad| (< 2) ~ 5e-10
    np.testing.assert_allclose(a.mu, b.mu, rtol=0, atol=1e-9)
    c = gradient_descent(mu0, np.zeros(2), 0.2, 0.1, 20, record_at=[10],
                         grad_fn=lambda mu, ms, t: 0.5 * reference.grad(mu, ms, t))
    assert np.max(np.abs(c.mu - b.mu)) > 1e-3


@given(strategies.configurations(n=(2, 3), d=1, max_offset=2.0, max_distance=3.0, max_t=1.0))
def test_loss_never_increases_with_a_small_step(cfg):
    """With eta small against the curvature (|Hessian| <= O(amax^2 + 1)), each step decreases L."""
    amax = max(1.0, float(np.max(np.abs(cfg.mu - cfg.mu_star))) * math.exp(-cfg.t))
    eta = 0.02 / amax**2
    tr = gradient_descent(cfg.mu, cfg.mu_star, cfg.t, eta, 5)
    assert np.all(np.diff(tr.loss) <= 2 * tr.loss_err[1:] + 1e-15)


def test_an_unlisted_convention_is_refused_by_name():
    # every listed convention runs (and they differ at t > 0: test_single_mean_closed_form_both_conventions);
    # the wrong inputs: a misspelt convention and the paper's word for neither are refused, naming the argument
    mu0 = np.array([[1.0], [2.0]])
    for conv in dynamics.CONVENTIONS:
        assert gradient_descent(mu0, np.zeros(1), 0.5, 0.1, 1, convention=conv).convention == conv
    for wrong in ("Scaled", "natural"):
        with pytest.raises(ValueError, match="convention must be one of"):
            gradient_descent(mu0, np.zeros(1), 0.5, 0.1, 1, convention=wrong)


def test_reporting_passes_step_and_total_and_never_stops_the_run():
    seen = []
    mu0 = np.array([[1.0], [-1.0]])
    tr = gradient_descent(mu0, np.zeros(1), 2.0, 0.1, 20, record_every=5,
                          callback=reporting(lambda done, total: seen.append((done, total)), 20))
    assert tr.steps[-1] == 20  # a callback returning True would have stopped it at step 0
    assert seen == [(s, 20) for s in tr.steps]
    assert reporting(None, 20)(3, mu0) is False  # no progress: nothing to call, still no stop


def test_a_supplied_dynamics_below_the_float64_range_records_the_mpmath_loss():
    """A wrong dynamics (the claims' negative controls) can drive every mean to within ~1e-146 of m*,
    where the float64 engine refuses (BelowRangeError; before, it recorded a loss wrong in every digit
    with estimate 0).  The record then comes from the mpmath path: its loss within its estimate of
    mpmath at 50 digits.  Negative control: the float64 engine refuses the same means."""
    import mpmath

    from verify.engine import reference
    from verify.engine.tolerances import BelowRangeError
    from verify.simulate.descent import SuppliedGradient

    star = np.array([0.0])  # (m* = 0.3 would absorb 1e-150 in float64: the means would equal it)
    mu = np.array([[1e-150], [-2.5e-150], [4e-151]])
    with pytest.raises(BelowRangeError):
        reference.loss(mu, star, 0.0)
    src = SuppliedGradient(lambda m, s, t: np.zeros_like(m))
    src.start(star, 0.0, 1e-10)
    rec = src.at(0, mu, True)
    exact = reference.loss_mp(mu, star, 0.0, dps=50)
    assert rec.loss > 0 and abs(mpmath.mpf(rec.loss) - exact) <= rec.loss_err
    assert rec.loss_err <= 1e-10 * rec.loss
