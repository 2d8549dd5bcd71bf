"""What a claim is: an id in the paper's numbering, a statement, and a run.

A claim's ``run(budget, seed, progress, **overrides)`` returns a :class:`ClaimResult`:

* ``verdict``: ``"holds"``, ``"fails"`` or ``"inconclusive"``, on the paper's statement as the
  paper states it (a bound as a bound, with the measured margin; convergence as convergence to
  mu*).  ``holds`` means "holds at the sizes named in ``size``": where the theorem's constant
  is out of reach the sizes say so; ``inconclusive`` is for a check that cannot decide at the
  sizes it runs, with the reason;
* ``reason``: one sentence saying why;
* ``evidence``: named values (floats, ints, strings, lists, nested dicts);
  numbers with more digits than a float holds are given as decimal strings;
* ``size``: the sizes the claim ran at (n, d, steps, seeds, ...), as a string;
* ``figures``: ``{file name: callable(path)}`` that draw one figure each;
* ``findings``: the sharper laws the suite measured beside the statement (:class:`Finding`).
  A finding never changes the verdict.

``overrides`` replace entries of the budget's configuration (smaller sizes) or inject an
ingredient (a gradient, a constant) for a negative control; an unknown name is refused.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

VERDICTS = ("holds", "fails", "inconclusive")
RELATIONS = ("supports", "contradicts", "measures")
Budget = Literal["quick", "full"]


@dataclass(frozen=True)
class Finding:
    """A law measured beside the paper's statement.

    ``name``: what was measured; ``value`` and ``uncertainty`` (its error estimate, None when
    there is none); ``window``: the fit window (e.g. "tau in [1000, 20000]"); ``law``: the law
    measured (e.g. "L ~ tau^-2"); ``relation``: how it bears on the paper's statement,
    "supports", "contradicts" or "measures" (neither: a constant or a sharper law the statement
    does not speak of); ``note``: one sentence of context (sizes, prediction).  It never turns a
    verdict: a finding that contradicts a sharper reading of the paper is reported, not judged.
    """

    name: str
    value: Any
    uncertainty: Any = None
    window: str = ""
    law: str = ""
    relation: str = "measures"
    note: str = ""

    def __post_init__(self):
        if self.relation not in RELATIONS:
            raise ValueError(f"relation must be one of {RELATIONS}, got {self.relation!r}")
        if not self.name:
            raise ValueError("a finding needs a name")

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def __str__(self):
        val = f"{self.value:.4g}" if isinstance(self.value, float) and math.isfinite(self.value) else str(self.value)
        unc = "" if self.uncertainty is None else (
            f" +- {self.uncertainty:.2g}" if isinstance(self.uncertainty, float) else f" +- {self.uncertainty}")
        where = f" over {self.window}" if self.window else ""
        return f"{self.name} = {val}{unc}{where} ({self.law}; {self.relation})"


@dataclass
class ClaimResult:
    verdict: str
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)
    size: str = ""
    figures: dict[str, Callable[[Any], None]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def __post_init__(self):
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        bad = [f for f in self.findings if not isinstance(f, Finding)]
        if bad:
            raise TypeError(f"findings must be Finding objects, got {type(bad[0]).__name__}")


def _noop_progress(*_args, **_kwargs):
    return None


def budget_config(budgets: dict, budget: str, progress=None, overrides: dict | None = None):
    """The configuration of ``budget`` in a claim's ``budgets`` table (a clear error naming the
    argument for an unknown budget), with ``overrides`` replacing its entries (an unknown entry is
    refused by name: an override that is silently ignored would make a negative control pass),
    and a progress callback that is never None."""
    if budget not in budgets:
        raise ValueError(f"budget must be one of {sorted(budgets)}, got {budget!r}")
    cfg = dict(budgets[budget])
    unknown = sorted(set(overrides or {}) - set(cfg))
    if unknown:
        raise ValueError(f"unknown override(s) {unknown}; this claim's configuration has {sorted(cfg)}")
    cfg.update(overrides or {})
    return cfg, progress or _noop_progress


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    run: Callable[..., ClaimResult]

    def __call__(self, budget: Budget = "quick", seed: int = 0, progress=_noop_progress, **overrides) -> ClaimResult:
        return self.run(budget=budget, seed=seed, progress=progress, **overrides)


REGISTRY: dict[str, Claim] = {}


def register(claim_id: str, statement: str):
    """Decorator: register ``run(budget, seed, progress, **overrides) -> ClaimResult`` as claim ``claim_id``.

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
