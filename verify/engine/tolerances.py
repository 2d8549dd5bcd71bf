"""The engine's accuracies, each with its reason, and the one gradient scale.

Every normwise relative error of a gradient in this package (the engine's acceptance test, the
recorded error along a descent run, the Monte Carlo standard error, the accuracy report, the
finite-difference checks and the gate) divides by :func:`gradient_scale`:

    scale = max( max_ij |g_ij| , L / max(1, A) ),   A = max_i |m_i - m*|  (scaled means),

for the gradient g = dL/dm with respect to the scaled means, and e^{-t} times the second term
for the gradient dL/dmu with respect to the unscaled means (dL/dmu = e^{-t} dL/dm).  The second
term keeps the error meaningful where the gradient vanishes (the stationary point of Theorem
3.1): L / A has the units of a gradient (dL/da ~ L / |a|), and max(1, A) keeps it from growing
without bound when the means are close to m* (where L ~ A^2 and L / A -> 0 anyway).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["AccuracyError", "RangeError", "BelowRangeError", "DEFAULT_TOL", "MIN_TOL", "DESCENT_TOL", "DEFAULT_DPS",
           "MIN_DPS", "gradient_scale"]


class AccuracyError(ArithmeticError):
    """The requested accuracy could not be certified; no number is returned."""


class RangeError(AccuracyError):
    """The configuration's scale is beyond what the float64 engine takes (verify.engine.lines.FLOAT64_AMAX):
    a run whose means reach it has left float64's range (the mpmath functions take far larger ones)."""


class BelowRangeError(AccuracyError):
    """The configuration's scale is below what the float64 engine takes (verify.engine.lines.FLOAT64_AMIN,
    or e^-t below float64's normal range): its squares would round with subnormal, absolute errors
    that its relative rounding bounds do not count (the mpmath functions take any size).  Not a
    RangeError: callers read a RangeError as means gone too far (a blow-up); this is the opposite."""


#: Relative accuracy of the float64 functions by default.  The quadrature's error estimates are
#: honest to ~1e-15 (the (N, 2N) rule pairs) and every node carries a rounding bound of
#: ~64 eps |integrand|, so 1e-12 leaves two orders of magnitude between the certified accuracy
#: and what float64 resolves (tests/test_reference_accuracy.py measures <= 1e-12).
DEFAULT_TOL = 1e-12
#: The smallest relative accuracy the float64 functions accept: below it the rounding bound
#: (64 eps ~ 1.4e-14 per node sum) alone exceeds the request.
MIN_TOL = 1e-14
#: Relative accuracy of the exact gradient along a descent run.  An error of 1e-10 per step moves
#: log |m_i - m*| by at most ~1e-10 ln(tau) over a run, far below every rate band and outcome
#: threshold of the claims, and it is cheaper than DEFAULT_TOL at each of thousands of steps.
DESCENT_TOL = 1e-10
#: Working precision (decimal digits) of the mpmath functions by default: they keep about
#: dps - 5 correct digits when k = 1, 45 here, more than any claim asks (s* to 30 digits).
DEFAULT_DPS = 50
#: The smallest working precision of the mpmath functions.  Below it the mpmath path is no more
#: accurate than float64, and its error estimates (which assume the rounding error is far below
#: the quadrature error) stop being meaningful.
MIN_DPS = 20


def _max_abs(grad) -> object:
    """max |g_ij| over an array (float or mpf entries) or nested lists; 0 when empty."""
    if isinstance(grad, np.ndarray) and grad.dtype != object:
        return float(np.max(np.abs(grad))) if grad.size else 0.0
    flat = np.ravel(np.array(grad, dtype=object)) if not isinstance(grad, np.ndarray) else grad.ravel()
    return max((abs(x) for x in flat), default=0.0)


def gradient_scale(grad, loss, spread, *, t=None):
    """The scale of a normwise relative gradient error (module doc).

    ``grad``: the gradient (any shape; float or mpf entries); ``loss``: L at the same point;
    ``spread``: A = max_i |m_i - m*| in scaled coordinates.  With ``t`` the gradient is the one
    with respect to the unscaled means, and the loss term carries the factor e^{-t}.
    """
    floor = abs(loss) / max(1.0, spread)
    if t is not None:
        floor = math.exp(-t) * abs(loss) / max(1.0, spread)
    return max(_max_abs(grad), floor)
