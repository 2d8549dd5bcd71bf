"""Other discretizations of the engine's expectations, to test its error estimates: a polar grid
for k = 2 and the engine's own rules on a randomly rotated basis.

The engine integrates k = 2 on Cartesian lines (graded at the softmax
transitions) across adaptive boxes or Gauss-Hermite nodes.  Here the same
expectation is computed in polar coordinates:

    E f(z) = int_0^{2 pi} int_0^inf f(r u(theta)) r phi_1(r) / sqrt(2 pi) dr dtheta,

each ray graded at its own transitions (the logits are linear in r along a
ray: slopes B u(theta)), and the angle by adaptive Gauss-Legendre (orders N,
2N), split at the directions of the points where three logits are equal
(where the ray integral has kinks).  Different nodes everywhere: agreement
within the two error estimates is evidence that the estimates are honest.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from verify.engine.expectation import Reduced, integrand, population_expectations, reduce_float
from verify.engine.backend import FLOAT64, gauss_legendre
from verify.engine.lines import integrate_lines, radius_for

from .rotations import random_rotation

__all__ = ["polar_expectations", "rotated_expectations"]


def _triple_point_angles(B, C):
    angles = []
    for i, j, l in itertools.combinations(range(B.shape[0]), 3):
        A = np.array([B[i] - B[j], B[i] - B[l]])
        if abs(np.linalg.det(A)) < 1e-12:
            continue
        z = np.linalg.solve(A, [C[i] - C[j], C[i] - C[l]])
        angles.append(math.atan2(z[1], z[0]) % (2 * math.pi))
    return angles


def polar_expectations(red: Reduced, *, tol: float = 1e-13, max_panels: int = 120):
    """(value, error) of [L, dL/dm (flattened)/2] for a k = 2 reduced model, by polar quadrature."""
    if red.k != 2:
        raise ValueError(f"polar_expectations needs k = 2, got k = {red.k}")
    f = integrand(red, FLOAT64, True)
    B, C = red.B, red.C
    amax = red.amax
    bound = max(amax**2, amax + 2 * amax**3, 2 * amax**2)
    radius = radius_for(bound, 1e-3 * tol * amax**2 * 1e-6, 2)
    n1 = 12
    x1, w1 = gauss_legendre(n1)
    x2, w2 = gauss_legendre(2 * n1)
    norm = 1 / math.sqrt(2 * math.pi)

    def ray_values(thetas):
        out = []
        for th in thetas:
            u = np.array([math.cos(th), math.sin(th)])

            def g(S, _dens, u=u):
                s = S[:, 0]
                Z = s[:, None] * u[None, :]
                return f(Z, 0) * (np.where(s > 0, s, 0.0) * np.exp(-s * s / 2) * norm / math.sqrt(2 * math.pi))[:, None]

            v, e, _, _ = integrate_lines(g, (B @ u)[:, None], C, np.empty((1, 0)), radius, FLOAT64, 200_000,
                                          dens_axes=0, extra=(0.0,))
            out.append((v[0], e[0]))
        return out

    def panel(a, b):
        c, h = (a + b) / 2, (b - a) / 2
        r1 = ray_values(c + h * x1)
        r2 = ray_values(c + h * x2)
        q1 = h * sum(w * v for w, (v, _) in zip(w1, r1))
        q2 = h * sum(w * v for w, (v, _) in zip(w2, r2))
        inner = h * sum(abs(w) * e for w, (_, e) in zip(w2, r2))
        return q2, np.abs(q2 - q1) + inner

    n, ncol = red.n, 1 + red.n * red.d

    def strip(value, error):
        # the integrand's last 1 + n columns bound the rounding of the loss and of each mean's gradient
        return value[:ncol], error[:ncol] + np.concatenate([[abs(value[ncol])], np.repeat(np.abs(value[-n:]), red.d)])

    cuts = sorted(set([0.0, 2 * math.pi] + [a for a in _triple_point_angles(B, C)]
                      + list(np.linspace(0, 2 * math.pi, 9))))
    panels = [(a, b) + panel(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
    while True:
        value, error = strip(sum(p[2] for p in panels), sum(p[3] for p in panels))
        scale = np.maximum(np.abs(value), abs(value[0]) / 2)
        if np.all(error <= tol * scale) or len(panels) >= max_panels:
            return value, error
        worst = max(range(len(panels)), key=lambda i: float(np.max(panels[i][3][:ncol] / scale)))
        a, b, _, _ = panels.pop(worst)
        m = (a + b) / 2
        panels += [(a, m) + panel(a, m), (m, b) + panel(m, b)]


def rotated_expectations(mu, mu_star, t, *, seed: int = 0, tol: float = 1e-13):
    """The same expectations on a node set turned by a random rotation of the reduced basis.

    For smooth configurations (the Gauss-Hermite paths) the tensor grid then
    sits at other points in every direction: a second, independent rule.
    Returns (loss, loss_err, grad_scaled, grad_scaled_err)."""
    mu, mu_star = np.asarray(mu, float), np.asarray(mu_star, float)
    k = reduce_float(mu, mu_star, t).k
    q = random_rotation(k, seed)
    ex = population_expectations(reduce_float(mu, mu_star, t, rotation=q), tol=tol)
    return ex.loss, ex.loss_err, ex.grad_scaled, ex.grad_scaled_err
