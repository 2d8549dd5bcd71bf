"""A series of cells along one parameter, and its adaptive refinement in rounds of tasks.

A :class:`Series` holds every parameter but one (``param``: "t", "radius" or "eta") and the seeds,
plus a :class:`verify.analysis.brackets.Bracket` in that parameter.  The verdict at a value is
``good`` when every seed's outcome is one the study calls good (all converge; for the step study
also partial recovery: the dynamics settle), ``unknown`` when a seed is undecided and none is
bad, ``bad`` otherwise.  :func:`refine` runs round 0 (every series' initial grid) and then up to
``rounds`` rounds of k points inside each open bracket, every round one :func:`run_cells` call
on the same pool, so a Dask cluster or a local pool sees each round as one batch of tasks.

An undecided seed is run again in the next round with ``EXTEND`` times its steps, up to
``max_steps`` (near a boundary the cluster reaches m* with a wide spread, which shrinks only like
tau^(-1/2): Theorem 2.1's tail); its longer row replaces the shorter one, and it stays undecided
(reported) when ``max_steps`` does not settle it either.
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field

import numpy as np

from verify.analysis.brackets import BAD, GOOD, UNKNOWN, Bracket
from verify.analysis.layouts import uses_seed
from verify.simulate import outcomes

from .executors import run_cells
from .runner import Cell

__all__ = ["Series", "refine", "verdict", "seeds_for", "log_grid", "EXTEND", "radius_range_for",
           "radius_range_note"]

EXTEND = 4


def seeds_for(layout: str, seeds: int) -> tuple:
    """Seeds 0..seeds-1 for the Gaussian layout; the others do not depend on the seed (seed 0)."""
    return tuple(range(seeds)) if uses_seed(layout) else (0,)


def log_grid(lo: float, hi: float, points: int) -> tuple:
    """``points`` log-spaced values from lo to hi as floats; (lo,) for a single point."""
    return tuple(float(x) for x in np.geomspace(lo, hi, points)) if points > 1 else (lo,)


def verdict(rows, good: frozenset) -> str:
    """``good`` when every row's outcome is in ``good``; ``unknown`` when some is undecided and none
    is bad; ``bad`` otherwise (module doc)."""
    outs = [r["outcome"] for r in rows]
    if outs and all(o in good for o in outs):
        return GOOD
    if all(o in good or o == outcomes.UNDECIDED for o in outs):
        return UNKNOWN
    return BAD


@dataclass
class Series:
    name: str
    base: dict  # Cell keyword arguments except ``param`` and ``seed``
    param: str
    seeds: tuple
    bracket: Bracket
    good: frozenset = frozenset({outcomes.ALL_CONVERGE})
    max_steps: int = 0  # undecided seeds are run again up to this many steps (0: base steps)
    rows: dict = field(default_factory=dict)  # value -> rows (one per seed)
    grid: dict | None = None  # where the initial grid came from, for the summary (radius study)

    def cells(self, values) -> list[Cell]:
        return [Cell(**{**self.base, self.param: float(x), "seed": s}) for x in values for s in self.seeds]

    def record(self, value: float, rows: list[dict]) -> None:
        self.rows[float(value)] = rows
        self.bracket.record(value, verdict(rows, self.good))

    def extensions(self) -> list[tuple]:
        """(value, seed index, longer cell) for each undecided seed that may run longer."""
        out = []
        for x, rows in self.rows.items():
            for j, row in enumerate(rows):
                longer = min(row["steps"] * EXTEND, self.max_steps)
                if row["outcome"] == outcomes.UNDECIDED and longer > row["steps"]:
                    out.append((x, j, Cell(**{**self.base, self.param: x, "seed": self.seeds[j], "steps": longer})))
        return out

    def replace(self, value: float, j: int, row: dict) -> None:
        rows = list(self.rows[value])
        rows[j] = row
        self.record(value, rows)

    def all_rows(self) -> list[dict]:
        return [r for x in sorted(self.rows) for r in self.rows[x]]


def refine(series: list[Series], pool, cache, *, rounds: int, per_round: int, label: str, progress=None) -> int:
    """Round 0 and up to ``rounds`` refinement rounds over every series (module doc); returns the
    number of rounds run."""
    done = 0
    for rnd in range(rounds + 1):
        plan, longer = [], []
        for s in series:
            longer += [(s, x, j, cell) for x, j, cell in s.extensions()]
            k = max(per_round, len(s.bracket.initial)) if rnd == 0 else per_round
            values = [x for x in s.bracket.next(k) if float(x) not in s.rows]
            plan.append((s, values))
        cells = [c for _, _, _, c in longer] + [c for s, values in plan for c in s.cells(values)]
        if not cells:
            break
        rows = run_cells(cells, pool, cache, label=f"{label} round {rnd}", progress=progress)
        for (s, x, j, _), row in zip(longer, rows):
            s.replace(x, j, row)
        i = len(longer)
        for s, values in plan:
            for x in values:
                m = len(s.seeds)
                s.record(x, rows[i:i + m])
                i += m
        done = rnd + 1
    return done


#: the default radius range's lower end never goes below this (float64's range)
RADIUS_FLOOR = 1e-300
#: the default radius range is at least this wide (a factor): M0^(1/3) falls below 10 exp(-M0^3) for
#: M0 < ~1.3 (and below exp(-M0^3) itself for M0 < 1, an empty range)
RADIUS_MIN_WIDTH = 10.0


def radius_range_for(M0: float, points: int) -> tuple:
    """The summary's sweep of the initialization scale: exp(-M0^3) to M0^(1/3), floored at 1e-300
    (float64's range), at least a decade wide (exp(-M0^3) .. 10 exp(-M0^3) when M0^(1/3) is below
    that: M0 < ~1.3); M0 = 0 gives 1e-8 to 1.  :func:`radius_range_note` says which applies."""
    lo = max(math.exp(-M0**3), RADIUS_FLOOR) if M0 > 0 else 1e-8
    hi = M0 ** (1 / 3) if M0 > 0 else 1.0
    return (lo, max(hi, lo * RADIUS_MIN_WIDTH), points)


def radius_range_note(M0: float) -> str | None:
    """How :func:`radius_range_for`'s range at ``M0`` differs from exp(-M0^3) .. M0^(1/3); None when it does not."""
    if M0 <= 0:
        return "M0 = 0: 1e-8 .. 1 (exp(-M0^3) .. M0^(1/3) would be 1 .. 0)"
    lo, hi = math.exp(-M0**3), M0 ** (1 / 3)
    if lo < RADIUS_FLOOR:
        return f"lower end floored at {RADIUS_FLOOR:g} (exp(-M0^3) = e^-{M0**3:.4g}, below float64's range)"
    if hi < lo * RADIUS_MIN_WIDTH:
        return (f"widened to a decade, exp(-M0^3) .. 10 exp(-M0^3) (M0^(1/3) = {hi:.3g} "
                f"{'is below' if hi < lo else 'is within a decade of'} exp(-M0^3) = {lo:.3g})")
    return None
