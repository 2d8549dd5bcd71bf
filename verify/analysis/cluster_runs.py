"""Float64 runs of the full dynamics from a collapsed cluster (Theorems 3.2 and 3.4).

Notation and the linearised dynamics (J): :mod:`verify.analysis.cluster`.

**Outcome rule** (:data:`cluster_rule`, our own): checked at every recorded step over the last
four records.  The run has **all converged** when every scaled distance |m_i - m*| is at most
1/(6n) (the hand-off radius of Theorem 3.2's proof), the largest distance has not increased over
the last three records, and at least twice the hand-off step has passed; a mean **recedes**
(partial recovery) when its distance exceeds M0 + 1 (every mean started within M0 + r of m*)
and increased at each of the last three records; otherwise, at ``max_steps``, the run is
**undecided**.

Step convention: "scaled" (m_i <- m_i - eta dL/dm_i), t = 0, mu* = M0 e_1 unless stated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from verify.engine.reference import AccuracyError
from verify.engine.tolerances import DESCENT_TOL
from verify.simulate import outcomes
from verify.simulate.descent import gradient_descent

from .cluster import centre_path, handoff_step, linear_amplification, linear_step

__all__ = ["descend", "cluster_rule", "ClusterRun", "run_cluster", "Boundary", "radius_boundary",
           "RUN_TOL", "FALLBACK_TOL"]

#: Tolerances of the engine's gradient along a run: the engine's default for descent, and the
#: fallback used from the step where it raises AccuracyError (its first truncation radius is
#: chosen from max |a_i|^2 and is too small once a mean is far and the loss small).  The outcome
#: rule only needs the sign of slow drifts, far above 1e-6 relative.
RUN_TOL = DESCENT_TOL
FALLBACK_TOL = 1e-6


def descend(mu0, mu_star, t, eta, steps, *, record_every: int, callback) -> str:
    """:func:`verify.simulate.descent.gradient_descent` (scaled convention) with ``callback(step, mu)``,
    continued at FALLBACK_TOL where the engine cannot certify RUN_TOL; returns a note.

    On :class:`~verify.engine.tolerances.AccuracyError` at RUN_TOL the run restarts from the last
    recorded state at FALLBACK_TOL (the note says from which step); a second failure ends it.
    """
    last = {"step": 0, "mu": np.array(mu0, dtype=float)}

    def cb(step, mu):
        last["step"], last["mu"] = base + step, mu
        return callback(base + step, mu)

    base, note = 0, ""
    for tol in (RUN_TOL, FALLBACK_TOL):
        try:
            gradient_descent(last["mu"], mu_star, t, eta, steps - base, record_every=record_every, tol=tol,
                             callback=cb)
            return note
        except AccuracyError as exc:
            base = last["step"]
            note += f"; engine AccuracyError at tol {tol:g} near step {base}" + (
                f", continued at tol {FALLBACK_TOL:g}" if tol == RUN_TOL else f": {exc}")
    return note


def cluster_rule(n: int, M0: float) -> outcomes.Rule:
    """The outcome rule of the cluster runs (module doc), over the last four records."""
    return outcomes.Rule(window="all", radius=1 / (6 * n), settle="largest", grow="strict", recede_radius=M0 + 1)


@dataclass
class ClusterRun:
    outcome: str  # all_converge, partial_recovery (a mean recedes) or undecided
    steps: int  # steps run
    final_distances: np.ndarray
    max_radius: float  # largest max_i |m_i - c_tau| seen before the hand-off (c_tau: the centre (C))
    start: str  # "float64" or "linear phase until step k"
    history: list = field(default_factory=list)  # (step, distances)


def run_cluster(M0: float, r: float, n: int = 2, eta: float = 0.05, *, d: int = 1, max_steps: int = 4000,
                record_every: int = 10, switch_radius: float = 1e-6, leaders=(0,)) -> ClusterRun:
    """Gradient descent (float64 engine, scaled convention, t = 0, mu* = M0 e_1) from the cluster
    mu_i(0) = r e_1 for i in ``leaders``, mu_i(0) = 0 otherwise; outcome by the rule in the module doc.

    When r < ``switch_radius`` the run starts with the exact linearised dynamics (J) (no
    cancellation) until the largest deviation reaches ``switch_radius`` and continues with
    the engine from there (the switch step is reported in ``start``), or at twice the hand-off
step, when the linear spread is final up to a factor exp(A_end^2); float64 cannot
    resolve deviations below ~1e-14 |c| around a centre at distance |c|.
    """
    star = np.zeros(d)
    star[0] = M0
    c = -star.copy()  # a = m - m*, the cluster at the origin
    delta = np.zeros((n, d))
    for i in leaders:
        delta[i, 0] = r
    T_hand = handoff_step(M0, n, eta)
    step0 = 0
    max_radius = float(np.max(np.linalg.norm(delta, axis=1)))
    start = "float64"
    if r < switch_radius:
        while np.max(np.abs(delta)) < switch_radius and step0 < min(max_steps, 2 * T_hand):
            c, delta = linear_step(c, delta, n, eta)
            step0 += 1
            if step0 <= T_hand:
                max_radius = max(max_radius, float(np.max(np.linalg.norm(delta, axis=1))))
        start = f"linear phase until step {step0}"
    mu0 = star + c + delta
    hist: list = []
    decided = {"outcome": outcomes.UNDECIDED}
    A_path = centre_path(M0, n, eta, max_steps + 1)
    rule = cluster_rule(n, M0)

    def cb(step, mu):
        tau = step0 + step
        dist = np.linalg.norm(mu - star, axis=1)
        hist.append((tau, dist))
        if tau <= T_hand:
            cpos = star - A_path[tau] * star / M0
            nonlocal_max[0] = max(nonlocal_max[0], float(np.max(np.linalg.norm(mu - cpos, axis=1))))
        if len(hist) >= 4:
            recent = outcomes.Recorded(np.array([h[0] for h in hist[-4:]]), np.array([h[1] for h in hist[-4:]]))
            out = outcomes.classify(recent, rule)
            if tau >= 2 * T_hand and out.run == outcomes.ALL_CONVERGE:
                decided["outcome"] = outcomes.ALL_CONVERGE
                return True
            if out.run == outcomes.PARTIAL_RECOVERY:
                decided["outcome"] = outcomes.PARTIAL_RECOVERY
                return True
        return False

    nonlocal_max = [max_radius]
    start += descend(mu0, star, 0.0, eta, max_steps - step0, record_every=record_every, callback=cb)
    last_step = hist[-1][0] if hist else step0
    final = hist[-1][1] if hist else np.linalg.norm(mu0 - star, axis=1)
    return ClusterRun(decided["outcome"], int(last_step), final, nonlocal_max[0], start, hist)


@dataclass
class Boundary:
    M0: float
    r_star_low: float  # largest r tried with every mean converging
    r_star_high: float  # smallest r tried with a mean receding
    runs: list  # (r, outcome, steps, start)

    @property
    def r_star(self) -> float:
        return math.sqrt(self.r_star_low * self.r_star_high)


def radius_boundary(M0: float, n: int = 2, eta: float = 0.05, *, lo: float | None = None, hi: float | None = None,
                    rel_width: float = 0.1, max_runs: int = 14, **kw) -> Boundary:
    """Bisection in log r for the largest initial radius with every mean converging.

    Brackets start from the linear prediction r ~ 30 / amplification (the measured critical
    spread at the hand-off is ~30 for n = 2, eta = 0.05) and are widened until ``lo``
    converges and a mean of ``hi`` recedes; bisection stops when hi / lo <= 1 + rel_width.  An
    undecided run stops the search (reported, never counted as either outcome).
    """
    guess = min(30 * math.exp(-linear_amplification(M0, n, eta)["log_amplification"]), 0.5)
    lo = guess / 30 if lo is None else lo
    hi = min(guess * 30, 1.0) if hi is None else hi
    runs = []

    def outcome(r):
        res = run_cluster(M0, r, n, eta, **kw)
        runs.append((r, res.outcome, res.steps, res.start))
        return res.outcome

    o = outcome(lo)
    while o == outcomes.PARTIAL_RECOVERY and len(runs) < max_runs:
        hi, lo = lo, lo / 30
        o = outcome(lo)
    if o != outcomes.ALL_CONVERGE:
        return Boundary(M0, float("nan"), float("nan"), runs)
    o = outcome(hi)
    while o == outcomes.ALL_CONVERGE and len(runs) < max_runs and hi < 1.0:
        lo, hi = hi, min(hi * 30, 1.0)
        o = outcome(hi)
    if o != outcomes.PARTIAL_RECOVERY:
        return Boundary(M0, lo, float("nan"), runs)
    while hi / lo > 1 + rel_width and len(runs) < max_runs:
        mid = math.sqrt(lo * hi)
        o = outcome(mid)
        if o == outcomes.ALL_CONVERGE:
            lo = mid
        elif o == outcomes.PARTIAL_RECOVERY:
            hi = mid
        else:
            break
    return Boundary(M0, lo, hi, runs)
