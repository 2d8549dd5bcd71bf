"""The mpmath path's work budget (verify.engine.work_budget.NodeBudget): a k >= 2 configuration away
from collapse, which the mpmath path would take minutes (and GB) for, is refused before any
integrand evaluation, naming the cost; the near-collapsed k = 2 the claims use still runs."""

import re

import pytest

from verify.engine import expectation, reference
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


def test_a_transition_beyond_the_line_gradings_range_is_refused_not_a_zero_division():
    """Means 1e999999999999 apart: lines._line_points places the grading in float64 and raised
    ZeroDivisionError; the mpmath path now refuses it as beyond its range, naming the slope."""
    with pytest.raises(reference.AccuracyError, match=r"slope difference 1\.0e\+999999999999, beyond"):
        reference.loss_mp([["1e999999999999"], ["1"]], ["-0.5"], "0", dps=20)
    with pytest.raises(reference.AccuracyError, match=r"slope difference 1\.0e\+302, beyond"):
        reference.loss_mp([["1e302"], ["1"]], ["-0.5"], "0", dps=20)


def test_means_1e300_apart_are_taken():
    """The control: 1e300 apart is within the grading's range; the far mean has no weight, so
    L = (1 - (-0.5))^2 = 2.25."""
    L, e = reference.loss_mp([["1e300"], ["1"]], ["-0.5"], "0", dps=20, error=True)
    assert abs(L - 2.25) <= e <= 1e-14
