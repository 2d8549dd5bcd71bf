"""What a claim is: an id in the paper's numbering, a statement, and a run.

A claim's ``run(budget, seed, progress)`` returns a :class:`ClaimResult`:

* ``verdict``: ``"holds"``, ``"fails"`` or ``"inconclusive"``; a claim that
  cannot be established within the budget is ``inconclusive`` with the reason,
  never ``holds``;
* ``reason``: one sentence saying why;
* ``evidence``: named values (floats, ints, strings, lists, nested dicts);
  numbers with more digits than a float holds are given as decimal strings;
* ``size``: the size the claim ran at (n, d, steps, seeds, ...), as a string;
* ``figures``: ``{file name: callable(path)}`` that draw one figure each.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

VERDICTS = ("holds", "fails", "inconclusive")
Budget = Literal["quick", "full"]


@dataclass
class ClaimResult:
    verdict: str
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)
    size: str = ""
    figures: dict[str, Callable[[Any], None]] = field(default_factory=dict)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")


def _noop_progress(*_args, **_kwargs):
    return None


def budget_config(budgets: dict, budget: str, progress=None):
    """The configuration of ``budget`` in a claim's ``budgets`` table (a clear error naming the
    argument for an unknown budget) and a progress callback that is never None."""
    if budget not in budgets:
        raise ValueError(f"budget must be one of {sorted(budgets)}, got {budget!r}")
    return budgets[budget], progress or _noop_progress


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    run: Callable[..., ClaimResult]

    def __call__(self, budget: Budget = "quick", seed: int = 0, progress=_noop_progress) -> ClaimResult:
        return self.run(budget=budget, seed=seed, progress=progress)


REGISTRY: dict[str, Claim] = {}


def register(claim_id: str, statement: str):
    """Decorator: register ``run(budget, seed, progress) -> ClaimResult`` as claim ``claim_id``.

    ``progress(done, total, label)`` may be called by long runs; the report
    turns it into a progress bar on a terminal and ignores it otherwise.
    """

    def deco(fn):
        if claim_id in REGISTRY and REGISTRY[claim_id].run is not fn:
            raise ValueError(f"claim {claim_id!r} registered twice")
        REGISTRY[claim_id] = Claim(claim_id, statement, fn)
        return fn

    return deco


def replace(claim: Claim, **changes) -> Claim:
    return dataclasses.replace(claim, **changes)
