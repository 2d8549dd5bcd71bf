"""The outcome of a gradient-descent run, in the paper's terms: one vocabulary, one classifier.

Per mean, from its scaled distance r_i(tau) = |m_i - m*| at the recorded steps:

* ``converges``: it approaches m* (within a radius, or by a factor, and settling: see the rule);
* ``recedes``: its distance grows over the run; ``Outcome.growth`` holds the measured law, the
  slope of r_i against log tau over the window (the losers of Theorems 3.4-3.7 recede like
  log tau), and ``Outcome.slopes`` the log-log slope;
* ``blows_up``: it leaves a bound, or becomes non-finite, within the run;
* ``undecided``: none of these within the run.

Per run:

* ``all_converge``: every mean converges;
* ``partial_recovery``: not every mean converges and some mean recedes; ``Outcome.survivors``
  counts the k means that converge (k = 0 when the others are not decided yet);
* ``stuck``: the loss sits on a plateau with L > 0 (a stationary point other than m*), and with
  ``still`` set the means do not move either;
* ``oscillates_or_blows_up``: a mean blows up (or the loss is not finite), or, with ``cycle`` set,
  the loss is flat while the means keep moving (a periodic orbit), or, with ``rise`` set,
  the loss rises between two records (gradient descent with a step below the local stability
  limit 2/lambda_max never raises the loss: L(m - eta g) <= L(m) - eta (1 - eta lambda/2) |g|^2);
* ``undecided``.

"Diverges" in the paper's sense (to infinity) is a limit: no finite run can assign it.  A run
shows a mean receding, with its growth law, and the verdict says what that supports.

The thresholds are a :class:`Rule`.  Each caller states its own (the claims' rules are named
where they are used); every condition a rule sets must hold.  :func:`tail_rule` is the default:
converge into a radius without moving out again over the last half of the run; recede
monotonically over the last half to beyond the start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "CONVERGES", "RECEDES", "BLOWS_UP", "UNDECIDED", "MEAN_OUTCOMES",
    "ALL_CONVERGE", "PARTIAL_RECOVERY", "STUCK", "OSCILLATES_OR_BLOWS_UP", "RUN_OUTCOMES",
    "Rule", "tail_rule", "Outcome", "Recorded", "classify", "blown_up",
]

CONVERGES, RECEDES, BLOWS_UP, UNDECIDED = "converges", "recedes", "blows_up", "undecided"
MEAN_OUTCOMES = (CONVERGES, RECEDES, BLOWS_UP, UNDECIDED)
ALL_CONVERGE, PARTIAL_RECOVERY, STUCK, OSCILLATES_OR_BLOWS_UP = (
    "all_converge", "partial_recovery", "stuck", "oscillates_or_blows_up")
RUN_OUTCOMES = (ALL_CONVERGE, PARTIAL_RECOVERY, STUCK, OSCILLATES_OR_BLOWS_UP, UNDECIDED)

_WINDOWS = ("half", "half_steps", "all")


@dataclass(frozen=True)
class Rule:
    """The thresholds of :func:`classify`; a condition left at None is not tested.

    Window: ``"half"`` the last half of the records (by index), ``"half_steps"`` from the record
    nearest T/2 to the last, ``"all"`` every record given.  "Start" is the first record of the run.

    A mean **converges** when every set condition holds: ``radius`` (final distance <= radius),
    ``fraction`` (final distance < fraction x its start), ``settle`` = "monotone" (no increase
    over the window beyond slack x max(1, r)), "largest" (the largest distance of all means
    does not increase over the window, same slack) or "inside" (the largest distance of the means
    that end within ``radius`` does not increase: "largest" when all do, and a survivor is not
    held back by losers receding beside it), ``settle_slope`` (log-log slope over the
    window <= -settle_slope and the decrease beyond z x noise).

    Otherwise it **recedes** when every set condition holds: ``grow`` = "monotone" (no decrease
    over the window beyond slack x max(1, r), and a net increase), "strict" (an increase at
    every record of the window) or "noise" (an increase beyond z x noise with a positive
    log-log slope); ``beyond_start`` (final distance > its start); ``recede_radius`` (final
    distance > it; "start": the largest start).

    It **blows up** when a distance is not finite or exceeds ``bound``.

    Run: with ``survivors`` set, partial recovery counts only with exactly that many converging
    means and every other one receding (the gate's "one survivor"), and all converging is left
    to the loss rule; ``loss_fraction`` makes it all_converge when the loss falls below that
    fraction of its start and no mean ends beyond ``spread_factor`` x the largest start (the
    loss is then the run's own, and a non-finite one counts as blowing up; a trajectory's
    recorded loss is the reference's, NaN where it was not certified, and is not read so);
    ``plateau`` makes it stuck when the loss changed over the window by at most that fraction
    of its final value and is > 0, and with ``still`` set also no mean moved between two records
    of the window by more than ``still`` x max(1, its distance) (positions needed: a periodic
    orbit also has a flat loss; record at odd spacings so that a 2-cycle shows); with ``cycle``
    set, a flat loss while some mean moves between two records by more than ``cycle`` x max(1,
    its distance) is a periodic orbit: oscillates_or_blows_up; ``rise`` makes
    it oscillates_or_blows_up when the loss rose between two records of the window by more
    than that fraction of the earlier value (tested before all_converge: a rising loss is not
    convergence, whatever the distances).
    """

    window: str = "half"
    radius: float | None = None
    fraction: float | None = None
    settle: str | None = None
    settle_slope: float | None = None
    grow: str | None = None
    beyond_start: bool = False
    recede_radius: float | str | None = None
    bound: float | None = None
    slack: float = 0.0
    z: float = 3.0
    survivors: int | None = None
    loss_fraction: float | None = None
    spread_factor: float = 1.5
    plateau: float | None = None
    still: float | None = None
    cycle: float | None = None
    rise: float | None = None

    def __post_init__(self):
        if self.window not in _WINDOWS:
            raise ValueError(f"window must be one of {_WINDOWS}, got {self.window!r}")
        if self.settle not in (None, "monotone", "largest", "inside"):
            raise ValueError(f"settle must be None, 'monotone', 'largest' or 'inside', got {self.settle!r}")
        if self.settle == "inside" and self.radius is None:
            raise ValueError("settle='inside' needs a radius")
        if self.grow not in (None, "monotone", "strict", "noise"):
            raise ValueError(f"grow must be None, 'monotone', 'strict' or 'noise', got {self.grow!r}")
        if self.radius is None and self.fraction is None and self.settle_slope is None:
            raise ValueError("a rule needs a convergence criterion: radius, fraction or settle_slope")
        if self.grow is None and not self.beyond_start and self.recede_radius is None:
            raise ValueError("a rule needs a receding criterion: grow, beyond_start or recede_radius")
        if (self.still is not None or self.cycle is not None) and self.plateau is None:
            raise ValueError("still and cycle refine plateau: set plateau too")
        for name in ("plateau", "still", "cycle", "rise"):
            value = getattr(self, name)
            if value is not None and not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")


def tail_rule(radius: float = 0.1, *, recede_radius: float | str = "start", slack: float = 1e-9) -> Rule:
    """Converges: final distance <= ``radius`` and no increase over the last half of the records
    (up to ``slack`` x max(1, r)); recedes: a monotone increase over the last half (same slack) to
    beyond its start and beyond ``recede_radius`` (default: the largest start)."""
    return Rule(window="half", radius=radius, settle="monotone", grow="monotone", beyond_start=True,
                recede_radius=recede_radius, slack=slack)


@dataclass
class Recorded:
    """Recorded distances of a run (what :func:`classify` reads from a trajectory)."""

    steps: np.ndarray  # (K,) recorded iteration numbers
    distances: np.ndarray  # (K, n) scaled distances |m_i - m*|
    loss: np.ndarray | None = None  # (K,) loss at those steps
    mu: np.ndarray | None = None  # (n, d) final means, when the run may have ended non-finite
    positions: np.ndarray | None = None  # (K, n, d) scaled means m_i - m* at those steps (Rule.still)


@dataclass
class Outcome:
    """Per-mean and per-run outcome of one run (module doc)."""

    means: tuple  # one of MEAN_OUTCOMES per mean
    run: str  # one of RUN_OUTCOMES
    survivors: int  # means that converge
    final_distances: np.ndarray
    change: np.ndarray  # r_i(end) - r_i(window start)
    slopes: np.ndarray  # log r_i against log tau over the window (NaN where tau = 0)
    growth: np.ndarray  # r_i against log tau over the window: the growth law of a receding mean
    rule: Rule = field(default_factory=tail_rule, repr=False)

    def mask(self, label: str) -> np.ndarray:
        if label not in MEAN_OUTCOMES:
            raise ValueError(f"label must be one of {MEAN_OUTCOMES}, got {label!r}")
        return np.array([m == label for m in self.means], dtype=bool)

    def count(self, label: str) -> int:
        return int(self.mask(label).sum())

    def __str__(self):
        n = len(self.means)
        return (f"{self.run}: {self.survivors} of {n} converge, {self.count(RECEDES)} recede, "
                f"{self.count(BLOWS_UP)} blow up; final distances {np.round(self.final_distances, 4).tolist()}")


def _window_start(steps: np.ndarray, window: str) -> int:
    if window == "half":
        return len(steps) // 2
    if window == "half_steps":
        return int(np.argmin(np.abs(steps - steps[-1] / 2)))
    return 0


def classify(run, rule: Rule | None = None, *, noise=None) -> Outcome:
    """The outcome of ``run`` (a :class:`~verify.simulate.descent.Trajectory` or a
    :class:`Recorded`) under ``rule`` (default :func:`tail_rule`).  ``noise`` (n,): the standard
    deviation of each distance's change over the window due to gradient noise (sampled runs),
    which a change must exceed ``rule.z`` times to count (rules with settle_slope or grow="noise").
    """
    if not (hasattr(run, "steps") and hasattr(run, "distances")):
        raise ValueError(f"run must be a Trajectory or a Recorded (steps and distances), "
                         f"got {type(run).__name__} {run!r}")
    if rule is not None and not isinstance(rule, Rule):
        raise ValueError(f"rule must be a Rule (e.g. tail_rule()) or None, got {type(rule).__name__} {rule!r}")
    rule = tail_rule() if rule is None else rule
    steps = np.asarray(run.steps, dtype=float)
    r = np.asarray(run.distances, dtype=float)
    if r.ndim != 2 or r.shape[0] != steps.shape[0]:
        raise ValueError(f"distances must have shape (len(steps), n), got {r.shape} for {steps.shape[0]} steps")
    if rule.window == "half" and len(r) < 3:
        raise ValueError("classify needs a trajectory with at least 3 recorded steps")
    n = r.shape[1]
    noise = np.zeros(n) if noise is None else _check_noise(noise, n)
    i = _window_start(steps, rule.window)
    j = len(steps) - 1
    needs_slope = rule.settle_slope is not None or rule.grow == "noise"
    if needs_slope and not steps[j] > steps[i] > 0:
        raise ValueError("need recorded steps at about T/2 and T > T/2 > 0")
    start, w, final = r[0], r[i:], r[-1]
    change = final - r[i]
    with np.errstate(all="ignore"):  # log 0, 0/0 and r/0 give the infinities and NaNs the tests expect
        span = math.log(steps[j] / steps[i]) if steps[i] > 0 and steps[j] > steps[i] else math.nan
        slopes = np.log(final / r[i]) / span
        growth = change / span
    inc = np.diff(w, axis=0)
    tol = rule.slack * np.maximum(1.0, w[:-1])

    conv = np.ones(n, dtype=bool)
    if rule.radius is not None:
        conv &= final <= rule.radius
    if rule.fraction is not None:
        conv &= final < rule.fraction * start
    if rule.settle == "monotone":
        conv &= np.all(inc <= tol, axis=0)
    elif rule.settle in ("largest", "inside"):
        cols = np.ones(n, dtype=bool) if rule.settle == "largest" else final <= rule.radius
        if cols.any():
            top = w[:, cols].max(axis=1)
            conv &= bool(np.all(np.diff(top) <= rule.slack * np.maximum(1.0, top[:-1])))
    if rule.settle_slope is not None:
        conv &= (slopes <= -rule.settle_slope) & (-change > rule.z * noise)

    rec = np.ones(n, dtype=bool)
    if rule.grow == "monotone":
        rec &= np.all(inc >= -tol, axis=0) & (w[-1] > w[0])
    elif rule.grow == "strict":
        rec &= np.all(inc > 0, axis=0)
    elif rule.grow == "noise":
        rec &= (change > rule.z * noise) & (slopes > 0)
    if rule.beyond_start:
        rec &= final > start
    if rule.recede_radius is not None:
        rec &= final > (float(np.max(start)) if rule.recede_radius == "start" else rule.recede_radius)

    blown = blown_up(r, rule.bound)
    mu = getattr(run, "mu", None)
    if mu is not None:
        blown |= ~np.all(np.isfinite(np.asarray(mu, dtype=float)), axis=1)
    labels = tuple(BLOWS_UP if b else CONVERGES if c else RECEDES if g else UNDECIDED
                   for b, c, g in zip(blown, conv, rec))
    loss = getattr(run, "loss", None)
    loss = None if loss is None else np.asarray(loss, dtype=float)
    moves = _moves(run, i) if rule.still is not None or rule.cycle is not None else None
    return Outcome(labels, _run_outcome(labels, rule, loss, i, start, final, moves), labels.count(CONVERGES), final,
                   change, slopes, growth, rule)


def _check_noise(noise, n: int) -> np.ndarray:
    """``noise`` as n standard deviations >= 0 (NaN allowed: a run's measured noise is NaN where a
    distance blew up); else ValueError naming it (not broadcast, not cut to its real part)."""
    raw = np.asarray(noise)
    with np.errstate(invalid="ignore"):
        if raw.dtype.kind not in "fiu" or raw.shape != (n,) or np.any(raw < 0):
            raise ValueError(f"noise must be {n} standard deviations >= 0, one per mean (shape ({n},)), got {noise!r}")
    return raw.astype(float)


def blown_up(distances, bound: float | None = None) -> np.ndarray:
    """Per mean, whether it **blows up** (the rule's ``bound``): a distance that is not finite, or
    beyond ``bound`` (None: no bound), at any record of ``distances`` ((K, n), or (n,) for one).
    :func:`classify` reads a run with it, and a run that checks as it goes (a cluster run, an
    average cell) stops on it."""
    r = np.atleast_2d(np.asarray(distances, dtype=float))
    blown = ~np.all(np.isfinite(r), axis=0)
    if bound is not None:
        with np.errstate(invalid="ignore"):
            blown |= np.any(np.abs(r) > bound, axis=0)
    return blown


def _moves(run, i: int):
    """Largest move of a mean between two consecutive records of the window, over max(1, its
    distance); None when the run has no positions."""
    pos = getattr(run, "positions", None)
    if pos is None and getattr(run, "mu_history", None) is not None:  # a Trajectory: scale its means
        pos = math.exp(-run.t) * (np.asarray(run.mu_history, dtype=float) - np.asarray(run.mu_star, dtype=float))
    if pos is None:
        return None
    pos = np.asarray(pos, dtype=float)[i:]
    if len(pos) < 2:
        return 0.0
    step = np.linalg.norm(np.diff(pos, axis=0), axis=2)
    return float(np.max(step / np.maximum(1.0, np.linalg.norm(pos[:-1], axis=2))))


def _rises(loss, i: int, rise: float) -> bool:
    w = loss[i:]
    w = w[np.isfinite(w)]
    return bool(np.any(w[1:] > w[:-1] * (1 + rise))) if w.size > 1 else False


def _run_outcome(labels, rule: Rule, loss, i: int, start, final, moves=None) -> str:
    """The per-run label from the per-mean ones (module doc), in the order the rule's terms are tested."""
    n = len(labels)
    k = labels.count(CONVERGES)
    if BLOWS_UP in labels:
        return OSCILLATES_OR_BLOWS_UP
    uses_loss = rule.loss_fraction is not None and loss is not None and loss.size
    if uses_loss and not math.isfinite(loss[-1]):  # the run's own loss, not an uncertified reference
        return OSCILLATES_OR_BLOWS_UP
    if rule.rise is not None and loss is not None and _rises(loss, i, rule.rise):
        return OSCILLATES_OR_BLOWS_UP
    if rule.survivors is None:
        if k == n:
            return ALL_CONVERGE
        if RECEDES in labels:
            return PARTIAL_RECOVERY
    elif k == rule.survivors and all(m in (CONVERGES, RECEDES) for m in labels):
        return PARTIAL_RECOVERY
    if uses_loss:
        if loss[-1] < rule.loss_fraction * loss[0] and np.max(final) <= rule.spread_factor * np.max(start):
            return ALL_CONVERGE
    if rule.plateau is not None and loss is not None and loss.size:
        if loss[-1] > 0 and abs(loss[-1] - loss[i]) <= rule.plateau * loss[-1]:
            if rule.cycle is not None and moves is not None and moves > rule.cycle:
                return OSCILLATES_OR_BLOWS_UP
            if rule.still is None or (moves is not None and moves <= rule.still):
                return STUCK
    return UNDECIDED
