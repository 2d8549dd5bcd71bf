"""``verify explore`` end to end at small sizes: the classes at the extremes (with a wrong engine and
a wrong classifier as negative controls), the same table through Dask as in this process and in
a local process pool, the command line's checks and files, and the small-size findings."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from verify import cli
from verify.explore import findings, runner
from verify.explore.executors import DaskPool, InProcess, LocalPool, run_cells
from verify.simulate import outcomes
from verify.simulate.descent import ExactGradient

# -- the classes at the extremes ------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3])
def test_classes_at_the_extremes(n):
    rows = {k: runner.run_cell(c) for k, c in findings.extreme_cells(n).items()}
    assert findings.extremes_problems(rows) == []


def test_extremes_check_rejects_a_wrong_engine(monkeypatch):
    # the engine's gradient with the wrong sign: gradient ascent
    original = ExactGradient.gradient
    monkeypatch.setattr(ExactGradient, "gradient", lambda self, mu: -original(self, mu))
    rows = {k: runner.run_cell(c) for k, c in findings.extreme_cells(2).items()}
    assert any("t = 10" in p for p in findings.extremes_problems(rows))
    # ... and with a tenth of its scale (the step then sits far below the stability limit)
    monkeypatch.setattr(ExactGradient, "gradient", lambda self, mu: 0.1 * original(self, mu))
    rows = {k: runner.run_cell(c) for k, c in findings.extreme_cells(2).items()}
    assert any("far above the limit" in p for p in findings.extremes_problems(rows))


def test_extremes_check_rejects_a_wrong_classifier(monkeypatch):
    from verify.analysis import cluster_runs

    # a classifier that never lets a mean recede (its receding radius out of reach) ...
    rule = cluster_runs.cluster_rule
    monkeypatch.setattr(cluster_runs, "cluster_rule",
                        lambda n, M0: rule(n, M0).__class__(**{**rule(n, M0).__dict__, "recede_radius": 1e9}))
    rows = {k: runner.run_cell(c) for k, c in findings.extreme_cells(2).items()}
    assert any("single survivor" in p for p in findings.extremes_problems(rows))
    # ... and one that calls every run converged (undecided merged into a class)
    fake = {k: {**r, "outcome": outcomes.ALL_CONVERGE} for k, r in rows.items()}
    assert len(findings.extremes_problems(fake)) == 2


# -- Dask, local pool and this process give the same table ---------------------------------------


def _small_sweep():
    return [runner.Cell(n=2, d=1, M0=M0, radius=r, t=t, eta=0.05, layout="gaussian", seed=s, steps=600)
            for M0, r, t in ((6.0, 1e-7, 0.0), (6.0, 1e-7, 10.0), (4.0, 5e-4, 0.0), (1.0, 0.3, 0.5)) for s in (0, 1)]


def _without_seconds(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_dask_local_cluster_gives_the_same_table_as_in_process():
    from dask.distributed import Client, LocalCluster

    cells = _small_sweep()
    here = run_cells(cells, InProcess())
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        pool = DaskPool(client)
        through_dask = run_cells(cells, pool)
        by_address = DaskPool(cluster.scheduler_address)
        again = run_cells(cells[:2], by_address)
        by_address.close()
    assert _without_seconds(through_dask) == _without_seconds(here)
    assert _without_seconds(again) == _without_seconds(here[:2])
    assert {r["outcome"] for r in here} >= {outcomes.ALL_CONVERGE, outcomes.PARTIAL_RECOVERY}
    # negative control: the comparison sees a changed row
    changed = _without_seconds(here)
    changed[3] = {**changed[3], "final_loss": changed[3]["final_loss"] * (1 + 1e-12)}
    assert changed != _without_seconds(through_dask)


def test_local_process_pool_gives_the_same_table():
    cells = _small_sweep()[:4]
    pool = LocalPool(2)
    try:
        rows = run_cells(cells, pool)
    finally:
        pool.close()
    assert _without_seconds(rows) == _without_seconds(run_cells(cells, InProcess()))


# -- the command line --------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, message", [
    (["noise", "--eta", "0"], "--eta must be > 0"),
    (["noise", "--radius", "-0.001"], "--radius must be > 0"),
    (["noise", "--radius", "-1e-3"], "argument --radius"),  # argparse reads -1e-3 as an option: still one line
    (["radius", "--t", "-1"], "--t must be >= 0"),
    (["noise", "--t", "1"], "--t fixes what the noise study sweeps"),
    (["step", "--t-range", "0", "1", "3"], "--t-range is not swept by the step study"),
    (["noise", "--t-range", "0", "1", "0"], "POINTS must be >= 1"),
    (["noise", "--t-range", "2", "1", "3"], "MAX must be >= MIN"),
    (["radius", "--layout", "ring"], "unknown layout 'ring'"),
    (["radius", "--n", "1", "--layout", "opposite"], "needs --n >= 2"),
    (["noise", "--budget", "huge"], "unknown budget 'huge'"),
    (["noise", "--seeds", "0"], "--seeds must be >= 1"),
    (["noise", "--bogus"], "unrecognized arguments: --bogus"),
    (["phase", "--radius", "0.1"], "--radius fixes what the phase study sweeps"),
    (["noise", "--cache", "x", "--no-cache"], "contradict"),
    (["tides"], "unknown study 'tides'"),
])
def test_bad_options_get_one_line_and_exit_2(argv, message, capsys):
    assert cli.main(["explore", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]


def test_out_folder_must_exist_or_have_a_parent(tmp_path, capsys):
    assert cli.main(["explore", "noise", "--out", str(tmp_path / "a" / "b")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and "does not exist" in err[0]


def test_a_small_study_writes_its_table_summary_and_figure(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["explore", "noise", "--n", "2", "--M0", "6", "--radius", "1e-7", "--t-range", "0", "10", "2",
            "--seeds", "1", "--rounds", "1", "--per-round", "1", "--steps", "600", "--max-steps", "600",
            "--workers", "1", "--cache", str(tmp_path / "cache"), "--out", str(out), "--quiet"]
    assert cli.main(argv) == 0
    for name in ("explore_noise.csv", "explore_noise.parquet", "explore_noise.json", "noise_threshold.png"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "explore_noise.json").read_text())
    (tc,) = summary["t_c"]
    assert summary["schema"] == "verify-explore/1" and tc["t_c"]["status"] == "bracketed"
    assert tc["t_c"]["bracket"][0] < tc["t_c"]["bracket"][1] <= 10
    assert tc["thm_2_1_sufficient_t"] == pytest.approx(math.log(2) + math.log(tc["M"]) + 2)
    import pyarrow.parquet as pq

    table = pq.read_table(out / "explore_noise.parquet")
    assert table.num_rows == summary["cells"] and "outcome" in table.column_names
    # run again: every cell comes from the cache
    assert cli.main(argv) == 0
    assert len(list((tmp_path / "cache").rglob("*.json"))) == summary["cells"]


# -- the findings for verify report ----------------------------------------------------------------


def test_noise_threshold_finding_at_a_small_size():
    f = findings.noise_threshold(n=3, seeds=1, t_max=2.0, rounds=1, steps=600, max_steps=600)
    assert f["status"] in ("bracketed", "undecided") and f["thm_2_1_sufficient_t"] > 4.8
    assert f["thm_3_1_max_t"] == pytest.approx(math.log(f["M"] / 2.5505509886412239), rel=1e-12)
    if f["bracket"]:
        assert f["bracket"][1] < f["thm_2_1_sufficient_t"]
    # what the thm-3.1 claim attaches is a valid Finding
    from verify.claims.base import Finding

    found = Finding(**findings.noise_threshold_finding(n=3, t_max=2.0, rounds=1, steps=600, max_steps=600))
    assert found.name.startswith("noise threshold t_c") and "Theorem 3.1" in found.note


def test_radius_law_finding_from_measured_boundaries():
    rows = [{"M0": 3.0, "r_star_low": 0.0157, "r_star_high": 0.01669},
            {"M0": 4.0, "r_star_low": 1.479e-4, "r_star_high": 1.534e-4},
            {"M0": 5.0, "r_star_low": 1.063e-6, "r_star_high": 1.140e-6}]
    f = findings.radius_law(rows, n=2, d=1, eta=0.05)
    assert f["fitted"] and abs(f["beta"] - 1) < 3 * f["beta_err"] + 0.01
    assert f["paper_radius_log10"]["3"] < -1e7
    assert not findings.radius_law(rows[:1], n=2, d=1, eta=0.05)["fitted"]
    assert np.isfinite(f["log10_C"])
    from verify.claims.base import Finding

    (beta,) = [Finding(**x) for x in findings.radius_law_findings(rows, n=2, d=1, eta=0.05)]
    assert beta.value == pytest.approx(f["beta"], abs=1e-4) and findings.radius_law_findings(rows[:1], n=2, d=1,
                                                                                              eta=0.05) == []


# -- --budget full states its size first ------------------------------------------------------------


class _Stop(Exception):
    pass


@pytest.mark.parametrize("study", ["noise", "phase"])
def test_full_budget_states_its_cells_and_time_before_any_work(study, monkeypatch, capsys):
    from verify.explore import command, grid, phase, studies

    def stop(*args, **kw):  # the first thing after the statement: no cell has run
        raise _Stop

    monkeypatch.setattr(command, "make_pool", stop)
    with pytest.raises(_Stop):
        command.run(cli.build_parser().parse_args(["explore", study, "--budget", "full", "--no-cache"]))
    (line,) = capsys.readouterr().err.strip().splitlines()
    opts = grid.check_options(study, "full", {})
    first = (sum(len(p.cells()) for p in phase.build(opts)) if study == "phase"
             else sum(len(s.bracket.initial) * len(s.seeds) for s in studies.SERIES_STUDIES[study].build(opts)))
    assert f"--budget full: {first} cells in round 0" in line and " min on " in line and " h (" in line


def test_full_budget_estimate_is_for_the_workers_that_will_run():
    import os

    from verify.explore import grid, studies

    every_core = studies.plan(grid.check_options("step", "full", {}))
    one = studies.plan(grid.check_options("step", "full", {"workers": "1"}))
    dask = studies.plan(grid.check_options("step", "full", {"scheduler": "tcp://127.0.0.1:8786"}))
    assert every_core["workers"] == (os.cpu_count() or 1) and one["workers"] == 1
    assert one["typical_seconds"] == pytest.approx(every_core["typical_seconds"] * every_core["workers"])
    assert dask["on"].startswith("one Dask worker") and dask["typical_seconds"] == one["typical_seconds"]


# -- every study's figure passes the report's figure check --------------------------------------------


def _drawn_and_checked(tmp_path, monkeypatch, studies) -> dict:
    """Each study at a tiny size through the command line; every figure checked as it is saved."""
    from verify.claims import figures as checker  # the claims' check: title, labelled axes, legend or colour bar
    from verify.explore import figures

    found = {}
    save = figures._save

    def checked(fig, path):
        found[path.name] = checker.figure_problems(fig)
        save(fig, path)

    monkeypatch.setattr(figures, "_save", checked)
    common = ["--steps", "300", "--workers", "1", "--no-cache", "--quiet", "--out", str(tmp_path)]
    # (the refined studies; phase runs one grid and refuses --rounds; --max-steps would have no effect with
    # --rounds 0, and --seeds none with the leader layout, so both are refused there)
    once = ["--rounds", "0"]
    tiny = {"noise": ["--n", "2", "--t-range", "0", "10", "2", "--seeds", "1", *once],
            "step": ["--M0", "1", "--eta-range", "0.1", "30", "3", "--seeds", "1", *once],
            "radius": ["--M0", "3", "4", "--radius-points", "3", "--layout", "leader", *once],
            "phase": ["--radius-range", "1e-8", "1", "2", "--t-range", "0", "2", "2", "--eta-range", "0.1", "10", "2"]}
    for study in studies:
        assert cli.main(["explore", study, *tiny[study], *common]) == 0
    return found


def test_every_study_figure_passes_the_figure_check(tmp_path, monkeypatch):
    found = _drawn_and_checked(tmp_path, monkeypatch, ("noise", "step", "radius", "phase"))
    assert found == {"noise_threshold.png": [], "step_limits.png": [], "radius_boundary.png": [],
                     "phase_diagram.png": []}


def test_figure_check_rejects_a_phase_diagram_without_its_colour_bar(tmp_path, monkeypatch):
    import matplotlib.figure

    class NoBar:  # what the phase figure calls on its colour bar, drawing nothing
        ax = type("Axes", (), {"set_yticklabels": lambda self, *a, **k: None})()

        def set_label(self, *a, **k):
            return None

    monkeypatch.setattr(matplotlib.figure.Figure, "colorbar", lambda self, *a, **k: NoBar())
    found = _drawn_and_checked(tmp_path, monkeypatch, ("phase",))
    assert any("without a colour bar" in p for p in found["phase_diagram.png"])
