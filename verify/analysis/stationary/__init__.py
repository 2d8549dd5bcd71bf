"""Theorem 3.1: a stationary point with non-zero loss at small noise.

[1, Theorem 3.1] (arXiv 2511.22069; statement as in ``CLAIMS.md``): for
n >= 3 the configuration

    a_1 = s e_1,  a_2 = -s e_1,  a_3 = ... = a_n = 0            (mu* = 0)

of scaled means a_i = e^{-t}(mu_i - mu*) has, by symmetry, vanishing
gradients for a_3..a_n and opposite gradients for a_1, a_2; on this
symmetric path L(0) = 0 and L(s) -> 0 as s -> inf, so the maximiser s* of
L on the path is a stationary point of the population loss with L > 0.

Everything here is in scaled coordinates with y ~ N(0, I_d):

    l_i(y) = a_i.y - |a_i|^2/2,   w = softmax(l),   v = sum_i w_i a_i,
    L = E|v|^2,
    dL/da_i = 2 E[w_i v + w_i (v.(a_i - v)) (y - a_i)]     (pathwise).

What this module computes, and by which independent route:

* the symmetric path (1-D integrals over y_1, ``mpmath.quad`` with the
  softmax transitions as breakpoints): the loss ``path_loss``, the radial
  gradient ``radial_gradient`` (the e_1 component of dL/da_1 from the
  pathwise formula) and ``path_derivative`` (d/ds of the path integrand,
  differentiated directly in s, a second formula); dL/ds = 2 x radial
  gradient because dL/da_2 = -dL/da_1 (checked symbolically in
  :mod:`verify.checks.certificate`, numerically in the tests) (:mod:`.path`);
* ``stationary_radius(n)``: s*(n), the root of the radial gradient;
* ``max_noise_level(M, n)``: the largest t at which the point lies within
  initial distance M of mu* (:mod:`.path`);
* ``ProductRule`` (:mod:`.hessian`): a tensor Gauss-Hermite rule for d = 2 in mpmath (and d >= 2
  in float64) that evaluates loss and pathwise gradient of an arbitrary
  configuration *without* reducing to the span of the means, used for the
  full gradient at s* in a randomly rotated frame (``full_gradient_check``),
  for Richardson finite differences of the loss (``fd_gradient``) and for the
  Hessian (``hessian_at_stationary_point``);
* ``search_collinear`` (:mod:`.collinear`): Newton on the gradient of collinear configurations
  (float64 composite Gauss-Legendre, then refined in mpmath);
* ``plateau_run`` (:mod:`.plateau`): gradient descent from the point.

Reference: [1] Zhang, Xu, Zhou, Fazel, Du, "Convergence Dynamics of
Over-Parameterized Score Matching for a Single Gaussian", arXiv 2511.22069.
"""

from .collinear import SearchResult, collinear_grad_float, collinear_grad_mp, collinear_loss_mp, search_collinear
from .hessian import (GradientCheck, HessianResult, ProductRule, fd_gradient, full_gradient_check,
                      hessian_at_stationary_point)
from .path import (DEFAULT_DPS, construction, expected_zero_modes, generate_reference_table, max_noise_level,
                   path_derivative, path_loss, path_second_derivative, radial_gradient, reference_table,
                   stationary_radius, stationary_radius_reference, stationary_radius_str)
from .plateau import PlateauRun, plateau_run

__all__ = [
    "DEFAULT_DPS", "construction", "path_loss", "radial_gradient", "path_derivative", "stationary_radius",
    "stationary_radius_str", "max_noise_level", "expected_zero_modes", "path_second_derivative", "reference_table",
    "stationary_radius_reference", "generate_reference_table",
    "ProductRule", "fd_gradient", "GradientCheck", "full_gradient_check", "HessianResult",
    "hessian_at_stationary_point",
    "collinear_loss_mp", "collinear_grad_mp", "collinear_grad_float", "SearchResult", "search_collinear",
    "PlateauRun", "plateau_run",
]
