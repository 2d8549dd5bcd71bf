"""Theorem 3.2 (exponentially small initialization): centre, deviation map, remainder, boundary.

Every check has a negative control that the same check rejects.  Parameters: n = 2, d = 1,
eta = 0.05, step convention "scaled", t = 0, mu* = M0 e_1 unless a test says otherwise.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, strategies as st

from verify.analysis import cluster as cl, cluster_runs
from verify.simulate import outcomes
from verify.claims import thm_3_2

N, ETA = 2, 0.05


@pytest.fixture(autouse=True)
def _reset_mp():
    mpmath.mp.dps = 15
    yield
    mpmath.mp.dps = 15


# --- the centre -------------------------------------------------------------


def test_centre_factor_is_one_minus_two_eta_over_n_not_the_printed_one():
    m = thm_3_2.measured_centre_factor(n=N, eta=ETA)
    # k = 0 path: the gradient 2c/n is exact; the ratio of two float64 distances is off by a few ulps
    assert m["max_dev_from_derived"] < 1e-14
    # negative control: the printed factor (1 - eta/n, loss with a factor 1/2) is rejected by the same check
    assert m["max_dev_from_printed"] > 1e-3


@given(n=st.integers(min_value=1, max_value=6), c=st.floats(min_value=-5, max_value=5, allow_nan=False))
def test_collapsed_gradient_is_two_c_over_n(n, c):
    from verify.engine import reference

    g = reference.grad_scaled(np.full((n, 1), c), [0.0], 0.0)
    assert np.allclose(g, 2 * c / n, rtol=0, atol=1e-15 * max(1.0, abs(c)))


def test_centre_factor_conventions():
    assert cl.centre_factor(3, 0.1) == pytest.approx(1 - 0.2 / 3)
    assert cl.centre_factor(3, 0.1, half_loss=True) == pytest.approx(1 - 0.1 / 3)
    assert cl.centre_factor(3, 0.1, t=1.0, convention="unscaled") == pytest.approx(1 - 0.2 * math.exp(-2) / 3)
    with pytest.raises(ValueError, match="convention"):
        cl.centre_factor(3, 0.1, convention="x")


# --- the deviation map (J) ----------------------------------------------------------


@pytest.mark.parametrize(("n", "d"), [(2, 1), (3, 1), (2, 2)])
def test_sympy_derives_the_deviation_map(n, d):
    assert all(r == 0 for r in cl.sympy_jacobian_residuals(n, d))


def test_sympy_rejects_a_wrong_deviation_map():
    def half_coefficient(c, h, n):  # drops the second c c^T e term: coefficient 1 instead of 2
        hbar = [sum(h[j][k] for j in range(n)) / n for k in range(len(c))]
        return [[sp.Rational(2, n) * (hbar[k] - sum(c[m] * (h[i][m] - hbar[m]) for m in range(len(c))) * c[k])
                 for k in range(len(c))] for i in range(n)]

    assert any(r != 0 for r in cl.sympy_jacobian_residuals(2, 1, closed_form=half_coefficient))


@given(c=st.floats(min_value=-4, max_value=4, allow_nan=False).filter(lambda x: abs(x) > 0.05),
       h=st.lists(st.integers(min_value=-9, max_value=9), min_size=3, max_size=3))
def test_engine_gradient_at_tiny_deviations_matches_the_map(c, h):
    # deviations 1e-30 at dps 60: the engine gives ~55 digits of g_i ~ 1, so ~25 of the deviation
    # part; the quadratic remainder is K/2 * 1e-60 ~ 1e-53.  Tolerance 1e-20 relative to the scale 1e-30.
    delta = [[f"{x}e-30"] for x in h]
    val, _ = cl.engine_deviation_gradient([c], delta, dps=60)
    with mpmath.workdps(60):
        J = cl.deviation_gradient(np.array([mpmath.mpf(c)], dtype=object),
                                  np.array([[mpmath.mpf(x[0])] for x in delta], dtype=object))
        err = max(abs(val[i][0] - J[i][0]) for i in range(3))
        assert err < mpmath.mpf("1e-50")
        # negative control: the printed centre factor's map (coefficient halved) misses by ~1e-30
        Jw = J / 2
        if any(x != 0 for x in h):
            assert max(abs(val[i][0] - Jw[i][0]) for i in range(3)) > mpmath.mpf("1e-33")


# --- remainder bound ----------------------------------------------------------------


@pytest.mark.parametrize("scale", ["1e-5", "1e-7"])
def test_remainder_bound_bounds_the_measured_remainder(scale):
    c, R = -1.5, 1.5 + 1e-3
    delta = [[scale], ["0"], ["-" + scale]]
    val, _ = cl.engine_deviation_gradient([c], delta, dps=40)
    with mpmath.workdps(40):
        J = cl.deviation_gradient(np.array([mpmath.mpf(c)], dtype=object),
                                  np.array([[mpmath.mpf(x[0])] for x in delta], dtype=object))
        rem = max(abs(val[i][0] - J[i][0]) for i in range(3))
        s = mpmath.mpf(scale)
        bound = cl.remainder_constant(R, 1) / 2 * s**2
        assert rem <= bound
        # negative control: a first-order error (the halved map) violates the same quadratic bound
        Jw = J / 2
        assert max(abs(val[i][0] - Jw[i][0]) for i in range(3)) > bound


def test_remainder_is_quadratic():
    c = -1.5
    rems = []
    for s in ("1e-4", "1e-6"):
        val, _ = cl.engine_deviation_gradient([c], [[s], ["0"]], dps=40)
        with mpmath.workdps(40):
            J = cl.deviation_gradient(np.array([mpmath.mpf(c)], dtype=object),
                                      np.array([[mpmath.mpf(s)], [mpmath.mpf(0)]], dtype=object))
            rems.append(abs(val[0][0] - J[0][0]))
    # 100x smaller deviation -> 1e4 smaller remainder (quadratic), within 10 %
    assert float(rems[0] / rems[1]) == pytest.approx(1e4, rel=0.1)


def test_certificate_at_the_paper_radius_and_its_failure_far_above_it():
    r0 = mpmath.nstr(mpmath.mpf(10) ** cl.theorem_radius_log10(1.0, 2, 1), 10)
    c = cl.linear_regime_certificate(1.0, 2, 1, ETA, r0)
    assert c["valid"]
    assert c["linearisation_error_relative_log10"] < -860000
    assert c["radius_bound_log10"] < -867998
    # negative control: the same certificate at r0 = 1e-3 cannot keep the remainder below the linear part
    bad = cl.linear_regime_certificate(1.0, 2, 1, ETA, "1e-3")
    assert (not bad["valid"]) or bad["linearisation_error_relative_log10"] > 0


def test_literal_run_at_the_theorem_radius_matches_the_linear_prediction():
    lit = thm_3_2.literal_run(0.2)
    assert lit["log10_r0"] < -6900
    assert lit["relative_difference_log10"] < -40  # see thm_3_2.run for the tolerance's derivation
    amp = float(lit["spread_amplification"])
    assert amp > 1.0  # the spread grows on the way in; negative control: it is not the contracting mean part
    assert amp == pytest.approx(float(lit["linear_amplification"]), rel=1e-30)


# --- amplification ------------------------------------------------------------------


@given(M0=st.floats(min_value=0.2, max_value=3), eta=st.floats(min_value=1e-3, max_value=0.05))
def test_amplification_is_about_exp_M0_squared_for_small_steps(M0, eta):
    la = cl.linear_amplification(M0, 2, eta)
    # discrete product vs continuum: log(1+x) >= x - x^2/2 with x = 4 eta A^2/n <= 2 eta M0^2
    assert la["log_amplification"] <= la["log_continuum"] * (1 + 2 * eta / 2) + 1e-9 + 4 * eta * M0**2
    assert la["log_amplification"] >= la["log_continuum"] * (1 - 2 * eta * M0**2) - 4 * eta * M0**2 / 2
    assert la["log_amplification"] < 1e6 * 2 * M0**3  # far inside the theorem's budget


# --- empirical boundary ---------------------------------------------------------------


def test_boundary_at_M0_4_and_negative_control_above_it():
    b = cluster_runs.radius_boundary(4.0, N, ETA, rel_width=0.3)
    assert b.r_star_low > 0 and b.r_star_high > b.r_star_low
    assert b.r_star_high < math.exp(-4 / 100)
    # same check ("every mean converges") at 2 r*: rejected
    assert cluster_runs.run_cluster(4.0, 2 * b.r_star_high, N, ETA).outcome == outcomes.PARTIAL_RECOVERY
    assert cluster_runs.run_cluster(4.0, b.r_star_low / 2, N, ETA).outcome == outcomes.ALL_CONVERGE


def test_hybrid_linear_phase_agrees_with_plain_float64():
    # M0 = 4: r* ~ 1.5e-4 is resolved by float64 directly; starting with the linear phase up to
    # 1e-9 must give the same outcome on both sides of the boundary
    for r, want in ((5e-5, outcomes.ALL_CONVERGE), (5e-4, outcomes.PARTIAL_RECOVERY)):
        assert cluster_runs.run_cluster(4.0, r, N, ETA, switch_radius=0).outcome == want
    assert cluster_runs.run_cluster(4.0, 5e-5 / 1e6, N, ETA, switch_radius=1e-9).outcome == outcomes.ALL_CONVERGE


@pytest.mark.thorough
def test_claim_quick_budget(run_claim):
    r = run_claim("thm-3.2")
    assert r.verdict == "inconclusive", r.reason
