"""Implementations the gate cannot use (exit status 2) or that return NaN (exit status 1).

For the gate's own tests and as examples of its messages::

    verify gate verify.gate.examples.broken:Raises        # a call raises -> 2
    verify gate verify.gate.examples.broken:WrongShape    # grad transposed -> 2
    verify gate verify.gate.examples.broken:Float32       # float32 results -> 2
    verify gate verify.gate.examples.broken:Exits         # loss calls sys.exit(0) -> 2, never a pass
    verify gate verify.gate.examples.broken:Interrupts    # loss raises KeyboardInterrupt -> 2 (130 with --time-limit 0)
    verify gate verify.gate.examples.broken:MissingGrad   # no grad method -> 2
    verify gate verify.gate.examples.broken:NaNAtHuge     # NaN at huge coordinates -> 1 (a wrong answer)
    verify gate verify.gate.examples.broken:SlowAtN1 --time-limit 1   # out of time at n = 1 -> 2 (incomplete)
    verify gate verify.gate.examples.broken:nonexistent   # missing attribute -> 2
    verify gate verify.gate.examples.no_such_module:x     # not importable -> 2
"""

from __future__ import annotations

import numpy as np

from .reference import evaluate_cached

__all__ = ["Raises", "WrongShape", "Float32", "Exits", "Interrupts", "MissingGrad", "NotCallable", "NaNAtHuge",
           "SlowAtN1", "NoSeed", "NeedsArguments"]


class _Ref:
    def loss(self, mu, mu_star, t):
        return float(evaluate_cached(mu, mu_star, t).loss)

    def grad(self, mu, mu_star, t):
        return np.array(evaluate_cached(mu, mu_star, t).grad)


class Raises(_Ref):
    """grad raises for n >= 3 (a fixed-size buffer)."""

    def grad(self, mu, mu_star, t):
        if len(mu) >= 3:
            raise IndexError("index 2 is out of bounds for axis 0 with size 2")
        return super().grad(mu, mu_star, t)


class WrongShape(_Ref):
    """grad returns the transpose, (d, n)."""

    def grad(self, mu, mu_star, t):
        return super().grad(mu, mu_star, t).T.copy()


class Float32(_Ref):
    """Computes in single precision."""

    def loss(self, mu, mu_star, t):
        return np.float32(super().loss(mu, mu_star, t))

    def grad(self, mu, mu_star, t):
        return super().grad(mu, mu_star, t).astype(np.float32)


class Exits(_Ref):
    """loss calls ``sys.exit(0)`` (as a script's error path might): the call failed, so the gate says
    ERROR (exit status 2); before, the exit status 0 of the whole gate read as a pass."""

    def loss(self, mu, mu_star, t):
        import sys

        sys.exit(0)


class Interrupts(_Ref):
    """loss raises ``KeyboardInterrupt`` itself.  In the worker process (the default), which ignores
    Ctrl-C, that is the implementation failing (exit status 2); with ``--time-limit 0`` the call runs
    in the gate's own process, where it cannot be told from the user's Ctrl-C and stops the gate
    (``interrupted``, exit status 130)."""

    def loss(self, mu, mu_star, t):
        raise KeyboardInterrupt


class MissingGrad:
    """Has a loss but no grad."""

    def loss(self, mu, mu_star, t):
        return 0.0


class NotCallable:
    """grad is an attribute, not a method."""

    grad = np.zeros((1, 1))

    def loss(self, mu, mu_star, t):
        return 0.0


class NaNAtHuge(_Ref):
    """Right, except NaN where a coordinate exceeds 1e7 (an overflowing exp, say): a wrong answer."""

    def loss(self, mu, mu_star, t):
        if np.max(np.abs(mu)) > 1e7:
            return float("nan")
        return super().loss(mu, mu_star, t)

    def grad(self, mu, mu_star, t):
        g = super().grad(mu, mu_star, t)
        if np.max(np.abs(mu)) > 1e7:
            g[:] = np.nan
        return g


class SlowAtN1(_Ref):
    """Right, but each call with a single mean (n = 1) takes ``DELAY`` seconds: with a shorter
    ``--time-limit`` those calls are stopped, reported, and the other configurations still judged."""

    DELAY = 4.0

    def loss(self, mu, mu_star, t):
        self._wait(mu)
        return super().loss(mu, mu_star, t)

    def grad(self, mu, mu_star, t):
        self._wait(mu)
        return super().grad(mu, mu_star, t)

    def _wait(self, mu):
        if len(mu) == 1:
            import time

            time.sleep(self.DELAY)


class NoSeed(_Ref):
    """Claims to be stochastic but takes no seed."""

    stochastic = True


class NeedsArguments(_Ref):
    """A class that cannot be instantiated without arguments."""

    def __init__(self, samples):
        self.samples = samples
