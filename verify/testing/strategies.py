"""Hypothesis strategies for valid configurations of the model.

Every strategy takes keyword-only bounds, checks them at once (a clear
``ValueError`` naming the bound), and draws only valid inputs for
:mod:`verify.engine.reference`: finite float64 means of shape (n, d), a ground truth
of shape (d,), a noise level t >= 0 and a step eta > 0.

    >>> from hypothesis import given
    >>> from verify.testing import strategies as vs
    >>> @given(vs.configurations(n=(2, 4), d=(1, 3), max_distance=8.0))
    ... def test_something(cfg): ...

``max_distance`` bounds the pairwise *scaled* distances |m_i - m_j| and
``max_offset`` the scaled distances |m_i - m*|: the quantities the engine's
accuracy targets are stated in.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from .configuration import Configuration

__all__ = ["Configuration", "configurations", "noise_levels", "step_sizes", "scaled_offsets"]


def _range(value, name, lo):
    if isinstance(value, int):
        value = (value, value)
    try:
        a, b = value
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an int or a (min, max) pair, got {value!r}") from None
    if not (isinstance(a, int) and isinstance(b, int)) or a < lo or b < a:
        raise ValueError(f"{name} must satisfy {lo} <= min <= max (integers), got {value!r}")
    return a, b


def _positive(value, name, *, allow_zero=False):
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value!r}")
    return float(value)


def noise_levels(*, min_t: float = 0.0, max_t: float = 3.0):
    """Noise levels t in [min_t, max_t]."""
    min_t = _positive(min_t, "min_t", allow_zero=True)
    max_t = _positive(max_t, "max_t", allow_zero=True)
    if max_t < min_t:
        raise ValueError(f"max_t ({max_t}) must be >= min_t ({min_t})")
    return st.floats(min_t, max_t, allow_nan=False, allow_infinity=False)


def step_sizes(*, min_eta: float = 1e-4, max_eta: float = 0.5):
    """Step sizes eta in [min_eta, max_eta], log-uniform."""
    min_eta = _positive(min_eta, "min_eta")
    max_eta = _positive(max_eta, "max_eta")
    if max_eta < min_eta:
        raise ValueError(f"max_eta ({max_eta}) must be >= min_eta ({min_eta})")
    return st.floats(math.log(min_eta), math.log(max_eta)).map(math.exp)


@st.composite
def _unit_vectors(draw, d):
    v = np.array(draw(st.lists(st.floats(-1, 1), min_size=d, max_size=d)))
    norm = np.linalg.norm(v)
    if norm < 1e-3:
        v = np.zeros(d)
        v[0] = 1.0
        norm = 1.0
    return v / norm


def scaled_offsets(n: int, d: int, *, max_offset: float, max_distance: float | None = None):
    """Scaled offsets a_i = m_i - m* (shape (n, d)) with |a_i| <= max_offset and |a_i - a_j| <= max_distance."""
    max_offset = _positive(max_offset, "max_offset", allow_zero=True)

    @st.composite
    def _offsets(draw):
        rows = []
        for _ in range(n):
            r = draw(st.floats(0, max_offset)) if max_offset > 0 else 0.0
            rows.append(r * draw(_unit_vectors(d)))
        a = np.array(rows).reshape(n, d)
        if max_distance is not None and n > 1:
            spread = max(np.linalg.norm(a[i] - a[j]) for i in range(n) for j in range(n))
            if spread > max_distance:  # shrink towards the first mean (keeps the shape)
                a = a[0] + (a - a[0]) * (max_distance / spread)
        return a

    return _offsets()


def configurations(
    *,
    n=(1, 5),
    d=(1, 3),
    max_offset: float = 4.0,
    max_distance: float | None = 8.0,
    min_t: float = 0.0,
    max_t: float = 3.0,
    max_mu_star: float = 3.0,
):
    """Valid (mu, mu_star, t) configurations.

    ``n``, ``d``: an int or an inclusive (min, max) range.  ``max_offset``
    bounds the scaled distances |m_i - m*|, ``max_distance`` the pairwise
    scaled distances (None: only the offset bound), ``max_mu_star`` the
    unscaled |mu*| (shift invariance makes its value matter only through
    rounding).
    """
    n_lo, n_hi = _range(n, "n", 1)
    d_lo, d_hi = _range(d, "d", 1)
    max_offset = _positive(max_offset, "max_offset", allow_zero=True)
    if max_distance is not None:
        max_distance = _positive(max_distance, "max_distance", allow_zero=True)
    max_mu_star = _positive(max_mu_star, "max_mu_star", allow_zero=True)
    t_strategy = noise_levels(min_t=min_t, max_t=max_t)

    @st.composite
    def _configs(draw):
        nn = draw(st.integers(n_lo, n_hi))
        dd = draw(st.integers(d_lo, d_hi))
        t = draw(t_strategy)
        a = draw(scaled_offsets(nn, dd, max_offset=max_offset, max_distance=max_distance))
        mu_star = draw(st.floats(0, max_mu_star)) * draw(_unit_vectors(dd)) if max_mu_star > 0 else np.zeros(dd)
        # unscaled: mu_i = mu* + e^{t} a_i
        mu = mu_star[None, :] + math.exp(t) * a
        return Configuration(mu, np.asarray(mu_star, dtype=float), float(t))

    return _configs()
