"""The mpmath path's work budget: what a batch of integrand evaluations will cost, counted before
the batch runs, so that a configuration the path cannot finish in reasonable time is refused at once
(AccuracyError naming the cost) instead of after minutes of silent work and GB of mpf intermediates;
and the batch size that keeps its memory bounded.  Used by :mod:`.quadrature` (the measurements
behind the constants: proofs_map.md, "mpmath path").
"""

from __future__ import annotations

import mpmath

from .lines import _gradings, _line_points
from .tolerances import AccuracyError

__all__ = ["NodeBudget", "mp_budget", "mp_chunk_nodes", "MP_BUDGET_SECONDS", "MP_NODE_SECONDS", "MP_CHUNK_ENTRIES",
           "MP_LOGIT_MAX", "check_mp_logits"]

#: The mpmath path's work budget per evaluation, in estimated seconds: a configuration whose
#: integrand evaluations would take longer is refused before they are made (:class:`NodeBudget`).
MP_BUDGET_SECONDS = 60.0
#: Estimated cost of one mpmath integrand evaluation per logit (row of B), with the gradient, for
#: the budget and the refusal's message (measured on a loaded machine: proofs_map.md, "mpmath path").
MP_NODE_SECONDS = 4e-4
#: mpf entries per batch of mpmath integrand evaluations (~20 KB of intermediates per node at
#: n = 3, d = 2): keeps the path's memory in the hundreds of MB whatever the node count.
MP_CHUNK_ENTRIES = 100_000
#: The largest logit gap max |l_i(z) - l_j(z)| over the box the mpmath path takes: mpmath's exp costs
#: ~20 us up to |x| ~ 1e750 but 17 times that at 1e1000, seconds at 1e100000, and aborts the process
#: (gmp: overflow in mpz type) at 1e10^12 (measured: proofs_map.md, "mpmath path"); beyond, the
#: budget's cost per evaluation would not hold, so such a configuration is refused at once.
MP_LOGIT_MAX = mpmath.mpf(10) ** 750  # (beyond float64's range)


#: the default end of a refusal's message: what does the work instead
ENGINE_INSTEAD = ("the float64 functions (loss, grad, evaluate) do this configuration, the mpmath ones k = 1 and "
                  "near-collapsed k >= 2")


class NodeBudget:
    """Integrand evaluations one mpmath evaluation may make.  :meth:`spend` is called with the exact
    count of each batch before the batch is evaluated, so a configuration beyond the budget is
    refused (AccuracyError naming the cost) before the batch that would pass it: at once when the
    first batch does, else after the batches within it (the message says how many were done), never
    after minutes of work."""

    def __init__(self, limit: float, seconds_per_node: float, instead: str = ENGINE_INSTEAD):
        self.limit, self.seconds_per_node, self.spent = float(limit), float(seconds_per_node), 0
        self.instead = instead  # what does the work instead, for the refusal's message

    def spend(self, nodes: int) -> None:
        need = self.spent + int(nodes)
        if need > self.limit:
            done = (f"refused before doing them" if self.spent == 0 else
                    f"refused after {self.spent:.1e} evaluations done (~{self.spent * self.seconds_per_node:.0f} s), "
                    "before the next batch")
            raise AccuracyError(
                f"the mpmath path needs at least {need:.1e} integrand evaluations "
                f"(~{need * self.seconds_per_node:.0f} s) here, above its budget of {self.limit:.1e} "
                f"(~{self.limit * self.seconds_per_node:.0f} s); {done}: {self.instead}")
        self.spent = need


def mp_budget(rows: int, seconds_per_row: float = MP_NODE_SECONDS, instead: str = ENGINE_INSTEAD
              ) -> NodeBudget:
    """The mpmath budget for an integrand with ``rows`` logits (its cost grows about linearly in them),
    each evaluation estimated at ``seconds_per_row`` per logit (the engine's integrand by default);
    ``instead``: what the refusal points to."""
    per_node = seconds_per_row * max(int(rows), 1)
    return NodeBudget(MP_BUDGET_SECONDS / per_node, per_node, instead)


def check_mp_logits(B, C) -> None:
    """AccuracyError, before any evaluation, where the logits l = B z - C may differ by more than
    MP_LOGIT_MAX on the box |z_j| <= 60 (the largest radius :mod:`.quadrature` takes)."""
    reach = 2 * max(abs(C[i]) + 60 * sum(abs(x) for x in B[i]) for i in range(B.shape[0]))
    if reach > MP_LOGIT_MAX:
        raise AccuracyError(
            f"the logits here differ by up to {mpmath.nstr(mpmath.mpf(reach), 3)} nats, beyond 1e750 (MP_LOGIT_MAX), "
            "where mpmath's exp costs far more than the budget's estimate per evaluation (and beyond ~1e10^12 "
            "aborts the process); refused before any evaluation (means this far apart are beyond the mpmath "
            "path's range)")


def mp_chunk_nodes(rows: int, columns: int) -> int:
    """Integrand evaluations per batch on the mpmath path: MP_CHUNK_ENTRIES over the entries per node."""
    return max(100, MP_CHUNK_ENTRIES // max(1, int(rows) * int(columns)))


def _charge_lines(budget: NodeBudget, B, C, P, radius, backend, groups, fast=False) -> None:
    """Charge ``budget`` with the integrand evaluations :func:`integrate_lines` will make on the lines
    P (its own count), before they are made.  A transition whose grading alone passes the budget is
    refused before its edges are placed: each of its levels puts a panel on at least one line
    (:class:`verify.engine.lines.Grading`), so it costs at least levels * 3 N evaluations."""
    per_panel = backend.inner_order * (1 if fast else 3)
    gradings = _gradings(B, C, P, radius, backend, groups)
    lower = max((g.levels for g in gradings), default=0) * per_panel
    if budget.spent + lower > budget.limit:
        budget.spend(lower)
    edges = _line_points(B, C, P, radius, backend, (), groups, gradings)
    budget.spend(P.shape[0] * (edges.shape[1] - 1) * per_panel)
