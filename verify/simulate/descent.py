"""Gradient descent on the population loss L_t: one loop for every source of gradients.

Two step conventions (CLAIMS.md: which one the paper uses is not certain):

* ``convention="scaled"`` (the notes' update, on the scaled means m_i = e^{-t} mu_i):
      m_i <- m_i - eta * dL_t/dm_i,   i.e.  mu_i <- mu_i - eta * e^{t} * dL_t/dm_i;
* ``convention="unscaled"`` (on the learnable parameters mu_i themselves):
      mu_i <- mu_i - eta * dL_t/dmu_i = mu_i - eta * e^{-t} * dL_t/dm_i.

They differ by the factor e^{2t} in the effective step.

The gradient comes from a source (:class:`GradientSource`):

* :class:`ExactGradient` (the default): the engine's population gradient
  (:mod:`verify.engine.expectation`).  At every recorded step (and at least every
  ``verify_every`` steps) a full evaluation with an error estimate is made and its quadrature
  rule kept; the steps in between reuse that rule without re-estimating (the same nodes at a
  configuration that moved by at most ``verify_every`` small steps; on the nested path the
  panels the certified evaluation accepted, :mod:`verify.engine.nested_lines`), and the rule is
  dropped as soon as the geometry outgrows it (the engine then evaluates afresh, and that
  evaluation's rule is kept).  The recorded errors (``Trajectory.loss_err``,
  ``Trajectory.grad_rel_err``) are the evidence of the run's accuracy.
* :class:`SuppliedGradient`: a function ``grad_fn(mu, mu_star, t) -> dL/dmu`` (another
  implementation's dynamics); the reference is evaluated only at the recorded steps, for the loss.
* :class:`verify.simulate.monte_carlo.SampledGradient`: the paper's Monte Carlo estimate.

Recorded steps: every ``record_every``-th step (default 1), or the step numbers in ``record_at``;
step 0 and the last step always.  The outcome of a run: :func:`verify.simulate.outcomes.classify`.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field

import mpmath
import numpy as np

from verify.engine.expectation import population_expectations, reduce_float
from verify.engine.reference import evaluate_mp
from verify.engine.time_limit import check_time
from verify.engine.tolerances import DESCENT_TOL, MIN_TOL, BelowRangeError, gradient_scale
from verify.engine.validation import check_int, check_means, check_noise_level, check_real_array, check_step, \
    check_step_numbers, check_tol

__all__ = ["gradient_descent", "reporting", "Trajectory", "Record", "GradientSource", "ExactGradient",
           "SuppliedGradient", "CONVENTIONS"]

CONVENTIONS = ("scaled", "unscaled")

#: the largest t whose e^t float64 holds: the factor between dL/dm and dL/dmu, and the scaled step's
_MAX_T = math.log(sys.float_info.max)


@dataclass
class Trajectory:
    steps: np.ndarray  # recorded iteration numbers
    loss: np.ndarray  # L_t at those steps
    loss_err: np.ndarray  # its absolute error estimate
    grad_rel_err: np.ndarray  # normwise relative error (estimate, or standard error) of the gradient used
    distances: np.ndarray  # (len(steps), n): |m_i - m*| (scaled)
    mu_history: np.ndarray  # (len(steps), n, d): unscaled means
    mu: np.ndarray  # final unscaled means (after the last step)
    mu_star: np.ndarray
    eta: float
    t: float
    convention: str
    stopped: str = ""  # why the run ended early ("" when it ran all its steps)
    nodes: int = 0  # integrand evaluations in all
    extra: dict = field(default_factory=dict)  # what the source recorded besides (Monte Carlo: the estimates)


@dataclass
class Record:
    """What a source records at a recorded step."""

    loss: float
    loss_err: float
    grad_rel_err: float


class GradientSource:
    """Where the loop's gradients come from.  :meth:`at` is called once per step with the current
    means (and whether the step is recorded); :meth:`gradient` then gives dL/dm (scaled means)
    there for the update."""

    nodes: int = 0
    #: the step convention the source's objective requires (None: either); the time-averaged
    #: loss is a function of the unscaled means only (verify.simulate.averaged)
    convention: str | None = None

    def start(self, mu_star: np.ndarray, t: float, tol: float) -> None:
        self.mu_star, self.t, self.tol = mu_star, t, tol
        self.scale = math.exp(-t)
        self.nodes = 0

    def at(self, step: int, mu: np.ndarray, record: bool) -> Record | None:
        raise NotImplementedError

    def gradient(self, mu: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def extra(self) -> dict:
        return {}


#: digits of the mpmath path that records a loss below the float64 engine's range (:func:`_mp_record`)
MP_RECORD_DPS = 30


def _mp_record(mu, mu_star, t) -> Record:
    """The record from the mpmath path (:data:`MP_RECORD_DPS` digits), its loss rounded to float64 and
    the estimates rounded up so that they cover that rounding too (a loss below float64's normal range
    keeps an absolute 2^-1074)."""
    ev = evaluate_mp(mu, mu_star, t, dps=MP_RECORD_DPS)
    with mpmath.workdps(MP_RECORD_DPS):
        L = float(ev.loss)
        up = lambda x: float(x) * (1 + 2.0**-52) + 2.0**-1074  # noqa: E731  (float() rounds to nearest)
        loss_err = up(ev.loss_err + abs(ev.loss - mpmath.mpf(L)))
        spread = max(mpmath.norm([mpmath.mpf(x) for x in row]) for row in (np.asarray(mu) - mu_star)) * mpmath.exp(-t)
        gscale = gradient_scale(ev.grad_scaled, ev.loss, spread)  # the engine's one scale, in mpmath
        gerr = up(max(max(r) for r in ev.grad_scaled_err) / gscale) if gscale > 0 else 0.0
    return Record(L, loss_err, gerr)


def _exact_record(ex, red) -> Record:
    gscale = gradient_scale(np.asarray(ex.grad_scaled, dtype=float), float(ex.loss), red.amax)
    gerr = float(np.max(ex.grad_scaled_err)) / gscale if gscale > 0 else 0.0
    return Record(float(ex.loss), float(ex.loss_err), gerr)


class ExactGradient(GradientSource):
    """The engine's gradient, re-estimated at recorded steps and every ``verify_every`` steps."""

    def __init__(self, verify_every: int = 50):
        self.verify_every = check_int(verify_every, "verify_every", 1)

    def start(self, mu_star, t, tol):
        super().start(mu_star, t, tol)
        self._plan, self._since = None, 0

    def at(self, step, mu, record):
        red = reduce_float(mu, self.mu_star, self.t)
        full = record or self._plan is None or self._since >= self.verify_every
        # a full evaluation starts from the last one's scales (the nested path then skips its pilot)
        ex = population_expectations(red, tol=self.tol, plan=None if full else self._plan,
                                     scales=getattr(self._plan, "scales", None))
        self.nodes += ex.nodes
        if full or ex.plan is not self._plan:
            # a new rule: this step's own full evaluation, or the one the engine made because the
            # configuration had left what the plan covers
            self._plan, self._since = ex.plan, 0
        self._since += 1
        self._ex = ex
        return _exact_record(ex, red) if record else None

    def gradient(self, mu):
        return np.asarray(self._ex.grad_scaled, dtype=float)


class SuppliedGradient(GradientSource):
    """``grad_fn(mu, mu_star, t) -> dL/dmu`` (unscaled); the reference gives the recorded loss."""

    def __init__(self, grad_fn):
        if not callable(grad_fn):
            raise ValueError(f"grad_fn must be callable, got {type(grad_fn).__name__} {grad_fn!r}")
        self.grad_fn = grad_fn

    def at(self, step, mu, record):
        if not record:
            return None
        try:
            red = reduce_float(mu, self.mu_star, self.t)
            ex = population_expectations(red, tol=self.tol)
        except BelowRangeError:
            # a supplied (wrong) dynamics can drive every mean to within ~1e-146 of m*, where float64
            # cannot certify the loss; the mpmath path can (the means nearly collapsed: cheap)
            return _mp_record(mu, self.mu_star, self.t)
        self.nodes += ex.nodes
        return _exact_record(ex, red)

    def gradient(self, mu):
        # the engine's input checks on grad_fn's result (a complex gradient was cut to its real part, a
        # scalar broadcast); dL/dm = e^t dL/dmu (e^t rather than dividing by the subnormal e^-t near the largest t)
        g = check_real_array(self.grad_fn(mu.copy(), self.mu_star.copy(), self.t), "grad_fn's result", mu.shape)
        return g * math.exp(self.t)


def _iterable(x) -> bool:
    try:
        iter(x)
    except TypeError:
        return False
    return True


def reporting(progress, steps: int):
    """A ``callback`` for :func:`gradient_descent` that passes (step, steps) to ``progress(done, total)``
    (if not None) and never stops the run."""
    def report(step, _mu):
        if progress is not None:
            progress(int(step), steps)
        return False
    return report


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
    tol: float = DESCENT_TOL,
    verify_every: int = 50,
    grad_fn=None,
    source: GradientSource | None = None,
    callback=None,
) -> Trajectory:
    """Run ``steps`` steps of gradient descent on L_t from ``mu0`` (module doc).

    Recorded steps: every ``record_every``-th step (default 1), or the step numbers in
    ``record_at`` (any iterable of integers in [0, steps], e.g. a logarithmic grid); not both.
    Step 0 and the last step are always recorded.

    The gradient: the engine's (default; ``verify_every`` as in the module doc), ``grad_fn(mu,
    mu_star, t) -> dL/dmu`` (:class:`SuppliedGradient`), or any ``source`` (e.g.
    :class:`verify.simulate.monte_carlo.SampledGradient`); ``tol`` is the accuracy asked of the
    engine wherever it is evaluated.  ``callback(step, mu)`` is called at each recorded step; if
    it returns True the run stops there.  A step that makes a mean non-finite ends the run
    (``Trajectory.stopped`` says so; the outcome classifier calls that mean blown up).
    """
    mu, mu_star = check_means(mu0, mu_star, "mu0")
    mu = mu.copy()
    t = check_noise_level(t)
    if t > _MAX_T:
        raise ValueError(f"t = {t!r} is beyond what float64 descent handles: e^t, the factor between the scaled "
                         f"and unscaled gradients, overflows above t = {_MAX_T:.2f}")
    eta = check_step(eta)
    steps = check_int(steps, "steps", 0)
    if record_at is not None:
        if isinstance(record_at, (str, bytes)) or not _iterable(record_at):
            raise ValueError(f"record_at must be an iterable of step numbers, got {record_at!r}")
        if record_every is not None:
            raise ValueError("give record_every or record_at, not both")
        wanted = check_step_numbers(record_at, "record_at", last=steps)
    else:
        record_every = check_int(1 if record_every is None else record_every, "record_every", 1)
    verify_every = check_int(verify_every, "verify_every", 1)
    tol = check_tol(tol, floor=MIN_TOL)
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    if grad_fn is not None and source is not None:
        raise ValueError("give grad_fn or source, not both")
    if source is not None and not isinstance(source, GradientSource):
        raise ValueError(f"source must be a GradientSource (ExactGradient, SuppliedGradient, "
                         f"monte_carlo.SampledGradient, ...), got {type(source).__name__} {source!r}")
    if callback is not None and not callable(callback):
        raise ValueError(f"callback must be callable (step, mu) -> bool, got {type(callback).__name__} {callback!r}")
    if source is None:
        source = SuppliedGradient(grad_fn) if grad_fn is not None else ExactGradient(verify_every)
    if source.convention is not None and convention != source.convention:
        raise ValueError(f"convention must be {source.convention!r} with {type(source).__name__}, got {convention!r}")
    source.start(mu_star, t, tol)
    # mu <- mu - factor * dL/dm  (dL/dm: gradient w.r.t. scaled means)
    factor = eta * (math.exp(t) if convention == "scaled" else math.exp(-t))
    s = math.exp(-t)

    recs, rec_steps, rec_dist, rec_mu = [], [], [], []
    stopped = ""
    for step in range(steps + 1):
        check_time()  # also Monte Carlo steps, which do not reach the engine's integrand
        if record_at is None:
            record = step % record_every == 0 or step == steps
        else:
            record = step in wanted or step == 0 or step == steps
        rec = source.at(step, mu, record)
        if record:
            recs.append(rec)
            rec_steps.append(step)
            rec_dist.append(np.linalg.norm(s * (mu - mu_star), axis=1))
            rec_mu.append(mu.copy())
            if callback is not None and callback(step, mu.copy()):
                stopped = f"callback stopped the run at step {step}"
                break
        if step == steps:
            break
        mu = mu - factor * source.gradient(mu)
        if not np.all(np.isfinite(mu)):
            stopped = f"non-finite means after step {step + 1}"
            break
    return Trajectory(
        np.array(rec_steps), np.array([r.loss for r in recs]), np.array([r.loss_err for r in recs]),
        np.array([r.grad_rel_err for r in recs]), np.array(rec_dist), np.array(rec_mu), mu, mu_star, eta, t,
        convention, stopped, source.nodes, source.extra(),
    )
