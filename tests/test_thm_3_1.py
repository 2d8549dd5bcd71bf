"""Theorem 3.1: the stationary point of the construction, checked by independent routes.

Tolerances are written next to each check, from the working precision
(10^(-dps + k)) or from an error measured in the test (quadrature difference
between two node counts, Richardson error estimates).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, strategies as st

from verify.analysis import stationary as sp
from verify.claims import all_claims
from verify.engine import reference
from verify.checks.rotations import random_rotation

TABLE = sp.reference_table()


# --- s*(n) -----------------------------------------------------------------


def test_stationary_radius_n3_recomputed_matches_table():
    # dps 40 gives ~dps - 3 digits here (quad error 1e-35 / |g'(s*)| ~ 0.34): require 30.
    s40 = sp.stationary_radius_str(3, dps=40)
    with mpmath.workdps(80):
        assert abs(mpmath.mpf(s40) - mpmath.mpf(TABLE[3]["s_star"])) < mpmath.mpf("1e-30")


@pytest.mark.parametrize("n", range(3, 9))
def test_table_radius_brackets_the_root_of_the_radial_gradient_for_every_n(n):
    # computed now, not read from the table: the radial gradient g(s) (dps 40, quadrature error
    # ~1e-37, |g'(s*)| ~ 0.3) changes sign across [s* - 1e-30, s* + 1e-30] for every n in the table
    with mpmath.workdps(50):
        s = mpmath.mpf(TABLE[n]["s_star"])
        lo = sp.radial_gradient(s - mpmath.mpf("1e-30"), n, dps=40)
        hi = sp.radial_gradient(s + mpmath.mpf("1e-30"), n, dps=40)
        assert lo > 0 > hi, (n, lo, hi)
        # negative control: a table entry wrong in its 20th digit is rejected by the same bracket
        w_lo = sp.radial_gradient(s + mpmath.mpf("1e-20") - mpmath.mpf("1e-30"), n, dps=40)
        assert w_lo < 0


@pytest.mark.thorough
@pytest.mark.parametrize("n", range(3, 9))
def test_stationary_radius_recomputed_at_dps50(n):
    with mpmath.workdps(80):
        diff = abs(mpmath.mpf(sp.stationary_radius_str(n, dps=50)) - mpmath.mpf(TABLE[n]["s_star"]))
    assert diff < mpmath.mpf("1e-30")


@given(n=st.integers(min_value=3, max_value=8), s=st.decimals(min_value="0.3", max_value="6", places=2))
@example(n=3, s=TABLE[3]["s_star"][:10])
def test_two_formulas_for_the_path_derivative_agree(n, s):
    # dL/ds from differentiating v(s)^2 in s equals 2 x (e_1.dL/da_1) from the pathwise
    # formula.  Both integrals at dps 30 agree with dps 50 to ~1e-32 (measured, s in [0.3, 6]);
    # tolerance 10^(-dps + 5).  The difference is taken at dps 30 too: at the default 53 bits
    # its own rounding (~1e-25 for values ~1e-9) would dominate.
    with mpmath.workdps(30):
        pd = sp.path_derivative(str(s), n, dps=30)
        rg = sp.radial_gradient(str(s), n, dps=30)
        assert abs(pd - 2 * rg) <= mpmath.mpf("1e-25")


def test_path_derivative_is_the_derivative_of_the_path_loss():
    # Independent of both gradient formulas: a central difference of L(s) at dps 45 with
    # h = 1e-10: truncation h^2 |L'''| / 6 ~ 1e-21, rounding 1e-45 / h ~ 1e-35; tolerance 1e-18.
    with mpmath.workdps(45):
        s, h = mpmath.mpf("1.7"), mpmath.mpf("1e-10")
        num = (sp.path_loss(s + h, 3, dps=45) - sp.path_loss(s - h, 3, dps=45)) / (2 * h)
        assert abs(num - sp.path_derivative(s, 3, dps=30)) < mpmath.mpf("1e-18")
        # negative control: the radial gradient alone is half of it, not equal to it
        assert abs(num - sp.radial_gradient(s, 3, dps=30)) > mpmath.mpf("0.1")


def test_loss_on_the_path_is_largest_at_s_star_and_zero_at_zero():
    # computed, not stored: L(0) = 0 exactly (all means at mu*), L far out small, and s* the
    # maximiser of L on the path (a central second difference at h = 1e-3 is -|L''| h^2 ~ -3e-7,
    # far above the dps-20 quadrature error ~1e-18)
    assert sp.path_loss(0, 4, dps=20) == 0
    assert sp.path_loss(12, 4, dps=20) < 1e-4
    with mpmath.workdps(30):
        s = mpmath.mpf(TABLE[4]["s_star"])
        at, left, right = (sp.path_loss(x, 4, dps=20) for x in (s, s - mpmath.mpf("1e-3"), s + mpmath.mpf("1e-3")))
        assert left < at and right < at
        # negative control: 0.05 beside s* is not the maximiser (its right neighbour is larger)
        off = s - mpmath.mpf("0.05")
        assert sp.path_loss(off + mpmath.mpf("1e-3"), 4, dps=20) > sp.path_loss(off, 4, dps=20)


def test_engine_agrees_with_the_one_dimensional_integrals():
    s = TABLE[3]["s_star"]
    ev = reference.evaluate_mp([[s, "0"], ["-" + s, "0"], ["0", "0"]], ["0", "0"], "0", dps=40)
    with mpmath.workdps(40):
        # engine: ~dps - 5 digits for k = 1; the table: 40 digits.
        assert abs(ev.loss - mpmath.mpf(TABLE[3]["loss"])) < mpmath.mpf("1e-33")
        assert max(abs(x) for row in ev.grad_scaled for x in row) < mpmath.mpf("1e-33")
        ev_off = reference.evaluate_mp([["2.56", "0"], ["-2.56", "0"], ["0", "0"]], ["0", "0"], "0", dps=30)
        assert ev_off.grad_scaled[0][0] == pytest.approx(float(sp.radial_gradient("2.56", 3, dps=30)), rel=1e-20)


# --- the full gradient, d >= 2, no reduction to the span --------------------


def test_full_gradient_vanishes_at_s_star_and_not_beside_it():
    chk = sp.full_gradient_check(3, seed=0)
    at = chk["0"]
    # tolerance: 100 x the measured quadrature error (nodes 160 vs 200), itself ~3e-15
    assert at.max_abs_grad <= 100 * max(at.quadrature_error, 1e-16)
    assert at.loss == pytest.approx(at.path_loss, abs=100 * max(at.quadrature_error, 1e-16))
    assert at.loss > 0.9
    # negative control: 1e-3 off s*, |grad| ~ |g'(s*)| 1e-3 ~ 3e-4, 1e10 x the residual
    for off in ("1e-3", "-1e-3"):
        assert chk[off].max_abs_grad > 1e-4 > 1e6 * at.max_abs_grad


def test_finite_differences_of_the_loss_agree_with_the_pathwise_gradient():
    # Richardson central differences of the product-rule loss (a route without the gradient
    # formula), all 2n coordinates in a rotated frame.
    chk = sp.full_gradient_check(3, offsets=("0", "1e-3"), seed=1, finite_differences=True)
    for off in ("0", "1e-3"):
        c = chk[off]
        # Richardson error estimate ~1e-8 (h = 1e-3, 3 levels; dominated by float64 rounding / h)
        assert np.abs(c.grad_fd - c.grad).max() < 1e-7
    assert chk["0"].max_abs_grad_fd < 1e-7 < 1e-4 < chk["1e-3"].max_abs_grad_fd


@given(n=st.integers(min_value=3, max_value=5), d=st.integers(min_value=1, max_value=3),
       seed=st.integers(min_value=0, max_value=2**16))
def test_loss_does_not_depend_on_the_dimension(n, d, seed):
    # The loss of the embedded, randomly rotated construction equals the 1-D value.
    # d = 1: composite Gauss-Legendre (error < 1e-13); d = 2: GH 160^2; d = 3: GH 70^3.
    # Tolerances: 10 x the quadrature difference to a rule with more nodes, plus 1e-13.
    s = float(TABLE[n]["s_star"])
    target = float(TABLE[n]["loss"])
    if d == 1:
        loss, g = sp.collinear_grad_float([s, -s] + [0.0] * (n - 2))
        assert loss == pytest.approx(target, abs=1e-13)
        assert np.abs(g).max() < 1e-12
        return
    nodes = {2: 160, 3: 70}[d]
    a = np.array(sp.construction(n, s, d), dtype=float) @ random_rotation(d, seed, proper=True).T
    loss, g = sp.ProductRule(d, nodes).evaluate(a)
    loss_f, _ = sp.ProductRule(d, nodes + 20).evaluate(a)
    tol = 10 * abs(loss - loss_f) + 1e-13
    assert abs(loss - target) <= tol
    assert np.abs(g).max() <= 100 * tol


# --- Hessian ---------------------------------------------------------------


@pytest.fixture(scope="module")
def hessian_n4():
    return sp.hessian_at_stationary_point(4, d=2)


def test_hessian_n3_is_a_saddle_with_one_rotation_zero_mode():
    H = sp.hessian_at_stationary_point(3, d=2)
    assert H.zero_modes == H.expected_zero_modes == 1
    assert (H.negative, H.positive) == (3, 2)
    assert H.classification == "saddle"
    # The symmetric-path direction is an eigenvector with eigenvalue L''(s*)/2 (1-D, mpmath).
    assert H.path_direction_residual < 1e-8
    assert any(abs(e - H.path_eigenvalue) < 1e-8 for e in H.eigenvalues)


def test_hessian_zero_modes_are_rotation_and_cluster_splitting(hessian_n4):
    H = hessian_n4
    s = H.s
    assert H.zero_modes == H.expected_zero_modes == 2
    assert H.classification == "saddle"

    def norm_Hu(u):
        u = np.asarray(u, dtype=float).ravel()
        return np.linalg.norm(H.matrix @ (u / np.linalg.norm(u)))

    tol = H.zero_tol
    rotation = [[0, s], [0, -s], [0, 0], [0, 0]]          # d/dtheta of the rotated configuration
    cluster_off_axis = [[0, 0], [0, 0], [0, 1], [0, -1]]  # split the two means at mu* off the axis
    assert norm_Hu(rotation) < tol and norm_Hu(cluster_off_axis) < tol
    # negative controls: translations and on-axis splitting are not null directions
    assert norm_Hu([[1, 0], [1, 0], [1, 0], [1, 0]]) > 1e3 * tol
    assert norm_Hu([[0, 0], [0, 0], [1, 0], [-1, 0]]) > 1e3 * tol


@pytest.mark.thorough
@pytest.mark.parametrize(("n", "d"), [(5, 2), (6, 2), (7, 2), (8, 2), (3, 3), (4, 3)])
def test_hessian_zero_mode_count_larger_cases(n, d):
    H = sp.hessian_at_stationary_point(n, d=d, nodes=(200, 24) if d == 2 else (160, 16))
    assert H.zero_modes == (n - 2) * (d - 1)
    assert H.classification == "saddle"


def test_expected_zero_mode_count_is_the_measured_one(hessian_n4):
    # the formula (d - 1) rotations + (n - 3)(d - 1) off-axis splittings against the count of the
    # measured Hessian at n = 4, d = 2 (tolerance built from its measured errors)
    H = hessian_n4
    assert sp.expected_zero_modes(4, 2) == H.zero_modes == 2
    # negative control: rotations alone (d - 1 = 1) undercount the measured zero modes
    assert (2 - 1) != H.zero_modes


# --- search ----------------------------------------------------------------


def test_search_n2_finds_a_stationary_point_with_a_mean_at_mu_star():
    r = sp.search_collinear(2, starts=6, region=4.0, seed=0)
    assert len(r.points) == 1, r.summary()
    p = r.points[0]
    means = sorted(abs(float(x)) for x in p["means"])
    assert means[0] < 1e-25 and means[1] == pytest.approx(2.45628225477967, rel=1e-12)
    assert float(p["loss"]) == pytest.approx(0.479515970635133, rel=1e-12)
    assert float(p["residual"]) < 1e-25  # mpmath findroot at dps 30


@given(s=st.decimals(min_value="0.2", max_value="5", places=2))
def test_n2_gradients_are_equal_along_the_mean_at_mu_star_family(s):
    # Why the n = 2 point exists: with a_2 = mu*, dL/da_1 = dL/da_2 for every s (dps 25 quad,
    # error ~1e-20), so the maximiser of L(s, 0) is stationary.  Negative control: n = 3
    # with a_2 = a_3 = 0 has no such identity (0.0204 vs -0.0071 at s = 2.456).
    g = sp.collinear_grad_mp([str(s), "0"], dps=25)
    assert abs(g[0] - g[1]) < mpmath.mpf("1e-18")
    g3 = sp.collinear_grad_mp(["2.456", "0", "0"], dps=15)
    assert abs(g3[0] - g3[1]) > 0.01


@pytest.mark.thorough
def test_search_n3_finds_the_construction_and_two_other_points():
    r = sp.search_collinear(3, starts=30, region=4.0, seed=0)
    kinds = sorted(p["kind"] for p in r.points)
    assert kinds == ["construction", "other", "other"], r.summary()


# --- noise levels and dynamics ---------------------------------------------


@pytest.mark.parametrize("M, n", [(4.0, 3), (10.0, 5)])
def test_max_noise_level_puts_the_unscaled_point_at_the_stationary_radius(M, n):
    # independent of the formula: at t = t_max(M) the unscaled means (M e_1, -M e_1, 0, ...) are a
    # stationary point of the engine's L_t (tolerance 1e-10: the engine's relative accuracy times
    # the gradient scale ~1); at t_max + 0.05 they are not (|grad| ~ 0.3 x 0.05 e^{-t} s*)
    t = sp.max_noise_level(M, n)
    mu = np.zeros((n, 1))
    mu[0, 0], mu[1, 0] = M, -M
    g = reference.grad(mu, np.zeros(1), t)
    assert np.abs(g).max() < 1e-10
    g_off = reference.grad(mu, np.zeros(1), t + 0.05)
    assert np.abs(g_off).max() > 1e-3


@pytest.mark.parametrize("M", [0, -1.0, float("nan"), "4"])
def test_max_noise_level_rejects_bad_M(M):
    with pytest.raises(ValueError, match="M must be a positive number"):
        sp.max_noise_level(M, 3)


def test_gradient_descent_stays_on_the_plateau_and_leaves_when_kicked():
    stay = sp.plateau_run(3, steps=300)
    # engine gradient accuracy 1e-10 (its tol) x unstable growth (1 + 0.1 x 0.34)^300 ~ 2e4
    assert stay.max_deviation < 1e-5
    leave = sp.plateau_run(3, steps=300, kick=1e-2)
    # negative control: the kicked run falls well below L(s*) = 0.9438
    assert leave.final_loss < stay.loss_star - 0.5


# --- the claim -------------------------------------------------------------


@pytest.mark.thorough
def test_claim_quick_budget_holds(run_claim):
    r = run_claim("thm-3.1")
    assert r.verdict == "holds", r.reason


SMALL = dict(recompute=(), ns=(3,), hessian=(), certify=(3,), search=(), engine_check=False)


def test_claim_holds_at_a_small_size():
    # the claim's verdict code at n = 3 (full gradient d = 2 and the certificate), ~10 s
    r = all_claims()["thm-3.1"](**SMALL)
    assert r.verdict == "holds", r.reason
    assert any(f.name.startswith("L(s*)") for f in r.findings)
    # the noise threshold of the exact dynamics beside Theorem 3.1's t <= log(M/s*) (verify explore noise)
    (tc,) = [f for f in r.findings if f.name.startswith("noise threshold t_c")]
    assert tc.value is not None and 0 < tc.value < 0.855 and "Theorem 3.1's t <= 0.855" in tc.note


def test_the_range_boundary_is_checked_on_the_engine_and_rejects_a_wrong_radius():
    """The statement's "in range iff t <= log(M / s*)" is a verdict check (it was evidence only):
    at t = log(M / s*) the unscaled means (M, -M, 0, ..) are stationary (|grad| ~1e-15 against an
    allowance ~1e-13).  Negative control: s*(3) 1e-3 off puts the boundary where |grad| ~2e-4."""
    from verify.claims.thm_3_1 import range_check

    table = {n: dict(row) for n, row in TABLE.items()}
    assert all(r["stationary"] for r in range_check(table, Ms=(4, 10), ns=(3, 5)))
    with mpmath.workdps(50):
        table[3]["s_star"] = mpmath.nstr(mpmath.mpf(TABLE[3]["s_star"]) + mpmath.mpf("1e-3"), 45)
    (wrong,) = range_check(table, Ms=(4,), ns=(3,))
    assert not wrong["stationary"] and wrong["max_abs_grad"] > 1e-4


def test_claim_fails_with_a_wrong_stationary_radius():
    # negative control: s*(3) off by 1e-3 (a wrong constant in place of the table's): the full
    # gradient there is ~3e-4, not 0, and the certificate finds no sign change: "fails"
    with mpmath.workdps(50):
        wrong = mpmath.nstr(mpmath.mpf(TABLE[3]["s_star"]) + mpmath.mpf("1e-3"), 45)
    r = all_claims()["thm-3.1"](**SMALL, s_star={3: wrong})
    assert r.verdict == "fails", r.reason
    assert "certificate failed" in r.reason


def test_mpmath_product_rule_matches_the_float64_rule_on_the_same_nodes():
    # Same 24^2 Gauss-Hermite nodes, dps 30 vs float64: the float64 rounding is ~1e-15,
    # so the rule's error (not its arithmetic) is what the float64 checks measure.
    s = float(TABLE[3]["s_star"])
    a = np.array(sp.construction(3, s, 2), dtype=float) @ random_rotation(2, 5, proper=True).T
    loss_f, g_f = sp.ProductRule(2, 24).evaluate(a)
    loss_m, g_m = sp.ProductRule(2, 24, dps=30).evaluate(a.tolist())
    assert abs(float(loss_m) - loss_f) < 1e-13
    assert np.abs(np.array(g_m, dtype=float) - g_f).max() < 1e-13


def test_the_theorem_2_1_consistency_finding_can_say_contradicts():
    """n e^2 s* > 1 at every n (56.5 at n = 3, the least): "supports"; the control, a table whose n e^2 s*
    fell to 0.9 (as a wrong s* would give), is reported as "contradicts" (it said "supports" always)."""
    from verify.claims.thm_3_1 import findings

    table = {n: dict(row) for n, row in TABLE.items()}

    def relation(ratios):
        (f,) = [f for f in findings(table, {}, {}, {"consistency_with_thm_2_1_n_e2_s_star": ratios})
                if f.name.startswith("n e^2 s*")]
        return f.relation

    assert relation({"3": 3 * np.e**2 * float(TABLE[3]["s_star"])}) == "supports"
    assert relation({"3": 0.9}) == "contradicts"
