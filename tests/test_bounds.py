"""verify.analysis.bounds: a rate statement judged as a bound (faster decay satisfies it).

Each case names the law it feeds in; the wrong inputs (slower decays, no decay) are rejected
by the same function.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from verify.analysis.bounds import check_bound

TAU = np.unique(np.round(np.logspace(0, math.log10(20_000), 400)).astype(float))


@pytest.mark.parametrize("law, name", [
    (lambda t: t**-1.0, "tau^-1"),
    (lambda t: t**-2.0, "tau^-2"),
    (lambda t: np.exp(-t / 3000.0), "exp(-tau/3000)"),
    (lambda t: 1 / (t * np.log(t + 2)), "1/(tau log tau)"),
])
def test_faster_decay_than_tau_to_minus_half_satisfies_the_bound(law, name):
    chk = check_bound(TAU, law(TAU), -0.5)
    assert chk.verdict == "holds", (name, chk.reason)
    assert chk.margin >= 0.4, (name, chk.margin)


@pytest.mark.parametrize("law, name", [
    (lambda t: t**-0.25, "tau^-1/4"),
    (lambda t: 0.5 + 0 * t, "a plateau (stationary point)"),
    (lambda t: 1 + np.log(t), "growth"),
])
def test_slower_decay_fails_the_bound(law, name):
    # negative controls: the wrong inputs the bound must reject
    chk = check_bound(TAU, law(TAU), -0.5)
    assert chk.verdict == "fails", (name, chk.reason)


def test_papers_figure_slopes_hold_as_a_bound_on_one_over_tau():
    # local slopes steepening -0.79, -1.05, -1.20, -1.25 over [1250, 20000] (proofs_map fig-1):
    # as a bound L = O(1/tau) this holds with margin 0.25; a reading "settled at -1 +- 0.1" would not
    edges = 20_000 / 2.0 ** np.arange(4, -1, -1)
    slopes = [-0.79, -1.05, -1.20, -1.25]
    logy = np.concatenate([[0.0], np.cumsum(np.array(slopes) * math.log(2))])
    chk = check_bound(edges, np.exp(logy), -1.0)
    assert chk.verdict == "holds" and chk.margin == pytest.approx(0.25, abs=1e-12), chk.reason
    assert chk.trend == "steepening"
    # negative control: the same windows flattening towards -0.8 from below -1 cannot hold
    flat = np.exp(np.concatenate([[0.0], np.cumsum(np.array([-1.3, -1.1, -0.95, -0.87]) * math.log(2))]))
    assert check_bound(edges, flat, -1.0).verdict == "fails"


def test_a_flattening_approach_from_below_is_judged_by_its_limit():
    # y = tau^-1 (1 - 30/tau): slopes rise towards -1 from below; the limit -1 is within the bound
    y = TAU ** -1.0 * (1 + 30 / TAU)
    chk = check_bound(TAU, y, -1.0 + 1e-3)
    assert chk.trend == "flattening" and chk.verdict == "holds", chk.reason
    # the same law against a bound that excludes its limit -1 is not "holds"
    assert check_bound(TAU, y, -1.05).verdict != "holds"


def test_reaching_exactly_zero_holds_and_the_constant_is_reported():
    y = np.maximum(1.0 - TAU / 10_000.0, 0.0)
    chk = check_bound(TAU, y, -0.5)
    assert chk.verdict == "holds" and chk.upper == -math.inf and chk.trend == "reached zero"
    c = check_bound(TAU, 3 * TAU**-1.0, -0.5, windows=4)
    # C(tau) = y tau^(1/2) = 3 tau^-1/2: largest at the window's start tau = 20000/16
    assert c.constant_max == pytest.approx(3 * (20_000 / 16) ** -0.5, rel=0.05)
    assert c.constant_end == pytest.approx(3 * 20_000 ** -0.5, rel=1e-12)


@given(p=st.floats(min_value=-3.0, max_value=0.0), bound=st.floats(min_value=-3.0, max_value=0.0))
def test_pure_power_laws_are_decided_on_the_right_side(p, bound):
    # an exact power law: holds iff p <= bound (away from the edge by the rounding of the logs)
    chk = check_bound(TAU, TAU**p, bound)
    if p <= bound - 1e-9:
        assert chk.verdict == "holds"
    elif p >= bound + 1e-9:
        assert chk.verdict == "fails"


def test_a_lower_bound_is_judged_from_the_other_side():
    # Theorem 3.7's kind of statement, L = Omega(tau^-(1 + eps)): 1/(tau log tau) holds for eps = 0.25,
    # tau^-2 and an exponential fail it (the wrong inputs it rejects)
    assert check_bound(TAU, 1 / (TAU * np.log(TAU + 2)), -1.25, kind="lower").verdict == "holds"
    assert check_bound(TAU, TAU**-2.0, -1.25, kind="lower").verdict == "fails"
    assert check_bound(TAU, np.exp(-TAU / 3000.0), -1.25, kind="lower").verdict == "fails"
    assert check_bound(TAU, np.maximum(1.0 - TAU / 10_000.0, 0.0), -1.25, kind="lower").verdict == "fails"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="kind must be"):
        check_bound(TAU, TAU**-1.0, -1.0, kind="both")
    with pytest.raises(ValueError, match="exponent must be finite"):
        check_bound(TAU, TAU**-1.0, math.nan)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        check_bound(TAU, TAU**-1.0, -1.0, noise=-1.0)
    with pytest.raises(ValueError, match="same length"):
        check_bound(TAU, TAU[:-1], -1.0)
