"""``verify gate``'s output is what it says, and options that do not apply are refused.

* ``--json -``: stdout is the JSON document only, even when the implementation prints (at import,
  in every call, from Python and to file descriptor 1), in the gate's process (``--time-limit 0``)
  and in the worker; the header, table and verdict go to stderr.  Control: without ``--json -`` the
  table is on stdout as before;
* ``--generated`` without the generated_values check selected is refused before any work;
  ``--repeats``/``--seed`` with a deterministic implementation are refused after loading it, before
  any call; controls: the same options where they apply are taken;
* a row that compared nothing (an implementation that hangs in every call) and the yes/no
  dynamics[outcome] row print "-" (JSON: null), not an error of 0; controls: rows that compared
  something (INCOMPLETE ones included, and dynamics[trajectory]) print their numbers.
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

CHATTY = """
import os
import numpy as np
from verify.gate.examples.reference import implementation as _ref

print("chatty: imported")


def loss(mu, mu_star, t):
    print("chatty: loss called")
    os.write(1, b"chatty: native write\\n")
    return _ref.loss(mu, mu_star, t)


def grad(mu, mu_star, t):
    print("chatty: grad called")
    return _ref.grad(mu, mu_star, t)
"""


def _gate_process(tmp_path, *args):
    (tmp_path / "chatty_impl.py").write_text(textwrap.dedent(CHATTY), encoding="utf-8")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "verify", "gate", "chatty_impl", *QUICK, *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)


@pytest.mark.parametrize("time_limit", ["0", "60"], ids=["in-process", "worker"])
def test_json_to_stdout_is_only_json_even_when_the_implementation_prints(tmp_path, time_limit):
    proc = _gate_process(tmp_path, "--json", "-", "--time-limit", time_limit)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)  # the wrong output: the table and the implementation's prints before it
    assert doc["exit_status"] == 0 and doc["implementation"] == "chatty_impl"
    assert "chatty:" not in proc.stdout
    for words in ("chatty: imported", "chatty: loss called", "chatty: native write", "chatty: grad called",
                  "verify gate chatty_impl (deterministic", "reference_values[loss]", "PASS: all checks pass"):
        assert words in proc.stderr, proc.stderr


def test_without_json_to_stdout_the_table_stays_on_stdout(tmp_path):
    proc = _gate_process(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for words in ("verify gate chatty_impl (deterministic", "reference_values[loss]", "PASS: all checks pass"):
        assert words in proc.stdout, proc.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(proc.stdout)


@pytest.mark.parametrize(("argv", "words"), [
    ([IMPL, *QUICK, "--generated", "3"], "--generated sets the number of configurations of the generated_values "
                                         "check, which --check does not select"),
    ([SAMPLER, "--check", "invariance", "--generated", "3"], "--generated sets the number"),
    ([IMPL, *QUICK, "--repeats", "32"], "--repeats applies only to stochastic implementations; "
                                        f"{IMPL} is deterministic"),
    ([IMPL, *QUICK, "--seed", "0"], "--seed applies only to stochastic implementations"),  # the default, given
    ([IMPL, *QUICK, "--repeats", "32", "--seed", "5"], "--repeats and --seed apply only to stochastic"),
])
def test_options_that_do_not_apply_are_refused(refused, argv, words):
    refused(["gate", *argv], words)


def test_options_where_they_apply_are_taken(capsys):
    assert verify_main(["gate", IMPL, "--quick", "--check", "generated_values", "--generated", "1",
                        "--time-limit", "0"]) == 0
    assert "generated_values[loss]  1 " in capsys.readouterr().out
    assert verify_main(["gate", SAMPLER, "--quick", "--check", "reference_values", "--repeats", "3", "--seed", "7",
                        "--time-limit", "0"]) in (0, 1)  # judged (3 seeds: its noise may fail), not refused
    cap = capsys.readouterr()
    assert "(stochastic" in cap.out and "error:" not in cap.err, cap.err


HANGS = """
import time


def loss(mu, mu_star, t):
    time.sleep(600)


def grad(mu, mu_star, t):
    time.sleep(600)
"""


def _row_cells(out: str, name: str) -> list[str]:
    return next(ln for ln in out.splitlines() if ln.startswith(name + " ")).split()


def test_a_row_that_compared_nothing_prints_no_numbers(tmp_path, monkeypatch, capsys):
    """Every call runs out of time: the rows are INCOMPLETE with nothing compared (was: 0  0.00e+00  -)."""
    (tmp_path / "hangs_everywhere.py").write_text(HANGS, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))  # the worker process inherits it
    status = verify_main(["gate", "hangs_everywhere", *QUICK, "--time-limit", "1", "--json", str(tmp_path / "h.json")])
    out = capsys.readouterr().out
    assert status == 2, out
    for name in ("reference_values[loss]", "reference_values[grad]"):
        assert _row_cells(out, name)[1:5] == ["0", "-", "-", "INCOMPLETE"], out
    rows = json.loads((tmp_path / "h.json").read_text())["rows"]
    assert all(r["compared"] == 0 and r["worst_error"] is None and r["tolerance"] is None for r in rows), rows
    # control: INCOMPLETE rows that compared something (one configuration out of time) keep their numbers
    status = verify_main(["gate", "verify.gate.examples.broken:SlowAtN1", *QUICK, "--time-limit", "1",
                          "--json", str(tmp_path / "g.json")])
    out = capsys.readouterr().out
    assert status == 2, out
    cells = _row_cells(out, "reference_values[loss]")
    assert cells[4] == "INCOMPLETE" and "e-" in cells[2] and "e-" in cells[3], out
    judged = {r["name"]: r for r in json.loads((tmp_path / "g.json").read_text())["rows"]}["reference_values[loss]"]
    assert judged["compared"] > 0 and isinstance(judged["worst_error"], float)
    # and a row made by hand with nothing compared, as the table and the JSON give it
    row = checks.Row("reference_values", "loss", status="incomplete",
                     timeouts=[{"configuration": "x", "call": "loss", "seconds": 1.0, "time_limit": 1.0}])
    assert _row_cells(checks.format_rows([row]), "reference_values[loss]")[1:5] == ["0", "-", "-", "INCOMPLETE"]
    assert row.to_dict()["worst_error"] is None and row.to_dict()["tolerance"] is None


def test_the_dynamics_outcome_row_prints_no_error(capsys):
    assert verify_main(["gate", IMPL, "--quick", "--check", "dynamics", "--time-limit", "0"]) == 0
    lines = {ln.split()[0]: ln.split() for ln in capsys.readouterr().out.splitlines() if ln.startswith("dynamics[")}
    assert lines["dynamics[outcome]"][2:5] == ["-", "-", "pass"], lines  # was: 0.00e+00  0.00e+00
    assert lines["dynamics[trajectory]"][2] != "-" and "e" in lines["dynamics[trajectory]"][2], "control: numbers"
