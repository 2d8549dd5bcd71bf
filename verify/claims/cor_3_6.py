"""Corollary 3.6: exactly one survivor with probability >= 1 - n^2 M0^(-1/3), and L = O(1/tau).

[1, Corollary 3.6], encoded as in ``CLAIMS.md``: in the setting of Theorem 3.5
(:mod:`verify.claims.thm_3_5`, whose budgets this claim shares), with probability at least
1 - n^2 M0^(-1/3) exactly one parameter converges to mu* and all others diverge, and the loss
converges at rate O(1/tau).

The verdict judges both parts as stated, at the sizes named:

* **the probability**, in the direction that can fail: over N seeds (d = 1), a seed succeeds when
  exactly one mean ends within 1/(8 M0^3) of mu* and every other mean's gradient step at the end
  points away from mu* (computed in mpmath log-space: at M0 >= 1e6 a loser's gradient, ~e^(-M0^2/8),
  is below any float and its motion below any resolution, so "diverges" is shown as the certified
  outward push there; its growth law is measured at M0 = 6 below).  The one-sided exact
  (Clopper-Pearson) upper bound at level 95 % on the failure frequency must lie below
  n^2 M0^(-1/3) (holds); a failure count significantly above it is "fails"; too few seeds to push the
  bound below it is "inconclusive".  N is the number that can establish the bound with zero failures
  (:func:`verify.analysis.statistics.seeds_needed`).  Near ties are counted, never skipped;
* **the loss**: L = O(1/tau) judged as a bound over the doubling windows from tau = 256 to the end
  of long runs at M0 = 6 (n = 2, d = 1, 2, 3 and n = 3, d = 2; :func:`verify.analysis.bounds.check_bound`), with the
  margin; on the same runs "diverge" is a measured growth law: the loser's distance increases at
  every record of the window, and D^2 grows like c log tau (c reported; the n = 2 asymptotics give 8).

Reference: [1] arXiv 2511.22069.
"""

from __future__ import annotations

import math
import time

import numpy as np

from verify.analysis import random_init as ri
from verify.analysis import rates, statistics
from verify.analysis.bounds import check_bound
from verify.claims.base import ClaimResult, Finding, budget_config, register
from verify.claims.thm_3_5 import BUDGETS, ETA, LEVEL, M0_SLOPE
from verify.simulate import outcomes
from verify.simulate.descent import gradient_descent

STATEMENT_36 = (
    "In the setting of Theorem 3.5, with probability at least 1 - n^2 M0^(-1/3) exactly one parameter converges to mu* "
    "and all others diverge, and the loss converges at rate O(1/tau)."
)

#: The loss bound is judged over doubling windows from this step on (the 1/tau regime at M0 = 6
#: starts within ~10^2 steps).
WINDOW_START = 256


def probability_check(n: int, M0: float, seeds: int, *, first_seed: int = 0, level: float = LEVEL, eta: float = ETA,
                      grad_fn=None, progress=None):
    """Frequency of "not exactly one survivor with the others pushed outward" over ``seeds`` runs (d = 1),
    with exact binomial bounds; near ties counted.  ``progress(i, seeds)`` is called before each seed
    (a seed's log-space gradients take seconds)."""
    fails, ties = [], 0
    for s in range(first_seed, first_seed + seeds):
        if progress is not None:
            progress(s - first_seed, seeds)
        tr = ri.survivor_trial(n, M0, s, eta=eta, grad_fn=grad_fn)
        ties += tr.near_tie
        if not tr.exactly_one:
            fails.append({"seed": s, "converged": tr.converged, "approached": tr.approached, "outward": tr.outward,
                          "near_tie": tr.near_tie})
    B = ri.probability_bound(n, M0)
    k = len(fails)
    return {"n": n, "d": 1, "M0": M0, "eta": eta, "seeds": seeds, "first_seed": first_seed, "failures": k,
            "failed_seeds": fails[:10], "near_ties": ties, "bound_n2_M0^-1/3": B, "level": level,
            "upper_confidence_bound": statistics.clopper_pearson_upper(k, seeds, level),
            "seeds_needed_for_zero_failures": statistics.seeds_needed(min(B, 0.999), level),
            "p_value_excess_over_bound": statistics.binomial_excess_pvalue(k, seeds, min(B, 1.0))}


def loss_times_tau(*, n: int = 2, d: int = 1, seed: int = 0, M0: float = M0_SLOPE, eta: float = ETA, end: int = 4096,
                   grad_fn=None):
    """A long run at moderate M0 on a log grid (the L tau and growth-law run)."""
    mu0, ms, _ = ri.sample_initialization(n, d, M0, seed)
    return gradient_descent(mu0, ms, ri.NOISE_LEVEL, eta, end, record_at=rates.log_grid(end, per_octave=4),
                            grad_fn=grad_fn)


def slope_run(n, d, seed, end, grad_fn=None) -> tuple[dict, object]:
    """L = O(1/tau) as a bound from WINDOW_START, the outcome and the loser's growth law, on one run."""
    tr = loss_times_tau(n=n, d=d, seed=seed, end=end, grad_fn=grad_fn)
    b = check_bound(tr.steps, tr.loss, -1.0, ratio=2.0, at_records=True, min_start=WINDOW_START, name="L")
    out = outcomes.classify(tr, outcomes.tail_rule(0.1))
    winner = int(np.argmin(tr.distances[-1]))
    sel = tr.steps >= WINDOW_START
    growth = [ri.growth_law(tr.steps[sel], tr.distances[sel, j]) for j in range(n) if j != winner]
    mu0, ms, _ = ri.sample_initialization(n, d, M0_SLOPE, seed)
    row = {"n": n, "d": d, "seed": seed, "M0": M0_SLOPE, "steps": end, "bound": b.as_dict(), "outcome": str(out),
           "survivors": out.survivors, "receding": out.count(outcomes.RECEDES), "loser_growth": growth,
           "L_tau_max_over_window": b.constant_max, "L_tau_end": b.constant_end,
           "M0_times_gap": round(ri.tie_measure(mu0, ms, M0_SLOPE), 3)}
    return row, tr


@register("cor-3.6", STATEMENT_36)
def run(budget="quick", seed=0, progress=None, **overrides) -> ClaimResult:
    """Corollary 3.6: survivor frequency with exact binomial bounds; L = O(1/tau) as a bound, losers' growth."""
    cfg, progress = budget_config(BUDGETS, budget, progress, overrides)
    t0 = time.time()
    grad_fn = cfg["gradient"]
    problems, open_ends = [], []
    ev = {"eta": ETA, "step_convention": "mu_i <- mu_i - eta dL/dmu_i at t = 0", "level": LEVEL,
          "loss_bound_window_start": WINDOW_START}
    total = len(cfg["prob"]) + len(cfg["slope_cases"])
    probs = []
    for k, (n, M0, N) in enumerate(cfg["prob"]):
        progress(k, total, f"survivors n={n} M0={M0:g}")
        B = ri.probability_bound(n, M0)
        N = N or statistics.seeds_needed(B, LEVEL)
        p = probability_check(n, M0, N, first_seed=1000 * seed, grad_fn=grad_fn,
                              progress=lambda i, m, k=k, n=n, M0=M0: progress(
                                  round(k + i / m, 2), total, f"survivors n={n} M0={M0:g}, seed {i + 1} of {m}"))
        p["establishes_bound"] = p["upper_confidence_bound"] < B
        probs.append(p)
        if p["p_value_excess_over_bound"] < 1 - LEVEL:
            problems.append(f"n = {n}, M0 = {M0:g}: {p['failures']} of {N} seeds without exactly one survivor, "
                            f"significantly above {B:.3g} (p = {p['p_value_excess_over_bound']:.2g})")
        elif not p["establishes_bound"]:
            open_ends.append(f"n = {n}, M0 = {M0:g}: {N} seeds cannot push the {int(LEVEL * 100)} % upper bound "
                             f"{p['upper_confidence_bound']:.3g} below {B:.3g}")
    ev["survivor_frequency"] = probs
    slopes, trajs = [], []
    for k, (n, d, s) in enumerate(cfg["slope_cases"]):
        progress(len(cfg["prob"]) + k, total, f"L tau n={n} d={d}")
        row, tr = slope_run(n, d, seed + s, cfg["slope_end"], grad_fn)
        slopes.append(row)
        trajs.append(tr)
        tag = f"M0 = {M0_SLOPE}, n = {n}, d = {d}, seed {seed + s}"
        if row["bound"]["verdict"] == "fails":
            problems.append(f"{tag}: {row['bound']['reason']}")
        elif row["bound"]["verdict"] != "holds":
            open_ends.append(f"{tag}: {row['bound']['reason']}")
        if row["survivors"] != 1 or not all(g["strictly_increasing"] for g in row["loser_growth"]):
            (problems if row["M0_times_gap"] >= ri.NEAR_TIE else open_ends).append(
                f"{tag}: outcome {row['outcome']}, losers increasing "
                f"{[g['strictly_increasing'] for g in row['loser_growth']]}")
    ev["loss_O_one_over_tau"] = slopes
    ev["seconds"] = round(time.time() - t0, 1)
    size = ("d = 1; " + "; ".join(f"n = {p['n']}, M0 = {p['M0']:g}: {p['seeds']} seeds" for p in probs)
            + f"; L tau and growth: M0 = {M0_SLOPE}, (n, d) in {sorted({(r['n'], r['d']) for r in slopes})}, "
            f"{cfg['slope_end']} steps; eta = {ETA}; all M0 below the theorem's 10^9 sqrt(d) n^10")
    figures = {"cor_3_6_loss_times_tau.png": lambda path: _figure_ltau(path, trajs[0])} if trajs else {}
    found = findings(probs, slopes)
    if problems:
        return ClaimResult("fails", "; ".join(problems), ev, size, figures, found)
    if open_ends:
        return ClaimResult("inconclusive", "; ".join(open_ends), ev, size, figures, found)
    summary = "; ".join(f"n = {p['n']}, M0 = {p['M0']:g}: {p['failures']}/{p['seeds']} failures ({p['near_ties']} near "
                        f"ties), {int(LEVEL * 100)} % upper bound {p['upper_confidence_bound']:.3g} < n^2 M0^(-1/3) = "
                        f"{p['bound_n2_M0^-1/3']:.3g}" for p in probs)
    margins = [r["bound"]["margin"] for r in slopes]
    return ClaimResult(
        "holds",
        f"{summary}; L = O(1/tau) holds as a bound over [{WINDOW_START}, {cfg['slope_end']}] at M0 = {M0_SLOPE} "
        f"(margin of the loss exponent {min(margins):.3f}..{max(margins):.3f}) with the loser's distance increasing at "
        "every record", ev, size, figures, found)


def findings(probs, slopes) -> list[Finding]:
    """The failure frequency's bound, the loss's late exponent and L tau, the losers' growth law."""
    out = [Finding(f"failure frequency, n = {p['n']}, M0 = {p['M0']:g}", f"{p['failures']}/{p['seeds']}",
                   p["upper_confidence_bound"], "d = 1", "P(not exactly one survivor) <= n^2 M0^(-1/3)",
                   "supports" if p["establishes_bound"] else "measures",
                   f"uncertainty: the {int(LEVEL * 100)} % Clopper-Pearson upper bound; "
                   f"bound {p['bound_n2_M0^-1/3']:.3g}")
           for p in probs]
    for r in slopes:
        where = f"M0 = {r['M0']}, n = {r['n']}, d = {r['d']}, seed {r['seed']}, tau in [{WINDOW_START}, {r['steps']}]"
        b = r["bound"]
        if b["windows"]:
            out.append(Finding("late local loss exponent", round(b["windows"][-1]["slope"], 4), None, where,
                               "L ~ 1/(tau log tau): -1 - 8/(D^2 - 12) (thm-3.7)", "supports",
                               f"L tau from {b['constant_max']:.3g} (max) to {b['constant_end']:.3g} (end)"))
        for g in r["loser_growth"]:
            out.append(Finding("loser's D^2 per log tau (last half)", round(g["D2_per_log_tau_last_half"], 3), None,
                               where,
                               "D^2 ~ c log tau (n = 2 asymptotics: c = 8): unbounded growth", "supports",
                               f"D from {g['D_start']:.4f} to {g['D_end']:.4f}"))
    return out


def _figure_ltau(path, tr, start: int = WINDOW_START) -> None:
    """L(tau) tau against tau: the corollary's L = O(1/tau) says it stays bounded; its largest value
    from ``start`` on (the window the claim judges) is drawn."""
    from verify.claims import figures

    fig, ax = figures.new_axes(xlabel="step tau", ylabel="L(tau) tau",
                               title=f"Corollary 3.6: L = O(1/tau), so L(tau) tau stays bounded (n = 2, d = 1, "
                                     f"M0 = {M0_SLOPE}, eta = {ETA})")
    Lt = tr.loss[1:] * tr.steps[1:]
    ax.semilogx(tr.steps[1:], Lt, label="L(tau) tau")
    tail = tr.steps[1:] >= start
    if np.any(tail):
        ax.hlines(float(Lt[tail].max()), start, tr.steps[-1], colors="k", linestyles="--",
                  label=f"its largest value for tau >= {start}")
    ax.legend(fontsize=8)
    figures.save(fig, path)
