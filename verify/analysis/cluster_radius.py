"""Theorem 3.2 at its own initial radius: literal mpmath runs and a bound for the final phase.

The theorem's radius r0 = exp(-10^6 n d M0^3) / (108 n d) is 10^-6951 at M0 = 0.2 and
10^-868591 at M0 = 1 (n = 2, d = 1): below any float, so the runs here are either in mpmath
(:func:`literal_run`, feasible up to ~10^-7000) or rigorous bounds
(:func:`verify.analysis.cluster.linear_regime_certificate` through the approach, and
:func:`final_phase_bound` after it).

**The final phase.**  After the hand-off step T the centre keeps contracting,
A(tau) = A(T) q^(tau - T) with q = 1 - 2 eta / n (C), and the certificate's recursion for the size
N of the deviations continues with factors lam_tau = 1 + 4 eta A_tau^2 / n, whose product over all
tau >= T is at most exp(4 eta A_T^2 / (n (1 - q^2))) = G, plus the remainder 1.5 eta K N^2 per
step.  While N <= 2 G N_T, the remainders of H steps add at most H 1.5 eta K (2 G N_T)^2, which
stays below G N_T for H <= 1 / (6 eta K G N_T): so N_tau <= 2 G N_T for every tau <= T + H
(an induction on tau).  Every mean then satisfies |a_i(tau)| <= A(tau) + N_tau, and the loss
L = E|sum_i w_i a_i|^2 <= max_i |a_i|^2: both fall geometrically until they reach the scale of
the deviations, 2 G N_T.  Below that scale the deviations converge only at second order (the
quartic loss of the spread, Theorem 2.1's regime; claim thm-2.1).

Reference: [1] arXiv 2511.22069, Theorem 3.2.
"""

from __future__ import annotations

import math
import time

import mpmath
import numpy as np

from .cluster import (centre_factor, deviation_gradient, engine_deviation_gradient, handoff_step,
                      linear_regime_certificate, linear_step, remainder_constant, theorem_radius_log10)

__all__ = ["literal_run", "paper_radius_gradient", "final_phase_bound"]


def literal_run(M0: float, n: int = 2, d: int = 1, eta: float = 0.05, *, guard: int = 60,
                final_A: float = 1e-9) -> dict:
    """The approach at the theorem's radius with the engine's mpmath gradient, then the final phase.

    mu_1(0) = r0 e_1, the others at 0 (n = 2: spread e = +-r0/2), in coordinates relative to the
    collapsed centre (:func:`verify.analysis.cluster.engine_deviation_gradient`) at dps = digits of
    r0 + guard, up to the hand-off step T; compared with the linear prediction.  The final phase
    (centre from A(T) down to ``final_A``) uses (C) for the centre and :func:`final_phase_bound` for
    the deviations: the distances at its end are at most final_A + the bound.
    """
    log10_r0 = theorem_radius_log10(M0, n, d)
    dps = int(math.ceil(-log10_r0)) + guard
    T = handoff_step(M0, n, eta)
    with mpmath.workdps(dps + 10):
        r0 = mpmath.mpf(10) ** mpmath.mpf(log10_r0)
        c = [-mpmath.mpf(M0)] + [mpmath.mpf(0)] * (d - 1)
        delta = [[r0] + [mpmath.mpf(0)] * (d - 1)] + [[mpmath.mpf(0)] * d for _ in range(n - 1)]
        lin = np.array(delta, dtype=object)
        cl_lin = np.array(c, dtype=object)
        t0 = time.time()
        for _ in range(T):
            g, _err = engine_deviation_gradient(c, delta, dps=dps)
            delta = [[delta[i][k] - mpmath.mpf(eta) * g[i][k] for k in range(d)] for i in range(n)]
            cl_lin, lin = linear_step(cl_lin, lin, n, mpmath.mpf(eta))
            c = [x * (1 - 2 * mpmath.mpf(eta) / n) for x in c]
        spread = delta[0][0] - delta[1][0]
        spread_lin = lin[0][0] - lin[1][0]
        rel = abs(spread / spread_lin - 1)
        radius = max(abs(delta[i][k]) for i in range(n) for k in range(d))
        out = {"M0": M0, "n": n, "d": d, "eta": eta, "dps": dps, "steps": T, "log10_r0": log10_r0,
               "spread_amplification": mpmath.nstr(spread / r0, 12),
               "linear_amplification": mpmath.nstr(spread_lin / r0, 12),
               "relative_difference": mpmath.nstr(rel, 3),
               "relative_difference_log10": float(mpmath.log10(rel)) if rel > 0 else float("-inf"),
               "max_radius_log10": float(mpmath.log10(radius)), "seconds": round(time.time() - t0, 1)}
    fb = final_phase_bound(M0, n, d, eta, mpmath.nstr(mpmath.mpf(10) ** mpmath.mpf(log10_r0), 12), final_A=final_A)
    out["final_phase"] = fb
    return out


def paper_radius_gradient(M0: float = 1.0, n: int = 2, d: int = 1) -> dict:
    """g_1 - g_2 from the engine at r0 ~ 10^-868591 (M0 = 1, n = 2, d = 1) against (J): ~100 s."""
    log10_r0 = theorem_radius_log10(M0, n, d)
    dps = int(math.ceil(-log10_r0)) + 60
    t0 = time.time()
    with mpmath.workdps(dps):
        r0 = mpmath.mpf(10) ** mpmath.mpf(log10_r0)
        val, _ = engine_deviation_gradient([-mpmath.mpf(M0)], [[r0], [mpmath.mpf(0)]], dps=dps)
        pred = deviation_gradient(np.array([-mpmath.mpf(M0)], dtype=object),
                                  np.array([[r0], [mpmath.mpf(0)]], dtype=object))
        diff = val[0][0] - val[1][0]
        rel = abs(diff / (pred[0][0] - pred[1][0]) - 1)
        return {"dps": dps, "engine_g1_minus_g2": mpmath.nstr(diff, 15),
                "linear_prediction": mpmath.nstr(pred[0][0] - pred[1][0], 15),
                "relative_difference": mpmath.nstr(rel, 3), "seconds": round(time.time() - t0, 1)}


def final_phase_bound(M0: float, n: int, d: int, eta: float, r0, *, final_A: float = 1e-9, dps: int = 30) -> dict:
    """Rigorous bound on the distances to mu* after the hand-off (module doc), from the certificate.

    Returns ``valid`` (the certificate holds through the approach and the final phase's induction
    closes), ``deviation_bound_log10`` (log10 of 2 G N_T), ``steps_to_final_A`` (steps after which
    the centre is within ``final_A``), ``horizon_log10`` (log10 H: the bound holds for that many steps
    after the hand-off), ``distance_bound_at_end_log10`` (log10 of final_A + 2 G N_T) and
    ``loss_bound_at_end_log10`` (twice that: L <= max_i |a_i|^2).
    """
    cert = linear_regime_certificate(M0, n, d, eta, r0, dps=dps)
    T = cert["steps"]
    q = centre_factor(n, eta)
    K = remainder_constant(M0 + 1, d)
    with mpmath.workdps(dps):
        A_T = mpmath.mpf(M0) * mpmath.mpf(q) ** T
        N_T = mpmath.mpf(10) ** mpmath.mpf(cert["radius_bound_log10"])  # the certificate's sup, >= N_T
        G = mpmath.exp(4 * eta * A_T**2 / (n * (1 - mpmath.mpf(q) ** 2)))
        bound = 2 * G * N_T
        H = 1 / (6 * eta * K * G * N_T)
        steps = max(0, int(math.ceil(float((mpmath.log(A_T) - mpmath.log(final_A)) / -mpmath.log(q)))))
        valid = bool(cert["valid"] and H >= steps and bound < 1)
        dist = final_A + bound
        return {"valid": valid, "handoff_step": T, "A_at_handoff": float(A_T), "G": float(G),
                "deviation_bound_log10": float(mpmath.log10(bound)), "horizon_log10": float(mpmath.log10(H)),
                "final_A": final_A, "steps_to_final_A": steps,
                "distance_bound_at_end_log10": float(mpmath.log10(dist)),
                "loss_bound_at_end_log10": float(2 * mpmath.log10(dist)), "certificate": cert}
