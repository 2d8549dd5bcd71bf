"""Theorem 3.4 (counterexample): only mu_1 converges, the others recede, for M0 large enough.

n = 3, d = 1, eta = 0.05, step convention "scaled", t = 0, mu* = M0 e_1, mu_1(0) = exp(-M0/100) e_1.
Outcome rule: verify.simulate.outcomes.tail_rule with radius 1/(6n) (see verify/claims/thm_3_4.py).
"""

from __future__ import annotations

import math

import pytest

from verify.claims import thm_3_4
from verify.simulate import outcomes


def test_counterexample_holds_at_M0_3():
    r = thm_3_4.counterexample_run(3.0)
    assert r["outcomes"] == [outcomes.CONVERGES, outcomes.RECEDES, outcomes.RECEDES]
    assert r["holds"]


def test_counterexample_check_rejects_small_M0():
    # negative control: at M0 = 1 no mean recedes (means 2, 3 converge, mean 1 is still
    # approaching at 0.10 > 1/(6n) after 1500 steps), and the same check says "does not hold"
    r = thm_3_4.counterexample_run(1.0)
    assert not r["holds"]
    assert r["outcomes"][1:] == [outcomes.CONVERGES, outcomes.CONVERGES] and outcomes.RECEDES not in r["outcomes"]


def test_counterexample_check_rejects_tiny_eps0():
    # negative control: with the theorem-3.2-like tiny spread the cluster stays together at M0 = 3
    r = thm_3_4.counterexample_run(3.0, eps0=1e-6)
    assert not r["holds"]


def test_mpmath_cross_check_of_the_first_steps():
    xc = thm_3_4.mp_cross_check(4.0, 5)
    # engine tol 1e-10 relative per step, coordinates ~M0, 5 steps, growth (1 + 4 eta M0^2/n)^5 ~ 17
    assert xc["max_abs_diff"] < 1e-10 * 4 * 5 * (1 + 4 * 0.05 * 16 / 3) ** 5


def test_mpmath_cross_check_detects_a_perturbed_trajectory(monkeypatch):
    # negative control: the same comparison against a float64 run with a 1e-6 different start fails
    import numpy as np

    real = thm_3_4.gradient_descent

    def shifted(mu0, *a, **k):
        mu0 = np.array(mu0, dtype=float)
        mu0[1, 0] += 1e-6
        return real(mu0, *a, **k)

    monkeypatch.setattr(thm_3_4, "gradient_descent", shifted)
    xc = thm_3_4.mp_cross_check(4.0, 5)
    assert xc["max_abs_diff"] > 1e-10 * 4 * 5 * (1 + 4 * 0.05 * 16 / 3) ** 5


def test_eps0_is_exp_minus_M0_over_100():
    r = thm_3_4.counterexample_run(2.0, n=2)
    assert r["eps0"] == pytest.approx(math.exp(-0.02), rel=1e-15)


@pytest.mark.thorough
def test_claim_quick_budget(run_claim):
    r = run_claim("thm-3.4")
    assert r.verdict == "holds", r.reason
