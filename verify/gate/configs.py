"""The gate's configurations: fixed regression points, generated points, dynamics instances.

The fixed configurations cover every regime in which implementations go
wrong (issue 3):

* t = 0 and t in (0, 3]: an error in the e^{-t} scaling is invisible at t = 0;
* collapsed means (all equal: the softmax is uniform) and nearly collapsed
  ones (differences 1e-6: cancellation in the weight derivatives);
* far-apart means (the softmax saturates: naive exp() underflows);
* the stationary point of Theorem 3.1 for n = 3, mu_1 = s* e_1, mu_2 = -s* e_1,
  mu_3 = mu* = 0 with s* = 2.5505509886412239... the maximiser of the loss on
  that path (``verify/data/thm_3_1_stationary_radii.json``, computed by
  :mod:`verify.analysis.stationary` at 70 digits), at t = 0 and, with the means
  scaled by e^{t}, at t = 1 and shifted away from the origin;
* huge coordinates: means 1e8 to 1e12 away from mu* (loss ~ 1e16 to 1e24), and
  a whole configuration shifted by 1e8 or 1e12 (differences O(1), so float64
  fixes only a few digits of them: the tolerance there is wide, and says so);
* n = 1 (the loss is |m_1 - m*|^2 exactly) and d = 1.

Every fixed configuration keeps the reduced dimension k (the span of the
mean differences) at most 2, where the reference cubature takes well under
a second; k = 1 configurations are exported from the mpmath path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from verify.simulate import outcomes
from verify.testing.configuration import Configuration, python_snippet

__all__ = [
    "Configuration",
    "DynamicsInstance",
    "REGRESSION_CONFIGURATIONS",
    "DYNAMICS_INSTANCES",
    "S_STAR_3",
    "generated_configurations",
    "python_snippet",
    "by_name",
    "by_dynamics_name",
    "OUTCOME_RULE",
    "run_outcome",
]

#: s*(3): the Theorem 3.1 stationary radius for n = 3, scaled coordinates, mu* = 0
#: (verify/data/thm_3_1_stationary_radii.json: 2.550550988641223901198534664225517...)
S_STAR_3 = 2.5505509886412239


def _cfg(name, regime, mu, mu_star, t, quick=False) -> Configuration:
    return Configuration(mu, mu_star, t, name=name, regime=regime, quick=quick)


def _thm31(t: float, shift=(0.0, 0.0)) -> tuple:
    s = math.exp(t) * S_STAR_3
    c = np.asarray(shift, dtype=np.float64)
    mu = np.array([[s, 0.0], [-s, 0.0], [0.0, 0.0]]) + c
    return mu, c


REGRESSION_CONFIGURATIONS: tuple[Configuration, ...] = (
    # --- generic, t = 0 and t in (0, 3] -------------------------------------------------
    _cfg("n2_d1_t0", "t = 0", [[1.0], [-0.5]], [0.3], 0.0, quick=True),
    _cfg("n2_d1_t0.5", "t in (0, 3]", [[1.0], [-0.5]], [0.3], 0.5, quick=True),
    _cfg("n3_d2_t0", "t = 0, k = 2", [[1.0, 0.5], [-0.7, 0.2], [0.1, -0.9]], [0.2, -0.1], 0.0),
    _cfg("n3_d2_t0.7", "t in (0, 3], k = 2", [[1.0, 0.5], [-0.7, 0.2], [0.1, -0.9]], [0.2, -0.1], 0.7),
    _cfg("n3_d3_t2", "t in (0, 3], k = 2, d = 3", [[1.5, -0.5, 0.3], [-1.0, 0.8, 0.0], [0.2, 0.4, -1.2]],
         [0.1, 0.0, -0.2], 2.0),
    _cfg("n2_d4_t3", "t = 3, d = 4", [[2.0, -1.0, 0.5, 0.0], [-1.5, 0.5, 1.0, 2.5]], [0.3, 0.2, -0.4, 1.0], 3.0,
         quick=True),
    _cfg("n4_d1_t1.2", "d = 1, n = 4", [[2.0], [0.5], [-1.0], [-2.5]], [0.4], 1.2, quick=True),
    # --- collapsed and nearly collapsed -----------------------------------------------
    _cfg("collapsed_n3_d2", "collapsed means", [[0.8, -0.4]] * 3, [0.0, 0.3], 0.4, quick=True),
    _cfg("nearly_collapsed_n3_d2", "nearly collapsed (1e-6)",
         [[0.8, -0.4], [0.8 + 1e-6, -0.4], [0.8, -0.4 - 1e-6]], [0.0, 0.3], 0.3),
    _cfg("nearly_collapsed_n2_d1", "nearly collapsed (1e-6)", [[0.8], [0.8 + 1e-6]], [-0.5], 0.0, quick=True),
    # --- far apart --------------------------------------------------------------------
    _cfg("far_apart_n3_d1", "far-apart means", [[12.0], [-9.0], [25.0]], [0.5], 0.0, quick=True),
    # (quick since the engine's nested path: ~0.5 s, was minutes by adaptive boxes)
    _cfg("far_apart_n3_d2", "far-apart means, k = 2", [[6.0, 0.0], [-3.0, 5.0], [-3.0, -5.0]], [0.0, 0.0], 0.2,
         quick=True),
    # --- Theorem 3.1 stationary point (n = 3) -----------------------------------------
    _cfg("thm3.1_stationary_t0", "Theorem 3.1 stationary point", *_thm31(0.0), 0.0, quick=True),
    _cfg("thm3.1_stationary_t1", "Theorem 3.1 stationary point, t = 1", *_thm31(1.0), 1.0),
    _cfg("thm3.1_stationary_shifted", "Theorem 3.1 stationary point, mu* != 0", *_thm31(0.0, (1.0, -2.0)), 0.0),
    # --- huge coordinates -------------------------------------------------------------
    _cfg("huge_far_1e8", "huge coordinates (1e8 from mu*)", [[1e8], [-2e8]], [0.0], 0.0, quick=True),
    _cfg("huge_far_1e12", "huge coordinates (1e12 from mu*)", [[1e12, 0.0], [-5e11, 0.0], [2e12, 0.0]], [0.0, 0.0],
         0.5),
    _cfg("huge_shift_1e8", "huge coordinates (shifted by 1e8)", [[1e8 + 1.0, 1e8 + 0.5], [1e8 - 0.7, 1e8 + 0.2]],
         [1e8 + 0.2, 1e8 - 0.1], 0.3),
    _cfg("huge_shift_1e12", "huge coordinates (shifted by 1e12)", [[1e12 + 1.5], [1e12 - 0.75]], [1e12], 0.2,
         quick=True),
    # --- n = 1 ------------------------------------------------------------------------
    _cfg("n1_d3_t0.6", "n = 1", [[0.5, -1.0, 2.0]], [0.1, 0.2, 0.3], 0.6, quick=True),
    _cfg("n1_d1_t0", "n = 1, d = 1", [[2.0]], [-1.0], 0.0),
)


def by_name(name: str) -> Configuration:
    for c in REGRESSION_CONFIGURATIONS:
        if c.name == name:
            return c
    raise KeyError(f"no regression configuration named {name!r}")


@dataclass(frozen=True)
class DynamicsInstance:
    """A small gradient-descent run whose outcome the paper predicts.

    ``eta`` is the step on the *unscaled* means (``mu <- mu - eta grad``); the
    notes' step on the scaled means is eta e^{-2t}.
    """

    name: str
    claim: str
    mu0: tuple
    mu_star: tuple
    t: float
    eta: float
    steps: int
    record_every: int
    expected: str  # the run outcome the paper predicts (:func:`run_outcome`)

    def arrays(self):
        return np.array(self.mu0, dtype=np.float64), np.array(self.mu_star, dtype=np.float64), float(self.t)


_T_LARGE = 3.0  # > log n + log M + 2 = log 3 + log 0.8 + 2 = 2.88 (Theorem 2.1)

DYNAMICS_INSTANCES: tuple[DynamicsInstance, ...] = (
    DynamicsInstance(
        name="large_noise_n3_d1",
        claim="Theorem 2.1 (large noise, t > log n + log M + 2): global convergence, the loss falls",
        mu0=((1.0,), (0.4,), (-0.6,)), mu_star=(0.2,), t=_T_LARGE,
        eta=0.5 * math.exp(2 * _T_LARGE),  # scaled step 0.5
        steps=100, record_every=10, expected=outcomes.ALL_CONVERGE,
    ),
    DynamicsInstance(
        name="one_survivor_n2_d1",
        claim="Theorem 3.5 / 3.4 (t = 0, means far from mu*): one mean converges, the other diverges",
        mu0=((3.0,), (3.3,)), mu_star=(0.0,), t=0.0,
        eta=0.1, steps=100, record_every=10, expected=outcomes.PARTIAL_RECOVERY,
    ),
)


def by_dynamics_name(name: str) -> DynamicsInstance:
    """The dynamics instance ``name``; its ``expected`` outcome is what the gate checks (the
    published file records the reference run's outcome at generation time, in that version's words)."""
    for inst in DYNAMICS_INSTANCES:
        if inst.name == name:
            return inst
    raise KeyError(f"no dynamics instance named {name!r}")


#: The outcome of a dynamics run in the paper's terms, from its two ends (the gate keeps no
#: history): a mean converges when its distance to mu* at least halves, recedes when it ends
#: farther than it started; the run shows partial recovery with one survivor (Theorems 3.4, 3.5)
#: when exactly one mean converges and every other recedes, and all converge (Theorem 2.1:
#: global convergence of the loss) when the loss falls below half its start and no mean ends
#: beyond 1.5 x the largest start (individual means of an over-parameterized model may wander).
OUTCOME_RULE = outcomes.Rule(window="all", fraction=0.5, beyond_start=True, survivors=1, loss_fraction=0.5,
                             spread_factor=1.5)


def run_outcome(mu0, mu_final, mu_star, loss0, loss_final) -> str:
    """The run label (:data:`OUTCOME_RULE`) of a run from ``mu0`` to ``mu_final``."""
    mu_star = np.asarray(mu_star, dtype=np.float64)
    ends = np.array([np.asarray(mu0, dtype=np.float64), np.asarray(mu_final, dtype=np.float64)])
    with np.errstate(invalid="ignore"):
        dist = np.linalg.norm(ends - mu_star, axis=2)
    run = outcomes.Recorded(np.array([0.0, 1.0]), dist, np.array([loss0, loss_final], dtype=np.float64), ends[1])
    return outcomes.classify(run, OUTCOME_RULE).run


#: The regimes of the generated configurations, cycled in this order (each is also generic in n, d, t).
GENERATED_REGIMES = ("generic", "t = 0", "a mean at mu*", "collapsed means", "n = 1",
                     "n = 2, means at the distance bound")

#: Bounds of the generated configurations: scaled offsets |m_i - m*| <= 4 with pairwise distances
#: <= 8 (where the reference's accuracy target is stated), |mu*| <= 3, t in [0, 3], n <= 3, d <= 3.
_MAX_OFFSET, _MAX_DISTANCE, _MAX_MU_STAR, _MAX_T = 4.0, 8.0, 3.0, 3.0


def generated_configurations(count: int, *, seed: int = 20251122) -> list[Configuration]:
    """``count`` reproducible configurations for the generated-values check.

    Drawn with numpy's ``default_rng(seed)``: the same configurations on every machine and in every
    version of the code (a Hypothesis draw also mixes in the literal constants of the modules it
    finds loaded, so it changed whenever any code changed).  Configuration ``i`` covers regime
    ``GENERATED_REGIMES[i % 6]``; bounds as in :data:`_MAX_OFFSET` and the lines above it.
    """
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        regime = GENERATED_REGIMES[i % len(GENERATED_REGIMES)]
        n = {"n = 1": 1, "n = 2, means at the distance bound": 2}.get(regime, int(rng.integers(2, 4)))
        d = int(rng.integers(1, 4))
        t = 0.0 if regime == "t = 0" else float(rng.uniform(0.0, _MAX_T))
        a = rng.uniform(0.0, _MAX_OFFSET, n)[:, None] * _unit_vectors(rng, n, d)
        if regime.endswith("distance bound"):  # |a_1| = |a_2| = 4, 8 apart: far apart, weights saturate
            a[0] *= _MAX_OFFSET / np.linalg.norm(a[0])
            a[1] = -a[0]
        elif regime == "a mean at mu*":
            a[0] = 0.0
        elif regime == "collapsed means":
            a[:] = a[0]
        spread = max(float(np.linalg.norm(a[j] - a[k])) for j in range(n) for k in range(n))
        if spread > _MAX_DISTANCE:  # shrink towards the first mean (keeps the shape)
            a = a[0] + (a - a[0]) * (_MAX_DISTANCE / spread)
        mu_star = rng.uniform(0.0, _MAX_MU_STAR) * _unit_vectors(rng, 1, d)[0]
        mu = mu_star[None, :] + math.exp(t) * a  # unscaled: mu_i = mu* + e^{t} a_i
        out.append(Configuration(mu, mu_star, t, name=f"generated_{i}",
                                 regime=f"generated ({regime}; numpy default_rng({seed}))"))
    return out


def _unit_vectors(rng, n: int, d: int) -> np.ndarray:
    v = rng.standard_normal((n, d))
    return v / np.linalg.norm(v, axis=1, keepdims=True)
