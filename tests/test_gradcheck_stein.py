"""Lemma 2.2 / B.1, check 2 of 3: the Stein form and the pathwise form agree in expectation.

The Stein form of CLAIMS.md and the pathwise form differ pointwise (by a Stein remainder,
``tests/test_gradcheck_sympy.py``) but not in expectation.  Here both are integrated:

* k = 1 (n = 2, or collinear means): independently of the engine, by 1-D ``mpmath.quad`` on
  [-inf, inf] split at the softmax transitions, at dps 30 (and 50 in thorough runs); they must
  agree to 10^-(dps - 5) relative (normwise), and the engine's ``grad_scaled_mp`` too;
* float64: the engine's ``grad_scaled`` (and ``grad``, unscaled) against the Stein expectation
  within 2 x (the engine's error estimate + the reference's) + 8 ulps: the reference is the
  mpmath line integral for k = 1 and tensor Gauss-Hermite (orders 90, 120) for k = 2.

Negative controls (t in (0, 3], relative tolerances): the gradient-EM term alone (cubic terms
dropped), the scaled gradient passed as the unscaled one, e^{-2t} scaling, and a Stein form
compared with the EM term, must each be rejected by the same checker.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings, reject
from hypothesis import strategies as st

from verify.engine import reference
from verify.checks.compare import TOLERANCES, GradientCheckError
from verify.checks.stein import check_stein_float64, check_stein_mp, expectation_line_mp
from verify.checks.variants import wrong_variants

# k = 1 configurations: n = 2 in d = 2 (mu* off the line of the means), and three collinear
# means (dyadic coordinates: exactly collinear in binary; used at t = 0 only, see the note in
# the report: at t > 0 the engine's mpmath reduction sees the rounding of e^{-t}(mu_i - mu_0)
# as a second dimension and integrates in 2-D, which is very slow)
K1_CASES = {
    "n2_d2": ([[1.0, 0.3], [-0.7, 0.5]], [0.2, -0.1]),
    "n3_collinear": ([[1.25, 0.0], [-0.25, -0.75], [0.5, -0.375]], [0.3, -0.5]),
    "n3_d1": ([[1.2], [-0.4], [0.3]], [0.1]),
}
# k = 2: three means in general position in d = 2
K2_CASE = ([[1.0, 0.3], [-0.7, 0.5], [0.2, -0.9]], [0.2, -0.1])


def _grad_scaled_mp(mu, mu_star, t, *, dps):
    return reference.grad_scaled_mp(mu, mu_star, t, dps=dps)


def _grad_mp(mu, mu_star, t, *, dps):
    return reference.grad_mp(mu, mu_star, t, dps=dps)


T_MP = 0.7  # t of the mpmath checks and their controls (they share the quadratures)


@pytest.mark.parametrize(("case", "t"), [("n2_d2", T_MP), ("n3_d1", T_MP),
                                         pytest.param("n2_d2", 0.0, marks=pytest.mark.thorough),
                                         pytest.param("n3_collinear", 0.0, marks=pytest.mark.thorough)])
def test_stein_equals_pathwise_in_expectation_mpmath(case, t):
    """Two independent 1-D quadratures agree to dps - 5 digits; the engine's mpmath gradient
    matches them (scaled convention at t = 0; unscaled at t > 0)."""
    mu, mu_star = K1_CASES[case]
    mu = (np.array(mu) * math.exp(t)).tolist()  # scaled means O(1)
    dps = 30
    conv = "unscaled" if t else "scaled"
    fn = _grad_mp if t else _grad_scaled_mp
    report = check_stein_mp(mu, mu_star, t, dps=dps, grad_fn=fn, convention=conv)
    # tolerance 10^-(dps - 5) relative: report the digits actually reached
    assert report.digits >= dps - TOLERANCES["mpmath"]["lost_digits"], report.table(dps)


@pytest.mark.thorough
@pytest.mark.parametrize("dps", [30, 50])
def test_stein_digits_converge_with_precision(dps):
    """The same check at two precisions: the agreement grows with dps (STYLE: run key checks at
    two precisions to show the digits converge)."""
    mu, mu_star = K1_CASES["n2_d2"]
    report = check_stein_mp(mu, mu_star, 2.0, dps=dps, grad_fn=_grad_mp, convention="unscaled")
    assert report.digits >= dps - TOLERANCES["mpmath"]["lost_digits"], report.table(dps)


@pytest.mark.parametrize("t", [0.0, 0.5, 3.0])
def test_engine_grad_scaled_matches_stein_expectation_k1(t):
    mu, mu_star = K1_CASES["n2_d2"]
    mu = (np.array(mu) * math.exp(t)).tolist()  # scaled means O(1) at every t
    report = check_stein_float64(reference.grad_scaled, mu, mu_star, t)
    assert report.margin < 1, report.table()


def test_engine_grad_matches_stein_expectation_k2():
    mu, mu_star = K2_CASE
    report = check_stein_float64(reference.grad, mu, mu_star, 0.4, convention="unscaled")
    assert report.margin < 1, report.table()


# -- Hypothesis: k = 1 and k = 2 configurations, float64 -----------------------------------------


def _examples(ci: int) -> int:
    """Fewer examples than the profile's default in dev/ci (each costs ~1 s); all of them when thorough."""
    current = settings.default.max_examples
    # thorough: up to 40 (each example costs seconds); dev/ci: ``ci``
    return min(current, 40) if current > 10 else min(ci, current)


coord = st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False)


@st.composite
def configurations(draw, *, n_min=2, n_max=3, d=2, t_max=3.0):
    """mu (n, d) with scaled means of size O(1), mu* (d,), t in [0, t_max]."""
    n = draw(st.integers(n_min, n_max))
    t = draw(st.floats(0.0, t_max))
    m = np.array(draw(st.lists(st.lists(coord, min_size=d, max_size=d), min_size=n, max_size=n)))
    ms = np.array(draw(st.lists(coord, min_size=d, max_size=d)))
    return (m * math.exp(t)).tolist(), (ms * math.exp(t)).tolist(), t


@settings(max_examples=_examples(4))
@given(configurations())
def test_engine_matches_stein_expectation_hypothesis(config):
    mu, mu_star, t = config
    try:
        report = check_stein_float64(reference.grad, mu, mu_star, t, convention="unscaled")
    except reference.AccuracyError:
        reject()  # the engine declined this example (AccuracyError): Hypothesis draws another
    assert report.margin < 1, report.table()


# -- negative controls ----------------------------------------------------------------------------


def _worst_ratio(err: GradientCheckError) -> float:
    return max(float(r.error / r.tolerance) for r in err.rows if not r.ok)


@pytest.mark.parametrize("t", [T_MP, pytest.param(3.0, marks=pytest.mark.thorough)])
def test_em_term_alone_is_not_the_stein_expectation_mpmath(t):
    """Same checker, forms ('em', 'stein'): the gradient-EM term alone (cubic terms dropped)."""
    mu, mu_star = K1_CASES["n2_d2"]
    mu = (np.array(mu) * math.exp(t)).tolist()
    with pytest.raises(GradientCheckError) as excinfo:
        check_stein_mp(mu, mu_star, t, dps=30, forms=("em", "stein"))
    assert _worst_ratio(excinfo.value) > 1e6


@pytest.mark.parametrize("variant", ["cubic_dropped", "scaled_as_unscaled", "double_scaled"])
@pytest.mark.parametrize("case", ["k1", "k2"])
def test_wrong_gradients_are_rejected_float64(variant, case):
    """Each wrong variant, passed as the unscaled gradient dL/dmu at t = 0.8, is rejected with a
    difference many times its tolerance (relative tolerances: ~1e-14 of max|grad|)."""
    t = 0.8
    mu, mu_star = K1_CASES["n2_d2"] if case == "k1" else K2_CASE
    mu = (np.array(mu) * math.exp(t)).tolist()
    with pytest.raises(GradientCheckError) as excinfo:
        check_stein_float64(wrong_variants[variant]["float64"], mu, mu_star, t, convention="unscaled")
    assert _worst_ratio(excinfo.value) > 1e6, str(excinfo.value)


@pytest.mark.parametrize("variant", ["cubic_dropped", "scaled_as_unscaled", "double_scaled"])
def test_wrong_gradients_are_rejected_mpmath(variant):
    t = T_MP
    mu, mu_star = K1_CASES["n2_d2"]
    mu = (np.array(mu) * math.exp(t)).tolist()
    with pytest.raises(GradientCheckError) as excinfo:
        check_stein_mp(mu, mu_star, t, dps=30, grad_fn=wrong_variants[variant]["mpmath"], convention="unscaled")
    assert _worst_ratio(excinfo.value) > 1e6, str(excinfo.value)


def test_line_quadrature_rejects_non_collinear_means():
    with pytest.raises(ValueError, match="not collinear"):
        expectation_line_mp(*K2_CASE, 0.0, dps=30)


def test_line_quadrature_loss_matches_engine_loss_mp():
    """The independent 1-D quadrature of |v|^2 agrees with the engine's loss_mp to dps - 5 digits."""
    mu, mu_star = K1_CASES["n3_d1"]
    dps = 30
    L, Le = expectation_line_mp(mu, mu_star, 0.3, dps=dps, which="loss")
    R = reference.loss_mp(mu, mu_star, 0.3, dps=dps)
    with mpmath.workdps(dps):
        assert abs(L - R) <= mpmath.mpf(10) ** (-(dps - 5)) * abs(R), (L, R, Le)
