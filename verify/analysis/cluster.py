"""Cluster-relative dynamics: a collapsed cluster of means and its exponentially small deviations.

Theorem 3.2 [1] starts every mean within r0 = exp(-10^6 n d M0^3) / (108 n d) of the origin
(about 10^-868,000 for n = 2, d = 1, M0 = 1).  A float64 simulation rounds such deviations
away (all means become identical and nothing can fail), so this module follows the cluster
in coordinates relative to its centre.

Notation (scaled means at noise level t, the notes' convention; CLAIMS.md "Model"):
a_i = m_i - m*, y ~ N(0, I_d), L = E|sum_i w_i a_i|^2 (no factor 1/2).

**Centre.**  If all a_i equal c the weights are uniform, v = c, and the exact gradient is
dL/da_i = 2 c / n (the engine's k = 0 path, :mod:`verify.engine.expectation`).  One step
m <- m - eta dL/dm therefore gives

    c <- (1 - 2 eta / n) c,                                                    (C)

so the distance A = |c| obeys A <- (1 - 2 eta/n) A.  The notes print (1 - eta/n), which is
the factor for the loss with a factor 1/2 (:func:`centre_factor`, ``half_loss=True``).

**Deviations, first order.**  Write a_i = c + delta_i, delta_bar = mean_i delta_i,
e_i = delta_i - delta_bar.  Expanding the pathwise gradient
g_i = 2 E[w_i v + w_i (v . (a_i - v)) (y - a_i)] to first order in delta, with
w_i = (1 + e_i . (y - c)) / n + O(delta^2), v = c + delta_bar + O(delta^2),
E[y - c] = -c:

    g_i = (2/n) [ c + delta_bar - 2 c c^T e_i ] + O(|delta|^2).                 (J)

So the mean deviation contracts with the centre, delta_bar <- (1 - 2 eta/n) delta_bar, and
the spread obeys e_i <- (I + (4 eta/n) c c^T) e_i: along c it grows by 1 + 4 eta |c|^2 / n
per step, across c it does not move (first order).  The coefficients are Gaussian moments at
the collapsed point; :func:`sympy_jacobian_residuals` derives (J) with SymPy from the
integrand and proves the residual is the zero polynomial.

**Remainder.**  :func:`remainder_constant` gives an explicit K(R, d) with
|g_i(a + delta) - g_i(a) - Dg_i[delta]| <= K/2 max_j |delta_j|^2 whenever max_j |a_j| <= R
on the segment (pointwise bounds of the second directional derivative of the integrand,
integrated against the Gaussian: chi moments).  :func:`linear_regime_certificate` propagates
it through the steps: a rigorous upper bound on the cluster radius and on the distance of
the true deviations from the linearised ones.

**Amplification.**  Along the centre's path the spread along c is multiplied by
prod_tau (1 + 4 eta A_tau^2 / n) ~ exp(M0^2) (continuous limit), against exp(10^6 n d M0^3)
that the theorem's initial radius allows (:func:`linear_amplification`).

The float64 runs of the full dynamics and the empirical largest radius: :mod:`.cluster_runs`.

Step convention: "scaled" (m_i <- m_i - eta dL/dm_i), t = 0, mu* = M0 e_1 unless stated.

Reference: [1] arXiv 2511.22069, Theorem 3.2 and Theorem 3.4.
"""

from __future__ import annotations

import math
import mpmath
import numpy as np

__all__ = [
    "centre_factor",
    "centre_path",
    "handoff_step",
    "deviation_gradient",
    "linear_step",
    "linear_amplification",
    "sympy_jacobian_residuals",
    "engine_deviation_gradient",
    "remainder_constant",
    "linear_regime_certificate",
    "theorem_radius_log10",
]


# -- the centre ------------------------------------------------------------------


def centre_factor(n: int, eta: float, *, t: float = 0.0, convention: str = "scaled", half_loss: bool = False):
    """Per-step factor of the distance A of a collapsed cluster from m*: A <- factor * A.

    ``1 - 2 eta_eff / n`` for the loss without a factor 1/2 (this project's), ``1 - eta_eff / n``
    with ``half_loss=True`` (the factor printed in the notes); eta_eff = eta in the "scaled"
    convention and eta e^{-2t} in the "unscaled" one (m = e^{-t} mu).
    """
    if convention not in ("scaled", "unscaled"):
        raise ValueError(f"convention must be 'scaled' or 'unscaled', got {convention!r}")
    eff = eta if convention == "scaled" else eta * math.exp(-2 * t)
    return 1 - (1 if half_loss else 2) * eff / n


def handoff_step(M0: float, n: int, eta: float, *, A_end: float | None = None) -> int:
    """First step tau with A(tau) = (1 - 2 eta/n)^tau M0 <= A_end (default 1/(6n))."""
    A_end = 1 / (6 * n) if A_end is None else A_end
    q = centre_factor(n, eta)
    if not 0 < q < 1:
        raise ValueError(f"eta = {eta} gives centre factor {q}; need 0 < 1 - 2 eta/n < 1")
    if M0 <= A_end:
        return 0
    return int(math.ceil(math.log(A_end / M0) / math.log(q) - 1e-12))


def centre_path(M0: float, n: int, eta: float, steps: int) -> np.ndarray:
    """A(tau), tau = 0..steps, of the collapsed cluster (C)."""
    return M0 * centre_factor(n, eta) ** np.arange(steps + 1)


# -- first-order deviation dynamics ---------------------------------------------------


def deviation_gradient(c, delta):
    """First-order part of g_i - 2c/n:  (2/n) [delta_bar - 2 c c^T (delta_i - delta_bar)]  (J).

    ``c``: (d,), ``delta``: (n, d); numpy float or object (mpf) arrays.
    """
    delta = np.asarray(delta)
    c = np.asarray(c)
    n = delta.shape[0]
    dbar = delta.sum(axis=0) / n
    e = delta - dbar
    ce = e @ c
    return (2 * (dbar[None, :] - 2 * ce[:, None] * c[None, :])) / n


def linear_step(c, delta, n: int, eta):
    """One gradient step of the linearised cluster: (c, delta) -> (c', delta')."""
    return c * (1 - 2 * eta / n), delta - eta * deviation_gradient(c, delta)


def linear_amplification(M0: float, n: int, eta: float, *, A_end: float | None = None, steps: int | None = None):
    """Amplification of the spread along c from A = M0 down to A_end (default 1/(6n)).

    Returns a dict: ``steps`` (hand-off step), ``log_amplification`` (natural log of
    prod (1 + 4 eta A_tau^2 / n), tau < steps), ``log_continuum`` (M0^2 - A_end^2, the
    eta -> 0 limit), ``log_total`` (the product over all tau >= 0, the limit of the whole run).
    """
    T = handoff_step(M0, n, eta, A_end=A_end) if steps is None else int(steps)
    A = centre_path(M0, n, eta, T)[:-1]
    log_amp = float(np.sum(np.log1p(4 * eta * A**2 / n)))
    Aall = centre_path(M0, n, eta, T + 20000)
    log_total = float(np.sum(np.log1p(4 * eta * Aall**2 / n)))
    A_end_v = 1 / (6 * n) if A_end is None else A_end
    return {"steps": T, "log_amplification": log_amp, "log_continuum": M0**2 - A_end_v**2,
            "log_total": log_total, "A_end": A_end_v}


def theorem_radius_log10(M0: float, n: int, d: int) -> float:
    """log10 of the theorem's initial radius exp(-10^6 n d M0^3) / (108 n d)."""
    return -(1e6 * n * d * M0**3) / math.log(10) - math.log10(108 * n * d)


# -- SymPy derivation of (J) -------------------------------------------------------------


def _gaussian_expectation(expr, ys):
    """E over independent standard normal ys of a polynomial in ys (Gaussian moments)."""
    import sympy as sp

    poly = sp.Poly(sp.expand(expr), *ys)
    total = 0
    for monom, coeff in poly.terms():
        m = 1
        for k in monom:
            m *= 0 if k % 2 else sp.factorial2(k - 1)
        total += coeff * m
    return sp.expand(total)


def sympy_jacobian_residuals(n: int, d: int, *, closed_form=None):
    """Derive the first-order deviation gradient with SymPy and return closed form minus it.

    The integrand g_i = 2 [w_i v + w_i (v . (a_i - v)) (y - a_i)] with a_j = c + eps h_j and
    the softmax of the logit differences l_j - l_1 (the common factor cancels exactly) is
    differentiated in eps at eps = 0 (uniform weights), and the expectation over y ~ N(0, I_d)
    is taken monomial by monomial with Gaussian moments.  Returns the list of the n d
    residuals (SymPy expressions, zero iff the closed form is right), the default closed form
    being (J).  ``closed_form(c, h, n)`` -> n x d expressions replaces it (negative controls).
    """
    import sympy as sp

    eps = sp.Symbol("eps")
    c = sp.symbols(f"c0:{d}", real=True)
    ys = sp.symbols(f"y0:{d}", real=True)
    h = [sp.symbols(f"h{i}_0:{d}", real=True) for i in range(n)]
    a = [[c[k] + eps * h[i][k] for k in range(d)] for i in range(n)]
    logit = [sum(a[i][k] * ys[k] for k in range(d)) - sum(a[i][k] ** 2 for k in range(d)) / 2 for i in range(n)]
    E = [sp.exp(logit[i] - logit[0]) for i in range(n)]
    Z = sum(E)
    w = [E[i] / Z for i in range(n)]
    v = [sum(w[i] * a[i][k] for i in range(n)) for k in range(d)]
    first = []
    for i in range(n):
        s = sum(v[k] * (a[i][k] - v[k]) for k in range(d))
        gi = [2 * (w[i] * v[k] + w[i] * s * (ys[k] - a[i][k])) for k in range(d)]
        first.append([sp.expand(sp.diff(g, eps).subs(eps, 0)) for g in gi])
    expected = [[_gaussian_expectation(first[i][k], ys) for k in range(d)] for i in range(n)]
    if closed_form is None:
        def closed_form(c, h, n):
            hbar = [sum(h[j][k] for j in range(n)) / n for k in range(len(c))]
            out = []
            for i in range(n):
                ce = sum(c[k] * (h[i][k] - hbar[k]) for k in range(len(c)))
                out.append([sp.Rational(2, n) * (hbar[k] - 2 * ce * c[k]) for k in range(len(c))])
            return out
    cf = closed_form(c, h, n)
    return [sp.simplify(sp.expand(cf[i][k] - expected[i][k])) for i in range(n) for k in range(d)]


# -- the engine's exact deviation gradient --------------------------------------------------


def engine_deviation_gradient(c, delta, *, dps: int = 60):
    """g_i(c + delta_i) - 2c/n from the engine's mpmath path, in coordinates relative to the centre.

    The loss is invariant under a common shift, so the means are passed as the deviations
    delta_i and the ground truth as -c (then a_i = delta_i + c): the engine builds the
    softmax from the differences delta_i - delta_0 exactly, whatever their scale.
    Returns (value, error estimate) as n x d lists of mpf.
    """
    from verify.engine import reference

    d = len(c)
    with mpmath.workdps(dps + 10):
        cc = [mpmath.mpf(x) for x in c]
        mu = [[mpmath.mpf(x) for x in row] for row in delta]
        star = [-x for x in cc]
    ev = reference.evaluate_mp(mu, star, "0", dps=dps)
    n = len(mu)
    with mpmath.workdps(dps):
        val = [[ev.grad_scaled[i][k] - 2 * cc[k] / n for k in range(d)] for i in range(n)]
    return val, ev.grad_scaled_err


# -- the remainder bound ------------------------------------------------------------


def _abs_moment(j: int, d: int) -> float:
    """E |y|^j for y ~ N(0, I_d) (chi moment)."""
    return math.exp(0.5 * j * math.log(2) + math.lgamma((d + j) / 2) - math.lgamma(d / 2))


def remainder_constant(R: float, d: int) -> float:
    """K(R, d): |D^2 g_i[h, h]| <= K for max_j |h_j| = 1, at any configuration with max_j |a_j| <= R.

    Pointwise bounds along a(s) = a + s h, with Lam = |y| + R >= |y - a_j|:
    |l_j'| <= Lam, |l_j''| <= 1; |w_i'| <= 2 Lam w_i, |w_i''| <= (6 Lam^2 + 2) w_i;
    |v| <= R, |v'| <= V1 = 2 Lam R + 1, |v''| <= V2 = (6 Lam^2 + 2) R + 4 Lam;
    b = a_i - v: |b| <= 2R, |b'| <= 1 + V1, |b''| <= V2;  s = v . b: |s| <= 2R^2,
    |s'| <= S1 = 2 R V1 + R (1 + V1), |s''| <= S2 = 3 R V2 + 2 V1 (1 + V1);
    p = y - a_i: |p| <= Lam, |p'| <= 1, p'' = 0.  Then with g_i / 2 = w_i v + w_i s p,
    |(w v)''| <= (6 Lam^2 + 2) R + 4 Lam V1 + V2 and
    |(w s p)''| <= (6 Lam^2 + 2) 2R^2 Lam + S2 Lam + 4 Lam^2 S1 + 8 Lam R^2 + 2 S1.
    The bound is a polynomial in Lam; its expectation uses E|y|^j (chi moments).
    Differentiation under E is justified by dominated convergence (polynomial majorant).
    """
    # polynomial in Lam as coefficient arrays (numpy.polynomial, increasing powers)
    P = np.polynomial.Polynomial
    Lam = P([0, 1])
    V1 = 2 * R * Lam + 1
    V2 = (6 * Lam**2 + 2) * R + 4 * Lam
    S1 = 2 * R * V1 + R * (1 + V1)
    S2 = 3 * R * V2 + 2 * V1 * (1 + V1)
    W2 = 6 * Lam**2 + 2
    wv = W2 * R + 4 * Lam * V1 + V2
    wsp = W2 * 2 * R**2 * Lam + S2 * Lam + 4 * Lam**2 * S1 + 8 * Lam * R**2 + 2 * S1
    B = 2 * (wv + wsp)  # polynomial in Lam = |y| + R
    total = 0.0
    for k, coef in enumerate(B.coef):
        # E (|y| + R)^k
        total += coef * sum(math.comb(k, j) * R ** (k - j) * _abs_moment(j, d) for j in range(k + 1))
    return float(total)


def linear_regime_certificate(M0, n: int, d: int, eta: float, r0, *, A_end: float | None = None, dps: int = 30):
    """Rigorous bounds for the cluster started within r0 of the collapsed point at distance M0.

    With N(delta) = |delta_bar| + max_i |e_i| (so max_i |delta_i| <= N <= 3 max_i |delta_i|),
    the linear step multiplies N by at most lam = 1 + 4 eta A^2 / n, and the remainder adds at
    most 3 eta K/2 max|delta|^2 <= 1.5 eta K N^2 (K = :func:`remainder_constant` at R = M0 + 1,
    valid while N <= 1).  Iterated from N_0 = 3 r0 to the hand-off step:

    * ``radius_bound``: sup_tau max_i |a_i - c_tau| <= N_tau (the invariant's radius, rigorous);
    * ``linearisation_error_bound``: a bound on N(delta_tau - delta_lin_tau), relative to the
      linear prediction's size N_0 prod lam (how far the true deviations can be from (J)).

    r0 may be a string such as '1e-868000'; the recursion runs in mpmath (unbounded exponents).
    """
    T = handoff_step(M0, n, eta, A_end=A_end)
    K = remainder_constant(M0 + 1, d)
    with mpmath.workdps(dps):
        r0 = mpmath.mpf(r0)
        N = 3 * r0
        E = mpmath.mpf(0)
        lin = 3 * r0
        A = mpmath.mpf(M0)
        q = 1 - 2 * mpmath.mpf(eta) / n
        Nmax = N
        for _ in range(T):
            lam = 1 + 4 * eta * A**2 / n
            rem = 1.5 * eta * K * N**2
            E = lam * E + rem
            N = lam * N + rem
            lin = lam * lin
            A = A * q
            Nmax = max(Nmax, N)
            if N > 1:
                break
        valid = N <= 1
        return {
            "steps": T, "K": K, "R": M0 + 1, "valid": bool(valid),
            "radius_bound": mpmath.nstr(Nmax, 6),
            "radius_bound_log10": float(mpmath.log10(Nmax)),
            "linear_prediction_log10": float(mpmath.log10(lin)),
            "linearisation_error_relative": mpmath.nstr(E / lin, 6),
            "linearisation_error_relative_log10": float(mpmath.log10(E / lin)) if E > 0 else float("-inf"),
        }
