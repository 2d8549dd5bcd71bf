"""``verify explore``'s options beyond their signs: each message names the part of the option that is
wrong, options a study would ignore are refused, and the Dask scheduler's address is checked before
any work.  Every check has a negative control (a value just inside, or the same option where it is used).
"""

from __future__ import annotations

import pytest

from verify import cli
from verify.explore.grid import check_options


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize("argv, message", [
    (["step", "--eta-range", "1e-3", "1", "1.5"], "--eta-range: POINTS must be an integer, got '1.5'"),
    (["phase", "--t-range", "0", "1", "2.5"], "--t-range: POINTS must be an integer, got '2.5'"),
    (["phase", "--t-range", "zero", "1", "3"], "--t-range: MIN must be a number, got 'zero'"),
    (["radius", "--radius-range", "1e-3", "big", "3"], "--radius-range: MAX must be a number, got 'big'"),
])
def test_a_range_names_the_part_that_is_wrong(argv, message, capsys):
    assert cli.main(["explore", *argv]) == 2
    assert message in _one_line(capsys)


def test_range_ends_may_be_any_numbers_and_points_an_integer():
    # the control: the same ranges with well-formed parts are taken as given
    assert check_options("step", "quick", {"eta_range": ["1e-3", "1.5", "3"]}).eta_range == (1e-3, 1.5, 3)
    assert check_options("phase", "quick", {"t_range": ["0", "2.5", "3"]}).t_range == (0.0, 2.5, 3)


@pytest.mark.parametrize("study, given, message", [
    ("noise", {"radius_points": "5"}, "--radius-points is not used by the noise study"),
    ("step", {"radius_points": "5"}, "--radius-points is not used by the step study"),
    ("phase", {"radius_points": "5"}, "--radius-points is not used by the phase study"),
    ("radius", {"radius_points": "2", "radius_range": ["1e-3", "1", "5"]},
     "--radius-points and --radius-range both set the radius grid"),
    ("phase", {"rounds": "3"}, "--rounds is not used by the phase study"),
    ("phase", {"per_round": "3"}, "--per-round is not used by the phase study"),
    ("phase", {"max_steps": "9000"}, "--max-steps is not used by the phase study"),
    ("noise", {"workers": "2", "scheduler": "tcp://127.0.0.1:8786"}, "--workers and --dask-scheduler"),
])
def test_an_option_the_study_would_ignore_is_refused(study, given, message):
    with pytest.raises(ValueError, match=message):
        check_options(study, "quick", given)


def test_the_same_options_are_taken_where_they_are_used():
    # the controls: each option alone, where the study uses it
    assert check_options("radius", "quick", {"radius_points": "5"}).radius_points == 5
    assert check_options("radius", "quick", {"radius_range": ["1e-3", "1", "5"]}).radius_range == (1e-3, 1.0, 5)
    assert check_options("noise", "quick", {"rounds": "3", "per_round": "3", "max_steps": "9000"}).rounds == 3
    assert check_options("noise", "quick", {"workers": "2"}).workers == 2
    assert check_options("noise", "quick", {"scheduler": "tcp://127.0.0.1:8786"}).scheduler == "tcp://127.0.0.1:8786"


def test_an_ignored_option_on_the_command_line_is_one_line_and_exit_2(capsys):
    assert cli.main(["explore", "noise", "--radius-points", "5", "--no-cache", "--workers", "1"]) == 2
    assert "--radius-points is not used by the noise study" in _one_line(capsys)
