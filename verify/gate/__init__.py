"""The regression gate: check another implementation of the loss and gradient against the reference.

``verify gate MODULE:ATTR`` (:mod:`verify.gate.cli`), the pytest plugin
``pytest --verify-impl MODULE:ATTR`` (:mod:`verify.gate.plugin`), and the
published reference values ``verify/data/reference_values.json``
(:mod:`verify.gate.export`), and those of the optional objectives (time-averaged and mixture
loss) ``verify/data/objective_values.json`` (:mod:`verify.gate.objective_export`).  The
interface an implementation provides is :class:`verify.gate.protocol.Implementation` (optional:
``AveragedImplementation``, ``MixtureImplementation``); the checks are in
:mod:`verify.gate.checks`, their tolerances in :mod:`verify.gate.tolerances`,
the configurations in :mod:`verify.gate.configs`.  See ``docs/gate.md``.
"""

from .checks import CHECKS, Row, exit_status, format_rows, run_gate
from .protocol import Implementation, ImplementationError, LoadError, load_implementation

__all__ = [
    "Implementation",
    "ImplementationError",
    "LoadError",
    "load_implementation",
    "run_gate",
    "format_rows",
    "exit_status",
    "CHECKS",
    "Row",
]
