"""A boundary in one parameter, bracketed by runs: the point where "good" turns into "bad".

The studies look for the largest initial radius with every mean converging (r*, Theorem 3.2's
regime), the smallest noise level at which every seed converges (t_c, Theorem 2.1) and the
largest step that still converges (eta_max).  Each is a :class:`Bracket`: the points tried, each
with a verdict (``GOOD``, ``BAD`` or ``UNKNOWN`` -- an undecided run is never counted as either),
and the next points worth trying.  Proposals come in rounds of up to k points (k = 1 is plain
bisection; the studies run k points of every open bracket at once, as one round of tasks).

Orientation: ``good_side="low"`` when small values are good (r, eta), ``"high"`` when large ones
are (t).  Bisection is in log x (``scale="log"``) or in x (``"linear"``).  Reading the points from
the good side: ``good`` is the last point of the unbroken run of good points, ``bad`` the first
bad point after it; any unknown point between them is reported (``undecided_inside``), and a good
point beyond ``bad`` makes the boundary ``non_monotone`` (reported, not hidden).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["GOOD", "BAD", "UNKNOWN", "VERDICTS", "Bracket"]

GOOD, BAD, UNKNOWN = "good", "bad", "unknown"
VERDICTS = (GOOD, BAD, UNKNOWN)


@dataclass
class Bracket:
    """Points tried in one parameter and the bracket they give (module doc).

    ``limits``: the range (low, high) that proposals stay in; ``width``: done when the bracket is
    narrower than this (log scale: bad/good ratio <= 1 + width; linear: |bad - good| <= width);
    ``expand``: how far beyond the points tried to look when the boundary is outside them (a
    factor in log scale, a distance in linear scale); ``initial``: points to try first;
    ``max_points``: no proposals after this many points.
    """

    scale: str
    good_side: str
    limits: tuple
    width: float
    expand: float
    initial: tuple = ()
    max_points: int = 40
    points: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.scale not in ("log", "linear"):
            raise ValueError(f"scale must be 'log' or 'linear', got {self.scale!r}")
        if self.good_side not in ("low", "high"):
            raise ValueError(f"good_side must be 'low' or 'high', got {self.good_side!r}")
        lo, hi = (float(v) for v in self.limits)
        if not lo < hi or (self.scale == "log" and lo <= 0):
            raise ValueError(f"limits must be an increasing pair (positive in log scale), got {self.limits!r}")
        if not self.width > 0 or not self.expand > (1 if self.scale == "log" else 0):
            raise ValueError(f"width must be > 0 and expand > {1 if self.scale == 'log' else 0}, "
                             f"got {self.width!r}, {self.expand!r}")
        self.limits = (lo, hi)

    # -- coordinates: s grows away from the good side ------------------------------------------

    def _s(self, x: float) -> float:
        u = math.log(x) if self.scale == "log" else x
        return u if self.good_side == "low" else -u

    def _x(self, s: float) -> float:
        u = s if self.good_side == "low" else -s
        return math.exp(u) if self.scale == "log" else u

    def _in_limits(self, x: float) -> bool:
        return self.limits[0] * (1 - 1e-12) <= x <= self.limits[1] * (1 + 1e-12) if self.scale == "log" else \
            self.limits[0] - 1e-12 <= x <= self.limits[1] + 1e-12

    def _clip(self, x: float) -> float:
        return min(max(x, self.limits[0]), self.limits[1])

    # -- recording and reading -----------------------------------------------------------------

    def record(self, x: float, verdict: str) -> None:
        if verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
        self.points[float(x)] = verdict

    def _ordered(self):
        return sorted(self.points.items(), key=lambda kv: self._s(kv[0]))

    def state(self) -> dict:
        """``status`` (``empty``, ``below``: even the first point on the good side is bad;
        ``above``: every point is good; ``undecided``: the first point after the good run is
        unknown and no bad point follows; ``bracketed``), ``good``, ``bad`` (NaN when absent),
        ``undecided_inside``, ``non_monotone``, ``narrow`` (bracketed and within ``width``)."""
        pts = self._ordered()
        nan = float("nan")
        out = {"status": "empty", "good": nan, "bad": nan, "undecided_inside": False, "non_monotone": False,
               "narrow": False, "points": len(pts)}
        if not pts:
            return out
        j = 0
        while j < len(pts) and pts[j][1] == GOOD:
            j += 1
        if j:
            out["good"] = pts[j - 1][0]
        rest = pts[j:]
        k = next((i for i, (_, v) in enumerate(rest) if v == BAD), None)
        if k is not None:
            out["bad"] = rest[k][0]
            out["undecided_inside"] = k > 0
            out["non_monotone"] = any(v == GOOD for _, v in rest[k + 1:])
        if not j:
            out["status"] = "below" if pts[0][1] == BAD else "undecided"
        elif not rest:
            out["status"] = "above"
        elif k is None:
            out["status"] = "undecided"
        else:
            out["status"] = "bracketed"
            gap = abs(self._s(out["bad"]) - self._s(out["good"]))
            out["narrow"] = gap <= (math.log1p(self.width) if self.scale == "log" else self.width) * (1 + 1e-9)
        return out

    def done(self) -> bool:
        return not self.next(1)

    def next(self, k: int = 1) -> list[float]:
        """Up to ``k`` points worth running next (empty when the bracket is finished)."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if len(self.points) >= self.max_points:
            return []
        st = self.state()
        fresh = [x for x in self.initial if x not in self.points and self._informative(x, st)]
        if fresh:
            return fresh[:k]
        if st["status"] == "empty":
            return []
        if st["status"] in ("undecided",) or st["undecided_inside"] or st["narrow"]:
            return []
        step = math.log(self.expand) if self.scale == "log" else self.expand
        if st["status"] == "below":
            s0 = min(self._s(x) for x in self.points)
            x = self._clip(self._x(s0 - step))
            return [x] if x not in self.points and self._in_limits(x) else []
        if st["status"] == "above":
            s0 = max(self._s(x) for x in self.points)
            x = self._clip(self._x(s0 + step))
            return [x] if x not in self.points and self._in_limits(x) else []
        sg, sb = self._s(st["good"]), self._s(st["bad"])
        return [self._x(sg + (sb - sg) * i / (k + 1)) for i in range(1, k + 1)]

    def _informative(self, x: float, st: dict) -> bool:
        """An initial point still tells something: it lies beyond the good run and before the first bad."""
        s = self._s(x)
        if not math.isnan(st["good"]) and s <= self._s(st["good"]):
            return False
        if not math.isnan(st["bad"]) and s >= self._s(st["bad"]):
            return False
        return True
