"""The engine: the model of the paper and its exact population loss and gradient.

Public entry points: :mod:`verify.engine.reference` (the loss and gradient, with error
estimates, in float64 and mpmath) and :mod:`verify.engine.model` (the integrands at given
points).  Behind them: :mod:`.expectation` (reduction to the span of the means),
:mod:`.quadrature` (Gaussian integrals with error estimates: Gauss-Hermite where smooth, graded
lines and adaptive boxes, and the mpmath path), :mod:`.nested` (float64 where some axis is sharp:
nested graded lines, with :mod:`.nested_lines`, :mod:`.junctions`, :mod:`.kernels` compiled by numba
and :mod:`.gauss_kronrod`), :mod:`.backend` (float64 and
mpmath arithmetic, Gauss-Legendre and Gauss-Hermite rules), :mod:`.tolerances` (default
accuracies and the gradient scale) and :mod:`.validation` (argument checks).
"""

from . import compiled_cache as _compiled_cache

# before any compiled function is loaded from numba's cache: drop it if the engine's sources
# changed since it was made (numba sees changes of the calling file only; see compiled_cache)
_compiled_cache.refresh()
