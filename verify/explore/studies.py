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
from .figures import phase_figure
from .sweeps import EXTEND, refine

__all__ = ["StudyResult", "run_study", "plan", "SECONDS_PER_STEP", "SERIES_STUDIES", "GRID_STUDIES"]

#: Seconds per gradient-descent step of a d = 1 cell (k = 1 engine path), measured on the shared
#: 2-core machine (2.5-4.5 ms); used only for the estimate printed before a full run.  d >= 2
#: far-apart cells cost far more until the engine's speed work lands (proofs_map.md).
SECONDS_PER_STEP = 4e-3
#: Cells stop early once decided; at budget quick they ran 5-30% of their largest step count.
TYPICAL_FRACTION = 0.2

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
    """Cell count of round 0, the most cells the refinement rounds can add, and time estimates."""
    if opts.study == "phase":
        first = sum(len(p.cells()) for p in phase.build(opts))
        more = 0
    elif opts.study in GRID_STUDIES:  # (their steps cost more than a d = 1 step: the estimate is a floor)
        first, more = len(GRID_STUDIES[opts.study].cells(opts)), 0
    else:
        series = SERIES_STUDIES[opts.study].build(opts)
        first = sum(len(s.bracket.initial) * len(s.seeds) for s in series)
        more = sum(opts.rounds * opts.per_round * len(s.seeds) for s in series)
    steps = opts.steps
    if opts.scheduler is not None:  # a Dask cluster's size is not known here: the time for one worker
        workers, on = 1, "one Dask worker (divide by the cluster's workers)"
    else:  # the local pool's default is every core (executors.LocalPool)
        workers = opts.workers or os.cpu_count() or 1
        on = f"{workers} local worker(s)"
    upper = (first + more) * opts.max_steps * SECONDS_PER_STEP / workers
    typical = (first + more) * steps * SECONDS_PER_STEP * TYPICAL_FRACTION / workers
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
