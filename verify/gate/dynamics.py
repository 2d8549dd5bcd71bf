"""Check ``dynamics``: gradient descent with the implementation against the published reference
trajectories, and the outcome the paper predicts."""

from __future__ import annotations

import math
import time

import numpy as np

from . import tolerances as tl
from .configs import by_dynamics_name, python_snippet, run_outcome
from .context import GateContext, fmt_array
from .rows import Judge, Row
from .worker import CallTimedOut

__all__ = ["dynamics"]


def _run_trajectory(ctx: GateContext, inst: dict, run: int):
    mu, mu_star, t = (np.array(inst["mu0"], dtype=np.float64), np.array(inst["mu_star"], dtype=np.float64),
                      float(inst["t"]))
    eta, steps, every = float(inst["eta"]), int(inst["steps"]), int(inst["record_every"])
    hist, losses = [], []
    for k in range(steps + 1):
        if k % every == 0:
            hist.append(mu.copy())
        if k < steps:
            seed = ctx.seed + 100_000 * (run + 1) + k
            mu = ctx.impl.step(mu, mu_star, t, eta, seed=seed if ctx.stochastic else None)
            if not np.all(np.isfinite(mu)):
                hist.append(mu.copy())
                break
    for m in (hist[0], hist[-1]):
        losses.append(ctx.impl.loss(m, mu_star, t, seed=ctx.seed) if ctx.stochastic else ctx.impl.loss(m, mu_star, t))
    return np.array(hist), losses


def dynamics(ctx: GateContext) -> list[Row]:
    """Gradient descent with the implementation against the reference trajectories and predicted outcomes.

    Trajectory: the recorded means are compared with the published reference
    trajectory, relative to the initial spread max_i |mu_i(0) - mu*|.
    Deterministic tolerance: SAFETY x (2 ENGINE_TOL) x S_k, where S_k (published)
    is the sensitivity of the recorded means to a relative error in every
    gradient, measured at export time by rerunning the reference with the
    gradient scaled by 1 + 1e-7.  Stochastic: ``dynamics_runs`` runs with
    different seeds, compared by their mean and standard error as elsewhere.
    Outcome: :func:`~verify.gate.configs.run_outcome` of the implementation's run must equal the
    paper's prediction (which the reference run reproduces).
    """
    t0 = time.perf_counter()
    traj = Judge(Row("dynamics", "trajectory"))
    outcome = Judge(Row("dynamics", "outcome", numeric=False))  # equal or not: no error to print
    instances = ctx.data.get("dynamics", [])
    m = sum(len(i["mu_history"]) * len(i["mu0"]) * len(i["mu_star"]) for i in instances)
    runs = ctx.dynamics_runs if ctx.stochastic else 1
    for i, inst in enumerate(instances):
        ctx.tell(i, len(instances), inst["name"])
        mu_star = np.array(inst["mu_star"], dtype=np.float64)
        ref_hist = np.array(inst["mu_history"], dtype=np.float64)
        sens = np.array(inst["sensitivity"], dtype=np.float64)
        scale = float(np.max(np.linalg.norm(ref_hist[0] - mu_star, axis=1)))
        try:
            results = [_run_trajectory(ctx, inst, r) for r in range(runs)]
        except CallTimedOut as exc:
            ctx.time_out(inst["name"], exc, [traj, outcome])
            continue
        snippet = (python_snippet(np.array(inst["mu0"]), mu_star, inst["t"], name=inst["name"])
                   + f"eta, steps = {inst['eta']!r}, {inst['steps']}  # mu <- mu - eta * grad(mu, mu_star, t)\n")
        hists = [h for h, _ in results]
        if any(len(h) != len(ref_hist) for h in hists):
            traj.add(inst["name"], snippet, math.inf, 0.0, "finite means at every step", "non-finite means",
                     "the run produced NaN or inf")
        else:
            H = np.array(hists)  # runs x records x n x d
            mean = H.mean(axis=0)
            with np.errstate(invalid="ignore"):
                err = np.abs(mean - ref_hist) / scale
            det = np.broadcast_to(
                np.minimum(tl.CAP, tl.SAFETY * (2 * tl.ENGINE_TOL * sens[:, None, None] / scale + tl.U * 10)),
                err.shape)
            if not ctx.stochastic:
                tol, mdb, capped = det, None, None
            else:
                se = H.std(axis=0, ddof=1) / math.sqrt(runs)
                tol, capped, mdb = tl.stochastic_tolerance(se / scale, m, runs, det)
            k = int(np.argmax(np.max(err.reshape(len(err), -1), axis=1)))
            traj.add(inst["name"], snippet, err, tol, fmt_array(ref_hist[-1]), fmt_array(mean[-1]),
                     f"relative to the initial spread {scale:.3g}; worst at step {k * int(inst['record_every'])}",
                     mdb, capped)
        # outcome: every run must reproduce the predicted outcome
        expected = by_dynamics_name(inst["name"]).expected  # in the package's outcome vocabulary
        for r, (h, losses) in enumerate(results):
            got = run_outcome(h[0], h[-1], mu_star, losses[0], losses[-1])
            ok = got == expected
            outcome.add(inst["name"], snippet, 0.0 if ok else 1.0, 0.0 if ok else 0.5,
                        f"{expected} ({inst['claim']})", got,
                        f"run {r}: final distances {np.round(np.linalg.norm(h[-1] - mu_star, axis=1), 4).tolist()}, "
                        f"loss {losses[0]:.3g} -> {losses[-1]:.3g}")
    out = [traj.finish(), outcome.finish()]
    out[1].worst_error, out[1].tolerance = (0.0 if out[1].status == "pass" else 1.0), 0.0
    for r in out:
        r.seconds = (time.perf_counter() - t0) / 2
    return out
