"""Check ``invariance``: the implementation against itself under a common shift of the means and
mu*, a permutation of the means and a rotation of space."""

from __future__ import annotations

import time

import numpy as np

from verify.checks.rotations import random_rotation

from . import tolerances as tl
from .configs import python_snippet
from .context import GateContext, entry_arrays, entry_reference, fmt_array, grad_scale, max_coordinate
from .rows import Judge, Row
from .worker import CallTimedOut

__all__ = ["invariance"]


def invariance(ctx: GateContext) -> list[Row]:
    """L_t is unchanged, and the gradient moves along, when

    * all means and mu* are shifted by the same vector c (gradient unchanged);
    * the means are permuted (gradient rows permuted);
    * space is rotated, mu_i -> Q mu_i, mu* -> Q mu* (gradient rows rotated).

    The implementation is compared with itself.  Deterministic: tolerance twice
    the deterministic allowance at that configuration.  Stochastic: a two-sample
    comparison of the means over seeds (standard errors combined), Bonferroni
    over the row.  Configurations with coordinates above 1e6 are left out (a
    shift or rotation there changes the float64 inputs themselves).
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(12345)
    entries = [e for e in ctx.published() if max_coordinate(e) <= tl.FD_MAX_COORD]
    rows = {q: Judge(Row("invariance", q)) for q in ("shift", "permute", "rotate")}
    plans = []
    for e in entries:
        mu, mu_star, t = entry_arrays(e)
        n, d = mu.shape
        c = rng.uniform(-2.0, 2.0, size=d).round(3)
        perm = rng.permutation(n)
        if n > 1 and np.all(perm == np.arange(n)):
            perm = np.roll(perm, 1)
        Q = random_rotation(d, rng)
        plans.append((e, mu, mu_star, t, c, perm, Q))
    m = {"shift": 0, "permute": 0, "rotate": 0}
    for e, mu, mu_star, t, c, perm, Q in plans:
        for q in m:
            if q == "permute" and mu.shape[0] == 1:
                continue
            m[q] += 1 + mu.size
    for i, (e, mu, mu_star, t, c, perm, Q) in enumerate(plans):
        ctx.tell(i, len(plans), e["name"])
        if ctx.timed_out_before(e["name"], rows.values()):
            continue
        try:
            _compare(ctx, rows, m, e, mu, mu_star, t, c, perm, Q)
        except CallTimedOut as exc:
            ctx.time_out(e["name"], exc, rows.values())
    out = [rows[q].finish() for q in ("shift", "permute", "rotate")]
    for r in out:
        r.seconds = (time.perf_counter() - t0) / 3
    return out


def _compare(ctx, rows, m, e, mu, mu_star, t, c, perm, Q) -> None:
    """The three invariances at one published configuration."""
    n, d = mu.shape
    base_L = ctx.measure("loss", mu, mu_star, t)
    base_G = ctx.measure("grad", mu, mu_star, t)
    L_ref, _, G_ref, _ = entry_reference(e)
    lscale = abs(L_ref) if L_ref else 1.0
    gscale = grad_scale(L_ref, G_ref, mu, mu_star, t)
    transforms = {
        "shift": (mu + c, mu_star + c, lambda G: G),
        "permute": (mu[perm], mu_star, lambda G: G[perm]),
        "rotate": (mu @ Q.T, Q @ mu_star, lambda G: G @ Q.T),
    }
    for q, (mu2, ms2, move) in transforms.items():
        if q == "permute" and n == 1:
            continue
        what = {"shift": f"shift c = {c.tolist()!r}", "permute": f"permutation {perm.tolist()!r}",
                "rotate": f"rotation Q = {fmt_array(Q)}"}[q]
        snippet = python_snippet(mu, mu_star, t, name=e["name"]) + _transform_snippet(q, c, perm, Q)
        L2 = ctx.measure("loss", mu2, ms2, t)
        G2 = ctx.measure("grad", mu2, ms2, t)
        for (a, b, scale, cond, label) in ((base_L, L2, lscale, float(e["cond_loss"]), "loss"),
                                           (base_G, G2, gscale, float(e["cond_grad"]), "grad")):
            expected = move(a.value) if label == "grad" else a.value
            with np.errstate(invalid="ignore"):
                err = np.abs(b.value - expected) / scale
            mdb = capped = None
            if a.se is None:
                tol = 2.0 * tl.deterministic_tolerance(0.0, cond)
            else:
                sa = move(a.se) if label == "grad" else a.se
                se = np.sqrt(sa**2 + b.se**2)
                tol, capped, mdb = tl.stochastic_tolerance(se / scale, m[q], a.repeats,
                                                           2.0 * tl.deterministic_tolerance(0.0, cond))
            rows[q].add(e["name"], snippet, err, tol, fmt_array(expected), fmt_array(b.value),
                        f"{label} after {what}", mdb, capped)


def _transform_snippet(q, c, perm, Q) -> str:
    if q == "shift":
        return f"c = np.array({c.tolist()!r})\nmu2, mu_star2 = mu + c, mu_star + c  # expect equal loss, equal grad\n"
    if q == "permute":
        return f"perm = {perm.tolist()!r}\nmu2, mu_star2 = mu[perm], mu_star  # expect equal loss, grad[perm]\n"
    return (f"Q = np.array({Q.tolist()!r})\nmu2, mu_star2 = mu @ Q.T, Q @ mu_star  "
            f"# expect equal loss, grad @ Q.T\n")
