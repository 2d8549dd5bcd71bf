"""The engine: the model of the paper and its exact population loss and gradient.

Public entry points: :mod:`verify.engine.reference` (the loss and gradient, with error
estimates, in float64 and mpmath) and :mod:`verify.engine.model` (the integrands at given
points).  Behind them: :mod:`.expectation` (reduction to the span of the means),
:mod:`.quadrature` (Gaussian integrals with error estimates), :mod:`.backend` (float64 and
mpmath arithmetic, Gauss-Legendre and Gauss-Hermite rules), :mod:`.tolerances` (default
accuracies and the gradient scale) and :mod:`.validation` (argument checks).
"""
