"""Gradient descent from Theorem 3.1's stationary point: it stays on the plateau, and leaves it
when kicked along the unstable direction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from verify.simulate.descent import gradient_descent

from .path import _check_d, _check_n, construction, path_loss, reference_table, stationary_radius_reference

__all__ = ["PlateauRun", "plateau_run"]


@dataclass
class PlateauRun:
    """Gradient descent from the construction (``kick`` = 0) or kicked along ``direction``.

    ``loss``: recorded losses; ``loss_star``: L(s*); ``max_deviation``:
    max |loss - loss_star| over the run.
    """

    n: int
    d: int
    eta: float
    steps: int
    kick: float
    loss_star: float
    loss: np.ndarray
    max_deviation: float
    final_loss: float


def plateau_run(n: int, *, d: int = 2, eta: float = 0.1, steps: int = 300, kick: float = 0.0,
                direction=None, record_every: int = 10) -> PlateauRun:
    """Gradient descent on the scaled means (t = 0, mu* = 0) from the construction, with the
    engine's exact gradient (:func:`verify.simulate.descent.gradient_descent`).

    ``direction`` (n x d, normalised here) defaults to the symmetric-path
    direction (e_1, -e_1, 0, ..), a Hessian eigenvector with eigenvalue
    L''(s*)/2 < 0.
    """
    n = _check_n(n)
    d = _check_d(d)
    s = float(stationary_radius_reference(n))
    a0 = np.array(construction(n, s, d), dtype=np.float64)
    if direction is None:
        direction = np.zeros((n, d))
        direction[0, 0], direction[1, 0] = 1.0, -1.0
    direction = np.asarray(direction, dtype=np.float64).reshape(n, d)
    direction = direction / np.linalg.norm(direction)
    start = a0 + kick * direction
    loss_star = float(reference_table()[n]["loss"]) if n in reference_table() else float(path_loss(s, n, dps=30))
    traj = gradient_descent(start, np.zeros(d), 0.0, eta, steps, convention="scaled", record_every=record_every)
    losses = np.asarray(traj.loss, dtype=np.float64)
    return PlateauRun(n=n, d=d, eta=eta, steps=steps, kick=kick, loss_star=loss_star, loss=losses,
                      max_deviation=float(np.abs(losses - loss_star).max()), final_loss=float(losses[-1]))
