"""The phase diagrams: the outcome over (radius, t) at a fixed step and over (radius, eta) at a
fixed noise level -- the initializations between the two extremes the paper proves (exponentially
small, Theorem 3.2; far and random, Theorem 3.5), which the paper names as open.

The theorems' sufficient conditions drawn on them (:mod:`.figures`): Theorem 2.1's
t > log n + log M(r) + 2 (M(r) = max_i |mu_i(0) - mu*|), Theorem 3.1's t <= log(M(r) / s*(n))
(n >= 3: the stationary point with L > 0 lies in the initial range below it), Theorem 3.2's radius
(log10 given; it is far off any axis), the theorem's step 1/(n^4 d^2) and the stability limit
2 / lambda_max at the all-converged limit point (eta = n, scaled convention).  In the (radius, eta)
panel a cell at step eta runs steps x max(1, eta_t / eta) steps (eta_t: the (radius, t) panel's
step), the same time for every small step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from verify.analysis.cluster import theorem_radius_log10
from verify.analysis.large_noise import theorem_step, threshold
from verify.analysis.stability import collapsed_lambda_max, step_limit
from verify.analysis.stationary.path import max_noise_level
from verify.simulate import outcomes

from .runner import Cell, initial_distance
from .sweeps import log_grid, seeds_for

__all__ = ["Panel", "build", "summarize", "theorem_lines"]


@dataclass
class Panel:
    name: str
    y: str  # "t" or "eta"
    base: dict
    radii: tuple
    ys: tuple
    seeds: tuple
    rows: list = field(default_factory=list)

    eta_ref: float = 0.0  # (radius, eta) panel: cells at eta get steps x max(1, eta_ref / eta)

    def cells(self) -> list[Cell]:
        return [Cell(**{**self.base, "radius": r, self.y: y, "seed": s, "steps": self.steps_at(y)})
                for y in self.ys for r in self.radii for s in self.seeds]

    def steps_at(self, y: float) -> int:
        """The same time eta x steps for every step size of an eta panel (small steps need more)."""
        if self.y != "eta" or not self.eta_ref:
            return self.base["steps"]
        return int(math.ceil(self.base["steps"] * max(1.0, self.eta_ref / y)))


def build(opts) -> list[Panel]:
    lo, hi, pts = opts.radius_range
    radii = log_grid(lo, hi, pts)
    tl, th, tp = opts.t_range
    el, eh, ep = opts.eta_range
    ts = tuple(float(x) for x in np.linspace(tl, th, tp))
    etas = log_grid(el, eh, ep)
    panels = []
    for n in opts.n:
        for d in opts.d:
            for M0 in opts.M0:
                for layout in opts.layout:
                    common = dict(n=n, d=d, M0=M0, layout=layout, convention=opts.convention, steps=opts.steps)
                    seeds = seeds_for(layout, opts.seeds)
                    for eta in opts.eta:
                        panels.append(Panel(f"(radius, t) n={n} d={d} M0={M0:g} {layout} eta={eta:g}", "t",
                                            {**common, "eta": eta}, radii, ts, seeds))
                    for t in opts.t:
                        panels.append(Panel(f"(radius, eta) n={n} d={d} M0={M0:g} {layout} t={t:g}", "eta",
                                            {**common, "t": t}, radii, etas, seeds, eta_ref=opts.eta[0]))
    return panels


def theorem_lines(panel: Panel) -> dict:
    """The theorems' conditions for this panel (module doc), as numbers and curves over its radii."""
    b = panel.base
    n, d = b["n"], b["d"]
    M = [max(initial_distance(Cell(**{**b, "radius": r, "seed": s, "t": b.get("t", 0.0), "eta": b.get("eta", 1.0)}))
             for s in panel.seeds) for r in panel.radii]
    out = {"radii": list(panel.radii), "M": M, "thm_3_2_radius_log10": theorem_radius_log10(b["M0"], n, d)
           if b["M0"] > 0 else None}
    if panel.y == "t":
        out["thm_2_1_t"] = [threshold(n, m) for m in M]
        out["thm_3_1_t"] = [max_noise_level(m, n) for m in M] if n >= 3 else None
    else:
        out["theorem_step"] = theorem_step(n, d)
        out["stability_limit_all_converge"] = step_limit(collapsed_lambda_max(n), t=b["t"], convention=b["convention"])
        out["stability_limit_one_survivor"] = step_limit(collapsed_lambda_max(1), t=b["t"], convention=b["convention"])
    return out


def summarize(panels: list[Panel]) -> list[dict]:
    out = []
    for p in panels:
        counts = {o: sum(r["outcome"] == o for r in p.rows) for o in outcomes.RUN_OUTCOMES}
        grid = {f"{y:.4g}": [sorted({r["outcome"] for r in p.rows if r[p.y] == y and r["radius"] == x})
                             for x in p.radii] for y in p.ys}
        out.append({"panel": p.name, "y": p.y, **{k: v for k, v in p.base.items() if k != "steps"},
                    "steps": p.base["steps"], "seeds": list(p.seeds), "cells": len(p.rows), "counts": counts,
                    "outcomes": grid, "theorems": theorem_lines(p)})
    return out
