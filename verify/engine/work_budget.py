"""The mpmath path's work budget: what a batch of integrand evaluations will cost, counted before
the batch runs, so that a configuration the path cannot finish in reasonable time is refused at once
(AccuracyError naming the cost) instead of after minutes of silent work and GB of mpf intermediates;
and the batch size that keeps its memory bounded.  Used by :mod:`.quadrature` (the measurements
behind the constants: proofs_map.md, "mpmath path").
"""

from __future__ import annotations

import mpmath

from .lines import _line_points
from .tolerances import AccuracyError

__all__ = ["NodeBudget", "mp_budget", "mp_chunk_nodes", "MP_BUDGET_SECONDS", "MP_NODE_SECONDS", "MP_CHUNK_ENTRIES",
           "GRADING_SLOPE_MAX"]

#: The mpmath path's work budget per evaluation, in estimated seconds: a configuration whose
#: integrand evaluations would take longer is refused before they are made (:class:`NodeBudget`).
MP_BUDGET_SECONDS = 60.0
#: Estimated cost of one mpmath integrand evaluation per logit (row of B), with the gradient, for
#: the budget and the refusal's message (measured on a loaded machine: proofs_map.md, "mpmath path").
MP_NODE_SECONDS = 4e-4
#: mpf entries per batch of mpmath integrand evaluations (~20 KB of intermediates per node at
#: n = 3, d = 2): keeps the path's memory in the hundreds of MB whatever the node count.
MP_CHUNK_ENTRIES = 100_000


class NodeBudget:
    """Integrand evaluations one mpmath evaluation may make.  :meth:`spend` is called with the exact
    count of each batch before the batch is evaluated, so a configuration beyond the budget is
    refused (AccuracyError naming the cost) before the batch that would pass it: at once when the
    first batch does, else after the batches within it (the message says how many were done), never
    after minutes of work."""

    def __init__(self, limit: float, seconds_per_node: float):
        self.limit, self.seconds_per_node, self.spent = float(limit), float(seconds_per_node), 0

    def spend(self, nodes: int) -> None:
        need = self.spent + int(nodes)
        if need > self.limit:
            done = (f"refused before doing them" if self.spent == 0 else
                    f"refused after {self.spent:.1e} evaluations done (~{self.spent * self.seconds_per_node:.0f} s), "
                    "before the next batch")
            raise AccuracyError(
                f"the mpmath path needs at least {need:.1e} integrand evaluations (~{need * self.seconds_per_node:.0f} s) "
                f"here, above its budget of {self.limit:.1e} (~{self.limit * self.seconds_per_node:.0f} s); {done}: "
                "the float64 functions (loss, grad, evaluate) do this configuration, the mpmath ones k = 1 and "
                "near-collapsed k >= 2")
        self.spent = need


def mp_budget(rows: int) -> NodeBudget:
    """The mpmath budget for an integrand with ``rows`` logits (its cost grows about linearly in them)."""
    per_node = MP_NODE_SECONDS * max(int(rows), 1)
    return NodeBudget(MP_BUDGET_SECONDS / per_node, per_node)


def mp_chunk_nodes(rows: int, columns: int) -> int:
    """Integrand evaluations per batch on the mpmath path: MP_CHUNK_ENTRIES over the entries per node."""
    return max(100, MP_CHUNK_ENTRIES // max(1, int(rows) * int(columns)))


#: The largest slope difference along axis 0 the line grading takes: lines._line_points places the
#: grading of a transition of width 1 / |B_i0 - B_j0| in float64 (log2 of 1 / float(width)), which
#: fails beyond ~2^1020 (float(width) underflows to 0: ZeroDivisionError).
GRADING_SLOPE_MAX = 2.0 ** 1000


def _check_grading_range(B, groups) -> None:
    """AccuracyError, instead of the line grading's ZeroDivisionError, when a pair of logits that
    compete (same group) differs in slope along axis 0 by more than GRADING_SLOPE_MAX (mpmath inputs
    such as '1e999999999999')."""
    n = B.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            if groups is not None and groups[i] != groups[j]:
                continue
            db0 = abs(B[i, 0] - B[j, 0])
            if db0 > GRADING_SLOPE_MAX:
                raise AccuracyError(
                    f"a softmax transition along the line axis has slope difference {mpmath.nstr(db0, 5)}, beyond "
                    f"{GRADING_SLOPE_MAX:.3g}: the line grading (verify.engine.lines) places its panels in float64 "
                    "and cannot place this one; refused (means this far apart are beyond the mpmath path's range)")


def _line_nodes(B, C, P, radius, backend, groups, fast=False) -> int:
    """The integrand evaluations :func:`integrate_lines` will make on the lines P (its own count)."""
    _check_grading_range(B, groups)
    edges = _line_points(B, C, P, radius, backend, (), groups)
    return P.shape[0] * (edges.shape[1] - 1) * backend.inner_order * (1 if fast else 3)
