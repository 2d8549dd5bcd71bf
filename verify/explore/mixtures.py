"""Study ``mixtures``: does gradient descent recover every component of a mixture ground truth?

Data x ~ sum_k pi_k N(mu*_k, I) (:mod:`verify.engine.mixture`), K components with equal weights
placed at a separation s: K = 2 at +-s/2 e_1; K = 3 at the corners of an equilateral triangle of
side s in the (e_1, e_2) plane (d >= 2; on the line at -s, 0, s when d = 1).  The student has n >= K
means started at scale * z_i (z_i ~ N(0, I_d), seeded), noise level t, step eta (scaled convention),
through the one descent loop (:func:`verify.simulate.mixture.mixture_descent`).  The outcome
(:func:`verify.simulate.mixture.recovery`): every component has exactly one mean within a quarter
of the smallest scaled separation (``all_recovered``), some have none (``missing``), some several
(``duplicated``).  A run whose loss falls below what float64 resolves (the engine refuses:
AccuracyError) ends there and is classified at its last recorded state, with the reason in its row.
The recovery diagram: the outcome over (separation, scale) per (K, n, d).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from verify.engine.tolerances import AccuracyError
from verify.simulate.mixture import mixture_descent, recovery_at

from .runner import cache_key

__all__ = ["MixtureCell", "ground_truth", "cells", "report"]

RECORD_EVERY = 10


def ground_truth(K: int, d: int, separation: float) -> np.ndarray:
    """The K component means (rows) at the stated separation (module doc)."""
    mu = np.zeros((K, d))
    if K == 1:
        return mu
    if K == 2:
        mu[:, 0] = (-separation / 2, separation / 2)
        return mu
    if d == 1:
        mu[:, 0] = separation * (np.arange(K) - (K - 1) / 2)
        return mu
    ang = 2 * math.pi * np.arange(K) / K + math.pi / 2
    radius = separation / (2 * math.sin(math.pi / K))  # the polygon's side is the separation
    mu[:, 0], mu[:, 1] = radius * np.cos(ang), radius * np.sin(ang)
    return mu


@dataclass(frozen=True)
class MixtureCell:
    K: int
    n: int
    d: int
    separation: float
    scale: float
    t: float = 0.5
    eta: float = 0.5
    steps: int = 200
    seed: int = 0
    tol: float = 1e-10

    def params(self) -> dict:
        return asdict(self)

    def key(self) -> str:
        return cache_key({"study": "mixtures", **self.params()})

    def run(self) -> dict:
        t0 = time.perf_counter()
        stars = ground_truth(self.K, self.d, self.separation)
        mu0 = self.scale * np.random.default_rng(self.seed).standard_normal((self.n, self.d))
        weights = np.full(self.K, 1.0 / self.K)
        seps = [np.linalg.norm(a - b) for i, a in enumerate(stars) for b in stars[i + 1:]]
        radius = 0.25 * math.exp(-self.t) * min(seps) if seps else 0.1
        last = {"mu": mu0, "step": 0}
        reason = ""

        def keep(step, mu):
            last.update(mu=mu, step=step)
            return False

        try:
            run = mixture_descent(mu0, stars, weights, self.t, self.eta, self.steps, record_every=RECORD_EVERY,
                                  tol=self.tol, callback=keep)
            final_mu, loss, loss_err, steps_run = run.mu, float(run.loss[-1]), float(run.loss_err[-1]), self.steps
        except AccuracyError as exc:
            # below float64's resolution of the loss (or otherwise uncertifiable): stop at the last record
            reason = f"engine refused after step {last['step']}: {exc}"
            final_mu, loss, loss_err, steps_run = last["mu"], math.nan, math.nan, last["step"]
        D = math.exp(-self.t) * np.linalg.norm(final_mu[:, None, :] - stars[None, :, :], axis=2)
        rec = recovery_at(D, radius)
        row = {"study": "mixtures", **self.params(), "outcome": rec.outcome, "recovered": rec.recovered,
               "missing": rec.missing, "duplicated": rec.duplicated, "stray": rec.stray,
               "nearest": ";".join(f"{x:.3g}" for x in rec.nearest), "radius": radius, "final_loss": loss,
               "final_loss_err": loss_err, "steps_run": int(steps_run), "reason": reason,
               "seconds": time.perf_counter() - t0}
        return row


def cells(opts) -> list:
    ex = opts.extra
    return [MixtureCell(K=int(K), n=int(n), d=int(d), separation=float(s), scale=float(c), t=float(t),
                        eta=float(eta), steps=int(opts.steps), seed=seed)
            for K in ex["K"] for n in opts.n if n >= K for d in opts.d for s in ex["separations"]
            for c in ex["scales"] for t in opts.t for eta in opts.eta for seed in range(opts.seeds)]


def report(opts, rows) -> tuple[dict, dict]:
    groups = {}
    for r in rows:
        groups.setdefault((r["K"], r["n"], r["d"]), []).append(r)
    entries = []
    for (K, n, d), rs in sorted(groups.items()):
        counts = {}
        for r in rs:
            counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
        entries.append({"K": K, "n": n, "d": d, "counts": counts,
                        "cells": [{k: r[k] for k in ("separation", "scale", "seed", "outcome", "recovered",
                                                     "missing", "duplicated", "final_loss", "steps_run")} for r in rs]})
    return {"recovery": entries}, {"mixture_recovery.png": lambda path: _figure(groups, path)}


_COLOURS = {"all_recovered": "#2ca02c", "missing": "#d62728", "duplicated": "#ff7f0e",
            "missing_and_duplicated": "#9467bd"}


def _figure(groups, path) -> None:
    from .figures import _save, plt

    keys = sorted(groups)
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.8), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for r in groups[key]:
            ax.scatter(r["separation"], r["scale"], s=120, color=_COLOURS[r["outcome"]], edgecolor="k")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("separation of the components |mu*_k - mu*_l|")
        ax.set_ylabel("initial scale of the means")
        ax.set_title(f"K={key[0]}, n={key[1]}, d={key[2]}")
    for name, c in _COLOURS.items():
        axes[0][0].scatter([], [], color=c, edgecolor="k", label=name)
    axes[0][0].legend(fontsize=7, loc="best")
    fig.suptitle("Mixture recovery by gradient descent")
    fig.tight_layout()
    _save(fig, path)
