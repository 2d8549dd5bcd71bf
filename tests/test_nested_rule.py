"""The quadrature primitives and their error estimates, on integrands whose rule error is far
above rounding (so an estimate that is too small shows), for both paths of the engine:

* the nested lines (verify.engine.nested_lines, verify.engine.nested): the Gauss-Kronrod table, the panel estimate
  |K - G| against the error of G_10 computed independently, the closed-form cells' bound,
  honesty of the whole rule at a loose tolerance against the polar discretization;
* the quadrature of verify.engine.quadrature (still the mpmath path and the all-smooth float64 path):
  the line-panel estimate against the error of the N-node rule (what reusing a rule between
  verifications relies on), the adaptive boxes' estimate against the polar discretization,
  and the grading property of its line panels.
"""

import math

import mpmath
import numpy as np
import pytest

from verify.checks.grids import polar_expectations
from verify.engine.backend import FLOAT64
from verify.engine.expectation import _use_centred, integrand, population_expectations, reduce_float
from verify.engine.gauss_kronrod import gauss_kronrod, gauss_kronrod_float
from verify.engine.junctions import features
from verify.engine.kernels import cell_values, evaluate_nodes, model_arrays
from verify.engine.lines import _line_points, integrate_lines, tail_bound
from verify.engine.nested_lines import integrate_nested
from verify.engine.quadrature import _integrate_box


def test_kronrod_table_is_the_computed_rule_and_has_its_degrees():
    x, kw, gw = gauss_kronrod_float(10)
    X, KW, GW = gauss_kronrod(10)
    assert np.max(np.abs(x - np.array([float(v) for v in X]))) < 1e-16
    assert np.max(np.abs(kw - np.array([float(v) for v in KW]))) < 1e-16
    assert np.max(np.abs(gw - np.array([float(v) for v in GW]))) < 1e-16
    # K21 is exact to degree 31, G10 to degree 19 (and not beyond: the controls)
    assert abs(kw @ x**30 - 2 / 31) < 1e-15 and abs(gw @ x**18 - 2 / 19) < 1e-15
    assert abs(kw @ x**32 - 2 / 33) > 1e-13 and abs(gw @ x**20 - 2 / 21) > 1e-8


def _one_line(mu, mu_star, *, tau, skip_nats, base, radius=9.0, skip_share=0.0):
    red = reduce_float(np.asarray(mu, float), np.asarray(mu_star, float), 0.0)
    M = model_arrays(red, np.eye(red.k), with_grad=True, centred=_use_centred(red))
    Fc = cell_values(red, True)
    mc = 1 + red.n * red.d
    out = integrate_nested(M, features(M.B, M.C), Fc, tau=np.full((red.k, mc), tau), Kb=1e3, skip_nats=skip_nats,
                           radius=radius, base=base, margin=30.0, rule=gauss_kronrod_float(10), skip_share=skip_share)
    return red, out


def test_panel_estimate_is_the_error_of_the_gauss_rule():
    """One mean near m*, one 40 away: inside the box the loss integrand is |a_0|^2 phi(y), and on
    the panels [-9, 0], [0, 9] (no halving, no closed form) G_10 errs by ~1e-7 relative.  The
    panel estimate |K - G| must cover that error (it is what a reused rule relies on) and the
    kept K value must be within it; a tenth of it must not cover it (negative control)."""
    R = 9.0
    red, (val, err, _, _, _) = _one_line([[1.0], [41.0]], [0.0], tau=1e300, skip_nats=1e300, base=R, radius=R)
    exact = 1.0 * (1 - math.erfc(R / math.sqrt(2)))  # |a_0|^2 times the Gaussian mass of [-R, R]
    xg, wg = np.polynomial.legendre.leggauss(10)
    g10 = sum(h * (wg @ (np.exp(-0.5 * (c + h * xg) ** 2) / math.sqrt(2 * math.pi)))
              for c, h in ((-R / 2, R / 2), (R / 2, R / 2)))
    est = err[0, 0]
    assert abs(g10 - exact) > 1e-10  # the rule error is far above rounding here
    assert abs(g10 - exact) <= est <= 2 * abs(g10 - exact) + 1e-15
    assert abs(val[0] - exact) <= est
    assert not abs(g10 - exact) <= est / 10


def test_closed_form_cells_drop_no_more_than_their_bound():
    """A far loser: panels deep in the winner's cell are taken in closed form.  Against the same
    line integrated node by node, the difference is within the dropped-cell bound plus both
    estimates."""
    mu, star = [[0.3], [14.0], [-9.0]], [0.0]
    _, (v1, e1, _, s1, c1) = _one_line(mu, star, tau=1e-14, skip_nats=30.0, base=1.0)
    _, (v2, e2, _, s2, c2) = _one_line(mu, star, tau=1e-14, skip_nats=1e300, base=1.0)
    assert s1 > 0 and s2 == 0 and c1[0] < c2[0]  # some panels were skipped, and it saved nodes
    diff = np.abs(v1 - v2)[:7]
    assert np.all(diff <= s1 + e1.sum(axis=0)[:7] + e2.sum(axis=0)[:7] + 1e-15)


def test_closed_form_by_share_drops_no_more_than_its_bound_and_its_share():
    """The closed form chosen by the tolerance (skip_share) instead of a fixed margin in nats: it
    saves nodes, the difference to the line integrated node by node is within the dropped bound
    plus both estimates, and the dropped bounds add up to at most skip_share of the level's
    tolerance.  Control: skip_share = 0 takes no panel in closed form."""
    mu, star = [[0.3], [14.0], [-9.0]], [0.0]
    tau = 1e-9
    _, (v1, e1, _, s1, c1) = _one_line(mu, star, tau=tau, skip_nats=1e300, base=1.0, skip_share=0.25)
    _, (v2, e2, _, s2, c2) = _one_line(mu, star, tau=tau, skip_nats=1e300, base=1.0, skip_share=0.0)
    assert s1 > 0 and s2 == 0 and c1[0] < c2[0]
    assert s1 <= 0.25 * tau
    diff = np.abs(v1 - v2)[:7]
    assert np.all(diff <= s1 + e1.sum(axis=0)[:7] + e2.sum(axis=0)[:7] + 1e-15)


def test_nested_estimate_is_honest_at_a_loose_tolerance():
    """Sharp k = 2 at tol 1e-6 (estimates far above rounding): measured error against the polar
    discretization (error ~1e-14) within the engine's estimate."""
    mu, star = np.array([[0.0, 0.0], [2.0, 3.0], [-2.0, 2.5]]), np.zeros(2)
    red = reduce_float(mu, star, 0.0)
    ex = population_expectations(red, tol=1e-6)
    v, e = polar_expectations(red, tol=1e-13)
    assert abs(ex.loss - v[0]) <= ex.loss_err + 2 * e[0]
    assert np.all(np.abs(ex.grad_scaled - 2 * v[1:].reshape(mu.shape))
                  <= ex.grad_scaled_err + 4 * e[1:].reshape(mu.shape))
    assert ex.loss_err <= 1e-6 * ex.loss


# -- verify.engine.quadrature (the mpmath path and the all-smooth float64 path) -------------------------


def test_line_panel_estimate_covers_the_n_node_rule():
    """The lines' estimate sum |Q_N - Q_2N| bounds the error of the N-node rule (the rule a reused
    plan applies), on an integrand whose N-node error is ~1e-6: a Lorentzian of half-width 0.3
    times the density, on the unit panels (one mean, so no transition grades them).  Negative
    control: a tenth of the estimate does not bound it."""
    eps, c = 0.3, 0.37

    def f(Z, dens_axes):
        z = Z[:, 0]
        out = 1.0 / (1.0 + ((z - c) / eps) ** 2)
        if dens_axes:
            out = out * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        return out[:, None]

    with mpmath.workdps(30):
        exact = float(mpmath.quad(lambda z: mpmath.npdf(z) / (1 + ((z - c) / eps) ** 2), [-9, c, 9]))
    B, C, P = np.zeros((1, 1)), np.zeros(1), np.empty((1, 0))
    v, e, _, _ = integrate_lines(f, B, C, P, 9.0, FLOAT64, 200_000)
    vn, _, _, _ = integrate_lines(f, B, C, P, 9.0, FLOAT64, 200_000, fast=True)
    err_n = abs(vn[0, 0] - exact)
    assert err_n > 1e-9  # far above rounding
    assert err_n <= e[0, 0] and abs(v[0, 0] - exact) <= e[0, 0]
    assert not err_n <= e[0, 0] / 10


def _grading_violations(edges, centre, width):
    bad = 0
    for a, b in zip(edges[:-1], edges[1:]):
        dist = max(a - centre, centre - b, 0.0)
        if dist > width and (b - a) > dist * (1 + 1e-12):
            bad += 1
    return bad


def test_line_panels_are_graded_toward_each_transition():
    """verify.engine.quadrature's promise: panels farther than one width from an active transition are no
    longer than their distance to it.  Negative control: the same edges without the outermost
    graded pair (one grading level fewer) violate it somewhere."""
    rng = np.random.default_rng(3)
    checked, control_violations = 0, 0
    for _ in range(6):
        mu = rng.normal(size=(3, 2)) * 4
        red = reduce_float(mu, np.zeros(2), 0.0)
        P = rng.normal(size=(4, 1))
        pts = _line_points(red.B, red.C, P, 9.0, FLOAT64)
        for line in range(P.shape[0]):
            edges = np.unique(pts[line])
            for i in range(3):
                for j in range(i + 1, 3):
                    db = red.B[i, 0] - red.B[j, 0]
                    s = (red.C[i] - red.C[j] - (red.B[i, 1:] - red.B[j, 1:]) @ P[line]) / db
                    lg = red.B @ np.concatenate([[s], P[line]]) - red.C
                    w = 1 / abs(db)
                    if lg.max() - lg[i] > FLOAT64.active_margin or abs(s) > 8 or w > 0.5:
                        continue
                    checked += 1
                    assert _grading_violations(edges, s, w) == 0
                    m = max(0, min(math.ceil(math.log2(1 / w)), math.floor(math.log2(18 / w))))
                    outer = np.isclose(np.abs(edges - s), w * 2**m, rtol=1e-9, atol=0)
                    control_violations += _grading_violations(edges[~outer], s, w)
    assert checked >= 10 and control_violations > 0


def test_box_estimate_is_honest_on_a_sharp_k2_configuration():
    """The adaptive boxes of verify.engine.quadrature (forced here; float64 now takes the nested path) at
    a loose tolerance: measured error against the polar discretization within the estimate."""
    mu, star = np.array([[0.0, 0.0], [2.0, 1.5], [-1.5, 1.8]]), np.zeros(2)
    red = reduce_float(mu, star, 0.0)
    f = integrand(red, FLOAT64, True)
    amax = red.amax
    bound_scale = max(amax**2, amax + 2 * amax**3, 2 * amax**2)
    tol = 1e-7
    v, e = polar_expectations(red, tol=1e-13)
    ncol = 1 + red.n * red.d

    def accept(value, error):
        return bool(np.all(error[:ncol] <= tol * np.maximum(np.abs(value[:ncol]), abs(value[0]))))

    res = _integrate_box(f, red.B, red.C, 2, 9.0, bound_scale * tail_bound(9.0, 2), FLOAT64, accept, 4000,
                         200_000, lambda value: 1.0)
    assert res.error[0] > 1e-14  # an estimate far above rounding
    # the box columns are [loss, G (half gradient), rounding bounds]; polar's are [loss, G]
    assert np.all(np.abs(res.value[:ncol] - v) <= res.error[:ncol] + np.abs(res.value[ncol]) + 2 * e)


def test_closed_form_cells_by_nats_respect_a_result_far_below_one(monkeypatch):
    """Theorem 3.5's stage 1 (n = 2, d = 1, M0 = 14): the winner within 3e-6 of m*, the loser at
    14.87, so L ~ 1e-11 while the integrand's bound Kb is ~ 400.  A cell taken in closed form by
    nats drops up to e^-40 per unit mass (~4e-18), more than tol L = 1e-21 at tol 1e-10: the
    nats must grow with the result's smallness (verify.engine.nested._skip_for).  Checked against
    mpmath at 40 digits (an independent rule: mpmath.quad).  The negative control: the fixed
    e^-40 threshold (the rule before _skip_for) cannot certify this point and refuses."""
    from verify.engine import nested
    from verify.engine import reference as R

    mu, ms = np.array([[3.3994e-06], [14.8667285]]), np.zeros(1)
    ev = R.evaluate(mu, ms, 0.0, tol=1e-10)
    em = R.evaluate_mp(mu, ms, 0.0, dps=40)
    L = float(em.loss)
    g = np.array([float(x) for x in np.ravel(em.grad)]).reshape(ev.grad.shape)
    assert abs(ev.loss - L) <= ev.loss_err <= 1e-10 * L
    assert np.all(np.abs(ev.grad - g) <= ev.grad_err)
    monkeypatch.setattr(nested, "_skip_for", lambda st, target: st)  # the fixed e^-40 threshold only
    with pytest.raises(R.AccuracyError, match="cannot be met"):
        R.evaluate(mu, ms, 0.0, tol=1e-10)


def _worst_cell_ratio(red, st, Y):
    """max over means m, columns and nodes y of |F(y) - F(cell m)| / (1 - w_m(y)): what the
    closed-form cells' bound Kb must cover (1 - w_m summed from the other weights, accurate)."""
    n, d, k = red.n, red.d, red.k
    mc = st.mc
    F = evaluate_nodes(Y, st.model.P, n, k, d, st.model.m)[:, :mc]
    lg = Y @ st.model.B.T - st.model.C
    worst = 0.0
    for m in range(n):
        e = np.exp(lg[:, [i for i in range(n) if i != m]] - lg[:, [m]]).sum(axis=1)
        worst = max(worst, float(np.max(np.abs(F - st.Fcell[m, :mc]).max(axis=1) * (1 + e) / e)))
    return worst


@pytest.mark.parametrize("seed", [0, 4])
def test_cell_bound_covers_the_whole_box_corners_included(seed):
    """Kb (verify.engine.nested_setup.setup) bounds |F - F_m| / (1 - w_m) on the whole box
    [-R, R]^k, whose corners lie at |z| = R sqrt(k): n = 4, d = 3 (k = 3), means ~N(0, 0.25 I),
    R = 8, sampled at the corners and 2000 uniform points.  Measured: the ratio reaches 0.48 and
    0.58 of Kb at these seeds.  Negative control: Kb with |z| <= R / sqrt(k) in place of R sqrt(k)
    (a box mistaken for a smaller ball) is exceeded there (1.14 and 1.33 of it)."""
    import itertools

    from verify.engine.nested_setup import setup

    rng = np.random.default_rng(seed)
    mu = rng.normal(0.0, 0.5, (4, 3))
    red = reduce_float(mu, np.zeros(3), 0.0)
    R = 8.0
    Y = np.vstack([np.array(list(itertools.product([-R, R], repeat=red.k))), rng.uniform(-R, R, (2000, red.k))])
    st = setup(red, np.eye(red.k), True, False, R)
    worst = _worst_cell_ratio(red, st, Y)
    assert worst <= st.Kb
    wrong = setup(red, np.eye(red.k), True, False, R / red.k)  # its zmax = R / sqrt(k)
    assert worst > wrong.Kb


def test_a_junction_buried_under_another_mean_gets_no_edge():
    """verify.engine.panel_edges._on_top: a junction's place matters only where its own cells are
    within ``margin`` nats of the top (beyond, the integrand's structure there is below e^-margin
    of its size).  Three means, k = 1, logits l = B y - C: at y = 0 the junction of cells 0 and 1
    (both logits 0) lies under cell 2 (logit 40): not on top at margin 30; on top at margin 50,
    or when cell 2 is one of the junction's cells.  The wrong variant that counts every mean as a
    member of the junction (so nothing is ever buried) fails the first assertion."""
    from verify.engine.panel_edges import _on_top

    B, C = np.array([1.0, -1.0, 0.0]), np.array([0.0, 0.0, -40.0])
    P = np.concatenate([B, C])
    lg, y = np.empty(3), np.zeros(1)
    assert not _on_top(np.array([0, 1, -1]), y, P, 3, 1, 30.0, lg)
    assert _on_top(np.array([0, 1, -1]), y, P, 3, 1, 50.0, lg)
    assert _on_top(np.array([2, 0, -1]), y, P, 3, 1, 30.0, lg)


@pytest.mark.parametrize("a, b", [(-3.0, -1.0), (-22.0, -20.0), (1.0, 3.0), (20.0, 22.0), (-1.0, 2.0), (-0.5, 0.0)])
def test_gaussian_mass_of_a_panel_against_mpmath(a, b):
    """verify.engine.panel_edges.gaussian_mass, the mass a closed-form cell is weighted by, on
    each of its three branches (left of 0, right of 0, across it) and far in both tails, against
    mpmath's normal cdf, ncdf(b) - ncdf(a), at 130 digits (enough for the cancellation of masses down
    to 1e-88 next to 1; beyond ~1e-308 float64 itself is subnormal).  Tolerance 1e-13 relative: each
    branch subtracts two erfc values far apart or at most a factor ~2 apart (no cancellation), and
    math.erfc itself is good to 1.5e-14 relative at x ~ 15 (measured on [20, 22]), a few ulps nearer 0.
    Rejects a sign lost in the left branch (erfc(b / sqrt 2) for erfc(-b / sqrt 2): mass 0.84 for
    [-3, -1] instead of 0.157)."""
    from verify.engine.panel_edges import gaussian_mass

    with mpmath.workdps(130):
        ref = mpmath.ncdf(b) - mpmath.ncdf(a)
        assert abs(gaussian_mass(a, b) - ref) <= 1e-13 * ref


@pytest.mark.parametrize("centred", [True, False])
def test_compiled_integrand_is_the_numpy_integrand_in_both_forms(centred):
    """verify.engine.kernels.integrand promises the formulas, rounding bounds and columns of
    verify.engine.expectation.integrand (float64), in the form _use_centred picks: centred (a
    cluster of spread ~0.3 whose centroid is 1e-3 from m*, Theorem 2.1's tail) and reference (means 2-3
    apart).  Value columns agree to 1e-14 of their scale (the two differ only in the order of the
    sums), the rounding-bound columns to 1e-12 relative.  Rejects the centred weights' offsets
    scaled by sum e^u squared (W_j (sum e^u) for W_j / sum e^u), read from the wrong mean, or a
    rounding bound summed over the wrong mean's offset."""
    rng = np.random.default_rng(3)
    if centred:
        mu = 0.2 * rng.normal(size=(4, 3))
        mu = mu - mu.mean(axis=0) + 1e-3  # the centroid 1e-3 from m*, the spread ~0.3
    else:
        mu = np.array([[0.3, -0.2, 0.1], [2.1, 0.9, -0.5], [-0.7, 2.4, 0.3], [0.2, 0.1, 2.6]])
    red = reduce_float(mu, np.zeros(3), 0.0)
    assert _use_centred(red) is centred
    k, n, d = red.k, red.n, red.d
    Y = rng.normal(size=(200, k)) * 2.0
    model = model_arrays(red, np.eye(k), with_grad=True, centred=centred)
    got = evaluate_nodes(Y, model.P, n, k, d, model.m)
    want = integrand(red, FLOAT64, True)(Y, 0)
    nv = 1 + n * d
    scale = np.max(np.abs(want[:, :nv]), axis=0)
    assert np.all(np.abs(got[:, :nv] - want[:, :nv]) <= 1e-14 * scale + 2 * want[:, [nv]] + 1e-300)
    assert np.allclose(got[:, nv:], want[:, nv:], rtol=1e-12, atol=0)
