"""The sizes of ``verify explore`` (verify.explore.sizes): a size whose memory is out of reach is refused
before any work, with one line naming the option, the largest value accepted and why (and, for the
cell count, the count and the estimated time); the largest value accepted is taken (the negative
controls).  Runs estimated longer than the quick budgets state their cells and time first."""

from __future__ import annotations

import dataclasses
import re

import pytest

from verify import cli
from verify.explore import command, limits, sizes, studies
from verify.explore.grid import BUDGETS, check_options


def _refused(argv, capsys) -> str:
    assert cli.main(["explore", *argv, "--no-cache", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize("argv, option", [
    (["noise", "--d", "100000"], "--d must be <= 1905 at --n up to 3"),  # the review's crash: 74.5 GiB asked of numpy
    (["noise", "--d", "20000"], "--d must be <= 1905"),
    (["noise", "--n", "100000"], "--n must be <= 80"),
    (["radius", "--n", "81"], "--n must be <= 80"),
    (["step", "--d", "1906"], "--d must be <= 952 at --n up to 6"),  # step's quick n is 2; --d 1906 with n 6 below
    (["phase", "--d", "2858"], "--d must be <= 2857 at --n up to 2"),
    (["average", "--d", "1144"], "--d must be <= 1143 at --n up to 5"),
    (["mixtures", "--d", "1906"], "--d must be <= 1905 at --n up to 3"),
    (["noise", "--steps", "100000000"], "--steps must be <= "),
    (["noise", "--max-steps", "100000000"], "--max-steps must be <= "),
    (["noise", "--seeds", "1000000"], "--seeds 1000000 makes 27000000 cells"),
    (["noise", "--seeds", "1000000000"], "--seeds 1000000000 makes 27000000000 cells"),
    (["radius", "--radius-points", "100000"], "--radius-points 100000 makes 1200144 cells"),
    (["noise", "--t-range", "0", "10", "100000000"], "--t-range POINTS 100000000 makes"),
    (["noise", "--rounds", "1000000"], "--rounds 1000000 makes"),
    (["phase", "--eta-range", "0.1", "1", "1000000"], "--eta-range POINTS 1000000 makes"),
    (["mixtures", "--seeds", "100000"], "--seeds 100000 makes"),
    (["average", "--seeds", "1000000"], "--seeds 1000000 makes"),
    (["radius", "--radius-range", "1e-9", "1", "100000"], "--radius-range POINTS 100000 makes"),
    (["radius", "--layout", "leader", "gaussian", "--seeds", "100000"], "--seeds 100000 makes"),
    (["noise", "--n", *map(str, range(1, 9)), "--M0", *map(str, range(1, 9)), "--radius", *map(str, range(1, 9)),
      "--eta", *map(str, range(1, 9)), "--d", *map(str, range(1, 9))], "8 values of --n make 1769472 cells"),
])
def test_a_size_out_of_reach_is_one_line_and_exit_2(argv, option, capsys):
    if argv[0] == "step" and argv[1] == "--d":
        argv = [*argv, "--n", "6"]
    line = _refused(argv, capsys)
    assert option in line, line


def test_the_cell_count_refusal_states_the_cells_the_time_and_the_largest_seeds(capsys):
    line = _refused(["noise", "--seeds", "1000000"], capsys)
    assert re.search(r"about [\d.e+]+ days on \d+ local worker\(s\)", line), line
    most = int(re.search(r"give --seeds <= (\d+)", line).group(1))
    # the control: the largest accepted value is taken, one more is refused
    opts = check_options("noise", "quick", {"seeds": str(most)})
    assert sum(sizes.cell_count(opts)) <= sizes.MAX_CELLS
    with pytest.raises(ValueError, match=f"--seeds {most + 1} makes"):
        check_options("noise", "quick", {"seeds": str(most + 1)})


@pytest.mark.parametrize("study, given, name", [
    ("noise", {"t_range": ["0", "10", "100000000"]}, "t_range"), ("noise", {"rounds": "1000000"}, "rounds"),
    ("radius", {"radius_points": "100000"}, "radius_points"), ("average", {"seeds": "1000000"}, "seeds"),
    ("phase", {"eta_range": ["0.1", "1", "1000000"]}, "eta_range"),
])
def test_the_named_option_at_its_largest_value_is_taken(study, given, name):
    with pytest.raises(ValueError) as refused:
        check_options(study, "quick", given)
    most = int(re.search(r"<= (\d+)$", str(refused.value)).group(1))
    at = dict(given)
    at[name] = [*given[name][:2], str(most)] if isinstance(given[name], list) else str(most)
    check_options(study, "quick", at)  # the control: the largest value the message names is taken
    at[name] = [*given[name][:2], str(most + 1)] if isinstance(given[name], list) else str(most + 1)
    with pytest.raises(ValueError, match=f"<= {most}$"):
        check_options(study, "quick", at)


@pytest.mark.parametrize("study, given", [
    ("noise", {"n": ["80"]}), ("noise", {"d": ["1905"]}), ("mixtures", {"d": ["1905"]}), ("phase", {"d": ["2857"]}),
    ("average", {"d": ["1143"]}), ("noise", {"steps": "3000", "max_steps": "12000"}),
])
def test_the_largest_sizes_are_taken(study, given):
    check_options(study, "quick", given)


def test_workers_beyond_the_machines_memory_are_refused(capsys):
    most = sizes.most_workers()
    line = _refused(["noise", "--workers", "100000"], capsys)  # the local pool would fork them all at once
    assert f"--workers must be <= {most} on this machine" in line, line
    # the control: the largest number is taken, one more refused
    check_options("noise", "quick", {"workers": str(most)})
    with pytest.raises(ValueError, match=f"--workers must be <= {most}"):
        check_options("noise", "quick", {"workers": str(most + 1)})


def test_the_largest_steps_are_taken():
    most = int(sizes.RECORD_EVERY * sizes.MEMORY_LIMIT / (sizes.RECORD_BYTES + 16 * 3))
    check_options("noise", "quick", {"max_steps": str(most)})
    with pytest.raises(ValueError, match=f"--max-steps must be <= {most} at n = 3, d = 1"):
        check_options("noise", "quick", {"max_steps": str(most + 1)})


def test_the_limits_are_the_stated_numbers():
    assert sizes.ND_MAX == 5715 and sizes.MAX_CELLS == 500_000 and sizes.N_MAX == 80
    # the step costs measured (module doc) are what the estimate gives, within a factor 2
    for n, d, measured in ((30, 1, 0.044), (40, 1, 0.093), (80, 1, 0.39), (3, 1000, 0.065), (3, 2000, 0.10)):
        assert measured / 2 < sizes.step_seconds(n, d) < measured * 2, (n, d)


def test_the_average_study_is_priced_at_its_measured_step():
    # its quick table took 47 s for 4 cells x 150 steps on one worker, every cell running all its steps
    # (proofs_map.md): the upper bound (every step run) is that within a factor 2; as cluster steps, 20x under
    p = studies.plan(check_options("average", "quick", {"workers": "1"}))
    assert 47 / 2 < p["upper_bound_seconds"] < 47 * 2
    # its cells run every step, so the typical time is the upper bound (it was 0.2 of it: 9.6 s for 47 s)
    assert p["typical_seconds"] == p["upper_bound_seconds"]
    # the mixtures study's quick table (28 s measured, review 23b) within a factor 2; a cluster study's
    # cells stop early (the control: its typical time stays below its upper bound)
    m = studies.plan(check_options("mixtures", "quick", {"workers": "1"}))
    assert m["typical_seconds"] == m["upper_bound_seconds"] and 28 / 2 < m["upper_bound_seconds"] < 28 * 2
    n = studies.plan(check_options("noise", "quick", {"workers": "1"}))
    assert n["typical_seconds"] < n["upper_bound_seconds"]


@pytest.mark.parametrize("budget", list(BUDGETS))
@pytest.mark.parametrize("study", list(BUDGETS["quick"]))
def test_the_cell_count_is_the_built_grid(study, budget):
    from verify.explore import phase

    opts = check_options(study, budget, {})
    variants = [opts]
    if study not in studies.GRID_STUDIES:  # a layout without seeds beside the gaussian one
        variants.append(dataclasses.replace(opts, layout=("gaussian", "leader"), seeds=3))
    for o in variants:
        if o.study == "phase":
            built = (sum(len(p.cells()) for p in phase.build(o)), 0)
        elif o.study in studies.GRID_STUDIES:
            built = (len(studies.GRID_STUDIES[o.study].cells(o)), 0)
        else:
            series = studies.SERIES_STUDIES[o.study].build(o)
            built = (sum(len(s.bracket.initial) * len(s.seeds) for s in series),
                     sum(o.rounds * o.per_round * len(s.seeds) for s in series))
        assert sizes.cell_count(o) == built


def test_the_quick_budgets_stay_silent():
    for study in BUDGETS["quick"]:
        p = studies.plan(check_options(study, "quick", {"workers": "2"}))
        assert p["typical_seconds"] < command.STATE_SECONDS, study


class _Stop(Exception):
    pass


def test_a_long_run_states_its_cells_and_time_before_any_work(monkeypatch, capsys):
    def stop(*args, **kw):
        raise _Stop

    monkeypatch.setattr(command, "make_pool", stop)
    with pytest.raises(_Stop):
        command.run(cli.build_parser().parse_args(["explore", "noise", "--n", "80", "--no-cache"]))
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "these options: 22 cells in round 0, at most 32 more" in line and " min on " in line
    # the control: the quick default says nothing before its progress
    with pytest.raises(_Stop):
        command.run(cli.build_parser().parse_args(["explore", "noise", "--no-cache"]))
    assert capsys.readouterr().err.strip() == ""


def test_the_deviations_are_drawn_only_near_the_engines_range(monkeypatch):
    def drawn(opts):
        raise _Stop

    monkeypatch.setattr(limits, "_largest_deviation", drawn)
    check_options("noise", "quick", {"seeds": "18000"})  # the bound sqrt(d) + 40 passes: nothing drawn
    # the control: a radius near the engine's range needs the drawn deviations for its message
    with pytest.raises(_Stop):
        check_options("noise", "quick", {"radius": ["1e100"]})


def test_the_bound_is_above_every_drawn_deviation():
    opts = check_options("noise", "quick", {"seeds": "2000", "d": ["1", "50"], "n": ["3", "20"]})
    assert limits._largest_deviation(opts) < limits._deviation_bound(opts)
    # the rows of a smaller n are the first rows of the largest n's (why only the largest n is drawn)
    from verify.analysis.layouts import unit_deviations
    assert (unit_deviations("gaussian", 3, 50, 7) == unit_deviations("gaussian", 20, 50, 7)[:3]).all()


def test_the_default_workers_are_held_to_the_machines_memory(monkeypatch):
    """Without --workers the pool took every core, unchecked against memory (only an explicit
    --workers was, review 23b): the default is every core within what the memory holds.  Control: a
    machine with memory for all its cores gets them all."""
    from verify.explore import executors, sizes

    monkeypatch.setattr(sizes.os, "cpu_count", lambda: 16)
    monkeypatch.setattr(sizes, "physical_memory", lambda: 3 * (sizes.MEMORY_LIMIT + sizes.WORKER_BYTES))
    assert sizes.default_workers() == 3
    pool = executors.LocalPool()
    try:
        assert pool.workers == 3
    finally:
        pool.close()
    monkeypatch.setattr(sizes, "physical_memory", lambda: 64 * (sizes.MEMORY_LIMIT + sizes.WORKER_BYTES))
    assert sizes.default_workers() == 16
