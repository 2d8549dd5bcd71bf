"""The tape of the nested rule (verify.engine.nested_lines): the panels a certified evaluation
accepted, replayed at nearby configurations between verifications (verify.simulate.descent).

* a replay at the recorded configuration agrees with the certified value within its estimate,
  with fewer nodes;
* a replay a few descent steps further agrees with a fresh evaluation at a tighter tolerance
  within the requested tolerance;
* a tape that no longer describes the lines (edges changed) is flagged, never silently used
  (negative control: the intact tape is not flagged);
* a configuration whose logit slopes moved beyond TAPE_DRIFT is evaluated afresh (with an
  estimate), one within it is replayed (no estimate), and the descent keeps the new rule.
"""

import numpy as np
import pytest

from verify.checks.bench import CASES, bench_items, run_targets
from verify.engine.expectation import _use_centred, population_expectations, reduce_float
from verify.engine.gauss_kronrod import gauss_kronrod_float
from verify.engine.junctions import slope_drift
from verify.engine.nested import TAPE_DRIFT, _setup
from verify.engine.nested_lines import integrate_nested
from verify.engine.tolerances import gradient_scale
from verify.simulate.descent import ExactGradient

# Figure 1 at M = 6 after the split (k = 3): four losers near 5.6, one mean near mu*
SPLIT = np.array([[5.6, 0.1, 0.0], [5.5, -0.1, 0.05], [5.7, 0.0, 0.1], [5.6, 0.05, -0.1], [0.06, 0.0, 0.0]])
STAR = np.zeros(3)
TOL = 1e-10


def _certified(mu):
    red = reduce_float(mu, STAR, 0.0)
    return red, population_expectations(red, tol=TOL)


def _diff(a, b, red):
    """Normwise relative difference of loss and gradient (the engine's sense)."""
    gs = gradient_scale(np.asarray(b.grad_scaled), float(b.loss), red.amax)
    return abs(a.loss - b.loss) / b.loss, float(np.max(np.abs(a.grad_scaled - b.grad_scaled))) / gs


def test_replay_at_the_recorded_configuration_is_within_the_estimate():
    red, ex = _certified(SPLIT)
    assert ex.plan.tape is not None and len(ex.plan.tape) > 0
    rep = population_expectations(red, tol=TOL, plan=ex.plan, scales=ex.plan.scales)
    assert np.isnan(rep.loss_err) and rep.nodes < ex.nodes / 3  # replayed: no estimate, a fraction of the work
    gs = gradient_scale(np.asarray(ex.grad_scaled), float(ex.loss), red.amax)
    dL, dG = _diff(rep, ex, red)
    assert dL <= ex.loss_err / ex.loss and dG <= float(np.max(ex.grad_scaled_err)) / gs


def test_replay_a_few_steps_on_matches_a_fresh_evaluation():
    # 20 steps of eta 0.01 along the exact gradient (the descent's situation between verifications)
    red0, ex = _certified(SPLIT)
    mu = SPLIT - 0.01 * 20 * ex.grad_scaled
    red = reduce_float(mu, STAR, 0.0)
    assert 0 < slope_drift(_setup(red, ex.plan.frame, True, _use_centred(red), ex.plan.radius).model.B,
                      ex.plan.slopes) <= TAPE_DRIFT
    rep = population_expectations(red, tol=TOL, plan=ex.plan, scales=ex.plan.scales)
    assert np.isnan(rep.loss_err)  # replayed
    ref = population_expectations(red, tol=1e-12)
    dL, dG = _diff(rep, ref, red)
    assert dL <= TOL and dG <= TOL, (dL, dG)


def _run_tape(red, plan, tape):
    st = _setup(red, plan.frame, True, _use_centred(red), plan.radius)
    from verify.engine.backend import gauss_hermite

    gh = {q: gauss_hermite(o) for q, o in enumerate(plan.orders) if q >= 1 and o > 0}
    return integrate_nested(st.model, st.feats, st.Fcell, tau=plan.tau, Kb=st.Kb, skip_nats=st.skip_nats,
                            radius=st.radius, base=2.0, margin=30.0, rule=gauss_kronrod_float(10), gh=gh, tape=tape)


def test_a_tape_that_no_longer_fits_its_lines_is_flagged():
    red, ex = _certified(SPLIT)
    k = red.k
    v0, _, _, _, c0 = _run_tape(red, ex.plan, ex.plan.tape)
    assert c0[k] == 0  # control: the intact tape replays
    short = ex.plan.tape[:-1]  # a row missing: the run visits lines the tape does not hold
    assert _run_tape(red, ex.plan, short)[4][k] > 0
    extra = np.vstack([ex.plan.tape, ex.plan.tape[-1:]])  # a row left over
    assert _run_tape(red, ex.plan, extra)[4][k] > 0
    # a level-0 line whose edges changed adapts afresh (same value within the tolerance, more nodes)
    moved = ex.plan.tape.copy()
    moved[0, 1] += 1
    v1, _, _, _, c1 = _run_tape(red, ex.plan, moved)
    assert c1[k] == 0 and c1[0] > c0[0]
    assert abs(v1[0] - v0[0]) <= TOL * v0[0]


def test_drift_beyond_the_tape_evaluates_afresh_and_the_descent_keeps_the_new_rule():
    red, ex = _certified(SPLIT)
    moved = SPLIT.copy()
    moved[:4, 0] += 0.5  # the losers' slopes change by ~0.5 nats per unit > TAPE_DRIFT
    src = ExactGradient(50)
    src.start(STAR, 0.0, TOL)
    src.at(0, SPLIT, True)
    first = src._plan
    src.at(1, SPLIT, False)
    assert src._plan is first and np.isnan(src._ex.loss_err)  # replayed
    src.at(2, moved, False)
    assert np.isfinite(src._ex.loss_err) and src._ex.loss_err <= TOL * src._ex.loss  # evaluated afresh
    assert src._plan is not first and src._since == 1  # and that rule is the one kept


def test_bench_cases_are_checked_and_counted():
    assert bench_items(cases=("fig-1",)) == 2 and bench_items() == 1 + sum(
        bench_items(cases=(c,)) - 1 for c in CASES)
    with pytest.raises(ValueError, match="cases"):
        run_targets(out=lambda s: None, cases=("fig1",))
