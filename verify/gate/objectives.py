"""The gate's configurations for the two optional objectives: the time-averaged loss and the
mixture ground truth (issue 13).

* :data:`AVERAGED_CONFIGURATIONS`: L_bar = integral of lambda(t) L_t dt over [t_min, t_max]
  (``verify.reference.loss_avg``), both named weightings ("uniform", and "noise-variance":
  lambda proportional to 1 - e^{-2t}, which vanishes at t = 0), windows starting at 0 and away
  from it, k = 1 (published from the mpmath path) and k = 2, d up to 3, and collapsed means
  (where L_bar has a closed form: |mu - mu*|^2 times the integral of lambda e^{-2t});
* :data:`MIXTURE_CONFIGURATIONS`: x ~ sum_k pi_k N(mu*_k, I) (``verify.reference.loss_mix``),
  K = 2 and 3, d = 1, 2, 3 (d = 3 with every point in a tilted plane), t = 0 and t > 0, unequal
  weights everywhere (so a variant that ignores them is caught), and well-separated components.

Every configuration keeps the span of the point differences at k <= 2 (the tilted plane in d = 3
is found as k = 3 by the engine's rounding threshold, with a negligible third axis), where the
float64 engine takes seconds (a genuine k = 3 mixture takes minutes: not a gate configuration).  Weights are dyadic
(0.125, 0.25, ...): exact in float64, so the mpmath path sees the same weights summing to 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["AveragedConfiguration", "MixtureConfiguration", "AVERAGED_CONFIGURATIONS", "MIXTURE_CONFIGURATIONS",
           "averaged_by_name", "mixture_by_name"]


def _rows(a) -> str:
    a = np.asarray(a, dtype=np.float64)
    return "np.array([" + ", ".join("[" + ", ".join(repr(float(x)) for x in r) + "]" for r in a) + "])"


def _vec(v) -> str:
    return "np.array([" + ", ".join(repr(float(x)) for x in np.asarray(v, dtype=np.float64)) + "])"


@dataclass(frozen=True)
class AveragedConfiguration:
    """One time-averaged configuration: unscaled means, ground truth, window and weighting."""

    name: str
    regime: str
    mu: tuple
    mu_star: tuple
    t_min: float
    t_max: float
    weighting: str
    quick: bool = False

    def arrays(self):
        return np.array(self.mu, dtype=np.float64), np.array(self.mu_star, dtype=np.float64)

    @property
    def n(self) -> int:
        return len(self.mu)

    @property
    def d(self) -> int:
        return len(self.mu_star)

    def snippet(self) -> str:
        mu, mu_star = self.arrays()
        return (f"# {self.name}\nimport numpy as np\nmu = {_rows(mu)}\nmu_star = {_vec(mu_star)}\n"
                f"t_min, t_max = {self.t_min!r}, {self.t_max!r}\nweighting = {self.weighting!r}\n")


@dataclass(frozen=True)
class MixtureConfiguration:
    """One mixture configuration: unscaled means, the K components' means and weights, noise level."""

    name: str
    regime: str
    mu: tuple
    mu_stars: tuple
    weights: tuple
    t: float
    quick: bool = False

    def arrays(self):
        return (np.array(self.mu, dtype=np.float64), np.array(self.mu_stars, dtype=np.float64),
                np.array(self.weights, dtype=np.float64))

    @property
    def n(self) -> int:
        return len(self.mu)

    @property
    def d(self) -> int:
        return len(self.mu_stars[0])

    @property
    def K(self) -> int:
        return len(self.mu_stars)

    def snippet(self) -> str:
        mu, mu_stars, w = self.arrays()
        return (f"# {self.name}\nimport numpy as np\nmu = {_rows(mu)}\nmu_stars = {_rows(mu_stars)}\n"
                f"weights = {_vec(w)}\nt = {self.t!r}\n")


def _tilted(coords) -> tuple:
    """Points given by coordinates (a, b) in the plane spanned by (1, 1, 0)/sqrt(2) and (0, 0, 1)."""
    u = np.array([1.0, 1.0, 0.0]) / math.sqrt(2.0)
    v = np.array([0.0, 0.0, 1.0])
    return tuple(tuple(float(x) for x in a * u + b * v) for a, b in coords)


_MU3 = ((1.0, 0.3), (-0.7, 0.5), (0.2, -0.9))

AVERAGED_CONFIGURATIONS: tuple[AveragedConfiguration, ...] = (
    AveragedConfiguration("avg_uniform_n2_d1", "uniform, k = 1", ((0.8,), (-0.6,)), (0.1,), 0.2, 1.5, "uniform",
                          quick=True),
    AveragedConfiguration("avg_noise_variance_n2_d1_from0", "noise-variance, window from t = 0, k = 1",
                          ((1.5,), (-1.0,)), (0.3,), 0.0, 2.0, "noise-variance"),
    AveragedConfiguration("avg_uniform_n3_d2", "uniform, k = 2", _MU3, (0.2, -0.1), 0.3, 1.5, "uniform"),
    AveragedConfiguration("avg_noise_variance_n3_d2", "noise-variance, k = 2", _MU3, (0.2, -0.1), 0.3, 1.5,
                          "noise-variance", quick=True),
    AveragedConfiguration("avg_noise_variance_n2_d3", "noise-variance, d = 3, k = 1",
                          ((1.0, -0.5, 0.3), (-0.8, 0.4, 0.9)), (0.1, 0.0, -0.2), 0.5, 2.5, "noise-variance"),
    AveragedConfiguration("avg_uniform_collapsed_n3_d2", "collapsed means (closed form)", ((0.8, -0.4),) * 3,
                          (0.0, 0.3), 0.5, 2.5, "uniform"),
)

MIXTURE_CONFIGURATIONS: tuple[MixtureConfiguration, ...] = (
    MixtureConfiguration("mix_K2_n2_d1_t0.5", "K = 2, d = 1, k = 1", ((1.0,), (-0.5,)), ((1.2,), (-1.0,)),
                         (0.25, 0.75), 0.5, quick=True),
    MixtureConfiguration("mix_K3_n4_d1_t0", "K = 3, t = 0, d = 1, k = 1", ((2.0,), (0.5,), (-1.0,), (-2.5,)),
                         ((1.5,), (-0.5,), (-2.0,)), (0.125, 0.375, 0.5), 0.0),
    MixtureConfiguration("mix_K2_n3_d2_t0.5", "K = 2, d = 2, k = 2", _MU3, ((1.0, 0.0), (-1.0, 0.5)),
                         (0.375, 0.625), 0.5, quick=True),
    MixtureConfiguration("mix_K3_n3_d2_t0.3", "K = 3, d = 2, k = 2", _MU3, ((1.0, 0.0), (-1.0, 0.5), (0.0, -1.2)),
                         (0.125, 0.375, 0.5), 0.3),
    MixtureConfiguration("mix_K2_n2_d3_t1", "K = 2, d = 3 (points in a tilted plane)",
                         _tilted(((1.0, 0.5), (-1.0, 0.2))), _tilted(((1.2, -0.3), (-0.9, 0.6))), (0.25, 0.75), 1.0),
    MixtureConfiguration("mix_K2_separated_d2_t0", "K = 2, components 8 apart (saturated weights), t = 0",
                         ((3.5, 0.2), (-4.2, -0.1)), ((4.0, 0.0), (-4.0, 0.0)), (0.375, 0.625), 0.0),
)


def averaged_by_name(name: str) -> AveragedConfiguration:
    return next(c for c in AVERAGED_CONFIGURATIONS if c.name == name)


def mixture_by_name(name: str) -> MixtureConfiguration:
    return next(c for c in MIXTURE_CONFIGURATIONS if c.name == name)
