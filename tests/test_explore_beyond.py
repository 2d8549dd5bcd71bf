"""The studies beyond the single Gaussian (``verify explore average|mixtures``, issue 13), at tiny sizes.

* a mixture cell that recovers both components, and the recovery reading with its negative
  controls (a missing and a duplicated component, built by hand);
* an average cell from Figure 1's kind of start at a small size: all means converge, the rate
  columns are filled, the engine's error along the run is within its tolerance;
* an average cell with a large step stops as a blow-up by the cluster studies' rule, and its
  negative control: the same start at a small step converges and is not called one;
* the options: a grid option the study does not use is refused naming it;
* a whole study through run_study on the in-process pool, with its figure.
"""

from __future__ import annotations

import numpy as np
import pytest

from verify.analysis.cluster_runs import blow_up_bound
from verify.explore import average, mixtures
from verify.explore.cache import Cache
from verify.explore.executors import InProcess
from verify.explore.grid import check_options
from verify.explore.runner import RECORD_EVERY
from verify.explore.studies import run_study
from verify.simulate import outcomes
from verify.simulate.mixture import recovery_at


def test_recovery_reading_and_its_negative_controls():
    radius = 0.5
    assert recovery_at(np.array([[0.1, 3.0], [3.0, 0.2]]), radius).outcome == "all_recovered"
    missing = recovery_at(np.array([[0.1, 3.0], [0.2, 3.0]]), radius)  # both means on component 0
    assert missing.outcome == "missing_and_duplicated" and missing.missing == 1 and missing.duplicated == 1
    assert recovery_at(np.array([[0.1, 3.0], [5.0, 3.0]]), radius).outcome == "missing"
    three = recovery_at(np.array([[0.1, 3.0], [0.2, 3.0], [3.0, 0.1]]), radius)
    assert three.outcome == "duplicated" and three.stray == 0


def test_a_separated_mixture_is_recovered_d1():
    # K = 2 at +-2, two means started near 0: each goes to one component (k = 1: cheap)
    row = mixtures.MixtureCell(K=2, n=2, d=1, separation=4.0, scale=0.3, t=0.5, eta=0.5, steps=120).run()
    assert row["outcome"] == "all_recovered", row
    assert row["recovered"] == 2 and row["missing"] == 0


def test_mixture_ground_truth_layouts():
    tri = mixtures.ground_truth(3, 2, 2.0)
    sides = sorted(np.linalg.norm(a - b) for i, a in enumerate(tri) for b in tri[i + 1:])
    assert sides == pytest.approx([2.0, 2.0, 2.0])
    assert mixtures.ground_truth(2, 3, 4.0)[:, 0].tolist() == [-2.0, 2.0]


def test_an_average_cell_converges_from_a_small_cluster():
    row = average.AverageCell(M=1.5, weighting="noise-variance", t_min=0.2, t_max=1.0, n=2, d=1, eta=0.3,
                              steps=60).run()
    assert row["outcome"] == outcomes.ALL_CONVERGE, row
    assert row["final_loss"] < 1e-3 and row["loss_slope"] < 0
    assert row["max_grad_rel_err"] <= 1e-10  # the run's tolerance (DESCENT-level 1e-10)


def _figure_1_cell(eta):
    return average.AverageCell(M=4.0, weighting="uniform", t_min=0.1, t_max=2.0, n=2, d=1, eta=eta, steps=40)


def test_an_average_cell_with_a_large_step_stops_as_a_blow_up():
    # eta = 10 throws the means out (to ~6e9 by step 40 without the check): the cluster studies'
    # rule (beyond BLOW_UP_FACTOR x (start + 1), checked at least every RECORD_EVERY steps) stops it
    cell = _figure_1_cell(10.0)
    row = cell.run()
    assert row["outcome"] == outcomes.OSCILLATES_OR_BLOWS_UP, row
    assert row["steps_run"] < cell.steps and row["steps_run"] <= RECORD_EVERY
    bound = blow_up_bound(float(np.max(np.abs(cell.start()))))
    assert f"step {row['steps_run']}" in row["reason"] and f"{bound:.4g}" in row["reason"], row["reason"]
    assert max(float(x) for x in row["final_distances"].split(";")) > bound
    assert outcomes.BLOWS_UP in row["mean_outcomes"].split(";")


def test_an_average_cell_with_a_small_step_is_not_a_blow_up():
    # the negative control: the same start at eta = 1 converges, runs all its steps, no reason
    row = _figure_1_cell(1.0).run()
    assert row["outcome"] == outcomes.ALL_CONVERGE, row
    assert row["steps_run"] == 40 and row["reason"] == ""


@pytest.mark.parametrize("study,option", [("average", "radius"), ("mixtures", "M0"), ("mixtures", "layout")])
def test_options_a_grid_study_does_not_use_are_refused(study, option):
    given = {option: ["1"]}
    with pytest.raises(ValueError, match=f"--{option} is not used by the {study} study"):
        check_options(study, "quick", given)


def test_the_mixtures_study_end_to_end(tmp_path):
    opts = check_options("mixtures", "quick", {"n": ["2"], "d": ["1"], "steps": "40"})
    opts = type(opts)(**{**opts.__dict__, "extra": {"K": (2,), "separations": (4.0,), "scales": (0.3, 3.0)}})
    res = run_study(opts, InProcess(), Cache(None))
    assert len(res.rows) == 2 and res.summary["recovery"][0]["K"] == 2
    for name, draw in res.figures.items():
        draw(tmp_path / name)
        assert (tmp_path / name).stat().st_size > 1000


def test_the_figures_pass_the_figure_check(tmp_path, monkeypatch):
    """Both figures, from rows as the studies write them, pass the claims' figure check."""
    from verify.claims.figures import figure_problems
    from verify.explore import figures

    found, save = {}, figures._save

    def checked(fig, path):
        found[path.name] = figure_problems(fig)
        save(fig, path)

    monkeypatch.setattr(figures, "_save", checked)
    rows = [dict(M=4.0, weighting="uniform", t_min=0.1, t_max=2.0, outcome=outcomes.ALL_CONVERGE, survivors=5),
            dict(M=6.0, weighting="uniform", t_min=0.1, t_max=2.0, outcome=outcomes.PARTIAL_RECOVERY, survivors=1)]
    average._figure(rows, tmp_path / "average.png")
    mixtures._figure({(2, 2, 1): [dict(separation=1.0, scale=0.1, outcome="all_recovered"),
                                  dict(separation=8.0, scale=4.0, outcome="duplicated")]}, tmp_path / "mix.png")
    assert found == {"average.png": [], "mix.png": []}
