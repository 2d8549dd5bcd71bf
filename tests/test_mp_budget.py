"""The mpmath path's work budget (verify.engine.work_budget.NodeBudget): a k >= 2 configuration away
from collapse, which the mpmath path would take minutes (and GB) for, is refused before any
integrand evaluation, naming the cost; the near-collapsed k = 2 the claims use still runs."""

import re

import mpmath
import numpy as np
import pytest

from verify.engine import expectation, lines, reference
from verify.engine.backend import mp_backend
from verify.engine import work_budget
from verify.engine.time_limit import time_limit

#: the review's case: grad_mp ran 13 minutes at 3.4 GB, then returned
REVIEW = ([["1", "0"], ["0", "1"], ["-1", "-1"]], ["0.2", "0"], "0.3")
#: the sharp k = 2 configuration of the float64 bench
SHARP = ([["0", "0"], ["2", "3"], ["-2", "2.5"]], ["0", "0"], "0")
#: near-collapsed k = 2 (spread 0.1): what the claims ask the mpmath path for
NEAR = ([["0.05", "0"], ["-0.05", "0"], ["0", "0.05"]], ["0.2", "0"], "0.3")


@pytest.fixture
def evaluations(monkeypatch):
    """Counts the mpmath integrand's evaluations."""
    count = {"nodes": 0}
    orig = expectation.integrand

    def counting(*args, **kw):
        f = orig(*args, **kw)

        def g(Z, m):
            count["nodes"] += Z.shape[0]
            return f(Z, m)
        return g
    monkeypatch.setattr(expectation, "integrand", counting)
    return count


@pytest.mark.parametrize("case", [REVIEW, SHARP], ids=["review", "sharp"])
def test_k2_away_from_collapse_is_refused_before_any_evaluation(case, evaluations):
    # (the limit only turns a broken budget into a failure instead of the 13 minutes it once took)
    with pytest.raises(reference.AccuracyError) as exc, time_limit(60):
        reference.grad_mp(*case, dps=20)
    msg = str(exc.value)
    assert "refused before doing them" in msg and "float64 functions" in msg
    need, secs, limit = re.search(r"at least ([\d.e+]+) integrand evaluations \(~(\d+) s\).*budget of ([\d.e+]+)",
                                  msg).groups()
    assert float(need) > float(limit) and int(secs) > work_budget.MP_BUDGET_SECONDS
    assert evaluations["nodes"] == 0  # no work done before the refusal


def test_near_collapsed_k2_still_runs_and_agrees_with_float64(evaluations):
    """The control: the near-collapsed k = 2 configuration is within the budget."""
    ev = reference.evaluate_mp(*NEAR, dps=20)
    assert ev.k == 2 and 0 < evaluations["nodes"] <= work_budget.mp_budget(3).limit
    f = reference.evaluate([[float(x) for x in r] for r in NEAR[0]], [float(x) for x in NEAR[1]], float(NEAR[2]))
    assert abs(float(ev.loss) - f.loss) <= 1e-12 * f.loss


def test_the_budget_refuses_past_its_limit_only():
    b = work_budget.NodeBudget(1000, 1e-3)
    b.spend(600)
    b.spend(400)  # exactly the limit: taken
    with pytest.raises(reference.AccuracyError, match=r"needs at least 1\.0e\+03 integrand evaluations \(~1 s\)"):
        b.spend(1)
    assert b.spent == 1000  # a refused batch is not charged


def test_a_refusal_after_some_batches_says_how_much_was_done():
    """A budget passed part-way (a later rung of a ladder, a box refinement) must not claim it was
    refused before any work: the message names the evaluations done.  Control: a first batch beyond
    the budget says it was refused before doing them."""
    b = work_budget.NodeBudget(1000, 1e-3)
    b.spend(600)
    with pytest.raises(reference.AccuracyError, match=r"refused after 6\.0e\+02 evaluations done \(~1 s\)") as late:
        b.spend(500)
    assert "before doing them" not in str(late.value)
    with pytest.raises(reference.AccuracyError, match="refused before doing them"):
        work_budget.NodeBudget(1000, 1e-3).spend(1001)


def test_mpmath_batches_are_bounded_in_size(monkeypatch):
    """Memory: the mpmath integrand is called on at most mp_chunk_nodes nodes at a time (the
    review's case held 1.8e5 nodes of mpf intermediates at once, 3.4 GB)."""
    monkeypatch.setattr(work_budget, "MP_CHUNK_ENTRIES", 1200)  # 100 nodes at n = 3, d = 2
    sizes = []
    orig = expectation.integrand

    def recording(*args, **kw):
        f = orig(*args, **kw)

        def g(Z, m):
            sizes.append(Z.shape[0])
            return f(Z, m)
        return g
    monkeypatch.setattr(expectation, "integrand", recording)
    reference.evaluate_mp(*NEAR, dps=20)
    assert sum(sizes) == 240 and max(sizes) <= 100


def test_means_1e302_apart_are_computed_beyond_the_old_grading_range():
    """Slope difference 1e302 > 2^1000: lines._line_points placed the grading in float64 and the path
    refused it (work_budget._check_grading_range, before it a ZeroDivisionError).  The grading's
    levels are now taken in mpmath, and this transition (at ~5e301, far outside the box) gets none.
    The far mean has no weight, so L = (1 - (-0.5))^2 = 2.25 (the closed form)."""
    L, e = reference.loss_mp([["1e302"], ["1"]], ["-0.5"], "0", dps=20, error=True)
    assert abs(L - 2.25) <= e <= 1e-14


def test_a_transition_inside_the_box_beyond_the_budget_is_refused_at_once(evaluations):
    """Means +-1e400 about mu*: a transition of width 5e-401 at s = 0, whose grading needs ~1330
    levels (each a panel of 3 N evaluations): refused by the budget before any evaluation, naming the
    cost.  (Before: "slope difference ... beyond" from the float64 grading's range check.)"""
    with pytest.raises(reference.AccuracyError) as exc, time_limit(60):
        reference.loss_mp([["1e400"], ["-1e400"]], ["0"], "0", dps=20)
    assert re.search(r"needs at least [\d.e+]+ integrand evaluations .* refused before doing them", str(exc.value))
    assert evaluations["nodes"] == 0


def test_a_sharp_symmetric_transition_within_the_budget_is_graded_correctly():
    """The control: means +-2^40 about mu* = 0 (width 2^-41, 42 levels, in mpmath).  With w_0 - w_1 =
    tanh(A y), L = A^2 (1 - E sech^2(A y)); E sech^2(A y) = (1/A) int sech^2(u) phi(u / A) du by
    mpmath.quad at 40 digits, independently of the engine."""
    A = mpmath.mpf(2) ** 40
    L, e = reference.loss_mp([[A], [-A]], ["0"], "0", dps=20, error=True)
    with mpmath.workdps(40):
        E = mpmath.quad(lambda u: mpmath.sech(u) ** 2 * mpmath.npdf(u / A), [-mpmath.inf, 0, mpmath.inf]) / A
        exact = A * A * (1 - E)
        assert abs(L - exact) <= e <= mpmath.mpf(10) ** -14 * exact


def test_a_grading_beyond_the_level_cap_is_refused_without_a_budget():
    """lines._line_points itself refuses a grading of more than MAX_GRADING_LEVELS levels (a 2^-5000
    wide transition at 0: ~5000 levels), where its edges would fill memory (1e10^12 levels before)."""
    backend = mp_backend(20)
    with mpmath.workdps(20):
        B = np.array([[mpmath.mpf(2) ** 5000], [mpmath.mpf(0)]], dtype=object)
        C = np.array([mpmath.mpf(0), mpmath.mpf(0)], dtype=object)
        with pytest.raises(reference.AccuracyError, match=r"needs 500\d grading levels .* beyond MAX_GRADING_LEVELS"):
            lines._line_points(B, C, np.empty((1, 0), dtype=object), 8.0, backend)
        B[0, 0] = mpmath.mpf(2) ** 4000  # the control: 4001 levels are placed
        assert lines._line_points(B, C, np.empty((1, 0), dtype=object), 8.0, backend).shape[1] > 8000


def test_logits_beyond_mpmaths_exp_are_refused_at_once(evaluations):
    """Means 1e999999999999 apart: logits ~1e(2e12) nats, whose mpmath exp aborts the process (gmp: overflow
    in mpz type; before, the grading's range check refused it first).  Refused before any evaluation;
    the control is the 1e302 case above, computed (logits ~1e604)."""
    with pytest.raises(reference.AccuracyError, match=r"differ by up to 1\.0e\+1999999999998 nats, beyond 1e750"):
        reference.loss_mp([["1e999999999999"], ["1"]], ["-0.5"], "0", dps=20)
    assert evaluations["nodes"] == 0


def test_the_stein_line_integrals_share_one_budget_and_refuse_beyond_it(monkeypatch):
    """check_stein_mp's two mpmath.quad integrations ran outside any budget (minutes, silently).
    They now charge each new node to one NodeBudget per check: with the budget set to 1.5 times what
    one form takes, each form alone fits (the control) but the check is refused during the second,
    naming the evaluations done, and makes no more than the budget allows."""
    from verify.checks import stein
    case = ([["0.8"], ["-0.6"]], ["0.1"], "0.3")
    monkeypatch.setattr(stein, "_MEMO", {})
    alone = work_budget.NodeBudget(1e9, 1e-3)
    stein.expectation_line_mp(*case, dps=20, which="pathwise", budget=alone)
    one = alone.spent
    monkeypatch.setattr(stein, "_MEMO", {})
    monkeypatch.setattr(work_budget, "MP_BUDGET_SECONDS", 1.5 * one * stein.LINE_NODE_SECONDS * 2)
    limit = stein._line_budget(2).limit
    assert one <= limit < 2 * one
    budgets = []
    orig = stein._line_budget
    monkeypatch.setattr(stein, "_line_budget", lambda n: budgets.append(orig(n)) or budgets[-1])
    with pytest.raises(reference.AccuracyError, match=r"needs at least [\d.e+]+ integrand evaluations .* refused after "
                                                      r"[\d.e+]+ evaluations done"):
        stein.check_stein_mp(*case, dps=20)
    assert len(budgets) == 1 and one < budgets[0].spent <= limit


def test_a_time_averaged_mpmath_call_shares_one_budget_among_its_noise_levels(monkeypatch):
    """Each noise level of evaluate_avg_mp had a budget of its own, so one call could take many
    minutes.  With the budget set to half of what the whole call takes, and far above what any one
    level takes (the control: a budget per level would let every level through), the call is refused
    part-way, naming the evaluations done."""
    from verify.engine import time_average
    case = ([["0.8"], ["-0.6"]], ["0.1"], "0.8", "1.0")
    per_level = []
    orig = time_average.population_expectations

    def recording(*args, **kw):
        ex = orig(*args, **kw)
        per_level.append(ex.nodes)
        return ex
    monkeypatch.setattr(time_average, "population_expectations", recording)
    ev = reference.evaluate_avg_mp(*case, weighting="noise-variance", dps=20, with_grad=False)
    assert ev.evaluations == len(per_level) >= 8 and sum(per_level) == ev.nodes
    limit = ev.nodes / 2
    assert 2 * max(per_level) < limit  # every level alone fits well
    monkeypatch.setattr(work_budget, "MP_BUDGET_SECONDS", limit * work_budget.MP_NODE_SECONDS * 2)
    # the refusal points to the float64 average, not to the single-noise-level functions
    with pytest.raises(reference.AccuracyError,
                       match=r"refused after [\d.e+]+ evaluations done.*: the float64 functions "
                             r"\(loss_avg, grad_avg, evaluate_avg\) do this average"):
        reference.evaluate_avg_mp(*case, weighting="noise-variance", dps=20, with_grad=False)
