"""The pytest plugin: ``pytest --verify-impl MODULE:ATTR`` runs the gate's checks as test items.

Each test runs pytest in a fresh process in an empty directory, as a project
using the gate in its own CI would.  The plugin comes from the ``pytest11``
entry point when ``verify`` is installed; otherwise it is loaded with ``-p``.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from verify.gate.checks import CHECKS

REPO = Path(__file__).resolve().parent.parent


def _entry_point_installed() -> bool:
    return any(ep.name == "verify_gate" and ep.value == "verify.gate.plugin"
               for ep in importlib.metadata.entry_points(group="pytest11"))


def _pytest(tmp_path, *args, timeout=300):
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header", "-rN"]
    if not _entry_point_installed():
        cmd += ["-p", "verify.gate.plugin"]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(cmd + list(args), cwd=tmp_path, capture_output=True, text=True, timeout=timeout, env=env)
    return proc.returncode, proc.stdout + proc.stderr


def test_reference_passes_as_test_items(tmp_path):
    rc, out = _pytest(tmp_path, "--verify-impl", "verify.gate.examples.reference:implementation", "--verify-quick")
    assert rc == 0, out
    assert f"{len(CHECKS)} passed" in out, out  # one item per check, the optional objectives' included


def test_wrong_variant_fails_with_the_table_not_a_traceback(tmp_path):
    rc, out = _pytest(tmp_path, "--verify-impl", "verify.gate.examples.wrong:HalfLoss", "--verify-quick",
                      "--verify-check", "reference_values", "--verify-check", "self_consistency")
    assert rc == 1, out
    assert "1 failed, 1 passed" in out, out
    assert "reference_values[loss]" in out and "FAIL" in out and "expected:" in out, out
    assert "Traceback" not in out, out


def test_unloadable_implementation_is_a_usage_error(tmp_path):
    rc, out = _pytest(tmp_path, "--verify-impl", "verify.gate.examples.broken:MissingGrad")
    assert rc == 4, out  # pytest's exit status for usage errors
    assert "cannot load" in out and "has no callable grad" in out, out


def test_implementation_that_raises_fails_the_item_with_the_message(tmp_path):
    rc, out = _pytest(tmp_path, "--verify-impl", "verify.gate.examples.broken:Raises", "--verify-quick",
                      "--verify-check", "reference_values")
    assert rc == 1, out
    assert "raised IndexError" in out and "mu = np.array(" in out, out


def test_plugin_is_silent_without_the_option(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_x():\n    assert True\n")
    rc, out = _pytest(tmp_path)
    assert rc == 0 and "1 passed" in out, out
    assert "verify_gate" not in out


@pytest.mark.parametrize(("args", "words"), [
    (["--verify-quick"], "--verify-quick applies only with --verify-impl MODULE:ATTR"),
    (["--verify-check", "dynamics"], "--verify-check applies only with --verify-impl"),
    (["--verify-quick", "--verify-check", "dynamics"], "--verify-quick and --verify-check apply only with"),
])
def test_a_gate_option_without_the_implementation_is_a_usage_error(tmp_path, args, words):
    """It was ignored: the project's own tests ran and passed as if the gate had been asked for nothing."""
    (tmp_path / "test_x.py").write_text("def test_x():\n    assert True\n")
    rc, out = _pytest(tmp_path, *args)
    assert rc == 4, out  # pytest's exit status for usage errors
    assert words in out and "Traceback" not in out and "1 passed" not in out, out
    assert sum(words in line for line in out.splitlines()) == 1, "one line"


def test_own_tests_and_gate_items_run_together(tmp_path):
    """A project's own tests still run; ``-k verify_gate`` selects only the gate's items."""
    (tmp_path / "test_x.py").write_text("def test_x():\n    assert True\n")
    rc, out = _pytest(tmp_path, "--verify-impl", "verify.gate.examples.reference:implementation", "--verify-quick",
                      "--verify-check", "reference_values", "-k", "verify_gate")
    assert rc == 0 and "1 passed, 1 deselected" in out, out


@pytest.mark.skipif(not _entry_point_installed(), reason="verify is not installed (no pytest11 entry point)")
def test_entry_point_declared():
    eps = [ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "verify_gate"]
    assert eps and eps[0].load().__name__ == "verify.gate.plugin"


def test_a_check_given_twice_is_a_usage_error(tmp_path):
    rc, out = _pytest(tmp_path, "--verify-impl", "verify.gate.examples.reference:implementation",
                      "--verify-check", "reference_values", "--verify-check", "reference_values")
    assert rc == 4, out
    assert "--verify-check 'reference_values' given twice" in out, out


def test_an_implementation_that_calls_sys_exit_fails_its_item(tmp_path):
    rc, out = _pytest(tmp_path, "--verify-impl", "verify.gate.examples.broken:Exits", "--verify-quick",
                      "--verify-check", "reference_values")
    assert rc == 1, out
    assert "1 failed" in out and "raised SystemExit(0)" in out, out
