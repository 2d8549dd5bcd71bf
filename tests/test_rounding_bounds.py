"""The integrands' rounding bounds against the rounding they bound, and pinned to their derivations.

* Where large logits cancel (verify/engine/rounding.py): a logit l_i = B_i . z - C_i errs by
  ~u (|B_i| |z| + |C_i|), not by ~eps |l_i - l_max|: at the transition between means far from each
  other and far from the origin, terms of size 10^2 cancel.  Before the columns carried that, they
  were measured at 0.13-0.78 of the float64 error at the far-transition nodes below (single
  Gaussian) and 0.13 (mixture).  The single Gaussian's loss and gradient columns and the mixture's
  loss column are compared with the float64 error measured against the same integrand in mpmath
  at 40 digits on the same float inputs, at nodes on both sides of each far transition out to
  |z| = 12 (reference form; the centred form is for clusters near collapse, where no large terms
  cancel), with negative controls that leave the logits' rounding out.
* The mixture's rounding columns and the compiled integrand's loss column, recomputed from their
  derivations, and the quadrature's rounding floor (moved here from tests/test_engine_bounds.py;
  the wrong variants named are mutants of ``tools/mutate.py --sample-at 5936fcd``).
"""

from __future__ import annotations

import itertools

import mpmath
import numpy as np
import pytest

from verify.checks.bench import far_k3
from verify.engine import expectation, mixture
from verify.engine.backend import FLOAT64, gauss_hermite_tensor, mp_backend
from verify.engine.expectation import integrand, reduce_float
from verify.engine.kernels import evaluate_nodes, model_arrays
from verify.engine.mixture import Component, _integrand, reduce_mixture
from verify.engine.quadrature import integrate_gaussian
from verify.engine.rounding import logit_rounding

EPS = 2.0**-52  # float64's machine epsilon (twice the unit roundoff u), the engine's backend.eps


def _mp(x):
    """A float array as an object array of mpf (exact: every float is an mpf)."""
    return np.vectorize(mpmath.mpf, otypes=[object])(np.asarray(x, dtype=float))


def _grid(radius, k, points):
    g = np.linspace(-radius, radius, points)
    return np.array(list(itertools.product(g, repeat=k)))


# -- where large logits cancel -------------------------------------------------------------------------


def _mpf(x):
    return mpmath.mpf(float(x))


def _single_exact(red, z, B=None, Q=None):
    """[|v|^2, G (n x d)] at z from the model's definition in mpmath (40 digits), same float inputs
    (B and Q: the reduced model's, or the ones a turned frame packs)."""
    B = red.B if B is None else B
    Q = red.Q if Q is None else Q
    with mpmath.workdps(40):
        zz = [_mpf(x) for x in z]
        n, d, k = red.n, red.d, red.k
        lg = [mpmath.fsum(_mpf(B[i, j]) * zz[j] for j in range(k)) - _mpf(red.C[i]) for i in range(n)]
        top = max(lg)
        ex = [mpmath.exp(x - top) for x in lg]
        w = [x / mpmath.fsum(ex) for x in ex]
        v = [_mpf(red.a_ref[j]) + mpmath.fsum(w[i] * _mpf(red.D[i, j]) for i in range(n)) for j in range(d)]
        Qz = [mpmath.fsum(_mpf(Q[j, q]) * zz[q] for q in range(k)) for j in range(d)]
        out = [mpmath.fsum(x * x for x in v)]
        for i in range(n):
            ai = [_mpf(red.a[i, j]) for j in range(d)]
            s = mpmath.fsum(v[j] * (ai[j] - v[j]) for j in range(d))
            out += [w[i] * v[j] + w[i] * s * (Qz[j] - ai[j]) for j in range(d)]
        return np.array([float(x) for x in out])


def _nodes_at_far_transitions(red, rng, per_mean=60):
    """Nodes within 2 widths of the plane where the reference mean and mean i share the weight,
    at distances 0-12 along the plane."""
    out = []
    for i in range(red.n):
        b = red.B[i]
        nb = float(np.linalg.norm(b))
        if nb == 0:
            continue
        for _ in range(per_mean):
            t = rng.normal(size=red.k)
            t -= (t @ b) / nb**2 * b
            t *= rng.uniform(0, 12) / max(float(np.linalg.norm(t)), 1e-300)
            out.append(t + (red.C[i] / nb**2 + rng.uniform(-2, 2) / nb) * b)
    return np.array(out)


def _single_worst_ratio(seed_config):
    M0, seed = seed_config
    mu, star = far_k3(M0, seed)
    red = reduce_float(mu, star, 0.0)
    assert not expectation._use_centred(red)
    Z = _nodes_at_far_transitions(red, np.random.default_rng(0))
    F = integrand(red, FLOAT64, True)(Z, 0)
    n, d = red.n, red.d
    nv = 1 + n * d
    exact = np.array([_single_exact(red, z) for z in Z])
    err_loss = np.abs(F[:, 0] - exact[:, 0])
    err_grad = np.abs(F[:, 1:nv] - exact[:, 1:nv]).reshape(len(Z), n, d).max(axis=2)
    assert err_loss.max() > 0 and err_grad.max() > 0  # there is rounding to cover
    with np.errstate(divide="ignore"):
        return min(np.min(F[:, nv] / np.where(err_loss > 0, err_loss, np.nan), initial=np.inf,
                          where=err_loss > 0),
                   np.min(F[:, nv + 1:] / np.where(err_grad > 0, err_grad, np.nan), initial=np.inf,
                          where=err_grad > 0))


@pytest.mark.parametrize("config", [(14.0, 0), (14.0, 4), (6.0, 4)])
def test_single_gaussian_rounding_columns_cover_the_rounding_at_far_transitions(config):
    """The loss and gradient rounding columns of verify.engine.expectation.integrand (the compiled
    integrand's, tests/test_nested_rule.py) bound the float64 error at nodes by each far
    transition (far k = 3, the bench's configurations)."""
    assert _single_worst_ratio(config) >= 1


def test_the_comparison_rejects_columns_without_the_logits_rounding(monkeypatch):
    """Negative control: with the logits' rounding left out (eta = 0, the columns before it), the
    same comparison fails at M0 = 14 seed 0 (measured: 0.13 of the error)."""
    monkeypatch.setattr(expectation, "logit_rounding", lambda Z, B, C, logits, shifted, w, eps: 0 * w)
    assert _single_worst_ratio((14.0, 0)) < 1


def _mixture_float_and_mp(comp, n, Z, dps=40):
    """The mixture integrand's columns at the nodes Z in float64, and the same integrand evaluated
    in mpmath at ``dps`` digits on the same float inputs (the rounding-free values)."""
    F = _integrand(comp, n, FLOAT64, True)(Z, 0)
    with mpmath.workdps(dps):
        cm = Component(_mp(comp.a), _mp(comp.c), _mp(comp.B), _mp(comp.C), _mp(comp.Q), comp.amax, comp.cmax)
        Fm = _integrand(cm, n, mp_backend(dps), True)(_mp(Z), 0)
        Fm = np.array([[float(x) for x in row] for row in Fm])
    return F, Fm


def _mixture_worst_ratio():
    """A ground-truth component 20 away from the other and from the students: its transition with
    the other truth lies at |z| ~ 10, where logits of ~200 cancel."""
    mu = np.array([[0.3, -0.2], [-0.4, 0.5]])
    stars = np.array([[0.0, 0.0], [20.0, 3.0]])
    comps, _ = reduce_mixture(mu, stars, [0.5, 0.5], 0.0)
    comp, n, d = comps[0], 2, 2
    b, dC = comp.B[n + 1] - comp.B[n], comp.C[n + 1] - comp.C[n]
    nb = float(np.linalg.norm(b))
    rng = np.random.default_rng(1)
    perp = np.array([-b[1], b[0]]) / nb
    Z = np.array([(dC + g) / nb * (b / nb) + rng.uniform(-3, 3) * perp for g in np.linspace(-6, 6, 60)])
    F, Fm = _mixture_float_and_mp(comp, n, Z)
    nv = 1 + n * d
    err_loss = np.abs(F[:, 0] - Fm[:, 0])
    assert err_loss.max() > 0
    pos = err_loss > 0
    return float(np.min(F[pos, nv] / err_loss[pos]))


def test_mixture_rounding_column_covers_the_rounding_at_a_far_truths_transition():
    assert _mixture_worst_ratio() >= 1


def test_the_mixture_comparison_rejects_columns_without_the_logits_rounding(monkeypatch):
    """Negative control: eta = 0 (the column before the logits' rounding) fails the comparison."""
    monkeypatch.setattr(mixture, "logit_rounding", lambda Z, B, C, logits, shifted, w, eps: 0 * w)
    assert _mixture_worst_ratio() < 1


# -- rounding bounds: the mixture integrand's rounding columns ----------------------------------------------


MIX_NEAR = ([[1e-3, 2e-3], [-2e-3, 1e-3]], [[0.0, 0.0], [6.0, 1.0]], [0.5, 0.5])  # students on m*_0, a truth 6 away
MIX_SPREAD = ([[0.3, -0.2], [2.1, 0.9], [-0.7, 2.4]], [[0.0, 0.0], [1.5, -1.0]], [0.6, 0.4])


@pytest.mark.parametrize("config", [MIX_NEAR, MIX_SPREAD], ids=["students-on-a-truth", "spread"])
def test_mixture_rounding_columns_cover_the_measured_rounding_error(config):
    """The mixture integrand's rounding columns (verify.engine.mixture._integrand) bound the float64
    error of its value columns: rho_loss that of |e|^2, rho_g_i that of each component of G_i.
    Measured against the same integrand in mpmath at 40 digits on the same float inputs, on a
    25 x 25 grid of [-6, 6]^2, the bulk of the density (where large logits cancel far out:
    the tests above).  Two cases: students within 2e-3 of m*_0 and a truth 6 away
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
            out.append(2 * w[i] * (delta + ds * (zn + norm(a[i])))
                       + 2 * w[i] * es[i] * (en + abs(s) * (zn + norm(a[i]))))
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
    form) as a_r + sum_j w_j D_j, so it errs by at most delta = 8 eps Sw + sum_j w_j eta_j |D_j - X|,
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
            Xv = v - ar  # the perturbed weights sum to 1: sum_j dw_j D_j = sum_j dw_j (D_j - X)
            delta = 8 * eps * Sw + mpmath.fsum(w[j] * eta[j] * mpmath.sqrt(mpmath.fsum((D[j] - Xv) ** 2))
                                               for j in range(n))
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


# -- a weight far below the top: its own error in the gradient's column -----------------------------------


MIX_FAR_STUDENTS = ([[-7.991, 2.757], [7.173, -0.812], [-0.461, -7.595]], [[0.0, 0.0], [-0.749, 4.353]], [0.5, 0.5])


def _mixture_gradient_ratios():
    """Smallest column / float64 error of the mixture's gradient columns, with and without the
    term for a weight's own error (2 w_i eta_i (|e| + |s_i| (|z| + |a_i|)), recomputed here with
    verify.engine.rounding), at nodes (|z| < 9) where some student is 28-38 nats below the top one:
    students ~8 apart, their logits of ~50 cancelling."""
    mu, stars, weights = MIX_FAR_STUDENTS
    comps, _ = reduce_mixture(np.array(mu), np.array(stars), weights, 0.0)
    comp, n, d = comps[0], 3, 2
    rng = np.random.default_rng(7)
    Z = []
    while len(Z) < 60:
        z = rng.normal(size=comp.B.shape[1]) * 3
        gaps = (z @ comp.B[:n].T - comp.C[:n]).max() - (z @ comp.B[:n].T - comp.C[:n])
        if np.any((gaps > 28) & (gaps < 38)) and np.linalg.norm(z) < 9:
            Z.append(z)
    Z = np.array(Z)
    F, Fm = _mixture_float_and_mp(comp, n, Z)
    nv = 1 + n * d
    err = np.abs(F[:, 1:nv] - Fm[:, 1:nv]).reshape(len(Z), n, d).max(axis=2)
    lg = Z @ comp.B.T - comp.C
    ls, lt = lg[:, :n], lg[:, n:]
    dls = np.abs(ls - ls.max(axis=1)[:, None])
    w = np.exp(-dls) / np.exp(-dls).sum(axis=1)[:, None]
    rho = np.exp(lt - lt.max(axis=1)[:, None])
    rho /= rho.sum(axis=1)[:, None]
    weta = logit_rounding(Z, comp.B[:n], comp.C[:n], ls, dls, w, EPS)
    v = w @ comp.a
    e = v - rho @ comp.c
    s_ = np.einsum("nid,nd->ni", comp.a[None] - v[:, None], e)
    term = 2 * weta * (np.linalg.norm(e, axis=1)[:, None]
                       + np.abs(s_) * (np.linalg.norm(Z, axis=1)[:, None] + np.linalg.norm(comp.a, axis=1)[None, :]))
    col, pos = F[:, nv + 1:], err > 0
    assert pos.sum() > 20  # there is rounding to cover
    return float(np.min(col[pos] / err[pos])), float(np.min((col - term)[pos] / err[pos]))


def test_mixture_gradient_columns_cover_a_weight_far_below_the_top():
    """The mixture's gradient columns bound the float64 error where a student's weight is ~e^-33,
    and they need the term for that weight's own error: without it (the negative control, the
    column less that term) the same comparison fails."""
    with_term, without_term = _mixture_gradient_ratios()
    assert with_term >= 1
    assert without_term < 1


# -- the compiled integrand in a turned frame -----------------------------------------------------------


def _compiled_worst_ratio(eps8=8 * EPS):
    """Smallest column / float64 error of the compiled integrand (verify.engine.kernels) in a
    turned frame (its logits are (B frame) . y, so its rounding is that of other sums than numpy's),
    at the far-transition nodes of far k = 3, M0 = 14, seed 0, turned into the frame; the exact
    values are those of the packed model (B frame and Q frame as packed, at y); ``eps8`` is the
    packed model's."""
    mu, star = far_k3(14.0, 0)
    red = reduce_float(mu, star, 0.0)
    frame, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(red.k, red.k)))
    model = model_arrays(red, frame, with_grad=True, centred=False)
    P = model.P.copy()
    P[-3] = eps8  # the packed 8 eps (Model: [..., |base|, 8 eps, centred, with_grad])
    Y = _nodes_at_far_transitions(red, np.random.default_rng(0), per_mean=30) @ frame
    F = evaluate_nodes(Y, P, red.n, red.k, red.d, model.m)
    n, d = red.n, red.d
    nv = 1 + n * d
    Bf, Qf = np.asarray(red.B @ frame, dtype=np.float64), np.asarray(red.Q @ frame, dtype=np.float64)
    exact = np.array([_single_exact(red, y, Bf, Qf) for y in Y])
    err = np.concatenate([np.abs(F[:, :1] - exact[:, :1]),
                          np.abs(F[:, 1:nv] - exact[:, 1:nv]).reshape(len(Y), n, d).max(axis=2)], axis=1)
    pos = err > 0
    assert pos.sum() > 20
    return float(np.min(F[:, nv:][pos] / err[pos]))


def test_compiled_rounding_columns_cover_the_rounding_in_a_turned_frame():
    """The compiled loss and gradient columns bound the float64 error at far transitions in a
    turned frame; negative control: the same model packed with no rounding allowance (8 eps = 0)
    fails the comparison."""
    assert _compiled_worst_ratio() >= 1
    assert _compiled_worst_ratio(eps8=0.0) < 1
