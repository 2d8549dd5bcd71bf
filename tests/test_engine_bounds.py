"""The engine's bounds pinned to their derivations: the closed-form cells' bound Kb, the integrand
bounds that fix the truncation radius (``bound_scale``), the tail's targets, and the rounding
bounds (the integrands' rounding columns and the quadrature's rounding floor).

These bounds are loose by construction, so a test of the form "bound >= true value" cannot see a
weakened bound, and a slightly larger one changes no value a test sees.  Each test here checks a
property the derivation gives instead: a bound attained in a limit the test builds (the sup
computed independently on a grid), the relation a target must keep with the accuracies the
engine asks for, the units of a target, the measured rounding error a rounding bound must cover
(float64 against mpmath on the same float inputs), or, where no such property separates a wrong
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
from verify.engine.backend import FLOAT64, gauss_hermite_tensor, mp_backend
from verify.engine.expectation import integrand, population_expectations, reduce_float
from verify.engine.kernels import evaluate_nodes, model_arrays
from verify.engine.mixture import Component, _integrand, mixture_expectations, reduce_mixture
from verify.engine.nested_setup import setup
from verify.engine.quadrature import integrate_gaussian

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
    L / 2 here, and L: the gradient sets it), and with max |G| = 3 L (the loss sets it): accept takes errors of 10 x target (1 - 1e-9) in
    every column and refuses 10 x target (1 + 1e-9) (1e-9: far above the rounding of 0.1 x 10).
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


# -- rounding bounds: the mixture integrand's rounding columns ----------------------------------------------


def _mixture_float_and_mp(comp, n, Z, dps=40):
    """The mixture integrand's columns at the nodes Z in float64, and the same integrand evaluated
    in mpmath at ``dps`` digits on the same float inputs (the rounding-free values)."""
    F = _integrand(comp, n, FLOAT64, True)(Z, 0)
    with mpmath.workdps(dps):
        cm = Component(_mp(comp.a), _mp(comp.c), _mp(comp.B), _mp(comp.C), _mp(comp.Q), comp.amax, comp.cmax)
        Fm = _integrand(cm, n, mp_backend(dps), True)(_mp(Z), 0)
        Fm = np.array([[float(x) for x in row] for row in Fm])
    return F, Fm


MIX_NEAR = ([[1e-3, 2e-3], [-2e-3, 1e-3]], [[0.0, 0.0], [6.0, 1.0]], [0.5, 0.5])  # students on m*_0, a truth 6 away
MIX_SPREAD = ([[0.3, -0.2], [2.1, 0.9], [-0.7, 2.4]], [[0.0, 0.0], [1.5, -1.0]], [0.6, 0.4])


@pytest.mark.parametrize("config", [MIX_NEAR, MIX_SPREAD], ids=["students-on-a-truth", "spread"])
def test_mixture_rounding_columns_cover_the_measured_rounding_error(config):
    """The mixture integrand's rounding columns (verify.engine.mixture._integrand) bound the float64
    error of its value columns: rho_loss that of |e|^2, rho_g_i that of each component of G_i.
    Measured against the same integrand in mpmath at 40 digits on the same float inputs, on a
    25 x 25 grid of [-6, 6]^2, the bulk of the density (where large logits cancel far out:
    tests/test_logit_rounding.py).  Two cases: students within 2e-3 of m*_0 and a truth 6 away
    (Sw is then almost all the truths' inflated weights rho_l (1 + |l - l_max| / 4) |c_l|, at gaps
    of several nats), and a spread configuration.
    Rejects the truths' inflation 1 + |l - l_max| / 4 turned into 1 - |l - l_max| / 4 (mutant #78
    of the 5936fcd sample: the bound goes negative in the first case) and |a_i| - |v| for
    |a_i| + |v| in the gradient's bound (mutant #52: negative where a mean near m*_k sees a far
    v, in the second)."""
    mu, stars, weights = config
    comps, _ = reduce_mixture(np.array(mu), np.array(stars), weights, 0.0)
    comp, n, d = comps[0], len(mu), 2
    Z = _grid(6.0, comp.B.shape[1], 25)
    F, Fm = _mixture_float_and_mp(comp, n, Z)
    nv = 1 + n * d
    err_loss = np.abs(F[:, 0] - Fm[:, 0])
    err_grad = np.abs(F[:, 1:nv] - Fm[:, 1:nv]).reshape(len(Z), n, d).max(axis=2)
    assert err_loss.max() > 0 and err_grad.max() > 0  # there is rounding to cover
    assert np.all(F[:, nv] >= err_loss)
    assert np.all(F[:, nv + 1:] >= err_grad)


def _mixture_rounding_by_derivation(comp, n, z):
    """The rounding columns [rho_loss, rho_g_1..n] at the node z, from their derivation, in mpmath
    at 40 digits: the weights of each softmax err by eps (8 + 2 |l - l_max|) + eta relative (eta:
    the logits' own rounding, verify/engine/rounding.py), so e = v - u errs by at most
    delta = sum_i w_i (eps (8 + 2 |dl_i|) + eta_i) |a_i| + sum_l rho_l (eps (8 + 2 |dl_l|) + eta_l) |c_l|;
    |e|^2 then by at most max_{|de| <= delta} | |e + de|^2 - |e|^2 | = (|e| + delta)^2 - |e|^2 (at
    de = delta e / |e|); s_i = (a_i - v) . e by ds_i = delta (|a_i| + |v|) + delta |e| + 8 eps (|e|
    (|a_i| + |v|) + |s_i|) (|a_i - v| <= |a_i| + |v|, |dv| <= delta, and the products' own
    rounding), and G_i = 2 w_i (e + s_i
    (y - a_i)) by 2 w_i (delta + ds_i (|z| + |a_i|)) + 2 w_i eta_i (|e| + |s_i| (|z| + |a_i|))."""
    with mpmath.workdps(40):
        eps = mpmath.mpf(EPS)
        a, c, B, C = _mp(comp.a), _mp(comp.c), _mp(comp.B), _mp(comp.C)
        zm = _mp(z)
        lg = B @ zm - C

        def softmax(l):
            top = max(l)
            ex = [mpmath.exp(x - top) for x in l]
            return [x / mpmath.fsum(ex) for x in ex], [top - x for x in l]

        def norm(x):
            return mpmath.sqrt(mpmath.fsum(t * t for t in x))

        def eta(rows, consts, wts, dl):
            # the logits' own rounding, gamma_k (sum_j |B_ij z_j| + [k > 1] |C_i|) + u |l_i|, and
            # the shift's, u |dl_i| (u = eps / 2); then |dw_i| / w_i <= min(e^{lam_i + S/(1 - S)} - 1,
            # 1 / w_i), S = sum_j w_j (e^{lam_j} - 1)
            kk = len(zm)
            u = eps / 2
            gam = kk * u / (1 - kk * u)
            lam = [gam * (mpmath.fsum(abs(r[j] * zm[j]) for j in range(kk)) + (abs(cc) if kk > 1 else 0))
                   + u * abs(mpmath.fsum(r[j] * zm[j] for j in range(kk)) - cc) + u * g
                   for r, cc, g in zip(rows, consts, dl)]
            S = mpmath.fsum(wi * mpmath.expm1(li) for wi, li in zip(wts, lam))
            return [min(mpmath.expm1(li + S / (1 - S)), 1 / wi) for wi, li in zip(wts, lam)]

        w, dls = softmax(list(lg[:n]))
        rho, dlt = softmax(list(lg[n:]))
        es, et = eta(B[:n], C[:n], w, dls), eta(B[n:], C[n:], rho, dlt)
        delta = (mpmath.fsum(w[i] * (eps * (8 + 2 * dls[i]) + es[i]) * norm(a[i]) for i in range(n))
                 + mpmath.fsum(rho[l] * (eps * (8 + 2 * dlt[l]) + et[l]) * norm(c[l]) for l in range(len(c))))
        v = sum(w[i] * a[i] for i in range(n))
        e = v - sum(rho[l] * c[l] for l in range(len(c)))
        en, vn, zn = norm(e), norm(v), norm(zm)
        out = [(en + delta) ** 2 - en**2]
        for i in range(n):
            s = mpmath.fsum((a[i] - v) * e)
            ds = delta * (norm(a[i]) + vn) + delta * en + 8 * eps * (en * (norm(a[i]) + vn) + abs(s))
            out.append(2 * w[i] * (delta + ds * (zn + norm(a[i]))) + 2 * w[i] * es[i] * (en + abs(s) * (zn + norm(a[i]))))
        return np.array([float(x) for x in out])


@pytest.mark.parametrize("config", [MIX_NEAR, MIX_SPREAD], ids=["students-on-a-truth", "spread"])
def test_mixture_rounding_columns_are_their_derived_values(config):
    """The rounding columns of verify.engine.mixture._integrand equal their derivation
    (:func:`_mixture_rounding_by_derivation`, written in the derivation's terms: eps (8 + 2 |dl|)
    per weight, the worst |e + de|^2 over the ball |de| <= delta), at z = 0 and along the second
    truth's logit slope where its logit is -8, -2, 0, 2 and 8 nats from the first's.  Rejects 9 eps
    for 8 eps per weight (mutant #22 of the 5936fcd sample, 12.5 % larger), and with it mutants #78
    and #52."""
    mu, stars, weights = config
    comps, _ = reduce_mixture(np.array(mu), np.array(stars), weights, 0.0)
    comp, n = comps[0], len(mu)
    # z = 0, and nodes along the second truth's slope b where its logit is -8 .. 8 nats from the first's
    b, dC = comp.B[n + 1] - comp.B[n], comp.C[n + 1] - comp.C[n]
    nb = float(np.linalg.norm(b))
    Z = np.vstack([np.zeros(len(b))] + [(dC + gap) / nb * (b / nb) for gap in (-8.0, -2.0, 0.0, 2.0, 8.0)])
    assert np.allclose(Z[1:] @ b - dC, [-8.0, -2.0, 0.0, 2.0, 8.0])
    F = _integrand(comp, n, FLOAT64, True)(Z, 0)
    got = F[:, 1 + n * 2:]
    want = np.array([_mixture_rounding_by_derivation(comp, n, z) for z in Z])
    assert np.all(want > 0)
    # 1e-12: the float64 columns carry the rounding of the weights (eps (8 + 2 |dl|) relative, at
    # most 24 eps at these gaps) and of the norms and sums (measured: at most 1.9e-15 relative)
    assert np.allclose(got, want, rtol=1e-12, atol=0)


# -- rounding bounds: the compiled integrand's loss column ------------------------------------------------


@pytest.mark.parametrize("with_grad", [True, False])
def test_compiled_loss_rounding_column_is_the_worst_case_of_the_squared_norm(with_grad):
    """verify.engine.kernels.integrand's rounding column of the loss |v|^2: v is formed (reference
    form) as a_r + sum_j w_j D_j, so it errs by at most delta = 8 eps Sw + sum_j w_j eta_j |D_j|,
    Sw = |a_r| + sum_j w_j |D_j| and eta the logits' rounding (verify/engine/rounding.py), and
    |v|^2 by at most max_{|dv| <= delta} | |v + dv|^2 - |v|^2 | = (|v| + delta)^2 - |v|^2, the
    worst case (dv along v).  Recomputed in mpmath at 40 digits from the packed model's own B, C,
    D and a_r, at 40 nodes, in the column of each layout (1 + n d with the gradient, 1 without).
    Rejects a linear term 3 delta |v| for 2 delta |v| (mutant #85 of the 5936fcd sample, made when
    the line read 2 eps8 Sw |v|, in the column with the gradient)."""
    mu = np.array([[0.3, -0.2, 0.1], [2.1, 0.9, -0.5], [-0.7, 2.4, 0.3], [0.2, 0.1, 2.6]])
    red = reduce_float(mu, np.zeros(3), 0.0)
    assert not expectation._use_centred(red)  # the reference form
    n, d, k = red.n, red.d, red.k
    model = model_arrays(red, np.eye(k), with_grad=with_grad, centred=False)
    Y = np.random.default_rng(5).normal(size=(40, k)) * 2.0
    got = evaluate_nodes(Y, model.P, n, k, d, model.m)[:, 1 + n * d if with_grad else 1]
    want = []
    with mpmath.workdps(40):
        B, C, D, ar = _mp(red.B), _mp(red.C), _mp(red.D), _mp(red.a_ref)
        for y in _mp(Y):
            lg = B @ y - C
            top = max(lg)
            ex = [mpmath.exp(x - top) for x in lg]
            w = [x / mpmath.fsum(ex) for x in ex]
            v = ar + sum(w[j] * D[j] for j in range(n))
            vn = mpmath.sqrt(mpmath.fsum(v * v))
            Dn = [mpmath.sqrt(mpmath.fsum(D[j] * D[j])) for j in range(n)]
            Sw = mpmath.sqrt(mpmath.fsum(ar * ar)) + mpmath.fsum(w[j] * Dn[j] for j in range(n))
            # the logits' rounding (verify.engine.rounding): lam_j = gamma_k (sum |B_jq y_q| + [k > 1]
            # |C_j|) + u |l_j| + u (top - l_j), u = eps / 2; the weights err by w_j eta_j more,
            # eta_j = min(e^{lam_j + S/(1 - S)} - 1, 1 / w_j), S = sum_i w_i (e^{lam_i} - 1)
            eps = mpmath.mpf(EPS)
            u = eps / 2
            gam = k * u / (1 - k * u)
            lam = [gam * (mpmath.fsum(abs(B[j, q] * y[q]) for q in range(k)) + (abs(C[j]) if k > 1 else 0))
                   + u * abs(lg[j]) + u * (top - lg[j]) for j in range(n)]
            S = mpmath.fsum(w[j] * mpmath.expm1(lam[j]) for j in range(n))
            eta = [min(mpmath.expm1(lam[j] + S / (1 - S)), 1 / w[j]) for j in range(n)]
            delta = 8 * eps * Sw + mpmath.fsum(w[j] * eta[j] * Dn[j] for j in range(n))
            want.append(float((vn + delta) ** 2 - vn**2))
    # 1e-12: the compiled column carries the rounding of w, Sw and |v| (measured: at most 6.7e-16 relative)
    assert np.allclose(got, want, rtol=1e-12, atol=0)


# -- rounding bounds: the quadrature's rounding floor -----------------------------------------------------


def test_quadrature_rounding_floor_is_64_eps_of_the_absolute_sum():
    """verify.engine.quadrature's error estimate on the Gauss-Hermite path is the rules' disagreement
    plus a rounding floor 64 eps sum_i |w_i f_i| (the module doc; MIN_TOL = 1e-14 sits just below
    64 eps).  For a constant integrand every rule is exact, so the disagreement is only the rules'
    own rounding: in mpmath with a backend of 20 digits (eps = 1e-20) evaluated at 60 digits, the
    estimate is the floor alone, 64 eps sum |w_i|.  Rejects a floor of 65 eps (mutant #81 of the 5936fcd sample)."""
    backend = mp_backend(20)
    with mpmath.workdps(60):
        B = _mp([[0.0], [0.0]])  # flat logits: the all-smooth Gauss-Hermite path, 3 nodes (and 6)
        res = integrate_gaussian(lambda Z, m: _mp(np.ones((Z.shape[0], 1))), B, _mp([0.0, 0.0]), backend=backend,
                                 accept=lambda value, error: True, bound_scale=1.0, tail_target=lambda value: 1e-30)
        assert res.plan.kind == "gh" and res.plan.orders == (3,)
        _, W = gauss_hermite_tensor((3,), backend.rule_dps)
        floor = 64 * mpmath.mpf(backend.eps) * mpmath.fsum(abs(x) for x in W)
        # 1e-12: the rules are computed to 35 digits (rule_dps + 15) and summed at 60, so the rules'
        # disagreement is ~1e-35, 1e-15 of the floor (6.4e-19); 65 eps would be 1.6e-2 off
        assert abs(res.error[0] / floor - 1) <= 1e-12
