"""``verify explore noise|radius|step|phase|average|mixtures``: studies beyond the theorems, locally or on Dask.

Every option is checked before any work (while parsing, :mod:`verify.console.arguments`, and as
a whole by :func:`verify.explore.grid.check_options`: empty or contradictory grids, signs); a bad
one gets one line naming it and exit status 2, no traceback.  Exit status 0 when the study ran
(whatever it found: the studies measure, they do not judge), 2 when it could not run.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

from verify.analysis.layouts import LAYOUT_HELP, LAYOUTS
from verify.console import arguments
from verify.console.progress import Progress
from verify.simulate.descent import CONVENTIONS

from .cache import DEFAULT_DIR, Cache
from .executors import dask_connect_timeout, make_pool
from .grid import BUDGETS, STUDIES, check_options
from .outputs import write_summary, write_table
from .studies import GRID_STUDIES, plan, run_study

__all__ = ["add_arguments", "run"]

_STUDY_HELP = {
    "noise": "fix an initialization, sweep the noise level t: t_c against Theorem 2.1's t > log n + log M + 2 "
             "and Theorem 3.1's t <= log(M/s*(n))",
    "radius": "sweep the initial radius from exp(-M0^3) to M0^(1/3) (see --radius-range for the exceptions): r* and "
              "the law r*(M0, eta, n)",
    "step": "sweep the step eta: eta_max against the theorem's 1/(n^4 d^2) and 2/lambda_max at the limit point",
    "phase": "phase diagrams over (radius, t) and (radius, eta) with the theorems' conditions drawn on them",
    "average": "beyond the paper: descent on the time-averaged loss over noise levels from Figure 1's starts "
               "(M0 = 4, 6) for two weightings: outcomes and loss rates",
    "mixtures": "beyond the paper: a mixture ground truth; recovery of its components over separation and "
                "initial scale",
}


#: Runs estimated longer than this state their cells and time first, as --budget full does: the quick
#: budgets' largest typical estimate is 384 s (radius, 2 workers), so their defaults stay silent.
STATE_SECONDS = 600.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    layouts = "; ".join(f"{k}: {v}" for k, v in LAYOUT_HELP.items())
    parser.description = ("Studies beyond the theorems.  "
                          + "  ".join(f"{k}: {v}." for k, v in _STUDY_HELP.items())
                          + "  Cells: mu* = M0 e_1, the means at r u_i around the origin (layouts: " + layouts
                          + "), noise level t, step eta.  Defaults come from --budget.")
    parser.add_argument("study", metavar="STUDY", type=arguments.one_of(STUDIES, "study"),
                        help="one of " + ", ".join(STUDIES))
    parser.add_argument("--budget", action=arguments.StoreOnce, default="quick",
                        type=arguments.one_of(tuple(BUDGETS), "budget"),
                        help="quick (about 5 minutes a study on 2 cores; default) "
                        "or full (states its cell count and expected time first)")
    g = parser.add_argument_group("grid (lists replace the budget's values)")
    g.add_argument("--n", action=arguments.StoreOnce, nargs="+", metavar="N", help="numbers of means")
    g.add_argument("--d", action=arguments.StoreOnce, nargs="+", metavar="D",
                   help="dimensions (d >= 2 far-apart cells are slow until the "
                   "engine's speed work lands)")
    g.add_argument("--M0", action=arguments.StoreOnce, nargs="+", metavar="X",
                   help="distances of the cluster's centre from mu* (mu* = M0 e_1)")
    g.add_argument("--radius", action=arguments.StoreOnce, nargs="+", metavar="R", help="cluster radii (noise, step)")
    g.add_argument("--t", action=arguments.StoreOnce, nargs="+", metavar="T",
                   help="noise levels (radius, step; phase: for the (radius, eta) panel)")
    g.add_argument("--eta", action=arguments.StoreOnce, nargs="+", metavar="ETA",
                   help="steps (noise, radius; phase: for the (radius, t) panel)")
    g.add_argument("--radius-range", action=arguments.StoreOnce, nargs="+", metavar="V", dest="radius_range",
                   help="MIN MAX POINTS, log-spaced (radius: default exp(-M0^3) .. M0^(1/3) per M0, but at least a "
                        "decade, exp(-M0^3) .. 10 exp(-M0^3) for M0 < ~1.3; lower end >= 1e-300; M0 = 0: 1e-8 .. 1; "
                        "the summary says where it differs; phase)")
    g.add_argument("--radius-points", action=arguments.StoreOnce, metavar="K", dest="radius_points",
                   type=arguments.count(2, "--radius-points"),
                   help="points of the default radius range (radius study, without --radius-range)")
    g.add_argument("--t-range", action=arguments.StoreOnce, nargs="+", metavar="V", dest="t_range",
                   help="MIN MAX POINTS, evenly spaced (noise, phase)")
    g.add_argument("--eta-range", action=arguments.StoreOnce, nargs="+", metavar="V", dest="eta_range",
                   help="MIN MAX POINTS, log-spaced (step, phase)")
    g.add_argument("--layout", action=arguments.StoreOnce, nargs="+", metavar="L",
                   type=arguments.one_of(LAYOUTS, "layout"),
                   help="layouts of the initial cluster: " + layouts)
    g.add_argument("--convention", action=arguments.StoreOnce, type=arguments.one_of(CONVENTIONS, "convention"),
                   help="step convention: scaled (default; m_i <- m_i - eta dL/dm_i) or unscaled "
                   "(mu_i <- mu_i - eta dL/dmu_i: at t = 10 the effective step is e^-20 eta)")
    g.add_argument("--seeds", action=arguments.StoreOnce, metavar="K", type=arguments.count(1, "--seeds"),
                   help="seeds 0..K-1 of the gaussian layout (the others use seed 0: "
                        "refused without the gaussian layout)")
    g.add_argument("--steps", action=arguments.StoreOnce, metavar="S", type=arguments.count(1, "--steps"),
                   help="steps per cell before it counts as undecided")
    g.add_argument("--max-steps", action=arguments.StoreOnce, metavar="S", dest="max_steps",
                   type=arguments.count(1, "--max-steps"),
                   help="undecided cells are run again 4x longer in the next rounds, up to this many steps "
                        "(noise, radius, step; not with --rounds 0)")
    g.add_argument("--rounds", action=arguments.StoreOnce, metavar="R", type=arguments.count(0, "--rounds"),
                   help="refinement rounds (bisection of each boundary; noise, radius, step)")
    g.add_argument("--per-round", action=arguments.StoreOnce, metavar="K", dest="per_round",
                   type=arguments.count(1, "--per-round"),
                   help="points per boundary per round (noise, radius, step; not with --rounds 0)")
    r = parser.add_argument_group("running")
    r.add_argument("--out", action=arguments.StoreOnce, metavar="DIR", type=arguments.output_dir,
                   help="write the table (CSV, Parquet), summary (JSON) and figures here "
                   "(created if its parent exists); default: print the summary only")
    r.add_argument("--cache", action=arguments.StoreOnce, metavar="DIR", type=arguments.output_dir,
                   help=f"finished cells, one file each (default {DEFAULT_DIR})")
    r.add_argument("--no-cache", action=arguments.FlagOnce, dest="no_cache", help="keep nothing between runs")
    r.add_argument("--workers", action=arguments.StoreOnce, metavar="W", type=arguments.count(1, "--workers"),
                   help="local processes (default: every core; 1 runs in this process; not with --dask-scheduler)")
    r.add_argument("--dask-scheduler", action=arguments.StoreOnce, metavar="ADDRESS", dest="scheduler",
                   help="run the cells on this Dask distributed scheduler (e.g. tcp://host:8786) instead; "
                        "the connection may take Dask's connect timeout "
                        "(30 s unless DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT says); "
                        "tls:// takes its certificates from Dask's settings (distributed.comm.tls.*)")
    r.add_argument("--quiet", action=arguments.FlagOnce, help="no progress bars")


def _given(args) -> dict:
    names = ("n", "d", "M0", "radius", "t", "eta", "radius_range", "radius_points", "t_range", "eta_range", "layout",
             "convention", "seeds", "steps", "max_steps", "rounds", "per_round", "out", "cache", "workers", "scheduler")
    return {k: getattr(args, k) for k in names}


def run(args: argparse.Namespace) -> int:
    try:
        if args.no_cache and args.cache is not None:
            raise ValueError("--cache and --no-cache contradict each other")
        opts = check_options(args.study, args.budget, _given(args))
        timeout = None if opts.scheduler is None else dask_connect_timeout()
    except ValueError as exc:
        return arguments.fail("verify explore", str(exc))
    if not args.no_cache and opts.cache is None:  # the default cache (an --cache was tried while parsed)
        problem = arguments.folder_problem(DEFAULT_DIR)
        if problem:
            return arguments.fail("verify explore", f"cannot keep finished cells in {DEFAULT_DIR}: {problem}; "
                                                    "give --cache DIR or --no-cache")
    cache = Cache(None if args.no_cache else (opts.cache or DEFAULT_DIR))
    p = plan(opts)
    if opts.budget == "full" or p["typical_seconds"] > STATE_SECONDS:
        what = "--budget full" if opts.budget == "full" else "these options"
        print(f"verify explore {opts.study} {what}: {p['round_0_cells']} cells in round 0, at most "
              f"{p['refinement_cells_at_most']} more in {opts.rounds} refinement rounds (plus re-runs of undecided "
              f"cells); about {p['typical_seconds'] / 60:.0f} min on {p['on']}, at most "
              f"{p['upper_bound_seconds'] / 3600:.1f} h (step costs measured in d = 1 and at n = 3, scaled with n "
              f"and n d; d >= 2 far-apart cells cost more); {len(cache)} cells already cached", file=sys.stderr,
              flush=True)
    try:
        pool = _pool(opts, timeout)
    except OSError as exc:  # (nothing answered at the scheduler's address, or Dask's certificate files could not be
        # read; the local pools raise no OSError here.  A scheme Dask's settings cannot secure was refused with the
        # options, verify.explore.grid._security_for, so Client's TypeError and RuntimeError for it never come here.)
        return arguments.fail("verify explore", f"--dask-scheduler {opts.scheduler}: could not connect: {exc}")
    rounds = 1 if opts.study == "phase" or opts.study in GRID_STUDIES else opts.rounds + 1
    try:
        with Progress(f"verify explore {opts.study}", total=rounds, unit="round",
                      stream=io.StringIO() if args.quiet else None) as progress:
            result = run_study(opts, pool, cache, progress=progress)
    finally:
        pool.close()
    summary = result.summary
    if opts.out is not None:
        out = Path(opts.out)
        files = write_table(result.rows, out, f"explore_{opts.study}")
        files.append(write_summary(summary, out / f"explore_{opts.study}.json"))
        for name, draw in result.figures.items():
            draw(out / name)
            files.append(out / name)
        print("wrote " + ", ".join(str(f) for f in files))
    _print_headline(result)
    return 0


def _pool(opts, timeout: float | None):
    """The pool; before connecting to a Dask scheduler, a line saying so and how long it may take."""
    if opts.scheduler is None:
        return make_pool(opts.workers)
    print(f"verify explore {opts.study}: connecting to the Dask scheduler at {opts.scheduler} (timeout {timeout:g} s; "
          "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT sets it)", file=sys.stderr, flush=True)
    return make_pool(scheduler=opts.scheduler, timeout=timeout)


#: What a boundary's status means when it is not bracketed (verify.analysis.brackets.Bracket.state).
_NOT_BRACKETED = {"above": "every value tried is on the good side", "below": "no value tried is on the good side",
                  "undecided": "undecided cells where the boundary lies", "empty": "nothing was run"}


def _boundary(name: str, entry: dict) -> str:
    if entry["status"] == "bracketed":
        lo, hi = entry["bracket"]
        return f"{name} in [{lo:.6g}, {hi:.6g}]" + (" (undecided cells inside)" if entry["undecided_inside"] else "")
    return f"{name} not bracketed: {_NOT_BRACKETED.get(entry['status'], entry['status'])}"


def _thresholds(thm21: float, thm31: float | None) -> tuple[str, str]:
    """Theorem 2.1's sufficient t and Theorem 3.1's largest t as printed; t is a noise level (>= 0),
    so a negative one says so: every t satisfies Theorem 2.1, none Theorem 3.1 (a start near mu*)."""
    t21 = f"{thm21:.3f}" + (" (every t >= 0)" if thm21 < 0 else "")
    if thm31 is None:
        return t21, "n/a (n < 3)"
    return t21, f"{thm31:.3f}" + (" (no t >= 0)" if thm31 < 0 else "")


def _print_headline(result) -> None:
    s = result.summary
    print(f"verify explore {result.study}: {s['cells']} cells, outcomes {s['outcome_counts']}, "
          f"{s['seconds']:.0f} s on {s['pool']}")
    for e in s.get("t_c", []):
        t21, t31 = _thresholds(e["thm_2_1_sufficient_t"], e["thm_3_1_max_t"])
        print(f"  {e['series']}: {_boundary('t_c', e['t_c'])}; Thm 2.1 sufficient t > {t21}; "
              f"Thm 3.1 stationary point in range for t <= {t31}")
    for e in s.get("r_star", []):
        grid = e.get("radius_grid") or {}
        note = grid.get("differs_from_default_formula")
        print(f"  {e['series']}: {_boundary('r*', e['r_star'])}"
              + (f"; radii {grid['min']:.3g} .. {grid['max']:.3g}: {note}" if note else ""))
    for w in s.get("r_star_law", []):
        if w.get("fitted"):
            print(f"  law ({w['layout']}, n={w['n']}, d={w['d']}, t={w['t']:g}, eta={w['eta']:g}): "
                  f"beta = {w['beta']:.4f} +- {w['beta_err']:.4f}, "
                  f"log10 C = {w['log10_C']:.3f} +- {w['log10_C_err']:.3f}")
    for w in s.get("r_star_law_pooled", []):
        if w.get("fitted"):
            print(f"  law ({w['layout']}, d={w['d']}) pooled over (n, t, eta) in {w['over_n_t_eta']}: beta = "
                  f"{w['beta']:.4f} +- {w['beta_err']:.4f}, log10 C = {w['log10_C']:.3f} +- {w['log10_C_err']:.3f}, "
                  f"chi2/dof = {w['chi2_per_dof']:.3g}")
    for e in s.get("eta_max", []):
        print(f"  {e['series']}: {_boundary('eta_max', e['eta_max'])}; 2/lambda_max = {e.get('stability_limit')}; "
              f"theorem step {e['theorem_step']:.4g}")
    for e in s.get("average", []):
        print(f"  M={e['M']:g}, {e['weighting']}, t in [{e['t_min']:g}, {e['t_max']:g}], seed {e['seed']}: "
              f"{e['outcome']} ({e['survivors']} converge), L={e['final_loss']:.3g} after {e['steps_run']} steps, "
              f"log-log slope {e['loss_slope']:.3g}, log-rate {e['loss_log_rate']:.3g}/step {e['reason']}")
    for e in s.get("recovery", []):
        print(f"  K={e['K']}, n={e['n']}, d={e['d']}: {e['counts']}")
    for p in s.get("panels", []):
        print(f"  {p['panel']}: {p['counts']}")
