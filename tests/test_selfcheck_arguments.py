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
    monkeypatch.setattr(selfcheck, "run_bench", lambda **kw: seen.append(("bench", kw["steps"], kw["quick"], kw["cases"])))
    return seen


@pytest.mark.parametrize(("arguments", "words"), [
    (["--bench-steps", "10"], "argument --bench-steps: only with --bench"),
    (["--bench-quick"], "argument --bench-quick: only with --bench"),
    (["--bench-case", "k4"], "argument --bench-case: only with --bench"),
    (["--bench", "--bench-case", "k4", "--bench-case", "k4"], "argument --bench-case: 'k4' given twice; give each once"),
])
def test_bench_options_out_of_place_are_one_line_and_exit_2_before_any_work(calls, capsys, arguments, words):
    assert main(["selfcheck", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and words in captured.err, captured.err
    assert "Traceback" not in captured.err and calls == []


def test_bench_options_reach_the_bench(calls, capsys):
    """The negative control: with --bench the same options are taken, and the steps default to the paper's."""
    assert main(["selfcheck", "--bench", "--bench-steps", "10", "--bench-quick", "--bench-case", "k4"]) == 0
    assert main(["selfcheck", "--bench", "--bench-case", "k4"]) == 0
    assert calls == [("accuracy",), ("bench", 10, True, ["k4"]), ("accuracy",), ("bench", selfcheck.FIG1_STEPS, False, ["k4"])]
    assert selfcheck.FIG1_STEPS == 20_000
