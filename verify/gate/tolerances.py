"""Every tolerance of the gate, in one place, with how it is derived.

Errors are relative and normwise:

* loss: |got - expected| / |expected|;
* gradient: max_ij |got_ij - expected_ij| / g_scale with
  g_scale = max(max_ij |G_ij|, e^{-t} L / max(1, R)), R = max_i |m_i - m*| (see
  :func:`grad_scale`; the package's one gradient scale,
  :func:`verify.engine.tolerances.gradient_scale`).  The second term keeps the error
  meaningful at stationary points (Theorem 3.1), where G = 0: it is the size a gradient of
  a loss L varying on the length scale max(1, R) would have.

Deterministic implementations (``stochastic`` false)
---------------------------------------------------
    tol = SAFETY * (ref_err / scale + ENGINE_TOL + U * cond)

* ``ref_err / scale``: the reference value's own error estimate (mpmath: about
  1e-25; float64 cubature: <= 1e-12);
* ``ENGINE_TOL`` = 1e-12: the accuracy the reference's float64 path certifies
  (``verify.engine.tolerances.DEFAULT_TOL``); an implementation is held to what a
  careful float64 computation achieves;
* ``U * cond``: float64 rounding of the inputs.  U = 2^-53 and ``cond`` is the
  relative condition number of the value with respect to componentwise
  relative perturbations of mu and mu_star (a backward-stable implementation
  is exact for inputs perturbed by a few ulps).  For the loss,
  cond = (sum_ij |mu_ij| |G_ij| + sum_j |mu*_j| |sum_i G_ij|) / L
  (dL/dmu* = -sum_i G_i by shift invariance); for the gradient it is
  estimated at export time by central differences of the reference gradient
  along random-sign componentwise-relative directions (``export.py``).  It
  is O(1) for moderate coordinates and reaches 1e12 for means 1e12 from the
  origin but O(1) from each other: there float64 inputs themselves fix only
  a few digits of the mean differences the loss depends on.
* ``SAFETY`` = 16.

So at moderate coordinates tol ~ 2e-11: a gradient wrong by a relative 1e-6
fails by a factor of 10^4.

Stochastic implementations (``stochastic = True``)
--------------------------------------------------
Each configuration is evaluated with ``REPEATS`` seeds.  For each scalar
compared (the loss, or one gradient component), with sample mean xbar,
sample standard deviation s and R = REPEATS:

    tol = min(CAP, q * s / sqrt(R) / scale + deterministic tol),
    q   = t_{R-1}(1 - ALPHA / (2 m))                     (two-sided, Bonferroni),

with m the number of scalars compared in that row of the table, so that a
correct (unbiased) implementation fails a row with probability <= ALPHA.
The deterministic tolerance is added because a sampler is float64 code too:
where its spread vanishes (collapsed means, n = 1, saturated weights) it is
judged as the deterministic computation it then is.
The minimum detectable bias, the bias that is detected with probability
POWER, is

    mdb = (q + t_{R-1}(POWER)) * s / sqrt(R) / scale,

and is printed with each row.  The cap: an implementation cannot widen its
own tolerance by being noisy; above CAP the tolerance stays at CAP and the
row says so (use more samples).
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np

from verify.engine.tolerances import DEFAULT_TOL, gradient_scale

__all__ = [
    "U",
    "ENGINE_TOL",
    "SAFETY",
    "CAP",
    "ALPHA",
    "POWER",
    "REPEATS",
    "FD_STEP",
    "FD_MAX_COORD",
    "t_quantile",
    "grad_scale",
    "loss_condition",
    "deterministic_tolerance",
    "stochastic_tolerance",
    "stochastic_factors",
    "describe",
]

#: unit roundoff of float64
U = 2.0**-53
#: relative accuracy certified by the reference's float64 path (the engine's DEFAULT_TOL)
ENGINE_TOL = DEFAULT_TOL
#: safety factor on the deterministic allowance
SAFETY = 16.0
#: largest relative tolerance any implementation is given (stochastic spread cannot widen it further)
CAP = 5e-2
#: family-wise false-failure probability per table row, for stochastic implementations
ALPHA = 0.01
#: power at which the minimum detectable bias is stated
POWER = 0.9
#: seeds per configuration for stochastic implementations
REPEATS = 16
#: step of the directional central differences, in scaled coordinates (unscaled step: FD_STEP e^t)
FD_STEP = 1e-3
#: configurations with a coordinate above this are left out of the finite-difference check:
#: a step of FD_STEP e^t is then within a few thousand ulps of the coordinate
FD_MAX_COORD = 1e6


@functools.lru_cache(maxsize=256)
def t_quantile(p: float, df: int) -> float:
    """Quantile of Student's t with ``df`` degrees of freedom (mpmath; no SciPy needed)."""
    if not 0 < p < 1:
        raise ValueError(f"p must be in (0, 1), got {p!r}")
    if df < 1:
        raise ValueError(f"df must be >= 1, got {df!r}")
    if p < 0.5:
        return -t_quantile(1 - p, df)
    if p == 0.5:
        return 0.0
    with mpmath.workdps(30):
        nu = mpmath.mpf(df)
        tail = mpmath.mpf(1) - mpmath.mpf(p)  # upper tail

        def upper(x):  # P(T > x) for x > 0
            return mpmath.betainc(nu / 2, mpmath.mpf(1) / 2, 0, nu / (nu + x * x), regularized=True) / 2

        lo, hi = mpmath.mpf(0), mpmath.mpf(1)
        while upper(hi) > tail:
            hi *= 2
        for _ in range(200):  # bisection: monotone, robust
            mid = (lo + hi) / 2
            if upper(mid) > tail:
                lo = mid
            else:
                hi = mid
            if hi - lo < mpmath.mpf(10) ** -12 * hi:
                break
        return float((lo + hi) / 2)


def grad_scale(loss: float, grad: np.ndarray, amax: float, t: float) -> float:
    """The normwise scale of an unscaled gradient: :func:`verify.engine.tolerances.gradient_scale`,
    max(max|G|, e^{-t} L / max(1, R)) with R = max_i |m_i - m*|; 1 where both vanish."""
    scale = gradient_scale(grad, loss, amax, t=t)
    return scale if scale > 0 else 1.0


def loss_condition(mu, mu_star, loss: float, grad) -> float:
    """Relative condition number of L for componentwise relative perturbations of mu and mu*."""
    mu = np.asarray(mu, dtype=np.float64)
    mu_star = np.asarray(mu_star, dtype=np.float64)
    G = np.asarray(grad, dtype=np.float64)
    num = float(np.sum(np.abs(mu) * np.abs(G)) + np.sum(np.abs(mu_star) * np.abs(G.sum(axis=0))))
    return num / abs(loss) if loss != 0 else math.inf


def deterministic_tolerance(ref_rel_err: float, cond: float) -> float:
    """SAFETY * (reference error + ENGINE_TOL + U cond), capped at CAP."""
    return min(CAP, SAFETY * (float(ref_rel_err) + ENGINE_TOL + U * float(cond)))


def stochastic_factors(m: int, repeats: int) -> tuple[float, float]:
    """(q, q_power): t_{R-1}(1 - ALPHA/(2m)) and t_{R-1}(POWER) for a row of m scalars and R = repeats."""
    df = max(int(repeats) - 1, 1)
    return t_quantile(1.0 - ALPHA / (2.0 * max(int(m), 1)), df), t_quantile(POWER, df)


def stochastic_tolerance(se_rel, m: int, repeats: int, ref_rel_err=0.0):
    """(tolerance, capped, minimum detectable bias), elementwise; see the module docstring."""
    q, qp = stochastic_factors(m, repeats)
    se_rel = np.asarray(se_rel, dtype=np.float64)
    se_rel = np.where(np.isnan(se_rel), np.inf, se_rel)  # a NaN spread widens nothing beyond the cap
    spread_tol = q * se_rel + np.asarray(ref_rel_err, dtype=np.float64)
    mdb = (q + qp) * se_rel
    capped = spread_tol > CAP
    return np.minimum(spread_tol, CAP), capped, mdb


def describe(stochastic: bool, repeats: int = REPEATS) -> str:
    """One paragraph on how the tolerances of a run were derived (printed under the table)."""
    if not stochastic:
        return (f"deterministic: tol = {SAFETY:g} x (reference error + {ENGINE_TOL:g} [reference float64 accuracy] "
                f"+ 2^-53 x cond [rounding of the inputs]), relative, capped at {CAP:g}")
    return (f"stochastic: {repeats} seeds per configuration; tol = t_{{{repeats - 1}}}(1 - {ALPHA:g}/(2m)) x "
            f"standard error / scale + the deterministic tolerance, Bonferroni over the m scalars of a row "
            f"(family-wise false failure <= {ALPHA:g}), capped at {CAP:g}; mdb = minimum bias detected "
            f"with probability {POWER:g}")
