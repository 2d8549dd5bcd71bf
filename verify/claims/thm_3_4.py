"""Theorem 3.4: without exponentially small initialization the means need not all converge.

[1, Theorem 3.4], encoded as in ``CLAIMS.md``: with mu* = M0 e_1, mu_1(0) = eps0 e_1,
eps0 = exp(-M0/100), and mu_i(0) = 0 for i >= 2, gradient descent on L_0 sends mu_1 to mu*
while every other mean runs away, "for M0 large enough".  The theorem is an existence
statement (a counterexample); not tight.

Encoded here: n = 3, d = 1 (the means stay on the e_1 axis, so the reduced integral has k = 1
for every d), t = 0, step eta = 0.05 in the "scaled" convention, exact population gradients of
the float64 engine; one run per M0 (:mod:`verify.analysis.counterexample`: phase 1 in the
original coordinates, phase 2 recentred on the losers so that their outward motion, ~1e-20 per
step at M0 = 20, is resolved; the direction certified in float64 or, where float64 cannot,
in mpmath log-space).  An mpmath run of the first steps cross-checks the float64 trajectory.

Verdict ("for M0 large enough" on a grid): **holds** when the counterexample works at every
scanned M0 from some M0_c <= ``onset_limit`` (10) up to some M0_hi >= ``top`` (20), the grid step
at most ``max_step`` (0.5); M0_c and M0_hi are reported, and so is every scanned M0 above M0_hi
(the full grid goes beyond ``top``, where float64 may not follow the losers: undecided there is
reported, not hidden; a run that decides it does not work fails the claim anywhere above
``onset_limit``).  **fails** when at some scanned
M0 >= ``onset_limit`` the run decides that it does not work (every mean converges, or a loser
approaches mu*).  **inconclusive** otherwise (undecided runs, or a grid that does not reach the
sizes).  "Runs away" is the losers' measured growth: their outward displacement over phase 2,
its log-log exponent and rate (findings), never only "did not approach".

Reference: [1] arXiv 2511.22069.
"""

from __future__ import annotations

import math
import time

import numpy as np

from verify.analysis import counterexample as ce
from verify.claims.base import ClaimResult, Finding, budget_config, register
from verify.engine.tolerances import DESCENT_TOL
from verify.simulate.descent import gradient_descent

STATEMENT = (
    "With mu_1(0) = exp(-M0/100) e_1 and mu_i(0) = 0 (i >= 2), mu* = M0 e_1, gradient descent sends mu_1 to "
    "mu* while every other mean runs away, for M0 large enough."
)

N, D, ETA, CONVENTION = 3, 1, 0.05, "scaled"
STEPS, PHASE2, RECORD_EVERY = 1500, 500, 25

#: ``M0s``: the grid; ``onset_limit``, ``top``, ``max_step``: the sizes the verdict needs (module
#: doc); ``eps0``: None for exp(-M0/100), or a number in its place (a negative control's wrong
#: constant); ``gradient``: None for the engine's, or ``grad_fn(mu, mu_star, t) -> dL/dmu``.
BUDGETS = {
    "quick": dict(M0s=tuple(np.round(np.arange(1.0, 20.01, 0.5), 2)), onset_limit=10.0, top=20.0, max_step=0.5,
                  mp_steps=8, mp_M0=4.0, eps0=None, gradient=None),
    "full": dict(M0s=tuple(np.round(np.arange(0.5, 30.01, 0.25), 2)), onset_limit=10.0, top=20.0, max_step=0.5,
                 mp_steps=80, mp_M0=4.0, eps0=None, gradient=None),
}


def counterexample_run(M0: float, *, n: int = N, d: int = D, eta: float = ETA, eps0: float | None = None,
                       grad_fn=None) -> ce.CounterexampleRun:
    """One run of the counterexample at this claim's sizes
    (:func:`verify.analysis.counterexample.counterexample_run`)."""
    return ce.counterexample_run(M0, n=n, d=d, eta=eta, steps=STEPS, phase2=PHASE2, record_every=RECORD_EVERY,
                                 eps0=eps0, grad_fn=grad_fn)


def onset(rows, top: float | None = None):
    """(M0_c, M0_hi): the unbroken stretch of scanned M0 at which the counterexample works that
    reaches ``top``: it contains the first scanned M0 >= ``top`` (the largest scanned M0 when
    ``top`` is None) and every scanned M0 from M0_c to M0_hi works.  (None, None) when that point
    does not work.  Points above M0_hi are reported by the claim, not part of the stretch."""
    grid = sorted(rows, key=lambda r: r["M0"])
    at = next((i for i, r in enumerate(grid) if top is not None and r["M0"] >= top), len(grid) - 1)
    if not grid or grid[at]["status"] != ce.WORKS:
        return None, None
    lo = hi = at
    while lo > 0 and grid[lo - 1]["status"] == ce.WORKS:
        lo -= 1
    while hi < len(grid) - 1 and grid[hi + 1]["status"] == ce.WORKS:
        hi += 1
    return grid[lo]["M0"], grid[hi]["M0"]


def mp_trajectory(M0: float, steps: int, *, n: int = N, eta: float = ETA, dps: int = 30) -> np.ndarray:
    """The first ``steps`` steps with the engine's mpmath gradient (dps digits), as float64, shape (steps + 1, n)."""
    import mpmath

    from verify.engine import reference

    eps0 = math.exp(-M0 / 100)
    out = np.zeros((steps + 1, n))
    out[0, 0] = eps0
    with mpmath.workdps(dps):
        mu = [[mpmath.mpf(float(x))] for x in out[0]]
        for k in range(steps):
            g = reference.grad_scaled_mp(mu, [mpmath.mpf(M0)], "0", dps=dps)
            mu = [[mu[i][0] - eta * g[i][0]] for i in range(n)]
            out[k + 1] = [float(mu[i][0]) for i in range(n)]
    return out


#: Difference step of the finite-difference Jacobian of the update (relative to coordinates ~1..M0).
JAC_STEP = 1e-6


def expansion_tolerance(mu_history, M0: float, *, eta: float = ETA, tol: float = DESCENT_TOL,
                        h: float = JAC_STEP) -> np.ndarray:
    """Bound E_k on |float64 - exact| after each of the steps of ``mu_history`` (shape (steps + 1, n, 1)).

    Each step adds e_k = eta |g_k| tol (the engine's gradient, relative accuracy ``tol``; eta g_k is
    the step taken) + 2 x 2^-52 max|mu| (rounding of the update and of the mpmath result to float64);
    errors carried from earlier steps grow by the norm of the update's Jacobian J_k = I - eta H(mu_k),
    measured by central differences of the engine's gradient on the float64 path:
    E_(k+1) = (|J_k| + j_err) E_k + e_k, with j_err = sqrt(n) eta tol |g|_max / h (the gradient's
    error over the difference step, |g|_max the largest step taken / eta) + h (a cover of the
    O(h^2) truncation).  Linearised: the errors (~1e-10) are far inside the range, ~h, over which
    the measured Jacobian describes the update.  Replaces the worst-case growth (1 + 4 eta M0^2/n)^steps,
    which at 80 steps and M0 = 4 was 5e17 (review23c H4); the measured |J_k| is 0.984..0.997 there.
    """
    from verify.engine import reference

    mu_history = np.asarray(mu_history, dtype=float)
    star = np.array([float(M0)])
    steps, n = mu_history.shape[0] - 1, mu_history.shape[1]
    moves = np.linalg.norm((mu_history[1:] - mu_history[:-1]).reshape(steps, -1), axis=1)  # eta |g_k|
    j_err = math.sqrt(n) * tol * float(np.max(moves, initial=0.0)) / h + h
    E = np.zeros(steps + 1)
    for k in range(steps):
        mu = mu_history[k]
        J = np.empty((n, n))
        for i in range(n):
            up, dn = mu.copy(), mu.copy()
            up[i, 0] += h
            dn[i, 0] -= h
            J[:, i] = ((up - eta * reference.grad(up, star, 0.0, tol=tol))
                       - (dn - eta * reference.grad(dn, star, 0.0, tol=tol)))[:, 0] / (2 * h)
        e_k = moves[k] * tol + 2 * 2.0**-52 * float(np.max(np.abs(mu_history[k + 1])))
        E[k + 1] = (np.linalg.norm(J, 2) + j_err) * E[k] + e_k
    return E


def mp_cross_check(M0: float, steps: int, *, n: int = N, eta: float = ETA, dps: int = 30, mp=None) -> dict:
    """The first ``steps`` steps with the engine's mpmath gradient (dps digits) against float64.

    Returns the largest difference of the means and its tolerance, the largest bound
    :func:`expansion_tolerance` along the float64 run.  ``mp``: the mpmath trajectory
    (:func:`mp_trajectory`), if already computed (it is the slow part: ~6 s a step).
    """
    eps0 = math.exp(-M0 / 100)
    mu0 = np.zeros((n, 1))
    mu0[0, 0] = eps0
    tr = gradient_descent(mu0, [M0], 0.0, eta, steps, record_every=1)
    mp = mp_trajectory(M0, steps, n=n, eta=eta, dps=dps) if mp is None else np.asarray(mp)[: steps + 1]
    diff = np.max(np.abs(mp[1:] - tr.mu_history[1:, :, 0]), axis=1)
    bound = expansion_tolerance(tr.mu_history, M0, eta=eta)
    return {"M0": M0, "steps": steps, "dps": dps, "max_abs_diff": float(np.max(diff, initial=0.0)),
            "tolerance": float(np.max(bound)), "max_diff_over_bound": float(np.max(diff / bound[1:], initial=0.0)),
            "tolerance_rule": "per-step engine error (tol 1e-10 x eta|g|) + rounding, carried by the measured "
                              "norm of the update's Jacobian along the float64 run"}


@register("thm-3.4", STATEMENT)
def run(budget="quick", seed=0, progress=None, **overrides) -> ClaimResult:
    """Scan M0 for the counterexample at ``budget`` ("quick" ~ 3 min, "full" ~ 10 min)."""
    cfg, progress = budget_config(BUDGETS, budget, progress, overrides)
    t0 = time.time()
    M0s = sorted(float(m) for m in cfg["M0s"])
    rows, runs = [], {}
    for j, M0 in enumerate(M0s):
        progress(j, len(M0s) + 1, f"M0 = {M0}")
        r = counterexample_run(M0, eps0=cfg["eps0"], grad_fn=cfg["gradient"])
        runs[M0] = r
        rows.append({"M0": M0, "eps0": r.eps0, "status": r.status, "reason": r.reason,
                     "phase1": list(r.phase1.means), "phase1_final_distances": [round(float(x), 6) for x in
                                                                             r.phase1.final_distances],
                     "losers_phase2": r.loser_outcomes, "loser_growth_exponent": r.growth_exponent,
                     "loser_rate_per_step": r.rate, "certified_by": r.certified_by, "note": r.note})
    progress(len(M0s), len(M0s) + 1, "mpmath cross-check")
    # tolerance: the engine's per-step error carried by the measured expansion of the update
    # (expansion_tolerance): 1.7e-10 at 8 steps, 2.7e-10 at 80 (M0 = 4; measured
    # difference 4.8e-14 at 80); the worst-case growth (1 + 4 eta M0^2/n)^80 it replaces was 5e17
    xc = mp_cross_check(cfg["mp_M0"], cfg["mp_steps"])
    m0c, m0_hi = onset(rows, cfg["top"])
    step = float(np.max(np.diff(M0s))) if len(M0s) > 1 else math.inf
    works = [r["M0"] for r in rows if r["status"] == ce.WORKS]
    refuted = [r["M0"] for r in rows if r["status"] == ce.DOES_NOT_WORK and r["M0"] >= cfg["onset_limit"]]
    ev = {
        "n": N, "d": D, "eta": ETA, "step_convention": CONVENTION, "t": 0.0, "mu_star": "M0 e_1",
        "steps_phase1": STEPS, "steps_phase2_recentred": PHASE2, "record_every": RECORD_EVERY,
        "eps0": "exp(-M0/100)" if cfg["eps0"] is None else cfg["eps0"],
        "dynamics": "engine's exact gradient" if cfg["gradient"] is None else "supplied gradient",
        "M0_c": m0c, "M0_hi": m0_hi, "grid_step": step, "works_at_M0": works,
        "does_not_work_at_M0": [r["M0"] for r in rows if r["status"] == ce.DOES_NOT_WORK],
        "undecided_M0": [r["M0"] for r in rows if r["status"] == ce.UNDECIDED],
        "scan": rows, "mp_cross_check": xc, "seconds": round(time.time() - t0, 1),
    }
    figs = {"thm_3_4_scan.png": lambda path, runs=runs: _figure(path, runs)}
    size = (f"n = {N}, d = {D}, eta = {ETA}; M0 in [{M0s[0]:g}, {M0s[-1]:g}] step {step:g}; "
            f"{STEPS} + {PHASE2} (recentred) steps")
    found = findings(rows, m0c, cfg)

    def result(verdict, reason):
        return ClaimResult(verdict, reason, ev, size, figs, found)

    if xc["max_abs_diff"] > xc["tolerance"]:
        return result("fails", f"mpmath and float64 trajectories differ by {xc['max_abs_diff']:.2e} > "
                      f"{xc['tolerance']:.1e}")
    if refuted:
        return result("fails", f"the counterexample does not work at M0 = {refuted} (>= {cfg['onset_limit']:g}): "
                      + "; ".join(r["reason"] for r in rows if r["M0"] in refuted[:2]))
    above = [r for r in rows if m0_hi is not None and r["M0"] > m0_hi]
    if m0c is not None and m0c <= cfg["onset_limit"] and m0_hi >= cfg["top"] and step <= cfg["max_step"]:
        beyond = (f"; above {m0_hi:g}: works at {sum(r['status'] == ce.WORKS for r in above)} of {len(above)} "
                  f"scanned M0, undecided at {[r['M0'] for r in above if r['status'] == ce.UNDECIDED]} (reasons "
                  f"in the evidence)" if above else "")
        return result("holds", f"mu_1 converges and every other mean recedes (outward growth measured, direction "
                      f"certified) at every scanned M0 from M0_c = {m0c:g} to {m0_hi:g} (step {step:g}); below "
                      f"M0_c: does not work at {[m for m in ev['does_not_work_at_M0'] if m < m0c]}, undecided at "
                      f"{[m for m in ev['undecided_M0'] if m < m0c]}" + beyond)
    why = []
    if m0c is None or m0c > cfg["onset_limit"]:
        why.append(f"no M0_c <= {cfg['onset_limit']:g} from which it works at every scanned M0 up to "
                   f"{cfg['top']:g} or beyond (stretch through {cfg['top']:g}: {m0c}..{m0_hi}; undecided at "
                   f"{ev['undecided_M0']})")
    elif m0_hi < cfg["top"]:
        why.append(f"the stretch where it works ends at {m0_hi:g} < {cfg['top']:g}")
    if M0s[-1] < cfg["top"] or step > cfg["max_step"]:
        why.append(f"the grid [{M0s[0]:g}, {M0s[-1]:g}] step {step:g} does not reach M0 >= {cfg['top']:g} "
                   f"with step <= {cfg['max_step']:g}")
    return result("inconclusive", "; ".join(why))


def findings(rows, m0c, cfg) -> list[Finding]:
    """M0_c, and the losers' growth law (outward displacement over the recentred phase) per M0."""
    out = [Finding("M0_c: onset of the counterexample", m0c, None if len(rows) < 2 else
                   float(np.max(np.diff([r["M0"] for r in rows]))), f"M0 in [{rows[0]['M0']:g}, {rows[-1]['M0']:g}]",
                   "works for every scanned M0 >= M0_c", "supports" if m0c is not None else "measures",
                   "uncertainty: the grid step")]
    grown = [r for r in rows if r["status"] == ce.WORKS]
    if grown:
        exps = [r["loser_growth_exponent"][0] for r in grown]
        out.append(Finding("losers' outward displacement exponent (recentred phase)",
                           [round(min(exps), 4), round(max(exps), 4)], None,
                           f"{PHASE2} steps after {STEPS}, M0 in [{grown[0]['M0']:g}, {grown[-1]['M0']:g}]",
                           "u(tau) ~ tau^p: p ~ 1 when the push is quasi-static (far losers), p < 1 as it decelerates",
                           "supports", "runaway measured as growth over the run; its limit is not decided"))
        out.append(Finding("losers' outward rate per step at the end",
                           {f"{r['M0']:g}": float(f"{r['loser_rate_per_step'][0]:.3g}")
                            for r in grown[:: max(1, len(grown) // 8)]},
                           None, f"last {PHASE2} steps",
                           "rate ~ eta D^2 phi(D/2) (n = 2 asymptotics, proofs_map thm-3.5)", "measures"))
    return out


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
        for i in range(r.distances.shape[1]):
            ax.semilogy(r.recorded_steps, np.maximum(r.distances[:, i], 1e-12), "-" if i == 0 else "--",
                        color=cmap(norm(M0)), lw=1)
    ax.axhline(1 / (6 * N), color="k", ls=":", lw=1, label="1/(6n): converged (outcome rule)")
    fig.colorbar(ScalarMappable(norm, cmap), ax=ax, label="M0 = |mu*|")
    missed = [M0 for M0 in M0s if runs[M0].status != ce.WORKS]
    # below the axes (the note on the M0 where it fails as its title): inside, they covered the lines
    fig.legend(handles=[figures.style_key("mean 1, from exp(-M0/100) e_1", "-"),
                        figures.style_key("means 2, 3, from 0", "--"), ax.get_lines()[-1]],
               fontsize=7, title_fontsize=7, ncols=3, loc="outside lower center",
               title=(f"the counterexample does not work at M0 = {', '.join(f'{m:g}' for m in missed)}"
                      if missed else None))
    figures.save(fig, path)
