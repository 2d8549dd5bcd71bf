"""Monte Carlo gradients, as the paper ran its experiment (a gradient source for the one loop).

The paper's experiment (CLAIMS.md, "Experiment") estimates the gradient at each
step from fresh samples x ~ q_t = N(m*, I_d) (20,000 per step).  Here the
estimate is the sample mean of the pathwise integrand
:func:`verify.engine.model.pathwise_grad_integrand` (its expectation is dL_t/dm_i,
Lemma 2.2 in pathwise form), so it is unbiased; its standard error is the
sample standard deviation over sqrt(N).

* :func:`sampled_gradient` -- one estimate of dL_t/dm_i (scaled means) and
  its standard error, from ``samples`` draws of a seeded generator;
* :class:`SampledGradient` -- the source that gives
  :func:`verify.simulate.descent.gradient_descent` a fresh estimate at every step (one seeded
  generator for the whole run: reproducible, and two seeds give independent sample paths).
  At the recorded steps it also evaluates the exact loss (and, if asked, the exact gradient)
  with the reference: the recorded ``loss`` is the exact population loss at the sampled
  iterate, not a noisy estimate, and ``Trajectory.extra`` holds the Monte Carlo estimates
  beside the exact values.

The cost of a step is one call of the integrand on an (N, d) array (measured in
``verify selfcheck --bench``); the exact evaluations at the recorded steps come on top.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from verify.engine import model, reference
from verify.engine.tolerances import gradient_scale
from verify.engine.validation import check_flag, check_int, check_means, check_noise_level

from .descent import GradientSource, Record

__all__ = ["sampled_gradient", "SampledGradient", "PAPER_SAMPLES"]

#: Samples per gradient step in the paper's experiment.
PAPER_SAMPLES = 20_000


def _draw(rng: np.random.Generator, samples: int, mstar: np.ndarray) -> np.ndarray:
    """``samples`` points x ~ N(m*, I_d)."""
    return mstar + rng.standard_normal((samples, mstar.shape[0]))


def _check_seed(seed, name: str, generator_ok: bool):
    """``seed`` if numpy's ``default_rng`` takes it as a seed: None, an integer >= 0, a non-empty list
    or tuple of them, a SeedSequence (and a Generator where ``generator_ok``); else ValueError naming
    ``name`` (-1, 'a' and 1.5 failed later in numpy with messages that did not name it)."""
    def whole(x):
        return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_)) and x >= 0
    if seed is None or whole(seed) or isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, (list, tuple)) and seed and all(whole(x) for x in seed):
        return seed
    if generator_ok and isinstance(seed, np.random.Generator):
        return seed
    kinds = ("None, an integer >= 0, a non-empty list of them, a SeedSequence"
             + (" or a Generator" if generator_ok else ""))
    if isinstance(seed, (np.random.Generator, np.random.BitGenerator)):
        kinds += " (a generator would carry its state from one run to the next: the run would not repeat)"
    raise ValueError(f"{name} must be {kinds}, got {type(seed).__name__} {seed!r}")


def sampled_gradient(mu, mu_star, t, samples: int = PAPER_SAMPLES, *, rng=None, with_loss: bool = False):
    """Monte Carlo estimate of dL_t/dm_i (scaled means) from ``samples`` points x ~ N(m*, I_d).

    Returns ``(grad, stderr)``, both of shape (n, d): the sample mean of the
    pathwise integrand and its standard error (sample standard deviation,
    ddof = 1, over sqrt(samples)).  With ``with_loss=True`` also the loss
    estimate and its standard error from the same points:
    ``(grad, stderr, loss, loss_stderr)``.  ``rng`` is a
    :class:`numpy.random.Generator` or a seed.
    """
    mu, mu_star = check_means(mu, mu_star)
    t = check_noise_level(t)
    samples = check_int(samples, "samples", 2)
    rng = np.random.default_rng(_check_seed(rng, "rng", True))
    check_flag(with_loss, "with_loss")
    mstar = math.exp(-t) * mu_star
    x = _draw(rng, samples, mstar)
    g = model.pathwise_grad_integrand(x, mu, mu_star, t)
    grad = g.mean(axis=0)
    stderr = g.std(axis=0, ddof=1) / math.sqrt(samples)
    if not with_loss:
        return grad, stderr
    li = model.loss_integrand(x, mu, mu_star, t)
    return grad, stderr, float(li.mean()), float(li.std(ddof=1) / math.sqrt(samples))


class SampledGradient(GradientSource):
    """A fresh Monte Carlo estimate of dL/dm at every step, from ``samples`` points x ~ N(m*, I_d)
    drawn by one generator seeded with ``seed``.

    At each recorded step: the exact loss and its error estimate (:func:`verify.engine.reference.evaluate`
    at the run's ``tol``; NaN where it raises AccuracyError, and the step is listed), and as
    ``grad_rel_err`` the Monte Carlo relative standard error of the gradient used,
    max_ij se_ij / :func:`~verify.engine.tolerances.gradient_scale` (with the sampled loss).
    ``Trajectory.extra`` holds, per recorded step:

    * ``"grad_sampled"`` (k, n, d) and ``"grad_stderr"`` (k, n, d): the estimate and its standard error;
    * ``"grad_exact"`` and ``"grad_exact_err"``: the reference gradient and its error (only with
      ``exact_grad=True``; NaN otherwise: the exact gradient costs several times the exact loss
      where the means are spread out);
    * ``"loss_sampled"``, ``"loss_stderr"``: the Monte Carlo loss estimate from the same points;
    * ``"accuracy_errors"``: recorded steps where the reference raised AccuracyError.

    The recorded steps use the step's own samples; the exact evaluation does not change the
    sample path.
    """

    def __init__(self, samples: int = PAPER_SAMPLES, seed=0, *, exact_grad: bool = False):
        self.samples = check_int(samples, "samples", 2)
        self.seed = _check_seed(seed, "seed", False)
        self.exact_grad = check_flag(exact_grad, "exact_grad")

    def start(self, mu_star, t, tol):
        super().start(mu_star, t, tol)
        self._rng = np.random.default_rng(self.seed)
        self._mstar = self.scale * mu_star
        self._rec = {k: [] for k in ("g", "se", "gx", "gxe", "lmc", "lse")}
        self._accuracy_errors: list[int] = []

    def at(self, step, mu, record):
        n, d = mu.shape
        x = _draw(self._rng, self.samples, self._mstar)
        g_all = model.pathwise_grad_integrand(x, mu, self.mu_star, self.t)
        self._g = g_all.mean(axis=0)
        self.nodes += self.samples
        if not record:
            return None
        se = g_all.std(axis=0, ddof=1) / math.sqrt(self.samples)
        li = model.loss_integrand(x, mu, self.mu_star, self.t)
        try:
            ev = reference.evaluate(mu, self.mu_star, self.t, tol=self.tol, with_grad=self.exact_grad)
            loss, loss_err = float(ev.loss), float(ev.loss_err)
            if self.exact_grad:
                gx, gxe = np.asarray(ev.grad_scaled, float), np.asarray(ev.grad_scaled_err, float)
            else:
                gx = gxe = np.full((n, d), math.nan)
        except reference.AccuracyError:
            self._accuracy_errors.append(step)
            loss = loss_err = math.nan
            gx = gxe = np.full((n, d), math.nan)
        spread = float(np.max(np.linalg.norm(self.scale * (mu - self.mu_star), axis=1)))
        scale = gradient_scale(self._g, float(li.mean()), spread)
        rec = self._rec
        rec["g"].append(self._g)
        rec["se"].append(se)
        rec["gx"].append(gx)
        rec["gxe"].append(gxe)
        rec["lmc"].append(float(li.mean()))
        rec["lse"].append(float(li.std(ddof=1) / math.sqrt(self.samples)))
        return Record(loss, loss_err, float(np.max(se)) / scale if scale > 0 else 0.0)

    def gradient(self, mu):
        return self._g

    def extra(self):
        rec = self._rec
        return {
            "samples": self.samples, "seed": self.seed,
            "grad_sampled": np.array(rec["g"]), "grad_stderr": np.array(rec["se"]),
            "grad_exact": np.array(rec["gx"]), "grad_exact_err": np.array(rec["gxe"]),
            "loss_sampled": np.array(rec["lmc"]), "loss_stderr": np.array(rec["lse"]),
            "accuracy_errors": self._accuracy_errors,
        }
