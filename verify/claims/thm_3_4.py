"""Theorem 3.4: without exponentially small initialization the means need not all converge.

[1, Theorem 3.4], encoded as in ``CLAIMS.md``: with mu* = M0 e_1, mu_1(0) = eps0 e_1,
eps0 = exp(-M0/100), and mu_i(0) = 0 for i >= 2, gradient descent on L_0 sends mu_1 to mu*
while every other mean runs away, "for M0 large enough".  The theorem is an existence
statement (a counterexample); not tight.

Encoded here: n = 3, d = 1 (the means stay on the e_1 axis, so the reduced integral has k = 1
for every d), t = 0, step eta = 0.05 in the "scaled" convention (m_i <- m_i - eta dL/dm_i),
exact population gradients of the float64 engine.  eps0 = exp(-M0/100) >= 0.9 for M0 <= 10,
far above float64's resolution, so float64 resolves the configuration; an mpmath run of the
first steps cross-checks the float64 trajectory.

Outcome per mean (:func:`verify.simulate.outcomes.tail_rule` on the recorded distances, with
radius 1/(6n) and the largest initial distance M0 as the receding radius): *converges* if its
final distance is <= 1/(6n) and did not increase over the last half; *recedes* if its distance
increased monotonically over the last half and ends beyond M0 (where it started).  The engine raises AccuracyError once the losers are ~6.7 from
mu* and the loss is small (its first truncation radius is too small; reported); such a run
is classified on the steps recorded before, and for M0 above ~6.7 the losers cannot pass M0
before that: those M0 are reported as undecided, not as failures.  The counterexample **holds at
M0** when mean 1 converges and every other mean recedes.
The scan reports the set of M0 where it holds, as found (it need not be an interval).

Reference: [1] arXiv 2511.22069.
"""

from __future__ import annotations

import math
import time

import numpy as np

from verify.claims.base import ClaimResult, budget_config, register
from verify.analysis.cluster_runs import descend
from verify.simulate import outcomes
from verify.simulate.descent import gradient_descent

STATEMENT = (
    "With mu_1(0) = exp(-M0/100) e_1 and mu_i(0) = 0 (i >= 2), mu* = M0 e_1, gradient descent sends mu_1 to "
    "mu* while every other mean runs away, for M0 large enough."
)

N, D, ETA, CONVENTION = 3, 1, 0.05, "scaled"
STEPS, RECORD_EVERY = 1500, 25

BUDGETS = {
    "quick": dict(M0s=(1.0, 2.5, 3.0, 4.0, 6.0), mp_steps=8, mp_M0=4.0),
    "full": dict(M0s=tuple(np.round(np.arange(0.5, 10.01, 0.25), 2)), mp_steps=80, mp_M0=4.0),
}


def counterexample_run(M0: float, *, n: int = N, d: int = D, eta: float = ETA, steps: int = STEPS,
                       record_every: int = RECORD_EVERY, eps0: float | None = None) -> dict:
    """One run of the counterexample; returns outcome per mean and the recorded distances."""
    eps0 = math.exp(-M0 / 100) if eps0 is None else eps0
    star = np.zeros(d)
    star[0] = M0
    mu0 = np.zeros((n, d))
    mu0[0, 0] = eps0
    hist = []
    note = descend(mu0, star, 0.0, eta, steps, record_every=record_every, callback=lambda s, mu: hist.append(
        (s, np.linalg.norm(mu - star, axis=1))) and False)
    dist = np.array([h[1] for h in hist])
    oc = outcomes.classify(outcomes.Recorded(np.array([h[0] for h in hist]), dist), outcomes.tail_rule(1 / (6 * n)))
    holds = oc.means[0] == outcomes.CONVERGES and all(m == outcomes.RECEDES for m in oc.means[1:])
    all_converge = oc.run == outcomes.ALL_CONVERGE
    return {"M0": M0, "eps0": eps0, "holds": holds, "all_converge": all_converge, "outcomes": list(oc.means),
            "final_distances": [round(float(x), 6) for x in oc.final_distances],
            "steps": int(hist[-1][0]) if hist else 0, "note": note.lstrip("; "), "distances": dist,
            "recorded_steps": [h[0] for h in hist]}


def mp_cross_check(M0: float, steps: int, *, n: int = N, eta: float = ETA, dps: int = 30) -> dict:
    """The first ``steps`` steps with the engine's mpmath gradient (dps digits) against float64.

    Returns the largest difference of the means; the float64 engine's accuracy is 1e-10
    relative per gradient, and the difference can grow by the local expansion rate.
    """
    import mpmath

    from verify.engine import reference

    eps0 = math.exp(-M0 / 100)
    mu0 = np.zeros((n, 1))
    mu0[0, 0] = eps0
    tr = gradient_descent(mu0, [M0], 0.0, eta, steps, record_every=1)
    with mpmath.workdps(dps):
        mu = [[mpmath.mpf(float(x))] for x in mu0[:, 0]]
        worst = 0.0
        for k in range(steps):
            g = reference.grad_scaled_mp(mu, [mpmath.mpf(M0)], "0", dps=dps)
            mu = [[mu[i][0] - eta * g[i][0]] for i in range(n)]
            diff = max(abs(float(mu[i][0]) - tr.mu_history[k + 1, i, 0]) for i in range(n))
            worst = max(worst, diff)
    return {"M0": M0, "steps": steps, "dps": dps, "max_abs_diff": worst}


@register("thm-3.4", STATEMENT)
def run(budget="quick", seed=0, progress=None, **overrides) -> ClaimResult:
    """Scan M0 for the counterexample at ``budget`` ("quick" ~ 1 min, "full" ~ 10 min)."""
    cfg, progress = budget_config(BUDGETS, budget, progress, overrides)
    t0 = time.time()
    rows, runs = [], {}
    for j, M0 in enumerate(cfg["M0s"]):
        progress(j, len(cfg["M0s"]) + 1, f"M0 = {M0}")
        r = counterexample_run(float(M0))
        runs[float(M0)] = r
        rows.append({k: r[k] for k in ("M0", "eps0", "holds", "all_converge", "outcomes",
                                       "final_distances", "steps", "note")})
    holds_at = [r["M0"] for r in rows if r["holds"]]
    progress(len(cfg["M0s"]), len(cfg["M0s"]) + 1, "mpmath cross-check")
    xc = mp_cross_check(cfg["mp_M0"], cfg["mp_steps"])
    # tolerance: 1e-10 relative engine accuracy per step x steps x (1 + 4 eta M0^2/n)^steps growth,
    # relative to coordinates of size M0 (see tests/test_thm_3_4.py)
    growth = (1 + 4 * ETA * cfg["mp_M0"] ** 2 / N) ** cfg["mp_steps"]
    xc_tol = 1e-10 * cfg["mp_M0"] * cfg["mp_steps"] * growth
    xc["tolerance"] = xc_tol
    ev = {
        "n": N, "d": D, "eta": ETA, "step_convention": CONVENTION, "t": 0.0, "mu_star": "M0 e_1",
        "steps": STEPS, "record_every": RECORD_EVERY,
        "outcome_rule": "verify.simulate.outcomes.tail_rule with radius 1/(6n), receding radius the largest "
                        "initial distance M0",
        "scan": rows, "holds_at_M0": holds_at,
        "mp_cross_check": xc, "seconds": round(time.time() - t0, 1),
    }
    figs = {"thm_3_4_scan.png": lambda path, runs=runs: _figure(path, runs)}
    size = f"n = {N}, d = {D}, eta = {ETA}, {STEPS} steps, {len(rows)} values of M0"
    if xc["max_abs_diff"] > xc_tol:
        return ClaimResult("fails", f"mpmath and float64 trajectories differ by {xc['max_abs_diff']:.2e} > "
                           f"{xc_tol:.1e}", ev, size, figs)
    if not holds_at:
        return ClaimResult("inconclusive", "the counterexample held at none of the scanned M0", ev, size, figs)
    undecided = [r["M0"] for r in rows if not r["holds"] and not r["all_converge"]]
    ev["undecided_M0"] = undecided
    large = [r for r in rows if r["M0"] >= min(holds_at) and r["M0"] not in undecided]
    if all(r["holds"] for r in large):
        reason = (f"only mu_1 converges and the others recede for every scanned M0 >= {min(holds_at)} "
                  f"(n = {N}, d = {D}, eta = {ETA}) that the engine could decide; undecided: {undecided}")
    else:
        reason = (f"the counterexample holds at M0 in {holds_at} of the scan, not at every larger M0 "
                  f"(set reported as found)")
    return ClaimResult("holds", reason, ev, size, figs)


def _figure(path, runs):
    """Each mean's distance from m* for every scanned M0 (colour: M0, on a colour bar; solid: mean 1,
    dashed: the others), with the convergence radius of the outcome rule."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    from verify.claims import figures

    fig, ax = figures.new_axes(xlabel="step tau", ylabel="|m_i - m*|", figsize=(7, 4.6),
                               title=f"Theorem 3.4: mean 1 converges and the others run away, for M0 large enough "
                                     f"(n = {N}, d = {D}, eta = {ETA})")
    M0s = sorted(runs)
    norm = Normalize(min(M0s), max(M0s) if max(M0s) > min(M0s) else min(M0s) + 1)
    cmap = figures.plt.get_cmap("viridis")
    for M0 in M0s:
        r = runs[M0]
        for i in range(r["distances"].shape[1]):
            ax.semilogy(r["recorded_steps"], np.maximum(r["distances"][:, i], 1e-12), "-" if i == 0 else "--",
                        color=cmap(norm(M0)), lw=1)
    ax.axhline(1 / (6 * N), color="k", ls=":", lw=1, label="1/(6n): converged (outcome rule)")
    fig.colorbar(ScalarMappable(norm, cmap), ax=ax, label="M0 = |mu*|")
    missed = [M0 for M0 in M0s if not runs[M0]["holds"]]
    # below the axes (the note on the M0 where it fails as its title): inside, they covered the lines
    fig.legend(handles=[figures.style_key("mean 1, from exp(-M0/100) e_1", "-"),
                        figures.style_key("means 2, 3, from 0", "--"), ax.get_lines()[-1]],
               fontsize=7, title_fontsize=7, ncols=3, loc="outside lower center",
               title=(f"the counterexample does not hold at M0 = {', '.join(f'{m:g}' for m in missed)}"
                      if missed else None))
    figures.save(fig, path)
