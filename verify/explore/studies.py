"""Run a study end to end: its cells (and refinement rounds) on a pool, its summary and figures.

:func:`run_study` returns a :class:`StudyResult`: every row (the tidy table), the summary (the
options, the fitted boundaries with their brackets and the theorems' conditions), and figure
drawers ``{file name: callable(path)}``.  :func:`plan` states the cell count and a time estimate
before anything runs (``--budget full`` prints it).

Adding a study that refines boundaries in rounds: a module with ``build(opts) -> [Series]`` and
``report(series) -> (summary entries, {figure file: draw(path)})`` (see :mod:`.noise`), listed in
:data:`SERIES_STUDIES`; its name, swept options and budget sizes in :mod:`.grid` (``STUDIES``,
``SWEEPS``, ``BUDGETS``) and a line of help in :mod:`.command`.  Nothing else dispatches on names.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

from . import average, mixtures, noise, phase, radius, step
from .cache import Cache, source_hash
from .executors import run_cells
from .sizes import SECONDS_PER_STEP, TYPICAL_FRACTION, cell_count, estimate
from .figures import phase_figure
from .sweeps import EXTEND, refine

__all__ = ["StudyResult", "run_study", "plan", "SECONDS_PER_STEP", "TYPICAL_FRACTION", "SERIES_STUDIES", "GRID_STUDIES"]

# SECONDS_PER_STEP and TYPICAL_FRACTION: the estimates' rates (verify.explore.sizes, which scales a step's
# cost with n and d: d >= 2 far-apart cells cost more still until the engine's speed work lands, proofs_map.md)

#: Studies whose series are refined in rounds (module doc); ``phase`` runs one fixed grid instead.
SERIES_STUDIES = {"noise": noise, "radius": radius, "step": step}
#: Studies that run one fixed grid of their own cells (each with ``run()``), beyond the single
#: Gaussian (issue 13): a module with ``cells(opts)`` and ``report(opts, rows) -> (entries, figures)``.
GRID_STUDIES = {"average": average, "mixtures": mixtures}


@dataclass
class StudyResult:
    study: str
    rows: list
    summary: dict
    figures: dict = field(default_factory=dict)


def _options_summary(opts) -> dict:
    d = asdict(opts)
    d.pop("extra", None)
    return d


def plan(opts) -> dict:
    """Cell count of round 0, the most cells the refinement rounds can add, and time estimates
    (counted without building a cell: :func:`verify.explore.sizes.cell_count`)."""
    first, more = cell_count(opts)
    typical, upper, on = estimate(opts, first + more)
    workers = 1 if opts.scheduler is not None else opts.workers or os.cpu_count() or 1
    return {"round_0_cells": first, "refinement_cells_at_most": more, "upper_bound_seconds": upper,
            "typical_seconds": typical, "workers": workers, "on": on}


def run_study(opts, pool, cache: Cache, *, progress=None) -> StudyResult:
    """``progress``: a :class:`verify.console.progress.Progress` with one item per round (None: silent)."""
    t0 = time.perf_counter()
    head = {"study": opts.study, "budget": opts.budget, "options": _options_summary(opts),
            "source_hash": source_hash(), "pool": pool.name}
    figures = {}
    if opts.study == "phase":
        panels = phase.build(opts)
        cells = [c for p in panels for c in p.cells()]
        rows = run_cells(cells, pool, cache, label="phase", progress=progress)
        i = 0
        for p in panels:
            m = len(p.cells())
            p.rows = rows[i:i + m]
            i += m
        summaries = phase.summarize(panels)
        body = {"panels": summaries}
        figures["phase_diagram.png"] = lambda path: phase_figure(panels, summaries, path)
    elif opts.study in GRID_STUDIES:
        mod = GRID_STUDIES[opts.study]
        rows = run_cells(mod.cells(opts), pool, cache, label=opts.study, progress=progress)
        body, figures = mod.report(opts, rows)
    else:
        mod = SERIES_STUDIES[opts.study]
        series = mod.build(opts)
        rounds = refine(series, pool, cache, rounds=opts.rounds, per_round=opts.per_round, label=opts.study,
                        progress=progress)
        rows = [r for s in series for r in s.all_rows()]
        entries, figures = mod.report(series)
        body = {"rounds": rounds, "undecided_rerun_factor": EXTEND, **entries}
    counts = {}
    for r in rows:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    summary = {**head, **body, "cells": len(rows), "outcome_counts": counts,
               "seconds": time.perf_counter() - t0, "cell_seconds": sum(r["seconds"] for r in rows)}
    return StudyResult(opts.study, rows, summary, figures)
