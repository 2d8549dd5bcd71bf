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
