"""``verify gate``'s output is what it says, and options that do not apply are refused.

* a row that compared nothing (every call ran out of time) and the yes/no dynamics[outcome] row
  print "-", not an error of 0; control: a row that compared something prints its numbers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from verify.cli import main as verify_main
from verify.gate import checks

REPO = Path(__file__).resolve().parents[1]
IMPL = "verify.gate.examples.reference:implementation"
SAMPLER = "verify.gate.examples.sampler:SampleImplementation"
QUICK = ["--quick", "--check", "reference_values"]


def test_a_row_that_compared_nothing_prints_no_numbers(tmp_path, capsys):
    status = verify_main(["gate", "verify.gate.examples.broken:SlowAtN1", "--quick", "--check", "reference_values",
                          "--time-limit", "1", "--json", str(tmp_path / "g.json")])
    capsys.readouterr()
    assert status == 2
    doc = json.loads((tmp_path / "g.json").read_text())
    # a row judged nowhere, made by hand from the same run: every configuration out of time
    row = checks.Row("reference_values", "loss", status="incomplete",
                     timeouts=[{"configuration": "x", "call": "loss", "seconds": 1.0, "time_limit": 1.0}])
    line = next(ln for ln in checks.format_rows([row]).splitlines() if ln.startswith("reference_values[loss]"))
    assert line.split()[1:5] == ["0", "-", "-", "INCOMPLETE"], line  # was: 0  0.00e+00  -
    assert row.to_dict()["worst_error"] is None and row.to_dict()["tolerance"] is None
    # control: the rows of the run compared something and print their numbers
    judged = {r["name"]: r for r in doc["rows"]}["reference_values[loss]"]
    assert judged["compared"] > 0 and isinstance(judged["worst_error"], float)


def test_the_dynamics_outcome_row_prints_no_error(capsys):
    assert verify_main(["gate", IMPL, "--quick", "--check", "dynamics", "--time-limit", "0"]) == 0
    lines = {ln.split()[0]: ln.split() for ln in capsys.readouterr().out.splitlines() if ln.startswith("dynamics[")}
    assert lines["dynamics[outcome]"][2:5] == ["-", "-", "pass"], lines  # was: 0.00e+00  0.00e+00
    assert lines["dynamics[trajectory]"][2] != "-" and "e" in lines["dynamics[trajectory]"][2], "control: numbers"
