"""The weights' rounding that comes from their logits, for the integrands' rounding columns.

A logit l_i = sum_j B_ij z_j - C_i is computed either as the dot product, then less C_i (numpy),
or from -C_i adding each term (the compiled integrand).  Either way it errs by at most
lambda_i = gamma_k (sum_j |B_ij z_j| + [k > 1] |C_i|) + u |l_i|, gamma_k = k u / (1 - k u) with
u = eps / 2 the unit roundoff (Higham, Accuracy and Stability of Numerical Algorithms, 3.1: k
products and k - 1 partial sums of at most that size, then the last addition; for k = 1 exactly
the product's and the subtraction's rounding).  Shifting it before the exponential (l_i - l_max,
or the centred u_i) adds u |shifted_i|.  (The rounding of B and C themselves, made once by the
reduction from the inputs, and of B turned into a frame for the compiled integrand, is not
counted: the columns bound the rounding of the reduced model's integrand.  C_i is itself a
d-term dot product, so at k = 1 that uncounted part can be up to ~d/2 times the counted
u |C_i|-sized term.)
The softmax's own rounding (the exponential, the sum, the division: a few eps relative) is in
the integrands' eps8; this adds what the logits bring.  It is far larger where large terms
cancel: at the transition between two means far from each other, far from the origin.

Perturbing the logits by delta (|delta_j| <= lambda_j) changes log w_i by delta_i - D with
D = lse(l + delta) - lse(l) = log sum_j w_j e^{delta_j}, so |D| <= S / (1 - S) with
S = sum_j w_j (e^{lambda_j} - 1) (above: log(1 + S) <= S; below: -log(1 - S) <= S / (1 - S)), and
|dw_i| <= w_i (e^{lambda_i + S / (1 - S)} - 1) =: w_i eta_i, and never more than 1 (both weights
lie in [0, 1]; S >= 1 is never met at float64's eps).  A weight that is exactly 0 contributes
nothing, whatever its logit.

The compiled integrand (:mod:`verify.engine.kernels`) computes the same per node.
"""

from __future__ import annotations

import mpmath
import numpy as np

__all__ = ["logit_rounding", "expm1_up", "SMALL", "TINY"]

#: below this, e^x - 1 is bounded by the polynomial of :func:`expm1_up`
SMALL = 1e-3
#: the smallest subnormal, added by :func:`expm1_up`: below the normal range x (1 + 2^-50) rounds back
#: to x, under x + x^2 / 2
TINY = 2.0**-1074


def expm1_up(x):
    """An upper bound of e^x - 1 for x >= 0, elementwise: x (1 + x) where x < SMALL, expm1 elsewhere,
    times 1 + 2^-50.  On [0, 1e-3], e^x - 1 = x + x^2 (1/2 + x/6 + ...) <= x + x^2; the float
    product x (1 + x) errs by two roundings, (1 - u)^2, and libm's expm1 by less than an ulp; the
    factor 1 + 2^-50 = 1 + 4u (itself rounded once) covers either: (1 - u)^3 (1 + 4u) > 1.  The
    compiled integrand (verify.engine.kernels) uses the same formula, because a call to expm1 per
    weight was a sizeable part of its time (proofs_map.md, the speed section: the re-run at 8beddc5)."""
    x = np.asarray(x, dtype=float)
    return np.where(x < SMALL, x * (1.0 + x), np.expm1(x)) * (1.0 + 2.0**-50) + TINY


def logit_rounding(Z, B, C, logits, shifted, w, eps):
    """w eta (N x n): a bound of |dw_i| from the logits' rounding, at the nodes Z (N x k) for the
    logits Z B^T - C (B: n x k; ``logits``, N x n, as computed), given |shifted| (N x n: the sizes
    of the shifted logits that were exponentiated) and the weights w (N x n)."""
    k = B.shape[1]
    u = eps / 2
    gamma = k * u / (1 - k * u)
    lam = gamma * (np.abs(Z) @ np.abs(B).T + (np.abs(C)[None, :] if k > 1 else 0)) + u * (np.abs(logits) + shifted)
    mp = lam.dtype == object
    expm1 = np.frompyfunc(mpmath.expm1, 1, 1) if mp else expm1_up
    live = w > 0
    lam = np.where(live, lam, 0)  # a weight of exactly 0 adds nothing, whatever its logit
    S = (w * expm1(lam)).sum(axis=1)
    big = np.where(S < 1, S / np.where(S < 1, 1 - S, 1), np.inf)
    # |dw_i| <= 1 whatever happens (both weights lie in [0, 1])
    return np.where(live, np.minimum(w * expm1(lam + big[:, None]), 1), 0)
