"""Lemma 2.2 / B.1, check 3 of 3: finite differences of the population loss, no autodiff.

* mpmath, k = 1: Richardson-extrapolated central differences (h = 1e-6, 5e-7, 2.5e-7; error
  series in h^2) of ``verify.engine.reference.loss_mp`` at dps 50 against ``grad_mp``: tolerance
  10^-25 relative (normwise, max(|grad|, L)); the extrapolation's own error estimate (last
  correction + 3 x loss error / h) must be below it.
* float64, k = 2: directional differences <grad, u> vs (L(mu + h u) - L(mu - h u)) / 2h for
  fixed-seed unit vectors u, h = 5e-5 e^{t}; tolerance 2 x [loss error / h + |D(2h) - D(h)| / 3
  (truncation, from two steps) + sum |u| grad error] (``check_fd_float64``).

Negative controls, at t in (0, 3]: the gradient with the cubic terms dropped, the scaled
gradient passed as the unscaled one, e^{-2t} scaling, and a loss with a factor 1/2 are each
rejected by the same checker.  Loss evaluations are cached so that the controls reuse them.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings, reject
from hypothesis import strategies as st

from verify.engine import reference
from verify.checks.compare import TOLERANCES, GradientCheckError
from verify.checks.finite_differences import check_fd_float64, check_fd_mp
from verify.checks.variants import reference_grad_mp, reference_loss_mp, wrong_variants

# ---- cached reference functions (the controls reuse the same loss evaluations) ----------------

_MP_CACHE: dict = {}
_F64_CACHE: dict = {}


def _key_mp(mu, mu_star, t, dps):
    with mpmath.workdps(dps + 5):
        return (tuple(tuple(mpmath.nstr(mpmath.mpf(x), dps + 5) for x in r) for r in mu),
                tuple(mpmath.nstr(mpmath.mpf(x), dps + 5) for x in mu_star), mpmath.nstr(mpmath.mpf(t), dps), dps)


def loss_mp_cached(mu, mu_star, t, *, dps):
    key = ("L",) + _key_mp(mu, mu_star, t, dps)
    if key not in _MP_CACHE:
        _MP_CACHE[key] = reference_loss_mp(mu, mu_star, t, dps=dps)
    return _MP_CACHE[key]


def grad_mp_cached(mu, mu_star, t, *, dps):
    key = ("G",) + _key_mp(mu, mu_star, t, dps)
    if key not in _MP_CACHE:
        _MP_CACHE[key] = reference_grad_mp(mu, mu_star, t, dps=dps)
    return _MP_CACHE[key]


def half_loss_mp_cached(mu, mu_star, t, *, dps):
    L, e = loss_mp_cached(mu, mu_star, t, dps=dps)
    return L / 2, e / 2


def loss_cached(mu, mu_star, t, error=False):
    mu = np.asarray(mu, dtype=np.float64)
    key = (mu.tobytes(), mu.shape, np.asarray(mu_star, dtype=np.float64).tobytes(), float(t))
    if key not in _F64_CACHE:
        _F64_CACHE[key] = reference.loss(mu, mu_star, t, error=True)
    return _F64_CACHE[key] if error else _F64_CACHE[key][0]


def half_loss_cached(mu, mu_star, t, error=False):
    L, e = loss_cached(mu, mu_star, t, error=True)
    return (L / 2, e / 2) if error else L / 2


# ---- configurations --------------------------------------------------------------------------

T = 0.9  # t in (0, 3]: e^{-t} scaling errors are invisible at t = 0
K1 = ([["0.8"], ["-0.6"]], ["0.1"])  # n = 2, d = 1 (strings: exact decimal inputs in mpmath)
K1_D2 = ([["0.8", "0.2"], ["-0.6", "0.4"]], ["0.1", "-0.3"])  # n = 2, d = 2: still k = 1
K2 = ([[1.0, 0.3], [-0.7, 0.5], [0.2, -0.9]], [0.2, -0.1])  # n = 3, d = 2: k = 2


def _scaled_up(mu, t):
    """Unscaled means whose scaled means e^{-t} mu are the given O(1) values."""
    return (np.asarray(mu, dtype=np.float64) * math.exp(t)).tolist()


def _mp_scaled_up(mu, t, dps=70):
    with mpmath.workdps(dps):
        e = mpmath.exp(mpmath.mpf(t))
        return [[mpmath.mpf(x) * e for x in r] for r in mu]


# ---- mpmath, k = 1 ---------------------------------------------------------------------------


def test_fd_mp_agrees_with_grad_mp_to_25_digits_k1():
    """n = 2, d = 1, t = 0.9, along one fixed-seed unit direction (both components at once; every
    component separately in the thorough test below): >= 25 digits (tolerance 10^-25 relative)."""
    mu, mu_star = K1
    report = check_fd_mp(loss_mp_cached, grad_mp_cached, _mp_scaled_up(mu, T), mu_star, T, directions=1)
    assert report.digits >= TOLERANCES["mpmath"]["fd_digits"], report.table(40)


@pytest.mark.thorough
def test_fd_mp_every_component_k1():
    mu, mu_star = K1
    report = check_fd_mp(loss_mp_cached, grad_mp_cached, _mp_scaled_up(mu, T), mu_star, T)
    assert report.digits >= TOLERANCES["mpmath"]["fd_digits"], report.table(40)


@pytest.mark.thorough
@pytest.mark.parametrize("t", [0.0, 2.5])
def test_fd_mp_every_component_k1_d2(t):
    mu, mu_star = K1_D2
    report = check_fd_mp(loss_mp_cached, grad_mp_cached, _mp_scaled_up(mu, t), mu_star, t)
    assert report.digits >= TOLERANCES["mpmath"]["fd_digits"], report.table(40)


@pytest.mark.parametrize("variant", ["cubic_dropped", "scaled_as_unscaled", "double_scaled"])
def test_fd_mp_rejects_wrong_gradients(variant):
    mu, mu_star = K1
    wrong = wrong_variants[variant]["mpmath"]
    with pytest.raises(GradientCheckError) as excinfo:
        check_fd_mp(loss_mp_cached, wrong, _mp_scaled_up(mu, T), mu_star, T, directions=1)
    # rejected by a relative difference far above 10^-25
    worst = max(r.error / r.tolerance for r in excinfo.value.rows if not r.ok)
    assert worst > 1e15, str(excinfo.value)


def test_fd_mp_rejects_a_loss_with_a_factor_half():
    mu, mu_star = K1
    with pytest.raises(GradientCheckError) as excinfo:
        check_fd_mp(half_loss_mp_cached, grad_mp_cached, _mp_scaled_up(mu, T), mu_star, T, directions=1)
    worst = max(r.error / r.tolerance for r in excinfo.value.rows if not r.ok)
    assert worst > 1e15, str(excinfo.value)


def test_fd_mp_refuses_to_vouch_when_h_is_too_large():
    """With h = 0.1 and two levels the extrapolation error (~h^2) is far above 10^-25: the check
    fails saying so, rather than passing on digits it cannot support."""
    mu, mu_star = K1
    with pytest.raises(GradientCheckError, match="only good to"):
        check_fd_mp(loss_mp_cached, grad_mp_cached, _mp_scaled_up(mu, T), mu_star, T, h="0.1", levels=2,
                    dps=30, directions=1)


# ---- float64, k = 2 --------------------------------------------------------------------------


def test_fd_float64_directional_k2():
    mu, mu_star = K2
    report = check_fd_float64(loss_cached, reference.grad, _scaled_up(mu, T), mu_star, T, n_dirs=2)
    assert report.margin < 1, report.table()


@pytest.mark.parametrize("variant", ["cubic_dropped", "scaled_as_unscaled", "double_scaled"])
def test_fd_float64_rejects_wrong_gradients(variant):
    mu, mu_star = K2
    with pytest.raises(GradientCheckError) as excinfo:
        check_fd_float64(loss_cached, wrong_variants[variant]["float64"], _scaled_up(mu, T), mu_star, T, n_dirs=2)
    worst = max(r.error / r.tolerance for r in excinfo.value.rows if not r.ok)
    assert worst > 1e4, str(excinfo.value)


def test_fd_float64_rejects_a_loss_with_a_factor_half():
    mu, mu_star = K2
    with pytest.raises(GradientCheckError) as excinfo:
        check_fd_float64(half_loss_cached, reference.grad, _scaled_up(mu, T), mu_star, T, n_dirs=2)
    worst = max(r.error / r.tolerance for r in excinfo.value.rows if not r.ok)
    assert worst > 1e4, str(excinfo.value)


def _examples(ci: int) -> int:
    current = settings.default.max_examples
    # thorough: up to 40 (each example costs seconds); dev/ci: ``ci``
    return min(current, 40) if current > 10 else min(ci, current)


coord = st.floats(-1.5, 1.5, allow_nan=False, allow_infinity=False)


@settings(max_examples=_examples(3))
@example(m=[[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]], ms=[0.0, 0.0], t=0.0)  # was a ZeroDivisionError (scale 0)
@given(
    m=st.lists(st.lists(coord, min_size=2, max_size=2), min_size=3, max_size=3),
    ms=st.lists(coord, min_size=2, max_size=2),
    t=st.floats(0.0, 3.0),
)
def test_fd_float64_hypothesis(m, ms, t):
    """Scaled means O(1) (mu = e^{t} m), t in [0, 3], n = 3, d = 2."""
    mu = _scaled_up(m, t)
    mu_star = _scaled_up([ms], t)[0]
    try:
        report = check_fd_float64(reference.loss, reference.grad, mu, mu_star, t, n_dirs=1)
    except reference.AccuracyError:
        reject()  # the engine declined this example (AccuracyError): Hypothesis draws another
    assert report.margin < 1, report.table()
