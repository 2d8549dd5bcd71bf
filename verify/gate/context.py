"""What every check of the gate needs: the bound implementation, the published reference values,
the run's settings, and the implementation's value at a point (over seeds when stochastic)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import tolerances as tl
from .datafile import OBJECTIVE_VALUES, REFERENCE_VALUES
from .protocol import Bound

__all__ = ["Measured", "GateContext", "entry_arrays", "entry_reference", "spread", "max_coordinate", "fmt_array",
           "grad_scale"]



@dataclass
class Measured:
    """The implementation's value at one point: deterministic, or mean and standard error over seeds."""

    value: np.ndarray
    se: np.ndarray | None
    repeats: int


class GateContext:
    """What every check needs: the implementation, the reference data, the settings."""

    def __init__(self, impl: Bound, *, reference_data: dict | None = None, objective_data: dict | None = None,
                 repeats: int = tl.REPEATS,
                 seed: int = 0, quick: bool = False, generated: int = 6, dynamics_runs: int = 4, progress=None):
        self.impl = impl
        self.stochastic = impl.stochastic
        self.repeats = int(repeats) if impl.stochastic else 1
        self.seed = int(seed)
        self.quick = bool(quick)
        self.generated = int(generated)
        self.dynamics_runs = int(dynamics_runs)
        self._data = reference_data
        self._objective_data = objective_data
        self._cache: dict = {}
        self.timeouts: dict = {}  # configuration name -> the CallTimedOut of its first call that ran out of time
        self.progress = progress  # update(done, total, label) for the configurations of the running check

    @property
    def time_limit(self) -> float | None:
        """Seconds per call into the implementation (None: no limit); the gate's own reference
        computations (generated values) get the same limit."""
        return self.impl.time_limit

    def tell(self, done: int, total: int, label: str) -> None:
        if self.progress is not None:
            self.progress(done, total, label)

    def timed_out_before(self, name: str, judges) -> bool:
        """True (and noted in each judge's row) if a call at configuration ``name`` ran out of time earlier."""
        if name not in self.timeouts:
            return False
        for j in judges:
            j.skip_timed_out(name)
        return True

    def time_out(self, name: str, exc, judges) -> None:
        """A call at configuration ``name`` ran out of time: noted in each judge's row, and the configuration
        is left out of the checks that follow."""
        self.timeouts[name] = exc
        for j in judges:
            j.timeout(name, exc)

    @property
    def data(self) -> dict:
        if self._data is None:
            self._data = REFERENCE_VALUES.load()
        return self._data

    @property
    def objective_data(self) -> dict:
        """The published values of the optional objectives (``verify/data/objective_values.json``)."""
        if self._objective_data is None:
            self._objective_data = OBJECTIVE_VALUES.load()
        return self._objective_data

    def published(self) -> list[dict]:
        entries = self.data["configurations"]
        if self.quick:
            entries = [e for e in entries if e.get("quick")]
        return entries

    def measure(self, what: str, mu, mu_star, t) -> Measured:
        """loss or grad at a point (mean and standard error over ``repeats`` seeds if stochastic)."""
        mu = np.asarray(mu, dtype=np.float64)
        mu_star = np.asarray(mu_star, dtype=np.float64)
        key = (what, mu.shape, mu.tobytes(), mu_star.tobytes(), float(t))
        if key in self._cache:
            return self._cache[key]
        fn = self.impl.loss if what == "loss" else self.impl.grad
        return self.measure_call(key, lambda seed: fn(mu, mu_star, t, seed=seed))

    def measure_call(self, key, fn) -> Measured:
        """``fn(seed=...)`` once (seed None) or, if stochastic, over ``repeats`` seeds (mean and
        standard error); cached under ``key``.  Used by :meth:`measure` and the optional objectives."""
        if key in self._cache:
            return self._cache[key]
        if not self.stochastic:
            m = Measured(np.asarray(fn(None), dtype=np.float64), None, 1)
        else:
            vals = np.array([fn(self.seed + r) for r in range(self.repeats)], dtype=np.float64)
            with np.errstate(invalid="ignore"):
                m = Measured(vals.mean(axis=0), vals.std(axis=0, ddof=1) / math.sqrt(self.repeats), self.repeats)
        self._cache[key] = m
        return m


def entry_arrays(entry: dict):
    mu = np.array(entry["mu"], dtype=np.float64)
    mu_star = np.array(entry["mu_star"], dtype=np.float64)
    return mu, mu_star, float(entry["t"])


def entry_reference(entry: dict):
    """Reference loss, gradient and their absolute errors (float64) from a published entry."""
    L = float(entry["loss"])
    Le = float(entry["loss_err"])
    G = np.array([[float(x) for x in r] for r in entry["grad"]], dtype=np.float64)
    Ge = np.array([[float(x) for x in r] for r in entry["grad_err"]], dtype=np.float64)
    return L, Le, G, Ge


def spread(mu, mu_star, t) -> float:
    """A = max_i |m_i - m*| (scaled)."""
    return float(np.max(np.linalg.norm(math.exp(-t) * (mu - mu_star), axis=1)))


def fmt_array(a) -> str:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return repr(float(a))
    return np.array2string(a, precision=17, separator=", ", max_line_width=200, floatmode="maxprec")


def max_coordinate(e: dict) -> float:
    mu, mu_star, _ = entry_arrays(e)
    return float(max(np.max(np.abs(mu)), np.max(np.abs(mu_star))))


def grad_scale(loss: float, grad, mu, mu_star, t) -> float:
    """:func:`verify.gate.tolerances.grad_scale` at the configuration (mu, mu_star, t)."""
    return tl.grad_scale(loss, grad, spread(mu, mu_star, t), t)
