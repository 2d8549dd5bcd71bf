"""Mixture ground truths (:mod:`verify.engine.mixture`, ``verify.reference.loss_mix`` and friends).

* two identical components (same mean, weights 0.5/0.5) through the general path equal the
  single-Gaussian engine within the summed error estimates, float64 (k = 2) and mpmath (k = 1);
  the path is the general one: both components are integrated (``components == 2``) and a
  perturbation of one component's mean by 1e-6 moves the loss by O(1e-6) (continuity);
* d = 1: the loss against a direct mpmath.quad of p*_t(x) |s_theta(x) - grad log p*_t(x)|^2
  over the real line (no reduction, no engine), and weights swapped as its negative control;
* the gradient by finite differences: mpmath (Richardson, k = 1) and float64 (directional,
  k = 2), each rejecting the scaled gradient passed as the unscaled one (missing e^{-t});
* bad input names its argument.
"""

from __future__ import annotations

import functools

import mpmath
import numpy as np
import pytest

from verify import reference
from verify.checks.compare import GradientCheckError
from verify.checks.finite_differences import check_fd_float64, check_fd_mp
from verify.engine.mixture import mixture_expectations, reduce_mixture
from verify.engine import validation
from verify.engine.reference import AccuracyError

MU = np.array([[1.0, 0.3], [-0.7, 0.5], [0.2, -0.9]])  # n = 3, d = 2
MU_STAR = np.array([0.2, -0.1])
T = 0.7


@pytest.mark.parametrize("t", [0.3, T, 2.0])
def test_two_identical_components_equal_the_single_gaussian(t):
    single = reference.evaluate(MU, MU_STAR, t)
    mix = reference.evaluate_mix(MU, [MU_STAR, MU_STAR], [0.5, 0.5], t)
    assert mix.k == single.k == 2
    assert abs(mix.loss - single.loss) <= mix.loss_err + single.loss_err
    assert np.all(np.abs(mix.grad - single.grad) <= mix.grad_err + single.grad_err)


def test_identical_components_go_through_the_general_path():
    comps, _ = reduce_mixture(MU, np.array([MU_STAR, MU_STAR]), [0.5, 0.5], T)
    ex = mixture_expectations(comps, [0.5, 0.5], tol=1e-12)
    assert ex.components == 2 and len(comps) == 2
    # continuity: one component moved by 1e-6 changes L by |dL/dmu*_k| 1e-6 ~ 1e-7, far above
    # the 1e-14 error estimates and far below a jump a K = 1 special case could hide
    L0, e0 = reference.loss_mix(MU, [MU_STAR, MU_STAR], [0.5, 0.5], T, error=True)
    moved = MU_STAR + np.array([1e-6, 0.0])
    L1, e1 = reference.loss_mix(MU, [MU_STAR, moved], [0.5, 0.5], T, error=True)
    assert 1e-10 < abs(L1 - L0) < 1e-5


def test_identical_components_mpmath_k1():
    mu, ms = [["0.8"], ["-0.6"]], ["0.1"]
    L, e = reference.loss_mp(mu, ms, "0.9", dps=20, error=True)
    Lm, em = reference.loss_mix_mp(mu, [ms, ms], ["0.5", "0.5"], "0.9", dps=20, error=True)
    assert abs(L - Lm) <= e + em
    G, Ge = reference.grad_mp(mu, ms, "0.9", dps=20, error=True)
    Gm, Gme = reference.grad_mix_mp(mu, [ms, ms], ["0.5", "0.5"], "0.9", dps=20, error=True)
    for i in range(2):
        assert abs(G[i][0] - Gm[i][0]) <= Ge[i][0] + Gme[i][0]


def test_one_component_at_unit_offsets_is_the_single_gaussian_mpmath():
    """A mixture of one component is the single Gaussian, in mpmath, at points whose offsets
    from the first are all exactly 1 (means 0 and 1, centre 1).  Rejects a span test that asks
    whether every offset is 1 instead of 0 (mutant #63 of the 5936fcd sample): it takes these
    points as coincident (k = 0) and returns the loss of means all at the centre."""
    mu, ms = [["0"], ["1"]], ["1"]
    L, e = reference.loss_mp(mu, ms, "0.5", dps=20, error=True)
    Lm, em = reference.loss_mix_mp(mu, [ms], ["1"], "0.5", dps=20, error=True)
    assert abs(L - Lm) <= e + em


# ---- d = 1: a direct quadrature over the real line ----------------------------------------------

D1 = dict(mu=(("1.5",), ("-0.4",), ("0.3",)), mu_stars=(("2.0",), ("-1.5",)), weights=("0.3", "0.7"), t="0.4")
KEY = tuple(D1.items())


@functools.lru_cache(maxsize=None)
def _direct(key):
    return direct_loss_d1(**dict(key))


def direct_loss_d1(mu, mu_stars, weights, t, dps=30):
    """integral of p*_t(x) (sum_i w_i m_i - sum_l rho_l m*_l)^2 dx by mpmath.quad, split at the
    ground-truth centres and at the midpoints of every pair of means (where the softmaxes switch)."""
    with mpmath.workdps(dps):
        s = mpmath.exp(-mpmath.mpf(t))
        m = [s * mpmath.mpf(r[0]) for r in mu]
        ms = [s * mpmath.mpf(r[0]) for r in mu_stars]
        pi = [mpmath.mpf(w) for w in weights]

        def soft(x, centres, logw):
            lg = [lw - (x - c) ** 2 / 2 for c, lw in zip(centres, logw)]
            top = max(lg)
            ex = [mpmath.exp(v - top) for v in lg]
            tot = mpmath.fsum(ex)
            return [v / tot for v in ex]

        def f(x):
            w = soft(x, m, [0] * len(m))
            rho = soft(x, ms, [mpmath.log(p) for p in pi])
            e = mpmath.fsum(wi * mi for wi, mi in zip(w, m)) - mpmath.fsum(r * c for r, c in zip(rho, ms))
            dens = mpmath.fsum(p * mpmath.npdf(x, c, 1) for p, c in zip(pi, ms))
            return dens * e * e

        pts = sorted(set(ms + [(a + b) / 2 for i, a in enumerate(m) for b in m[i + 1:]]
                         + [(a + b) / 2 for i, a in enumerate(ms) for b in ms[i + 1:]]))
        return mpmath.quad(f, [-mpmath.inf] + pts + [mpmath.inf], error=True)


def test_d1_loss_against_a_direct_quadrature():
    ref, ref_err = _direct(KEY)
    L, e = reference.loss_mix_mp(D1["mu"], D1["mu_stars"], D1["weights"], D1["t"], dps=25, error=True)
    # mpmath.quad's own estimate is loose (~1e-30 claimed); the engine's is 1e-20 relative
    assert abs(L - ref) <= 2 * (e + ref_err)
    Lf, ef = reference.loss_mix(np.array(D1["mu"], dtype=float), np.array(D1["mu_stars"], dtype=float),
                                [0.3, 0.7], 0.4, error=True)
    assert abs(Lf - float(ref)) <= ef + float(ref_err) + 1e-16 * abs(Lf)  # plus the inputs' rounding to float64


def test_d1_direct_quadrature_rejects_swapped_weights():
    """The negative control of the direct comparison: weights 0.7/0.3 instead of 0.3/0.7."""
    ref, ref_err = _direct(KEY)
    L, e = reference.loss_mix_mp(D1["mu"], D1["mu_stars"], ["0.7", "0.3"], D1["t"], dps=25, error=True)
    assert abs(L - ref) > 1e6 * (e + ref_err)


# ---- the gradient by finite differences ---------------------------------------------------------

MP_STARS, MP_W = [["0.9"], ["-1.2"]], ["0.4", "0.6"]
MP_MU = [["0.8"], ["-0.6"]]
_LOSSES: dict = {}


def mix_loss_mp(mu, mu_star, t, *, dps):
    """loss_fn protocol of check_fd_mp; its mu_star is a placeholder (the mixture is fixed)."""
    key = (tuple(mpmath.nstr(x, dps + 5) for r in mu for x in r), dps)
    if key not in _LOSSES:
        _LOSSES[key] = reference.loss_mix_mp(mu, MP_STARS, MP_W, t, dps=dps, error=True)
    return _LOSSES[key]


def mix_grad_mp(mu, mu_star, t, *, dps):
    return reference.grad_mix_mp(mu, MP_STARS, MP_W, t, dps=dps)


def mix_grad_scaled_mp(mu, mu_star, t, *, dps):
    """Wrong: dL/dm (scaled) passed as dL/dmu, the factor e^{-t} missing."""
    return reference.evaluate_mix_mp(mu, MP_STARS, MP_W, t, dps=dps).grad_scaled


# dps 20: L to ~1e-15 relative; h = 1e-3, 5e-4, 2.5e-4 extrapolated (h^2 and h^4 removed) leaves
# ~h^6 ~ 1e-18 truncation and a loss error / h of ~1e-12: 10 digits keep a margin of ~1e2
FD = dict(dps=20, digits=10, h="1e-3", levels=3)


def test_mixture_gradient_by_mpmath_finite_differences():
    report = check_fd_mp(mix_loss_mp, mix_grad_mp, MP_MU, ["0"], "0.9", **FD)
    assert report.details["fd_err"] < report.details["tolerance"]


def test_mpmath_finite_differences_reject_the_scaled_gradient():
    with pytest.raises(GradientCheckError):
        check_fd_mp(mix_loss_mp, mix_grad_scaled_mp, MP_MU, ["0"], "0.9", **FD)


STARS2, W2 = np.array([[1.5, 0.5], [-1.0, -0.8]]), [0.35, 0.65]


def _loss(mu, mu_star, t, error=False):
    return reference.loss_mix(mu, STARS2, W2, t, error=error)


def _grad(mu, mu_star, t, error=False):
    return reference.grad_mix(mu, STARS2, W2, t, error=error)


def _grad_single(mu, mu_star, t, error=False):
    """Wrong: the single-Gaussian gradient toward the mixture's mean (the model the mixture replaces)."""
    return reference.grad(mu, W2 @ STARS2, t, error=error)


def test_mixture_gradient_by_float64_finite_differences_k2():
    check_fd_float64(_loss, _grad, MU, MU_STAR, T, n_dirs=3)


def test_float64_finite_differences_reject_the_single_gaussian_gradient():
    with pytest.raises(GradientCheckError):
        check_fd_float64(_loss, _grad_single, MU, MU_STAR, T, n_dirs=3)


# ---- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("stars,weights,t,name", [
    ([[0.0, 0.0], [1.0, 1.0]], [0.5, 0.6], T, "weights"),
    ([[0.0, 0.0], [1.0, 1.0]], [1.0, 0.0], T, "weights"),
    ([[0.0, 0.0], [1.0, 1.0]], [1.0], T, "weights"),
    ([[0.0, 0.0, 0.0]], [1.0], T, "mu_stars"),
    ([0.0, 0.0], [1.0], T, "mu_stars"),
    ([[0.0, np.nan]], [1.0], T, "mu_stars"),
    ([[0.0, 0.0]], [1.0], -1.0, "t"),
])
def test_bad_input_names_the_argument(stars, weights, t, name):
    with pytest.raises(ValueError, match=name):
        reference.loss_mix(MU, stars, weights, t)


D1_MU, D1_STARS = [[1.0], [2.0]], [[0.0], [1.0], [3.0]]


def test_float_weights_are_taken_by_both_paths_and_used_as_given():
    """One rule for the weights' sum in both paths: 1 within K 2^-52.  The mpmath path checked
    10^-(dps - 3), which float weights never meet (0.1 + 0.2 + 0.7 as binary values: 1 - 2.8e-17),
    so loss_mix_mp refused what loss_mix took.  Both use the weights as given (not normalised): the
    mpmath loss with the float weights' binary values agrees with float64's within its estimate."""
    value, err = reference.loss_mix(D1_MU, D1_STARS, [0.1, 0.2, 0.7], 0.0, error=True)
    mp_value = reference.loss_mix_mp(D1_MU, D1_STARS, [0.1, 0.2, 0.7], 0.0, dps=20)
    assert abs(mp_value - value) <= err


def test_string_weights_pass_the_mpmath_check_and_the_float64_path_refuses_strings():
    """String weights in mpmath (checked alone: the evaluation is the test above's); float64 takes no
    strings, as it takes none for mu."""
    with mpmath.workdps(30):
        assert validation.mixture_mp(D1_MU, D1_STARS, ["0.1", "0.2", "0.7"])[2] == [mpmath.mpf("0.1"),
                                                                                  mpmath.mpf("0.2"),
                                                                                  mpmath.mpf("0.7")]
    with pytest.raises(ValueError, match=r"^weights must be an array of real numbers, got dtype <U3$"):
        reference.loss_mix(D1_MU, D1_STARS, ["0.1", "0.2", "0.7"], 0.0)


@pytest.mark.parametrize("fn", [reference.loss_mix, reference.loss_mix_mp], ids=["float64", "mpmath"])
@pytest.mark.parametrize("weights", [[0.1, 0.2, 0.6], ["0.1", "0.2", "0.6"], [0.5, 0.25, 0.25 + 1e-15]],
                         ids=["floats-0.9", "strings-0.9", "floats-1+1e-15"])
def test_weights_not_summing_to_one_are_refused_by_both_paths(fn, weights):
    """The negative control: weights summing to 0.9, and to 1 + 1e-15 (beyond K 2^-52 = 6.7e-16),
    are refused, never normalised; string weights only reach the mpmath check."""
    if fn is reference.loss_mix and isinstance(weights[0], str):
        weights = [float(w) for w in weights]
    with pytest.raises(ValueError, match=r"^weights must sum to 1 within K 2\^-52 = 6.66e-16 .*, got sum "):
        fn(D1_MU, D1_STARS, weights, 0.0)


def test_the_sum_bound_is_k_ulps_of_one_in_both_paths():
    """The bound, sharp: 1 - 5 2^-53 (within K 2^-52 = 6 2^-53) passes both checks, and the weights come
    back as given; 1 - 7 2^-53 is refused by both."""
    ok, off = [0.5, 0.25, 0.25 - 5 * 2.0 ** -53], [0.5, 0.25, 0.25 - 7 * 2.0 ** -53]  # exact binary values
    assert list(validation.check_mixture(D1_MU, D1_STARS, ok)[2]) == ok
    with mpmath.workdps(30):
        assert validation.mixture_mp(D1_MU, D1_STARS, ok)[2] == ok
        with pytest.raises(ValueError, match="^weights must sum to 1"):
            validation.mixture_mp(D1_MU, D1_STARS, off)
    with pytest.raises(ValueError, match="^weights must sum to 1"):
        validation.check_mixture(D1_MU, D1_STARS, off)


# ---- descent against a mixture ------------------------------------------------------------------


def test_mixture_descent_is_the_loop_with_the_mixture_gradient():
    from verify.simulate.mixture import mixture_descent, recovery

    stars, w, t, eta = np.array([[2.0, 0.0], [-2.0, 0.0]]), [0.5, 0.5], 0.3, 0.5
    mu0 = np.array([[0.4, 0.1], [-0.3, -0.2]])
    run = mixture_descent(mu0, stars, w, t, eta, 2, convention="unscaled", tol=1e-12)
    mu = mu0.copy()
    for _ in range(2):
        mu = mu - eta * reference.grad_mix(mu, stars, w, t, tol=1e-12)
    assert np.max(np.abs(run.mu - mu)) < 1e-12  # two steps of a gradient good to 1e-12 of its scale
    rec = recovery(run, radius=10.0)  # every mean is within 10 of both components: duplicated
    assert rec.outcome == "duplicated" and rec.duplicated == 2
    rec = recovery(run, radius=1e-3)  # none is within 1e-3 yet
    assert rec.outcome == "missing" and rec.missing == 2


def test_a_tolerance_below_the_rounding_bound_is_refused_at_once_with_the_reason():
    """Two means 2e-8 apart around a component 1e-9 from their centre: L ~ 1e-16, and the rounding
    bound of |v|^2 alone exceeds tol L at tol 1e-14, so the mixture path refuses before refining
    (the message names the rounding bound and the way out).  Rejects a check that needs both the
    loss's and the gradient's rounding to exceed the tolerance before it refuses."""
    mu = np.array([[1e-8, 0.0], [-1e-8, 0.0]])
    with pytest.raises(AccuracyError, match="rounding bound of this precision alone"):
        reference.loss_mix(mu, [[1e-9, 0.0]], [1.0], 0.0, tol=1e-14)


def test_a_component_every_mean_sits_on_is_exact_and_costs_nothing():
    """Every mean at the single component's centre (k = 0 for that component): L = 0 and the
    gradient 0 exactly, from no integrand evaluation (reported as 0 nodes).  Rejects a count that
    reports work for the closed form (1 node instead of 0)."""
    ev = reference.evaluate_mix([[0.5, -1.0], [0.5, -1.0]], [[0.5, -1.0]], [1.0], 0.0)
    assert ev.loss == 0.0 and ev.loss_err == 0.0 and np.all(ev.grad == 0.0) and ev.nodes == 0


@pytest.mark.parametrize("mu, stars", [
    ([[1e155, 0.0], [1.0, 0.0]], [[0.3, 0.1], [0.0, 1.0]]),  # a far student: NaN estimates before
    ([[1.0, 0.0], [0.0, 1.0]], [[1e155, 0.1], [0.0, 1.0]]),  # a far truth: likewise
])
def test_beyond_float64_range_is_refused_and_mpmath_takes_it(mu, stars):
    """Finite inputs whose scale overflows float64's bounds: AccuracyError naming the range (never a
    NaN estimate); the mpmath function answers. Negative control: the same shapes at 1e100, inside
    the range, are computed (tests/test_reference_accuracy.py has the single Gaussian's)."""
    with pytest.raises(AccuracyError, match="beyond the float64 engine's range"):
        reference.loss_mix(mu, stars, [0.5, 0.5], 0.5, error=True)
    L, eL = reference.loss_mix_mp(mu, stars, [0.5, 0.5], "0.5", dps=20, error=True)
    assert mpmath.isfinite(L) and 0 <= eL <= 1e-15 * abs(L)
    near = [[min(x, 1e100) for x in row] for row in mu], [[min(x, 1e100) for x in row] for row in stars]
    L, eL = reference.loss_mix(*near, [0.5, 0.5], 0.5, error=True)
    assert np.isfinite(L) and 0 <= eL <= 1e-12 * L


def test_the_range_refusal_names_what_it_measured():
    """As for the single Gaussian: a huge coordinate is refused by the coordinate check, whose
    message names the coordinates (it named the sum of norms, which it had not computed); the
    control, every coordinate within the range and the sum of norms beyond it, names that sum."""
    from verify.engine.lines import FLOAT64_AMAX as A
    from verify.engine.mixture import COORDINATE, SCALE
    stars = [[0.0, 0.0], [1.0, 0.0]]
    with pytest.raises(AccuracyError) as coord:
        reference.loss_mix([[1.01 * A, 0.0], [0.0, 0.0]], stars, [0.5, 0.5], 0.0)
    assert str(coord.value).startswith(f"{COORDINATE} = {1.01 * A:.3g} is beyond")
    with pytest.raises(AccuracyError) as norm:
        reference.loss_mix([[0.8 * A, 0.8 * A], [0.0, 0.0]], stars, [0.5, 0.5], 0.0)
    assert str(norm.value).startswith(f"{SCALE} = ")


def test_mpmath_estimates_include_the_rounding_to_dps():
    """evaluate_mix_mp returns values rounded to dps digits, unscaled by e^-t at the working
    precision: its estimates cover both (against dps = 40, plus that reference's own estimate).
    Asked for the finest tol dps = 20 takes (its floor, 2 eps ~ 3.4e-21; it was 1e-24, below that
    floor, refused now), the rounding to 20 digits dominates the error: the control, the same
    tol at dps = 30, where that rounding is 1e-10 smaller, gives the quadrature's estimate alone
    (what the estimates were), and the measured error at 20 digits is above it, so it is rejected."""
    from verify.engine.validation import mp_tol_floor
    mu, stars, weights, t = [["0.1"], ["0.5"]], [["0.7"], ["-0.2"]], ["0.5", "0.5"], "0.3"
    tol = mp_tol_floor(20)
    ev = reference.evaluate_mix_mp(mu, stars, weights, t, dps=20, tol=tol)
    quad = reference.evaluate_mix_mp(mu, stars, weights, t, dps=30, tol=tol)
    ref = reference.evaluate_mix_mp(mu, stars, weights, t, dps=40)
    err = abs(ev.loss - ref.loss) - ref.loss_err
    assert err <= ev.loss_err <= tol * abs(ev.loss)
    assert err > quad.loss_err
    for G, Ge, R, Re in ((ev.grad, ev.grad_err, ref.grad, ref.grad_err),
                         (ev.grad_scaled, ev.grad_scaled_err, ref.grad_scaled, ref.grad_scaled_err)):
        for i in range(2):
            assert abs(G[i][0] - R[i][0]) - Re[i][0] <= Ge[i][0]


def test_gauss_hermite_estimate_covers_the_doubled_rules_own_error(monkeypatch):
    """The smooth path's estimate of Q's error from Q_j (one axis's order doubled) must allow for
    Q_j's own error (quadrature.DOUBLING_SAFETY): at this configuration |Q - Q_j| alone fell short
    of the measured error of grad_scaled by 1.8e-28 (5.6109905870e-19 against 5.6109905853e-19, found
    by a review).  The negative control: the same evaluation with the factor 1 (the old estimate)
    is rejected by the same comparison."""
    from verify.engine import quadrature
    mu, stars, weights, t = [[0.1], [0.5]], [[0.7], [-0.2]], [0.5, 0.5], 0.3
    ref = reference.evaluate_mix_mp(mu, stars, weights, t, dps=40)

    def honest(ev):
        return all(abs(ev.grad_scaled[i][0] - ref.grad_scaled[i][0]) + ref.grad_scaled_err[i][0]
                   <= ev.grad_scaled_err[i][0] for i in range(2))

    assert honest(reference.evaluate_mix_mp(mu, stars, weights, t, dps=20))
    monkeypatch.setattr(quadrature, "DOUBLING_SAFETY", 1.0)
    assert not honest(reference.evaluate_mix_mp(mu, stars, weights, t, dps=20))


def test_below_the_lower_range_a_mixture_is_refused():
    """Negative control of the lower range (verify.engine.lines.FLOAT64_AMIN) for mixtures: at t = 360
    the previous engine returned 4.978965447e-314 with estimate 0 (error 1.9e-322 against mpmath), at
    370 1e-322 (error 5e-324, estimate 0); both are refused now with BelowRangeError naming the
    coordinates it measured.  Control: t = 330 (scale 1e-143, inside) is returned, its estimate
    covering its error against mpmath."""
    from verify.engine.mixture import COORDINATE
    from verify.engine.tolerances import BelowRangeError
    mu, stars, w = [[1.0, 0.5], [-0.7, 0.2]], [[0.0, 0.0], [1.0, 0.0]], [0.5, 0.5]
    for t in (360.0, 370.0):
        with pytest.raises(BelowRangeError) as err:
            reference.loss_mix(mu, stars, w, t)
        assert str(err.value).startswith(f"{COORDINATE} = ") and "is below" in str(err.value)
    L, eL = reference.loss_mix(mu, stars, w, 330.0, error=True)
    assert abs(L - reference.loss_mix_mp(mu, stars, w, 330.0, dps=30)) <= eL
