"""Gradient descent on the population loss L_t with the exact gradient.

Two step conventions (CLAIMS.md: which one the paper uses is not certain):

* ``convention="scaled"`` (the notes' update, on the scaled means m_i = e^{-t} mu_i):
      m_i <- m_i - eta * dL_t/dm_i,   i.e.  mu_i <- mu_i - eta * e^{t} * dL_t/dm_i;
* ``convention="unscaled"`` (on the learnable parameters mu_i themselves):
      mu_i <- mu_i - eta * dL_t/dmu_i = mu_i - eta * e^{-t} * dL_t/dm_i.

They differ by the factor e^{2t} in the effective step.

Accuracy along the run: the gradient is computed by :mod:`verify.expectation`.
At every recorded step (and at least every ``verify_every`` steps) a full
evaluation with an error estimate is made and its quadrature rule kept; the
steps in between reuse that rule without re-estimating (the same nodes at a
configuration that moved by at most ``verify_every`` small steps), and the
rule is dropped as soon as the geometry outgrows it.  The recorded loss
errors (``Trajectory.loss_err``, ``Trajectory.grad_rel_err``) are the
evidence of the run's accuracy.

Outcome of a run (:func:`classify`), on the scaled distances r_i(tau) = |m_i - m*|
over the recorded steps:

* mean i **converges** if r_i at the end is at most ``conv_radius`` and r_i
  did not increase over the last half of the run (up to ``slack``);
* mean i **diverges** (runs away) if r_i increased monotonically (up to
  ``slack``) over the last half of the run and ends farther than it started
  and farther than ``div_radius``;
* **survivors**: the number of converging means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from verify.engine.expectation import population_expectations, reduce_float
from verify.engine.validation import check_int, check_means, check_noise_level, check_step, check_step_numbers, check_tol

__all__ = ["gradient_descent", "Trajectory", "classify", "Outcome", "CONVENTIONS"]

CONVENTIONS = ("scaled", "unscaled")


@dataclass
class Trajectory:
    steps: np.ndarray  # recorded iteration numbers
    loss: np.ndarray  # L_t at those steps
    loss_err: np.ndarray  # its absolute error estimate
    grad_rel_err: np.ndarray  # normwise relative error estimate of the gradient at those steps
    distances: np.ndarray  # (len(steps), n): |m_i - m*| (scaled)
    mu_history: np.ndarray  # (len(steps), n, d): unscaled means
    mu: np.ndarray  # final unscaled means (after the last step)
    mu_star: np.ndarray
    eta: float
    t: float
    convention: str
    stopped: str = ""  # why the run ended early ("" when it ran all its steps)
    nodes: int = 0  # integrand evaluations in all
    extra: dict = field(default_factory=dict)



def gradient_descent(
    mu0,
    mu_star,
    t,
    eta,
    steps,
    *,
    convention: str = "scaled",
    record_every: int | None = None,
    record_at=None,
    tol: float = 1e-10,
    verify_every: int = 50,
    grad_fn=None,
    callback=None,
) -> Trajectory:
    """Run ``steps`` steps of gradient descent on L_t from ``mu0``.

    Recorded steps: every ``record_every``-th step (default 1), or the step
    numbers in ``record_at`` (any iterable of integers in [0, steps], e.g. a
    logarithmic grid); not both.  Step 0 and the last step are always recorded.

    ``grad_fn(mu, mu_star, t) -> dL/dmu`` replaces the exact gradient (for
    checking another implementation's dynamics); the reference is then
    evaluated only at the recorded steps, for the recorded loss.
    ``callback(step, mu)`` is called at each recorded step; if it returns True
    the run stops there.
    """
    mu, mu_star = check_means(mu0, mu_star)
    mu = mu.copy()
    t = check_noise_level(t)
    eta = check_step(eta)
    steps = check_int(steps, "steps", 0)
    if record_at is not None:
        if record_every is not None:
            raise ValueError("give record_every or record_at, not both")
        wanted = check_step_numbers(record_at, "record_at", last=steps)
    else:
        record_every = check_int(1 if record_every is None else record_every, "record_every", 1)
    verify_every = check_int(verify_every, "verify_every", 1)
    tol = check_tol(tol, floor=1e-14)
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    # mu <- mu - factor * dL/dm  (dL/dm: gradient w.r.t. scaled means)
    factor = eta * (math.exp(t) if convention == "scaled" else math.exp(-t))
    s = math.exp(-t)

    rec_steps, rec_loss, rec_err, rec_gerr, rec_dist, rec_mu = [], [], [], [], [], []
    plan, since_verified, nodes = None, 0, 0
    stopped = ""
    for step in range(steps + 1):
        if record_at is None:
            record = step % record_every == 0 or step == steps
        else:
            record = step in wanted or step == 0 or step == steps
        if record or grad_fn is None:
            red = reduce_float(mu, mu_star, t)
            full = record or plan is None or since_verified >= verify_every
            ex = population_expectations(red, tol=tol, plan=None if full else plan)
            nodes += ex.nodes
            if full:
                plan, since_verified = ex.plan, 0
            since_verified += 1
        if record:
            gs = np.asarray(ex.grad_scaled, dtype=float)
            gscale = max(float(np.max(np.abs(gs))), float(ex.loss) / max(1.0, red.amax))
            rec_steps.append(step)
            rec_loss.append(float(ex.loss))
            rec_err.append(float(ex.loss_err))
            rec_gerr.append(float(np.max(ex.grad_scaled_err)) / gscale if gscale > 0 else 0.0)
            rec_dist.append(np.linalg.norm(s * (mu - mu_star), axis=1))
            rec_mu.append(mu.copy())
            if callback is not None and callback(step, mu.copy()):
                stopped = f"callback stopped the run at step {step}"
                break
        if step == steps:
            break
        if grad_fn is not None:
            g = np.asarray(grad_fn(mu.copy(), mu_star.copy(), t), dtype=float)
            if g.shape != mu.shape:
                raise ValueError(f"grad_fn returned shape {g.shape}, expected {mu.shape}")
            # grad_fn gives dL/dmu = e^{-t} dL/dm
            mu = mu - factor * g / s
        else:
            mu = mu - factor * np.asarray(ex.grad_scaled, dtype=float)
        if not np.all(np.isfinite(mu)):
            stopped = f"non-finite means after step {step + 1}"
            break
    return Trajectory(
        np.array(rec_steps), np.array(rec_loss), np.array(rec_err), np.array(rec_gerr),
        np.array(rec_dist), np.array(rec_mu), mu, mu_star, eta, t, convention, stopped, nodes,
    )


@dataclass
class Outcome:
    converged: np.ndarray  # bool (n,)
    diverged: np.ndarray  # bool (n,)
    survivors: int
    final_distances: np.ndarray

    def __str__(self):
        return (f"{self.survivors} of {len(self.converged)} converge; "
                f"{int(self.diverged.sum())} run away; final distances {np.round(self.final_distances, 4).tolist()}")


def classify(traj: Trajectory, *, conv_radius: float = 0.1, div_radius: float | None = None,
             slack: float = 1e-9) -> Outcome:
    """Classify each mean of a run as converging, running away, or neither (definitions: module doc)."""
    r = traj.distances
    if len(r) < 3:
        raise ValueError("classify needs a trajectory with at least 3 recorded steps")
    half = r[len(r) // 2:]
    inc = np.diff(half, axis=0)
    final = r[-1]
    if div_radius is None:
        div_radius = float(np.max(r[0]))
    non_increasing = np.all(inc <= slack * np.maximum(1.0, half[:-1]), axis=0)
    increasing = np.all(inc >= -slack * np.maximum(1.0, half[:-1]), axis=0) & (half[-1] > half[0])
    converged = (final <= conv_radius) & non_increasing
    diverged = increasing & (final > r[0]) & (final > div_radius)
    return Outcome(converged, diverged, int(converged.sum()), final)
