"""The ranges of ``verify explore``'s numbers (verify.explore.limits): a value outside the range where
its study's float64 runs mean something is refused before any work, with one line naming the option
and the range; a value just inside is taken (the negative controls).  M0 = 0 is a start at mu*, so
the noise study runs it and says what Theorem 2.1's negative threshold means.
"""

from __future__ import annotations

import math
import re

import pytest

from verify import cli
from verify.explore import average
from verify.explore.grid import check_options
from verify.simulate import outcomes


@pytest.mark.parametrize("study, given, message", [
    ("noise", {"M0": ["1e308"]}, "--M0 must be <= 4.5e+07 at t = 0"),
    ("noise", {"M0": ["1e100"]}, "--M0 must be <= 4.5e+07 at t = 0"),
    ("noise", {"M0": ["1e9"], "t_range": ["2", "10", "5"]}, "--M0 must be <= 3.33e+08 at t = 2"),
    ("radius", {"M0": ["1e9"]}, "--M0 must be <= 4.5e+07"),
    ("step", {"M0": ["1e9"]}, "--M0 must be <= 4.5e+07"),
    ("phase", {"M0": ["1e9"]}, "--M0 must be <= 4.5e+07"),
    ("average", {"M0": ["1e7"]}, "--M0 must be <= 4.5e+06 for the average study"),
    ("noise", {"radius": ["1e300"]}, "--radius up to 1e+300 with --eta up to 0.05: a mean could pass"),
    ("step", {"eta_range": ["0.01", "1e9", "5"]}, "--radius up to 0.02 with --eta-range up to 1e+09"),
    ("noise", {"t_range": ["0", "750", "3"]}, "--t-range must be <= 708.4"),
    ("radius", {"t": ["750"]}, "--t must be <= 708.4"),
    ("mixtures", {"t": ["750"]}, "--t must be <= 708.4"),
    ("noise", {"radius": ["1e-300"], "t_range": ["0", "20", "3"]},
     "--radius 1e-300 with --t-range up to 20: the scaled radius e^-t r is below"),
    ("radius", {"M0": ["9"], "t": ["20"]}, "the default radius range of --M0 1e-300 with --t up to 20"),
    ("step", {"t": ["700"], "eta_range": ["0.01", "1e6", "3"]}, "the cluster's scaled distance e^-t M0 is below"),
    ("noise", {"M0": ["1"], "t_range": ["0", "337", "3"]}, "--M0 1 with --t-range up to 337: the cluster's scaled"),
    # the factor's own limit, at an M0 that keeps e^-t M0 in range
    ("step", {"M0": ["1e300"], "t": ["700"], "eta_range": ["0.01", "1e6", "3"]},
     "the descent's factor eta e^t overflows"),
    ("mixtures", {"t": ["700"], "eta": ["1e6"]}, "the descent's factor eta e^t overflows"),
    ("mixtures", {"t": ["400"]}, "the mixture's scaled separation e^-t s"),
    ("noise", {"M0": ["0", "1"], "t_range": ["0", "400", "3"]}, "--M0 1 with --t-range up to 400"),
    ("noise", {"M0": ["1e-200"]}, "give M0 >= "),
])
def test_a_value_outside_its_float64_range_is_refused(study, given, message):
    with pytest.raises(ValueError, match=message.replace("+", r"\+").replace("^", r"\^")):
        check_options(study, "quick", given)


@pytest.mark.parametrize("study, given", [
    ("noise", {"M0": ["0"]}),
    ("noise", {"M0": ["4.4e7"]}),
    ("noise", {"M0": ["3e8"], "t_range": ["2", "10", "5"]}),  # the same M0 bound scaled by e^t
    ("average", {"M0": ["4e6"]}),
    ("noise", {"radius": ["1e90"]}),
    ("step", {"eta_range": ["0.01", "1e6", "5"]}),
    ("noise", {"t_range": ["0", "330", "3"], "radius": ["1"]}),
    ("noise", {"M0": ["1"], "t_range": ["0", "336", "3"]}),  # e^-336 is just above FLOAT64_AMIN
    ("radius", {"M0": ["9"], "t": ["17"]}),  # e^-17 1e-300 is still a normal number
    ("step", {"t": ["330"], "eta_range": ["0.01", "1e3", "3"], "convention": "unscaled"}),
    ("mixtures", {"t": ["330"], "eta": ["0.5"]}),
])
def test_a_value_inside_its_range_is_taken(study, given):
    check_options(study, "quick", given)


def test_the_limits_are_the_stated_numbers():
    from verify.explore import limits

    assert limits.T_MAX == pytest.approx(708.396, abs=1e-3)
    assert limits.CENTRE_MAX == pytest.approx(4.5e7, rel=0.01)
    assert limits.AVERAGE_M_MAX == pytest.approx(4.5e6, rel=0.01)
    assert limits.ENGINE_MAX == pytest.approx(1.41e102, rel=0.01)
    assert math.isfinite(64 * limits.ENGINE_MAX**3)
    # the control: just above it, the engine refuses (it used to overflow)
    from verify.engine.reference import AccuracyError, loss
    loss([[0.99 * limits.ENGINE_MAX], [0.0]], [0.0], 0.0)
    with pytest.raises(AccuracyError, match="beyond the float64 engine's range"):
        loss([[1.01 * limits.ENGINE_MAX], [0.0]], [0.0], 0.0)


def test_a_huge_m0_on_the_command_line_is_one_line_and_exit_2(capsys):
    assert cli.main(["explore", "noise", "--M0", "1e308", "--t-range", "0", "1", "2", "--rounds", "0", "--steps", "10",
                     "--workers", "1", "--no-cache", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--M0 must be <= 4.5e+07" in err[0] and "Traceback" not in err[0]


def test_m0_zero_says_every_noise_level_satisfies_theorem_2_1(capsys):
    # mu* at the cluster's centre: Theorem 2.1's threshold log n + log M + 2 is negative
    assert cli.main(["explore", "noise", "--M0", "0", "--n", "3", "--t-range", "0", "1", "2", "--rounds", "0",
                     "--steps", "40", "--seeds", "1", "--workers", "1", "--no-cache", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"Thm 2\.1 sufficient t > -13\.\d+ \(every t >= 0\)", out), out
    assert re.search(r"stationary point in range for t <= -17\.\d+ \(no t >= 0\)", out), out


def test_the_threshold_text_marks_only_negative_thresholds():
    from verify.explore.command import _thresholds

    assert _thresholds(-1.5, -2.0) == ("-1.500 (every t >= 0)", "-2.000 (no t >= 0)")
    # the control: thresholds at or above 0 are printed as they are
    assert _thresholds(4.89, 0.855) == ("4.890", "0.855")
    assert _thresholds(4.89, None) == ("4.890", "n/a (n < 3)")


def test_a_step_that_throws_a_mean_out_of_float64_is_a_blow_up(monkeypatch):
    cell = average.AverageCell(M=4.0, weighting="uniform", t_min=0.1, t_max=2.0, n=2, d=1, eta=1e30, steps=40)
    row = cell.run()
    # the blow-up check sees the mean thrown out at step 1, before the engine is asked there
    assert row["outcome"] == outcomes.OSCILLATES_OR_BLOWS_UP
    assert row["reason"].startswith("blew up at step 1:"), row["reason"]
    # without that check, the engine's refusal beyond its float64 range is a blow-up too
    monkeypatch.setattr(average, "_blow_up_watch", lambda mu_star, bound: lambda step, mu, record: None)
    row = cell.run()
    assert row["outcome"] == outcomes.OSCILLATES_OR_BLOWS_UP
    assert "float64's range" in row["reason"]
