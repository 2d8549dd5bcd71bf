"""Float64 runs of the full dynamics from a cluster of means (Theorems 3.2 and 3.4, and the
cells of ``verify explore``), with the linearised phase where float64 cannot resolve the cluster.

Notation and the linearised dynamics (J): :mod:`verify.analysis.cluster`.  A run starts the means
at mu_i(0) = r u_i (u: a layout of :mod:`.layouts`), the ground truth at mu* = M0 e_1, noise level
t; in scaled coordinates a_i = e^{-t}(mu_i - mu*) the cluster is centred at distance A0 = e^{-t} M0
from m* with radius e^{-t} r, and the step on the scaled means is eta_s = eta (convention
"scaled") or eta e^{-2t} ("unscaled").  Everything below is in scaled distances.

**Outcome rule** (:func:`cluster_rule`, our own), read at every recorded step from the last four
records.  A mean **converges** when its distance is at most 1/(6n) (the hand-off radius of Theorem
3.2's proof, inside which Theorem 2.1's regime takes over) and the largest distance of the means
within that radius did not increase over the last three records; the run has **all converged** when
every mean has and at least twice the hand-off step has passed.  A mean **recedes** when its distance
exceeds RECEDE_RADIUS = 3 and increased at each of the last three records: 3 is beyond every unstable
equilibrium of a loser with a winner at m* that we measured (one loser: 2.456 (n = 2); m co-located losers, m = 1..7:
2.370..2.456; Theorem 3.1's s*(n) <= 2.83 for n <= 8; d = 1), so a loser beyond it is pushed
outwards.  The run stops early on all converged, or on partial recovery with at least one
survivor and every other mean receding.  A mean **blows up** beyond BLOW_UP_FACTOR x (A0 + e^{-t} r + 1),
checked at every record from the first (it stops the run; a receding loser grows like log tau and
never gets there), and so does a run whose means leave the float64 engine's range (its RangeError,
:class:`BeyondRange`: far beyond the bound, between two records); the loss **rising**
between two of the last records by more than RISE (relative; the engine's loss is certified to
1e-10) is oscillation, and so is a loss flat to PLATEAU while a mean moves by more than CYCLE
(relative) between records (a periodic orbit: a receding loser changes the loss by percents per
record); a flat loss with the means still to STILL is **stuck**.  Records are
``record_every`` steps apart; an odd spacing makes a 2-cycle visible.  Anything else at
``max_steps`` is **undecided**, and so is a run whose engine could not certify its gradient even
at FALLBACK_TOL, or refused the start itself as beyond its range (the reason is kept).

**To convergence** (``to_convergence=True``, Theorem 3.2's claim): the hand-off is not the end.
The run continues to ``max_steps`` (default twice the hand-off step + FINAL) and has **all
converged** when every scaled distance reaches FLOOR (mu* reached to that accuracy; it stops
there), or at the end when every distance lies within Theorem 2.1's radius e^-2 / n (its
hypothesis t > log n + log M + 2), the largest distance did not increase over the last half of
the records and the run measurably decreases, the spread judged apart from the centre where it is
resolved (:mod:`.final_phase`: standing still, or the centre alone moving, is not converging);
``ClusterRun.how`` says which, ``ClusterRun.final`` what the decrease test measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from verify.engine.reference import AccuracyError
from verify.engine.tolerances import DESCENT_TOL, BelowRangeError, RangeError
from verify.simulate import outcomes
from verify.simulate.descent import ExactGradient, SuppliedGradient, gradient_descent

from .brackets import BAD, GOOD, UNKNOWN, Bracket
from .cluster import centre_factor, linear_amplification, linear_step
from .final_phase import decide_final
from .large_noise import scaled_step
from .layouts import unit_deviations

__all__ = ["descend", "descend_run", "BeyondRange", "cluster_rule", "final_rule", "ClusterRun", "run_cluster",
           "handoff", "Boundary", "radius_boundary", "verdict_of", "blow_up_bound", "RUN_TOL", "FALLBACK_TOL",
           "RECEDE_RADIUS", "BLOW_UP_FACTOR", "RISE", "PLATEAU", "STILL", "CYCLE", "SWITCH_RADIUS", "FLOOR", "FINAL",
           "radius_scan"]

#: Tolerances of the engine's gradient along a run: the engine's default for descent, and the
#: fallback used from the step where it raises AccuracyError (its first truncation radius is
#: chosen from max |a_i|^2 and is too small once a mean is far and the loss small).  The outcome
#: rule only needs the sign of slow drifts, far above 1e-6 relative.
RUN_TOL = DESCENT_TOL
FALLBACK_TOL = 1e-6
#: Outcome rule constants (module doc says why each).
RECEDE_RADIUS = 3.0
BLOW_UP_FACTOR = 10.0
RISE = 1e-6  # 1e4 x the loss's certified relative error along a run (RUN_TOL)
PLATEAU = 1e-6
STILL = 1e-6
CYCLE = 1e-3
#: Below this scaled radius the run starts with the linearised dynamics (J): float64 resolves a
#: deviation only above ~1e-14 |c| around a centre at distance |c| ~ 1..10, and the engine's
#: gradient error (1e-10 of ~|c|) must stay far below the deviation's own gradient (~|c|^2 x radius).
SWITCH_RADIUS = 1e-6
#: To convergence: distances below FLOOR count as mu* reached (a decision threshold, ~1e7 ulps of
#: |mu*| <= 10); the final phase runs FINAL steps after twice the hand-off step.
FLOOR = 1e-9
FINAL = 3000


class BeyondRange(RangeError):
    """The engine's RangeError in a run (:func:`descend_run`): the means at ``step`` (``mu``) are
    beyond the float64 engine's range, at any tolerance; ``note``: the run's notes until then."""

    def __init__(self, step: int, mu: np.ndarray, note: str, cause: RangeError):
        super().__init__(f"the engine refused the means at step {step} as beyond its float64 range: {cause}")
        self.step, self.mu, self.note = step, mu, note


def descend_run(mu0, mu_star, t, eta, steps, *, record_every: int, callback, convention: str = "scaled",
                tol: float = RUN_TOL, grad_fn=None):
    """:func:`verify.simulate.descent.gradient_descent` with ``callback(step, mu, record)`` (the
    engine's record at that step: loss and its error), continued at FALLBACK_TOL where the engine
    cannot certify ``tol``.  Returns ``(note, trajectory)``; the trajectory is None when the engine
    could not certify FALLBACK_TOL either, or refused the means as too near m* (BelowRangeError; the
    note says where and why).  Neither that nor the engine's RangeError (the means beyond its float64
    range) is retried, no tolerance changing them: the RangeError ends the run as :class:`BeyondRange`,
    with the step and the means it refused.  ``grad_fn(mu, mu_star, t) -> dL/dmu`` replaces the
    engine's gradient (a negative control's wrong dynamics; the engine then gives the loss only)."""
    last = {"step": 0, "mu": np.array(mu0, dtype=float)}
    base, note = 0, ""
    parent = ExactGradient if grad_fn is None else SuppliedGradient

    class _Source(parent):
        def at(self, step, mu, record):
            try:
                self.last = super().at(step, mu, record)
            except RangeError as exc:
                raise BeyondRange(base + step, np.array(mu, dtype=float), note, exc) from exc
            return self.last

    for tol_now in (tol, FALLBACK_TOL):
        src = _Source() if grad_fn is None else _Source(grad_fn)

        def cb(step, mu, src=src):
            last["step"], last["mu"] = base + step, mu
            return callback(base + step, mu, src.last)

        try:
            traj = gradient_descent(last["mu"], mu_star, t, eta, steps - base, record_every=record_every,
                                    tol=tol_now, convention=convention, source=src, callback=cb)
            return note, traj
        except AccuracyError as exc:
            if isinstance(exc, BeyondRange):
                raise
            if isinstance(exc, BelowRangeError):  # not a blow-up, and no tolerance changes it
                return note + f"; engine refused the means near step {last['step']}: {exc}", None
            base = last["step"]
            note += f"; engine AccuracyError at tol {tol_now:g} near step {base}" + (
                f", continued at tol {FALLBACK_TOL:g}" if tol_now != FALLBACK_TOL else f": {exc}")
    return note, None


def descend(mu0, mu_star, t, eta, steps, *, record_every: int, callback) -> str:
    """:func:`descend_run` (scaled convention) with ``callback(step, mu)``; returns the note (which
    says so when the engine refused the means as beyond its range: the run ends there)."""
    try:
        return descend_run(mu0, mu_star, t, eta, steps, record_every=record_every,
                           callback=lambda step, mu, _rec: callback(step, mu))[0]
    except BeyondRange as exc:
        return f"{exc.note}; {exc}"


def blow_up_bound(start: float) -> float:
    """The blow-up bound of a run whose largest scaled distance at the start is ``start``:
    BLOW_UP_FACTOR x (start + 1) (module doc; the + 1 keeps a margin for a start at or near m*).
    A mean beyond it blows up (:func:`verify.simulate.outcomes.blown_up`): a cluster run checks
    it at every record (the cells record every :data:`verify.explore.runner.RECORD_EVERY` steps)
    and stops there, and so does the average study (:mod:`verify.explore.average`)."""
    return BLOW_UP_FACTOR * (start + 1)


def cluster_rule(n: int, M0: float) -> outcomes.Rule:
    """The outcome rule of the cluster runs (module doc), over the last four records; ``M0``: the
    largest scaled distance at the start (sets the blow-up bound)."""
    return outcomes.Rule(window="all", radius=1 / (6 * n), settle="inside", grow="strict",
                         recede_radius=RECEDE_RADIUS, bound=blow_up_bound(M0), rise=RISE, plateau=PLATEAU,
                         still=STILL, cycle=CYCLE)


def handoff(A0: float, n: int, eta_s: float, max_steps: int) -> int:
    """First step with the centre's distance A0 |1 - 2 eta_s/n|^tau <= 1/(6n) (the hand-off);
    ``max_steps`` when the centre does not contract (|1 - 2 eta_s/n| >= 1)."""
    q = abs(centre_factor(n, eta_s))
    A_end = 1 / (6 * n)
    if A0 <= A_end:
        return 0
    if q >= 1:
        return max_steps
    if q == 0:
        return 1
    return min(max_steps, int(math.ceil(math.log(A_end / A0) / math.log(q) - 1e-12)))


@dataclass
class ClusterRun:
    outcome: str  # a run outcome of verify.simulate.outcomes
    steps: int  # steps run
    final_distances: np.ndarray  # scaled
    max_radius: float  # largest max_i |m_i - c_tau| seen before the hand-off (c_tau: the centre (C))
    start: str  # "float64" or "linear phase until step k", and the engine's notes
    history: list = field(default_factory=list)  # (step, distances)
    means: tuple = ()  # per-mean outcomes at the end
    survivors: int = 0
    final_loss: float = float("nan")
    final_loss_err: float = float("nan")
    reason: str = ""  # why the run is undecided, when the engine is the reason
    linear_steps: int = 0  # steps of the linearised phase before the engine took over
    how: str = ""  # to convergence: "floor" (mu* reached to FLOOR) or "final phase" (module doc)
    final: dict = field(default_factory=dict)  # to convergence: the decrease test (final_decrease), when reached


def final_rule(n: int, M0: float) -> outcomes.Rule:
    """To convergence, at the end of the final phase (module doc): over the last half of the records,
    every distance within Theorem 2.1's radius e^-2 / n and the largest not increasing."""
    return outcomes.Rule(window="half", radius=math.exp(-2) / n, settle="largest", grow="strict",
                         recede_radius=RECEDE_RADIUS, bound=blow_up_bound(M0))


def run_cluster(M0: float, r: float, n: int = 2, eta: float = 0.05, *, d: int = 1, t: float = 0.0,
                convention: str = "scaled", layout: str = "leader", seed: int = 0, max_steps: int | None = None,
                record_every: int = 10, switch_radius: float = SWITCH_RADIUS, tol: float = RUN_TOL,
                to_convergence: bool = False, grad_fn=None) -> ClusterRun:
    """Gradient descent (float64 engine) from mu_i(0) = r u_i, mu* = M0 e_1 at noise level t; outcome
    by the rule in the module doc.

    When the scaled radius is below ``switch_radius`` the run starts with the exact linearised
    dynamics (J) (no cancellation; the deviations are carried as a unit vector and a log-scale, so
    any r > 0 works) until the largest deviation reaches ``switch_radius`` or twice the hand-off
    step has passed (the linear spread is then final up to a factor exp(A_end^2)); the engine
    continues from there (``start`` says from which step).  ``max_steps`` defaults to 4000, or with
    ``to_convergence`` to twice the hand-off step + FINAL; ``grad_fn`` replaces the engine's gradient
    after the linear phase (:func:`descend_run`).
    """
    s = math.exp(-t)
    eta_s = scaled_step(eta, t, convention)
    star = np.zeros(d)
    star[0] = M0
    u = unit_deviations(layout, n, d, seed)
    e1 = (np.arange(d) == 0).astype(float)  # (not np.eye(d)[0]: a d x d array, 75 GiB at d = 1e5)
    c = -s * star  # scaled centre, a = m - m*
    A0 = s * M0
    if max_steps is None:
        max_steps = 4000
        if to_convergence:
            max_steps = 2 * handoff(A0, n, eta_s, 10**9) + FINAL
    T_hand = handoff(A0, n, eta_s, max_steps)
    step0, start = 0, "float64"
    umax = float(np.max(np.linalg.norm(u, axis=1)))
    log_scale = math.log(s * r) if r > 0 else -math.inf
    tiny = umax > 0 and r > 0 and switch_radius > 0 and log_scale + math.log(umax) < math.log(switch_radius)
    if tiny:
        v = u / umax
        log_scale += math.log(umax)
        log_max = log_scale
        while log_scale + math.log(np.max(np.abs(v))) < math.log(switch_radius) and step0 < min(max_steps, 2 * T_hand):
            c, v = linear_step(c, v, n, eta_s)
            norm = float(np.max(np.abs(v)))
            v, log_scale = v / norm, log_scale + math.log(norm)
            step0 += 1
            if step0 <= T_hand:
                log_max = max(log_max, log_scale + math.log(float(np.max(np.linalg.norm(v, axis=1)))))
        delta = v * math.exp(log_scale) if log_scale > -700 else np.zeros_like(v)
        start = f"linear phase until step {step0}"
        max_radius = math.exp(log_max) if log_max > -700 else 0.0
    else:
        delta = s * r * u
        max_radius = s * r * umax
    mu0 = star + (c + delta) / s
    q = centre_factor(n, eta_s)
    rule = cluster_rule(n, A0 + s * r * umax)
    hist, losses, errs, positions = [], [], [], []
    state = {"max": max_radius}

    def recorded(k=4):
        return outcomes.Recorded(np.array([h[0] for h in hist[-k:]], dtype=float), np.array([h[1] for h in hist[-k:]]),
                                 np.array(losses[-k:]), None, np.array(positions[-k:]))

    def cb(step, mu, rec):
        tau = step0 + step
        a = s * (mu - star)
        with np.errstate(over="ignore"):  # a blown-up mean's distance is inf, which the rule reads as such
            hist.append((tau, np.linalg.norm(a, axis=1)))
        losses.append(rec.loss)
        errs.append(rec.loss_err)
        positions.append(a)
        if outcomes.blown_up(hist[-1][1], rule.bound).any():
            return True  # at every record from the first: verify.explore.limits counts on one every record_every steps
        if tau <= T_hand and abs(q) < 1:
            state["max"] = max(state["max"], float(np.max(np.linalg.norm(a + A0 * q**tau * e1, axis=1))))
        if to_convergence and float(np.max(hist[-1][1])) <= FLOOR:
            state["floor"] = True
            return True
        if len(hist) < 4:
            return False
        out = outcomes.classify(recorded(), rule)
        if out.run == outcomes.ALL_CONVERGE and tau >= 2 * T_hand and not to_convergence:
            return True
        return (out.survivors >= 1 and out.run == outcomes.PARTIAL_RECOVERY
                and all(m in (outcomes.CONVERGES, outcomes.RECEDES) for m in out.means))

    try:
        note, traj = descend_run(mu0, star, t, eta, max_steps - step0, record_every=record_every, callback=cb,
                                 convention=convention, tol=tol, grad_fn=grad_fn)
    except BeyondRange as exc:
        note, traj, beyond = exc.note, None, exc
    else:
        beyond = None
    start += note
    last_step = hist[-1][0] if hist else step0
    final = hist[-1][1] if hist else np.linalg.norm(s * (mu0 - star), axis=1)
    run = ClusterRun(outcomes.UNDECIDED, int(last_step), final, state["max"], start, hist, linear_steps=step0)
    if hist:
        run.final_loss, run.final_loss_err = float(losses[-1]), float(errs[-1])
    if beyond is not None:
        run.reason = str(beyond)
        if not hist:  # the engine refused the start itself: nothing ran, nothing blew up
            return run
        # left the engine's range since the last record: a blow-up (module doc).  The means beyond the
        # bound blow up; should none be (a bound beyond the engine's range), the farthest, which it refused
        with np.errstate(over="ignore"):
            dist = np.linalg.norm(s * (beyond.mu - star), axis=1)
        blown = outcomes.blown_up(dist, rule.bound)
        if not blown.any():
            blown = dist >= np.max(dist)
        run.outcome, run.steps, run.final_distances = outcomes.OSCILLATES_OR_BLOWS_UP, step0 + beyond.step, dist
        run.means = tuple(outcomes.BLOWS_UP if b else outcomes.UNDECIDED for b in blown)
        return run
    if traj is None:
        run.reason = note.lstrip("; ")
        return run
    if traj.stopped.startswith("non-finite"):
        run.outcome, run.reason = outcomes.OSCILLATES_OR_BLOWS_UP, traj.stopped
        run.means = tuple(outcomes.BLOWS_UP if not np.all(np.isfinite(m)) else outcomes.UNDECIDED for m in traj.mu)
        return run
    if state.get("floor"):
        run.outcome, run.how, run.survivors = outcomes.ALL_CONVERGE, "floor", n
        run.means = (outcomes.CONVERGES,) * n
        return run
    blown = outcomes.blown_up(hist[-1][1], rule.bound) if hist else np.zeros(n, dtype=bool)
    if len(hist) < 4 and blown.any():  # the check stopped the run before four records
        run.outcome = outcomes.OSCILLATES_OR_BLOWS_UP
        run.means = tuple(outcomes.BLOWS_UP if b else outcomes.UNDECIDED for b in blown)
        return run
    if len(hist) < 4:
        run.reason = f"only {len(hist)} records (need 4 to decide)"
        return run
    out = outcomes.classify(recorded(), rule)
    run.outcome, run.means, run.survivors = out.run, out.means, out.survivors
    if to_convergence and out.run in (outcomes.ALL_CONVERGE, outcomes.UNDECIDED, outcomes.STUCK):
        # the hand-off is not the end: decide on the final phase (module doc, .final_phase)
        fin = outcomes.classify(recorded(len(hist)), final_rule(n, A0 + s * r * umax))
        decide_final(run, fin, out.run, hist, positions, eta_s=eta_s, scale=A0 + s * r * umax + 1,
                     tol=FALLBACK_TOL if "continued at tol" in note else tol)
    return run


@dataclass
class Boundary:
    M0: float
    r_star_low: float  # largest r tried with every mean converging (NaN when none)
    r_star_high: float  # smallest r tried above it with a mean receding (NaN when none)
    runs: list  # (r, outcome, steps, start)
    status: str = ""  # the bracket's status (verify.analysis.brackets.Bracket.state)

    @property
    def r_star(self) -> float:
        return math.sqrt(self.r_star_low * self.r_star_high)


def verdict_of(outcome: str) -> str:
    """A run's outcome as a bracket verdict for "every mean converges": all_converge is good,
    undecided unknown, anything else (partial recovery, stuck, oscillation) bad."""
    if outcome == outcomes.ALL_CONVERGE:
        return GOOD
    return UNKNOWN if outcome == outcomes.UNDECIDED else BAD


def radius_boundary(M0: float, n: int = 2, eta: float = 0.05, *, lo: float | None = None, hi: float | None = None,
                    rel_width: float = 0.1, max_runs: int = 14, r_min: float | None = None,
                    r_max: float | None = None, **kw) -> Boundary:
    """Bisection in log r for the largest initial radius with every mean converging.

    Brackets start from the linear prediction r ~ 30 / amplification (the measured critical
    spread at the hand-off is ~30 for n = 2, eta = 0.05) and are widened by factors of 30 within
    [r_min, r_max] (default [exp(-M0^3), M0^(1/3)], the range the paper's summary asks to sweep)
    until ``lo`` converges and a mean of ``hi`` recedes; bisection stops when hi / lo <= 1 +
    rel_width.  An undecided run stops the search (reported, never counted as either outcome).
    Keywords (``layout``, ``seed``, ``d``, ``t``, ``convention``, ``max_steps``...) go to
    :func:`run_cluster`.  The bracket logic is :class:`verify.analysis.brackets.Bracket`, which
    ``verify explore`` drives in parallel rounds.
    """
    r_max = M0 ** (1 / 3) if r_max is None else r_max
    r_min = max(math.exp(-M0**3), 1e-300) if r_min is None else r_min
    guess = min(30 * math.exp(-linear_amplification(M0, n, eta)["log_amplification"]), 0.5 * r_max)
    lo = max(guess / 30, r_min) if lo is None else lo
    hi = min(guess * 30, r_max) if hi is None else hi
    bracket = Bracket("log", "low", (r_min, r_max), rel_width, 30.0, initial=(lo, hi), max_points=max_runs)
    runs = []
    while True:
        nxt = bracket.next(1)
        if not nxt:
            break
        res = run_cluster(M0, nxt[0], n, eta, **kw)
        runs.append((nxt[0], res.outcome, res.steps, res.start))
        bracket.record(nxt[0], verdict_of(res.outcome))
    st = bracket.state()
    return Boundary(M0, st["good"], st["bad"], runs, st["status"])


def radius_scan(M0: float, radii, n: int = 2, eta: float = 0.05, **kw) -> list[ClusterRun]:
    """:func:`run_cluster` to convergence at each radius in ``radii`` (e.g. from r* down to 1e-300)."""
    return [run_cluster(M0, float(r), n, eta, to_convergence=True, **kw) for r in radii]
