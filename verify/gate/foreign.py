"""What the implementation's own code may raise, and how the gate names it.

The gate reports every way a call into the implementation can end without a result as that
implementation failing (exit status 2), never as the gate ending: an ordinary exception, and
also ``SystemExit`` (``sys.exit()`` in a library function) and ``GeneratorExit``.  Those two
derive from ``BaseException`` only, so ``except Exception`` lets them through; uncaught, a
``sys.exit(0)`` inside ``loss`` ended the whole gate with exit status 0 and no verdict.

``KeyboardInterrupt`` is the one exception left alone in the gate's own process: there it
cannot be told apart from the user's Ctrl-C, which stops the gate (``verify gate: interrupted``,
exit status 130).  In the worker process (:mod:`verify.gate.worker`), which ignores Ctrl-C,
a ``KeyboardInterrupt`` can only come from the implementation's code and is reported as such.
"""

from __future__ import annotations

__all__ = ["FAILURES", "WORKER_FAILURES", "describe"]

#: what a call into the implementation may raise in the gate's own process and still be
#: reported as the implementation failing (everything but KeyboardInterrupt: see above)
FAILURES = (Exception, SystemExit, GeneratorExit)

#: the same in the worker process, where Ctrl-C is ignored: everything
WORKER_FAILURES = FAILURES + (KeyboardInterrupt,)


def describe(exc: BaseException) -> tuple[str, str]:
    """``(kind, message)`` for an exception raised by the implementation: the gate prints
    ``<call> raised <kind>: <message>``."""
    if isinstance(exc, SystemExit):
        return (f"SystemExit({exc.code!r})",
                "the implementation's code called sys.exit(); the gate counts that as a failure, whatever the code")
    if isinstance(exc, KeyboardInterrupt):
        return "KeyboardInterrupt", "raised by the implementation's own code (the gate's worker ignores Ctrl-C)"
    if isinstance(exc, GeneratorExit):
        return "GeneratorExit", str(exc) or "raised outside a generator's close()"
    return type(exc).__name__, str(exc)
