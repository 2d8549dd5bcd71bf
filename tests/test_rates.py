"""verify.analysis.rates: window slopes, their Richardson limit, and the settled / band checks.

Every check here has a negative control that the same check rejects: a wrong predicted
exponent, a run that has not settled, an exponential (not power-law) decay, no decay.
Exact power laws are computed in float64: log y has rounding error ~1e-16, so a window
slope over log 2 is exact to ~1e-15; tolerances 1e-12 leave three digits of headroom.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, strategies as st

from verify.analysis import rates


def _grid(end, points=600):
    x = np.geomspace(1.0, end, points)
    x[-1] = end
    return x


# --- window slopes -------------------------------------------------------------------------


@given(p=st.floats(min_value=-3, max_value=1), C=st.floats(min_value=1e-6, max_value=1e6),
       ratio=st.sampled_from([2.0, 3.0, 4.0]), windows=st.integers(min_value=1, max_value=5))
def test_window_slopes_of_an_exact_power_law(p, C, ratio, windows):
    x = _grid(1e7)
    w = rates.window_slopes(x, C * x**p, ratio=ratio, windows=windows)
    assert w.slopes.shape == (windows,)
    np.testing.assert_allclose(w.edges[1:] / w.edges[:-1], ratio, rtol=1e-12)
    assert w.edges[-1] == x[-1]
    # log-log interpolation is exact for a power law: float64 rounding only (~1e-15)
    np.testing.assert_allclose(w.slopes, p, rtol=0, atol=1e-12)


def test_window_slopes_interpolate_between_records():
    # the window edges need not be recorded: y = x^-1/2 recorded at odd steps only
    x = np.arange(1.0, 4097.0, 2.0)
    w = rates.window_slopes(x, x**-0.5, ratio=2.0, windows=3, end=4095.0)
    np.testing.assert_allclose(w.slopes, -0.5, atol=1e-12)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(ratio=1.0), "ratio must be"),
    (dict(windows=0), "windows must be"),
    (dict(windows=20), "not inside the recorded range"),
])
def test_window_slopes_rejects_bad_layouts(kwargs, message):
    x = _grid(1000.0)
    with pytest.raises(ValueError, match=message):
        rates.window_slopes(x, x**-1.0, **kwargs)


def test_window_slopes_need_positive_values_on_the_tail_only():
    x = np.arange(0.0, 1025.0)
    y = np.where(x < 10, 0.0, (x + 1) ** -1.0)  # zeros before the tail are ignored
    rates.window_slopes(x, y, ratio=2.0, windows=4)
    y[1000] = 0.0  # a zero inside the tail has no logarithm
    with pytest.raises(ValueError, match="positive and finite"):
        rates.window_slopes(x, y, ratio=2.0, windows=4)


# --- the extrapolated exponent ---------------------------------------------------------------


@given(p=st.floats(min_value=-2, max_value=-0.1), onsets=st.floats(min_value=4, max_value=1e4),
       ratio=st.sampled_from([2.0, 3.0, 4.0]), windows=st.integers(min_value=3, max_value=5))
@example(p=-0.5, onsets=4.0, ratio=2.0, windows=4)
@example(p=-2.0, onsets=4.0, ratio=3.0, windows=3)
def test_error_estimate_bounds_the_true_error_of_a_single_onset_law(p, onsets, ratio, windows):
    # y = (x + c)^p: local slope p x / (x + c) = p (1 - c/x + ...), a 1/x correction (order 1).
    # From 4 onsets (c = end / 4) on, the estimate is conservative (measured: the true error
    # is at most 0.6 of it; at 2 onsets it is 1.3x, which is why runs are 8-16 onsets long).
    end = 2.0**22
    x = _grid(end, 900)
    est = rates.asymptotic_slope(x, (x + end / onsets) ** p, ratio=ratio, windows=windows)
    assert abs(est.value - p) <= est.error


def test_single_onset_law_extrapolation_at_16_onsets():
    # The numbers quoted in verify/claims/thm_2_1.py (ONSETS): y = (x + c)^(-1/2), x_end = 16 c.
    x = np.arange(1.0, 16 * 1000 + 1)
    est = rates.asymptotic_slope(x, (x + 1000.0) ** -0.5, ratio=2.0, windows=4)
    assert abs(est.value + 0.5) == pytest.approx(0.00646, abs=5e-5)
    assert est.error == pytest.approx(0.01403, abs=5e-5)
    assert est.last_slope == pytest.approx(-0.4588, abs=5e-4)


@pytest.mark.parametrize(("k1", "k2"), [(8, 1000), (16, 16), (16, 64), (8, 64)])
def test_error_estimate_for_two_onsets(k1, k2):
    # r = sqrt(sum_k 1/(c_k + x)), two spread directions with onsets c_k = end / k (>= 8 onsets
    # each, as the runs of Theorem 2.1 are laid out): still conservative.
    end = 2.0**20
    x = _grid(end, 800)
    y = np.sqrt(0.5 / (x + end / k1) + 0.5 / (x + end / k2))
    est = rates.asymptotic_slope(x, y)
    assert abs(est.value + 0.5) <= est.error < rates_settle_tol()


def rates_settle_tol():
    from verify.claims.thm_2_1 import SETTLE_TOL

    return SETTLE_TOL


def test_asymptotic_slope_argument_checks():
    x = _grid(1e4)
    with pytest.raises(ValueError, match="windows must be >= 3"):
        rates.asymptotic_slope(x, x**-1.0, windows=2)
    with pytest.raises(ValueError, match="ratio\\*\\*order must be >= 2"):
        rates.asymptotic_slope(x, x**-1.0, ratio=1.5)
    with pytest.raises(ValueError, match="noise must be"):
        rates.asymptotic_slope(x, x**-1.0, noise=-1.0)


def test_noise_widens_the_error_estimate():
    x = _grid(1e4)
    a = rates.asymptotic_slope(x, x**-1.0)
    b = rates.asymptotic_slope(x, x**-1.0, noise=1e-3)
    # (1 + 2 / (2 - 1)) * 2 * 1e-3 / log 2
    assert b.error - a.error == pytest.approx(3 * 2e-3 / math.log(2), rel=1e-12)


# --- the checks and their negative controls ---------------------------------------------------


def _est(y_of_x, end=2.0**16):
    x = _grid(end, 500)
    return rates.asymptotic_slope(x, y_of_x(x))


def test_check_accepts_the_predicted_exponent():
    chk = rates.check_rate(_est(lambda x: (x + 100.0) ** -0.5), -0.5, settle_tol=1 / 16)
    assert chk.ok and chk.settled
    assert "-0.5" in chk.table()


@pytest.mark.parametrize(("name", "y_of_x", "settled"), [
    ("slower power law tau^(-1/4)", lambda x: (x + 100.0) ** -0.25, True),
    ("no convergence", lambda x: np.full_like(x, 2.55), True),
    ("faster power law tau^(-1)", lambda x: (x + 100.0) ** -1.0, True),
    ("exponential decay", lambda x: np.exp(-x / 2000.0), False),
    ("not yet in the tail (onset at the end)", lambda x: (x + 2.0**16) ** -0.5, False),
])
def test_check_rejects_other_behaviour(name, y_of_x, settled):
    chk = rates.check_rate(_est(y_of_x), -0.5, settle_tol=1 / 16, name=name)
    assert not chk.ok, chk.table()
    assert chk.settled is settled, chk.table()
    with pytest.raises(rates.RateMismatch, match="window slopes"):
        rates.assert_rate(_est(y_of_x), -0.5, settle_tol=1 / 16, name=name)


def test_one_sided_check():
    fast = _est(lambda x: (x + 100.0) ** -2.0)
    assert rates.check_rate(fast, -0.5, settle_tol=0.25, kind="at_most").ok
    # negative controls: a loss that stays, and one that falls like tau^(-1/4), are rejected
    assert not rates.check_rate(_est(lambda x: np.full_like(x, 0.9)), -0.5, settle_tol=0.25, kind="at_most").ok
    assert not rates.check_rate(_est(lambda x: (x + 100.0) ** -0.25), -0.5, settle_tol=0.25, kind="at_most").ok
    with pytest.raises(ValueError, match="kind must be"):
        rates.check_rate(fast, -0.5, settle_tol=0.25, kind="below")


# --- recording on a log grid ---------------------------------------------------------------


@given(end=st.integers(min_value=1, max_value=10**7), per_octave=st.integers(min_value=1, max_value=6))
def test_log_grid(end, per_octave):
    edges = [end // 2**j for j in range(5)]
    g = rates.log_grid(end, per_octave=per_octave, include=edges)
    assert g[0] == 0 and g[-1] == end
    assert np.all(np.diff(g) > 0)
    assert set(edges) <= set(g.tolist())
    # about per_octave points per doubling, plus the included ones
    assert len(g) <= per_octave * (math.log2(end) + 1) + len(edges) + 2


def test_log_grid_rejects_bad_input():
    with pytest.raises(ValueError, match="end must be"):
        rates.log_grid(0)
    with pytest.raises(ValueError, match="include must lie"):
        rates.log_grid(10, include=[11])
