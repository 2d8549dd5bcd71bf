"""The pieces of ``verify explore``: layouts, brackets, the r* law's fit, the stability limit, cells
and their cache.  Each check has its negative control."""

from __future__ import annotations

import math

import numpy as np
import pytest

from verify.analysis import stability
from verify.analysis.brackets import BAD, GOOD, UNKNOWN, Bracket
from verify.analysis.cluster_runs import radius_boundary, run_cluster
from verify.analysis.layouts import LAYOUTS, unit_deviations
from verify.engine.reference import AccuracyError
from verify.explore import runner
from verify.explore.boundaries import fit_radius_law
from verify.explore.cache import Cache
from verify.explore.executors import InProcess, run_cells
from verify.simulate import outcomes

# -- layouts --------------------------------------------------------------------------------------


def test_layouts_are_the_stated_ones():
    assert unit_deviations("leader", 3, 2).tolist() == [[1, 0], [0, 0], [0, 0]]
    assert unit_deviations("opposite", 3, 1).tolist() == [[-1], [1], [0]]
    g0, g1 = unit_deviations("gaussian", 4, 2, seed=0), unit_deviations("gaussian", 4, 2, seed=1)
    assert np.array_equal(g0, np.random.default_rng(0).standard_normal((4, 2))) and not np.array_equal(g0, g1)
    with pytest.raises(ValueError, match="layout must be one of"):
        unit_deviations("ring", 3, 1)
    with pytest.raises(ValueError, match="opposite layout needs n >= 2"):
        unit_deviations("opposite", 1, 1)
    assert LAYOUTS == ("leader", "opposite", "gaussian")


# -- brackets ---------------------------------------------------------------------------------------


def _drive(bracket, truth, k=1, rounds=40):
    for _ in range(rounds):
        xs = bracket.next(k)
        if not xs:
            break
        for x in xs:
            bracket.record(x, truth(x))
    return bracket.state()


@pytest.mark.parametrize("k", [1, 3])
def test_bracket_closes_in_on_a_monotone_boundary(k):
    br = Bracket("log", "low", (1e-12, 10.0), 0.05, 30.0, initial=(1e-6, 1e-3))
    st = _drive(br, lambda r: GOOD if r < 2.5e-4 else BAD, k=k)
    assert st["status"] == "bracketed" and st["narrow"]
    assert st["good"] < 2.5e-4 <= st["bad"] <= st["good"] * 1.05 * (1 + 1e-9)
    # t-like: large values good, linear scale
    br = Bracket("linear", "high", (0.0, 10.0), 0.01, 2.0, initial=(0.0, 5.0, 10.0))
    st = _drive(br, lambda t: GOOD if t >= 1.234 else BAD, k=k)
    assert st["bad"] < 1.234 <= st["good"] <= st["bad"] + 0.01 + 1e-12


def test_bracket_reports_what_it_cannot_decide():
    # an undecided point inside stops the bisection and is reported, never counted as either side
    br = Bracket("log", "low", (1e-6, 1.0), 0.05, 30.0, initial=(1e-4, 1e-3, 1e-2))
    for x, v in ((1e-4, GOOD), (1e-3, UNKNOWN), (1e-2, BAD)):
        br.record(x, v)
    st = br.state()
    assert st["undecided_inside"] and st["good"] == 1e-4 and st["bad"] == 1e-2 and br.next(2) == []
    # a good point beyond the first bad one: non-monotone
    br = Bracket("log", "low", (1e-6, 1.0), 0.05, 30.0)
    for x, v in ((1e-4, GOOD), (1e-3, BAD), (1e-2, GOOD)):
        br.record(x, v)
    assert br.state()["non_monotone"]
    # the boundary outside the range: "below" / "above" after the search reaches the limits
    assert _drive(Bracket("log", "low", (1e-3, 1.0), 0.1, 30.0, initial=(0.1,)), lambda r: BAD)["status"] == "below"
    assert _drive(Bracket("log", "low", (1e-3, 1.0), 0.1, 30.0, initial=(0.01,)), lambda r: GOOD)["status"] == "above"


# -- the r* law -------------------------------------------------------------------------------------


def _law_points(beta, logC, LAs, rel=0.05):
    return [{"LA": la, "r_low": math.exp(logC - beta * la) / (1 + rel) ** 0.5,
             "r_high": math.exp(logC - beta * la) * (1 + rel) ** 0.5} for la in LAs]


def test_radius_law_fit_recovers_the_law_and_rejects_another():
    fit = fit_radius_law(_law_points(1.0, math.log(33), [7.6, 12.2, 17.2]))
    assert fit["fitted"] and abs(fit["beta"] - 1) <= 3 * fit["beta_err"] and fit["beta_err"] < 0.01
    assert abs(fit["log10_C"] - math.log10(33)) <= 3 * fit["log10_C_err"]
    # negative control: data from beta = 2 are many standard errors from 1
    other = fit_radius_law(_law_points(2.0, math.log(33), [7.6, 12.2, 17.2]))
    assert abs(other["beta"] - 1) > 20 * other["beta_err"]
    assert not fit_radius_law(_law_points(1.0, 0.0, [5.0]))["fitted"]
    # unbracketed boundaries (no bad radius: inf or NaN; no good one: 0 or None) are left out, not fitted
    loose = [{"LA": 20.0, "r_low": 1e-9, "r_high": math.inf}, {"LA": 21.0, "r_low": 1e-9, "r_high": float("nan")},
             {"LA": 22.0, "r_low": 0.0, "r_high": 1e-9}, {"LA": 23.0, "r_low": None, "r_high": 1e-9}]
    assert fit_radius_law(_law_points(1.0, math.log(33), [7.6, 12.2, 17.2]) + loose)["points"] == 3
    assert not fit_radius_law(loose)["fitted"]


def _law_entries(logC_of_eta, LAs=(7.6, 12.2, 17.2), rel=0.05):
    # entries as radius.summarize writes them, one per (eta, LA); the law's C may depend on eta
    out = []
    for eta, logC in logC_of_eta.items():
        for M0, p in zip((3.0, 4.0, 5.0), _law_points(1.0, logC, [la + eta for la in LAs], rel)):
            out.append({"n": 2, "d": 1, "M0": M0, "t": 0.0, "eta": eta, "layout": "leader", "convention": "scaled",
                        "log_amplification": p["LA"], "r_star": {"good": p["r_low"], "bad": p["r_high"]}})
    return out


def test_pooled_radius_law_sees_whether_one_c_serves_every_eta():
    from verify.explore.radius import pooled_laws

    (same,) = pooled_laws(_law_entries({0.02: math.log(33), 0.2: math.log(33)}))
    assert same["over_n_t_eta"] == [[2, 0.0, 0.02], [2, 0.0, 0.2]]
    assert abs(same["beta"] - 1) <= 3 * same["beta_err"] and same["chi2_per_dof"] < 1e-6  # exact synthetic data
    # negative control: C three times larger at eta = 0.2 -- the pooled fit's chi^2 / dof says so
    (moved,) = pooled_laws(_law_entries({0.02: math.log(33), 0.2: math.log(99)}))
    assert moved["chi2_per_dof"] > 10
    # one (n, t, eta) only: nothing to pool
    assert pooled_laws(_law_entries({0.05: math.log(33)})) == []


# -- the stability limit -----------------------------------------------------------------------------


@pytest.mark.parametrize("n, d, k", [(2, 1, 2), (3, 1, 3), (3, 2, 3), (2, 1, 1), (3, 1, 1), (3, 1, 2)])
def test_lambda_max_at_the_limit_point_is_two_over_k(n, d, k):
    far = 12.0
    lam, err = stability.lambda_max(stability.limit_point(n, d, k, far=far))
    # the receding means at distance D change the survivors' curvature by ~ D^2 exp(-D^2/8) (Theorem
    # 3.5's loser asymptotics; 2e-6 at D = 12), the differences by err
    tol = err + (far**2 * math.exp(-far**2 / 8) if k < n else 0.0)
    assert abs(lam - stability.collapsed_lambda_max(k)) <= tol
    # negative control: the loss with a factor 1/2 would give 1/k, which the measurement rejects
    assert abs(lam - 1.0 / k) > 100 * tol
    assert stability.step_limit(lam, convention="unscaled", t=1.0) == pytest.approx(math.exp(2) * 2 / lam)


# -- cells, rows and the cache -------------------------------------------------------------------------


def test_cell_checks_its_parameters_and_has_a_stable_key():
    c = runner.Cell(n=2, d=1, M0=1.0, radius=0.1, t=0.0, eta=0.1)
    assert c.key() == runner.Cell(n=2, d=1, M0=1.0, radius=0.1, t=0.0, eta=0.1).key()
    assert c.key() != runner.Cell(n=2, d=1, M0=1.0, radius=0.1, t=0.0, eta=0.1000001).key()
    for bad, msg in ((dict(eta=0.0), "eta and tol must be > 0"), (dict(radius=-1.0), "must be >= 0"),
                     (dict(t=-0.5), "must be >= 0"), (dict(layout="ring"), "layout must be one of"),
                     (dict(seed=3), "does not use a seed"), (dict(M0=float("nan")), "finite")):
        with pytest.raises(ValueError, match=msg):
            runner.Cell(**{**dict(n=2, d=1, M0=1.0, radius=0.1, t=0.0, eta=0.1), **bad})


def test_row_states_every_parameter_and_the_outcome():
    row = runner.run_cell(runner.Cell(n=2, d=1, M0=6.0, radius=1e-7, t=10.0, eta=0.05, layout="gaussian"))
    assert list(row) == list(runner.ROW_FIELDS)
    assert row["outcome"] == outcomes.ALL_CONVERGE and row["survivors"] == 2 and row["t"] == 10.0
    assert row["M"] == pytest.approx(6.0, abs=1e-6) and row["linear_steps"] == 0 and row["seconds"] > 0


def test_an_engine_that_cannot_certify_makes_the_cell_undecided(monkeypatch):
    from verify.analysis import cluster_runs

    def refuses(*args, **kw):
        raise AccuracyError("cannot certify tol 1e-10 here (estimated cost 1e9 nodes)")

    monkeypatch.setattr(cluster_runs, "gradient_descent", refuses)
    cells = [runner.Cell(n=2, d=1, M0=6.0, radius=1e-7, t=10.0, eta=0.05, layout="gaussian", seed=s) for s in (0, 1)]
    rows = run_cells(cells, InProcess())  # the sweep goes on past the first refusal
    assert [r["outcome"] for r in rows] == [outcomes.UNDECIDED] * 2
    assert all("AccuracyError" in r["reason"] and "estimated cost" in r["reason"] for r in rows)


# -- blow-ups of a cluster run ------------------------------------------------------------------------
# M0 = 1, r = 0.1, n = 2 (scaled distances 0.9 and 1 at the start, blow-up bound 10 x (1.1 + 1) = 21):
# eta = 5 overshoots mu* by a growing factor (distances ~4e4 and 2e5 at step 10), eta = 1 converges.


def test_a_run_that_blows_up_stops_at_its_first_record():
    from verify.analysis.cluster_runs import blow_up_bound

    run = run_cluster(1.0, 0.1, 2, 5.0, record_every=10)
    assert run.outcome == outcomes.OSCILLATES_OR_BLOWS_UP and run.means == (outcomes.BLOWS_UP,) * 2
    # the check runs at every record: the first one after the start (not the fourth, step 30)
    assert run.steps == 10 and [h[0] for h in run.history] == [0, 10]
    bound = blow_up_bound(1.1)
    assert np.max(run.history[0][1]) <= bound < np.min(run.history[1][1])


def test_a_converging_run_is_not_blown_up():
    # the control: the same start with a step the dynamics contract at
    run = run_cluster(1.0, 0.1, 2, 1.0, record_every=10)
    assert run.outcome == outcomes.ALL_CONVERGE and outcomes.BLOWS_UP not in run.means and run.steps > 10


def _engine_refusing_beyond(monkeypatch, amax: float, error):
    """The engine with its range (or its accuracy, ``error``) ending at scaled distance ``amax``."""
    from verify.simulate import descent

    original = descent.population_expectations

    def narrow(red, **kw):
        if red.amax > amax:
            raise error(f"max_i |mu_i - mu*| e^-t = {red.amax:.3g} is beyond {amax:g} (a test's engine)")
        return original(red, **kw)

    monkeypatch.setattr(descent, "population_expectations", narrow)


def test_means_beyond_the_engines_range_are_a_blow_up(monkeypatch):
    from verify.engine.tolerances import RangeError

    _engine_refusing_beyond(monkeypatch, 100.0, RangeError)  # passed between step 0 and the first record
    run = run_cluster(1.0, 0.1, 2, 5.0, record_every=10)
    assert run.outcome == outcomes.OSCILLATES_OR_BLOWS_UP and outcomes.BLOWS_UP in run.means
    assert 0 < run.steps < 10 and np.max(run.final_distances) > 100.0  # where it left the range, not retried
    assert "refused the means at step" in run.reason and "beyond its float64 range" in run.reason
    assert "continued at tol" not in run.start


def test_an_engine_that_cannot_certify_a_run_is_still_retried_then_undecided(monkeypatch):
    # the control: an ordinary AccuracyError at the same place is retried at FALLBACK_TOL, then undecided
    _engine_refusing_beyond(monkeypatch, 100.0, AccuracyError)
    run = run_cluster(1.0, 0.1, 2, 5.0, record_every=10)
    assert run.outcome == outcomes.UNDECIDED and run.means == ()
    assert "AccuracyError at tol" in run.reason and "continued at tol 1e-06" in run.reason


def test_a_start_beyond_the_engines_range_is_undecided_not_a_blow_up(monkeypatch):
    # nothing ran, so nothing blew up: the engine refused the start (the reason says so)
    from verify.analysis.cluster_runs import descend
    from verify.engine.tolerances import RangeError

    _engine_refusing_beyond(monkeypatch, 0.5, RangeError)
    run = run_cluster(1.0, 0.1, 2, 1.0, record_every=10)
    assert run.outcome == outcomes.UNDECIDED and run.history == [] and "refused the means at step 0" in run.reason
    # descend (the counterexample's runs) ends there too, with the same note, and raises nothing
    note = descend(np.array([[1.0], [2.0]]), np.zeros(1), 0.0, 0.05, 10, record_every=5, callback=lambda s, mu: False)
    assert "refused the means at step 0 as beyond its float64 range" in note


def test_means_below_the_engines_range_are_undecided_not_a_blow_up(monkeypatch):
    """Negative control of the run's reading of the engine's lower refusal (BelowRangeError: the means
    so near mu* that float64 cannot resolve their squares): a converging run whose means reach that
    range must not be read as a blow-up (as a RangeError is), nor retried at FALLBACK_TOL (no tolerance
    changes it); it ends undecided, the reason saying where and why."""
    from verify.simulate import descent
    from verify.engine.tolerances import BelowRangeError

    original = descent.population_expectations

    def floor(red, **kw):
        if red.amax < 0.3:
            raise BelowRangeError(f"max_ij |mu_ij - mu*_j| e^-t = {red.amax:.3g} is below 0.3 (a test's engine)")
        return original(red, **kw)

    monkeypatch.setattr(descent, "population_expectations", floor)
    run = run_cluster(1.0, 0.1, 2, 1.0, record_every=10)  # converges (the control above) past 0.3
    assert run.outcome == outcomes.UNDECIDED and outcomes.BLOWS_UP not in run.means
    assert "engine refused the means near step" in run.reason and "is below 0.3" in run.reason
    assert "continued at tol" not in run.reason


class _Counting(InProcess):
    def __init__(self):
        self.ran = []

    def imap_unordered(self, cells):
        self.ran += list(cells)
        return super().imap_unordered(cells)


def test_cache_runs_only_missing_cells_and_keys_on_the_source(tmp_path, monkeypatch):
    cells = [runner.Cell(n=2, d=1, M0=6.0, radius=1e-7, t=t, eta=0.05) for t in (9.0, 10.0)]
    cache = Cache(tmp_path)
    pool = _Counting()
    first = run_cells(cells, pool, cache)
    more = cells + [runner.Cell(n=2, d=1, M0=6.0, radius=1e-7, t=8.0, eta=0.05)]
    second = run_cells(more, pool, cache)
    assert len(pool.ran) == 3 and pool.ran[-1].t == 8.0  # the enlarged sweep ran only the new cell
    assert second[:2] == first and len(cache) == 3
    # another source (engine) hash: nothing is reused
    from verify.explore import cache as cache_mod

    monkeypatch.setattr(cache_mod, "source_hash", lambda: "another-engine")
    assert Cache(tmp_path).get(cells[0]) is None


def test_radius_boundary_takes_layouts_and_the_upper_end_m0_cube_root():
    # M0 = 1: every r up to M0^(1/3) = 1 converges (the boundary is above the range)
    b = radius_boundary(1.0, 2, 0.05, layout="leader", max_runs=4)
    assert b.status == "above" and b.r_star_low == pytest.approx(1.0)
    # M0 = 2, opposite leaders: the boundary lies inside (0, 2^(1/3)]: the range reaches it
    b = radius_boundary(2.0, 2, 0.05, layout="opposite", rel_width=0.3)
    assert b.status == "bracketed" and 0.2 < b.r_star_low < b.r_star_high < 2 ** (1 / 3)
    # the opposite layout's spread is twice the leader's: its r* is about half (M0 = 4, cheap bracket)
    lead = run_cluster(4.0, 1.0e-4, 2, 0.05, layout="leader").outcome
    opp = run_cluster(4.0, 1.0e-4, 2, 0.05, layout="opposite").outcome
    assert (lead, opp) == (outcomes.ALL_CONVERGE, outcomes.PARTIAL_RECOVERY)


# -- registration of the studies -------------------------------------------------------------------


def _registration_problems(studies, series_studies, sweeps, budgets, help_lines, grid_studies=None) -> list[str]:
    from verify.explore.studies import GRID_STUDIES

    grid_studies = GRID_STUDIES if grid_studies is None else grid_studies
    problems = [f"{s}: not a series study, grid study nor phase" for s in studies
                if s not in series_studies and s not in grid_studies and s != "phase"]
    problems += [f"{s}: grid module lacks {f}" for s, m in grid_studies.items() for f in ("cells", "report")
                 if not callable(getattr(m, f, None))]
    problems += [f"{s}: in SERIES_STUDIES but not in STUDIES" for s in series_studies if s not in studies]
    for s in studies:
        problems += [f"{s}: no {what}" for what, table in (("SWEEPS entry", sweeps), ("help line", help_lines))
                     if s not in table]
        problems += [f"{s}: no {b} budget" for b, sizes in budgets.items() if s not in sizes]
    problems += [f"{s}: module lacks {f}" for s, m in series_studies.items() for f in ("build", "report")
                 if not callable(getattr(m, f, None))]
    return problems


def test_every_study_is_registered_in_each_table():
    from verify.explore import command, grid
    from verify.explore.studies import SERIES_STUDIES

    tables = (grid.STUDIES, SERIES_STUDIES, grid.SWEEPS, grid.BUDGETS, command._STUDY_HELP)
    assert _registration_problems(*tables) == []
    # negative control: a study named in STUDIES only, and a module without report()
    broken = ({**SERIES_STUDIES, "mixture": object()},)
    assert _registration_problems(grid.STUDIES + ("mixture",), *broken, *tables[2:]) == [
        "mixture: no SWEEPS entry", "mixture: no help line", "mixture: no quick budget", "mixture: no full budget",
        "mixture: module lacks build", "mixture: module lacks report"]
