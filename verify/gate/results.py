"""Validation of what an implementation returns: a float64 number for a loss, a float64 array of
the expected shape for a gradient (a numpy array, or one numpy converts such as a torch or jax array;
never a Python list or tuple, which numpy would take by guessing its dtype); anything else is an
:class:`ImplementationError` naming the call and its configuration as pasteable Python (exit status 2)."""

from __future__ import annotations

import numpy as np

__all__ = ["ImplementationError", "as_loss", "as_array"]


class ImplementationError(Exception):
    """The implementation cannot be used: a call raised, or returned the wrong type, shape or dtype (exit status 2).

    ``config`` is the configuration (a pasteable Python snippet) of the call, if any.
    """

    def __init__(self, message: str, config: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.message = message
        self.config = config
        self.detail = detail  # the tail of the traceback, for a call that raised

    def __str__(self) -> str:
        out = self.message
        if self.config:
            out += "\n  configuration:\n" + _indent(self.config, 4)
        if self.detail:
            out += "\n  raised:\n" + _indent(self.detail, 4)
        return out


def _indent(text: str, k: int) -> str:
    return "\n".join(" " * k + line for line in text.rstrip().splitlines())


def _snippet(mu, mu_star, t, extra: str = "") -> str:
    from .configs import python_snippet

    return python_snippet(mu, mu_star, t, extra=extra)


def _dtype_problem(dtype) -> str | None:
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return None
    if dtype in (np.dtype(np.float16), np.dtype(np.float32)):
        return (f"{dtype.name} (single or half precision); the gate needs float64, since float32's "
                f"relative precision 1e-7 is far above the tolerances (compute in float64, do not just cast)")
    if np.issubdtype(dtype, np.complexfloating):
        return f"{dtype.name} (complex); the loss and gradient are real"
    if dtype == np.longdouble:
        return None if np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps else \
            f"{dtype.name}; return float64 (cast your extended-precision result with .astype(np.float64))"
    return f"{dtype.name}; expected float64"


def as_loss(out, spec, mu, mu_star, t, *, where=None, config=None) -> float:
    where = where or f"{spec}.loss"
    snip = config if config is not None else (lambda: _snippet(mu, mu_star, t))
    if isinstance(out, float):  # Python float and numpy.float64
        return float(out)
    if isinstance(out, (int, np.integer)) and not isinstance(out, bool):
        return float(out)
    if out is None or isinstance(out, (bool, np.bool_, str, bytes)):
        raise ImplementationError(f"{where} returned {out!r}; expected a float64 number",
                                  config=snip())
    if isinstance(out, (list, tuple)):
        raise ImplementationError(f"{where} returned a {type(out).__name__}; expected a float64 number",
                                  config=snip())
    try:  # numpy scalars and 0-d arrays, and foreign ones (torch, jax) that numpy understands
        arr = np.asarray(out)
    except Exception:  # noqa: BLE001
        arr = None
    if arr is None or arr.dtype == object or arr.dtype.kind not in "fiuc":
        raise ImplementationError(f"{where} returned a {type(out).__name__}; expected a float64 number",
                                  config=snip())
    if arr.shape != ():
        raise ImplementationError(f"{where} returned an array of shape {arr.shape}; expected a scalar (a float)",
                                  config=snip())
    if arr.dtype.kind in "iu":
        return float(arr)
    prob = _dtype_problem(arr.dtype)
    if prob:
        raise ImplementationError(f"{where} returned {prob}", config=snip())
    return float(arr)


def as_array(out, shape, where, mu, mu_star, t, *, config=None) -> np.ndarray:
    snip = config if config is not None else (lambda: _snippet(mu, mu_star, t))
    if out is None:
        raise ImplementationError(f"{where} returned None; expected a float64 array of shape {shape}",
                                  config=snip())
    if isinstance(out, (list, tuple)):  # numpy would take it, guessing a dtype the implementation never chose
        raise ImplementationError(f"{where} returned a {type(out).__name__}; expected a float64 numpy array of "
                                  f"shape {shape} (return np.asarray(..., dtype=np.float64) of it)", config=snip())
    try:
        arr = np.asarray(out)
    except Exception as exc:  # noqa: BLE001
        raise ImplementationError(f"{where} returned a {type(out).__name__} that is not an array: {exc}",
                                  config=snip()) from None
    if arr.dtype == object or arr.dtype.kind not in "fiuc":
        raise ImplementationError(f"{where} returned an array of dtype {arr.dtype}; expected float64",
                                  config=snip())
    if arr.dtype.kind in "iu":
        raise ImplementationError(f"{where} returned an integer array ({arr.dtype.name}); expected float64",
                                  config=snip())
    prob = _dtype_problem(arr.dtype)
    if prob:
        raise ImplementationError(f"{where} returned {prob}", config=snip())
    if arr.shape != shape:
        hint = ""
        if arr.shape == shape[::-1]:
            hint = " (transposed? the gradient is (n, d): one row per mean)"
        elif arr.size == shape[0] * shape[1]:
            hint = f" (reshape to (n, d) = {shape})"
        raise ImplementationError(f"{where} returned shape {arr.shape}; expected (n, d) = {shape}{hint}",
                                  config=snip())
    return np.array(arr, dtype=np.float64)
