"""Accuracy of the reference engine against independent, more accurate computations.

Errors are normwise and relative: the loss to |L|, the gradient to
max(max_ij |grad_ij|, L).  Each test also checks that the engine's own error
estimate is honest: measured error <= estimate (+ the reference's own error).
"""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st

from verify.engine import reference
from verify.testing import strategies
from verify.engine.expectation import population_expectations, reduce_float
from verify.checks.grids import polar_expectations, rotated_expectations
from verify.engine.reference import AccuracyError


def _rel_errors(ev, L_ref, G_ref):
    gscale = max(float(np.max(np.abs(G_ref))), L_ref)
    return (abs(ev.loss - L_ref) / L_ref, float(np.max(np.abs(ev.grad_scaled - G_ref))) / gscale,
            ev.loss_err / L_ref, float(np.max(ev.grad_scaled_err)) / gscale)


def _mp_ref(mu, mu_star, t, dps=30):
    ev = reference.evaluate_mp(np.asarray(mu).tolist(), np.asarray(mu_star).tolist(), t, dps=dps)
    return float(ev.loss), np.array([[float(x) for x in r] for r in ev.grad_scaled])


# -- k = 1: against mpmath at 40 digits (its own error ~1e-35, negligible) -----------------


@settings(max_examples=4)
@given(strategies.configurations(n=2, d=1, max_offset=4.0, max_distance=8.0, max_t=3.0))
def test_k1_float64_within_1e12_of_mpmath(cfg):
    ev = reference.evaluate(cfg.mu, cfg.mu_star, cfg.t)
    if ev.loss == 0:
        return
    L_ref, G_ref = _mp_ref(cfg.mu, cfg.mu_star, cfg.t)
    eL, eG, estL, estG = _rel_errors(ev, L_ref, G_ref)
    assert max(eL, eG) <= 1e-12, (eL, eG)
    # honest estimate (the mp reference's own error is ~1e-35: negligible)
    assert eL <= estL and eG <= estG, (eL, estL, eG, estG)


@pytest.mark.parametrize(
    "mu, mu_star, t, target",
    [
        ([[0.2], [8.2]], [0.0], 0.0, 1e-12),  # distance 8
        ([[0.0, 0.0], [1.0, 1.0], [2.5, 2.5], [-3.0, -3.0]], [0.5, 0.0], 0.7, 1e-12),  # collinear, k = 1
        ([[0.05], [7.0], [14.0]], [0.0], 0.0, 1e-9),  # beyond distance 8: a loser far out
        ([[0.0136], [7.0358]], [0.0], 0.0, 1e-9),  # far loser, small loss (regression: tail radius)
        ([[1e12], [1e12 + 1.5]], [1e12 + 0.3], 0.0, 1e-9),  # huge coordinates
        # a symmetric pair at tol 1e-12: the logits' rounding bounded with |off_j| instead of
        # |off_j - X| (verify/engine/rounding.py) made the gradient's rounding bound exceed it
        ([[3.75], [-3.75]], [0.0], 0.0, 1e-12),
    ],
)
def test_k1_regimes_against_mpmath(mu, mu_star, t, target):
    ev = reference.evaluate(mu, mu_star, t, tol=max(target, 1e-12))
    L_ref, G_ref = _mp_ref(mu, mu_star, t)
    eL, eG, estL, estG = _rel_errors(ev, L_ref, G_ref)
    assert max(eL, eG) <= target
    # At |mu| ~ 1e12 the inputs themselves are rounded relative to the mpmath
    # reference (which parses the same float64 values exactly), so the comparison
    # is exact up to the engine's own arithmetic: the estimate must still cover it.
    assert eL <= estL and eG <= estG


def test_mpmath_k1_has_30_digits_at_dps_50():
    mu, star, t = [["0.3"], ["-1.7"], ["2.9"]], ["0.1"], "0.4"
    a = reference.evaluate_mp(mu, star, t, dps=50)
    b = reference.evaluate_mp(mu, star, t, dps=70)
    with mpmath.workdps(80):
        dl = abs(a.loss - b.loss) / b.loss
        gs = max(abs(y) for r in b.grad for y in r)
        dg = max(abs(x - y) for ra, rb in zip(a.grad, b.grad) for x, y in zip(ra, rb)) / gs
        assert dl < mpmath.mpf(10) ** -45 and dg < mpmath.mpf(10) ** -45  # dps - 5 digits
        # and the dps-50 estimate covers the measured error
        assert abs(a.loss - b.loss) <= a.loss_err + mpmath.mpf(10) ** -60


# -- k = 2: against the polar discretization (verify.checks.grids) --------------------------


@pytest.mark.parametrize(
    "mu, mu_star, t, target",
    [
        ([[0.3, -0.2], [1.1, 0.9], [-0.7, 1.4]], [0.0, 0.0], 0.2, 1e-12),
        # pairwise distances up to 8: both axes sharp, adaptive boxes: minutes on a loaded machine
        pytest.param([[0.0, 0.0], [4.0, 6.5], [-4.0, 5.0]], [0.5, 0.5], 0.05, 1e-12, marks=pytest.mark.thorough),
    ],
)
def test_k2_against_polar(mu, mu_star, t, target):
    mu, mu_star = np.array(mu), np.array(mu_star)
    ev = reference.evaluate(mu, mu_star, t)
    red = reduce_float(mu, mu_star, t)
    v, e = polar_expectations(red, tol=1e-13)
    L_ref, G_ref = v[0], 2 * v[1:].reshape(mu.shape)
    eL, eG, estL, estG = _rel_errors(ev, L_ref, G_ref)
    ref_L, ref_G = e[0] / L_ref, 2 * float(np.max(e[1:])) / max(float(np.max(np.abs(G_ref))), L_ref)
    assert max(eL, eG) <= target
    assert eL <= estL + 2 * ref_L and eG <= estG + 2 * ref_G


@pytest.mark.thorough
def test_k2_beyond_distance_8_against_polar():
    mu, mu_star = np.array([[0.0, 0.1], [9.0, 6.0], [-7.0, 8.0]]), np.zeros(2)
    ev = reference.evaluate(mu, mu_star, 0.0, tol=1e-9)
    v, e = polar_expectations(reduce_float(mu, mu_star, 0.0), tol=1e-12)
    eL, eG, estL, estG = _rel_errors(ev, v[0], 2 * v[1:].reshape(mu.shape))
    assert max(eL, eG) <= 1e-9


# -- k = 3, 4 near-collapsed (the large-noise regime): against a rotated Gauss-Hermite grid --


@pytest.mark.parametrize("n, d", [(5, 3), (5, 4)])
def test_near_collapsed_k3_k4_against_rotated_grid(n, d):
    rng = np.random.default_rng(n * 10 + d)
    mu = 0.04 * rng.standard_normal((n, d))
    mu[:, 0] += 1.0
    mu_star = np.zeros(d)
    ev = reference.evaluate(mu, mu_star, 0.3)
    assert ev.k == min(d, n - 1)
    L_ref, eL_ref, G_ref, eG_ref = rotated_expectations(mu, mu_star, 0.3, seed=1)
    eL, eG, estL, estG = _rel_errors(ev, L_ref, G_ref)
    assert max(eL, eG) <= 1e-12
    gscale = max(float(np.max(np.abs(G_ref))), L_ref)
    assert eL <= estL + eL_ref / L_ref and eG <= estG + float(np.max(eG_ref)) / gscale


def test_rotated_grid_check_rejects_a_perturbed_configuration():
    """Negative control: the same comparison against a configuration moved by 1e-9 fails."""
    rng = np.random.default_rng(53)
    mu = 0.04 * rng.standard_normal((5, 3))
    mu[:, 0] += 1.0
    ev = reference.evaluate(mu, np.zeros(3), 0.3)
    mu2 = mu.copy()
    mu2[0, 0] += 1e-9
    L_ref, _, G_ref, _ = rotated_expectations(mu2, np.zeros(3), 0.3, seed=1)
    eL, eG, _, _ = _rel_errors(ev, L_ref, G_ref)
    assert max(eL, eG) > 1e-12


# -- closed forms and limits -----------------------------------------------------------------


@given(st.integers(1, 5), st.integers(1, 3), st.floats(0, 3))
def test_collapsed_means_closed_form(n, d, t):
    """All means equal at c: w uniform, L = |c - m*|^2, dL/dm_i = 2 (c - m*) / n (exactly)."""
    c = np.linspace(0.3, 1.1, d)
    mu = np.tile(c, (n, 1))
    mu_star = np.zeros(d)
    a = math.exp(-t) * c
    ev = reference.evaluate(mu, mu_star, t)
    assert ev.k == 0
    assert ev.loss == pytest.approx(float(a @ a), rel=1e-15)
    np.testing.assert_allclose(ev.grad_scaled, np.tile(2 * a / n, (n, 1)), rtol=1e-15)
    np.testing.assert_allclose(ev.grad, math.exp(-t) * ev.grad_scaled, rtol=1e-15)


#: k = 0 where the unscaled gradient's rounding exceeds e^-t times the scaled one's old estimate
#: (s * 2 eps |Gs|: 2.68e-18 against 2.02e-18; found by a review, then by a search near its numbers)
K0_UNSCALED = dict(n=7, d=1, t=3.460650622617942, c=-6.737713686813933, m_star=9.434191199515178)


def _collapsed_exact(c, m_star, t):
    """a_j = e^-t (c_j - m*_j) at the working precision (the exact value of the float inputs)."""
    return [mpmath.exp(-mpmath.mpf(t)) * (mpmath.mpf(x) - mpmath.mpf(y)) for x, y in zip(c, m_star)]


@settings(max_examples=40)
@given(st.integers(1, 5), st.integers(1, 3), st.floats(0, 3),
       st.lists(st.floats(-1e6, 1e6, allow_subnormal=False), min_size=6, max_size=6))
@example(K0_UNSCALED["n"], K0_UNSCALED["d"], K0_UNSCALED["t"],
         [K0_UNSCALED["c"], 0.0, 0.0, K0_UNSCALED["m_star"], 0.0, 0.0])
def test_collapsed_means_error_estimates_cover_the_rounding(n, d, t, xs):
    """k = 0 has no quadrature, only rounding: its estimates cover the error against mpmath at
    50 digits from the same float inputs (an estimate of 0, what the closed form reported
    before, fails here whenever the float64 value is not exact), for the loss and both gradients:
    the unscaled one, e^-t times the scaled one, rounds once more in the product and in e^-t
    itself (the explicit example failed while its estimate was s times the scaled one's)."""
    c, m_star = np.array(xs[:d]), np.array(xs[3:3 + d])
    ev = reference.evaluate(np.tile(c, (n, 1)), m_star, t)
    assert ev.k == 0
    with mpmath.workdps(50):
        a = _collapsed_exact(c, m_star, t)
        s = mpmath.exp(-mpmath.mpf(t))
        L = mpmath.fsum(x * x for x in a)
        assert abs(ev.loss - L) <= ev.loss_err
        for i in range(n):
            for j in range(d):
                assert abs(ev.grad_scaled[i, j] - 2 * a[j] / n) <= ev.grad_scaled_err[i, j]
                assert abs(ev.grad[i, j] - s * 2 * a[j] / n) <= ev.grad_err[i, j]


def test_collapsed_means_unscaled_estimate_without_the_unscalings_rounding_fails():
    """The negative control of the unscaled check above: at K0_UNSCALED the old form of the
    estimate, e^-t times the scaled closed form's old bound 2 eps |Gs| (+ its subnormal term), is
    below the measured error, so the check rejects it; the engine's estimate covers the error."""
    k = K0_UNSCALED
    ev = reference.evaluate(np.full((k["n"], 1), k["c"]), [k["m_star"]], k["t"])
    assert ev.k == 0
    eps = np.finfo(float).eps
    old = math.exp(-k["t"]) * (2 * eps * abs(ev.grad_scaled[0, 0]) + 2.0**-1070)
    with mpmath.workdps(50):
        (a,) = _collapsed_exact([k["c"]], [k["m_star"]], k["t"])
        err = abs(ev.grad[0, 0] - mpmath.exp(-mpmath.mpf(k["t"])) * 2 * a / k["n"])
    assert err > old
    assert err <= ev.grad_err[0, 0]


def test_mpmath_estimates_include_the_rounding_to_dps():
    """The mpmath functions work at dps + 10 digits and return values rounded to dps digits: the
    estimates must cover that rounding too.  k = 0 against the closed form at 60 digits (loss and
    both gradients), k = 1 against dps = 40 (plus that reference's own estimate).  Negative control:
    at k = 0 the error of the returned loss exceeds the working precision's rounding bound, which
    was all its estimate counted (8e-31 against an error of 1.2e-23)."""
    c, m_star, t, n, dps = "0.1", "0.7", "0.3", 3, 20
    ev = reference.evaluate_mp([[c]] * n, [m_star], t, dps=dps)
    assert ev.k == 0
    with mpmath.workdps(60):
        s = mpmath.exp(-mpmath.mpf(t))
        a = s * (mpmath.mpf(c) - mpmath.mpf(m_star))
        err = abs(ev.loss - a * a)
        assert err <= ev.loss_err
        for i in range(n):
            assert abs(ev.grad_scaled[i][0] - 2 * a / n) <= ev.grad_scaled_err[i][0]
            assert abs(ev.grad[i][0] - s * 2 * a / n) <= ev.grad_err[i][0]
        working = (1 + 9) * mpmath.mpf(2) ** (1 - mpmath.libmp.dps_to_prec(dps + reference.MP_GUARD)) / 2 * a * a
        assert err > working
    mu, star = [["0.1"], ["0.5"], ["0.1"]], ["0.7"]
    ev, ref = reference.evaluate_mp(mu, star, t, dps=dps), reference.evaluate_mp(mu, star, t, dps=40)
    assert ev.k == 1
    assert abs(ev.loss - ref.loss) - ref.loss_err <= ev.loss_err
    for G, Ge, R, Re in ((ev.grad, ev.grad_err, ref.grad, ref.grad_err),
                         (ev.grad_scaled, ev.grad_scaled_err, ref.grad_scaled, ref.grad_scaled_err)):
        for i in range(3):
            assert abs(G[i][0] - R[i][0]) - Re[i][0] <= Ge[i][0]


def test_collapsed_means_estimate_is_not_zero_where_the_value_rounds():
    """The negative control of the test above: at this configuration the float64 loss differs
    from the exact one, so an estimate of 0 would be a false claim of exactness."""
    c, m_star, t = np.array([0.1, 0.7]), np.array([0.3, -0.2]), 0.3
    ev = reference.evaluate(np.tile(c, (3, 1)), m_star, t)
    with mpmath.workdps(50):
        a = [mpmath.exp(-mpmath.mpf(t)) * (mpmath.mpf(x) - mpmath.mpf(y)) for x, y in zip(c, m_star)]
        err = abs(ev.loss - mpmath.fsum(x * x for x in a))
    assert err > 0 and ev.loss_err >= err


@pytest.mark.parametrize("mu, m_star", [
    ([[1e154, 0.0], [1.0, 0.0]], [0.3, 0.1]),  # amax^3 overflowed (OverflowError)
    ([[1e155, 0.0], [1.0, 0.0]], [0.3, 0.1]),  # C overflowed: a value with a NaN estimate
    ([[1.0, 0.0], [2.0, 0.5]], [1e160, 0.1]),  # a far truth: inf with a NaN estimate
    ([[1e300, 0.0], [1e300, 0.0]], [-1e300, 0.1]),  # collapsed (k = 0): |a|^2 overflowed to inf
])
def test_beyond_float64_range_is_refused_and_mpmath_takes_it(mu, m_star):
    """Finite inputs whose scale overflows float64's bounds: AccuracyError naming the range and the
    mpmath functions (never an OverflowError, inf or a NaN estimate), and those functions answer."""
    for f in (reference.loss, reference.grad):
        with pytest.raises(AccuracyError, match="beyond the float64 engine's range.*mpmath"):
            f(mu, m_star, 0.5, error=True)
    L, eL = reference.loss_mp(mu, m_star, "0.5", dps=20, error=True)
    assert mpmath.isfinite(L) and 0 <= eL <= 1e-15 * abs(L)


def test_the_range_refusal_names_what_it_measured():
    """Two checks refuse: the largest coordinate of e^-t (mu_i - mu*) first (before any square can
    overflow), then the largest norm.  Each message names its own quantity with its value: a huge
    coordinate is not reported as a norm (the message did, whatever was checked), and a norm beyond
    the range whose coordinates are all within it (the control) is reported as the norm."""
    from verify.engine.expectation import COORDINATE
    from verify.engine.lines import FLOAT64_AMAX as A
    with pytest.raises(AccuracyError) as coord:
        reference.loss([[1.01 * A, 0.0], [0.0, 0.0]], [0.0, 0.0], 0.0)
    assert str(coord.value).startswith(f"{COORDINATE} = {1.01 * A:.3g} is beyond")
    assert "max_i |mu_i - mu*|" not in str(coord.value)
    with pytest.raises(AccuracyError) as norm:  # coordinates 0.8 A, within; the norm 1.13 A, beyond
        reference.loss([[0.8 * A, 0.8 * A], [0.0, 0.0]], [0.0, 0.0], 0.0)
    assert str(norm.value).startswith(f"max_i |mu_i - mu*| e^-t = {math.hypot(0.8 * A, 0.8 * A):.3g} is beyond")


def test_float64_range_check_lets_large_configurations_within_it_through():
    """The negative control of the refusal: |a| ~ 1e100, inside FLOAT64_AMAX, is computed with a
    finite estimate (the far mean has weight 0: the loss is the near one's)."""
    from verify.engine.lines import FLOAT64_AMAX
    assert 1e100 < FLOAT64_AMAX
    L, eL = reference.loss([[1e100, 0.0], [1.0, 0.0]], [0.3, 0.1], 0.5, error=True)
    assert math.isfinite(L) and 0 <= eL <= 1e-12 * L


def test_grad_is_exp_minus_t_times_grad_scaled():
    mu, star, t = [[0.1, 0.4], [1.3, -0.2], [0.0, 2.0]], [0.3, 0.3], 0.8
    g, gs = reference.grad(mu, star, t), reference.grad_scaled(mu, star, t)
    np.testing.assert_allclose(g, math.exp(-t) * gs, rtol=1e-15)


def test_error_flag_returns_estimates_of_the_same_shape():
    mu, star = [[0.1, 0.4], [1.3, -0.2]], [0.3, 0.3]
    L, eL = reference.loss(mu, star, 0.5, error=True)
    G, eG = reference.grad(mu, star, 0.5, error=True)
    assert isinstance(L, float) and 0 <= eL <= 1e-12 * L
    assert G.shape == eG.shape == (2, 2) and np.all(eG >= 0)
    Gm, eGm = reference.grad_mp(mu, star, "0.5", dps=30, error=True)
    assert len(Gm) == 2 and len(eGm[0]) == 2


def test_unreachable_tolerance_raises():
    """Asking for more than the work budget allows gives AccuracyError, not a number."""
    # (a sharp k = 2 configuration that the nested rule settles in ~2e5 nodes, well under a second)
    mu, star = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]]), np.zeros(2)
    red = reduce_float(mu, star, 0.0)
    with pytest.raises(AccuracyError, match="integrand evaluations"):
        population_expectations(red, tol=1e-12, max_nodes=2000)
    # negative control: the same configuration and tolerance with the default budget succeeds
    population_expectations(red, tol=1e-12)


def test_mpmath_resolves_exponentially_close_means():
    """Means 1e-400 apart at m* = 0: float64 rounds them to one point, mpmath resolves them.
    The gradients are then first order in the deviation, so doubling it doubles them to the
    working precision (negative control: float64 returns exactly zero)."""

    def grads(eps):
        g = reference.grad_scaled_mp([["0"], [eps]], ["0"], "0", dps=40)
        return g[0][0], g[1][0]

    a1, b1 = grads("1e-400")
    a2, b2 = grads("2e-400")
    assert a1 != 0 and b1 != 0
    with mpmath.workdps(40):
        assert abs(a2 / a1 - 2) < mpmath.mpf(10) ** -30
        assert abs(b2 / b1 - 2) < mpmath.mpf(10) ** -30
    gf = reference.grad_scaled([[0.0], [1e-400]], [0.0], 0.0)  # 1e-400 underflows to 0 in float64
    assert np.all(gf == 0)


def test_far_mean_listed_first_keeps_the_small_loss():
    """Regression: with the far mean first, v = a_0 + sum w_j (a_j - a_0) lost |a_0| * eps.
    The engine now takes the mean nearest m* as reference; the order of the means cannot matter."""
    L1, e1 = reference.loss([[1.03e12], [2.8e-5]], [0.0], 0.0, error=True)
    L2, e2 = reference.loss([[2.8e-5], [1.03e12]], [0.0], 0.0, error=True)
    assert L1 == pytest.approx(2.8e-5**2, rel=1e-12) and L1 == L2


@pytest.mark.parametrize("delta, t", [(1e-3, 0.0), (3e-3, 0.8)])
def test_cluster_centred_at_m_star_keeps_relative_accuracy(delta, t):
    """Theorem 2.1's tail: the means form a cluster of spread delta whose centroid is at m*,
    so v ~ delta^2, L ~ delta^4 and the gradient ~ delta^3.  Formed as a_r + sum_j w_j D_j,
    v carries eps delta of rounding, a normwise relative eps / delta^2 in the gradient (~1e-9
    here); the engine forms it as c + sum_j (w_j - 1/n)(a_j - c) where that bound is smaller.
    Against mpmath at 30 digits: within 1e-10 and within the engine's own estimate."""
    s = math.exp(t)
    mu = [[s * delta], [s * delta * -0.2], [s * delta * -0.8]]  # centroid exactly 0 = mu*
    ev = reference.evaluate(mu, [0.0], t, tol=1e-10)
    L_ref, G_ref = _mp_ref(mu, [0.0], t)
    eL, eG, estL, estG = _rel_errors(ev, L_ref, G_ref)
    assert max(eL, eG) <= 1e-10 and eL <= estL and eG <= estG, (eL, estL, eG, estG)
    assert L_ref < 10 * delta**4  # the regime is the one described (v ~ delta^2)
    # negative control: the reference form alone cannot certify 1e-10 here (its rounding bound
    # exceeds the tolerance, so the engine refuses), which is what the centred form is for
    red = reduce_float(np.array(mu), np.zeros(1), t)
    red.c = red.E = None
    with pytest.raises(AccuracyError, match="rounding bound"):
        population_expectations(red, tol=1e-10)


# The lower end of the float64 range (verify.engine.lines.FLOAT64_AMIN): README's example at large t.
_LOW_MU, _LOW_STAR = np.array([[1.0, 0.5], [-0.7, 0.2], [0.1, -0.9]]), np.array([0.2, -0.1])


def _t_at_amax(amax):
    """The t at which README's example has max_ij |mu_ij - mu*_j| e^-t = amax (what the lower check measures)."""
    return math.log(float(np.max(np.abs(_LOW_MU - _LOW_STAR))) / amax)


def test_just_above_the_lower_range_the_estimates_cover_the_errors():
    """Control of the lower refusal: at a largest coordinate of 1.01 FLOAT64_AMIN (t ~ 336.06) the loss and the
    gradient are returned, and their estimates cover the errors measured against mpmath."""
    from verify.engine.lines import FLOAT64_AMIN
    t = _t_at_amax(1.01 * FLOAT64_AMIN)
    L, eL = reference.loss(_LOW_MU, _LOW_STAR, t, error=True)
    G, eG = reference.grad(_LOW_MU, _LOW_STAR, t, error=True)
    Lm = reference.loss_mp(_LOW_MU, _LOW_STAR, t, dps=30)
    Gm = reference.grad_mp(_LOW_MU, _LOW_STAR, t, dps=30)
    assert 0 < eL and abs(L - Lm) <= eL
    for i in range(3):
        for j in range(2):
            assert abs(G[i, j] - Gm[i][j]) <= eG[i, j]


@pytest.mark.parametrize("t", ["below", 355.0, 360.0, 370.0, 400.0])
def test_below_the_lower_range_the_engine_refuses(t):
    """Negative control: amax in (0, FLOAT64_AMIN) is refused with BelowRangeError (not a
    RangeError: that one means too far).  The previous engine returned wrong values with estimate
    ~0 there: t = 355 relative error 8.4e-12 (estimate 2.5e-323), t = 360 1.8e-9 (estimate 0),
    t = 370 and 400 the loss 0.0 (true 2.3e-324, 2e-350), and the gradient at 370 -2e-323 entries
    with estimate 0.  The mpmath functions answer."""
    from verify.engine.lines import FLOAT64_AMIN
    from verify.engine.tolerances import BelowRangeError, RangeError
    if t == "below":
        t = _t_at_amax(0.99 * FLOAT64_AMIN)
    for f in (reference.loss, reference.grad, reference.evaluate):
        with pytest.raises(BelowRangeError, match=r"^max_ij \|mu_ij - mu\*_j\| e\^-t = .* is below .*loss_mp") as exc:
            f(_LOW_MU, _LOW_STAR, t)
        assert not isinstance(exc.value, RangeError) and "\n" not in str(exc.value)
    assert reference.loss_mp(_LOW_MU, _LOW_STAR, t, dps=20) > 0


def test_all_means_at_mu_star_and_the_k0_closed_form_pass_below_the_lower_range():
    """Control: amax == 0 (every mean at mu*) and the k = 0 closed form (all means at one point,
    which counts subnormal roundings absolutely) are not refused at t = 370 (amax ~ 1e-161 < AMIN),
    and the closed form's estimate covers its error against mpmath."""
    ev = reference.evaluate(np.array([_LOW_STAR, _LOW_STAR]), _LOW_STAR, 370.0)
    assert ev.loss == 0 and ev.loss_err >= 0
    one = np.array([[1.0, 0.5], [1.0, 0.5]])
    for t in (340.0, 360.0, 370.0, 400.0, 700.0):
        L, eL = reference.loss(one, _LOW_STAR, t, error=True)
        G, eG = reference.grad(one, _LOW_STAR, t, error=True)
        assert abs(L - reference.loss_mp(one, _LOW_STAR, t, dps=30)) <= eL
        Gm = reference.grad_mp(one, _LOW_STAR, t, dps=30)
        assert all(abs(G[i, j] - Gm[i][j]) <= eG[i, j] for i in range(2) for j in range(2))


def test_subnormal_exp_minus_t_is_refused():
    """Negative control: t = 720 makes e^-t subnormal (its libm value errs by 2.4e-11 relative, not
    the ulp the engine counts), so with |mu - mu*| = 1e300 (a = 2e-13, squares well inside the
    range) the previous engine returned a loss wrong by ~5e-11 relative with a ~1e-15 estimate;
    it is refused now, for the k = 0 closed form as well.  Control: t = 700 (e^-t normal) passes."""
    from verify.engine.tolerances import BelowRangeError
    s = math.exp(-720.0)
    assert abs(s - mpmath.exp(-720)) / mpmath.exp(-720) > 1e-12  # what the previous engine used
    for mu in ([[1e300, 0.0]], [[1e300, 0.0], [1e300, 1e290]]):
        with pytest.raises(BelowRangeError, match=r"^e\^-t = .* is below float64's normal numbers"):
            reference.loss(mu, [0.0, 0.0], 720.0)
    L, eL = reference.loss([[1e300, 0.0]], [0.0, 0.0], 700.0, error=True)
    assert abs(L - reference.loss_mp([[1e300, 0.0]], [0.0, 0.0], 700, dps=30)) <= eL
