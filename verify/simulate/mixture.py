"""Gradient descent against a mixture ground truth (:mod:`verify.engine.mixture`), and its outcome.

The descent runs through the one loop, :func:`verify.simulate.descent.gradient_descent`, with
:class:`MixtureGradient` as the source (either step convention).  The loop's ``mu_star`` is only
used for its recorded distances; :func:`mixture_descent` passes the mixture's mean and the source
records the distances to every component (``Trajectory.extra["component_distances"]``, recorded
steps x n x K, scaled).  :func:`recovery` reads the outcome: which components have a mean within
``radius`` of them at the end (recovered), none (missing) or several (duplicated).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verify.engine.mixture import mixture_expectations, reduce_mixture
from verify.engine.tolerances import gradient_scale
from verify.engine.validation import check_mixture, check_noise_level

from .descent import GradientSource, Record, Trajectory, gradient_descent

__all__ = ["MixtureGradient", "mixture_descent", "Recovery", "recovery", "recovery_at"]


class MixtureGradient(GradientSource):
    """The exact gradient of L_t against sum_k pi_k N(m*_k, I), with error estimates at every step."""

    def __init__(self, mu_stars, weights):
        _, self.mu_stars, self.weights = check_mixture(None, mu_stars, weights)  # no made-up mu to name

    def start(self, mu_star, t, tol):
        super().start(mu_star, t, tol)
        self._dist = []

    def at(self, step, mu, record):
        comps, _ = reduce_mixture(mu, self.mu_stars, self.weights, self.t)
        ex = mixture_expectations(comps, self.weights, tol=self.tol)
        self.nodes += ex.nodes
        self._ex = ex
        if not record:
            return None
        a = self.scale * (mu[:, None, :] - self.mu_stars[None, :, :])
        self._dist.append(np.linalg.norm(a, axis=2))
        G = np.asarray(ex.grad_scaled, dtype=float)
        gs = gradient_scale(G, float(ex.loss), ex.spread)
        return Record(float(ex.loss), float(ex.loss_err), float(np.max(ex.grad_scaled_err)) / gs if gs > 0 else 0.0)

    def gradient(self, mu):
        return np.asarray(self._ex.grad_scaled, dtype=float)

    def extra(self):
        return {"component_distances": np.array(self._dist)}


def mixture_descent(mu0, mu_stars, weights, t, eta, steps, **kwargs) -> Trajectory:
    """``steps`` steps of gradient descent on L_t against the mixture; keyword arguments as for
    :func:`verify.simulate.descent.gradient_descent` (``convention``, ``record_every``, ``record_at``,
    ``tol``, ``callback``)."""
    check_mixture(mu0, mu_stars, weights, "mu0")  # named as passed (the loop would compare mu0 with the centre)
    source = MixtureGradient(mu_stars, weights)
    centre = source.weights @ source.mu_stars
    return gradient_descent(mu0, centre, check_noise_level(t), eta, steps, source=source, **kwargs)


@dataclass
class Recovery:
    recovered: int  # components with exactly one mean within the radius
    missing: int  # components with none
    duplicated: int  # components with several
    stray: int  # means near no component
    outcome: str  # "all_recovered", "missing", "duplicated" or "missing_and_duplicated"
    nearest: np.ndarray  # (K,) distance from each component to its nearest mean (scaled)


def recovery(run: Trajectory, radius: float) -> Recovery:
    """The outcome at the end of a run (module doc); ``radius`` in scaled units."""
    return recovery_at(run.extra["component_distances"][-1], radius)


def recovery_at(D: np.ndarray, radius: float) -> Recovery:
    """The outcome for the scaled distances D (n x K) of the means to the components."""
    near = D <= radius
    per = near.sum(axis=0)
    missing, dup = int((per == 0).sum()), int((per > 1).sum())
    outcome = ("all_recovered" if not missing and not dup else "missing" if not dup else
               "duplicated" if not missing else "missing_and_duplicated")
    return Recovery(int((per == 1).sum()), missing, dup, int((~near.any(axis=1)).sum()), outcome, D.min(axis=0))
