"""The pointwise model (verify.model) against its direct formulas (CLAIMS.md, "Model").

Each function is compared with the formula written out independently here (in mpmath where
the direct form would lose digits), at t > 0 so that a wrong scaling of the means shows.
Negative controls: the same comparison rejects a wrongly scaled variant.
"""

import math

import mpmath
import numpy as np
import pytest

from verify.engine import model

RNG = np.random.default_rng(7)
MU = RNG.normal(size=(4, 3)) * 1.5
STAR = np.array([0.3, -0.2, 0.5])
X = RNG.normal(size=(6, 3)) * 2
T = 0.7


def _direct_weights(x, mu, t, scale=None):
    """w_i(x) = exp(-|x - m_i|^2 / 2) / sum_j exp(-|x - m_j|^2 / 2), m = e^{-t} mu, in mpmath."""
    s = mpmath.e ** (-t) if scale is None else scale
    out = np.empty((x.shape[0], mu.shape[0]))
    with mpmath.workdps(40):
        for r, xr in enumerate(x):
            e = [mpmath.exp(-sum((mpmath.mpf(xr[j]) - s * mpmath.mpf(m[j])) ** 2 for j in range(len(xr))) / 2)
                 for m in mu]
            tot = mpmath.fsum(e)
            out[r] = [float(v / tot) for v in e]
    return out


def test_scaled_means_is_exp_minus_t_times_mu():
    np.testing.assert_allclose(model.scaled_means(MU, T), math.exp(-T) * MU, rtol=1e-15, atol=0)
    # negative control: e^{-2t} is rejected by the same comparison
    assert not np.allclose(model.scaled_means(MU, T), math.exp(-2 * T) * MU, rtol=1e-6, atol=0)


def test_softmax_weights_match_the_direct_formula():
    w = model.softmax_weights(X, MU, T)
    ref = _direct_weights(X, MU, T)
    np.testing.assert_allclose(w, ref, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-15)
    # negative control: weights of the unscaled means (t ignored) differ at t = 0.7
    assert not np.allclose(w, _direct_weights(X, MU, T, scale=mpmath.mpf(1)), rtol=1e-6)


def test_score_is_weighted_means_minus_x():
    s = model.score(X, MU, T)
    ref = _direct_weights(X, MU, T) @ (math.exp(-T) * MU) - X
    np.testing.assert_allclose(s, ref, rtol=1e-13, atol=1e-13)
    # negative control: the score with unscaled means in the sum is rejected
    assert not np.allclose(s, _direct_weights(X, MU, T) @ MU - X, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("t", [0.0, 0.7])
def test_loss_and_pathwise_integrands_match_the_direct_formulas(t):
    m, ms = math.exp(-t) * MU, math.exp(-t) * STAR
    w = _direct_weights(X, MU, t)
    v = w @ (m - ms)  # v = sum_i w_i (m_i - m*)
    np.testing.assert_allclose(model.loss_integrand(X, MU, STAR, t), (v * v).sum(axis=1), rtol=1e-12)
    a, y = m - ms, X - ms
    g = np.empty((X.shape[0],) + MU.shape)
    for r in range(X.shape[0]):
        for i in range(MU.shape[0]):
            g[r, i] = 2 * (w[r, i] * v[r] + w[r, i] * (v[r] @ (a[i] - v[r])) * (y[r] - a[i]))
    np.testing.assert_allclose(model.pathwise_grad_integrand(X, MU, STAR, t), g, rtol=1e-11, atol=1e-13)
    # negative control: the integrand with samples centred at the unscaled mu* differs at t > 0
    if t > 0:
        assert not np.allclose(model.loss_integrand(X, MU, STAR, t), ((w @ (m - STAR)) ** 2).sum(axis=1), rtol=1e-6)


LONG = np.array(X, dtype=np.longdouble)
NARROWS = np.finfo(np.longdouble).nmant > 52  # x86: 63 bits; where long double is float64 nothing narrows


@pytest.mark.parametrize("call, match", [
    (lambda: model.scaled_means(np.array(MU, dtype=np.longdouble), T), "^mu must not be a numpy long double"),
    (lambda: model.softmax_weights(X, np.array(MU, dtype=np.longdouble), T), "^mu must not be a numpy long double"),
    (lambda: model.score(LONG, MU, T), "^x must not be a numpy long double"),
    (lambda: model.loss_integrand(LONG, MU, STAR, T), "^x must not be a numpy long double"),
    (lambda: model.softmax_weights([["1", "2", "3"]], MU, T), "^x must be an array of real numbers, got dtype <U1$"),
    (lambda: model.score(X + 1e-9j, MU, T), "^x must be real, got complex entries$"),
    (lambda: model.scaled_means(np.ones(3), T), r"^mu must have shape \(n, d\), got shape \(3,\)$"),
], ids=["scaled_means-mu", "softmax-mu", "score-x", "integrand-x", "strings", "complex", "shape"])
def test_the_pointwise_model_takes_its_inputs_through_the_engine_checks(call, match):
    """verify.model converted x and mu with np.asarray(dtype=float64): long double narrowed, strings
    parsed and complex cut (with a ComplexWarning).  Now the engine's one input check serves them."""
    if NARROWS or "long double" not in match:
        with pytest.raises(ValueError, match=match):
            call()
    else:
        call()  # long double is float64 here: nothing to refuse


def test_control_the_pointwise_model_takes_float32_points_exactly():
    got = model.score(X.astype(np.float32), MU, T)
    np.testing.assert_array_equal(got, model.score(X.astype(np.float32).astype(np.float64), MU, T))
