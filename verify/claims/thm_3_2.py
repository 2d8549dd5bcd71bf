"""Theorem 3.2: exponentially small initialization, all means converge.

[1, Theorem 3.2], encoded as in ``CLAIMS.md``: with mu* = M0 e_1 (t = 0) and every
|mu_i(0)| <= r0 = exp(-10^6 n d M0^3) / (108 n d), gradient descent sends every mu_i to mu*
and the loss falls at rate 1/sqrt(tau).  Proof idea: a reference centre with A(0) = M0 and
A(tau + 1) = (1 - eta/n) A(tau) (as printed; 1 - 2 eta/n for the loss without 1/2); the
cluster stays within a radius of A(tau) until A <= 1/(6n), then Theorem 2.1 takes over.
Not tight (the measured amplification is ~exp(M0^2), the budget exp(10^6 n d M0^3)).

What is measured (``verify/analysis/cluster.py`` has the derivations):

1. the centre factor: derived 1 - 2 eta/n; measured with the engine on a collapsed cluster;
   the printed 1 - eta/n is rejected (negative control);
2. the first-order deviation map (J): SymPy proof, and the engine's mpmath gradient at
   deviations 1e-30 (dps 60) against it;
3. at the paper's radius (n = 2, d = 1, M0 = 1, r0 ~ 10^-868591): a rigorous remainder
   bound through the approach; the invariant's smallest radius; the engine's gradient at
   that radius (dps ~868,700, "full" only, ~100 s);
4. a literal run at the paper's radius where the working precision is feasible (M0 = 0.2,
   r0 ~ 10^-6951, dps ~7,000), the whole approach, against the linear prediction;
5. the amplification along the approach against exp(10^6 n d M0^3);
6. the empirical largest initial radius r*(M0) with every mean converging (float64 engine,
   linear phase below 1e-6), with negative control (r above it: a mean recedes) and the
   cross-check r* < exp(-M0/100) wherever Theorem 3.4's counterexample holds at the same n, eta.

Parameters: n = 2, d = 1, eta = 0.05, step convention "scaled", t = 0.  The invariant's
radius is a parameter (``radius``; default: the smallest one the run needs is reported).

Reference: [1] arXiv 2511.22069.
"""

from __future__ import annotations

import math
import time

import mpmath
import numpy as np

from verify.analysis import cluster as cl
from verify.analysis import cluster_runs
from verify.claims.base import ClaimResult, budget_config, register
from verify.simulate.descent import gradient_descent

STATEMENT = (
    "With mu* = M0 e_1 and every |mu_i(0)| <= exp(-10^6 n d M0^3)/(108 n d), gradient descent sends every "
    "mu_i to mu* (the cluster follows A(tau+1) = (1 - 2 eta/n) A(tau) until A <= 1/(6n)), and the loss "
    "falls at rate 1/sqrt(tau)."
)

N, D, ETA, CONVENTION = 2, 1, 0.05, "scaled"

BUDGETS = {
    "quick": dict(sympy=((2, 1), (3, 2)), amp_M0=(0.5, 1, 2, 3, 4, 5, 6, 8), literal_M0=0.2,
                  engine_paper_radius=False, boundary_M0=(3.0, 4.0), rel_width=0.3),
    "full": dict(sympy=((2, 1), (3, 1), (2, 2), (3, 2)), amp_M0=(0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10),
                 literal_M0=0.3, engine_paper_radius=True,
                 boundary_M0=(2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0), rel_width=0.1),
}


def measured_centre_factor(n: int = N, eta: float = ETA, M0: float = 1.0, steps: int = 20) -> dict:
    """Run the engine's gradient descent from a collapsed cluster at the origin; fit A(tau+1)/A(tau)."""
    tr = gradient_descent(np.zeros((n, 1)), [M0], 0.0, eta, steps)
    A = tr.distances[:, 0]
    ratios = A[1:] / A[:-1]
    return {"ratios_min": float(ratios.min()), "ratios_max": float(ratios.max()),
            "derived": cl.centre_factor(n, eta), "printed": cl.centre_factor(n, eta, half_loss=True),
            "max_dev_from_derived": float(np.abs(ratios - cl.centre_factor(n, eta)).max()),
            "max_dev_from_printed": float(np.abs(ratios - cl.centre_factor(n, eta, half_loss=True)).max())}


def literal_run(M0: float, n: int = N, d: int = D, eta: float = ETA, *, guard: int = 60) -> dict:
    """The whole approach at the theorem's radius with the engine's mpmath gradient.

    mu_1(0) = r0 e_1, the others at 0 (n = 2: spread e = +-r0/2), in coordinates relative to the
    collapsed centre (:func:`verify.analysis.cluster.engine_deviation_gradient`) at dps = digits of r0 + guard.
    Returns the measured spread at the hand-off and the linear prediction.
    """
    log10_r0 = cl.theorem_radius_log10(M0, n, d)
    dps = int(math.ceil(-log10_r0)) + guard
    T = cl.handoff_step(M0, n, eta)
    with mpmath.workdps(dps + 10):
        r0 = mpmath.mpf(10) ** mpmath.mpf(log10_r0)
        c = [-mpmath.mpf(M0)] + [mpmath.mpf(0)] * (d - 1)
        delta = [[r0] + [mpmath.mpf(0)] * (d - 1)] + [[mpmath.mpf(0)] * d for _ in range(n - 1)]
        lin = np.array(delta, dtype=object)
        cl_lin = np.array(c, dtype=object)
        t0 = time.time()
        for _ in range(T):
            g, _err = cl.engine_deviation_gradient(c, delta, dps=dps)
            delta = [[delta[i][k] - mpmath.mpf(eta) * g[i][k] for k in range(d)] for i in range(n)]
            cl_lin, lin = cl.linear_step(cl_lin, lin, n, mpmath.mpf(eta))
            c = [x * (1 - 2 * mpmath.mpf(eta) / n) for x in c]
        spread = delta[0][0] - delta[1][0]
        spread_lin = lin[0][0] - lin[1][0]
        rel = abs(spread / spread_lin - 1)
        radius = max(abs(delta[i][k]) for i in range(n) for k in range(d))
        return {"M0": M0, "n": n, "d": d, "eta": eta, "dps": dps, "steps": T, "log10_r0": log10_r0,
                "spread_amplification": mpmath.nstr(spread / r0, 12),
                "linear_amplification": mpmath.nstr(spread_lin / r0, 12),
                "relative_difference": mpmath.nstr(rel, 3),
                "relative_difference_log10": float(mpmath.log10(rel)) if rel > 0 else float("-inf"),
                "max_radius_log10": float(mpmath.log10(radius)), "seconds": round(time.time() - t0, 1)}


def paper_radius_gradient(M0: float = 1.0, n: int = N, d: int = D) -> dict:
    """g_1 - g_2 from the engine at r0 ~ 10^-868591 (M0 = 1, n = 2, d = 1) against (J): ~100 s."""
    log10_r0 = cl.theorem_radius_log10(M0, n, d)
    dps = int(math.ceil(-log10_r0)) + 60
    t0 = time.time()
    with mpmath.workdps(dps):
        r0 = mpmath.mpf(10) ** mpmath.mpf(log10_r0)
        val, _ = cl.engine_deviation_gradient([-mpmath.mpf(M0)], [[r0], [mpmath.mpf(0)]], dps=dps)
        pred = cl.deviation_gradient(np.array([-mpmath.mpf(M0)], dtype=object),
                                     np.array([[r0], [mpmath.mpf(0)]], dtype=object))
        diff = val[0][0] - val[1][0]
        rel = abs(diff / (pred[0][0] - pred[1][0]) - 1)
        return {"dps": dps, "engine_g1_minus_g2": mpmath.nstr(diff, 15),
                "linear_prediction": mpmath.nstr(pred[0][0] - pred[1][0], 15),
                "relative_difference": mpmath.nstr(rel, 3), "seconds": round(time.time() - t0, 1)}


def boundary_table(M0s, n: int = N, eta: float = ETA, rel_width: float = 0.1) -> list[dict]:
    rows = []
    for M0 in M0s:
        b = cluster_runs.radius_boundary(M0, n, eta, rel_width=rel_width)
        la = cl.linear_amplification(M0, n, eta)["log_amplification"]
        rows.append({"M0": M0, "r_star_low": b.r_star_low, "r_star_high": b.r_star_high,
                     "r_star": b.r_star, "linear_log_amplification": la,
                     "critical_linear_spread": b.r_star * math.exp(la) if b.r_star == b.r_star else None,
                     "exp_minus_M0_over_100": math.exp(-M0 / 100),
                     "runs": [(float(r), o, int(s), st) for r, o, s, st in b.runs]})
    return rows


@register("thm-3.2", STATEMENT)
def run(budget="quick", seed=0, progress=None, **overrides) -> ClaimResult:
    """Run the Theorem 3.2 checks at ``budget`` ("quick" ~ 1 min, "full" ~ 10 min)."""
    cfg, progress = budget_config(BUDGETS, budget, progress, overrides)
    t0 = time.time()
    problems: list[str] = []
    ev: dict = {"n": N, "d": D, "eta": ETA, "step_convention": CONVENTION, "t": 0.0, "mu_star": "M0 e_1"}

    progress(0, 6, "centre factor")
    cf = measured_centre_factor()
    ev["centre_factor"] = cf
    # tolerance: 1e-14 ~ 50 ulps of the ratio of two float64 distances (the k = 0 gradient is exact)
    if cf["max_dev_from_derived"] > 1e-14:
        problems.append(f"centre factor deviates from 1 - 2 eta/n by {cf['max_dev_from_derived']:.1e}")

    progress(1, 6, "deviation map (J)")
    ev["sympy_J_residuals_zero"] = {f"n={n},d={d}": all(r == 0 for r in cl.sympy_jacobian_residuals(n, d))
                                    for n, d in cfg["sympy"]}
    if not all(ev["sympy_J_residuals_zero"].values()):
        problems.append("SymPy residual of (J) is not zero")

    progress(2, 6, "paper's radius")
    cert = cl.linear_regime_certificate(1.0, N, D, ETA, mpmath.nstr(mpmath.mpf(10) ** cl.theorem_radius_log10(1.0, N, D), 10))
    ev["paper_radius_M0_1"] = {"log10_r0": cl.theorem_radius_log10(1.0, N, D), **cert,
                               "smallest_invariant_radius_log10": cert["radius_bound_log10"]}
    if not cert["valid"]:
        problems.append("remainder certificate invalid at the paper's radius")
    if cfg["engine_paper_radius"]:
        ev["paper_radius_engine_gradient"] = paper_radius_gradient()
    lit = literal_run(cfg["literal_M0"])
    ev["literal_run"] = lit
    # tolerance: the engine's k = 1 accuracy ~10^-(dps-5) relative to |g| ~ 1, i.e. 10^-(guard-5) = 1e-55
    # relative to the deviation part; 1e-40 leaves 15 digits of margin for the T-step accumulation.
    if lit["relative_difference_log10"] > -40:
        problems.append(f"literal run differs from the linear prediction by 10^{lit['relative_difference_log10']:.1f}")

    progress(3, 6, "amplification")
    amp = []
    for M0 in cfg["amp_M0"]:
        la = cl.linear_amplification(M0, N, ETA)
        amp.append({"M0": M0, "handoff_step": la["steps"], "log10_amplification": la["log_amplification"] / math.log(10),
                    "log10_amplification_whole_run": la["log_total"] / math.log(10),
                    "log10_continuum_exp_M0sq": la["log_continuum"] / math.log(10),
                    "log10_theorem_budget": 1e6 * N * D * M0**3 / math.log(10)})
    ev["amplification"] = amp

    progress(4, 6, "empirical boundary")
    rows = boundary_table(cfg["boundary_M0"], rel_width=cfg["rel_width"])
    ev["boundary"] = rows
    cross = []
    from verify.claims.thm_3_4 import counterexample_run

    for row in rows:
        ce = counterexample_run(row["M0"], n=N, eta=ETA)
        works = ce.status == "works"
        ok = (not works) or (row["r_star_high"] <= ce.eps0)
        cross.append({"M0": row["M0"], "counterexample_works": works, "r_star_high": row["r_star_high"],
                      "eps0": ce.eps0, "consistent": ok})
        if not ok:
            problems.append(f"M0 = {row['M0']}: counterexample holds but r* = {row['r_star_high']:.2e} >= eps0")
        if not (row["r_star_low"] > 0 and row["r_star_high"] == row["r_star_high"]):
            problems.append(f"M0 = {row['M0']}: boundary not bracketed")
    ev["cross_check_thm_3_4"] = cross
    ev["seconds"] = round(time.time() - t0, 1)
    figs = {"thm_3_2_boundary.png": lambda path, rows=rows, amp=amp: _figure(path, rows, amp)}
    size = f"n = {N}, d = {D}, eta = {ETA}; boundary at M0 = {list(cfg['boundary_M0'])}"
    if problems:
        return ClaimResult("fails", "; ".join(problems), ev, size, figs)
    return ClaimResult(
        "inconclusive",
        "at the paper's radius the cluster provably stays within 10^%.0f of its centre until A <= 1/(6n) "
        "(centre factor 1 - 2 eta/n measured, amplification 10^%.2f vs budget 10^%.0f); the final convergence "
        "and the 1/sqrt(tau) rate rest on Theorem 2.1's regime, which is not re-run here"
        % (cert["radius_bound_log10"], amp[[a["M0"] for a in amp].index(1)]["log10_amplification"],
           1e6 * N * D / math.log(10)),
        ev, size, figs)


def _figure(path, rows, amp):
    """The measured boundary r*(M0), the linear phase's prediction of it, Theorem 3.4's start (the
    cross-check) and, as text, the theorem's own radius (far below any axis)."""
    from verify.claims import figures

    fig, ax = figures.new_axes(xlabel="M0 = |mu*|", ylabel="initial radius r", figsize=(7, 4.6),
                               title=f"Theorem 3.2: the largest initial radius r* from which every mean converges "
                                     f"(n = {N}, d = {D}, eta = {ETA}, t = 0)")
    M = [r["M0"] for r in rows]
    ax.semilogy(M, [r["r_star"] for r in rows], "o-", label=f"r* measured (bisection, {len(M)} values of M0)")
    Ms = np.linspace(min(M) - 0.5, max(M) + 0.5, 50)
    spreads = [r["critical_linear_spread"] for r in rows if r["critical_linear_spread"]]
    if spreads:
        c = float(np.median(spreads))  # the spread, amplified by the linear phase, at which a mean escapes
        lin = [c * math.exp(-cl.linear_amplification(m, N, ETA)["log_amplification"]) for m in Ms]
        ax.semilogy(Ms, lin, ":", label=f"c / linear amplification to hand-off (c = {c:.3g}: the measured "
                                        f"escaping spread)")
    ax.semilogy(Ms, np.exp(-Ms / 100), "--", label="exp(-M0/100): Theorem 3.4's start (r* must lie below it)")
    log10_r0 = cl.theorem_radius_log10(min(M), N, D)
    # the legend (and the theorem's own radius, its title) below the axes: inside, they covered the points
    fig.legend(fontsize=7, title_fontsize=7, loc="outside lower center",
               title=f"the theorem's radius exp(-10^6 n d M0^3)/(108 n d) is 10^({log10_r0:.3g}) at M0 = "
                     f"{min(M):g}: far below this axis")
    figures.save(fig, path)
