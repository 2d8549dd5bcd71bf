"""The report's JSON: evidence as plain JSON data with no digits lost, and the versions recorded."""

from __future__ import annotations

import decimal
import importlib.metadata
import math
import numbers
import platform

import mpmath
import numpy as np

import verify

__all__ = ["jsonable", "versions"]

#: JSON key -> distribution whose version is recorded ("python" and "verify" are added apart).
_VERSIONED = {
    "numpy": "numpy",
    "mpmath": "mpmath",
    "sympy": "sympy",
    "hypothesis": "hypothesis",
    "flint": "python-flint",
    "matplotlib": "matplotlib",
}


def jsonable(value):
    """``value`` as plain JSON data: no numpy types, no NaN/inf, no digits lost.

    Numbers a float64 holds exactly stay numbers; mpmath numbers, long doubles,
    Decimals and integers beyond 2**53 become decimal strings with all their
    digits; non-finite floats become "inf", "-inf", "nan"."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):  # numpy scalars (np.float64 is also a float)
        if isinstance(value, np.floating) and value.dtype.itemsize > 8:
            return _float_text(value) if not np.isfinite(value) else np.format_float_scientific(value, unique=True)
        return jsonable(value.item())
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, numbers.Integral):
        return int(value) if abs(value) <= 2**53 else str(int(value))
    if isinstance(value, float):
        return value if math.isfinite(value) else _float_text(value)
    if isinstance(value, mpmath.mpf):
        return _mpf_text(value)
    if isinstance(value, mpmath.mpc):
        return {"re": _mpf_text(value.real), "im": _mpf_text(value.imag)}
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else _float_text(float(value))
    if isinstance(value, numbers.Real):  # Fraction, sympy numbers, ...: a float if exact
        as_float = float(value)
        return as_float if as_float == value else str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return str(value)  # e.g. a flint arb ball "[0.333 +/- 3e-16]": readable, and never a crash


def _float_text(x) -> str:
    return "nan" if x != x else ("inf" if x > 0 else "-inf")


def _mpf_text(x: mpmath.mpf) -> str:
    """All the digits the mpf carries (its own precision, not the current context's)."""
    if not mpmath.isfinite(x):
        return _float_text(float(x))
    bits = x._mpf_[3]  # mantissa bit count
    # ceil(bits log10 2) + 1 digits read back to the same binary value (17 for a float64)
    return mpmath.libmp.to_str(x._mpf_, math.ceil(bits * math.log10(2)) + 1)


def versions() -> dict:
    versions = {"verify": verify.__version__, "python": platform.python_version()}
    for key, dist in _VERSIONED.items():
        try:
            versions[key] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[key] = None
    return versions
