"""The sizes a study can hold and their cost, checked before any work (and before :mod:`.limits`).

A size beyond what a cell or a study can hold does not fail at once: a dimension far too large ran
until numpy refused an array with a traceback; a seed count far too large spent minutes building its
grid in silence.  Each limit below comes from what a cell or the study allocates, held to
``MEMORY_LIMIT``, the memory one evaluation is held to; the quantity behind each constant is written
next to it, the measurements in proofs_map.md ("Studies beyond the theorems", "Sizes").

* the cells of a study: each is held as a Cell and its row until the table is written, and once
  more as the pool's task and the table's copy: at most ``MAX_CELLS``;
* n, the means: in d = 1 an evaluation's memory grows about like n^3 (its line grading has a
  transition for each pair of means, each with its nodes, each node with n logits): ``N_MAX``;
* n d, the coordinates of the means: the float64 integrand holds ``INTEGRAND_COPIES`` arrays of
  (nodes, n, d) float64 at once (w v, Qz - a, s (Qz - a), G, the output's copy and temporaries) in batches of
  ``BATCH_NODES`` nodes: ``ND_MAX``;
* local workers: each may hold an evaluation besides its own process, and the local pool forks them
  all at its first cell, so no more than the machine's memory holds (:func:`most_workers`);
* the steps of a cell: a run keeps every record (one each RECORD_EVERY steps), the means' positions
  and the descent's means (2 n d float64) and ``RECORD_BYTES`` of Python objects.

:func:`step_seconds` prices a step for the estimates printed before a run: SECONDS_PER_STEP
(n = 3, d = 1) times (n / N_REF)^2 above N_REF means and times n d / ND_REF above ND_REF coordinates.
:func:`check_sizes` raises ValueError with one line naming the option, its largest value and why.
"""

from __future__ import annotations

import os
from dataclasses import replace

from verify.analysis.layouts import uses_seed

from .runner import RECORD_EVERY

__all__ = ["SECONDS_PER_STEP", "TYPICAL_FRACTION", "MEMORY_LIMIT", "MAX_CELLS", "N_MAX", "ND_MAX", "cell_count",
           "step_seconds", "estimate", "check_sizes", "most_workers", "default_workers"]

#: The memory a study or one of its evaluations may take, bytes (proofs_map.md's 2 GB an evaluation is
#: held to; the full report peaked at 0.93 GB).
MEMORY_LIMIT = 2e9
#: Bytes a cell takes while its study runs: a Cell and its row, 1.25 KB measured (tracemalloc over 20000
#: cells), and as much again estimated for the pool's task and for the table's copy each, rounded up.
CELL_BYTES = 4e3
#: The most cells a study holds (module doc).
MAX_CELLS = int(MEMORY_LIMIT // CELL_BYTES)
#: The most means of a cell: an evaluation's peak memory measured in d = 1 (gaussian, M0 = 6, r = 0.1)
#: 1.74 GB at n = 80, 2.30 GB at n = 90.
N_MAX = 80
#: The integrand's arrays of (nodes, n, d) float64 alive at once (5 counted in
#: verify.engine.expectation's integrand, 6 measured: a peak of 2.22 GB at n = 3, d = 2286, where 5
#: allowed it, 1.78 GB at d = 1905), and the nodes of a batch (measured: 7290 at n = 3 in d = 20000,
#: where numpy refused 3.26 GiB for one of them).
INTEGRAND_COPIES, BATCH_NODES = 6, 7290
#: The most coordinates n d of a cell's means: 2 GB over 6 x 8 bytes x 7290 nodes = 5715.
ND_MAX = int(MEMORY_LIMIT // (INTEGRAND_COPIES * 8 * BATCH_NODES))
#: Bytes of Python objects a record keeps besides its 2 n d float64 (estimated: a tuple, two arrays
#: of ~100 bytes each, the loss and its error, the list slots).
RECORD_BYTES = 1e3
#: Bytes a local worker process takes besides its evaluation (measured: peak 0.17 GB of a process that
#: ran one n = 3, d = 1 cell); each may hold an evaluation of up to MEMORY_LIMIT, and the local pool
#: forks every one of them at its first cell (concurrent.futures with the fork start method).
WORKER_BYTES = 0.17e9
#: Seconds per gradient-descent step of a d = 1 cell (k = 1 engine path), measured on the shared
#: 2-core machine (2.5-4.5 ms); used only for the estimates printed before a run.
SECONDS_PER_STEP = 4e-3
#: Cells of the cluster studies stop early once decided; at budget quick they ran 5-30% of their largest
#: step count.  The average and mixtures studies run every step (RUN_EVERY_STEP).
TYPICAL_FRACTION = 0.2
RUN_EVERY_STEP = ("average", "mixtures")
#: Steps of a study that cost more than a cluster cell's: the average study's integrates L_t over t
#: (21-63 evaluations a step): its quick table (4 cells x 150 steps) took 47 s on one worker, 78 ms a
#: step, ~20 of SECONDS_PER_STEP; the mixtures study's quick table took 28 s against 14.4 s priced as
#: cluster steps (review of 2026-12-03).  Its full budget's cells (K up to 3, d up to 3) cost far more
#: per step than this prices (minutes to hours a cell, proofs_map.md): its estimate is a lower bound.
STUDY_STEP_FACTOR = {"average": 20.0, "mixtures": 2.0}
#: The sizes above which a step costs more: fitted to steps measured in d = 1 (44 ms at n = 30, 93 ms at
#: 40, 0.39 s at 80) and at n = 3 (65 ms at d = 1000, 0.1 s at d = 2000), each within a factor 2.
N_REF, ND_REF = 8, 185


def step_seconds(n: int, d: int) -> float:
    """Estimated seconds of one step of a cell with n means in d dimensions (module doc)."""
    return SECONDS_PER_STEP * max(1.0, (n / N_REF) ** 2) * max(1.0, n * d / ND_REF)


def _seeds(opts, layout: str) -> int:
    return opts.seeds if uses_seed(layout) else 1


def cell_count(opts) -> tuple[int, int]:
    """(cells of round 0, the most the refinement rounds add) of ``opts``, counted without building a
    cell (the same numbers as :func:`verify.explore.studies.plan`'s)."""
    seeds = sum(_seeds(opts, layout) for layout in opts.layout)  # a series' seeds, summed over the layouts
    if opts.study == "average":
        ex = opts.extra
        return len(opts.M0) * len(ex["weightings"]) * len(ex["windows"]) * len(opts.n) * len(opts.d) * \
            len(opts.eta) * opts.seeds, 0
    if opts.study == "mixtures":
        ex = opts.extra
        pairs = sum(1 for K in ex["K"] for n in opts.n if n >= K)
        return pairs * len(opts.d) * len(ex["separations"]) * len(ex["scales"]) * len(opts.t) * len(opts.eta) * \
            opts.seeds, 0
    others = len(opts.n) * len(opts.d) * len(opts.M0)
    if opts.study == "phase":
        radii, ts, etas = opts.radius_range[2], opts.t_range[2], opts.eta_range[2]
        return others * seeds * radii * (len(opts.eta) * ts + len(opts.t) * etas), 0
    if opts.study == "noise":
        series, points = others * len(opts.radius) * len(opts.eta), opts.t_range[2]
    elif opts.study == "step":
        series, points = others * len(opts.radius) * len(opts.t), opts.eta_range[2]
    else:  # radius
        series = others * len(opts.t) * len(opts.eta)
        points = opts.radius_range[2] if opts.radius_range is not None else opts.radius_points
    return series * seeds * points, series * seeds * opts.rounds * opts.per_round


def estimate(opts, cells: int) -> tuple[float, float, str]:
    """(typical seconds, upper bound seconds, on what) of ``cells`` cells of ``opts`` (module doc)."""
    if opts.scheduler is not None:  # a Dask cluster's size is not known here: the time for one worker
        workers, on = 1, "one Dask worker (divide by the cluster's workers)"
    else:  # the local pool's default: every core within the memory (executors.LocalPool)
        workers = opts.workers or default_workers()
        on = f"{workers} local worker(s)"
    step = step_seconds(max(opts.n), max(opts.d)) * STUDY_STEP_FACTOR.get(opts.study, 1.0)
    upper = cells * opts.max_steps * step / workers
    if opts.study in RUN_EVERY_STEP:
        return upper, upper, on
    return upper * TYPICAL_FRACTION * opts.steps / opts.max_steps, upper, on


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.0f} s"


#: The studies whose cell count a range's POINTS sets (verify.explore.grid.SWEEPS, and phase).
_SWEEPS_RANGE = {"t_range": ("noise", "phase"), "eta_range": ("step", "phase"), "radius_range": ("radius", "phase")}
_LISTS = tuple(f"--{f}" for f in ("n", "d", "M0", "radius", "t", "eta", "layout"))


def _size_options(opts):
    """(option, its value, its largest value for at most MAX_CELLS cells, the others as they are) for
    each option the cell count grows with: linear in each, so two counts give the largest value."""
    def most(change) -> int:
        one, two = (sum(cell_count(replace(opts, **change(k)))) for k in (1, 2))
        return (MAX_CELLS - (2 * one - two)) // (two - one) if two > one else MAX_CELLS

    out = [("--seeds", opts.seeds, most(lambda k: {"seeds": k}))]
    for field in ("n", "d", "M0", "radius", "t", "eta", "layout"):
        values = getattr(opts, field)
        if values:
            out.append((f"--{field}", len(values), most(lambda k, f=field, v=values: {f: v[:1] * k})))
    for field in ("t_range", "eta_range", "radius_range"):
        rng = getattr(opts, field)
        if rng is not None and opts.study in _SWEEPS_RANGE.get(field, ()):
            label = f"--{field.replace('_', '-')} POINTS"
            out.append((label, rng[2], most(lambda k, f=field, r=rng: {f: (r[0], r[1], k)})))
    if opts.study == "radius" and opts.radius_range is None:
        out.append(("--radius-points", opts.radius_points, most(lambda k: {"radius_points": k})))
    if opts.study in ("noise", "radius", "step"):
        out += [("--rounds", opts.rounds, most(lambda k: {"rounds": k})),
                ("--per-round", opts.per_round, most(lambda k: {"per_round": k}))]
    return out


def physical_memory() -> float | None:
    """The machine's memory in bytes (None where the system does not say)."""
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def most_workers() -> int | None:
    """The most local workers whose evaluations fit in this machine's memory (None: not known)."""
    memory = physical_memory()
    return None if memory is None else max(1, int(memory // (MEMORY_LIMIT + WORKER_BYTES)))


def default_workers() -> int:
    """Local workers when --workers is not given: every core, but no more than :func:`most_workers`
    (the memory check an explicit --workers gets)."""
    cores, most = os.cpu_count() or 1, most_workers()
    return cores if most is None else min(cores, most)


def check_sizes(opts, base=None) -> None:
    """ValueError naming the option, the largest value accepted and why, when a cell or the study
    would take more memory than it can have (module doc).  Cheap: it builds no cell.  ``base``: the
    budget's options, to name an option the command line grew when the cell count is too large."""
    n, d = max(opts.n), max(opts.d)
    if n > N_MAX:
        raise ValueError(f"--n must be <= {N_MAX} (an evaluation's memory grows like n^3: 1.74 GB at n = 80, "
                         f"2.30 GB at 90, above the {MEMORY_LIMIT / 1e9:g} GB an evaluation may take), got {n}")
    if n * d > ND_MAX:
        raise ValueError(f"--d must be <= {ND_MAX // n} at --n up to {n} (the engine's integrand holds "
                         f"{INTEGRAND_COPIES} arrays of {BATCH_NODES} nodes x n x d float64, at most n d = {ND_MAX} in "
                         f"{MEMORY_LIMIT / 1e9:g} GB), got {d}")
    workers = most_workers()
    if opts.workers is not None and workers is not None and opts.workers > workers:
        raise ValueError(f"--workers must be <= {workers} on this machine (each local worker may hold an evaluation "
                         f"of up to {MEMORY_LIMIT / 1e9:g} GB besides its own {WORKER_BYTES / 1e9:g} GB, in "
                         f"{physical_memory() / 1e9:.3g} GB of memory), got {opts.workers}")
    per_record = RECORD_BYTES + 16 * n * d
    most = int(RECORD_EVERY * MEMORY_LIMIT / per_record)
    if opts.max_steps > most:
        option = "--max-steps" if opts.max_steps > opts.steps else "--steps"
        raise ValueError(f"{option} must be <= {most} at n = {n}, d = {d} (a cell keeps a record of "
                         f"{per_record / 1e3:.3g} KB every {RECORD_EVERY} steps, at most {MEMORY_LIMIT / 1e9:g} GB), "
                         f"got {opts.max_steps}")
    first, more = cell_count(opts)
    total = first + more
    if total > MAX_CELLS:
        typical, upper, on = estimate(opts, total)
        named = [(label, value, most) for label, value, most in _size_options(opts) if value > most >= 1]
        # the options grown beyond the budget's (the ones given), else any; the furthest beyond its largest value
        given = {} if base is None else {label: value for label, value, _ in _size_options(base)}
        grown = [x for x in named if x[1] > given.get(x[0], 0)]
        if named:
            label, value, most = max(grown or named, key=lambda x: x[1] / x[2])
            shown = f"{value} values of {label}" if label in _LISTS else f"{label} {value}"
            head, fix = f"{shown} make{'' if label in _LISTS else 's'} ", f"give {label} <= {most}" + \
                (" values" if label in _LISTS else "")
        else:
            head, fix = "the grid makes ", "give fewer values, points or rounds"
        raise ValueError(f"{head}{total} cells ({first} in round 0, at most {more} in refinement rounds), about "
                         f"{_duration(typical)} on {on} (at most {_duration(upper)}): above the {MAX_CELLS} cells "
                         f"whose rows fit in {MEMORY_LIMIT / 1e9:g} GB ({CELL_BYTES / 1e3:g} KB a cell); {fix}")
