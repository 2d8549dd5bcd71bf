"""The upper bound of e^x - 1 that the rounding columns use (verify.engine.rounding.expm1_up, and the
compiled integrand's copy, verify.engine.kernels.expm1_up): at least e^x - 1, against mpmath, on
the whole range the columns meet, in numpy and compiled alike; and not far above it."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from hypothesis import given, strategies as st

from verify.engine import kernels, rounding

# the range of the logits' rounding (lambda ~ 1e-16 to 1e-10 nats), the switch at SMALL, and beyond
GRID = np.concatenate([[0.0, 5e-324, 1e-300, 1e-20], np.geomspace(1e-18, 1e-1, 400),
                       np.nextafter(rounding.SMALL, 0) * np.array([1.0]), [rounding.SMALL, 0.5, 30.0]])


def _exact(x):
    with mpmath.workdps(60):
        return mpmath.expm1(mpmath.mpf(float(x)))


@pytest.mark.parametrize("bound", [rounding.expm1_up, np.vectorize(kernels.expm1_up)], ids=["numpy", "compiled"])
def test_expm1_up_is_an_upper_bound_of_expm1_and_close_to_it(bound):
    got = bound(GRID)
    for x, b in zip(GRID, got):
        e = _exact(x)
        assert b >= e, (x, b)
        assert b <= e * (1 + 2 * float(x) + 2.0**-48) + 1e-320, (x, b)  # x^2 / 2 above, and the factor


@given(st.floats(0, 2e-3, allow_subnormal=True))
def test_expm1_up_bounds_expm1_at_any_small_x(x):
    assert rounding.expm1_up(np.array([x]))[0] >= _exact(x)
    assert kernels.expm1_up(x) >= _exact(x)


def test_below_the_normal_range_the_bound_still_exceeds_x():
    """At a subnormal x, x (1 + 2^-50) rounds back to x, below e^x - 1 = x + x^2 / 2 + ...: the added
    smallest subnormal keeps the bound above it (seen at 1200 digits, not at 60)."""
    for x in (5e-324, 1e-310, 2.0**-1025):
        assert x * (1.0 + 2.0**-50) == x  # the control: the factor alone does not lift it
        assert rounding.expm1_up(np.array([x]))[0] > x and kernels.expm1_up(x) > x


def test_without_its_rounding_factor_the_polynomial_falls_below_expm1():
    """Negative control: x (1 + x) alone, the rounded product, is below e^x - 1 at tiny x (the x^2 / 2
    it gains is below half an ulp there), so the factor 1 + 2^-50 is what makes it a bound."""
    x = 1e-20
    assert x * (1.0 + x) < _exact(x) <= rounding.expm1_up(np.array([x]))[0]
