"""Random initialization far away (Theorem 3.5, Corollary 3.6, Theorem 3.7): shared machinery.

[1, Theorem 3.5] starts gradient descent from mu_i(0) i.i.d. N(mu, I_d) with
M0 = |mu - mu*| large.  This module provides, for d = 1 (every mean on one
line, so every expectation is a 1-D Gaussian integral, k = 1):

* :func:`sample_initialization` -- mu_i(0) = mu* + M0 e_1 + z_i, z_i ~ N(0, I_d), from a seed;
* :func:`log_gradient_mp` -- dL/dm_i of any mean in mpmath, returned as sign and
  natural logarithm of the magnitude, for gradients such as exp(-10^23) that
  no float can hold (Gauss-Legendre panels split at the logit crossings).  The
  engine's :func:`verify.engine.reference.grad_mp` cannot replace it: its accuracy is
  normwise (relative to the gradient scale of :mod:`verify.engine.tolerances`), so a loser's
  component that is 10^(-5.8e22) times the winner's is not certified (proofs_map.md (thm-3.5)
  has a measured example);
* :func:`asymptotic_log_loser_gradient` -- the large-D formula
  dL/dD = -(pi/8) D^2 phi(D/2) (1 + O(D^-2)) for a loser at distance D with the
  winner at mu* (n = 2), derived in ``proofs_map.md (thm-3.5)``;
* stage detection (:func:`stage_one`, :func:`stage_two`) and one trial of the probability
  statement (:func:`survivor_trial`; its binomial bounds: :mod:`verify.analysis.statistics`).

The runs are :func:`verify.simulate.descent.gradient_descent` with the engine's exact gradient
at t = :data:`NOISE_LEVEL` = 0, recorded at any set of steps (``record_at``).

Conventions: t = 0, so the "scaled" and "unscaled" steps coincide:
mu_i <- mu_i - eta dL/dmu_i.  mu* is a parameter (default 0).

Reference: [1] arXiv 2511.22069.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from verify.simulate import outcomes
from verify.simulate.descent import Trajectory, gradient_descent

__all__ = [
    "theorem_M0",
    "probability_bound",
    "sample_initialization",
    "NOISE_LEVEL",
    "log_gradient_mp",
    "asymptotic_log_loser_gradient",
    "stage_one",
    "stage_two",
    "survivor_rule",
    "survivor_outcome",
    "survivor_trial",
    "Trial",
    "predicted_stage_one_steps",
    "tie_measure",
    "NEAR_TIE",
    "growth_law",
]

#: The noise level of every run here: t = 0, where the scaled and unscaled steps coincide.
NOISE_LEVEL = 0.0


def theorem_M0(n: int, d: int) -> float:
    """The theorem's threshold 10^9 sqrt(d) n^10 ([1, Theorem 3.5]); M0 must exceed it."""
    return 1e9 * math.sqrt(d) * n**10


def probability_bound(n: int, M0: float) -> float:
    """n^2 M0^(-1/3): the theorem's bound on the probability of anything but exactly one survivor."""
    return n * n * M0 ** (-1.0 / 3.0)


def sample_initialization(n: int, d: int, M0: float, seed: int, mu_star=None):
    """mu_i(0) = mu* + M0 e_1 + z_i with z_i i.i.d. N(0, I_d) (numpy default_rng(seed)).

    Returns ``(mu0, mu_star, z)``: float64 arrays (n, d), (d,), and the offsets z (n, d).
    float64 resolves the offsets to |mu| * 2^-52 (1.1e-4 at M0 = 1e12); callers that
    need them exactly use ``z`` with M0 in mpmath.
    """
    if n < 1 or d < 1:
        raise ValueError(f"n and d must be >= 1, got n = {n}, d = {d}")
    if not (M0 > 0 and math.isfinite(M0)):
        raise ValueError(f"M0 must be a positive number, got {M0!r}")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d))
    mu_star = np.zeros(d) if mu_star is None else np.asarray(mu_star, dtype=float)
    e1 = np.zeros(d)
    e1[0] = 1.0
    return mu_star[None, :] + M0 * e1[None, :] + z, mu_star, z


# -- log-space gradients in mpmath ------------------------------------------------


@dataclass
class LogGradient:
    """dL/dm_i = sign * exp(log_abs) (natural log), with the quadrature's error estimate."""

    sign: int
    log_abs: object  # mpf
    rel_err: object  # mpf: estimated |error| / |value|
    outward: bool  # does a gradient step move the mean away from mu*?
    dps: int

    def log10_abs(self) -> str:
        with mpmath.workdps(self.dps):
            return mpmath.nstr(self.log_abs / mpmath.log(10), 15)


def log_gradient_mp(mu, i: int, mu_star=0, *, dps: int | None = None, method: str = "gauss-legendre") -> LogGradient:
    """dL/dm_i for collinear means (d = 1, t = 0) in mpmath, as sign and log|.|.

    ``mu``: n numbers (str, int, float or mpf; strings keep all their digits).  The
    integrand 2 phi(z) w_i(z) [v + v (a_i - v)(z - a_i)] is integrated by Gauss-Legendre
    (mpmath.quad) over panels graded geometrically (factor 2, from 1/4 to 2^14 transition
    widths 1/gap) around each crossing of neighbouring logits and around z = 0, each panel
    split in 4 and in 8; their difference is the error estimate (``rel_err``); mpmath's mpf exponent
    is unbounded, so values such as exp(-1.3e23) are held as they are.  ``dps`` defaults to
    30 + 2 log10 max|a| (the crossings at |a|/2 must be resolved to 1/|a|).
    """
    n = len(mu)
    if not 0 <= i < n:
        raise ValueError(f"i must be in [0, {n}), got {i}")
    amax_f = max(abs(float(x)) for x in mu) + abs(float(mu_star)) + 1.0
    if dps is None:
        dps = 30 + 2 * int(math.ceil(math.log10(amax_f)))
    with mpmath.workdps(dps):
        ms = mpmath.mpf(mu_star)
        a = [mpmath.mpf(x) - ms for x in mu]
        ai = a[i]
        two_pi_sqrt = mpmath.sqrt(2 * mpmath.pi)

        def f(z):
            l = [(aj - ai) * (z - (aj + ai) / 2) for aj in a]  # l_j - l_i
            top = max(l)
            E = [mpmath.exp(x - top) for x in l]
            S = mpmath.fsum(E)
            w = [e / S for e in E]
            v = mpmath.fsum(wj * aj for wj, aj in zip(w, a))
            # phi(z) * w_i, with w_i = exp(-top) / S written in one exponent
            pw = mpmath.exp(-z * z / 2 - top) / (S * two_pi_sqrt)
            return 2 * pw * (v + v * (ai - v) * (z - ai))

        s = sorted(a)
        pts = {mpmath.mpf(0)}
        for lo, hi in zip(s[:-1], s[1:]):
            if hi == lo:
                continue
            c, wdt = (lo + hi) / 2, 1 / (hi - lo)
            for k in range(-2, 15):
                pts.add(c + wdt * mpmath.mpf(2) ** k)
                pts.add(c - wdt * mpmath.mpf(2) ** k)
            pts.add(c)
        for k in range(-3, 3):
            pts.add(mpmath.mpf(4) ** k)
            pts.add(-mpmath.mpf(4) ** k)
        pts = sorted(pts)

        def integrate(sub):
            # each finite panel split into `sub` equal pieces; the two infinite ends as they are
            val = mpmath.quad(f, [mpmath.ninf, pts[0]], method=method)
            val += mpmath.quad(f, [pts[-1], mpmath.inf], method=method)
            for lo, hi in zip(pts[:-1], pts[1:]):
                val += mpmath.quad(f, mpmath.linspace(lo, hi, sub + 1), method=method)
            return val

        # mpmath.quad's own estimate is unreliable here (it stops early on panels holding
        # e^{1.5 s} pieces of the sigmoid); the difference of two panel refinements is used.
        coarse, total = integrate(4), integrate(8)
        err = abs(total - coarse)
        if total == 0:
            raise ArithmeticError(f"gradient of mean {i} evaluated to 0 at dps {dps}")
        sign = 1 if total > 0 else -1
        rel = err / abs(total)
        outward = bool(sign * (1 if ai > 0 else -1) < 0)  # -eta g points away from mu*
        return LogGradient(sign, mpmath.log(abs(total)), rel, outward, dps)


def asymptotic_log_loser_gradient(D, *, dps: int = 40):
    """log |dL/dD| ~ log(pi/8) + 2 log D - D^2/8 - log sqrt(2 pi) for n = 2, winner at mu*.

    The loser at distance D feels dL/dD = 2D E[w^2] - D^3 E[w^2 (1 - w)] (mu* = 0, t = 0,
    w = sigmoid(D z - D^2/2)); near z = D/2, phi(z) ~ phi(D/2) e^{-D y/2}, and with
    s = D y the two expectations are phi(D/2)/D times B(3/2, 1/2) = pi/2 and
    B(3/2, 3/2) = pi/8.  The relative error of the leading term is O(D^-2).
    Returns (log value as mpf, sign of dL/dD = -1: the loser moves outward).
    """
    with mpmath.workdps(dps):
        D = mpmath.mpf(D)
        return (mpmath.log(mpmath.pi / 8) + 2 * mpmath.log(D) - D * D / 8 - mpmath.log(mpmath.sqrt(2 * mpmath.pi)), -1)


# -- stages ---------------------------------------------------------------------


@dataclass
class StageOne:
    winner: int
    tau1: int | None  # first recorded step with the winner within `target` of mu*
    target: float
    predicted_tau1: float  # log(r0 / target) / -log(1 - 2 eta): the winner's contraction alone
    loser_max_displacement: float  # max over losers of |mu_j(tau1) - mu_j(0)|


def stage_one(traj: Trajectory, M0: float) -> StageOne:
    """Stage 1 of [1, Theorem 3.5]: the winner reaches 1/(8 M0^3) of mu*; the others barely move."""
    r = traj.distances
    winner = int(np.argmin(r[-1]))
    target = 1.0 / (8.0 * M0**3)
    hit = np.nonzero(r[:, winner] <= target)[0]
    tau1 = int(traj.steps[hit[0]]) if hit.size else None
    r0 = float(r[0, winner])
    pred = math.log(r0 / target) / -math.log(abs(1 - 2 * traj.eta)) if r0 > target else 0.0
    k = hit[0] if hit.size else len(r) - 1
    losers = [j for j in range(r.shape[1]) if j != winner]
    disp = float(max((np.linalg.norm(traj.mu_history[k, j] - traj.mu_history[0, j]) for j in losers), default=0.0))
    return StageOne(winner, tau1, target, pred, disp)


@dataclass
class StageTwo:
    monotone: bool  # min_j r_j strictly increased at every recorded step after `start`
    min_increment: float
    first_violation: int | None  # recorded step where it did not increase
    start: int


def stage_two(traj: Trajectory, winner: int, start: int) -> StageTwo:
    """Stage 2: the smallest distance of a loser from mu* increases at every recorded step >= start."""
    losers = [j for j in range(traj.distances.shape[1]) if j != winner]
    sel = traj.steps >= start
    m = traj.distances[sel][:, losers].min(axis=1)
    inc = np.diff(m)
    if inc.size == 0:
        raise ValueError("stage two needs at least two recorded steps after the start")
    bad = np.nonzero(inc <= 0)[0]
    return StageTwo(bad.size == 0, float(inc.min()), int(traj.steps[sel][bad[0] + 1]) if bad.size else None, start)


# -- one trial of the probability statement ----------------------------------------


@dataclass
class Trial:
    """One seed of [1, Theorem 3.5]'s experiment: d = 1, mu* = 0, t = 0."""

    seed: int
    n: int
    M0: float
    eta: float
    steps: int
    converged: list  # indices within 1/(8 M0^3) of mu* at the end
    approached: list  # non-converged indices whose distance to mu* decreased over the run
    outward: list  # non-converged indices whose gradient step at the end points away from mu* (log-space)
    exactly_one: bool  # exactly one converged and every other one is pushed outward
    tau1: int | None
    near_tie: bool  # M0 x (second-nearest - nearest initial distance) < NEAR_TIE
    trajectory: Trajectory


#: M0 x gap below this: the two nearest means' weights near mu* are within a factor e, so stage 1
#: has no clear winner yet (the event the probability bound n^2 M0^(-1/3) pays for).
NEAR_TIE = 1.0


def tie_measure(mu0, mu_star, M0: float) -> float:
    """M0 x (second-nearest - nearest initial distance from mu*): the log-ratio of the two largest
    weights near mu*, in any dimension (inf for n = 1)."""
    r = np.sort(np.linalg.norm(np.asarray(mu0, float) - np.asarray(mu_star, float), axis=1))
    return float(M0 * (r[1] - r[0])) if r.size > 1 else math.inf


def predicted_stage_one_steps(M0: float, eta: float, r0: float | None = None) -> float:
    """log(r0 8 M0^3) / -log|1 - 2 eta|: steps for the winner alone (gradient 2 a) to reach 1/(8 M0^3)."""
    r0 = M0 if r0 is None else r0
    return math.log(r0 * 8.0 * M0**3) / -math.log(abs(1 - 2 * eta))


def survivor_trial(n: int, M0: float, seed: int, *, eta: float = 0.25, factor: float = 1.5, grad_fn=None) -> Trial:
    """Run gradient descent from a random far initialization (d = 1) for ``factor`` x the predicted
    stage-1 length (+ 10 steps) and classify by :func:`survivor_outcome`; each mean that did not
    converge has its gradient at the end computed in log-space (:func:`log_gradient_mp`): it counts
    as diverging only when its gradient step points away from mu* (at M0 >= 1e6 its motion itself is
    below any float's resolution).  ``grad_fn`` replaces the engine's gradient (negative controls)."""
    mu0, ms, _ = sample_initialization(n, 1, M0, seed)
    steps = int(math.ceil(factor * predicted_stage_one_steps(M0 + 4, eta))) + 10
    tr = gradient_descent(mu0, ms, NOISE_LEVEL, eta, steps, record_at=range(0, steps + 1, max(1, steps // 20)),
                          grad_fn=grad_fn)
    conv, appr, _ = survivor_outcome(tr, M0)
    end = [repr(float(x)) for x in tr.mu[:, 0]]
    out = [j for j in range(n) if j not in conv and log_gradient_mp(end, j, repr(float(ms[0]))).outward]
    one = len(conv) == 1 and not appr and len(out) == n - 1
    return Trial(seed, n, M0, eta, steps, conv, appr, out, one, stage_one(tr, M0).tau1,
                 tie_measure(mu0, ms, M0) < NEAR_TIE, tr)


def survivor_rule(M0: float) -> outcomes.Rule:
    """A mean converges when it ends within 1/(8 M0^3) of mu* (stage 1's target) and recedes when it
    ends farther from mu* than it started."""
    return outcomes.Rule(window="all", radius=1.0 / (8.0 * M0**3), beyond_start=True)


def survivor_outcome(tr: Trajectory, M0: float):
    """(converged, approached, exactly_one) under :func:`survivor_rule`: the converging means; the
    others that ended nearer to mu* than they started; and whether exactly one converges and no
    other approached mu*.  (At M0 = 1e6 a loser's float64 gradient underflows to 0 and it does not
    move at all: :func:`survivor_trial` decides its direction in log-space.)"""
    out = outcomes.classify(tr, survivor_rule(M0))
    conv = [int(j) for j in np.nonzero(out.mask(outcomes.CONVERGES))[0]]
    appr = [int(j) for j in range(len(out.means)) if j not in conv and out.change[j] < 0]
    return conv, appr, len(conv) == 1 and not appr


def growth_law(steps, distance) -> dict:
    """How a receding distance D(tau) grows over the recorded steps: strictly increasing at every
    record?  The slope of D^2 against log tau (the n = 2 asymptotics give D^2 ~ 8 log tau, proofs_map
    thm-3.7) over the last half (in log tau), and D's own rate per step at the end."""
    steps = np.asarray(steps, dtype=float)
    D = np.asarray(distance, dtype=float)
    pos = steps > 0
    st, D = steps[pos], D[pos]
    half = st >= math.sqrt(st[0] * st[-1])
    x, y = np.log(st[half]), D[half] ** 2
    slope = float(np.polyfit(x, y, 1)[0]) if half.sum() >= 2 else math.nan
    return {"strictly_increasing": bool(np.all(np.diff(D) > 0)), "D_start": float(D[0]), "D_end": float(D[-1]),
            "D2_per_log_tau_last_half": slope,
            "rate_per_step_end": float((D[-1] - D[-2]) / (st[-1] - st[-2])) if D.size > 1 else math.nan}
