"""A configuration of the model: unscaled means mu (n, d), ground truth mu* (d,), noise level t.

The one type for a point at which the loss and gradient are evaluated: the Hypothesis
strategies draw it (:mod:`verify.testing.strategies`) and the gate's fixed and generated points
are it (:mod:`verify.gate.configs`, with a name, the regime it covers and whether it is in the
quick subset).  :meth:`Configuration.snippet` writes it as Python that can be pasted into a bug
report (float64 values round-trip exactly through ``repr``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Configuration", "python_snippet"]


@dataclass(frozen=True, eq=False)
class Configuration:
    """One point (mu, mu_star, t); ``mu`` and ``mu_star`` are read-only float64 arrays."""

    mu: np.ndarray  # (n, d) unscaled means
    mu_star: np.ndarray  # (d,)
    t: float
    name: str = ""
    regime: str = ""  # the regime a fixed gate configuration covers
    quick: bool = False  # in the gate's quick subset (``--quick``)

    def __post_init__(self):
        for field, ndim in (("mu", 2), ("mu_star", 1)):
            arr = np.array(getattr(self, field), dtype=np.float64)
            if arr.ndim != ndim:
                raise ValueError(f"{field} must have {ndim} dimension(s), got shape {arr.shape}")
            arr.setflags(write=False)
            object.__setattr__(self, field, arr)
        object.__setattr__(self, "t", float(self.t))

    @property
    def n(self) -> int:
        return self.mu.shape[0]

    @property
    def d(self) -> int:
        return self.mu.shape[1]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Writable copies ``(mu, mu_star, t)``."""
        return self.mu.copy(), self.mu_star.copy(), self.t

    @property
    def max_coordinate(self) -> float:
        return float(max(np.max(np.abs(self.mu)), np.max(np.abs(self.mu_star))))

    def scaled_spread(self) -> float:
        """max_{i,j} |m_i - m_j| (scaled)."""
        m = math.exp(-self.t) * self.mu
        return float(max(np.linalg.norm(m[i] - m[j]) for i in range(self.n) for j in range(self.n)))

    def snippet(self) -> str:
        """The configuration as Python that can be pasted (see the module doc)."""
        return python_snippet(self.mu, self.mu_star, self.t, name=self.name or None)


def python_snippet(mu, mu_star, t, *, name: str | None = None, extra: str = "") -> str:
    """A configuration as Python that can be pasted (float64 values round-trip exactly through repr)."""
    mu = np.asarray(mu, dtype=np.float64)
    mu_star = np.asarray(mu_star, dtype=np.float64)
    rows = ", ".join("[" + ", ".join(repr(float(x)) for x in r) + "]" for r in mu)
    head = f"# {name}\n" if name else ""
    return (head + "import numpy as np\n"
            f"mu = np.array([{rows}])\n"
            f"mu_star = np.array([{', '.join(repr(float(x)) for x in mu_star)}])\n"
            f"t = {float(t)!r}\n" + extra)
