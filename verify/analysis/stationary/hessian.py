"""Theorem 3.1 in the full space: the gradient and Hessian at the construction, not reduced to the
span of the means.

:class:`ProductRule` (a tensor Gauss-Hermite rule in the standard frame) evaluates the loss and
the pathwise gradient of an arbitrary configuration, so the off-span components of the gradient
are computed, not zero by construction.  It gives the full gradient at s* in a randomly rotated
frame (:func:`full_gradient_check`), Richardson finite differences of the loss
(:func:`fd_gradient`) and the Hessian (:func:`hessian_at_stationary_point`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from verify.checks.richardson import richardson
from verify.checks.rotations import random_rotation
from verify.engine.backend import gauss_hermite, gauss_hermite_tensor

from .path import (_check_d, _check_n, construction, expected_zero_modes, path_loss, path_second_derivative,
                   stationary_radius_reference)

__all__ = ["ProductRule", "fd_gradient", "GradientCheck", "full_gradient_check", "HessianResult",
           "hessian_at_stationary_point"]


class ProductRule:
    """Tensor Gauss-Hermite rule for E f(y), y ~ N(0, I_d), in the standard frame.

    The rule does not know where the means are: the configuration is *not*
    rotated into its span, so the off-span components of the gradient are
    computed, not zero by construction.  ``nodes`` is the number of nodes per
    axis (a tuple for different counts per axis).  ``dps=None`` means float64
    (numpy, any d); otherwise mpmath at ``dps`` digits (d = 2 only).

    Accuracy: the integrand is analytic in a strip |Im y| < pi / max|a_i - a_j|
    (poles of the softmax), so the error falls like exp(-c sqrt(nodes)); it is
    measured by comparing two node counts (``difference``), not assumed.
    """

    def __init__(self, d: int, nodes, *, dps: int | None = None):
        self.d = _check_d(d)
        nodes = (nodes,) * d if isinstance(nodes, (int, np.integer)) else tuple(int(k) for k in nodes)
        if len(nodes) != d or min(nodes) < 1:
            raise ValueError(f"nodes must be a positive int or d = {d} positive ints, got {nodes!r}")
        self.nodes = nodes
        self.dps = dps
        if dps is None:
            self._rule = gauss_hermite_tensor(nodes)
        else:
            if d != 2:
                raise ValueError(f"the mpmath product rule is implemented for d = 2, got d = {d}")
            self._axes = [gauss_hermite(k, dps) for k in nodes]

    # -- float64 -----------------------------------------------------------
    def _eval_float(self, a: np.ndarray, with_grad: bool):
        y, wq = self._rule
        logits = y @ a.T - 0.5 * np.sum(a * a, axis=1)
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        w = e / e.sum(axis=1, keepdims=True)
        v = w @ a
        vv = np.sum(v * v, axis=1)
        loss = float(wq @ vv)
        if not with_grad:
            return loss, None
        dot = v @ a.T - vv[:, None]  # v.(a_i - v)
        g = np.einsum("q,qi,qk->ik", wq, w, v) + np.einsum(
            "q,qi,qik->ik", wq, w * dot, y[:, None, :] - a[None, :, :]
        )
        return loss, 2 * g

    # -- mpmath, d = 2 -----------------------------------------------------
    def _eval_mp(self, a, with_grad: bool):
        n = len(a)
        (x1, w1), (x2, w2) = self._axes
        c = [mpmath.exp(-(ai[0] ** 2 + ai[1] ** 2) / 2) for ai in a]
        # exp(a_i . y) = exp(a_i1 y1) exp(a_i2 y2): n (N1 + N2) exponentials, not n N1 N2.
        ex1 = [[c[i] * mpmath.exp(a[i][0] * y) for y in x1] for i in range(n)]
        ex2 = [[mpmath.exp(a[i][1] * y) for y in x2] for i in range(n)]
        loss = mpmath.mpf(0)
        g = [[mpmath.mpf(0), mpmath.mpf(0)] for _ in range(n)]
        a0 = [ai[0] for ai in a]
        a1 = [ai[1] for ai in a]
        rng = range(n)
        for p, y1 in enumerate(x1):
            col = [ex1[i][p] for i in rng]
            for q, y2 in enumerate(x2):
                wq = w1[p] * w2[q]
                e = [col[i] * ex2[i][q] for i in rng]
                z = mpmath.fsum(e)
                wt = [ei / z for ei in e]
                v0 = mpmath.fdot(wt, a0)
                v1 = mpmath.fdot(wt, a1)
                vv = v0 * v0 + v1 * v1
                loss += wq * vv
                if with_grad:
                    for i in rng:
                        dot = v0 * a0[i] + v1 * a1[i] - vv
                        f = wq * wt[i]
                        g[i][0] += f * (v0 + dot * (y1 - a0[i]))
                        g[i][1] += f * (v1 + dot * (y2 - a1[i]))
        if with_grad:
            g = [[2 * gi[0], 2 * gi[1]] for gi in g]
            return loss, g
        return loss, None

    def evaluate(self, a, *, with_grad: bool = True):
        """(loss, gradient w.r.t. the scaled means) of configuration ``a`` (n x d).

        float64: ``a`` array-like, returns (float, ndarray).  mpmath: nested
        lists of numbers/strings, parsed at ``dps``; returns (mpf, list of lists).
        """
        if self.dps is None:
            a = np.asarray(a, dtype=np.float64)
            if a.ndim != 2 or a.shape[1] != self.d:
                raise ValueError(f"a must have shape (n, {self.d}), got {a.shape}")
            return self._eval_float(a, with_grad)
        with mpmath.workdps(self.dps):
            a = [[mpmath.mpf(x) for x in row] for row in a]
            if any(len(row) != 2 for row in a):
                raise ValueError("a must be n rows of d = 2 numbers")
            loss, g = self._eval_mp(a, with_grad)
            return +loss, (None if g is None else [[+x for x in row] for row in g])

    def loss(self, a):
        return self.evaluate(a, with_grad=False)[0]

    def grad(self, a):
        return self.evaluate(a, with_grad=True)[1]


def fd_gradient(loss_fn, a, *, h=1e-3, levels: int = 3, dps: int | None = None):
    """Richardson-extrapolated central differences of ``loss_fn`` in every coordinate.

    D(h) = (L(a + h e) - L(a - h e)) / 2h has error c_2 h^2 + c_4 h^4 + ...; ``levels``
    halvings of h are combined by :func:`verify.checks.richardson.richardson`.  ``dps=None``:
    float64 (``a`` an array, ``loss_fn`` takes an array); otherwise mpmath at ``dps``.
    Returns (gradient, error estimate) of the shape of ``a``.
    """
    if dps is None:
        a = np.array(a, dtype=np.float64)
        grad = np.zeros_like(a)
        err = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            ds = []
            for lev in range(levels):
                hl = h / 2**lev
                plus, minus = a.copy(), a.copy()
                plus[idx] += hl
                minus[idx] -= hl
                ds.append((loss_fn(plus) - loss_fn(minus)) / (2 * hl))
            grad[idx], err[idx], _ = richardson(ds)
        return grad, err
    with mpmath.workdps(dps):
        a = [[mpmath.mpf(x) for x in row] for row in a]
        h = mpmath.mpf(h)
        grad, err = [], []
        for i, row in enumerate(a):
            grow, erow = [], []
            for k in range(len(row)):
                ds = []
                for lev in range(levels):
                    hl = h / 2**lev
                    plus = [r[:] for r in a]
                    minus = [r[:] for r in a]
                    plus[i][k] += hl
                    minus[i][k] -= hl
                    ds.append((loss_fn(plus) - loss_fn(minus)) / (2 * hl))
                best, e, _ = richardson(ds)
                grow.append(best)
                erow.append(e if levels > 1 else mpmath.inf)
            grad.append(grow)
            err.append(erow)
        return grad, err


@dataclass
class GradientCheck:
    """The full gradient of one configuration, all n*d components, in a rotated frame.

    ``grad``: pathwise gradient from the product rule (n x d); ``grad_fd``
    (optional): Richardson differences of the product-rule loss, a second route
    that does not use the gradient formula; ``quadrature_error``: max change of
    loss and gradient between ``nodes`` and ``nodes + 40`` per axis;
    ``fd_error``: Richardson error estimate plus |grad_fd - grad|.
    """

    n: int
    d: int
    s: float
    offset: str
    loss: float
    path_loss: float
    grad: np.ndarray
    max_abs_grad: float
    quadrature_error: float
    grad_fd: np.ndarray | None = None
    max_abs_grad_fd: float | None = None
    fd_error: float | None = None


def full_gradient_check(n: int, *, d: int = 2, offsets=("0", "1e-3", "-1e-3"), nodes: int = 160,
                        seed: int = 0, finite_differences: bool = False, s_star=None) -> dict[str, GradientCheck]:
    """Full gradient at the construction with s = s*(n) + offset, without reduction to the span.

    The construction (in R^d) is rotated by a fixed-seed Haar rotation, so that
    no quadrature axis lies along the means, and the pathwise gradient of all
    n*d coordinates is integrated with a float64 tensor Gauss-Hermite rule
    (``nodes`` per axis; the error is measured against ``nodes + 40``).  With
    ``finite_differences`` the gradient is also obtained by Richardson central
    differences of the same rule's loss (h = 1e-3, 3 levels).  ``s_star`` (a string or mpf)
    replaces the table's s*(n): a claim's negative control checks a wrong radius.

    float64, not mpmath: a d = 2 product rule in mpmath costs about 1 ms per node
    and needs >= 160^2 nodes for 1e-15 (the softmax transitions limit
    Gauss-Hermite), so minutes per gradient; float64 reaches the quadrature
    limit (measured ~1e-15) in a fraction of a second, far below the gradient
    ~3e-4 at s* +- 1e-3 that the check must tell apart from 0.
    """
    n = _check_n(n)
    d = _check_d(d)
    rot = random_rotation(d, seed, proper=True)
    rule = ProductRule(d, nodes)
    fine = ProductRule(d, nodes + 40)
    with mpmath.workdps(40):
        s_star = stationary_radius_reference(n) if s_star is None else mpmath.mpf(s_star)
    out = {}
    for off in offsets:
        with mpmath.workdps(40):
            s = s_star + mpmath.mpf(off)
            ref_loss = float(path_loss(s, n, dps=30))
        a = np.array([[float(x) for x in row] for row in construction(n, s, d)]) @ rot.T
        loss, g = rule.evaluate(a)
        loss_f, g_f = fine.evaluate(a)
        chk = GradientCheck(
            n=n, d=d, s=float(s), offset=off, loss=loss, path_loss=ref_loss, grad=g,
            max_abs_grad=float(np.abs(g).max()),
            quadrature_error=float(max(abs(loss - loss_f), np.abs(g - g_f).max())),
        )
        if finite_differences:
            gfd, efd = fd_gradient(rule.loss, a, h=1e-3, levels=3)
            chk.grad_fd = gfd
            chk.max_abs_grad_fd = float(np.abs(gfd).max())
            chk.fd_error = float(max(efd.max(), np.abs(gfd - g).max()))
        out[off] = chk
    return out


@dataclass
class HessianResult:
    """Hessian of L w.r.t. the scaled means at the construction in R^d.

    ``eigenvalues`` ascending; ``eigenvectors`` their columns (unit, flattened
    (i, k) -> i*d + k); ``zero_modes``: eigenvalues with |lambda| <= ``zero_tol``;
    ``asymmetry``: max |H - H^T| before symmetrising; ``richardson_error``: max
    change between the h/2 central difference and the extrapolation;
    ``quadrature_error``: gradient change with 40 more nodes along e_1;
    ``path_eigenvalue``: L''(s*)/2 from the 1-D path integrals (mpmath), the
    eigenvalue along the symmetric-path direction (e_1, -e_1, 0, ..)/sqrt 2.
    """

    n: int
    d: int
    s: float
    matrix: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    asymmetry: float
    richardson_error: float
    quadrature_error: float
    zero_tol: float
    zero_modes: int
    expected_zero_modes: int
    negative: int
    positive: int
    path_eigenvalue: float
    path_direction_residual: float
    classification: str


def hessian_at_stationary_point(n: int, *, d: int = 2, nodes=(200, 24), h: float = 1e-3,
                                zero_tol: float | None = None, s_star=None) -> HessianResult:
    """Full (n d) x (n d) Hessian at the construction by central differences of the gradient.

    The gradient is the pathwise one, integrated with a float64 tensor
    Gauss-Hermite rule: ``nodes[0]`` nodes along e_1 and ``nodes[1]`` along
    each other axis.  Every coordinate of every mean is perturbed (off the axis
    as well), so the perturbed configurations are genuinely d-dimensional; off
    the axis the integrand is e^{O(h) y_k} times a polynomial, so a few nodes
    suffice there.  Central differences at h and h/2 are Richardson-combined
    (truncation O(h^4) ~ 1e-12).

    Zero modes: |lambda| <= zero_tol, by default 100 x (asymmetry + Richardson
    error + quadrature error / h) + 1e-9, built from the measured errors; the
    count is compared with :func:`expected_zero_modes`.  ``s_star`` replaces the table's s*(n).
    """
    n = _check_n(n)
    d = _check_d(d)
    if d < 2:
        raise ValueError("the Hessian check needs d >= 2 (rotations and off-axis modes)")
    rule = ProductRule(d, (nodes[0],) + (nodes[1],) * (d - 1))
    s = float(stationary_radius_reference(n) if s_star is None else s_star)
    a0 = np.array(construction(n, s, d), dtype=np.float64)
    N = n * d
    cols = np.zeros((N, N))
    rich = 0.0
    for idx in range(N):
        i, k = divmod(idx, d)
        ds = []
        for hl in (h, h / 2):
            plus, minus = a0.copy(), a0.copy()
            plus[i, k] += hl
            minus[i, k] -= hl
            ds.append((rule.grad(plus) - rule.grad(minus)).ravel() / (2 * hl))
        col, correction, _ = richardson(ds)
        rich = max(rich, float(correction.max()))
        cols[:, idx] = col
    asym = float(np.abs(cols - cols.T).max())
    H = (cols + cols.T) / 2
    evals, evecs = np.linalg.eigh(H)
    fine = ProductRule(d, (nodes[0] + 40,) + (nodes[1] + 8,) * (d - 1))
    qerr = float(np.abs(rule.grad(a0) - fine.grad(a0)).max())
    if zero_tol is None:
        zero_tol = 100 * (asym + rich + qerr / h) + 1e-9
    zero = int(np.sum(np.abs(evals) <= zero_tol))
    neg = int(np.sum(evals < -zero_tol))
    pos = int(np.sum(evals > zero_tol))
    lam_path = float(path_second_derivative(n)) / 2
    u = np.zeros(N)
    u[0], u[d] = 1 / math.sqrt(2), -1 / math.sqrt(2)
    path_res = float(np.linalg.norm(H @ u - lam_path * u))
    if neg and pos:
        cls = "saddle"
    elif neg:
        cls = "local maximum up to the zero modes (higher order undecided)"
    elif pos:
        cls = "local minimum up to the zero modes (higher order undecided)"
    else:
        cls = "degenerate"
    return HessianResult(
        n=n, d=d, s=s, matrix=H, eigenvalues=evals, eigenvectors=evecs, asymmetry=asym,
        richardson_error=rich, quadrature_error=qerr, zero_tol=float(zero_tol), zero_modes=zero,
        expected_zero_modes=expected_zero_modes(n, d), negative=neg, positive=pos,
        path_eigenvalue=lam_path, path_direction_residual=path_res, classification=cls,
    )
