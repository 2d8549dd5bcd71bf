"""Argument checking shared by every public function.

Bad input raises :class:`ValueError` whose message names the argument: a wrong value and a
wrong type alike (a string where a number belongs, a complex number, NaN, a wrong shape).
Nothing is clipped, broadcast or converted silently: a (d,) array passed as ``mu`` is an
error, not one mean, and a complex entry is refused rather than cut to its real part.  A
tolerance below what the precision can certify is not malformed but unattainable: it raises
:class:`~verify.engine.tolerances.AccuracyError`, as every accuracy that cannot be delivered.
"""

from __future__ import annotations

import math
import numbers

import mpmath
import numpy as np

from .tolerances import MIN_DPS, AccuracyError

__all__ = [
    "check_means",
    "check_real_array",
    "check_points",
    "check_flag",
    "check_noise_level",
    "check_step",
    "check_dps",
    "check_tol",
    "mp_tol_floor",
    "check_mp_tol",
    "check_int",
    "means_mp",
    "check_mixture",
    "mixture_mp",
]



def _is_long_double(x) -> bool:
    """True for a numpy floating dtype, array or scalar with more mantissa bits than float64's 52
    (np.longdouble, float128 on x86): converting it to float64 would narrow it silently."""
    dtype = x if isinstance(x, np.dtype) else getattr(x, "dtype", None)
    return dtype is not None and dtype.kind == "f" and np.finfo(dtype).nmant > 52


def _long_double_error(name: str) -> ValueError:
    return ValueError(f"{name} must not be a numpy long double (np.longdouble, {np.finfo(np.longdouble).nmant + 1} "
                      f"mantissa bits): float64 would narrow it silently; pass float64 values, or pass the digits "
                      f"as strings to the mpmath functions (loss_mp, ...)")


def _as_float_array(value, name: str, ndim: int, shape: str | None = None) -> np.ndarray:
    """``value`` as a finite float64 array of ``ndim`` dimensions; ``shape`` names the expected shape
    in the messages ((n, d) or (d,) by default: a mixture's arguments pass (K, d) and (K,))."""
    shape = shape or ("(n, d)" if ndim == 2 else "(d,)")
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be an array of numbers, got a string")
    if isinstance(value, np.ma.MaskedArray):  # np.asarray would drop the mask and use the masked values
        raise ValueError(f"{name} must not be a masked array (its mask would be dropped); pass the entries to use")

    def has_bool(v):  # np.asarray([[True, 2.0]]) would make the True a silent 1.0
        return isinstance(v, (bool, np.bool_)) or (isinstance(v, (list, tuple)) and any(has_bool(x) for x in v))
    if isinstance(value, (list, tuple)) and has_bool(value):
        raise ValueError(f"{name} must be an array of real numbers, got a boolean entry")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged rows and the like
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None
    if raw.dtype.kind == "c" or (raw.dtype == object and any(isinstance(x, (complex, mpmath.mpc))
                                                             for x in raw.ravel())):
        raise ValueError(f"{name} must be real, got complex entries")
    if _is_long_double(raw.dtype):  # astype(np.float64) below would round it to float64
        raise _long_double_error(name)
    if raw.dtype == object:  # entries numpy left as Python objects: each must be a real number, as t must
        for index, x in np.ndenumerate(raw):
            if _is_long_double(x):
                raise _long_double_error(f"{name} entry {index}")
            if isinstance(x, bool) or not isinstance(x, (numbers.Real, np.floating, np.integer, mpmath.mpf)):
                what = "None, not a number" if x is None else f"{type(x).__name__} {x!r}"
                raise ValueError(f"{name} must be an array of real numbers, got {what} at index {index}")
    if raw.dtype.kind in "SUVMmb":
        raise ValueError(f"{name} must be an array of real numbers, got dtype {raw.dtype}")
    try:
        arr = raw.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers: {exc}") from None
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have shape {shape}, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} has a non-finite entry {float(arr[tuple(bad)])!r} "
                         f"at index {tuple(int(i) for i in bad)}")
    return arr


def check_flag(value, name: str) -> bool:
    """``value`` if it is True or False (numpy's bool too); else ValueError naming ``name`` (a truthy
    'no' is not True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_real_array(value, name: str, shape: tuple) -> np.ndarray:
    """``value`` as a finite float64 array of exactly ``shape`` (a result a caller supplies, such as
    a gradient), with the checks and messages of the engine's inputs; ValueError naming ``name``."""
    shape = tuple(int(x) for x in shape)
    arr = _as_float_array(value, name, len(shape), shape=str(shape))
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got shape {arr.shape}")
    return arr


def check_points(value, name: str, d: int | None = None, rows: str = "n") -> np.ndarray:
    """``value`` as a finite float64 (rows, d) array (``d`` columns when given: verify.model's points
    x; else its means mu), with the checks and messages of the engine's inputs."""
    shape = f"({rows}, {'d' if d is None else d})"
    arr = _as_float_array(value, name, 2, shape)
    if d is not None and arr.shape[1] != d:
        raise ValueError(f"{name} must have shape {shape}, got shape {arr.shape}")
    return arr


def check_means(mu, mu_star, mu_name: str = "mu") -> tuple[np.ndarray, np.ndarray]:
    """Return ``mu`` as float64 (n, d) and ``mu_star`` as float64 (d,).

    Raises ValueError naming the argument for NaN/inf entries, a wrong number
    of dimensions, n < 1, d < 1 or a ``mu_star`` whose length is not d.  ``mu_name``: the name
    the caller's user gave the means (``mu0`` for a descent's start).
    """
    mu = _as_float_array(mu, mu_name, 2)
    mu_star = _as_float_array(mu_star, "mu_star", 1)
    if mu.shape[1] != mu_star.shape[0]:
        raise ValueError(
            f"{mu_name} has d = {mu.shape[1]} columns but mu_star has length {mu_star.shape[0]}; they must agree"
        )
    return mu, mu_star


def _real(x, name: str, what: str = "a real number"):
    """``x`` if it is a real number (not a bool, a string or a complex); else ValueError naming ``name``."""
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, np.floating, np.integer, mpmath.mpf)):
        kind = "complex" if isinstance(x, (complex, np.complexfloating, mpmath.mpc)) else type(x).__name__
        raise ValueError(f"{name} must be {what}, got {kind} {x!r}")
    if _is_long_double(x):
        raise _long_double_error(name)
    return x


def _finite_real(x, name: str, positive: bool, what: str) -> float:
    """``float(x)`` for a finite real ``x`` that is > 0 (``positive``) or >= 0; else ValueError naming ``name``."""
    _real(x, name)
    xf = float(x)
    if not math.isfinite(xf):
        raise ValueError(f"{name} must be finite, got {x!r}")
    if xf < 0 or (positive and xf == 0):
        raise ValueError(f"{name} must be {'>' if positive else '>='} 0 ({what}), got {x!r}")
    return xf


def check_noise_level(t, name: str = "t") -> float:
    """The noise level t must be a finite real number >= 0."""
    return _finite_real(t, name, False, "a noise level")


def check_step(eta, name: str = "eta") -> float:
    """A step size must be a finite real number > 0."""
    return _finite_real(eta, name, True, "a step size")


def check_int(value, name: str, minimum: int) -> int:
    """An integer count (steps, samples, ...) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_step_numbers(values, name: str, *, last: int | None = None) -> set[int]:
    """A set of step numbers (integers >= 0, and <= ``last`` when given), each entry checked
    like :func:`check_int` and named ``"<name> entry"`` in the error."""
    out = set()
    for k in values:
        k = check_int(k, f"{name} entry", 0)
        if last is not None and k > last:
            raise ValueError(f"{name} entry must be <= steps = {last}, got {k}")
        out.add(k)
    return out


def check_dps(dps, name: str = "dps") -> int:
    if isinstance(dps, bool) or not isinstance(dps, numbers.Integral):
        raise ValueError(f"{name} must be an integer number of decimal digits, got {dps!r}")
    if dps < MIN_DPS:
        raise ValueError(f"{name} must be >= {MIN_DPS} (below that use the float64 functions), got {dps}")
    return int(dps)


def check_tol(tol, name: str = "tol", *, floor: float = 0.0) -> float:
    """A relative tolerance: a number in (0, 1) (ValueError otherwise: a relative accuracy of 100 %
    or more asks for no correct digit); below ``floor``, what the precision can certify,
    :class:`AccuracyError` (an accuracy that cannot be delivered)."""
    _real(tol, name)
    tf = float(tol) if not isinstance(tol, mpmath.mpf) else tol
    if not (tf > 0) or not (math.isfinite(tf) if isinstance(tf, float) else mpmath.isfinite(tf)):
        raise ValueError(f"{name} must be a finite number > 0, got {tol!r}")
    if tf >= 1:
        raise ValueError(f"{name} must be < 1 (a relative accuracy of 100 % or more asks for no correct digit), "
                         f"got {tol!r}")
    if tf < floor:
        raise AccuracyError(f"{name} = {tol!r} is below what float64 can certify ({floor:g}: the rounding "
                            f"bound alone is larger); use the mpmath functions (loss_mp, ...) for more digits")
    return tf


def mp_tol_floor(dps: int):
    """The finest tol the mpmath functions accept at ``dps`` digits: 2 eps, eps = 2^(1 - p) their eps
    at p = mpmath's bits for dps digits (so 2 eps ~ 3.4e-21 at dps = 20, ~5.3e-51 at 50).

    Why (reference._rounded): the value V the engine certifies at dps + guard digits is rounded to
    v at dps digits, |V - v| <= u |v| (u = eps / 2, to nearest), and the estimate returned is
    (err + |V - v|) (1 + 2 eps) rounded to nearest, <= (err + u |v|)(1 + 5u) up to the working
    precision's ulps (eps_w ~ 1e-10 eps, guard 10 digits).  With err <= tol_e |V| <= tol_e (1 + u) |v|
    from the engine, the returned estimate is <= (tol_e (1 + 9u) + 2u) |v| = (tol_e (1 + 4.5 eps)
    + eps) |v|: the rounding alone may take eps of the tolerance, so tol <= eps is never met and
    the engine is asked for tol_e = (tol - eps) / (1 + 5 eps) (:func:`check_mp_tol`).  The floor 2 eps
    leaves the quadrature at least half of tol, the other half the rounding's (as the float64 path
    splits its tolerance), so a tol at the floor costs the engine what tol / 2 costs it.  The same
    bound holds normwise for a gradient: each entry rounds by u |g_ij| <= u times its scale."""
    return 2 * mpmath.mpf(2) ** (1 - mpmath.libmp.dps_to_prec(dps))


def check_mp_tol(tol, dps: int):
    """The tolerance the mpmath engine is asked for (call inside the working precision): ``tol``
    (default 10^-(dps - 5)) less the rounding to dps digits' share, (tol - eps) / (1 + 5 eps)
    (:func:`mp_tol_floor`); a tol below the floor 2 eps raises :class:`AccuracyError` naming the dps
    that certifies it (the request is well formed, as a float64 tol below MIN_TOL is)."""
    tol_v = mpmath.mpf(10) ** (-(dps - 5)) if tol is None else mpmath.mpf(check_tol(tol))
    floor = mp_tol_floor(dps)
    if tol_v < floor:
        need = max(dps + 1, int(-mpmath.log10(tol_v)) - 3)  # 2 eps > 10^-(dps + 1) at every dps
        while mp_tol_floor(need) > tol_v:
            need += 1
        raise AccuracyError(f"tol = {tol!r} is below what dps = {dps} can certify ({mpmath.nstr(floor, 3)}: "
                            f"the rounding to {dps} digits alone may take half of it); dps = {need} certifies it")
    eps = floor / 2
    return (tol_v - eps) / (1 + 5 * eps)


def _mpf_exact(x, name: str):
    """Convert one entry to mpf at the current working precision.

    Strings are parsed at that precision (so '1e-868000' keeps its exponent);
    floats and ints are exact binary values; mpf are re-rounded.
    """
    if isinstance(x, bool):
        raise ValueError(f"{name} has a boolean entry")
    if isinstance(x, (complex, np.complexfloating, mpmath.mpc)):
        raise ValueError(f"{name} must be real, got a complex entry {x!r}")
    if _is_long_double(x):  # float(x) below would narrow it
        raise _long_double_error(f"{name} entry {x!r}")
    if isinstance(x, (mpmath.mpf, str, numbers.Integral, float, np.floating, np.integer)):
        try:
            v = mpmath.mpf(x) if not isinstance(x, (np.floating, np.integer)) else mpmath.mpf(float(x))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name} has an entry {x!r} that is not a number: {exc}") from None
    elif isinstance(x, numbers.Rational):
        v = mpmath.mpf(x.numerator) / x.denominator
    else:
        raise ValueError(f"{name} has an entry of type {type(x).__name__}; use mpf, str, int or float")
    if not mpmath.isfinite(v):
        raise ValueError(f"{name} has a non-finite entry {x!r}")
    return v


def _nested(value, name: str, ndim: int, shape: str | None = None):
    """``value`` as nested lists of mpf (:func:`_mpf_exact`); ``shape`` as in :func:`_as_float_array`."""
    shape = shape or ("(n, d)" if ndim == 2 else "(d,)")
    rows_name = shape[1]  # n or K
    if isinstance(value, np.ma.MaskedArray):  # .tolist() would turn the masked entries into None
        raise ValueError(f"{name} must not be a masked array (its mask would be dropped); pass the entries to use")
    if isinstance(value, np.ndarray):
        if _is_long_double(value.dtype):  # .tolist() would make its entries float64
            raise _long_double_error(name)
        value = value.tolist()
    if isinstance(value, mpmath.matrix):
        value = value.tolist()
        if ndim == 1:
            value = [r[0] for r in value] if all(len(r) == 1 for r in value) else value
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise ValueError(f"{name} must be a nested sequence of dimension {ndim}")
    if ndim == 1:
        if len(value) == 0:
            raise ValueError(f"{name} must not be empty")
        for x in value:
            if hasattr(x, "__len__") and not isinstance(x, str):
                raise ValueError(f"{name} must have shape {shape}, got a nested entry")
        return [_mpf_exact(x, name) for x in value]
    rows = [list(r) if hasattr(r, "__len__") and not isinstance(r, str) else None for r in value]
    if len(rows) == 0:
        raise ValueError(f"{name} must have shape {shape} with {rows_name} >= 1, got no rows")
    if any(r is None for r in rows):
        raise ValueError(f"{name} must have shape {shape}, got a row that is not a sequence")
    d = len(rows[0])
    if d == 0 or any(len(r) != d for r in rows):
        raise ValueError(f"{name} must have shape {shape} with equal row lengths d >= 1, "
                         f"got lengths {[len(r) for r in rows]}")
    return [[_mpf_exact(x, name) for x in r] for r in rows]


def means_mp(mu, mu_star):
    """``mu`` as n lists of d mpf and ``mu_star`` as d mpf, at the current precision."""
    m = _nested(mu, "mu", 2)
    s = _nested(mu_star, "mu_star", 1)
    if len(m[0]) != len(s):
        raise ValueError(f"mu has d = {len(m[0])} columns but mu_star has length {len(s)}; they must agree")
    return m, s


def _check_weights(w, K: int, fsum, name: str = "weights"):
    """Weights > 0, one per component, summing to 1 within K 2^-52 (K float64 ulps of 1), the rule
    of both paths: K weights rounded to float64 (0.1, 0.2, 0.7: exact sum 1 - 2.8e-17), or divided
    by their float64 sum, miss 1 by less.  ``fsum``: an exact-enough sum (math.fsum, correctly
    rounded; mpmath.fsum at the working precision, >= 30 digits).  The weights are used as given,
    in both paths: the loss is sum_k pi_k E_k, never normalised."""
    if len(w) != K:
        raise ValueError(f"{name} must have one entry per ground-truth component ({K}), got {len(w)}")
    for i, x in enumerate(w):
        if not x > 0:
            raise ValueError(f"{name} must be > 0, got {x!r} at index {i}")
    total = fsum(w)
    if abs(total - 1) > K * 2.0 ** -52:
        raise ValueError(f"{name} must sum to 1 within K 2^-52 = {K * 2.0 ** -52:.3g} (the rounding of K float64 "
                         f"weights; they are used as given, not normalised), got sum {total!r}")


def check_mixture(mu, mu_stars, weights, mu_name: str = "mu"):
    """``mu`` (n, d), ``mu_stars`` (K, d) and ``weights`` (K,) > 0 summing to 1 (within K 2^-52:
    :func:`_check_weights`), float64; ``mu_name`` as in :func:`check_means`.  ``mu`` None: the
    components alone (a gradient source, whose means come later; None is returned for it)."""
    if mu is not None:
        mu = _as_float_array(mu, mu_name, 2)
    mu_stars = _as_float_array(mu_stars, "mu_stars", 2, "(K, d)")
    if mu is not None and mu.shape[1] != mu_stars.shape[1]:
        raise ValueError(f"{mu_name} has d = {mu.shape[1]} columns but mu_stars has {mu_stars.shape[1]}; "
                         f"they must agree")
    w = _as_float_array(weights, "weights", 1, "(K,)")
    _check_weights(list(w), mu_stars.shape[0], math.fsum)
    return mu, mu_stars, w


def mixture_mp(mu, mu_stars, weights):
    """As :func:`check_mixture`, as nested lists of mpf at the current precision (the same rule
    for the weights' sum, :func:`_check_weights`; float weights are their exact binary values)."""
    m = _nested(mu, "mu", 2)
    s = _nested(mu_stars, "mu_stars", 2, "(K, d)")
    if len(m[0]) != len(s[0]):
        raise ValueError(f"mu has d = {len(m[0])} columns but mu_stars has {len(s[0])}; they must agree")
    w = _nested(weights, "weights", 1, "(K,)")
    _check_weights(w, len(s), mpmath.fsum)
    return m, s, w
