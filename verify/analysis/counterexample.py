"""Theorem 3.4's counterexample run: does mu_1 converge while every other mean runs away?

Setting [1, Theorem 3.4] (CLAIMS.md): mu* = M0 e_1, mu_1(0) = eps0 e_1 with eps0 = exp(-M0/100),
mu_i(0) = 0 for i >= 2, t = 0, gradient descent in the "scaled" convention (at t = 0 both
conventions coincide), the engine's exact population gradient.

A run has two phases.

* **Phase 1** (up to ``steps``, in the original coordinates): the cluster splits; mean 1 is judged
  by :func:`verify.simulate.outcomes.tail_rule` with radius 1/(6n) (converges: within the radius
  and not moving out over the last half of the records); the phase ends early, from ``min_steps``
  on, once mean 1 converges by that rule, and mean 1 must stay converged through phase 2.
* **Phase 2** (``phase2`` steps, recentred): once mean 1 is near mu*, the others are pushed
  outward by a gradient of order D^2 phi(D/2) (D their distance; proofs_map.md (thm-3.5)), ~1e-20
  per step at M0 = 20: far below the resolution of their distance (~M0 x 2^-52) and of their
  position in the original coordinates.  The loss is invariant under a common shift, so phase 2
  continues with every mean and mu* shifted by -mu_2: the losers start at 0, where float64
  resolves any step above 1e-308, and their **outward displacement** u_j(tau) (the displacement
  along the direction away from mu*) is recorded.  A loser **recedes** when u_j increases at every
  record of phase 2 (:func:`verify.simulate.outcomes.classify`, rule ``grow="strict"`` on u_j),
  **approaches** when it decreases at every record; its growth law is the log-log slope of u_j
  against the steps of phase 2, and its rate u_j / steps.
* **Certificate** of the direction: at the last step the engine's gradient with its
  per-component error estimate; where |g_j| does not exceed the error (float64 cannot certify
  the sign), the loser's gradient in mpmath log-space
  (:func:`verify.analysis.random_init.log_gradient_mp`, d = 1 only).

The counterexample **works** at M0 when mean 1 converges and every other mean recedes with a
certified outward gradient; it **does not work** when the run decides otherwise (every mean
converges, or mean 1 does not converge while another does, or a loser approaches mu*); else it is
**undecided**.

Reference: [1] arXiv 2511.22069.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from verify.engine import reference
from verify.engine.tolerances import DESCENT_TOL
from verify.simulate import outcomes
from verify.simulate.descent import gradient_descent

from .cluster_runs import descend
from .random_init import log_gradient_mp

__all__ = ["WORKS", "DOES_NOT_WORK", "UNDECIDED", "CounterexampleRun", "counterexample_run", "initial_means"]

WORKS, DOES_NOT_WORK, UNDECIDED = "works", "does_not_work", "undecided"

#: u_j of a receding loser, read with the shared vocabulary: never "converging" (u starts at 0,
#: so u_end < 1.0 x u_start cannot hold), receding when it increases at every record.
_DISPLACEMENT_RULE = outcomes.Rule(window="all", fraction=1.0, grow="strict")


@dataclass
class CounterexampleRun:
    M0: float
    eps0: float
    n: int
    eta: float
    status: str  # WORKS, DOES_NOT_WORK or UNDECIDED
    reason: str
    phase1: outcomes.Outcome  # tail_rule on the distances of phase 1
    loser_outcomes: list  # per loser: RECEDES, "approaches" or UNDECIDED (phase 2)
    displacement: np.ndarray  # (K, n - 1) outward displacement of each loser over phase 2
    phase2_steps: np.ndarray  # (K,) steps since the start of phase 2
    growth_exponent: list  # per loser: log-log slope of u_j over the second half of phase 2
    rate: list  # per loser: u_j(end) / steps of phase 2
    certified_by: list  # per loser: "float64", "mpmath" or "not certified"
    outward_gradient: list  # per loser: is the certified gradient step outward?
    note: str = ""  # engine notes (AccuracyError fallbacks)
    distances: np.ndarray = field(default=None, repr=False)  # phase 1 distances (K1, n)
    recorded_steps: np.ndarray = field(default=None, repr=False)


def initial_means(M0: float, n: int, d: int = 1, eps0: float | None = None):
    """(mu0, mu_star, eps0): mu* = M0 e_1, mu_1(0) = eps0 e_1 (default exp(-M0/100)), the others at 0."""
    eps0 = math.exp(-M0 / 100) if eps0 is None else float(eps0)
    star = np.zeros(d)
    star[0] = M0
    mu0 = np.zeros((n, d))
    mu0[0, 0] = eps0
    return mu0, star, eps0


def _certify(mu, star, j):
    """Is the gradient step of mean j outward (away from star)?  (outward, "float64"/"mpmath"/"not certified").

    float64 where the engine's per-component error is below |g_j| (at the engine's tolerance for
    dynamics; where it declines the configuration, AccuracyError), else mpmath log-space (d = 1)."""
    away = (mu[j] - star) / np.linalg.norm(mu[j] - star)
    try:
        ev = reference.evaluate(mu, star, 0.0, tol=DESCENT_TOL)
        g, err = np.asarray(ev.grad_scaled, float)[j], np.asarray(ev.grad_scaled_err, float)[j]
        step = -float(g @ away)  # component of -g along the outward direction
        if abs(step) > float(np.linalg.norm(err)):
            return step > 0, "float64"
    except reference.AccuracyError:
        pass  # float64 cannot certify this configuration: the mpmath path below decides
    if mu.shape[1] != 1:
        return False, "not certified"
    lg = log_gradient_mp([repr(float(x)) for x in mu[:, 0]], j, repr(float(star[0])))
    return lg.outward, "mpmath"


def _descent(mu0, star, eta, steps, record_every, grad_fn, stop=None):
    """(recorded steps, recorded means, note): the engine's run with its AccuracyError fallback
    (:func:`verify.analysis.cluster_runs.descend`), or a run on ``grad_fn``; ``stop(steps, means)``
    ends the run early when it returns True."""
    hist = []

    def keep(step, mu):
        hist.append((step, mu.copy()))
        return bool(stop is not None and stop(np.array([h[0] for h in hist]), np.array([h[1] for h in hist])))

    if grad_fn is None:
        note = descend(mu0, star, 0.0, eta, steps, record_every=record_every, callback=keep).lstrip("; ")
    else:
        gradient_descent(mu0, star, 0.0, eta, steps, record_every=record_every, callback=keep, grad_fn=grad_fn)
        note = ""
    return np.array([h[0] for h in hist]), np.array([h[1] for h in hist]), note


def counterexample_run(M0: float, *, n: int = 3, d: int = 1, eta: float = 0.05, steps: int = 1500,
                       min_steps: int = 300, phase2: int = 500, record_every: int = 25, eps0: float | None = None,
                       grad_fn=None) -> CounterexampleRun:
    """One run of the counterexample (module doc); ``grad_fn(mu, mu_star, t) -> dL/dmu`` replaces the
    engine's gradient (a negative control's wrong dynamics).  Phase 1 ends at ``steps``, or from
    ``min_steps`` on at the first record where mean 1 converges by the tail rule (phase 2 checks
    that it stays converged)."""
    mu0, star, eps0 = initial_means(M0, n, d, eps0)
    rule = outcomes.tail_rule(1 / (6 * n))

    def settled(st, means):
        if st[-1] < min_steps:
            return False
        out = outcomes.classify(outcomes.Recorded(st, np.linalg.norm(means - star, axis=2)), rule)
        return out.means[0] == outcomes.CONVERGES and out.run != outcomes.ALL_CONVERGE

    rec_steps, mus, note = _descent(mu0, star, eta, steps, record_every, grad_fn, stop=settled)
    dist = np.linalg.norm(mus - star, axis=2)
    out1 = outcomes.classify(outcomes.Recorded(rec_steps, dist), rule)
    losers = list(range(1, n))
    winner_conv = out1.means[0] == outcomes.CONVERGES
    others_conv = [out1.means[j] == outcomes.CONVERGES for j in losers]
    args = (M0, eps0, n, eta)
    if not winner_conv or out1.run == outcomes.ALL_CONVERGE:
        status = DOES_NOT_WORK if (out1.run == outcomes.ALL_CONVERGE or any(others_conv)) else UNDECIDED
        nan = [math.nan] * len(losers)
        return CounterexampleRun(*args, status, f"phase 1: {out1}", out1, [outcomes.UNDECIDED] * len(losers),
                                 np.zeros((1, len(losers))), np.zeros(1), nan, nan, ["not run"] * len(losers),
                                 [False] * len(losers), note, dist, rec_steps)
    # phase 2: recentred on the first loser, so that its position starts at exactly 0
    mu_end = mus[-1]
    shift = mu_end[losers[0]].copy()
    outward = np.array([(mu_end[j] - star) / np.linalg.norm(mu_end[j] - star) for j in losers])
    steps2, mus2, note2 = _descent(mu_end - shift, star - shift, eta, phase2, record_every, grad_fn)
    if len(steps2) < 3:  # the engine stopped phase 2 (note2) before a growth could be measured: undecided
        nan = [math.nan] * len(losers)
        return CounterexampleRun(*args, UNDECIDED, f"phase 2 stopped after {len(steps2)} record(s): {note2}", out1,
                                 [outcomes.UNDECIDED] * len(losers), np.zeros((1, len(losers))), np.zeros(1), nan,
                                 nan, ["not run"] * len(losers), [False] * len(losers),
                                 "; ".join(x for x in (note, note2) if x), dist, rec_steps)
    u = np.stack([(mus2[:, j] - mus2[0, j]) @ outward[k] for k, j in enumerate(losers)], axis=1)
    winner2 = outcomes.classify(outcomes.Recorded(steps2, np.linalg.norm(mus2 - (star - shift), axis=2)), rule)
    lab = outcomes.classify(outcomes.Recorded(steps2, u), _DISPLACEMENT_RULE)
    approach = np.all(np.diff(u, axis=0) < 0, axis=0)
    loser_out = [outcomes.RECEDES if m == outcomes.RECEDES else "approaches" if a else outcomes.UNDECIDED
                 for m, a in zip(lab.means, approach)]
    half = steps2 >= steps2[-1] / 2
    growth, rate = [], []
    for k in range(len(losers)):
        uk, sk = u[half, k], steps2[half].astype(float)
        ok = bool(np.all(uk > 0) and sk[0] > 0)
        growth.append(float(np.log(uk[-1] / uk[0]) / np.log(sk[-1] / sk[0])) if ok else math.nan)
        rate.append(float(u[-1, k] / steps2[-1]))
    cert = [_certify(mus2[-1], star - shift, j) for j in losers]
    if winner2.means[0] != outcomes.CONVERGES:
        status, reason = UNDECIDED, f"mean 1 did not stay converged in phase 2: {winner2}"
    elif all(o == outcomes.RECEDES for o in loser_out) and all(c[0] for c in cert):
        status, reason = WORKS, "mean 1 converges; every other mean recedes (certified outward)"
    elif "approaches" in loser_out:
        status, reason = DOES_NOT_WORK, f"mean 1 converges but losers {loser_out}"
    else:
        status, reason = UNDECIDED, f"losers {loser_out}, outward certified {cert}"
    note = "; ".join(x for x in (note, note2) if x)
    return CounterexampleRun(*args, status, reason, out1, loser_out, u, steps2, growth, rate,
                             [c[1] for c in cert], [bool(c[0]) for c in cert], note, dist, rec_steps)
