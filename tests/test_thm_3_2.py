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

from verify.analysis import cluster as cl, cluster_runs, final_phase
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
def test_amplification_is_the_closed_form_sum_of_the_centres_squares(M0, eta):
    # log prod (1 + x_tau), x_tau = 4 eta A_tau^2 / n, A_tau = M0 q^tau: sum x_tau = (M0^2 - A_T^2) / (1 - eta/n)
    # in closed form (geometric series), and x - x^2/2 <= log(1 + x) <= x brackets the product
    # with sum x_tau^2 = (4 eta M0^2 / n)^2 (1 - q^(4T)) / (1 - q^4) (rounding ~1e-15 relative)
    n = 2
    la = cl.linear_amplification(M0, n, eta)
    T, q = la["steps"], 1 - 2 * eta / n
    A_T = M0 * q**T
    S1 = (M0**2 - A_T**2) / (1 - eta / n)
    S2 = (4 * eta * M0**2 / n) ** 2 * (1 - q ** (4 * T)) / (1 - q**4)
    slack = 1e-12 * max(1.0, S1)
    assert S1 - S2 / 2 - slack <= la["log_amplification"] <= S1 + slack
    # negative control: the printed centre factor 1 - eta/n (a loss with 1/2) gives another sum,
    # outside the bracket (its hand-off step and its series differ)
    qp = 1 - eta / n
    Tp = cl.handoff_step(M0, n, eta / 2)
    wrong = (M0**2 - (M0 * qp**Tp) ** 2) / (1 - qp**2) * (4 * eta / n)
    assert not (S1 - S2 / 2 - slack <= wrong <= S1 + slack)


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
    assert r.verdict == "holds", r.reason


SMALL = dict(sympy=((2, 1),), amp_M0=(1,), float64_M0=(0.05,), layouts=("leader", "opposite"), boundary=(), scan=None)


def test_claim_holds_at_the_theorems_radius_at_a_small_size():
    # float64 runs at r0(0.05) = 10^-111 with both layouts, the mpmath approach at r0(0.2) = 10^-6951,
    # the certificate and final-phase bound at the paper's radius: ~5 s
    r = thm_3_2.run(**SMALL)
    assert r.verdict == "holds", r.reason
    assert all(row["outcome"] == outcomes.ALL_CONVERGE for row in r.evidence["theorem_radius_float64_runs"])
    assert (r.evidence["paper_radius_M0_1"]["valid"]
            and r.evidence["paper_radius_M0_1"]["deviation_bound_log10"] < -868000)


def _gradient_ascent(mu, mu_star, t):
    from verify.engine import reference

    return -reference.grad(mu, mu_star, t)


def test_claim_fails_with_gradient_ascent_as_the_dynamics():
    # negative control: the wrong dynamics (the engine's gradient with its sign flipped): the centre
    # recedes by 1 + 2 eta/n per step and the runs at the theorem's radius blow up
    r = thm_3_2.run(**SMALL, gradient=_gradient_ascent)
    assert r.verdict == "fails", r.reason
    assert "centre factor" in r.reason and "layout (r, 0): oscillates_or_blows_up" in r.reason


def test_final_phase_bound_closes_at_the_paper_radius_and_not_far_above_it():
    from verify.analysis.cluster_radius import final_phase_bound

    fb = final_phase_bound(1.0, 2, 1, ETA, mpmath.nstr(mpmath.mpf(10) ** cl.theorem_radius_log10(1.0, 2, 1), 10))
    assert fb["valid"] and fb["deviation_bound_log10"] < -868589 and fb["horizon_log10"] > 868000
    # negative control: from r0 = 1e-3 the certificate of the approach does not close
    assert not final_phase_bound(1.0, 2, 1, ETA, "1e-3")["valid"]


def test_boundary_is_reported_unbracketed_not_failed():
    # below M0 ~ 2 every radius <= 1 converges: the bisection cannot bracket r*, which is reported
    # (bracketed False), never counted as a failure of the claim
    rows = thm_3_2.boundary_table([(1.5, ETA, "leader")], rel_width=0.3)
    assert not rows[0]["bracketed"] and rows[0]["r_star"] is None


def test_findings_carry_the_r_star_law_with_its_uncertainty():
    # the leader boundaries verify explore radius measured (n = 2, eta = 0.05; proofs_map.md); the law is
    # the explore layer's fit (not a second one), with an unbracketed row and another layout left out
    measured = {3.0: (0.015699814, 0.016688739), 4.0: (1.4793799e-4, 1.5335651e-4), 5.0: (1.0629061e-6, 1.1400368e-6)}
    rows = [{"M0": M0, "eta": 0.05, "layout": "(r, 0)", "bracketed": True, "r_star": lo, "r_star_low": lo,
             "r_star_high": hi, "critical_linear_spread": 30.0, "exp_minus_M0_over_100": math.exp(-M0 / 100)}
            for M0, (lo, hi) in measured.items()]
    rows.append({**rows[0], "M0": 6.0, "bracketed": False, "r_star": None, "r_star_high": math.inf})
    rows.append({**rows[1], "layout": "(-r, r)", "r_star_low": 1e-9, "r_star_high": 2e-9})
    paper = {"deviation_bound_log10": -12.0, "horizon_log10": 9.0}
    cf = {"ratios_max": 0.95, "max_dev_from_derived": 0.0, "printed": 0.975, "max_dev_from_printed": 0.025}
    (law,) = [f for f in thm_3_2.findings(rows, [], [], paper, cf) if f.name.startswith("r* law")]
    assert law.value == pytest.approx(1.0069, abs=1e-3) and 0 < law.uncertainty < 0.02  # beta = 1.0069 +- 0.0081
    assert "M0 in [3.0, 4.0, 5.0]" in law.window
    # negative control: with r* falling like exp(-2 LA) the law's exponent is 2, not 1
    twice = [{**r, "r_star_low": r["r_star_low"] ** 2, "r_star_high": r["r_star_high"] ** 2} for r in rows[:3]]
    (other,) = [f for f in thm_3_2.findings(twice, [], [], paper, cf) if f.name.startswith("r* law")]
    assert other.value > 1.5



def test_the_findings_relations_follow_their_values():
    """Two findings said "supports" whatever they measured (review 23c L1, 23d F2): r* below exp(-M0/100)
    even when false, and the scan below r* with 0 radii converging (undecided ones counted as support).
    Now: all converge -> supports, undecided ones -> measures, a non-converging one -> contradicts."""
    rows = [{"M0": 3.0, "eta": 0.05, "layout": "(r, 0)", "bracketed": True, "r_star": 0.0157, "r_star_low": 0.0157,
             "r_star_high": 0.0167, "critical_linear_spread": 30.0, "exp_minus_M0_over_100": math.exp(-0.03)}]
    paper = {"deviation_bound_log10": -12.0, "horizon_log10": 9.0}
    cf = {"ratios_max": 0.95, "max_dev_from_derived": 0.0, "printed": 0.975, "max_dev_from_printed": 0.025}

    def relation(name, rows=rows, scan=()):
        (f,) = [f for f in thm_3_2.findings(rows, list(scan), [], paper, cf) if f.name.startswith(name)]
        return f.relation

    assert relation("r* below") == "supports"
    assert relation("r* below", [{**rows[0], "r_star_high": 2.0}]) == "contradicts"
    scan = [{"M0": 4.0, "r": 1e-6 / 10**i, "outcome": o, "how": "final phase"}
            for i, o in enumerate([outcomes.ALL_CONVERGE, outcomes.ALL_CONVERGE])]
    assert relation("radii below", scan=scan) == "supports"
    und = [scan[0], {**scan[1], "outcome": outcomes.UNDECIDED}]
    assert relation("radii below", scan=und) == "measures"
    assert relation("radii below", scan=[{**s, "outcome": outcomes.UNDECIDED} for s in scan]) == "measures"
    assert relation("radii below", scan=[scan[0], {**scan[1], "outcome": outcomes.STUCK}]) == "contradicts"


# --- convergence, not standing still; the spread apart from the centre ---------------


def _zero(mu, mu_star, t):
    return np.zeros_like(np.asarray(mu, dtype=float))


def _centre_only(mu, mu_star, t):
    # every mean moves by the mean gradient: the centre as the engine's, the spread's gradient dropped
    from verify.engine import reference

    g = reference.grad(mu, mu_star, t)
    return np.broadcast_to(g.mean(axis=0), g.shape).copy()


def _stops_short(mu, mu_star, t):
    # the engine's gradient, cut to 0 within 0.04 of mu*: the centre factor (measured from 1 down to 0.36)
    # and the spread map (at |c| >= 0.05) are the engine's; the means stall 0.04 short of mu*
    from verify.engine import reference

    g = reference.grad(mu, mu_star, t)
    g[np.linalg.norm(np.asarray(mu) - np.asarray(mu_star), axis=1) < 0.04] = 0.0
    return g


def test_final_phase_needs_a_measured_decrease_not_standing_still():
    # M0 = 0.05 starts inside Theorem 2.1's radius e^-2/2 = 0.068: with nothing moving, "not increasing"
    # used to count it converged; the distances' exponent is now 0, not below 0
    r0 = 10 ** cl.theorem_radius_log10(0.05, N, 1)
    still = cluster_runs.run_cluster(0.05, r0, N, ETA, grad_fn=_zero, to_convergence=True)
    assert still.outcome != outcomes.ALL_CONVERGE and not still.final["ok"]
    assert all(x["upper"] == 0 and not x["decreases"] for x in still.final["distances"])
    # the same rule accepts the engine's final phase from a resolved spread (M0 = 3, r = 1e-3): the
    # distances and the spread fall like tau^-1/2 over the run's tail (measured upper -0.50)
    run = cluster_runs.run_cluster(3.0, 1e-3, N, ETA, to_convergence=True)
    assert run.outcome == outcomes.ALL_CONVERGE and run.how == "final phase"
    assert run.final["spread_resolved"] and run.final["spread"]["upper"] < -0.4
    assert all(x["upper"] < -0.4 for x in run.final["distances"])


def test_final_decrease_judges_the_spread_apart_from_the_distances():
    tau = np.arange(10, 3010, 10, dtype=float)
    dist = np.stack([0.1 * tau**-0.5, 0.12 * tau**-0.5], axis=1)
    kw = dict(eta_s=ETA, tol=1e-10, scale=1.0)
    ok = final_phase.final_decrease(tau, dist, 0.2 * tau**-0.5, **kw)
    assert ok["ok"] and ok["spread_resolved"] and ok["spread"]["upper"] == pytest.approx(-0.5, abs=1e-9)
    # negative control: the distances fall, the spread (resolved, 0.01) stays: not converging, by the spread alone
    flat = final_phase.final_decrease(tau, dist, np.full(tau.size, 0.01), **kw)
    assert not flat["ok"] and all(x["decreases"] for x in flat["distances"]) and not flat["spread"]["decreases"]
    assert "spread" in flat["reason"]
    # a spread below final_phase.SPREAD_RESOLVED (the runs' SWITCH_RADIUS) is not judged (float64 cannot carry it)
    assert final_phase.SPREAD_RESOLVED == cluster_runs.SWITCH_RADIUS
    tiny = final_phase.final_decrease(tau, dist, np.full(tau.size, 1e-9), **kw)
    assert tiny["ok"] and not tiny["spread_resolved"] and tiny["spread"] is None
    # a run continued at FALLBACK_TOL records its restart step twice: the later record is kept
    twice = np.insert(tau, 150, tau[150])
    again = final_phase.final_decrease(twice, np.insert(dist, 150, dist[150], axis=0),
                                        np.insert(0.2 * tau**-0.5, 150, 0.2 * tau[150] ** -0.5), **kw)
    assert again["ok"] and again["spread"]["upper"] == pytest.approx(-0.5, abs=1e-9)


def test_spread_map_is_J_on_the_engine_and_not_when_only_the_centre_moves():
    rows = thm_3_2.measured_spread_map((0.05, 1.0), ("leader", "opposite"))
    assert all(r["relative_deviation"] <= r["tolerance"] < 1e-2 for r in rows)  # measured <= 2e-5, tol >= 4e-4
    bad = thm_3_2.measured_spread_map((0.05, 1.0), ("leader", "opposite"), _centre_only)
    assert all(r["relative_deviation"] == pytest.approx(1.0, abs=1e-6) for r in bad)


def test_claim_fails_with_a_zero_gradient():
    # negative control: nothing moves; the runs at r0(0.05), which start inside e^-2/n, stay put
    r = thm_3_2.run(**SMALL, gradient=_zero)
    assert r.verdict == "fails", r.reason
    assert "layout (r, 0): undecided" in r.reason and "exponent is not below 0" in r.reason
    assert not any(row["outcome"] == outcomes.ALL_CONVERGE for row in r.evidence["theorem_radius_float64_runs"])


def test_claim_fails_when_only_the_centre_moves():
    # negative control: the spread's gradient dropped.  The float64 runs at r0 = 1e-111 carry the
    # spread as 0 and still reach the floor (they judge the centre); the spread map catches it alone
    r = thm_3_2.run(**SMALL, gradient=_centre_only)
    assert r.verdict == "fails", r.reason
    assert "spread map deviates from (J) by 1 " in r.reason and "centre factor" not in r.reason
    assert all(row["outcome"] == outcomes.ALL_CONVERGE for row in r.evidence["theorem_radius_float64_runs"])


def test_claim_fails_when_the_means_stop_short_of_mu_star():
    # negative control of the float64 runs alone: centre factor and spread map are the engine's, the
    # means stall at distance ~0.04 (the run's final phase measures no decrease)
    r = thm_3_2.run(**SMALL, gradient=_stops_short)
    assert r.verdict == "fails", r.reason
    assert "centre factor" not in r.reason and "spread map" not in r.reason
    assert "M0 = 0.05" in r.reason and "exponent is not below 0" in r.reason
