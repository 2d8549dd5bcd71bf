"""The gate when the implementation's code exits, interrupts or dies instead of raising an error.

``SystemExit`` and ``GeneratorExit`` are not ``Exception``s: uncaught, a ``sys.exit(0)`` inside
``loss`` ended the gate with exit status 0 and no verdict, which CI reads as a pass.  Each is
the implementation failing (exit status 2), in the gate's own process (``--time-limit 0``), in
the worker, at import and in the constructor.  A ``KeyboardInterrupt`` in the gate's own process
(indistinguishable from Ctrl-C) and a real Ctrl-C stop the gate with one line and exit status
130; in the worker, which ignores Ctrl-C, the implementation's own ``KeyboardInterrupt`` is
reported by name.  The negative controls (a well-behaved implementation passes) are in
tests/test_gate.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from verify.cli import main as verify_main

REPO = Path(__file__).resolve().parents[1]
QUICK = ["--quick", "--check", "reference_values"]


def _module(tmp_path, monkeypatch, name: str, body: str) -> str:
    """A module ``name`` on sys.path (the worker process inherits it) with ``body``; returns ``name``."""
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


@pytest.mark.parametrize("time_limit", ["0", "60"], ids=["in-process", "worker"])
def test_sys_exit_in_a_call_is_the_implementation_failing_not_a_pass(capfd, time_limit):
    status = verify_main(["gate", "verify.gate.examples.broken:Exits", *QUICK, "--time-limit", time_limit])
    out, err = capfd.readouterr()
    assert status == 2, out + err
    assert "Exits.loss(mu, mu_star, t) raised SystemExit(0): the implementation's code called sys.exit()" in out
    assert "ERROR: the implementation could not be used (exit status 2" in out
    assert "Traceback" not in err and "WorkerDied" not in out, err


@pytest.mark.parametrize("code", ["sys.exit(0)", "raise GeneratorExit"])
def test_an_import_or_a_constructor_that_exits_cannot_load(tmp_path, monkeypatch, capsys, code):
    name = _module(tmp_path, monkeypatch, f"exits_on_import_{abs(hash(code))}", f"import sys\n{code}\n")
    assert verify_main(["gate", f"{name}:x", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"cannot load {name}:x: importing '{name}' raised" in err, err
    ctor = _module(tmp_path, monkeypatch, f"exits_in_init_{abs(hash(code))}", f"""
        import sys

        class Impl:
            def __init__(self):
                {code}

            def loss(self, mu, mu_star, t):
                return 0.0

            def grad(self, mu, mu_star, t):
                return mu * 0.0
        """)
    assert verify_main(["gate", f"{ctor}:Impl", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "instantiating it without arguments raised" in err, err
    assert ("SystemExit(0)" if "exit" in code else "GeneratorExit") in err


def test_keyboard_interrupt_in_the_gates_own_process_stops_it_with_one_line(capsys):
    status = verify_main(["gate", "verify.gate.examples.broken:Interrupts", *QUICK, "--time-limit", "0"])
    cap = capsys.readouterr()
    assert status == 130
    assert cap.err.endswith("verify gate: interrupted\n") and "Traceback" not in cap.err, cap.err
    assert "PASS" not in cap.out


def test_the_implementations_keyboard_interrupt_in_the_worker_is_reported_by_name(capfd):
    status = verify_main(["gate", "verify.gate.examples.broken:Interrupts", *QUICK])
    out, err = capfd.readouterr()
    assert status == 2, out + err
    assert "Interrupts.loss(mu, mu_star, t) raised KeyboardInterrupt: raised by the implementation's own code" in out
    assert "Traceback" not in err and "WorkerDied" not in out, err


def test_a_worker_that_dies_reports_its_exit_code(tmp_path, monkeypatch, capfd):
    name = _module(tmp_path, monkeypatch, "dies_in_loss", """
        import os

        class Impl:
            def loss(self, mu, mu_star, t):
                os._exit(7)

            def grad(self, mu, mu_star, t):
                return mu * 0.0
        """)
    assert verify_main(["gate", f"{name}:Impl", *QUICK]) == 2
    out = capfd.readouterr().out
    assert "raised WorkerDied: the process running the implementation died (exit code 7;" in out, out


def test_ctrl_c_during_a_call_in_the_worker_is_one_line_and_exit_130(tmp_path):
    """A real Ctrl-C (SIGINT to the process group, as a terminal sends it) while the worker is inside
    the implementation: before, the worker printed its own KeyboardInterrupt traceback."""
    # the gate computes its reference values with the compiled engine: compile it here first, or in a
    # fresh clone the child spends its first ~40-90 s compiling, where a signal waits (a CI failure)
    from verify.engine import reference
    reference.warm_up()
    (tmp_path / "sleeps_in_loss.py").write_text(textwrap.dedent("""
        import time

        class Impl:
            def loss(self, mu, mu_star, t):
                time.sleep(120)

            def grad(self, mu, mu_star, t):
                return mu * 0.0
        """), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "verify", "gate", "sleeps_in_loss:Impl", *QUICK],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        first = proc.stderr.readline()  # the check has started: the worker is up and about to be called
        assert first.startswith("[1/1] reference_values"), first
        time.sleep(1.0)
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, out + err
    assert err.strip() == "verify gate: interrupted" and "Traceback" not in err, err
