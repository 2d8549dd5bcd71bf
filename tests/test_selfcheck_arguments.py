"""``verify selfcheck``'s arguments: the bench options mean nothing without ``--bench`` and are refused
(before: accepted and ignored), a case named twice is refused, and valid options reach the bench.
The accuracy checks and the bench are replaced by recorders: these tests run no engine work."""

from __future__ import annotations

import pytest

from verify.checks import selfcheck
from verify.cli import main


@pytest.fixture
def calls(monkeypatch):
    seen = []
    monkeypatch.setattr(selfcheck, "run_accuracy", lambda **kw: seen.append(("accuracy",)) or True)
    monkeypatch.setattr(selfcheck, "run_bench",
                        lambda **kw: seen.append(("bench", kw["steps"], kw["quick"], kw["cases"])))
    return seen


@pytest.mark.parametrize(("arguments", "words"), [
    (["--bench-steps", "10"], "argument --bench-steps: only with --bench"),
    (["--bench-quick"], "argument --bench-quick: only with --bench"),
    (["--bench-case", "k4"], "argument --bench-case: only with --bench"),
    (["--bench", "--bench-case", "k4", "--bench-case", "k4"],
     "argument --bench-case: 'k4' given twice; give each once"),
])
def test_bench_options_out_of_place_are_one_line_and_exit_2_before_any_work(calls, capsys, arguments, words):
    assert main(["selfcheck", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and words in captured.err, captured.err
    assert "Traceback" not in captured.err and calls == []


def test_bench_options_reach_the_bench(calls, capsys):
    """The negative control: with --bench the same options are taken, and the steps default to the paper's."""
    assert main(["selfcheck", "--bench", "--bench-steps", "10", "--bench-quick", "--bench-case", "k4",
                 "--bench-case", "fig-1"]) == 0
    assert main(["selfcheck", "--bench", "--bench-case", "k4"]) == 0
    assert calls == [("accuracy",), ("bench", 10, True, ["k4", "fig-1"]), ("accuracy",),
                     ("bench", selfcheck.FIG1_STEPS, False, ["k4"])]
    assert selfcheck.FIG1_STEPS == 20_000


@pytest.mark.parametrize(("arguments", "words"), [
    (["--bench-case", "k4", "--bench-steps", "10"], "argument --bench-steps: changes only the fig-1 bench case, "
                                                    "not --bench-case k4"),
    (["--bench-case", "sharp-k2", "--bench-case", "thm-3.4", "--bench-steps", "10"],
     "argument --bench-steps: changes only the fig-1 bench case, not --bench-case sharp-k2 thm-3.4"),
    (["--bench-case", "fig-1", "--bench-quick"], "argument --bench-quick: changes only the far-k3, k4, thm-3.4 bench "
                                                  "cases, not --bench-case fig-1"),
    (["--bench-case", "sharp-k2", "--bench-case", "fig-1", "--bench-quick"], "argument --bench-quick: changes only"),
])
def test_a_bench_option_the_chosen_cases_do_not_use_is_one_line_and_exit_2(calls, capsys, arguments, words):
    assert main(["selfcheck", "--bench", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and words in captured.err, captured.err
    assert "Traceback" not in captured.err and calls == []


def test_a_bench_option_reaches_a_case_it_changes(calls, capsys):
    # the controls: --bench-steps with fig-1 among the cases, --bench-quick with a case it changes, both with all
    assert main(["selfcheck", "--bench", "--bench-case", "k4", "--bench-case", "fig-1", "--bench-steps", "10"]) == 0
    assert main(["selfcheck", "--bench", "--bench-case", "sharp-k2", "--bench-case", "thm-3.4", "--bench-quick"]) == 0
    assert main(["selfcheck", "--bench", "--bench-steps", "10", "--bench-quick"]) == 0
    assert calls == [("accuracy",), ("bench", 10, False, ["k4", "fig-1"]), ("accuracy",),
                     ("bench", selfcheck.FIG1_STEPS, True, ["sharp-k2", "thm-3.4"]), ("accuracy",),
                     ("bench", 10, True, None)]


def test_the_cases_quick_changes_are_the_ones_it_changes():
    # USES_QUICK against the bench's own item counts (one seed or two M0 instead of five seeds or four M0)
    from verify.checks import bench

    changed = tuple(c for c in bench.CASES if bench.bench_items(True, [c]) != bench.bench_items(False, [c]))
    assert changed == bench.USES_QUICK and bench.USES_STEPS == ("fig-1",)
