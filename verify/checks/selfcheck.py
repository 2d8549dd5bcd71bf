"""``verify selfcheck``: the reference engine's accuracy report (and, with ``--bench``, its speed).

Accuracy: at configurations covering the regimes the claims need, the
float64 engine is compared with an independent, more accurate computation
(mpmath at higher precision for k = 1; the polar discretization of
:mod:`verify.checks.grids` for k = 2; for smooth k >= 3 a Gauss-Hermite grid
turned by a random rotation of the reduced basis, i.e. other nodes),
and the measured error is printed beside the engine's own error estimate and
the target.  A case passes when the measured error is within the target and
within the estimate (an estimate below the measured error would be dishonest).

Speed (``--bench``): the engine's targets as ratios to the paper's Monte Carlo step
measured in the same run (:mod:`verify.checks.bench`).  Printed, not asserted.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from verify.engine import reference
from verify.engine.tolerances import gradient_scale
from verify.engine.expectation import reduce_float
from .grids import polar_expectations, rotated_expectations

__all__ = ["accuracy_cases", "run_accuracy", "run_bench", "add_arguments", "run"]


@dataclass
class Case:
    name: str
    mu: list
    mu_star: list
    t: float
    target: float  # relative (normwise) error target
    method: str  # "mp", "polar" or "rotated"


def accuracy_cases(quick: bool = True) -> list[Case]:
    rng = np.random.default_rng(20251122)
    cases = [
        Case("n=2 d=1, distance 2.2, t=0.3", [[1.0], [-2.0]], [0.5], 0.3, 1e-12, "mp"),
        Case("n=2 d=1, distance 8", [[0.2], [8.2]], [0.0], 0.0, 1e-12, "mp"),
        # k = 2 although the means are collinear: the float64 reduction keeps the direction across their line,
        # whose singular value (~1e-16 of the largest: rounding) passes its 1e-17 cut (mu* plays no part in k)
        Case("n=4 d=2 collinear (k=2), t=0.7", [[0.0, 0.0], [1.0, 1.0], [2.5, 2.5], [-3.0, -3.0]], [0.5, 0.0], 0.7,
             1e-12, "mp"),
        Case("n=3 d=1, distance 14 (beyond 8)", [[0.05], [7.0], [14.0]], [0.0], 0.0, 1e-9, "mp"),
        Case("n=2 d=1, |mu| ~ 1e12", [[1e12], [1e12 + 1.5]], [1e12 + 0.3], 0.0, 1e-9, "mp"),
        Case("n=3 d=2 (k=2), distance 1.7", (rng.standard_normal((3, 2)) * 1.0).tolist(),
             [0.0, 0.0], 0.2, 1e-12, "polar"),
        # near the README's distance 8 (its 1e-12 promise), inside it
        Case("n=4 d=2 (k=2), distance 7.7",
             (np.array([[0.0, 0.0], [4.0, 6.5], [-4.0, 5.0], [6.0, -2.0]]) / 1.5).tolist(),
             [0.5, 0.5], 0.05, 1e-12, "polar"),
        Case("n=3 d=2 (k=2), distance 16 (beyond 8)", [[0.0, 0.1], [9.0, 6.0], [-7.0, 8.0]],
             [0.0, 0.0], 0.0, 1e-9, "polar"),
        Case("n=5 d=3 (k=3), distance 0.1", (rng.standard_normal((5, 3)) * 0.04 + [1.0, 0.0, 0.0]).tolist(),
             [0.0, 0.0, 0.0], 0.5, 1e-12, "rotated"),
        Case("n=5 d=4 (k=4), distance 0.1", (rng.standard_normal((5, 4)) * 0.04 + [0.5, 0.2, 0.0, 0.0]).tolist(),
             [0.0] * 4, 0.1, 1e-12, "rotated"),
    ]
    return cases


def distance(case: Case) -> float:
    """The largest pairwise distance of the scaled means e^-t mu_i (the table's ``dist``, the README's distance)."""
    m = np.asarray(case.mu, float) * math.exp(-case.t)
    return max(float(np.linalg.norm(m[i] - m[j])) for i in range(len(m)) for j in range(len(m)))


def _mp_reference(case: Case, dps: int):
    ev = reference.evaluate_mp(case.mu, case.mu_star, case.t, dps=dps, tol=10.0 ** (-(dps - 5)))
    L = float(ev.loss)
    G = np.array([[float(x) for x in r] for r in ev.grad_scaled])
    return L, G


def check_case(case: Case) -> dict:
    t0 = time.perf_counter()
    ev = reference.evaluate(case.mu, case.mu_star, case.t, tol=min(case.target, 1e-12))
    t_engine = time.perf_counter() - t0
    t0 = time.perf_counter()
    if case.method == "mp":
        L_ref, G_ref = _mp_reference(case, 40)
        ref_err = 1e-30
    elif case.method == "rotated":
        L_ref, eL, G_ref, eG = rotated_expectations(case.mu, case.mu_star, case.t, tol=1e-13)
        ref_err = max(eL, float(np.max(eG)))
    else:
        red = reduce_float(np.asarray(case.mu, float), np.asarray(case.mu_star, float), case.t)
        v, e = polar_expectations(red, tol=1e-13)
        L_ref, G_ref = v[0], 2 * v[1:].reshape(ev.grad_scaled.shape)
        ref_err = float(np.max(e))
    t_ref = time.perf_counter() - t0
    a_max = float(np.max(np.linalg.norm(math.exp(-case.t) * (np.asarray(case.mu, float)
                                                               - np.asarray(case.mu_star, float)), axis=1)))
    gscale = gradient_scale(G_ref, L_ref, a_max)
    err_L = abs(ev.loss - L_ref) / L_ref
    err_G = float(np.max(np.abs(ev.grad_scaled - G_ref))) / gscale
    est_L = ev.loss_err / L_ref
    est_G = float(np.max(ev.grad_scaled_err)) / gscale
    dist = distance(case)
    # the comparison itself carries the reference's error (tiny for mp; the polar estimate otherwise)
    honest = err_L <= est_L + 2 * ref_err / L_ref and err_G <= est_G + 2 * ref_err / gscale
    ok = max(err_L, err_G) <= case.target and honest
    return dict(case=case.name, k=ev.k, distance=dist, err_loss=err_L, est_loss=est_L, err_grad=err_G,
                est_grad=est_G, target=case.target, method=case.method, honest=honest, ok=ok,
                seconds=t_engine, ref_seconds=t_ref)


def run_accuracy(quick: bool = True, out=print, progress=None) -> bool:
    """Print the accuracy table, one row per case as it finishes; ``progress``: a
    :class:`verify.console.progress.Progress` told which case runs (None: silent)."""
    progress = progress or _Silent()
    cases = accuracy_cases(quick)
    out("Accuracy of the float64 engine against an independent, more accurate computation")
    out("(relative, normwise: loss to |L|, gradient to max(max|grad|, L / max(1, A)); est = the engine's own estimate)")
    hdr = (f"{'case':40s} {'k':>2s} {'dist':>6s} {'err L':>9s} {'est L':>9s} {'err grad':>9s} {'est grad':>9s} "
           f"{'target':>7s} {'vs':>7s} {'time':>7s}  ok")
    out(hdr)
    out("-" * len(hdr))
    all_ok = True
    for case in cases:
        progress.start(case.name)
        r = check_case(case)
        all_ok &= r["ok"]
        progress.finish()
        out(f"{r['case']:40s} {r['k']:2d} {r['distance']:6.2f} {r['err_loss']:9.1e} {r['est_loss']:9.1e} "
            f"{r['err_grad']:9.1e} {r['est_grad']:9.1e} {r['target']:7.0e} {r['method']:>7s} {r['seconds']:6.2f}s  "
            f"{'yes' if r['ok'] else 'NO' + ('' if r['honest'] else ' (estimate below measured error)')}")
    # mpmath, k = 1: digits at dps 50 against dps 70
    progress.start("mpmath dps 50 vs dps 70")
    a = reference.evaluate_mp([["0.3"], ["-1.7"], ["2.9"]], ["0.1"], "0.4", dps=50)
    b = reference.evaluate_mp([["0.3"], ["-1.7"], ["2.9"]], ["0.1"], "0.4", dps=70)
    import mpmath

    with mpmath.workdps(80):
        dl = abs(a.loss - b.loss) / abs(b.loss)
        dg = (max(abs(x - y) for ra, rb in zip(a.grad, b.grad) for x, y in zip(ra, rb))
              / max(abs(y) for r in b.grad for y in r))
        digits = -float(mpmath.log10(max(dl, dg, mpmath.mpf(10) ** -75)))
    ok_mp = digits >= 30
    all_ok &= ok_mp
    progress.finish()
    out(f"{'mpmath dps 50 vs dps 70, n=3 d=1 (k=1)':40s}  1  -> {digits:.1f} correct digits (target >= 30)  "
        f"{'yes' if ok_mp else 'NO'}")
    return all_ok


class _Silent:
    """The progress of a run nobody watches (the functions called from tests)."""

    def start(self, name):
        pass

    def finish(self, row=""):
        pass


#: Figure 1's steps the bench times by default (the paper's run)
FIG1_STEPS = 20_000


def run_bench(out=print, steps: int = FIG1_STEPS, quick: bool = False, progress=None, cases=None) -> dict:
    """The engine's speed targets as ratios to the Monte Carlo step measured in the same run
    (:mod:`.bench`; ``cases``: some of its CASES, default all); returns the measured numbers."""
    from .bench import run_targets

    out("")
    out("Speed (one process, this machine; ratios to the Monte Carlo step measured in the same run)")
    return run_targets(out, progress, fig1_steps=steps, quick=quick, cases=cases)


def add_arguments(parser) -> None:
    from verify.console import arguments

    from .bench import CASES

    parser.add_argument("--bench", action=arguments.FlagOnce,
                        help="also measure speed (prints numbers; takes a few minutes)")
    parser.add_argument("--bench-steps", action=arguments.StoreOnce, type=arguments.count(1, "--bench-steps"),
                        default=None,
                        help=f"Figure 1 gradient-descent steps timed (default {FIG1_STEPS}, the paper's; "
                             "the fig-1 case only)")
    parser.add_argument("--bench-quick", action=arguments.FlagOnce,
                        help="one seed per case for far-k3 and k4, two M0 for thm-3.4 "
                             "(sharp-k2 and fig-1 are unchanged)")
    parser.add_argument("--bench-case", action=arguments.AppendOnce, choices=CASES, default=None, metavar="CASE",
                        help=f"only this benchmark case (repeatable; one of {', '.join(CASES)}; default all)")


def _misplaced(args) -> str | None:
    """What is wrong with the bench options: they mean nothing without --bench, and --bench-steps and
    --bench-quick nothing to a --bench-case they do not change (:data:`.bench.USES_STEPS`, ``USES_QUICK``)."""
    from .bench import USES_QUICK, USES_STEPS

    given = [name for name, value in (("--bench-steps", args.bench_steps), ("--bench-quick", args.bench_quick),
                                      ("--bench-case", args.bench_case)) if value]
    if given and not args.bench:
        return f"argument {given[0]}: only with --bench (without it no speed is measured)"
    if args.bench_case:
        for name, value, users in (("--bench-steps", args.bench_steps, USES_STEPS),
                                   ("--bench-quick", args.bench_quick, USES_QUICK)):
            if value and not set(users) & set(args.bench_case):
                return (f"argument {name}: changes only the {', '.join(users)} "
                        f"bench case{'s' if len(users) > 1 else ''}, "
                        f"not --bench-case {' '.join(args.bench_case)}")
    return None


def run(args) -> int:
    from verify.console import arguments
    from verify.console.progress import Progress

    from .bench import bench_items

    problem = _misplaced(args)
    if problem:
        return arguments.fail("verify selfcheck", problem)
    steps = FIG1_STEPS if args.bench_steps is None else args.bench_steps

    total = len(accuracy_cases()) + 1 + (bench_items(args.bench_quick, args.bench_case) if args.bench else 0)
    with Progress("verify selfcheck", total=total, unit="case") as progress:
        out = progress.emit  # rows on stdout, with the status line (stderr) out of their way
        ok = run_accuracy(out=out, progress=progress)
        if args.bench:
            run_bench(out=out, steps=steps, quick=args.bench_quick, progress=progress, cases=args.bench_case)
    print("")
    print("selfcheck: " + ("all accuracy targets met" if ok else "SOME ACCURACY TARGETS NOT MET"))
    return 0 if ok else 1
