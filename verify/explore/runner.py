"""One cell of a study: a frozen parameter record, its run, and its row in the table.

A :class:`Cell` fixes everything a run depends on: n, d, M0 (mu* = M0 e_1; the cluster is centred
at the origin), the radius r and layout of the cluster (:mod:`verify.analysis.layouts`), the noise
level t, the step eta and its convention (default "scaled": with the unscaled one the effective
step at t = 10 is e^{-20} eta and nothing moves), the seed (the Gaussian layout's), the largest
number of steps, the record spacing and the engine's tolerance.  :func:`run_cell` runs it with
:func:`verify.analysis.cluster_runs.run_cluster` (the exact engine gradient; the linearised phase
where the radius is below what float64 resolves relative to |mu*|) and returns a row: every
parameter, M = max_i |mu_i(0) - mu*| (Theorem 2.1's M), the outcome in the shared vocabulary, the
final loss and distances, the steps run and the seconds taken.  An engine that cannot certify a
gradient makes the cell undecided with the reason; the sweep goes on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from dataclasses import dataclass

import numpy as np

from verify.analysis.cluster_runs import RUN_TOL, run_cluster
from verify.analysis.layouts import LAYOUTS, unit_deviations, uses_seed
from verify.simulate.descent import CONVENTIONS

__all__ = ["Cell", "cache_key", "run_cell", "ROW_FIELDS", "initial_distance", "RECORD_EVERY"]

#: Record spacing of the cells: odd, so that a 2-cycle alternates between records (the rule's
#: oscillation and stuck tests see it), and short enough that a blow-up is caught long before
#: float64 overflows (a mean grows by at most ~2 eta per step).
RECORD_EVERY = 11


@dataclass(frozen=True)
class Cell:
    n: int
    d: int
    M0: float
    radius: float
    t: float
    eta: float
    layout: str = "leader"
    seed: int = 0
    convention: str = "scaled"
    steps: int = 4000
    record_every: int = RECORD_EVERY
    tol: float = RUN_TOL

    def __post_init__(self):
        for name in ("n", "d", "seed", "steps", "record_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {v!r}")
        if self.n < 1 or self.d < 1 or self.steps < 1 or self.record_every < 1 or self.seed < 0:
            raise ValueError(f"n, d, steps, record_every must be >= 1 and seed >= 0, got {self}")
        for name in ("M0", "radius", "t", "eta", "tol"):
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating)) or not math.isfinite(v):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        if self.M0 < 0 or self.radius < 0 or self.t < 0:
            raise ValueError(f"M0, radius and t must be >= 0, got {self.M0}, {self.radius}, {self.t}")
        if self.eta <= 0 or self.tol <= 0:
            raise ValueError(f"eta and tol must be > 0, got {self.eta}, {self.tol}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if self.convention not in CONVENTIONS:
            raise ValueError(f"convention must be one of {CONVENTIONS}, got {self.convention!r}")
        if not uses_seed(self.layout) and self.seed != 0:
            raise ValueError(f"the {self.layout} layout does not use a seed; give seed 0, got {self.seed}")
        if self.layout == "opposite" and self.n < 2:
            raise ValueError("the opposite layout needs n >= 2")

    def params(self) -> dict:
        """The parameters as plain Python values (the cache key and the row's first columns)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def key(self) -> str:
        return cache_key(self.params())


def cache_key(params: dict) -> str:
    """A stable hash of a cell's parameters (floats by their exact repr): its key in the cache."""
    text = json.dumps(params, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _plain(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def initial_distance(cell: Cell) -> float:
    """M = max_i |mu_i(0) - mu*| (unscaled): Theorem 2.1's M for this cell."""
    star = np.zeros(cell.d)
    star[0] = cell.M0
    mu0 = cell.radius * unit_deviations(cell.layout, cell.n, cell.d, cell.seed)
    return float(np.max(np.linalg.norm(mu0 - star, axis=1)))


#: The columns of a row, in order.
ROW_FIELDS = (
    "n", "d", "M0", "radius", "t", "eta", "layout", "seed", "convention", "steps", "record_every", "tol",
    "M", "outcome", "survivors", "mean_outcomes", "final_loss", "final_loss_err", "final_max_distance",
    "final_min_distance", "final_distances", "steps_run", "linear_steps", "start", "reason", "seconds",
)


def run_cell(cell: Cell) -> dict:
    """Run one cell and return its row (module doc).  A pure function of the cell (but the
    seconds column), so that it can run in another process or on a Dask worker."""
    if not isinstance(cell, Cell):  # a grid study's own cell (verify.explore.studies.GRID_STUDIES)
        return cell.run()
    t0 = time.perf_counter()
    res = run_cluster(cell.M0, cell.radius, cell.n, cell.eta, d=cell.d, t=cell.t, convention=cell.convention,
                      layout=cell.layout, seed=cell.seed, max_steps=cell.steps, record_every=cell.record_every,
                      tol=cell.tol)
    dist = np.asarray(res.final_distances, dtype=float)
    row = cell.params()
    row.update({
        "M": initial_distance(cell),
        "outcome": res.outcome,
        "survivors": int(res.survivors),
        "mean_outcomes": ";".join(res.means),
        "final_loss": float(res.final_loss),
        "final_loss_err": float(res.final_loss_err),
        "final_max_distance": float(np.max(dist)),
        "final_min_distance": float(np.min(dist)),
        "final_distances": ";".join(f"{x:.6g}" for x in dist),
        "steps_run": int(res.steps),
        "linear_steps": int(res.linear_steps),
        "start": res.start,
        "reason": res.reason,
        "seconds": time.perf_counter() - t0,
    })
    return {k: row[k] for k in ROW_FIELDS}
