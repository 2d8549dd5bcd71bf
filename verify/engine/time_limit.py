"""A time limit on engine work: a run that would take too long stops with a clear exception.

``with time_limit(600): ...`` sets a deadline for the code inside (the current thread and
context only); the engine calls :func:`check_time` before each batch of integrand evaluations
(and the descent loop before each step), which raises :class:`TimeLimitExceeded` once the
deadline has passed.  ``verify report`` runs each claim inside such a limit and turns the
exception into an ``inconclusive`` verdict with the time spent and the estimated cost, instead
of leaving the user waiting.

:class:`TimeLimitExceeded` is deliberately not an :class:`~verify.engine.tolerances.AccuracyError`
(nor a ValueError): code that skips a point the engine cannot certify must not skip past a
spent time limit and go on computing.  Limits nest; the earliest deadline wins.
"""

from __future__ import annotations

import contextlib
import contextvars
import time

__all__ = ["TimeLimitExceeded", "time_limit", "check_time", "deadline"]

_DEADLINE: contextvars.ContextVar = contextvars.ContextVar("verify_engine_deadline", default=None)


class TimeLimitExceeded(Exception):
    """The time limit of the enclosing :func:`time_limit` has passed (``limit`` and ``spent`` in seconds)."""

    def __init__(self, limit: float, spent: float):
        super().__init__(f"time limit of {limit:.0f} s reached after {spent:.0f} s")
        self.limit = limit
        self.spent = spent


@contextlib.contextmanager
def time_limit(seconds: float | None):
    """Run the body with a deadline ``seconds`` from now (None or 0: no limit of its own)."""
    if not seconds:
        yield
        return
    start = time.monotonic()
    mine = (start + float(seconds), float(seconds), start)
    outer = _DEADLINE.get()
    token = _DEADLINE.set(mine if outer is None or mine[0] < outer[0] else outer)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def check_time() -> None:
    """Raise :class:`TimeLimitExceeded` if the enclosing time limit has passed (cheap: call it often)."""
    limit = _DEADLINE.get()
    if limit is not None:
        now = time.monotonic()
        if now > limit[0]:
            raise TimeLimitExceeded(limit[1], now - limit[2])


def deadline() -> float | None:
    """Seconds left before the enclosing time limit (None without one)."""
    limit = _DEADLINE.get()
    return None if limit is None else limit[0] - time.monotonic()
