"""Check ``self_consistency``: the gradient against central differences of the implementation's own
loss, independent of the reference."""

from __future__ import annotations

import math
import time

import numpy as np

from verify.checks.richardson import richardson

from . import tolerances as tl
from .configs import python_snippet
from .context import GateContext, entry_arrays, grad_scale, max_coordinate
from .rows import Judge, Row
from .worker import CallTimedOut

__all__ = ["self_consistency"]


def self_consistency(ctx: GateContext) -> list[Row]:
    """The gradient is the gradient of the implementation's own loss.

    For a fixed-seed unit direction u in R^{n x d}, <grad, u> is compared with
    the Richardson extrapolation R = D(h/2) + (D(h/2) - D(h)) / 3 of central
    differences D(h) = (L(mu + h u) - L(mu - h u)) / 2h, h = FD_STEP e^t (the
    loss varies on the length scale e^t in unscaled coordinates).  Error
    bound on R (stated): |R - D(h/2)| (the correction, larger than the O(h^4)
    remainder in the asymptotic range) + 3 ENGINE_TOL |L| / h (the loss's own
    accuracy, amplified by the differencing); tolerance SAFETY times that,
    relative to the gradient's scale.  Stochastic implementations are
    differenced at one fixed seed: their loss is then a smooth function.
    Configurations with coordinates above FD_MAX_COORD are left out.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(777)
    judge = Judge(Row("self_consistency", "grad"))
    entries = [e for e in ctx.published() if max_coordinate(e) <= tl.FD_MAX_COORD]
    for i, e in enumerate(entries):
        ctx.tell(i, len(entries), e["name"])
        u = rng.standard_normal(entry_arrays(e)[0].shape)  # drawn for every entry: the same u whatever is skipped
        if ctx.timed_out_before(e["name"], [judge]):
            continue
        try:
            _compare(ctx, judge, e, u)
        except CallTimedOut as exc:
            ctx.time_out(e["name"], exc, [judge])
    row = judge.finish()
    row.seconds = time.perf_counter() - t0
    return [row]


def _compare(ctx, judge, e, u) -> None:
    """<grad, u> against Richardson-extrapolated central differences of the loss at one configuration."""
    impl, seed = ctx.impl, ctx.seed
    mu, mu_star, t = entry_arrays(e)
    u /= np.linalg.norm(u)
    h = tl.FD_STEP * math.exp(t)
    kw = {"seed": seed} if impl.stochastic else {}
    G = impl.grad(mu, mu_star, t, **kw)
    L0 = impl.loss(mu, mu_star, t, **kw)

    def D(step):
        return (impl.loss(mu + step * u, mu_star, t, **kw) - impl.loss(mu - step * u, mu_star, t, **kw)) / (2 * step)

    D1, D2 = D(h), D(h / 2)
    R, correction, _ = richardson([D1, D2])
    directional = float(np.sum(G * u))
    gscale = grad_scale(L0, G, mu, mu_star, t) if np.all(np.isfinite(G)) and math.isfinite(L0) \
        else 1.0
    bound = correction + 3 * tl.ENGINE_TOL * abs(L0) / h
    tol = min(tl.CAP, tl.SAFETY * bound / gscale)
    err = abs(directional - R) / gscale
    snippet = (python_snippet(mu, mu_star, t, name=e["name"])
               + f"u = np.array({u.tolist()!r})  # unit direction\n"
               + f"h = {h!r}" + (f"; seed = {seed}" if impl.stochastic else "") + "\n")
    judge.add(e["name"], snippet, err, tol, f"{R!r} (finite differences of loss)", f"{directional!r} (<grad, u>)",
              f"scale {gscale:.3g}; D(h) = {D1!r}, D(h/2) = {D2!r}")
