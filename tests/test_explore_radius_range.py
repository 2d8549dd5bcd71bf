"""``verify explore radius``'s default radius range: the help says what it really is (exp(-M0^3) ..
M0^(1/3), but at least a decade, floored at 1e-300, 1e-8 .. 1 at M0 = 0), and the summary and the printed
lines state the range used wherever it differs from exp(-M0^3) .. M0^(1/3).  Nothing runs a cell."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from verify import cli
from verify.explore import command, radius
from verify.explore.grid import check_options
from verify.explore.sweeps import radius_range_for, radius_range_note

OLD_HELP = "MIN MAX POINTS, log-spaced (radius: default exp(-M0^3) .. M0^(1/3) per M0; phase)"


def _help() -> str:
    parser = cli.build_parser("explore")
    return " ".join(parser._subparsers._group_actions[0].choices["explore"].format_help().split())


def _states_the_exceptions(text: str) -> bool:
    return all(words in text for words in ("10 exp(-M0^3) for M0 < ~1.3", "1e-300", "M0 = 0: 1e-8 .. 1"))


def test_the_help_states_the_default_range_and_its_exceptions():
    assert _states_the_exceptions(_help())
    assert not _states_the_exceptions(OLD_HELP)  # the negative control: the help before said the formula only


@pytest.mark.parametrize("M0, widened", [(0.5, True), (1.0, True), (1.25, True), (1.35, False), (3.0, False)])
def test_the_helps_threshold_for_the_widened_range_is_the_codes(M0, widened):
    lo, hi, _ = radius_range_for(M0, 5)
    assert (hi == pytest.approx(10 * lo)) is widened and (radius_range_note(M0) is not None) is widened


@pytest.mark.parametrize("M0, lo, hi, note", [
    (0.0, 1e-8, 1.0, "M0 = 0: 1e-8 .. 1"),
    (0.5, math.exp(-0.125), 10 * math.exp(-0.125), "widened to a decade"),
    (9.0, 1e-300, 9 ** (1 / 3), "lower end floored at 1e-300"),
    (2.0, math.exp(-8), 2 ** (1 / 3), None),  # the control: the formula itself, no note
])
def test_the_summary_records_the_range_used(M0, lo, hi, note, capsys):
    opts = check_options("radius", "quick", {"M0": [str(M0)], "layout": ["leader"], "radius_points": "4"})
    entries, _ = radius.summarize(radius.build(opts))
    (e,) = entries
    grid = e["radius_grid"]
    assert (grid["min"], grid["max"], grid["points"]) == (pytest.approx(lo), pytest.approx(hi), 4)
    assert (note is None) == ("differs_from_default_formula" not in grid)
    if note:
        assert note in grid["differs_from_default_formula"]
    command._print_headline(SimpleNamespace(study="radius", summary={"cells": 0, "outcome_counts": {}, "seconds": 0,
                                                                     "pool": "none", "r_star": entries}))
    out = capsys.readouterr().out
    assert (f"radii {lo:.3g} .. {hi:.3g}: " in out) is (note is not None), out


def test_a_given_range_is_recorded_as_given():
    opts = check_options("radius", "quick", {"M0": ["0.5"], "layout": ["leader"], "radius_range": ["1e-3", "1", "3"]})
    (e,), _ = radius.summarize(radius.build(opts))
    assert e["radius_grid"] == {"min": 1e-3, "max": 1.0, "points": 3, "from": "--radius-range"}
