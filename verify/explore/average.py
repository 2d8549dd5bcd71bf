"""Study ``average``: gradient descent on the time-averaged loss L_bar from Figure 1's initializations.

The paper proves two regimes at one noise level t: all means converge when t is large (Theorem
2.1), one survives when t is small (Theorems 3.5-3.7), and Figure 1 shows both at t = 0 (M = 4: all
converge; M = 6: one).  Diffusion models train on L_bar = integral of lambda(t) L_t dt over a window of
noise levels (:mod:`verify.engine.time_average`).  Each cell runs descent on L_bar
(:func:`verify.simulate.averaged.averaged_descent`, unscaled means) from Figure 1's start: n means
at M e_1 + 1e-7 z_i (z_i ~ N(0, I_d), seeded), mu* = 0, for a weighting and a window.  Its row: the
outcome in the shared vocabulary (:func:`verify.simulate.outcomes.classify`), the survivors, the
loss's log-log slope and its log-rate per step over the last half of the run (an exponential decay
shows as a steep log-log slope and a steady log-rate), the engine's worst error along the run.

A blow-up is decided by the cluster studies' rule: a mean beyond
:func:`verify.analysis.cluster_runs.blow_up_bound` (BLOW_UP_FACTOR x (its largest distance at the
start + 1)) or non-finite (:func:`verify.simulate.outcomes.blown_up`), checked at every record and
at least every :data:`verify.explore.runner.RECORD_EVERY` steps (the cells' record spacing: the
records here are on a log grid, sparse late in a run, and a mean past the bound is seen within
RECORD_EVERY steps all the same).  The run stops there, before the engine is asked at that step,
and the cell is ``oscillates_or_blows_up`` with the step and the distance in its reason.  The
factor's reason is the cluster runs': a converging mean stays within its start and a receding
loser grows like log tau, so only a step that throws the means out gets beyond the bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from verify.analysis.cluster_runs import BLOW_UP_FACTOR, blow_up_bound
from verify.analysis.rates import log_grid
from verify.engine.tolerances import AccuracyError, RangeError
from verify.simulate import outcomes
from verify.simulate.averaged import averaged_descent

from .runner import RECORD_EVERY, cache_key

__all__ = ["AverageCell", "cells", "report", "SPREAD"]

#: The spread of Figure 1's start around M e_1 (its 1e-7 z_i).
SPREAD = 1e-7


@dataclass(frozen=True)
class AverageCell:
    M: float
    weighting: str
    t_min: float
    t_max: float
    n: int = 5
    d: int = 3
    eta: float = 0.1
    steps: int = 300
    seed: int = 0
    tol: float = 1e-10

    def params(self) -> dict:
        return asdict(self)

    def key(self) -> str:
        return cache_key({"study": "average", **self.params()})

    def start(self) -> np.ndarray:
        rng = np.random.default_rng(self.seed)
        e1 = np.zeros(self.d)
        e1[0] = self.M
        return e1 + SPREAD * rng.standard_normal((self.n, self.d))

    def run(self) -> dict:
        t0 = time.perf_counter()
        row = {"study": "average", **self.params()}
        last = {}
        mu0, star = self.start(), np.zeros(self.d)
        bound = blow_up_bound(float(np.max(np.linalg.norm(mu0 - star, axis=1))))

        def stopped(outcome, step, reason, distances=None):
            blown = outcomes.blown_up(distances, bound) if distances is not None else ()
            row.update(outcome=outcome, survivors=0,
                       mean_outcomes=";".join(outcomes.BLOWS_UP if b else outcomes.UNDECIDED for b in blown),
                       final_loss=math.nan, final_loss_err=math.nan, loss_slope=math.nan, loss_log_rate=math.nan,
                       final_distances="" if distances is None else ";".join(f"{x:.4g}" for x in distances),
                       max_grad_rel_err=math.nan, steps_run=int(step), reason=reason,
                       seconds=time.perf_counter() - t0)
            return row

        try:
            run = averaged_descent(mu0, star, self.t_min, self.t_max, self.eta, self.steps,
                                   weighting=self.weighting, record_at=log_grid(self.steps), tol=self.tol,
                                   callback=lambda s, mu: last.update(step=s) and False,
                                   watch=_blow_up_watch(star, bound))
        except _BlownUp as exc:
            far = float(np.max(exc.distances))
            return stopped(outcomes.OSCILLATES_OR_BLOWS_UP, exc.step,
                           f"blew up at step {exc.step}: a mean at distance {far:.4g} from mu*, beyond "
                           f"{BLOW_UP_FACTOR:g} x (start distance + 1) = {bound:.4g}; the run stopped there",
                           exc.distances)
        except (AccuracyError, OverflowError) as exc:
            # the engine refused a step, or a mean left float64's range (the start is inside it,
            # verify.explore.limits: a blow-up): the row says where and why
            step = last.get("step", 0)
            if isinstance(exc, (RangeError, OverflowError)):
                return stopped(outcomes.OSCILLATES_OR_BLOWS_UP, step,
                               f"a mean left float64's range after step {step} ({exc})")
            return stopped(outcomes.UNDECIDED, step, f"engine refused at step > {step}: {exc}")
        out = outcomes.classify(run)
        s, L = run.steps.astype(float), run.loss
        half = (s >= s[-1] / 2) & (s > 0) & (L > 0)
        slope = rate = math.nan
        if half.sum() >= 3:
            slope = float(np.polyfit(np.log(s[half]), np.log(L[half]), 1)[0])
            rate = float(np.polyfit(s[half], np.log(L[half]), 1)[0])
        row.update(outcome=out.run, survivors=int(out.survivors), mean_outcomes=";".join(out.means),
                   final_loss=float(L[-1]), final_loss_err=float(run.loss_err[-1]), loss_slope=slope,
                   loss_log_rate=rate, final_distances=";".join(f"{x:.4g}" for x in run.distances[-1]),
                   max_grad_rel_err=float(np.max(run.grad_rel_err)), steps_run=int(s[-1]), reason=run.stopped,
                   seconds=time.perf_counter() - t0)
        return row


class _BlownUp(Exception):
    """A mean beyond the blow-up bound at a check: ends the run (module doc)."""

    def __init__(self, step: int, distances: np.ndarray):
        super().__init__(f"blow-up at step {step}")
        self.step, self.distances = step, distances


def _blow_up_watch(mu_star, bound: float):
    """The check of the module doc, as :func:`verify.simulate.averaged.averaged_descent`'s ``watch``."""
    def watch(step, mu, record):
        if step % RECORD_EVERY and not record:
            return
        with np.errstate(over="ignore"):  # a distance past float64 is inf: blown up
            dist = np.linalg.norm(mu - mu_star, axis=1)
        if outcomes.blown_up(dist, bound).any():
            raise _BlownUp(int(step), dist)
    return watch


def cells(opts) -> list:
    """One cell per M0 (Figure 1's M), weighting, window and seed of the options."""
    ex = opts.extra
    return [AverageCell(M=float(M), weighting=w, t_min=float(a), t_max=float(b), n=int(n), d=int(d),
                        eta=float(eta), steps=int(opts.steps), seed=seed)
            for M in opts.M0 for w in ex["weightings"] for a, b in ex["windows"] for n in opts.n for d in opts.d
            for eta in opts.eta for seed in range(opts.seeds)]


def report(opts, rows) -> tuple[dict, dict]:
    """Summary entries (one per cell, the headline numbers) and the loss figure."""
    entries = [{k: r[k] for k in ("M", "weighting", "t_min", "t_max", "n", "d", "eta", "seed", "outcome",
                                  "survivors", "final_loss", "loss_slope", "loss_log_rate", "max_grad_rel_err",
                                  "steps_run", "reason")} for r in rows]
    return {"average": entries}, {"average_outcomes.png": lambda path: _figure(rows, path)}


def _figure(rows, path) -> None:
    from .figures import _save, plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for r in rows:
        label = f"M={r['M']:g}, {r['weighting']}, t in [{r['t_min']:g}, {r['t_max']:g}]: {r['outcome']}"
        ax.bar(label, r["survivors"], color="#2ca02c" if r["outcome"] == outcomes.ALL_CONVERGE else "#1f77b4")
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color="#2ca02c", label="all converge"),
                       Patch(color="#1f77b4", label="other outcome (named under its bar)")], fontsize=7, loc="best")
    ax.set_xlabel("cell: M, weighting, window of t: outcome")
    ax.set_ylabel("survivors (means -> mu*)")
    ax.set_title("Descent on the time-averaged loss from Figure 1's starts")
    ax.tick_params(axis="x", labelrotation=75, labelsize=7)
    fig.tight_layout()
    _save(fig, path)
