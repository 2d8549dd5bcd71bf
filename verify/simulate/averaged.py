"""Gradient descent on the time-averaged loss L_bar (:mod:`verify.engine.time_average`).

L_bar is a function of the unscaled means mu (the only parameters shared across noise levels),
so its descent is the unscaled update mu <- mu - eta dL_bar/dmu.  It runs through the one loop,
:func:`verify.simulate.descent.gradient_descent`, with :class:`AveragedGradient` as the gradient
source, at t = 0 with ``convention="unscaled"``: there the loop's factor e^{-t} is 1, the scaled
and unscaled coordinates coincide, and the recorded distances are |mu_i - mu*|.  The recorded
``loss`` is L_bar and ``grad_rel_err`` its gradient's error relative to the averaged gradient
scale.

Like :class:`verify.simulate.descent.ExactGradient`, a full evaluation with error estimates is
made at every recorded step and at least every ``verify_every`` steps; the steps in between
reuse its rule in t and the engine's plan at each node, without estimates.

``watch(step, mu, record)``, if given, is called at every step before the engine is asked for its
gradient there; it ends the run by raising (the average study's blow-up check,
:mod:`verify.explore.average`: the engine is not asked at a mean already thrown out).
"""

from __future__ import annotations

import numpy as np

from verify.engine.time_average import averaged_expectations, check_window, weighting_function
from verify.engine.validation import check_int

from .descent import GradientSource, Record, Trajectory, gradient_descent

__all__ = ["AveragedGradient", "averaged_descent"]


class AveragedGradient(GradientSource):
    """dL_bar/dmu over [t_min, t_max] with a weighting (names as in :mod:`verify.engine.time_average`)."""

    convention = "unscaled"

    def __init__(self, t_min, t_max, weighting="uniform", verify_every: int = 50, watch=None):
        self.t_min, self.t_max = check_window(t_min, t_max)
        self.weighting = weighting
        self.lam = weighting_function(weighting, self.t_min, self.t_max)
        self.verify_every = check_int(verify_every, "verify_every", 1)
        if watch is not None and not callable(watch):
            raise ValueError(f"watch must be callable, got {type(watch).__name__}")
        self.watch = watch

    def start(self, mu_star, t, tol):
        if t != 0:
            raise ValueError(f"t must be 0 with the time-averaged gradient (its coordinates are the unscaled means), "
                             f"got {t!r}")
        super().start(mu_star, t, tol)
        self._rule, self._since = None, 0

    def at(self, step, mu, record):
        if self.watch is not None:
            self.watch(step, mu.copy(), record)
        full = record or self._rule is None or self._since >= self.verify_every
        out = averaged_expectations(mu, self.mu_star, self.t_min, self.t_max, self.lam, tol=self.tol,
                                    rule=None if full else self._rule)
        self.nodes += out.nodes
        if full:
            self._rule, self._since = out.rule, 0
        self._since += 1
        self._out = out
        if not record:
            return None
        gerr = float(np.max(out.grad_err)) / float(out.scale) if out.scale > 0 else 0.0
        return Record(float(out.loss), float(out.loss_err), gerr)

    def gradient(self, mu):
        return np.asarray(self._out.grad, dtype=float)  # dL_bar/dmu; at t = 0 the loop's factor is eta


def averaged_descent(mu0, mu_star, t_min, t_max, eta, steps, *, weighting="uniform", verify_every: int = 50,
                     watch=None, **kwargs) -> Trajectory:
    """``steps`` steps of mu <- mu - eta dL_bar/dmu (module doc, also for ``watch``); the other
    keyword arguments (``record_every``, ``record_at``, ``tol``, ``callback``) are those of
    :func:`verify.simulate.descent.gradient_descent`."""
    source = AveragedGradient(t_min, t_max, weighting, verify_every, watch)
    run = gradient_descent(mu0, mu_star, 0.0, eta, steps, convention="unscaled", source=source, **kwargs)
    run.extra.update({"t_min": source.t_min, "t_max": source.t_max,
                      "weighting": weighting if isinstance(weighting, str) else "callable"})
    return run
