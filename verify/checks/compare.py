"""What a check compares, and how a failure is shown: one :class:`Comparison` type for the
independent checks and the gate.

A comparison holds an independent value (``expected``: SymPy, another quadrature, finite
differences, the published reference) against the value being checked (``got``), with the
error and the tolerance it is judged by.  The checks of this package return a
:class:`CheckReport` when every comparison passes and raise :class:`GradientCheckError` with a
table of the failing ones otherwise; the gate lists its failing comparisons under its table.
Every check's tolerances are in :data:`TOLERANCES`, each with its reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import mpmath

__all__ = ["TOLERANCES", "Comparison", "GradientCheckError", "CheckReport", "format_table", "agreeing_digits",
           "finish"]

#: Tolerances, in one place, keyed by precision.  Value and gradient tolerances are separate.
TOLERANCES = {
    "mpmath": {
        # quadrature and the engine's k = 1 path give about dps - 5 correct digits
        "lost_digits": 5,
        # finite differences against grad_mp when k = 1 (the brief: >= 25 digits)
        "fd_digits": 25,
        # working precision of the finite differences: with h = 1e-6, 5e-7, 2.5e-7 the loss's
        # error (~1e-49) / h leaves ~1e-42 in the difference quotient, and the extrapolation's
        # error estimate (the h^4 term of the second level) is ~ (2.5e-7)^4 ~ 4e-27 (times L^(5)/5!)
        "fd_dps": 50,
        "fd_h": mpmath.mpf("1e-6"),
        "fd_levels": 3,
        # an error estimate counts twice (mpmath's test_quad convention: |value - exact| < 2 err)
        "err_factor": 2,
    },
    "float64": {
        # central-difference step in units of e^{t} (the natural length scale of mu at noise t):
        # balances the loss's error / h against the truncation h^2 L''' (cube root of 1e-13)
        "fd_h": 5e-5,
        "err_factor": 2,
        # rounding of an O(1) float64 result: a few ulps of the largest gradient entry
        "rounding_ulps": 8,
        # Gauss-Hermite orders for the Stein expectation when k >= 2 (two orders: the
        # difference is the error estimate)
        "gh_orders": (90, 120),
    },
}


@dataclass
class Comparison:
    """One comparison: the independent value (``expected``) against the checked one (``got``).

    ``error`` defaults to |got - expected|; the gate passes its relative error instead.  ``ok``:
    error <= tolerance (NaN errors fail).  ``snippet``: Python that reproduces the configuration.
    """

    configuration: str  # where: a configuration's name or description
    quantity: str  # what: the component or quantity compared
    expected: object
    got: object
    tolerance: object
    error: object = None
    detail: str = ""
    snippet: str = ""
    ok: bool = True

    def __post_init__(self):
        if self.error is None:
            self.error = abs(self.got - self.expected)
        self.ok = bool(self.error <= self.tolerance)


class GradientCheckError(AssertionError):
    """A check failed.  ``rows`` are its comparisons; the message is a table of the failing ones."""

    def __init__(self, check: str, rows: Sequence[Comparison], note: str = "", digits: int = 17):
        self.check = check
        self.rows = list(rows)
        self.note = note
        bad = [r for r in self.rows if not r.ok]
        head = f"{check}: {len(bad)} of {len(self.rows)} components outside tolerance"
        if note:
            head += f" ({note})"
        super().__init__(head + "\n" + format_table(bad or self.rows, digits))


def _fmt(x, digits: int) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, mpmath.mpf):
        return mpmath.nstr(x, digits, min_fixed=-4, max_fixed=6)
    try:
        return f"{float(x):.{min(digits, 17)}g}"
    except (TypeError, ValueError):
        return str(x)


def format_table(rows: Sequence[Comparison], digits: int = 17) -> str:
    """The comparisons as a table: configuration, quantity, expected, got, error, tolerance."""
    cols = ["configuration", "quantity", "expected", "got", "error", "tolerance"]
    cells = [[r.configuration, r.quantity, _fmt(r.expected, digits), _fmt(r.got, digits),
              _fmt(r.error, 4), _fmt(r.tolerance, 4)] for r in rows]
    widths = [max(len(c), *(len(row[j]) for row in cells)) if cells else len(c) for j, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(x.ljust(w) for x, w in zip(row, widths)) for row in cells]
    return "\n".join(out)


@dataclass
class CheckReport:
    """What a passing check measured.

    ``digits``: the smallest number of agreeing significant digits over the components,
    -log10(error / scale) (``inf`` when exact); ``margin``: the largest error / tolerance
    (< 1 when passing); ``rows``: every comparison; ``details``: check-specific values.
    """

    check: str
    rows: list
    digits: float
    margin: float
    details: dict = field(default_factory=dict)

    def table(self, digits: int = 17) -> str:
        return format_table(self.rows, digits)


def agreeing_digits(diff, scale) -> float:
    """-log10(|diff| / |scale|): inf for an exact agreement, -inf against a zero scale."""
    diff, scale = abs(diff), abs(scale)
    if diff == 0:
        return math.inf
    if scale == 0:
        return -math.inf
    return float(-mpmath.log10(mpmath.mpf(diff) / mpmath.mpf(scale)))


def finish(check: str, rows: list, scale, details=None, note: str = "", digits: int = 17) -> CheckReport:
    """The report of a check whose comparisons all pass; :class:`GradientCheckError` otherwise."""
    if not all(r.ok for r in rows):
        raise GradientCheckError(check, rows, note, digits)
    dig = min((agreeing_digits(r.error, scale) for r in rows), default=math.inf)
    margin = max((float(r.error / r.tolerance) if r.tolerance else (0.0 if r.error == 0 else math.inf)
                  for r in rows), default=0.0)
    return CheckReport(check, rows, dig, margin, dict(details or {}))
