"""Theorem 3.4 (counterexample): only mu_1 converges, the others recede, for M0 large enough.

n = 3, d = 1, eta = 0.05, step convention "scaled", t = 0, mu* = M0 e_1, mu_1(0) = exp(-M0/100) e_1.
Outcome: verify/analysis/counterexample.py (tail rule with radius 1/(6n) for mean 1; the losers'
outward displacement in recentred coordinates, its direction certified).
"""

from __future__ import annotations

import math

import pytest

from verify.analysis import counterexample as ce
from verify.claims import thm_3_4
from verify.simulate import outcomes


def test_counterexample_works_at_M0_3():
    r = thm_3_4.counterexample_run(3.0)
    assert r.status == ce.WORKS, r.reason
    assert r.phase1.means[0] == outcomes.CONVERGES
    assert r.loser_outcomes == [outcomes.RECEDES, outcomes.RECEDES] and all(r.outward_gradient)


def test_a_phase_2_the_engine_stops_early_is_undecided_not_a_crash(monkeypatch):
    # at the full grid (M0 up to 30) the engine refused inside the recentred phase 2, which kept
    # fewer than 3 records, and the classification raised; such a run is undecided, with the note
    real, calls = ce._descent, []

    def stopped_in_phase_2(*args, **kwargs):
        steps, mus, note = real(*args, **kwargs)
        calls.append(1)
        return (steps[:2], mus[:2], "engine AccuracyError (simulated)") if len(calls) == 2 else (steps, mus, note)

    monkeypatch.setattr(ce, "_descent", stopped_in_phase_2)
    r = thm_3_4.counterexample_run(3.0)
    assert len(calls) == 2 and r.status == ce.UNDECIDED, r.reason
    assert "phase 2 stopped after 2 record(s)" in r.reason and "simulated" in r.note
    # the control, the same run with phase 2 whole: test_counterexample_works_at_M0_3 (WORKS)


def test_losers_motion_at_M0_20_is_resolved_only_in_recentred_coordinates():
    # at M0 = 20 the losers move ~4e-22 per step: their distance (~20) cannot show it in float64
    # (phase 1 calls them undecided), their displacement from 0 after recentring can
    r = thm_3_4.counterexample_run(20.0)
    assert r.phase1.means[1:] == (outcomes.UNDECIDED, outcomes.UNDECIDED)
    assert r.status == ce.WORKS, r.reason
    # quasi-static push: u grows linearly (exponent 1 to rounding of the 1e-19 displacements)
    assert abs(r.growth_exponent[0] - 1) < 1e-6 and 0 < r.rate[0] < 1e-20
    # negative control: the same displacement read in the original coordinates does not move
    assert r.distances[-1, 1] == r.distances[-2, 1]


def test_counterexample_check_rejects_small_M0():
    # negative control: at M0 = 1 no mean recedes (means 2, 3 converge, mean 1 is still
    # approaching at 0.10 > 1/(6n) after 1500 steps): the same check says "does not work"
    r = thm_3_4.counterexample_run(1.0)
    assert r.status == ce.DOES_NOT_WORK, r.reason
    assert outcomes.RECEDES not in r.phase1.means


def test_counterexample_check_rejects_tiny_eps0():
    # negative control: with the theorem-3.2-like tiny spread the cluster stays together at M0 = 3
    r = thm_3_4.counterexample_run(3.0, eps0=1e-6)
    assert r.status == ce.DOES_NOT_WORK and r.phase1.run == outcomes.ALL_CONVERGE


def test_onset_is_the_unbroken_stretch_through_the_top():
    rows = [{"M0": m, "status": s} for m, s in [(1, ce.DOES_NOT_WORK), (2, ce.WORKS), (3, ce.UNDECIDED),
                                                 (4, ce.WORKS), (5, ce.WORKS)]]
    assert thm_3_4.onset(rows) == (4, 5)
    assert thm_3_4.onset(rows, top=4.5) == (4, 5)
    # points above the stretch do not move it: undecided at 6, works again at 7
    more = rows + [{"M0": 6, "status": ce.UNDECIDED}, {"M0": 7, "status": ce.WORKS}]
    assert thm_3_4.onset(more, top=4) == (4, 5)
    # negative controls: the first point at or above the top does not work -> no stretch; an undecided
    # point inside the stretch breaks it
    assert thm_3_4.onset(rows + [{"M0": 6, "status": ce.UNDECIDED}]) == (None, None)
    assert thm_3_4.onset(more, top=3) == (None, None)
    assert thm_3_4.onset(more, top=2) == (2, 2)


SMALL = dict(M0s=(3.0, 3.5, 4.0), onset_limit=3.0, top=4.0, mp_steps=3)


def test_claim_holds_at_a_small_grid():
    # the claim's verdict code on M0 in {3, 3.5, 4} (onset limit 3, top 4): ~15 s idle
    r = thm_3_4.run(**SMALL)
    assert r.verdict == "holds", r.reason
    assert r.evidence["M0_c"] == 3.0 and "step 0.5" in r.size
    assert any(f.name.startswith("losers' outward displacement") for f in r.findings)


def test_claim_fails_with_eps0_in_theorem_3_2s_regime():
    # negative control: eps0 = 1e-6 (a wrong constant in place of exp(-M0/100)): every mean
    # converges at every scanned M0, and the same verdict code says "fails"
    r = thm_3_4.run(**SMALL, eps0=1e-6)
    assert r.verdict == "fails", r.reason


QUICK_MP = thm_3_4.BUDGETS["quick"]["mp_steps"], thm_3_4.BUDGETS["quick"]["mp_M0"]


@pytest.fixture(scope="module")
def mp_quick():
    # the mpmath trajectory at the quick budget's own cross-check (8 steps, M0 = 4): ~50 s, computed once
    steps, M0 = QUICK_MP
    return thm_3_4.mp_trajectory(M0, steps)


def test_mpmath_cross_check_of_the_first_steps(mp_quick):
    steps, M0 = QUICK_MP
    xc = thm_3_4.mp_cross_check(M0, steps, mp=mp_quick)
    # measured 1e-14-ish against a tolerance of 1.7e-10: the engine's 1e-10 relative error per step,
    # carried by the measured Jacobian norm of the update (< 1 here: the start contracts)
    assert xc["max_abs_diff"] <= xc["tolerance"] < 1e-9, xc


def test_mpmath_cross_check_detects_a_perturbed_trajectory(monkeypatch, mp_quick):
    # negative control at the quick budget's own steps: the same comparison against a float64 run
    # with a 1e-6 different start fails
    import numpy as np

    real = thm_3_4.gradient_descent

    def shifted(mu0, *a, **k):
        mu0 = np.array(mu0, dtype=float)
        mu0[1, 0] += 1e-6
        return real(mu0, *a, **k)

    monkeypatch.setattr(thm_3_4, "gradient_descent", shifted)
    steps, M0 = QUICK_MP
    xc = thm_3_4.mp_cross_check(M0, steps, mp=mp_quick)
    assert xc["max_abs_diff"] > xc["tolerance"], xc


def test_mpmath_cross_check_can_fail_at_the_full_budgets_steps():
    # The full budget cross-checks 80 steps (~8 min of mpmath, too long for CI).  Its tolerance
    # is computed here from the float64 run alone: 2.7e-10, where the old worst-case growth gave
    # 5e17 (review23c H4).  A 1e-6 start perturbation moves the float64 path by ~1e-6 > 2 x tol,
    # so whenever the true path passes (|mp - f64| <= tol) the perturbed one fails:
    # |mp - f64'| >= |f64' - f64| - |mp - f64| > tol (triangle inequality).
    import numpy as np

    steps, M0 = thm_3_4.BUDGETS["full"]["mp_steps"], thm_3_4.BUDGETS["full"]["mp_M0"]
    mu0 = np.zeros((3, 1))
    mu0[0, 0] = math.exp(-M0 / 100)
    tr = thm_3_4.gradient_descent(mu0, [M0], 0.0, thm_3_4.ETA, steps, record_every=1)
    tol = float(np.max(thm_3_4.expansion_tolerance(tr.mu_history, M0)))
    assert tol < 1e-6 * M0 and tol < 1e-9, tol
    mu0[1, 0] += 1e-6
    moved = thm_3_4.gradient_descent(mu0, [M0], 0.0, thm_3_4.ETA, steps, record_every=1)
    assert np.max(np.abs(moved.mu_history - tr.mu_history)) > 2 * tol


def test_expansion_tolerance_carries_an_expanding_step():
    # control of the growth term: on the same path, a step 40x larger (eta = 2) makes the update
    # expand (|I - eta H| > 1), and the bound grows geometrically instead of adding up
    import numpy as np

    mu0 = np.zeros((3, 1))
    mu0[0, 0] = math.exp(-0.04)
    tr = thm_3_4.gradient_descent(mu0, [4.0], 0.0, thm_3_4.ETA, 20, record_every=1)
    h = tr.mu_history
    per_step = (np.linalg.norm((h[1:] - h[:-1]).reshape(20, -1), axis=1) * thm_3_4.DESCENT_TOL
                + 2 * 2.0**-52 * np.max(np.abs(h[1:]).reshape(20, -1), axis=1))
    small = thm_3_4.expansion_tolerance(h, 4.0)
    big = thm_3_4.expansion_tolerance(h, 4.0, eta=2.0)
    assert small[-1] <= per_step.sum()  # contracting (|J_k| 0.98..1.0): at most the sum of the per-step errors
    assert big[-1] > 10 * per_step.sum() and np.all(np.diff(big[5:]) > 0), (big[-1], per_step.sum())


def test_eps0_is_exp_minus_M0_over_100():
    mu0, star, eps0 = ce.initial_means(2.0, 2)
    assert eps0 == pytest.approx(math.exp(-0.02), rel=1e-15) and mu0[0, 0] == eps0 and star[0] == 2.0


@pytest.mark.thorough
def test_claim_quick_budget(run_claim):
    r = run_claim("thm-3.4")
    assert r.verdict == "holds", r.reason
