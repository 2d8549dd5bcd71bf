"""Theorem 3.2: exponentially small initialization, all means converge.

[1, Theorem 3.2], encoded as in ``CLAIMS.md``: with mu* = M0 e_1 (t = 0) and every
|mu_i(0)| <= r0 = exp(-10^6 n d M0^3) / (108 n d), gradient descent sends every mu_i to mu*
and the loss falls at rate 1/sqrt(tau).  Proof idea: a reference centre with A(0) = M0 and
A(tau + 1) = (1 - eta/n) A(tau) (as printed; 1 - 2 eta/n for the loss without 1/2); the
cluster stays within a radius of A(tau) until A <= 1/(6n), then Theorem 2.1 takes over.
Not tight (the measured amplification is ~exp(M0^2), the budget exp(10^6 n d M0^3)).

The verdict judges the statement at its own radius r0, as stated (n = 2, d = 1, eta = 0.05,
"scaled" convention, t = 0; layouts (r, 0) and (-r, r), :mod:`verify.analysis.cluster_runs`):

* M0 = 0.05 and 0.07 (r0 = 10^-111 and 10^-300, the largest M0 whose r0 is a float): float64 runs
  to convergence (the linear phase (J), then the engine) with both layouts: every distance reaches
  1e-9, or the final phase measures a decrease (never "not increasing": both start inside e^-2/n,
  where standing still used to pass).  Float64 carries the spread r0 as exactly 0, so these runs
  judge the centre;
* M0 = 0.2 (r0 = 10^-6951): the approach run literally with the engine's mpmath gradient
  (dps ~7,000) against the linear prediction, then the final phase bounded
  (:mod:`verify.analysis.cluster_radius`);
* M0 = 1 (the paper's radius, 10^-868591): the rigorous certificate through the approach and the
  bound of the final phase: every distance, and the loss's square root, below
  A(tau) + 10^-868590 for 10^868586 steps;
* the engine's dynamics is the one certified: the centre factor 1 - 2 eta/n measured on it, and
  the spread apart from the centre: the spread part of its gradient against the map (J) at
  |c| = each M0 above and 1, deviations 1e-6 (:func:`measured_spread_map`; the certificate and the
  literal run follow (J), so a dynamics whose spread does not move by it, e.g. the centre alone,
  fails here).

**holds** when every instance converges (to within the certified scale of the deviations, below
which the spread converges at second order, Theorem 2.1's regime); **fails** when an instance at
the theorem's radius does not converge or the engine's dynamics contradicts the derivation
(centre factor, spread map);
**inconclusive** when a certificate cannot be closed.  Findings beside it: the empirical largest
radius r*(M0) with eta and the layout named (bisection in log r, runs to convergence; an
unbracketed boundary is reported as such, never as a failure), every scanned radius from r* down
to 1e-300 converging, r*(M0) ~ exp(-c M0^2), and the amplification against the theorem's budget.

Reference: [1] arXiv 2511.22069.
"""

from __future__ import annotations

import math
import time

import mpmath
import numpy as np

from verify.analysis import cluster as cl
from verify.analysis import cluster_runs
from verify.analysis.cluster_radius import final_phase_bound, literal_run, paper_radius_gradient
from verify.claims.base import ClaimResult, Finding, budget_config, register
from verify.explore.findings import radius_law_findings
from verify.simulate import outcomes
from verify.simulate.descent import gradient_descent

STATEMENT = (
    "With mu* = M0 e_1 and every |mu_i(0)| <= exp(-10^6 n d M0^3)/(108 n d), gradient descent sends every "
    "mu_i to mu* (the cluster follows A(tau+1) = (1 - 2 eta/n) A(tau) until A <= 1/(6n)), and the loss "
    "falls at rate 1/sqrt(tau)."
)

N, D, ETA, CONVENTION = 2, 1, 0.05, "scaled"
#: The layouts of :mod:`verify.analysis.layouts` used here, as the size names them.
LAYOUTS = {"leader": "(r, 0)", "opposite": "(-r, r)"}

#: ``float64_M0``: the M0 whose theorem radius a float holds (runs at r0 with each of ``layouts``);
#: ``boundary``: (M0, eta, layout) of each r* bisection; ``scan``: (M0, decades below r*_low) of the
#: runs down to 1e-300; ``gradient``: None for the engine's, or ``grad_fn(mu, mu_star, t) -> dL/dmu``
#: (a negative control's wrong dynamics; the centre factor and the float64 runs use it).
BUDGETS = {
    "quick": dict(sympy=((2, 1), (3, 2)), amp_M0=(0.5, 1, 2, 3, 4, 5, 6, 8), literal_M0=0.2,
                  engine_paper_radius=False, float64_M0=(0.05, 0.07), layouts=("leader", "opposite"),
                  boundary=((3.0, 0.05, "leader"), (4.0, 0.05, "leader")), rel_width=0.3,
                  scan=(4.0, (1, 2, 4, 8, 16, 32, 64, 128, 256)), gradient=None),
    "full": dict(sympy=((2, 1), (3, 1), (2, 2), (3, 2)), amp_M0=(0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10),
                 literal_M0=0.3, engine_paper_radius=True, float64_M0=(0.05, 0.07), layouts=("leader", "opposite"),
                 boundary=tuple((m, 0.05, "leader") for m in (2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0))
                 + tuple((m, 0.1, "leader") for m in (4.0, 5.0)) + tuple((m, 0.05, "opposite") for m in (4.0, 5.0)),
                 rel_width=0.1, scan=(5.0, (1, 2, 4, 8, 16, 32, 64, 128, 256)), gradient=None),
}


def measured_centre_factor(n: int = N, eta: float = ETA, M0: float = 1.0, steps: int = 20, grad_fn=None) -> dict:
    """Run gradient descent from a collapsed cluster at the origin (the engine's gradient, or
    ``grad_fn``); fit A(tau+1)/A(tau)."""
    tr = gradient_descent(np.zeros((n, 1)), [M0], 0.0, eta, steps, grad_fn=grad_fn)
    A = tr.distances[:, 0]
    ratios = A[1:] / A[:-1]
    return {"ratios_min": float(ratios.min()), "ratios_max": float(ratios.max()),
            "derived": cl.centre_factor(n, eta), "printed": cl.centre_factor(n, eta, half_loss=True),
            "max_dev_from_derived": float(np.abs(ratios - cl.centre_factor(n, eta)).max()),
            "max_dev_from_printed": float(np.abs(ratios - cl.centre_factor(n, eta, half_loss=True)).max())}


#: The deviation scale of the spread-map check (:func:`measured_spread_map`): h = 1e-6 keeps the
#: quadratic remainder (K(R, 1)/2 h^2, K <= 1.6e3 at R = 1) at most 6e-3 of the first-order spread
#: part, which is 2 |c|^2 h/2 >= 2.5e-9 at |c| = 0.05, while float64 still resolves h around |c| <= 1
#: (rounding ~1e-16, 1e-10 of h).  Measured deviation from (J) at h = 1e-6: 2e-5 (|c| = 0.05, (r, 0))
#: down to 5e-12 ((-r, r)), against tolerances 5.7e-3 .. 4e-4 (the remainder bound): margins >= 30.
SPREAD_H = 1e-6


def measured_spread_map(As, layouts, grad_fn=None, h: float = SPREAD_H) -> list[dict]:
    """The spread part of the dynamics' gradient (g_i - mean_j g_j) against the map (J), at a
    collapsed centre c = -A e_1 (scaled, t = 0) plus deviations h u (u: a layout): the certificate and
    the literal run follow (J), so they describe a dynamics only if its spread moves by (J).

    Measured: dg = g(mu* + c + delta) - g(mu* + c) (the engine's gradient, or ``grad_fn``), its spread
    part against that of :func:`verify.analysis.cluster.deviation_gradient` (c, delta).  Tolerance
    (relative to max |(J) spread part|): the quadratic remainder K(A + h, 1)/2 max|delta|^2
    (:func:`verify.analysis.cluster.remainder_constant`) plus the engine's certified gradient error at
    both points (the accuracy the dynamics is held to).  A dynamics that moves the centre alone has
    spread part 0: deviation 1 (100 %)."""
    from verify.analysis.layouts import unit_deviations
    from verify.engine import reference

    grad = grad_fn or reference.grad
    rows = []
    for A in As:
        star = np.array([float(A)])
        for layout in layouts:
            u = unit_deviations(layout, N, D, 0)
            mu0 = np.zeros((N, D))  # c = -A e_1: every mean at the origin, mu* = A e_1
            mu = mu0 + h * u
            delta = mu - mu0  # as rounded
            dg = grad(mu, star, 0.0) - grad(mu0, star, 0.0)
            errs = reference.grad(mu, star, 0.0, error=True)[1], reference.grad(mu0, star, 0.0, error=True)[1]
            pred = cl.deviation_gradient(-star, delta)
            spread_pred, spread_meas = pred - pred.mean(axis=0), dg - dg.mean(axis=0)
            scale = float(np.max(np.abs(spread_pred)))
            tol = (cl.remainder_constant(A + h, D) / 2 * float(np.max(np.abs(delta))) ** 2
                   + float(np.max(errs[0])) + float(np.max(errs[1]))) / scale
            rows.append({"A": float(A), "layout": LAYOUTS.get(layout, layout), "h": h,
                         "relative_deviation": float(np.max(np.abs(spread_meas - spread_pred))) / scale,
                         "tolerance": tol})
    return rows


def boundary_table(boundary, n: int = N, rel_width: float = 0.1, grad_fn=None) -> list[dict]:
    """r*(M0) per (M0, eta, layout): bisection with runs to convergence (unbracketed: reported so)."""
    rows = []
    for M0, eta, layout in boundary:
        b = cluster_runs.radius_boundary(M0, n, eta, rel_width=rel_width, layout=layout, grad_fn=grad_fn,
                                         to_convergence=True)
        bracketed = bool(b.r_star_low > 0 and math.isfinite(b.r_star_high))
        la = cl.linear_amplification(M0, n, eta)["log_amplification"]
        rows.append({"M0": M0, "eta": eta, "layout": LAYOUTS.get(layout, layout), "bracketed": bracketed,
                     "status": b.status, "r_star_low": b.r_star_low, "r_star_high": b.r_star_high,
                     "r_star": b.r_star if bracketed else None, "linear_log_amplification": la,
                     "critical_linear_spread": b.r_star * math.exp(la) if bracketed else None,
                     "exp_minus_M0_over_100": math.exp(-M0 / 100),
                     "runs": [(float(r), o, int(st), start) for r, o, st, start in b.runs]})
    return rows


def theorem_instances(M0s, layouts, grad_fn=None) -> list[dict]:
    """Runs at the theorem's own radius r0(M0) where a float holds it, to convergence."""
    rows = []
    for M0 in M0s:
        r0 = 10 ** cl.theorem_radius_log10(M0, N, D)
        for layout in layouts:
            c = cluster_runs.run_cluster(M0, r0, N, ETA, layout=layout, grad_fn=grad_fn, to_convergence=True)
            rows.append({"M0": M0, "r0": r0, "layout": LAYOUTS.get(layout, layout), "outcome": c.outcome,
                         "how": c.how, "steps": c.steps, "start": c.start, "reason": c.reason,
                         "spread_resolved": bool(c.final.get("spread_resolved", False)), "final_phase": c.final,
                         "final_distances": [float(x) for x in c.final_distances],
                         "certified_deviation_bound_log10": final_phase_bound(M0, N, D, ETA, repr(r0))[
                             "deviation_bound_log10"]})
    return rows


@register("thm-3.2", STATEMENT)
def run(budget="quick", seed=0, progress=None, **overrides) -> ClaimResult:
    """Run the Theorem 3.2 checks at ``budget`` ("quick" ~ 2 min, "full" ~ 15 min)."""
    cfg, progress = budget_config(BUDGETS, budget, progress, overrides)
    t0 = time.time()
    problems, open_ends = [], []
    grad_fn = cfg["gradient"]
    ev: dict = {"n": N, "d": D, "eta": ETA, "step_convention": CONVENTION, "t": 0.0, "mu_star": "M0 e_1",
                "dynamics": "engine's exact gradient" if grad_fn is None else "supplied gradient"}

    progress(0, 6, "centre factor")
    cf = measured_centre_factor(grad_fn=grad_fn)
    ev["centre_factor"] = cf
    # tolerance: 1e-14 ~ 50 ulps of the ratio of two float64 distances (the k = 0 gradient is exact)
    if cf["max_dev_from_derived"] > 1e-14:
        problems.append(f"the engine's centre factor deviates from 1 - 2 eta/n by {cf['max_dev_from_derived']:.1e}")
    # the spread apart from the centre: at the theorem's radius float64 carries it as 0, so it is judged
    # through its map (J) on the dynamics, which the certificate and the literal run then follow
    sm = measured_spread_map(sorted(set(cfg["float64_M0"]) | {cfg["literal_M0"], 1.0}), cfg["layouts"], grad_fn)
    ev["spread_map"] = sm
    bad = [r for r in sm if not r["relative_deviation"] <= r["tolerance"]]
    if bad:
        w = max(bad, key=lambda r: r["relative_deviation"] / r["tolerance"])
        problems.append(f"the dynamics' spread map deviates from (J) by {w['relative_deviation']:.2g} "
                        f"(relative; "
                        f"tolerance {w['tolerance']:.2g}) at |c| = {w['A']:g}, layout {w['layout']}: the spread does "
                        "not move as the certificate and the literal run assume")
    ev["sympy_J_residuals_zero"] = {f"n={n},d={d}": all(r == 0 for r in cl.sympy_jacobian_residuals(n, d))
                                    for n, d in cfg["sympy"]}
    if not all(ev["sympy_J_residuals_zero"].values()):
        problems.append("SymPy residual of (J) is not zero")

    progress(1, 6, "theorem radius, float64")
    inst = theorem_instances(cfg["float64_M0"], cfg["layouts"], grad_fn)
    ev["theorem_radius_float64_runs"] = inst
    for row in inst:
        if row["outcome"] != outcomes.ALL_CONVERGE:
            problems.append(f"M0 = {row['M0']}, r0 = {row['r0']:.3g}, layout {row['layout']}: {row['outcome']} "
                            f"(final distances {np.round(row['final_distances'], 4).tolist()}"
                            + (f"; {row['reason']})" if row["reason"] else ")"))

    progress(2, 6, "theorem radius, mpmath and certificate")
    lit = literal_run(cfg["literal_M0"])
    ev["literal_run"] = lit
    # tolerance: the engine's k = 1 accuracy ~10^-(dps-5) relative to |g| ~ 1, i.e. 10^-(guard-5) = 1e-55
    # relative to the deviation part; 1e-40 leaves 15 digits of margin for the T-step accumulation.
    if lit["relative_difference_log10"] > -40:
        problems.append(f"literal run differs from the linear prediction by 10^{lit['relative_difference_log10']:.1f}")
    paper = final_phase_bound(1.0, N, D, ETA, mpmath.nstr(mpmath.mpf(10) ** cl.theorem_radius_log10(1.0, N, D), 10))
    ev["paper_radius_M0_1"] = {"log10_r0": cl.theorem_radius_log10(1.0, N, D), **paper}
    for name, fb in (("paper's radius (M0 = 1)", paper), (f"M0 = {cfg['literal_M0']}", lit["final_phase"])):
        if not fb["valid"]:
            open_ends.append(f"{name}: the certificate of the approach and final phase does not close")
    if cfg["engine_paper_radius"]:
        ev["paper_radius_engine_gradient"] = paper_radius_gradient()

    progress(3, 6, "amplification")
    amp = []
    for M0 in cfg["amp_M0"]:
        la = cl.linear_amplification(M0, N, ETA)
        amp.append({"M0": M0, "handoff_step": la["steps"],
                    "log10_amplification": la["log_amplification"] / math.log(10),
                    "log10_amplification_whole_run": la["log_total"] / math.log(10),
                    "log10_continuum_exp_M0sq": la["log_continuum"] / math.log(10),
                    "log10_theorem_budget": 1e6 * N * D * M0**3 / math.log(10)})
    ev["amplification"] = amp

    progress(4, 6, "empirical boundary")
    rows = boundary_table(cfg["boundary"], rel_width=cfg["rel_width"], grad_fn=grad_fn)
    ev["boundary"] = rows
    progress(5, 6, "radii down to 1e-300")
    scan = []
    if cfg["scan"]:
        M0s, decades = cfg["scan"]
        row = next((r for r in rows if r["M0"] == M0s and r["bracketed"] and r["eta"] == ETA), None)
        if row is not None:
            radii = sorted({max(row["r_star_low"] * 10.0**-k, 1e-300) for k in decades} | {1e-300}, reverse=True)
            for r, c in zip(radii, cluster_runs.radius_scan(M0s, radii, N, ETA, grad_fn=grad_fn, layout="leader")):
                scan.append({"M0": M0s, "eta": ETA, "layout": "(r, 0)", "r": r, "outcome": c.outcome, "how": c.how,
                             "steps": c.steps, "max_final_distance": float(np.max(c.final_distances))})
    ev["scan_below_r_star"] = scan
    ev["seconds"] = round(time.time() - t0, 1)
    figs = {"thm_3_2_boundary.png": lambda path, rows=rows, amp=amp: _figure(path, rows, amp)}
    size = (f"n = {N}, d = {D}, eta = {ETA}; theorem radius at M0 = {list(cfg['float64_M0'])} (float64 runs, "
            f"layouts {[LAYOUTS.get(x, x) for x in cfg['layouts']]}), {cfg['literal_M0']} (mpmath), 1 (certificate); "
            f"r* at (M0, eta) = {[(r['M0'], r['eta']) for r in rows]}")
    found = findings(rows, scan, amp, paper, cf)

    def result(verdict, reason):
        return ClaimResult(verdict, reason, ev, size, figs, found)

    if problems:
        return result("fails", "; ".join(problems))
    if open_ends:
        return result("inconclusive", "; ".join(open_ends))
    return result(
        "holds",
        f"at the theorem's radius every mean converges to mu*: float64 runs at M0 = {list(cfg['float64_M0'])} reach "
        f"mu* to {cluster_runs.FLOOR:g} (the centre: float64 carries the spread r0 as 0); the spread moves by the map "
        f"(J) on the dynamics (measured at h = {SPREAD_H:g}, within {max(r['relative_deviation'] for r in sm):.1g} "
        f"relative, tolerances >= {min(r['tolerance'] for r in sm):.1g}); at M0 = {cfg['literal_M0']} the mpmath "
        f"approach matches the linear prediction to 10^{lit['relative_difference_log10']:.0f} and the final phase "
        f"is bounded; at the paper's "
        f"radius (M0 = 1) the distances and sqrt(L) stay below A(tau) + 10^{paper['deviation_bound_log10']:.0f} for "
        f"10^{paper['horizon_log10']:.0f} steps (certificate), reaching 1e-9 by step "
        f"{paper['handoff_step'] + paper['steps_to_final_A']}; below that scale the spread converges at second "
        "order (Theorem 2.1's regime, claim thm-2.1)")


def findings(rows, scan, amp, paper, cf) -> list[Finding]:
    """r*(M0) with eta and layout, the radii below it, the law r* = C exp(-beta LA), amplification, centre factor."""
    out = []
    for r in rows:
        where = f"M0 = {r['M0']:g}, eta = {r['eta']:g}, layout {r['layout']}, n = {N}, d = {D}"
        if r["bracketed"]:
            out.append(Finding("r*(M0): largest initial radius with every mean converging", float(f"{r['r_star']:.4g}"),
                               f"[{r['r_star_low']:.4g}, {r['r_star_high']:.4g}]", where,
                               "bisection in log r, runs to convergence", "measures",
                               f"critical linear spread r* x amplification = {r['critical_linear_spread']:.3g}"))
        else:
            out.append(Finding("r*(M0): not bracketed", None, None, where, "bisection in log r", "measures",
                               f"largest converging radius tried {r['r_star_low']:.3g}; no receding radius found <= 1"))
    # the law r* = C exp(-beta LA) with its uncertainty, set against the theorem's radius
    # exp(-10^6 n d M0^3) / (108 n d): verify explore radius's fit (also over other n, eta, layouts), not a second one
    leader = [r for r in rows if r["bracketed"] and r["eta"] == ETA and r["layout"] == "(r, 0)"]
    out += [Finding(**f) for f in radius_law_findings(leader, n=N, d=D, eta=ETA)]
    if scan:
        conv = [s for s in scan if s["outcome"] == outcomes.ALL_CONVERGE]
        und = [s for s in scan if s["outcome"] == outcomes.UNDECIDED]
        out.append(Finding("radii below r*_low converging to mu*", f"{len(conv)} of {len(scan)}", None,
                           f"M0 = {scan[0]['M0']:g}, eta = {ETA}, layout (r, 0), "
                           f"r in [{scan[-1]['r']:.3g}, {scan[0]['r']:.3g}]",
                           "every radius below r* converges (runs to convergence, not to the hand-off)",
                           "supports" if len(conv) == len(scan) else "measures" if len(conv) + len(und) == len(scan)
                           else "contradicts",
                           "how: " + ", ".join(sorted({s["how"] for s in conv}))
                           + (f"; {len(und)} undecided at r = {', '.join(format(s['r'], '.3g') for s in und)}: "
                              "a spread left small at the hand-off shrinks at second order, too slowly to measure "
                              "in the run" if und else "")))
    brk = [r for r in rows if r["bracketed"]]
    if brk:
        below = all(r["r_star_high"] < r["exp_minus_M0_over_100"] for r in brk)
        out.append(Finding("r* below Theorem 3.4's eps0 = exp(-M0/100)", below, None,
                           f"M0 in {[r['M0'] for r in brk]}", "r* < exp(-M0/100)",
                           "supports" if below else "contradicts",
                           "consistent with the counterexample (thm-3.4) starting outside the converging set"))
    a1 = next((a for a in amp if a["M0"] == 1), None)
    if a1:
        out.append(Finding("log10 amplification of the spread along the approach (M0 = 1)",
                           round(a1["log10_amplification"], 3), None, f"n = {N}, eta = {ETA}",
                           "~ M0^2 / ln 10 (exp(M0^2) continuum)", "measures",
                           f"the theorem's radius allows 10^{a1['log10_theorem_budget']:.0f}"))
    out.append(Finding("distance bound at the paper's radius after the hand-off (log10)",
                       round(paper["deviation_bound_log10"], 2), None,
                       f"M0 = 1, for 10^{paper['horizon_log10']:.0f} steps", "|a_i(tau)| <= A(tau) + 2 G N_T",
                       "supports", "certificate through the approach + final-phase induction"))
    out.append(Finding("centre factor", cf["ratios_max"], cf["max_dev_from_derived"], f"n = {N}, eta = {ETA}",
                       "A <- (1 - 2 eta/n) A (loss without 1/2)", "contradicts",
                       f"the notes print 1 - eta/n = {cf['printed']:g} (a loss with a factor 1/2): off by "
                       f"{cf['max_dev_from_printed']:.3g} per step"))
    return out


def _figure(path, rows, amp):
    """The measured boundary r*(M0), the linear phase's prediction of it, Theorem 3.4's start (the
    cross-check) and, as text, the theorem's own radius (far below any axis)."""
    from verify.claims import figures

    fig, ax = figures.new_axes(xlabel="M0 = |mu*|", ylabel="initial radius r", figsize=(7, 4.6),
                               title=f"Theorem 3.2: the largest initial radius r* from which every mean converges "
                                     f"(n = {N}, d = {D}, t = 0)")
    for (eta, layout), group in _groups(rows).items():  # one line per (eta, layout): r* depends on both
        ax.semilogy([r["M0"] for r in group], [r["r_star"] for r in group], "o-",
                    label=f"r* measured (bisection), eta = {eta:g}, layout {layout}")
    M = [r["M0"] for r in rows] or [1.0]
    Ms = np.linspace(min(M) - 0.5, max(M) + 0.5, 50)
    spreads = [r["critical_linear_spread"] for r in rows if r["critical_linear_spread"] and r["eta"] == ETA]
    if spreads:
        c = float(np.median(spreads))  # the spread, amplified by the linear phase, at which a mean escapes
        lin = [c * math.exp(-cl.linear_amplification(m, N, ETA)["log_amplification"]) for m in Ms]
        ax.semilogy(Ms, lin, ":", label=f"c / linear amplification to hand-off, eta = {ETA:g} (c = {c:.3g}: "
                                        f"the measured escaping spread)")
    ax.semilogy(Ms, np.exp(-Ms / 100), "--", label="exp(-M0/100): Theorem 3.4's start (r* must lie below it)")
    log10_r0 = cl.theorem_radius_log10(min(M), N, D)
    # the legend (and the theorem's own radius, its title) below the axes: inside, they covered the points
    fig.legend(fontsize=7, title_fontsize=7, loc="outside lower center",
               title=f"the theorem's radius exp(-10^6 n d M0^3)/(108 n d) is 10^({log10_r0:.3g}) at M0 = "
                     f"{min(M):g}: far below this axis")
    figures.save(fig, path)


def _groups(rows) -> dict:
    out: dict = {}
    for r in rows:
        if r["bracketed"]:
            out.setdefault((r["eta"], r["layout"]), []).append(r)
    return out
