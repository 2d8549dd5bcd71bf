"""The engine's bounds pinned to their derivations: the closed-form cells' bound Kb, the integrand
bounds that fix the truncation radius (``bound_scale``) and the tail's targets (the rounding
bounds: tests/test_rounding_bounds.py).

These bounds are loose by construction, so a test of the form "bound >= true value" cannot see a
weakened bound, and a slightly larger one changes no value a test sees.  Each test here checks a
property the derivation gives instead: a bound attained in a limit the test builds (the sup
computed independently on a grid), the relation a target must keep with the accuracies the
engine asks for, the units of a target, or, where no such property separates a wrong
variant, the value of the derived formula, recomputed here independently (mpmath or plain
floats) at inputs chosen so that each term of a ``max(...)`` that can be active is.

The wrong variants named in the docstrings are the mutants of ``tools/mutate.py --sample-at
5936fcd`` that the older tests let survive.
"""

from __future__ import annotations

import itertools
import math

import mpmath
import numpy as np
import pytest

from verify.engine import expectation, mixture
from verify.engine.backend import FLOAT64
from verify.engine.expectation import integrand, population_expectations, reduce_float
from verify.engine.kernels import evaluate_nodes
from verify.engine.mixture import _integrand, mixture_expectations, reduce_mixture
from verify.engine.nested_setup import setup

EPS = 2.0**-52  # float64's machine epsilon (twice the unit roundoff u), the engine's backend.eps


class _Captured(Exception):
    """Raised by the spy of :func:`_arguments_passed`: only the arguments were wanted."""


def _arguments_passed(monkeypatch, module, names, run) -> dict:
    """The keyword arguments with which ``run()`` calls the integrator ``module.<name>`` (one of
    ``names``): the closures and bounds an expectation hands to its quadrature."""
    seen = {}

    def spy(*args, **kwargs):
        seen.update(kwargs)
        raise _Captured

    for name in names:
        monkeypatch.setattr(module, name, spy)
    with pytest.raises(_Captured):
        run()
    return seen


def _mp(x):
    """A float array as an object array of mpf (exact: every float is an mpf)."""
    return np.vectorize(mpmath.mpf, otypes=[object])(np.asarray(x, dtype=float))


def _grid(radius, k, points):
    g = np.linspace(-radius, radius, points)
    return np.array(list(itertools.product(g, repeat=k)))


# -- the closed-form cells' bound Kb (verify.engine.nested_setup.setup) ------------------------------------


def _worst_cell_ratio(st, Y):
    """max over cells m, columns and nodes of |F(y) - F(cell m)| / (1 - w_m(y)), the quantity
    Kb bounds on the box (1 - w_m summed from the other weights)."""
    red = st.red
    n, d, k = red.n, red.d, red.k
    F = evaluate_nodes(Y, st.model.P, n, k, d, st.model.m)[:, :st.mc]
    lg = Y @ st.model.B.T - st.model.C
    worst = 0.0
    for m in range(n):
        rest = np.exp(lg[:, [i for i in range(n) if i != m]] - lg[:, [m]]).sum(axis=1)
        ok = rest > 1e-12  # deep in the cell 1 - w_m underflows: the ratio is then 0/0
        ratio = np.abs(F - st.Fcell[m, :st.mc]).max(axis=1) * (1 + rest) / rest
        worst = max(worst, float(np.max(ratio[ok])))
    return worst


@pytest.mark.parametrize("mu, active", [
    ([[1.5], [-1.5]], "mean m"),  # two means on either side of m*: dmax = 2 amax
    ([[1.5, 0.0], [-1.5, 0.0], [0.0, 0.5]], "mean m"),  # k = 2: the box's corners at R sqrt 2
    ([[3.0, 0.0], [3.2, 0.4], [2.9, -0.3]], "mean i != m"),  # a tight cluster far from m*: dmax << amax
], ids=["pair-across-m*", "pair-across-m*-k2", "far-cluster"])
def test_cell_bound_kb_is_its_derived_terms(mu, active):
    """Kb bounds |F - F_m| / (1 - w_m) on the box [-R, R]^k (|z| <= zmax = R sqrt k), column by
    column (verify.engine.nested_setup): the loss by 2 amax dmax; the gradient of a mean i != m by
    amax + 2 amax^2 (zmax + amax); that of mean m by (dmax + amax) + amax dmax (zmax + amax), from
    |a_m - v| <= (1 - w_m) dmax and |s_m| <= amax dmax (1 - w_m).  Kb is their largest, recomputed
    here from the means (pairwise distances by math.dist).  The loss term is never the largest
    (term 3 - term 1 = dmax (1 - amax)^2 + amax + amax dmax zmax > 0), so the configurations make
    each of the other two active in turn; each also checks that Kb covers the ratio measured on a
    grid of the box.  Rejects the mean-m term with its factor (zmax + amax) dividing instead of
    multiplying (mutant #4 of the 5936fcd sample): Kb would fall to the second term where the
    means sit on either side of m*."""
    mu = np.array(mu)
    R = 6.0
    red = reduce_float(mu, np.zeros(mu.shape[1]), 0.0)
    st = setup(red, np.eye(red.k), True, False, R)
    amax = max(math.hypot(*row) for row in mu)  # m* = 0, t = 0: a_i = mu_i
    dmax = max(math.dist(p, q) for p, q in itertools.combinations(mu.tolist(), 2))
    zmax = R * math.sqrt(red.k)
    terms = {"loss": 2 * amax * dmax,
             "mean i != m": amax + 2 * amax**2 * (zmax + amax),
             "mean m": dmax + amax + amax * dmax * (zmax + amax)}
    assert max(terms, key=terms.get) == active
    assert st.Kb == pytest.approx(terms[active], rel=1e-14)  # amax, dmax: norms, equal to a few ulps
    corners = np.array(list(itertools.product([-R, R], repeat=red.k)))
    Y = np.vstack([_grid(R, red.k, 2001 if red.k == 1 else 81), corners])
    assert _worst_cell_ratio(st, Y) <= st.Kb


# -- the integrand bounds that fix the truncation radius (bound_scale) ------------------------------------


@pytest.mark.parametrize("mu", [[[0.3], [0.1]], [[0.75], [-0.25]], [[2.0], [1.2]]],
                         ids=["amax0.3", "amax0.75", "amax2"])
def test_single_gaussian_bound_scale_is_amax_plus_two_amax_cubed(monkeypatch, mu):
    """|f| <= bound_scale (1 + |z|) for the single-Gaussian integrand: |loss| = |v|^2 <= amax^2 and
    |G_i| = |w_i v + w_i s_i (Qz - a_i)| <= amax + 2 amax^2 (|z| + amax) (|s_i| <= |v| |a_i - v|
    <= 2 amax^2), so bound_scale = max(amax^2, amax + 2 amax^3, 2 amax^2).  The middle term is
    always the largest: amax + 2 amax^3 - amax^2 >= (2 sqrt 2 - 1) amax^2 and amax + 2 amax^3 -
    2 amax^2 = amax ((1 - amax)^2 + amax^2) are positive, so bound_scale = amax + 2 amax^3 at
    every amax; amax = 0.3, 0.75, 2 (smooth axes: population_expectations hands it to the
    Gauss-Hermite path of verify.engine.quadrature) include 0.5 < amax < 1, where 3 amax^2 would
    exceed it.  Checked as both callers see it (nested_setup.setup and population_expectations,
    one function since: lines.single_gaussian_bound_scale); and the bound covers |f| / (1 + |z|)
    on a grid.  Rejects amax - 2 amax^3 (mutant #64 of the 5936fcd sample) and 3 amax^2 (mutant
    #53), made at the two copies that function replaced."""
    mu = np.array(mu)
    red = reduce_float(mu, np.zeros(1), 0.0)
    amax = float(np.max(np.abs(mu)))  # d = 1, m* = 0, t = 0: exact
    want = amax + 2 * amax**3
    assert setup(red, np.eye(1), True, False, 6.0).bound_scale == pytest.approx(want, rel=1e-15)
    seen = _arguments_passed(monkeypatch, expectation, ["integrate_gaussian", "nested_expectations"],
                             lambda: population_expectations(red, tol=1e-10))
    assert seen["bound_scale"] == pytest.approx(want, rel=1e-15)
    Z = _grid(12.0, 1, 2401)
    F = integrand(red, FLOAT64, True)(Z, 0)[:, :1 + red.n * red.d]
    assert np.max(np.abs(F) / (1 + np.abs(Z))) <= want


@pytest.mark.parametrize("mu, stars, weights, active", [
    # a heavy truth 5 from a light one (weight 1e-12) owns the light component's z = 0, where
    # e = v - u ~ a_i - c_l with a_i opposite c_l: |e|^2 reaches (am + cmax)^2 = E^2
    ([[-0.1, 0.0], [-0.1, 0.02]], [[0.0, 0.0], [5.0, 0.0]], [1e-12, 1 - 1e-12], "loss"),
    ([[2.0, 0.0], [-1.0, 1.0]], [[0.0, 0.0], [0.5, 0.0]], [0.5, 0.5], "gradient"),
], ids=["loss-term", "gradient-term"])
def test_mixture_bound_scale_covers_the_integrand_and_its_loss_term_is_attained(monkeypatch, mu, stars, weights,
                                                                                active):
    """The mixture's |f| <= bound_scale (1 + |z|) (verify.engine.mixture._component): |e| = |v - u|
    <= am + cmax = E bounds the loss |e|^2 by E^2; the gradient 2 (w_i e + w_i s_i (y - a_i)),
    |s_i| <= 2 am E, by 2 (E + 2 am^2 E) + 4 am E |z|.  So bound_scale = max(E^2, 2 (E + 2 am^2 E),
    4 am E), recomputed here (the last term never leads: 2 + 4 am^2 - 4 am = 1 + (2 am - 1)^2).
    Where the loss term leads (a heavy truth far from a light one, students opposite it) it is
    attained: the sup of |f| / (1 + |z|) on a grid comes within 1 % of bound_scale, at z = 0.
    Rejects the loss term E * E replaced by E / E = 1 (mutant #86 of the 5936fcd sample): the
    bound would then be 2 (E + 2 am^2 E), below |e|^2 at z = 0."""
    mu, stars = np.array(mu), np.array(stars)
    comps, _ = reduce_mixture(mu, stars, weights, 0.0)
    seen = _arguments_passed(monkeypatch, mixture, ["integrate_gaussian"],
                             lambda: mixture_expectations(comps, weights, tol=1e-10))
    am = max(math.dist(p, stars[0]) for p in mu)  # component 0 is integrated first
    E = am + max(math.dist(p, stars[0]) for p in stars)
    terms = {"loss": E * E, "gradient": 2 * (E + 2 * am * am * E), "slope": 4 * am * E}
    assert max(terms, key=terms.get) == active
    bound = seen["bound_scale"]
    assert bound == pytest.approx(terms[active], rel=1e-14)
    comp, n = comps[0], mu.shape[0]
    Z = _grid(6.0, comp.B.shape[1], 121)
    F = _integrand(comp, n, FLOAT64, True)(Z, 0)[:, :1 + n * mu.shape[1]]
    sup = float(np.max(np.abs(F).max(axis=1) / (1 + np.linalg.norm(Z, axis=1))))
    assert sup <= bound
    if active == "loss":
        assert sup >= 0.99 * bound  # measured: 0.9992 (|e| short of E by |a_i| - |v|, rho_l short of 1)


# -- the tail's targets ------------------------------------------------------------------------------------


def _value(L, G, n):
    """A value vector in the integrands' layout [loss, gradient (n d), rounding bounds (1 + n)],
    the rounding bounds zero."""
    return np.concatenate([[L], G, np.zeros(1 + n)])


@pytest.mark.parametrize("engine", ["single-gaussian", "mixture"])
@pytest.mark.parametrize("G_over_L", [(0.0, 0.0), (0.8, -0.1), (3.0, 0.2)],
                         ids=["stationary", "gradient-sets", "loss-sets"])
def test_tail_target_is_a_tenth_of_the_tightest_accuracy_accept_asks(monkeypatch, engine, G_over_L):
    """The tail bound is added to every component of the estimate, so its target is a tenth of
    the smallest accuracy that accept() asks for (the comment in population_expectations): the
    loss's tol |L|, or the gradient's tol times its scale, max(max |G|, floor), with floor =
    (L / 2) / max(1, amax) for the half gradient G of the single Gaussian and L / max(1, A) for
    the mixture's full gradient.  Checked against accept itself, at a stationary point (G = 0: the
    floor sets the gradient's accuracy), with max |G| = 0.8 L (between the single Gaussian's floor,
    L / 2 here, and L: the gradient sets it), and with max |G| = 3 L (the loss sets it): accept takes errors of
    10 x target (1 - 1e-9) in every column and refuses 10 x target (1 + 1e-9) (1e-9: far above the rounding of
    0.1 x 10).
    Rejects the single Gaussian's floor built from 2 L instead of L / 2 (mutant #43 of the 5936fcd
    sample): its target is then that of the loss, twice the gradient's at a stationary point."""
    tol = 1e-10
    mu = np.array([[0.75], [-0.25]])  # amax = 0.75 < 1: the floor is L / 2, resp. L
    if engine == "single-gaussian":
        red = reduce_float(mu, np.zeros(1), 0.0)
        seen = _arguments_passed(monkeypatch, expectation, ["integrate_gaussian", "nested_expectations"],
                                 lambda: population_expectations(red, tol=tol))
    else:
        comps, _ = reduce_mixture(mu, np.array([[0.0], [0.4]]), [0.5, 0.5], 0.0)
        seen = _arguments_passed(monkeypatch, mixture, ["integrate_gaussian"],
                                 lambda: mixture_expectations(comps, [0.5, 0.5], tol=tol))
    accept, tail_target = seen["accept"], seen["tail_target"]
    L = 0.37
    value = _value(L, L * np.array(G_over_L), 2)
    target = tail_target(value)
    assert target > 0
    assert accept(value, np.full(value.shape, 10 * target * (1 - 1e-9)))
    assert not accept(value, np.full(value.shape, 10 * target * (1 + 1e-9)))


def test_mixture_tail_target_before_a_value_has_the_units_of_the_loss(monkeypatch):
    """Before any value is known, the mixture's tail target stands on the loss's bound E^2
    (|e| <= am + cmax = E): 1e-3 tol E^2, a hundredth of the target tail_target gives a loss
    of E^2 (0.1 tol L).  Checked against tail_target itself, and by scaling: the loss is
    homogeneous of degree 2 in the positions, so with every mean and truth scaled by 4 (exact in
    float64 at t = 0) the first target scales by 16.  Rejects E * 2 for E ** 2 (mutant #83 of the
    5936fcd sample), a target with the units of a length."""
    tol = 1e-10
    mu = np.array([[0.3, -0.2], [1.1, 0.4]])
    stars = np.array([[0.0, 0.0], [1.5, -1.0]])

    def target_rule(scale):
        comps, _ = reduce_mixture(scale * mu, scale * stars, [0.6, 0.4], 0.0)
        seen = _arguments_passed(monkeypatch, mixture, ["integrate_gaussian"],
                                 lambda: mixture_expectations(comps, [0.6, 0.4], tol=tol, with_grad=False))
        return seen["tail_target"]

    first = target_rule(1.0)
    E = max(math.dist(p, stars[0]) for p in mu) + max(math.dist(p, stars[0]) for p in stars)
    assert first(None) == pytest.approx(1e-2 * first(np.array([E * E, 0.0])), rel=1e-14)
    assert target_rule(4.0)(None) == pytest.approx(16 * first(None), rel=1e-14)
