"""What a run of the nested rule will cost, estimated before running it.

A run visits the lines of level 0 once per node of every outer level: Gauss-Hermite levels
give their order, panel levels 21 nodes (K_21) per panel, and a panel level's line has at
least the panels of its base grid (edges at multiples of the base length over [-R, R], which
every line has) plus those its junctions add.  So the number of level-0 lines is at least the
product over the outer levels; the lines through the origin (the bulk of the Gaussian, where
the junctions are relevant) stand for every line.  Each level-0 line then costs 21 nodes per
panel that cannot be taken in closed form, again judged on the line through the origin.  The
halving only adds panels, but lines away from the origin have fewer, and a level-0 panel
whose weighted dropped bound is small is taken in closed form (SKIP_SHARE in
:mod:`verify.engine.nested`), which the line through the origin, of the largest weight, does
least: so this is an estimate from above, not a bound, and the first run can cost far less than
it (most where the outer lines are mostly closed form).  So a configuration is refused only when
the estimate exceeds ESTIMATE_MARGIN budgets; the measured ratios of first run to estimate, and
which k = 4 cases this refuses at once, are in proofs_map.md (the engine's speed section).
"""

from __future__ import annotations

import time

import numpy as np

from .panel_edges import EDGE_CAP, line_edges
from .tolerances import AccuracyError

__all__ = ["cost_estimate", "refuse_costly", "WorkClock", "ESTIMATE_MARGIN", "NODE_SECONDS"]

#: nodes per panel: Gauss-Kronrod K_21
PANEL_NODES = 21
#: refuse only estimates above this many budgets (the smallest measured first-run-to-estimate ratio,
#: proofs_map.md, is above 1 / ESTIMATE_MARGIN)
ESTIMATE_MARGIN = 100.0
#: cost of one integrand evaluation (seconds) on an idle machine, for a refusal's message before any
#: run has been timed (proofs_map.md: 0.31-0.40 microseconds; a loaded machine is several times slower)
NODE_SECONDS = 4e-7
#: a run this small is not timed (its fixed costs, or a first call's compilation, would dominate)
MIN_TIMED_NODES = 10_000


class WorkClock:
    """The seconds a refusal names: measured for the work done, and for work ahead at the rate this
    evaluation's own runs were timed at (a loaded machine's rate, not an idle one's), or
    NODE_SECONDS before a run has been timed."""

    def __init__(self):
        self.start = time.perf_counter()
        self.timed = [0, 0.0]  # evaluations and seconds of the timed runs
        self.compiled = False  # a run compiled the rule: its seconds are in the work done, not in the rate

    def ran(self, nodes: int, seconds: float, compiled: bool = False) -> None:
        """Time a run; one that ``compiled`` the rule is not timed."""
        self.compiled |= compiled
        if nodes >= MIN_TIMED_NODES and not compiled:
            self.timed[0] += nodes
            self.timed[1] += seconds

    def seconds(self, nodes: float) -> float:
        """Estimated seconds for ``nodes`` evaluations ahead."""
        return nodes * (self.timed[1] / self.timed[0] if self.timed[0] else NODE_SECONDS)

    def spent(self, nodes: int) -> str:
        """What a refusal after some work has cost (measured)."""
        if not nodes:
            return "before any evaluation"
        return (f"after {nodes:.1e} evaluations done in {time.perf_counter() - self.start:.2g} s"
                + (" (compiling the rule included)" if self.compiled else ""))


def _open_panels(E, P, n, k, y, skip_nats):
    """Panels of a level-0 line (edges E) that cannot be taken in closed form."""
    B = P[: n * k].reshape(n, k)
    C = P[n * k: n * k + n]
    count = 0
    for a, b in zip(E[:-1], E[1:]):
        if b <= a:
            continue
        ya, yb = y.copy(), y.copy()
        ya[0], yb[0] = a, b
        la, lb = B @ ya - C, B @ yb - C
        best = int(np.argmax(la + lb))
        gap = min(np.min(np.delete(la[best] - la, best)), np.min(np.delete(lb[best] - lb, best))) if n > 1 else np.inf
        count += gap < skip_nats
    return count


def cost_estimate(model, feats, *, orders, radius, base, margin, skip_nats) -> float:
    """Integrand evaluations a run with these Gauss-Hermite ``orders`` (0: panels; level 0
    always panels) needs before any halving, judged on the lines through the origin."""
    k, n = model.k, model.n
    E = np.empty(EDGE_CAP)
    tmp, lg = np.empty(k), np.empty(n)
    y = np.zeros(k)
    total = 1.0
    for q in range(k - 1, -1, -1):
        if q >= 1 and orders[q] > 0:
            total *= orders[q]
            continue
        ne = line_edges(q, y, model.P, n, k, float(radius), float(base), float(margin), *feats.arrays(), E, tmp, lg)
        if q >= 1:
            total *= PANEL_NODES * max(ne - 1, 1)
        else:
            total *= PANEL_NODES * _open_panels(E[:ne], model.P, n, k, y, skip_nats)
    return total


def refuse_costly(model, feats, *, orders, radius, base, margin, skip_nats, budget, what, clock) -> float:
    """Raise AccuracyError, naming the estimated cost, when :func:`cost_estimate` exceeds
    ESTIMATE_MARGIN budgets; else return the estimate."""
    cost = cost_estimate(model, feats, orders=orders, radius=radius, base=base, margin=margin, skip_nats=skip_nats)
    if cost > ESTIMATE_MARGIN * budget:
        raise AccuracyError(f"this configuration needs about {cost:.1e} integrand evaluations "
                            f"(~{clock.seconds(cost):.0f} s) for {what}, above the budget of {budget:.1e} "
                            f"(k={model.k}); refused before doing them")
    return cost
