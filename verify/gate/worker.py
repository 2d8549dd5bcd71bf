"""Calls into the implementation under test in a worker process, each with a time limit.

A call that runs past its limit cannot be stopped inside the gate's own process (a thread
cannot be interrupted in foreign code), so the implementation runs in a child process that the
gate kills and restarts when a call overruns: the gate then reports that call as timed out,
with the time spent, and goes on.  The child imports the implementation from its ``MODULE:ATTR``
spec (the ``spawn`` start method: a clean interpreter, safe beside the progress thread) and
answers one call at a time over a pipe.

The worker only transports calls: every result is validated by
:class:`verify.gate.protocol.Bound` in the gate's process, exactly as for an in-process call.
"""

from __future__ import annotations

import multiprocessing
import signal
import time
import traceback

__all__ = ["CallTimedOut", "Worker", "WorkerFailed", "start_worker"]

#: how long the child may take to start and import the implementation (seconds)
_START_LIMIT = 120.0


class CallTimedOut(Exception):
    """A call into the implementation ran past the gate's time limit and was stopped."""

    def __init__(self, what: str, limit: float, spent: float):
        super().__init__(f"{what} ran out of time: stopped after {spent:.1f} s (time limit {limit:g} s per call)")
        self.what = what
        self.limit = limit
        self.spent = spent


class WorkerFailed(Exception):
    """The worker process died or could not start (the message says why)."""


def _serve(conn, spec: str, stdout_to_stderr: bool = False) -> None:  # pragma: no cover - runs in the child process
    import os
    import sys

    from . import foreign
    from .protocol import LoadError, load_implementation

    if stdout_to_stderr:  # the gate's stdout carries its JSON only: the implementation's prints go to stderr,
        sys.stdout.flush()  # Python's and those of native code (file descriptor 1) alike
        os.dup2(2, 1)
        sys.stdout = sys.stderr

    # Ctrl-C is the gate's to handle (it stops this process): here it would print a traceback, or be
    # taken for the implementation's own KeyboardInterrupt, which is reported like any other failure
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        impl = load_implementation(spec)
    except LoadError as exc:
        conn.send(("load-error", str(exc)))
        return
    conn.send(("ready", None))
    obj = impl.obj
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        name, args, kwargs = request
        try:
            out = getattr(obj, name)(*args, **kwargs)
        except foreign.WORKER_FAILURES as exc:  # the foreign call's failure (sys.exit() included) goes to the gate
            frames = traceback.extract_tb(exc.__traceback__)[1:]  # without this frame
            tail = "".join(traceback.format_list(frames[-2:])) + "".join(
                traceback.format_exception_only(type(exc), exc))
            conn.send(("raised", (*foreign.describe(exc), tail)))
            continue
        try:
            conn.send(("ok", out))
        except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be pickled
            conn.send(("unsendable", f"{type(out).__name__} ({type(exc).__name__}: {exc})"))


class Worker:
    """The implementation ``spec`` in a child process; :meth:`call` with a time limit per call."""

    def __init__(self, spec: str, limit: float, stdout_to_stderr: bool = False):
        self.spec = spec
        self.limit = float(limit)
        self.stdout_to_stderr = bool(stdout_to_stderr)
        self.restarts = 0
        self._ctx = multiprocessing.get_context("spawn")
        self._proc = None
        self._conn = None
        self._start()

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        proc = self._ctx.Process(target=_serve, args=(child, self.spec, self.stdout_to_stderr),
                                 name="verify-gate-worker", daemon=True)
        proc.start()
        child.close()
        if not parent.poll(_START_LIMIT):
            proc.kill()
            proc.join()
            raise WorkerFailed(f"the worker process did not load {self.spec} within {_START_LIMIT:g} s")
        try:
            status, payload = parent.recv()
        except EOFError:
            proc.join()
            raise WorkerFailed(f"the worker process exited while loading {self.spec} "
                               f"(exit code {proc.exitcode})") from None
        if status != "ready":
            proc.join()
            raise WorkerFailed(f"the worker process could not load {self.spec}: {payload}")
        self._proc, self._conn = proc, parent

    def call(self, name: str, args: tuple, kwargs: dict, what: str):
        """``obj.name(*args, **kwargs)`` in the child: ``("ok", result)``, ``("raised", (type, message,
        traceback tail))`` or ``("unsendable", description)``; raises :class:`CallTimedOut` after the limit."""
        try:
            return self._call(name, args, kwargs, what)
        except KeyboardInterrupt:  # Ctrl-C: the worker ignores it, so stop it now, then stop the gate
            self._stop()
            raise

    def _call(self, name: str, args: tuple, kwargs: dict, what: str):
        start = time.monotonic()
        self._conn.send((name, args, kwargs))
        if not self._conn.poll(self.limit):
            spent = time.monotonic() - start
            self._restart()
            raise CallTimedOut(what, self.limit, spent)
        try:
            return self._conn.recv()
        except EOFError:
            self._proc.join(timeout=5)  # its exit code is known once it has been reaped
            code = self._proc.exitcode
            self._restart()
            return ("raised", ("WorkerDied", f"the process running the implementation died (exit code {code}; "
                                             f"os._exit(), a crash in native code, or out of memory)", ""))

    def _restart(self) -> None:
        self._stop()
        self.restarts += 1
        self._start()

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join()
            self._conn.close()
            self._proc = self._conn = None

    def close(self) -> None:
        """End the child: it returns when its pipe closes (killed if it does not within 5 s)."""
        if self._proc is None:
            return
        self._conn.close()
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._proc = self._conn = None


def start_worker(bound, time_limit: float, *, stdout_to_stderr: bool = False) -> None:
    """Run every call of ``bound`` (a :class:`verify.gate.protocol.Bound` loaded from its spec) in a worker
    process from now on, each stopped after ``time_limit`` seconds; ``bound.close()`` ends it.
    ``stdout_to_stderr``: what the implementation prints goes to stderr (``verify gate --json -``).
    Raises :class:`WorkerFailed` if the worker cannot load the implementation."""
    bound.worker = Worker(bound.spec, time_limit, stdout_to_stderr)
