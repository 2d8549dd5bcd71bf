"""The final phase of a run to convergence (:mod:`.cluster_runs`, Theorem 3.2): does it measurably
decrease, or only not increase?

Inside Theorem 2.1's radius the spread shrinks at second order, like tau^(-1/2), too slowly to
reach a floor; "the largest distance did not increase" also accepts a run that stands still (a start
already inside the radius, a zero gradient) or whose centre alone moves while the spread stays.
:func:`final_decrease` asks for a measured decrease instead: the upper estimate of each distance's
exponent in tau (:func:`verify.analysis.bounds.check_bound` against exponent 0) below 0 by more
than its noise, and the same of the spread max_i |a_i - centroid|, judged apart from the centre
wherever it is resolved (above SPREAD_RESOLVED somewhere in the engine's phase).
"""

from __future__ import annotations

import math

import numpy as np

from verify.simulate import outcomes

from .bounds import check_bound

__all__ = ["final_decrease", "decide_final", "RATIO", "WINDOWS", "SPREAD_RESOLVED"]

#: The exponents of the distances and of the spread over up to WINDOWS geometric windows of ratio
#: RATIO ending at the last record (at most the last 1/16 of the run: for the default run of
#: :func:`.cluster_runs.run_cluster`, from step ~190 on, after the hand-off), after the quantity's
#: last increase.
RATIO, WINDOWS = 2.0, 4
#: The spread is judged apart from the centre when it exceeds this somewhere in the engine's phase:
#: :data:`.cluster_runs.SWITCH_RADIUS` (1e-6), the scale above which the runs trust the engine with the
#: deviations (the gradient error, RUN_TOL = 1e-10 of |g| <~ 2 (A0 + 1), accumulated over every step
#: of a run: eta 10^4 steps x 1e-10 x 2 x 11 ~ 1.1e-6 at eta = 0.05, M0 = 10, the threshold's own size;
#: measured along the runs ~6x below it, so a spread ending within ~1e-5 may stay undecided);
#: below it float64 carries the spread at best to a few digits (at the theorem's radius 10^-111,
#: exactly as 0), and only the centre is judged.
SPREAD_RESOLVED = 1e-6


def final_decrease(tau, distances, spreads, *, eta_s: float, tol: float, scale: float) -> dict:
    """The final phase's measured decrease (module doc) on the engine phase's records: ``tau`` (steps),
    ``distances`` (records x n, scaled), ``spreads`` (max_i |a_i - centroid| per record).

    Each distance, and the spread where it is resolved (max > SPREAD_RESOLVED), is judged with
    :func:`verify.analysis.bounds.check_bound` against exponent 0; it *decreases* when the upper
    estimate of its exponent is below -slope_noise, the slope error of ``noise`` (the relative error
    of the smallest value in the window: the gradient's error ``tol`` x |g| <= tol x 2 ``scale``,
    accumulated over every step as if never cancelling, eta_s x steps x tol x 2 scale; plus 1e-15).
    A constant (nothing moves, or the spread when only the centre moves) has slope 0: not decreasing.
    ``ok`` when every judged quantity decreases."""
    tau = np.asarray(tau, dtype=float)
    # one record per step (a run continued at FALLBACK_TOL records its restart step twice: the later kept)
    keep = (tau > 0) & np.append(tau[1:] != tau[:-1], True)
    tau, distances, spreads = tau[keep], np.asarray(distances, dtype=float)[keep], np.asarray(spreads)[keep]
    if tau.size < 2:
        return {"ok": False, "reason": "fewer than two records after step 0"}
    drift = eta_s * float(tau[-1]) * tol * 2 * scale + 1e-15  # absolute error bound of any a_i

    def judge(y, name):
        # the windows start after y's last increase (a loser that lingered near its unstable
        # equilibrium and came back rises once before the tail: measured at M0 = 3, 4 next to r*),
        # as many of ratio RATIO as fit, at most WINDOWS, at least 2 (2 give no extrapolation: a
        # flattening slope then has upper = inf)
        up = np.nonzero(y[1:] > y[:-1] + drift)[0]
        since = float(tau[up[-1] + 1]) if up.size else float(tau[0])
        k = int(math.floor(math.log(tau[-1] / since) / math.log(RATIO) + 1e-9)) if since > 0 else WINDOWS
        windows = max(2, min(WINDOWS, k))
        tail = tau >= tau[-1] / RATIO**windows * (1 - 1e-12)
        low = float(np.min(y[tail])) if np.any(tail) else float(y[-1])
        noise = drift / low if low > 0 else math.inf
        slope_noise = 2 * noise / math.log(RATIO)
        b = check_bound(tau, y, 0.0, ratio=RATIO, windows=windows, noise=min(noise, 1e300), name=name)
        ok = b.trend == "reached zero" or (math.isfinite(slope_noise) and b.upper < -slope_noise)
        return {"upper": b.upper, "lower": b.lower, "trend": b.trend, "slope_noise": slope_noise,
                "windows": windows, "from": float(tau[-1] / RATIO**windows), "last_increase": since,
                "decreases": bool(ok), "start": float(y[0]), "end": float(y[-1])}

    dist = [judge(distances[:, i], f"|a_{i + 1}|") for i in range(distances.shape[1])]
    resolved = bool(np.max(spreads) > SPREAD_RESOLVED)
    spread = judge(spreads, "spread") if resolved else None
    ok = all(x["decreases"] for x in dist) and (spread is None or spread["decreases"])
    why = []
    for i, x in enumerate(dist):
        if not x["decreases"]:
            why.append(f"|a_{i + 1}|'s exponent is not below 0 (upper {x['upper']:+.3g}, noise {x['slope_noise']:.2g})")
    if spread is not None and not spread["decreases"]:
        why.append(f"the spread's exponent is not below 0 (upper {spread['upper']:+.3g}, from {spread['start']:.3g} "
                   f"to {spread['end']:.3g})")
    return {"ok": ok, "distances": dist, "spread_resolved": resolved, "spread": spread,
            "spread_max": float(np.max(spreads)), "reason": "; ".join(why)}


def decide_final(run, fin, last: str, hist, positions, *, eta_s: float, tol: float, scale: float) -> None:
    """Set the outcome of ``run`` (a :class:`.cluster_runs.ClusterRun` to convergence that did not reach
    the floor) from its final phase: ``fin`` the final rule's classification over every record, ``last``
    the run outcome over the last four records, ``hist`` the (step, distances) records, ``positions`` the
    scaled means a_i per record.  All converged when ``fin`` says so and :func:`final_decrease` measures
    the decrease (``run.final``); a run handed off without it is undecided, with the reason."""
    spreads = [float(np.max(np.linalg.norm(a - a.mean(axis=0), axis=1))) for a in positions]
    run.final = final_decrease([h[0] for h in hist], np.array([h[1] for h in hist]), spreads, eta_s=eta_s,
                               tol=tol, scale=scale)
    if fin.run == outcomes.ALL_CONVERGE and run.final["ok"]:
        run.outcome, run.means, run.survivors, run.how = fin.run, fin.means, fin.survivors, "final phase"
    elif last == outcomes.ALL_CONVERGE:
        run.outcome = outcomes.UNDECIDED  # handed off, not settled (or not decreasing) inside Theorem 2.1's radius
        run.reason = run.final["reason"] if fin.run == outcomes.ALL_CONVERGE else (
            "not every distance within e^-2/n with the largest not increasing over the last half")
