"""``verify gate``'s command line: nothing given is silently ignored.

* ``--export``/``--export-objectives`` only print a data file: any other argument (an
  implementation, ``--quick``, ``--check``, the other one) is refused by name, exit status 2,
  before any work; alone they still print the file (the negative control);
* an option given twice (the same ``--check`` name, ``--seed 1 --seed 2``) is refused by name;
  different check names are still taken (the negative control);
* the help text's times and the README's measured ones agree.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verify.cli import build_parser
from verify.cli import main as verify_main
from verify.gate.datafile import OBJECTIVE_VALUES, REFERENCE_VALUES

REPO = Path(__file__).resolve().parents[1]
IMPL = "verify.gate.examples.reference:implementation"


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
def test_export_refuses_the_arguments_that_do_not_apply_to_it(refused, argv, words):
    refused(["gate", *argv], words)


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
    ([IMPL, "--quick", "--quick"], "argument --quick: given twice"),
    (["--export", "--export"], "argument --export: given twice"),
    (["--export-objectives", "--export-objectives"], "argument --export-objectives: given twice"),
])
def test_an_option_given_twice_is_refused_by_name(refused, argv, words):
    refused(["gate", *argv], words)


def test_different_checks_and_single_options_are_taken():
    args = build_parser("gate").parse_args(["gate", IMPL, "--check", "dynamics", "--check", "invariance",
                                            "--seed", "3"])
    assert args.checks == ["dynamics", "invariance"] and args.seed == 3 and args.repeats == 16
    assert build_parser("gate").parse_args(["gate", IMPL, "--quick"]).quick is True
    assert build_parser("gate").parse_args(["gate", IMPL]).quick is False


# ----------------------------------------------------------------------------- how long, said twice


def _help_minutes(text: str, mode: str) -> float:
    """The "about N minute(s) at most" the help text gives for ``mode`` ("--quick" or "the default mode")."""
    m = re.search(re.escape(mode) + r"[^;.]*?about (\w+) minutes? at most", text)
    assert m, f"no 'about N minutes at most' for {mode} in: {text}"
    words = {"one": 1, "a": 1, "two": 2, "three": 3, "four": 4, "five": 5}
    return float(words.get(m.group(1), m.group(1)))


def _readme_gate_seconds(readme: str) -> dict[str, list[float]]:
    """Seconds measured in the README's gate section, per mode, from its table's rows
    ``| example | default mode | --quick |``."""
    section = readme.split("## The regression gate for other implementations", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in section.splitlines() if r.startswith("| `") and " s" in r]
    out = {"default": [], "quick": []}
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        for mode, cell in zip(("default", "quick"), cells[1:3]):
            out[mode] += [float(x) for x in re.findall(r"(\d+(?:\.\d+)?) s\b", cell)]
    return out


def test_the_help_and_the_readme_give_the_same_times(capsys):
    assert verify_main(["gate", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    measured = _readme_gate_seconds((REPO / "README.md").read_text(encoding="utf-8"))
    assert measured["quick"] and measured["default"], "the README's gate section gives measured times"
    assert max(measured["quick"]) <= 60 * _help_minutes(text, "--quick")
    assert max(measured["default"]) <= 60 * _help_minutes(text, "the default mode")


def test_a_help_text_that_promises_less_than_measured_is_caught():
    # negative control on synthetic texts: 2 minutes at most, 150 s measured
    help_text = "--quick about 1 minute at most; the default mode about 2 minutes at most"
    readme = ("## The regression gate for other implementations\n\n| example | default mode | `--quick` |\n"
              "|---|---|---|\n| `x:Y` | 150 s, PASS | 20 s, PASS |\n\n## Next\n")
    measured = _readme_gate_seconds(readme)
    assert measured == {"default": [150.0], "quick": [20.0]}
    assert max(measured["default"]) > 60 * _help_minutes(help_text, "the default mode")
    with pytest.raises(AssertionError, match="no 'about N minutes at most'"):
        _help_minutes("--quick: up to 2 minutes", "--quick")
