r"""Theorem 2.1: at large noise, gradient descent converges globally at rate 1/sqrt(tau).

[1, Theorem 2.1], encoded as in ``CLAIMS.md``: with M = max_i |mu_i(0) - mu*|, if

    t > log n + log M + 2                                   (so every scaled distance is < e^{-2} / n)

then gradient descent with a small enough step, eta of order 1 / (n^4 d^2), gives

    L_t(tau) <= O( n^3 d^2 / sqrt(eta tau) ).

The O-constant is not known, nor the step's constant, nor which step convention
(scaled or unscaled means; they differ by e^{2t} in the effective step) the paper uses.

What the leading-order theory gives (derived here; measured below).  Write a_i = m_i - m*
(scaled), abar = mean_i a_i, delta_i = a_i - abar, Sigma = (1/n) sum_i delta_i delta_i^T.
Expanding the softmax, v(y) = abar + Sigma y + (cubic in delta), and since L is even in
the configuration,

    L_t = |abar|^2 + tr(Sigma^2) + O(|abar| |delta|^2 + |delta|^6).

So the mean of the cluster contracts exponentially (abar <- (1 - 2 eta_s / n) abar, with
eta_s the step on the scaled means), while the spread feels a quartic loss: the Hessian at
the collapsed point is degenerate in the spread directions and dL/d delta_i = (4/n) Sigma delta_i.
Each non-zero eigenvalue of Sigma then obeys lambda <- lambda - (8 eta_s / n) lambda^2, i.e.

    lambda_k(tau) = 1 / (1 / lambda_k(0) + 8 eta_s tau / n)  ->  n / (8 eta_s tau).

Hence max_i |mu_i - mu*| ~ tau^(-1/2) (parameter exponent -1/2) and
L_t ~ rank(Sigma) (n / (8 eta_s tau))^2 (loss exponent -2), after a tail onset
tau_0 = n / (8 eta_s lambda_min(0)).  The local slopes approach their limits with
O(1/tau) corrections (from 1/(c + b tau), the O(lambda) terms, and the discrete step),
which is the Richardson order used by :mod:`verify.analysis.rates`.

What is checked (one run = :func:`run_case`):

* every mean converges: the scaled distances do not increase over the last half
  of the run (:func:`verify.simulate.outcomes.tail_rule`) and the exponent of each |m_i - m*| is
  settled at -1/2: a two-sided band from the measured settling error (Richardson).  The
  exponent of max_i |m_i - m*| is the slowest of these; it is not extrapolated itself,
  since the maximum has kinks where the farthest mean changes (its window slopes are reported);
* the loss falls at least as fast as the bound: its exponent is <= -1/2 (+ its error);
* reported, not decided: the loss exponent beside the derived -2 and the theorem's -1/2;
  the bound's empirical constant L sqrt(eta tau) / (n^3 d^2) for both conventions;
  lambda_k(tau) 8 eta_s tau / n (-> 1 by the derivation);
* negative control: the same run and check started at the stationary point of
  Theorem 3.1 (t = 0, outside the theorem's condition on t) must fail.

Steps: the theorem's step eta = 1/(n^4 d^2) (constant 1) is run where feasible; the tail
begins only after tau_0 steps, which at that step is ~1e5 to 1e8 steps for larger n, d.
Elsewhere eta_s = n/2 is used (the linear mean mode 1 - 2 eta_s/n is then zeroed in one
step; eta_s < n is the stability limit of that mode).  Every result is labelled with its
convention and whether its step is within the theorem's (in either convention).

Reference: [1] arXiv 2511.22069.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from verify.analysis import rates
from verify.analysis.large_noise import (scaled_step, spread_configuration, spread_eigenvalues, tail_onset,
                                         theorem_step, threshold)
from verify.claims.base import ClaimResult, budget_config, register
from verify.engine.tolerances import DESCENT_TOL
from verify.simulate import outcomes
from verify.simulate.descent import gradient_descent

STATEMENT = (
    "If t > log n + log M + 2 with M = max_i |mu_i(0) - mu*|, gradient descent with step eta of order "
    "1/(n^4 d^2) gives L_t(tau) <= O(n^3 d^2 / sqrt(eta tau)): every mean converges to mu*."
)

#: The exponent of max_i |mu_i - mu*| that the linearisation gives (module doc).
PARAM_EXPONENT = -0.5
#: The exponent of the theorem's loss bound.
BOUND_EXPONENT = -0.5
#: The loss exponent that the linearisation gives (tr Sigma^2 with Sigma ~ 1/tau).
DERIVED_LOSS_EXPONENT = -2.0
#: A settled exponent must be known to within this.  -1/2 and the alternative rate
#: tau^(-1/4) (named for over-parameterised EM) are 1/4 apart; a band of half-width 1/16
#: around either stays a factor two short of their midpoint -3/8, so it cannot admit both.
SETTLE_TOL = 1.0 / 16
#: The loss is ~ tr Sigma^2 ~ |delta|^4, so its exponent is 4x the parameter exponent and its
#: settling error 4x the parameter's: the same resolution of the spread's law.
SETTLE_TOL_LOSS = 4 * SETTLE_TOL
#: Window layout: ratio 2, four windows (tail = last 1/16 of the run); Richardson order 1
#: (corrections O(1/tau), module doc).
RATIO, WINDOWS, ORDER = 2.0, 4, 1.0
#: Run length in units of the tail onset tau_0: for a single 1/(c + b tau) law the last
#: extrapolation is then within 0.007 of the limit and its error estimate 0.014 (computed in
#: tests/test_rates.py::test_single_onset_law_extrapolation_at_16_onsets).
ONSETS = 16
#: Relative accuracy asked of each exact gradient (the engine's default for dynamics).  It moves
#: log r by at most ~1e-10 ln(tau) over a run (the noise term of the rate estimates), far below
#: the bands.
TOL = DESCENT_TOL


@dataclass
class Run:
    """One gradient-descent run of Theorem 2.1 and what was measured on it."""

    n: int
    d: int
    t: float
    M: float
    eta: float
    convention: str
    steps: int
    ok: bool
    reason: str
    params: rates.RateCheck
    loss: rates.RateCheck
    derived_loss: rates.RateCheck
    converged: list
    evidence: dict = field(default_factory=dict)
    trajectory: object = None


def run_length(tau0: float, *, onsets: float = ONSETS, min_steps: int = 1024) -> int:
    """onsets x tau_0, at least ``min_steps``, rounded up to a multiple of ratio^windows (exact edges)."""
    unit = int(RATIO**WINDOWS)
    steps = max(min_steps, int(math.ceil(onsets * tau0)))
    return int(math.ceil(steps / unit) * unit)


def run_case(mu0, mu_star, t, eta, *, convention: str = "scaled", steps: int | None = None,
             onsets: float = ONSETS, min_steps: int = 1024, max_steps: int | None = None,
             tol: float = None, progress=None) -> Run | None:
    """Run gradient descent (exact gradient) and check it as Theorem 2.1 says (module doc).

    ``steps`` defaults to :func:`run_length` of the predicted tail onset; if that exceeds
    ``max_steps`` the case is not run and ``None`` is returned (infeasible in the budget).
    """
    tol = TOL if tol is None else tol
    mu0 = np.asarray(mu0, dtype=float)
    mu_star = np.asarray(mu_star, dtype=float)
    n, d = mu0.shape
    M = float(np.max(np.linalg.norm(mu0 - mu_star, axis=1)))
    tau0 = tail_onset(mu0, mu_star, t, eta, convention)
    if steps is None:
        steps = run_length(tau0, onsets=onsets, min_steps=min_steps)
    if max_steps is not None and steps > max_steps:
        return None
    edges = [steps // int(RATIO**j) for j in range(WINDOWS + 1)]
    grid = rates.log_grid(steps, per_octave=3, include=edges)
    t0 = time.time()

    def report(step, _mu):
        if progress is not None:
            progress(int(step), steps)
        return False

    traj = gradient_descent(mu0, mu_star, t, eta, steps, convention=convention, record_at=grid.tolist(), tol=tol,
                            callback=report)
    seconds = time.time() - t0
    return analyse(traj, M=M, tau0=tau0, seconds=seconds)


def analyse(traj, *, M: float, tau0: float = float("nan"), seconds: float = float("nan")) -> Run:
    """The checks of one run (module doc); ``traj`` recorded at least at the window edges."""
    n, d = traj.mu.shape
    t, eta, conv = traj.t, traj.eta, traj.convention
    steps = int(traj.steps[-1])
    eta_s = scaled_step(eta, t, conv)
    eta_u = eta_s * math.exp(2 * t)
    tau = traj.steps.astype(float)
    r = traj.distances.max(axis=1)
    loss = traj.loss
    # Error of log r from the computation: gradient error (recorded normwise relative
    # estimate, x10 for the steps between records that reuse the rule) accumulated along the
    # tail, where the relative change of the spread per step is ~1/(2 tau), summing to
    # ~ln(tau)/2 (< ln tau).
    grad_err = float(np.nanmax(traj.grad_rel_err)) if traj.grad_rel_err.size else 0.0
    noise_r = 10 * grad_err * math.log(max(steps, 2)) + 1e-15
    rel_loss_err = float(np.nanmax(traj.loss_err / np.where(loss > 0, loss, np.inf)))
    noise_l = noise_r * 4 + rel_loss_err  # L ~ |delta|^4
    if traj.stopped or steps < RATIO**WINDOWS:
        raise ValueError(f"run too short or stopped early ({traj.stopped or steps} steps)")
    # The exponent of max_i |mu_i - mu*| is the largest (slowest) of the per-mean exponents, and
    # that is what is checked: each distance r_i(tau) is smooth, with O(1/tau) corrections, but
    # their maximum has kinks where the farthest mean changes (seen at n = 5, d = 3), which the
    # Richardson step does not model.  A mean exactly at mu* on the whole tail has no exponent
    # (it has converged); it is listed, not checked.
    tail = tau >= steps / RATIO**WINDOWS
    per_mean, exact = [], []
    for i in range(n):
        if np.any(traj.distances[tail, i] <= 0):
            exact.append(i)
            continue
        est_i = rates.asymptotic_slope(tau, traj.distances[:, i], ratio=RATIO, windows=WINDOWS, order=ORDER,
                                       noise=noise_r)
        per_mean.append((i, rates.check_rate(est_i, PARAM_EXPONENT, settle_tol=SETTLE_TOL,
                                             name=f"|mu_{i + 1} - mu*|")))
    failing = [c for _, c in per_mean if not c.ok]
    if failing:
        chk_r = max(failing, key=lambda c: c.estimate.error if not c.settled else abs(c.estimate.value - PARAM_EXPONENT))
    elif per_mean:
        chk_r = max((c for _, c in per_mean), key=lambda c: c.estimate.value)  # the slowest mean
    else:
        raise ValueError("every mean is exactly at mu* on the tail: no exponent to measure")
    est_max = rates.asymptotic_slope(tau, r, ratio=RATIO, windows=WINDOWS, order=ORDER, noise=noise_r)
    if np.all(loss[tail] > 0):
        est_l = rates.asymptotic_slope(tau, loss, ratio=RATIO, windows=WINDOWS, order=ORDER, noise=noise_l)
    else:  # the loss reached exactly 0 (all means at mu*): faster than any power
        est_l = rates.RateEstimate(-math.inf, 0.0, est_max.windows, np.array([-math.inf]), ORDER, noise_l)
    chk_l = rates.check_rate(est_l, BOUND_EXPONENT, settle_tol=SETTLE_TOL_LOSS, kind="at_most", name="loss L_t")
    chk_d = rates.check_rate(est_l, DERIVED_LOSS_EXPONENT, settle_tol=SETTLE_TOL_LOSS, name="loss (derived -2)")
    out = outcomes.classify(traj, outcomes.tail_rule(float(r[0]), slack=1e-9))
    all_conv = out.run == outcomes.ALL_CONVERGE
    ok = bool(not failing and chk_l.ok and all_conv)
    parts = [chk_r.reason + (f" ({len(failing)} of {len(per_mean)} means fail)" if failing else
                             f" (slowest of {len(per_mean)} means)"), chk_l.reason]
    if not all_conv:
        parts.append(f"means not converging: {out}")
    # the bound's empirical constant, C = L sqrt(eta tau) / (n^3 d^2), in each convention
    pos = tau >= 1
    c_s = loss[pos] * np.sqrt(eta_s * tau[pos]) / (n**3 * d**2)
    c_u = c_s * math.exp(t)  # eta_u = e^{2t} eta_s
    k_max = int(np.argmax(c_s))
    lam = spread_eigenvalues(traj.mu, traj.mu_star, t)
    lam = lam[lam > 1e-12 * max(lam[0], 1e-300)]
    thr = threshold(n, M)
    eta_thm = theorem_step(n, d)
    ev = {
        "n": n, "d": d, "t": t, "M": M, "t_threshold": thr, "t_above_threshold": bool(t > thr),
        "convention": conv, "eta": eta, "eta_scaled": eta_s, "eta_unscaled": eta_u,
        "eta_theorem_1/(n^4 d^2)": eta_thm,
        "step_within_theorem": {"scaled": bool(eta_s <= eta_thm), "unscaled": bool(eta_u <= eta_thm)},
        "steps": steps, "tail_onset_tau0": tau0,
        "initial_max_distance_scaled": float(r[0]), "final_max_distance_scaled": float(r[-1]),
        "initial_loss": float(loss[0]), "final_loss": float(loss[-1]),
        "param_rate": chk_r.as_dict(), "loss_rate": chk_l.as_dict(),
        "param_rate_per_mean": {f"mu_{i + 1}": {"exponent": c.estimate.value, "error": c.estimate.error,
                                                "settled": c.settled, "ok": c.ok} for i, c in per_mean},
        "means_exactly_at_mu_star": [i + 1 for i in exact],
        "max_distance_window_slopes": [float(x) for x in est_max.windows.slopes],
        "loss_exponent": {"measured": est_l.value, "error": est_l.error, "derived": DERIVED_LOSS_EXPONENT,
                          "theorem_bound": BOUND_EXPONENT, "settled_at_derived": chk_d.ok},
        "empirical_constant_L_sqrt(eta_tau)/(n^3 d^2)": {
            "scaled": {"max": float(c_s[k_max]), "at_step": int(tau[pos][k_max]), "final": float(c_s[-1])},
            "unscaled": {"max": float(c_u[k_max]), "at_step": int(tau[pos][k_max]), "final": float(c_u[-1])},
        },
        "spread_eigenvalues_x_8_eta_s_tau/n_final": [float(x * 8 * eta_s * steps / n) for x in lam],
        "converged": out.mask(outcomes.CONVERGES).tolist(), "max_grad_rel_err": grad_err, "seconds": round(seconds, 2),
    }
    return Run(n, d, t, M, eta, conv, steps, ok, "; ".join(parts), chk_r, chk_l, chk_d,
               out.mask(outcomes.CONVERGES).tolist(), ev, traj)


def stationary_point_start(n: int = 3, d: int = 2):
    """Theorem 3.1's stationary point (t = 0, mu* = 0) as a start: (mu0, mu_star, t)."""
    from verify.analysis import stationary as sp

    s = float(sp.reference_table()[n]["s_star"])
    return np.array(sp.construction(n, s, d), dtype=float), np.zeros(d), 0.0


# -- the claim -----------------------------------------------------------------------------

#: (n, d, step, kappa) per budget; step "theorem" = 1/(n^4 d^2), "n/2" = eta_s = n/2 (beyond);
#: kappa: ratio of the spread's largest to smallest eigenvalue at the start.
BUDGETS = {
    "quick": dict(cases=[(2, 1, "theorem", 1.0), (3, 2, "n/2", 2.0), (4, 3, "n/2", 1.0)], max_steps=40_000),
    "full": dict(cases=[(2, 1, "theorem", 1.0), (2, 2, "theorem", 1.0), (3, 1, "theorem", 1.0)]
                 + [(n, d, "n/2", 2.0) for n in range(2, 7) for d in range(1, 5)], max_steps=600_000),
}
MARGIN = 0.1  # t = threshold + MARGIN
SEEDS_M = 1.0  # M (the claim is invariant under M at fixed t - log M; the tests vary it)


@register("thm-2.1", STATEMENT)
def run(budget="quick", seed=0, progress=None, **overrides) -> ClaimResult:
    """Run the Theorem 2.1 checks ("quick" ~ 40 s, "full" ~ 12 min on a shared 2-core machine)."""
    cfg, progress = budget_config(BUDGETS, budget, progress, overrides)
    t_start = time.time()
    cases = cfg["cases"]
    total = len(cases) + 1
    runs, skipped = [], []
    for k, (n, d, step, kappa) in enumerate(cases):
        progress(k, total, f"n={n}, d={d}, eta={step}")
        mu_star = np.zeros(d)
        M = SEEDS_M
        t = threshold(n, M) + MARGIN
        mu0 = spread_configuration(n, d, M=M, mu_star=mu_star, seed=seed + 97 * n + d, kappa=kappa)
        eta = theorem_step(n, d) if step == "theorem" else n / 2
        r = run_case(mu0, mu_star, t, eta, convention="scaled", max_steps=cfg["max_steps"])
        if r is None:
            steps = run_length(tail_onset(mu0, mu_star, t, eta))
            skipped.append(f"n={n}, d={d}, eta={eta:.3g}: needs {steps} steps > {cfg['max_steps']}")
            continue
        runs.append(r)
    progress(len(cases), total, "negative control")
    mu0, mu_star, t = stationary_point_start(3, 2)
    neg = run_case(mu0, mu_star, t, theorem_step(3, 2), convention="scaled")
    ev: dict = {"step_convention": "scaled: m_i <- m_i - eta dL/dm_i (unscaled equivalent eta e^{2t})",
                "window_layout": {"ratio": RATIO, "windows": WINDOWS, "richardson_order": ORDER,
                                  "settle_tol_params": SETTLE_TOL, "settle_tol_loss": SETTLE_TOL_LOSS,
                                  "run_length_onsets": ONSETS},
                "runs": {f"n={r.n},d={r.d},eta={r.eta:.4g}": r.evidence for r in runs},
                "not_run_infeasible": skipped,
                "negative_control_thm_3_1_point": {"fails_as_it_must": not neg.ok, "reason": neg.reason,
                                                   **{k: neg.evidence[k] for k in ("n", "d", "t", "t_threshold",
                                                                                   "eta", "steps",
                                                                                   "param_rate", "loss_rate")}}}
    ev["summary"] = [{"n": r.n, "d": r.d, "eta": r.eta,
                      "within_theorem_step": r.evidence["step_within_theorem"],
                      "param_exponent": round(r.params.estimate.value, 4),
                      "param_error": float(f"{r.params.estimate.error:.2g}"),
                      "loss_exponent": round(r.loss.estimate.value, 4),
                      "loss_error": float(f"{r.loss.estimate.error:.2g}"),
                      "C_scaled_max": float(f"{r.evidence['empirical_constant_L_sqrt(eta_tau)/(n^3 d^2)']['scaled']['max']:.3g}"),
                      "C_unscaled_max": float(f"{r.evidence['empirical_constant_L_sqrt(eta_tau)/(n^3 d^2)']['unscaled']['max']:.3g}"),
                      "steps": r.steps, "seconds": r.evidence["seconds"], "ok": r.ok} for r in runs]
    ev["seconds"] = round(time.time() - t_start, 1)
    progress(total, total, "done")
    size = "; ".join(f"n={r.n} d={r.d} eta={r.eta:.3g} ({r.steps} steps)" for r in runs) + f"; budget {budget}"
    figures = {"thm_2_1_rates.png": lambda path: _figure(path, runs)}

    within = [r for r in runs if r.evidence["step_within_theorem"]["scaled"] and r.evidence["t_above_threshold"]]
    failed = [r for r in runs if r.params.settled and r.loss.settled and not r.ok]
    unsettled = [r for r in runs if not (r.params.settled and r.loss.settled)]
    if failed:
        return ClaimResult("fails", "; ".join(f"n={r.n}, d={r.d}, eta={r.eta:.3g}: {r.reason}" for r in failed),
                           ev, size, figures)
    if neg.ok:
        return ClaimResult("inconclusive", "the negative control (Theorem 3.1's stationary point) passed the "
                           "check, so the check cannot tell convergence from its absence: " + neg.reason,
                           ev, size, figures)
    if unsettled or not within:
        why = [f"n={r.n}, d={r.d}: {r.reason}" for r in unsettled]
        if not within:
            why.append("no run within the theorem's step")
        return ClaimResult("inconclusive", "; ".join(why), ev, size, figures)
    lo = min(r.loss.estimate.value for r in runs)
    hi = max(r.loss.estimate.value for r in runs)
    return ClaimResult(
        "holds",
        f"in all {len(runs)} runs every mean converges like tau^(-1/2) (settled exponent of the slowest mean "
        f"{min(r.params.estimate.value for r in runs):+.3f}..{max(r.params.estimate.value for r in runs):+.3f}); "
        f"the loss falls faster than the bound's tau^(-1/2), with exponent {lo:+.2f}..{hi:+.2f} (derived -2); "
        f"within the theorem's step (scaled convention, constant 1) only for "
        + ", ".join(f"n={r.n} d={r.d}" for r in within)
        + "; the unscaled convention's theorem step (e^{2t} smaller in effect) is not run; Theorem 3.1's "
        "stationary point fails the same check",
        ev, size, figures)


def _figure(path, runs) -> None:
    """max_i |m_i - m*| and L_t against tau (log-log, top) and their local slopes (bottom)."""
    from verify.claims import figures

    fig, axes = figures.plt.subplots(2, 2, figsize=(11, 6.5), sharex="col", height_ratios=(2, 1),
                                     layout="constrained")
    for r in runs:
        tr = r.trajectory
        tau = tr.steps.astype(float)
        pos = tau > 0
        lab = f"n={r.n} d={r.d} eta={r.eta:.3g}"
        for col, y in enumerate((tr.distances.max(axis=1), tr.loss)):
            line, = axes[0, col].loglog(tau[pos], y[pos], label=lab)
            xm, sl = rates.local_slopes(tau[pos], y[pos], per_decade=6)
            axes[1, col].semilogx(xm, sl, marker=".", color=line.get_color())
            axes[0, col].axvline(r.steps / RATIO**WINDOWS, color=line.get_color(), lw=0.6, ls=":")
    axes[1, 0].axhline(PARAM_EXPONENT, color="k", ls="--", lw=1, label="-1/2 (linearisation)")
    axes[1, 1].axhline(DERIVED_LOSS_EXPONENT, color="k", ls="--", lw=1, label="-2 (linearisation)")
    axes[1, 1].axhline(BOUND_EXPONENT, color="r", ls="--", lw=1, label="-1/2 (theorem's bound)")
    axes[0, 0].set_ylabel("max_i |m_i - m*| (scaled)")
    axes[0, 1].set_ylabel("L_t")
    axes[0, 0].set_title("Theorem 2.1: parameters (dotted: start of the slope windows)")
    axes[0, 1].set_title("loss")
    for ax in axes[1]:
        ax.set_xlabel("tau (steps)")
        ax.set_ylabel("local slope")
        ax.legend(fontsize=7)
    axes[0, 1].legend(fontsize=7)
    for ax in axes.ravel():
        ax.grid(True, which="major", alpha=0.3)
    figures.save(fig, path)
