"""``verify gate``'s command line: nothing given is silently ignored.

* ``--export``/``--export-objectives`` only print a data file: any other argument (an
  implementation, ``--quick``, ``--check``, the other one) is refused by name, exit status 2,
  before any work; alone they still print the file (the negative control);
* an option given twice (the same ``--check`` name, ``--seed 1 --seed 2``) is refused by name;
  different check names are still taken (the negative control);
"""

from __future__ import annotations

import pytest

from verify.cli import build_parser
from verify.cli import main as verify_main
from verify.gate.datafile import OBJECTIVE_VALUES, REFERENCE_VALUES

IMPL = "verify.gate.examples.reference:implementation"


def _one_line_error(capsys, argv, words):
    assert verify_main(["gate", *argv]) == 2
    cap = capsys.readouterr()
    assert cap.out == "", "refused before any work"
    assert cap.err.count("\n") == 1 and words in cap.err and "Traceback" not in cap.err, cap.err


@pytest.mark.parametrize(("argv", "words"), [
    (["--export", IMPL], "--export only prints the published values; MODULE:ATTR does not apply to it"),
    (["--export", "--quick"], "--export only prints the published values; --quick does not apply to it"),
    (["--export", "--export-objectives"], "--export and --export-objectives each print one data file"),
    (["--export-objectives", "--check", "reference_values"], "--check does not apply"),
    (["--export", "--json", "-"], "--json does not apply"),
    # given with their default values, still refused: they were given
    (["--export", "--seed", "0", "--time-limit", "60", "--repeats", "16", "--generated", "6"],
     "--repeats, --seed, --generated, --time-limit do not apply"),
])
def test_export_refuses_the_arguments_that_do_not_apply_to_it(capsys, argv, words):
    _one_line_error(capsys, argv, words)


@pytest.mark.parametrize(("flag", "datafile"), [("--export", REFERENCE_VALUES),
                                                ("--export-objectives", OBJECTIVE_VALUES)])
def test_export_alone_still_prints_its_file(capsys, flag, datafile):
    assert verify_main(["gate", flag]) == 0
    cap = capsys.readouterr()
    assert cap.out == datafile.text() and cap.err == ""


@pytest.mark.parametrize(("argv", "words"), [
    ([IMPL, "--check", "reference_values", "--check", "reference_values"],
     "argument --check: 'reference_values' given twice"),
    ([IMPL, "--check", "dynamics", "--check", "invariance", "--check", "dynamics"], "'dynamics' given twice"),
    ([IMPL, "--seed", "1", "--seed", "2"], "argument --seed: given twice"),
    ([IMPL, "--time-limit", "5", "--time-limit", "5"], "argument --time-limit: given twice"),
])
def test_an_option_given_twice_is_refused_by_name(capsys, argv, words):
    _one_line_error(capsys, argv, words)


def test_different_checks_and_single_options_are_taken():
    args = build_parser("gate").parse_args(["gate", IMPL, "--check", "dynamics", "--check", "invariance",
                                            "--seed", "3"])
    assert args.checks == ["dynamics", "invariance"] and args.seed == 3 and args.repeats == 16

