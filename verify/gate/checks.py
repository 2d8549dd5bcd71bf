"""The gate's conformance checks: each independent, each returning table rows.

One public function per check; each takes a :class:`~verify.gate.context.GateContext` (the bound
implementation, the published reference values, the run's settings) and
returns a list of :class:`~verify.gate.rows.Row` (one per quantity it judges):

=====================  ==============================================================
``reference_values``   loss and gradient against the published reference values
                       at the fixed regression configurations (``configs.py``)
``generated_values``   the same at reproducible generated configurations, with the
                       reference computed now (float64 cubature, with error)
``invariance``         shifting all means and mu* together, permuting the means,
                       rotating space: the implementation against itself
``self_consistency``   the gradient against directional central differences of the
                       implementation's own loss (Richardson-extrapolated);
                       independent of the reference, so "loss and gradient disagree
                       with each other" is told apart from "disagree with the
                       reference".  A loss and gradient off by the same factor are
                       self-consistent: ``reference_values`` catches them
``dynamics``           gradient descent with the implementation's ``grad`` (or
                       ``step``) against the published reference trajectories, and
                       the outcome the paper predicts (the loss converges at large noise;
                       one survivor at t = 0 far away)
``averaged_values``    the optional ``loss_avg``/``grad_avg`` (time-averaged loss) against
                       their published values; "not offered" without them
``mixture_values``     the optional ``loss_mix``/``grad_mix`` (mixture ground truth)
                       against their published values; "not offered" without them
=====================  ==============================================================

One module per check (:mod:`.values`, :mod:`.invariance`, :mod:`.consistency`, :mod:`.dynamics`,
:mod:`.objective_values`);
tolerances: :mod:`verify.gate.tolerances`.  :func:`run_gate` runs the checks; the table and the
exit status: :mod:`.rows`.
"""

from __future__ import annotations

import time
from typing import Callable

from .consistency import self_consistency
from .context import GateContext
from .dynamics import dynamics
from .invariance import invariance
from .objective_values import averaged_values, mixture_values
from .protocol import Bound, ImplementationError
from .rows import Row, exit_status, format_rows
from .values import generated_values, reference_values

__all__ = ["CHECKS", "QUANTITIES", "run_gate", "GateContext", "Row", "exit_status", "format_rows"]


CHECKS: dict[str, Callable[[GateContext], list[Row]]] = {
    "reference_values": reference_values,
    "generated_values": generated_values,
    "invariance": invariance,
    "self_consistency": self_consistency,
    "dynamics": dynamics,
    "averaged_values": averaged_values,
    "mixture_values": mixture_values,
}

QUANTITIES = {
    "reference_values": ("loss", "grad"),
    "generated_values": ("loss", "grad"),
    "invariance": ("shift", "permute", "rotate"),
    "self_consistency": ("grad",),
    "dynamics": ("trajectory", "outcome"),
    "averaged_values": ("loss", "grad"),
    "mixture_values": ("loss", "grad"),
}


def run_gate(impl: Bound, checks=None, *, progress=None, **settings) -> list[Row]:
    """Run the named checks (all by default) and return their rows.

    A check during which the implementation cannot be used (a call raised, or
    returned the wrong type, shape or dtype) gives one row with status "error"
    and the message; the other checks still run.  ``progress``: a
    :class:`verify.console.progress.Progress` over the checks (None: silent); each
    check reports the configuration it is at.
    """
    names = list(CHECKS) if not checks else list(checks)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; choose from {list(CHECKS)}")
    ctx = settings.pop("context", None) or GateContext(impl, **settings)
    rows: list[Row] = []
    for name in names:
        if progress is not None:
            progress.start(name)
            ctx.progress = progress.update
        t0 = time.perf_counter()
        try:
            new = CHECKS[name](ctx)
        except ImplementationError as exc:
            new = [Row(name, "*", status="error", note=str(exc), seconds=time.perf_counter() - t0)]
        rows.extend(new)
        if progress is not None:
            ctx.progress = None
            progress.finish(f"  {name}: "
                            + ", ".join(f"{r.quantity} "
                                        f"{r.status if r.status in ('pass', 'not offered') else r.status.upper()}"
                                        for r in new)
                            + f" ({time.perf_counter() - t0:.1f} s)")
    return rows
