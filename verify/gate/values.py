"""Checks ``reference_values`` and ``generated_values``: loss and gradient against the published
reference values at the fixed regression configurations, and against the reference computed now
(float64 cubature, with error) at reproducible generated configurations."""

from __future__ import annotations

import time

import numpy as np

from verify.engine import reference
from verify.engine.time_limit import TimeLimitExceeded, time_limit

from . import tolerances as tl
from .configs import generated_configurations, python_snippet
from .context import GateContext, entry_arrays, entry_reference, fmt_array, grad_scale, spread
from .rows import Judge, Row
from .worker import CallTimedOut

__all__ = ["reference_values", "generated_values", "compare_values", "judge_value"]


def compare_values(ctx: GateContext, rows: dict, name: str, snippet: str, mu, mu_star, t,
                    L, Le, G, Ge, cond_L, cond_G, m_loss: int, m_grad: int):
    """Compare loss and gradient at one point with reference (L, Le, G, Ge) and record in rows."""
    gscale = grad_scale(L, G, mu, mu_star, t)
    lscale = abs(L) if L != 0 else 1.0
    for qty, ref, ref_err, scale, cond, m in (("loss", L, Le, lscale, cond_L, m_loss),
                                              ("grad", G, Ge, gscale, cond_G, m_grad)):
        judge_value(rows[qty], qty, ctx.measure(qty, mu, mu_star, t), name, snippet, ref, ref_err, scale, cond, m)


def judge_value(judge: Judge, qty: str, got, name: str, snippet: str, ref, ref_err, scale: float, cond: float,
                m: int) -> None:
    """One measured value (:class:`~verify.gate.context.Measured`) against the reference ``ref`` with
    absolute error ``ref_err``, relative to ``scale``; the tolerance from :mod:`verify.gate.tolerances`
    (deterministic, or from the spread over seeds for a row of ``m`` scalars)."""
    with np.errstate(invalid="ignore"):
        err = np.abs(got.value - ref) / scale
    ref_rel = np.asarray(ref_err) / scale
    mdb = capped = None
    if got.se is None:
        tol = tl.deterministic_tolerance(float(np.max(ref_rel)), cond)
        detail = f"scale {scale:.3g}, cond {cond:.2g}"
    else:
        # plus the deterministic allowance: where the spread vanishes (collapsed means,
        # n = 1, saturated weights) a sampler is judged as the float64 code it then is
        tol, capped, mdb = tl.stochastic_tolerance(got.se / scale, m, got.repeats,
                                                   ref_rel + tl.deterministic_tolerance(0.0, cond))
        detail = f"scale {scale:.3g}, {got.repeats} seeds, standard error (rel) up to {np.max(got.se) / scale:.2g}"
    if qty == "grad" and np.size(err):
        e = np.where(np.isnan(err), np.inf, err)
        i, j = np.unravel_index(int(np.argmax(e / np.maximum(tol, 1e-300))), e.shape)
        detail += f"; worst component [{i}, {j}]: expected {float(ref[i, j])!r}, got {float(got.value[i, j])!r}"
    judge.add(name, snippet, err, tol, fmt_array(ref), fmt_array(got.value), detail, mdb, capped)


def reference_values(ctx: GateContext) -> list[Row]:
    """Loss and gradient against the published reference values (``verify/data/reference_values.json``)."""
    t0 = time.perf_counter()
    entries = ctx.published()
    rows = {q: Judge(Row("reference_values", q)) for q in ("loss", "grad")}
    m_loss = len(entries)
    m_grad = sum(len(e["mu"]) * len(e["mu_star"]) for e in entries)
    for i, e in enumerate(entries):
        ctx.tell(i, len(entries), e["name"])
        if ctx.timed_out_before(e["name"], rows.values()):
            continue
        mu, mu_star, t = entry_arrays(e)
        L, Le, G, Ge = entry_reference(e)
        snippet = python_snippet(mu, mu_star, t, name=e["name"])
        try:
            compare_values(ctx, rows, e["name"], snippet, mu, mu_star, t, L, Le, G, Ge,
                           float(e["cond_loss"]), float(e["cond_grad"]), m_loss, m_grad)
        except CallTimedOut as exc:
            ctx.time_out(e["name"], exc, rows.values())
    out = [rows["loss"].finish(), rows["grad"].finish()]
    for r in out:
        r.seconds = (time.perf_counter() - t0) / 2
    return out


def generated_values(ctx: GateContext) -> list[Row]:
    """The same comparison at generated configurations; the reference is computed now (float64, with error)."""
    t0 = time.perf_counter()
    configs = generated_configurations(max(1, ctx.generated // (2 if ctx.quick else 1)), seed=20251122)
    rows = {q: Judge(Row("generated_values", q)) for q in ("loss", "grad")}
    m_loss = len(configs)
    m_grad = sum(c.n * c.d for c in configs)
    skipped, slow = [], []
    for i, c in enumerate(configs):
        ctx.tell(i, len(configs), c.name)
        mu, mu_star, t = c.arrays()
        try:
            with time_limit(ctx.time_limit):  # the reference's own cost, under the same limit as a call
                ev = reference.evaluate(mu, mu_star, t)
        except reference.AccuracyError:  # the reference cannot certify this point: not the implementation's fault
            skipped.append(c.name)
            continue
        except TimeLimitExceeded:  # nor when the reference itself would take too long there
            slow.append(c.name)
            continue
        L, Le = float(ev.loss), float(ev.loss_err)
        G, Ge = np.asarray(ev.grad, dtype=np.float64), np.asarray(ev.grad_err, dtype=np.float64)
        cond_L = tl.loss_condition(mu, mu_star, L, G)
        # generated coordinates are bounded (|x| <= 4): the gradient's condition is estimated
        # by the loss's times (1 + R) instead of by extra cubatures; U * cond stays < 1e-13 here
        cond_G = cond_L * (1.0 + spread(mu, mu_star, t))
        try:
            compare_values(ctx, rows, c.name, c.snippet(), mu, mu_star, t, L, Le, G, Ge, cond_L, cond_G, m_loss,
                           m_grad)
        except CallTimedOut as exc:
            ctx.time_out(c.name, exc, rows.values())
    notes = []
    if skipped:
        notes.append(f"reference could not certify {len(skipped)} point(s), skipped")
    if slow:
        notes.append(f"reference out of time at {', '.join(slow)}, skipped")
    note = "; ".join(notes)
    out = [rows["loss"].finish(note), rows["grad"].finish(note)]
    for r in out:
        r.seconds = (time.perf_counter() - t0) / 2
    return out
