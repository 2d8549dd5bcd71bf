"""Checks ``averaged_values`` and ``mixture_values``: the optional objectives against their published
reference values (``verify/data/objective_values.json``, :mod:`verify.gate.objective_export`).

An implementation offers the time-averaged objective with ``loss_avg``/``grad_avg`` and the mixture
objective with ``loss_mix``/``grad_mix`` (:mod:`verify.gate.protocol`); one that does not gets the
rows "not offered", which pass: it is gated exactly as without these checks.  The tolerance is the
single-Gaussian values' (:func:`verify.gate.values.judge_value`): 16 x (the published error / scale
+ 1e-12 + 2^-53 x the published condition number), or from the spread over seeds when stochastic;
the gradient's scale is the published ``grad_scale``.
"""

from __future__ import annotations

import time

import numpy as np

from .context import GateContext
from .objectives import averaged_by_name, mixture_by_name
from .protocol import OPTIONAL_PAIRS
from .rows import Judge, Row
from .values import judge_value
from .worker import CallTimedOut

__all__ = ["averaged_values", "mixture_values", "NOT_OFFERED"]

NOT_OFFERED = "not offered"


def _not_offered(check: str, objective: str) -> list[Row]:
    lm, gm = OPTIONAL_PAIRS[objective]
    return [Row(check, q, status=NOT_OFFERED, note=f"the implementation has no {m}")
            for q, m in (("loss", lm), ("grad", gm))]


def _reference(e: dict):
    L, Le = float(e["loss"]), float(e["loss_err"])
    G = np.array([[float(x) for x in r] for r in e["grad"]], dtype=np.float64)
    Ge = np.array([[float(x) for x in r] for r in e["grad_err"]], dtype=np.float64)
    return L, Le, G, Ge


def _run(ctx: GateContext, check: str, objective: str, entries: list, call) -> list[Row]:
    """Compare each published entry; ``call(e, qty, snippet, seed)`` evaluates the implementation."""
    if objective not in ctx.impl.offers:
        return _not_offered(check, objective)
    t0 = time.perf_counter()
    if ctx.quick:
        entries = [e for e in entries if e.get("quick")]
    rows = {q: Judge(Row(check, q)) for q in ("loss", "grad")}
    m = {"loss": len(entries), "grad": sum(len(e["grad"]) * len(e["grad"][0]) for e in entries)}
    for i, e in enumerate(entries):
        name = e["name"]
        ctx.tell(i, len(entries), name)
        if ctx.timed_out_before(name, rows.values()):
            continue
        snippet = (averaged_by_name(name) if objective == "averaged" else mixture_by_name(name)).snippet()
        L, Le, G, Ge = _reference(e)
        refs = {"loss": (L, Le, abs(L) if L != 0 else 1.0, float(e["cond_loss"])),
                "grad": (G, Ge, float(e["grad_scale"]), float(e["cond_grad"]))}
        try:
            for qty, (ref, ref_err, scale, cond) in refs.items():
                got = ctx.measure_call((check, qty, name), lambda seed, q=qty: call(e, q, snippet, seed))
                judge_value(rows[qty], qty, got, name, snippet, ref, ref_err, scale, cond, m[qty])
        except CallTimedOut as exc:
            ctx.time_out(name, exc, rows.values())
    out = [rows["loss"].finish(), rows["grad"].finish()]
    for r in out:
        r.seconds = (time.perf_counter() - t0) / 2
    return out


def averaged_values(ctx: GateContext) -> list[Row]:
    """``loss_avg``/``grad_avg`` against the published time-averaged values."""
    def call(e, qty, snippet, seed):
        fn = ctx.impl.loss_avg if qty == "loss" else ctx.impl.grad_avg
        return fn(e["mu"], e["mu_star"], e["t_min"], e["t_max"], e["weighting"], config=lambda: snippet, seed=seed)

    entries = ctx.objective_data["averaged"] if "averaged" in ctx.impl.offers else []
    return _run(ctx, "averaged_values", "averaged", entries, call)


def mixture_values(ctx: GateContext) -> list[Row]:
    """``loss_mix``/``grad_mix`` against the published mixture values."""
    def call(e, qty, snippet, seed):
        fn = ctx.impl.loss_mix if qty == "loss" else ctx.impl.grad_mix
        return fn(e["mu"], e["mu_stars"], e["weights"], e["t"], config=lambda: snippet, seed=seed)

    entries = ctx.objective_data["mixtures"] if "mixture" in ctx.impl.offers else []
    return _run(ctx, "mixture_values", "mixture", entries, call)
