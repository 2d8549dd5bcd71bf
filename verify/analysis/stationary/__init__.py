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
  :mod:`verify.certificate`, numerically in the tests);
* ``stationary_radius(n)``: s*(n), the root of the radial gradient;
* ``ProductRule``: a tensor Gauss-Hermite rule for d = 2 in mpmath (and d >= 2
  in float64) that evaluates loss and pathwise gradient of an arbitrary
  configuration *without* reducing to the span of the means, used for the
  full gradient at s* in a randomly rotated frame (``full_gradient_check``),
  for Richardson finite differences of the loss (``fd_gradient``) and for the
  Hessian (``hessian_at_stationary_point``);
* ``search_collinear``: Newton on the gradient of collinear configurations
  (float64 composite Gauss-Legendre, then refined in mpmath);
* ``max_noise_level(M, n)``: the largest t at which the point lies within
  initial distance M of mu*.

Reference: [1] Zhang, Xu, Zhou, Fazel, Du, "Convergence Dynamics of
Over-Parameterized Score Matching for a Single Gaussian", arXiv 2511.22069.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from pathlib import Path

import mpmath
import numpy as np

from verify.engine.backend import gauss_hermite, gauss_hermite_tensor, gauss_legendre
from verify.simulate.descent import gradient_descent

__all__ = [
    "DEFAULT_DPS",
    "construction",
    "path_loss",
    "radial_gradient",
    "path_derivative",
    "stationary_radius",
    "max_noise_level",
    "expected_zero_modes",
    "ProductRule",
    "full_gradient_check",
    "GradientCheck",
    "fd_gradient",
    "hessian_at_stationary_point",
    "HessianResult",
    "path_second_derivative",
    "reference_table",
    "stationary_radius_reference",
    "stationary_radius_str",
    "generate_reference_table",
    "collinear_loss_mp",
    "collinear_grad_mp",
    "collinear_grad_float",
    "search_collinear",
    "SearchResult",
    "random_rotation",
]

#: Working precision of the 1-D integrals on the symmetric path.  mpmath.quad
#: (tanh-sinh) reaches about dps - 15 digits here; s* is wanted to >= 30.
DEFAULT_DPS = 50


def _check_n(n, minimum: int = 3) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"n must be >= {minimum} for the construction of Theorem 3.1, got n = {n}")
    return int(n)


def _check_d(d) -> int:
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"d must be a positive int, got {d!r}")
    return int(d)


def construction(n: int, s, d: int = 1) -> list[list]:
    """The configuration of Theorem 3.1 in scaled coordinates (mu* = 0).

    Returns n lists of d numbers: a_1 = s e_1, a_2 = -s e_1, a_i = 0 (i >= 3).
    ``s`` is kept as given (mpf, str, float) so no precision is lost.
    """
    n = _check_n(n)
    d = _check_d(d)
    zero = 0 * s if not isinstance(s, str) else "0"
    neg = -s if not isinstance(s, str) else ("-" + s if not s.startswith("-") else s[1:])
    a = [[zero] * d for _ in range(n)]
    a[0][0] = s
    a[1][0] = neg
    return a


# ---------------------------------------------------------------------------
# The symmetric path: 1-D integrals over y_1 ~ N(0, 1)
# ---------------------------------------------------------------------------


def _path_terms(y, s, m):
    """Integrand pieces at y for a = (s, -s, 0 x m) in one dimension.

    Returns (v^2, pathwise e_1-gradient of a_1, d/ds v^2) without the density.
    """
    e1 = mpmath.exp(s * y - s * s / 2)
    e2 = mpmath.exp(-s * y - s * s / 2)
    z = e1 + e2 + m
    w1 = e1 / z
    v = s * (e1 - e2) / z
    g1 = 2 * (w1 * v + w1 * v * (s - v) * (y - s))
    de1 = (y - s) * e1
    de2 = (-y - s) * e2
    dv = (e1 - e2) / z + s * ((de1 - de2) * z - (e1 - e2) * (de1 + de2)) / (z * z)
    return v * v, g1, 2 * v * dv


def _path_breakpoints(s, m):
    """Softmax transitions: where l_1 = l_2 (y = 0), where a_1 or a_2 takes over
    from the m means at 0 (y = +-(s/2 + log(m)/s)), and y = +-s/2."""
    pts = [mpmath.mpf(0)]
    if s != 0:
        half = abs(s) / 2
        pts += [half, -half]
        if m > 1:
            pts += [half + mpmath.log(m) / abs(s), -(half + mpmath.log(m) / abs(s))]
    return [-mpmath.inf] + sorted(set(pts)) + [mpmath.inf]


def _path_integral(which: int, s, n: int, dps: int, error: bool):
    n = _check_n(n)
    with mpmath.workdps(dps):
        s = mpmath.mpf(s)
        m = n - 2
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)

        def f(y):
            return _path_terms(y, s, m)[which] * mpmath.exp(-y * y / 2) * norm

        val, err = mpmath.quad(f, _path_breakpoints(s, m), error=True)
        return (+val, +err) if error else +val


def path_loss(s, n: int, *, dps: int = DEFAULT_DPS, error: bool = False):
    """L(s) = E|v|^2 on the symmetric path a = (s e_1, -s e_1, 0, ..., 0).

    With ``error=True`` returns (value, quadrature error estimate).
    """
    return _path_integral(0, s, n, dps, error)


def radial_gradient(s, n: int, *, dps: int = DEFAULT_DPS, error: bool = False):
    """g(s) = e_1 . dL/da_1 on the symmetric path (pathwise formula).

    dL/da_2 = -dL/da_1 at the construction, so dL/ds = 2 g(s) and
    g(s*) = 0 is the whole stationarity condition (the other components vanish
    by symmetry).
    """
    return _path_integral(1, s, n, dps, error)


def path_derivative(s, n: int, *, dps: int = DEFAULT_DPS, error: bool = False):
    """dL/ds on the symmetric path, from d/ds of v(s)^2 directly (not the
    pathwise gradient formula): an independent formula for 2 g(s)."""
    return _path_integral(2, s, n, dps, error)


@functools.lru_cache(maxsize=64)
def _stationary_radius_cached(n: int, dps: int) -> str:
    # A coarse scan at low precision brackets the sign change of g, which is
    # positive for small s (L rises from 0) and negative for large s.
    with mpmath.workdps(20):
        grid = [mpmath.mpf(k) / 4 for k in range(2, 60)]
        prev = None
        bracket = None
        for s in grid:
            g = radial_gradient(s, n, dps=20)
            if prev is not None and prev[1] > 0 and g < 0:
                bracket = (prev[0], s)
                break
            prev = (s, g)
    if bracket is None:
        raise ArithmeticError(f"no sign change of the radial gradient for n = {n} in s in [0.5, 15]")
    with mpmath.workdps(dps):
        root = mpmath.findroot(
            lambda s: radial_gradient(s, n, dps=dps), (mpmath.mpf(bracket[0]), mpmath.mpf(bracket[1])),
            solver="anderson", tol=mpmath.mpf(10) ** (-dps + 5), maxsteps=50, verify=False,
        )
        return mpmath.nstr(root, dps, strip_zeros=False)


def stationary_radius(n: int, *, dps: int = DEFAULT_DPS):
    """s*(n): the root of the radial gradient on the symmetric path.

    Returned as an mpf at the caller's working precision (parse it inside a
    wider ``workdps`` to keep all digits); computed at ``dps`` (about
    dps - 15 correct digits: the quadrature error of ``radial_gradient``
    divided by |g'(s*)|, which is of order 1).  Cached per (n, dps).
    """
    n = _check_n(n)
    return mpmath.mpf(_stationary_radius_cached(n, int(dps)))


def stationary_radius_str(n: int, *, dps: int = DEFAULT_DPS) -> str:
    """s*(n) as a decimal string with ``dps`` significant digits."""
    return _stationary_radius_cached(_check_n(n), int(dps))


def max_noise_level(M, n: int, *, dps: int = 30):
    """Largest noise level t at which the Theorem 3.1 point is within the initial range.

    The unscaled means sit at distance e^{t} s*(n) from mu*; they are within
    M = max_i |mu_i(0) - mu*| iff e^{-t} M >= s*, i.e. t <= log(M / s*(n)).
    Returns log(M / s*) as a float; a negative value means that no t >= 0
    works for this M (M < s*).  Raises ValueError for M <= 0.
    """
    if not (isinstance(M, (int, float, np.floating, np.integer)) or isinstance(M, mpmath.mpf)) or not M > 0:
        raise ValueError(f"M must be a positive number, got {M!r}")
    with mpmath.workdps(dps + 5):
        return float(mpmath.log(mpmath.mpf(M) / stationary_radius_reference(n)))


def expected_zero_modes(n: int, d: int) -> int:
    """Number of exactly zero Hessian eigenvalues at the construction.

    * Rotations about mu* (the loss is O(d)-invariant): the orbit's tangent
      space at (s e_1, -s e_1, 0, ..) is {(A s e_1, -A s e_1, 0..): A skew},
      of dimension d - 1.  Means at mu* = 0 are fixed by every rotation and
      add nothing; translations are not symmetries (mu* is fixed).
    * Splitting the cluster of m = n - 2 means at mu* off the axis: the
      perturbation a_j = c_j delta u (j >= 3) with sum_j c_j = 0 and u
      orthogonal to e_1 changes the softmax numerator and denominator only at
      second order, by delta^2 sum c_j^2 ((u.y)^2 - |u|^2, 2 u (u.y)), and the
      first variation of L in that direction is
      E[(2 v.u (u.y) - |v|^2 ((u.y)^2 - 1)) / Z] = 0 because u.y is
      independent of y_1 (on which v and Z depend) and has mean 0 and
      variance 1.  The mixed second derivatives with any other direction
      vanish for the same reason, so these are (m - 1)(d - 1) null vectors.
      They are not symmetries (the loss changes at fourth order).

    Total: (d - 1) + (n - 3)(d - 1) = (n - 2)(d - 1).
    """
    n = _check_n(n)
    d = _check_d(d)
    return (n - 2) * (d - 1)


# ---------------------------------------------------------------------------
# Full-dimensional evaluation without reduction to the span of the means
# ---------------------------------------------------------------------------


def random_rotation(d: int, seed: int) -> np.ndarray:
    """A fixed-seed rotation (det +1) of R^d, Haar-distributed."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


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

    D(h) = (L(a + h e) - L(a - h e)) / 2h has error c_2 h^2 + c_4 h^4 + ...;
    ``levels`` halvings of h are combined in a Richardson table.  ``dps=None``:
    float64 (``a`` an array, ``loss_fn`` takes an array); otherwise mpmath at
    ``dps``.  Returns (gradient, error estimate) of the shape of ``a``; the
    error estimate is the difference of the last two diagonal table entries.
    """
    if dps is None:
        a = np.array(a, dtype=np.float64)
        grad = np.zeros_like(a)
        err = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            table = []
            for lev in range(levels):
                hl = h / 2**lev
                plus, minus = a.copy(), a.copy()
                plus[idx] += hl
                minus[idx] -= hl
                row = [(loss_fn(plus) - loss_fn(minus)) / (2 * hl)]
                for j in range(1, lev + 1):
                    row.append(row[j - 1] + (row[j - 1] - table[lev - 1][j - 1]) / (4**j - 1))
                table.append(row)
            grad[idx] = table[-1][-1]
            err[idx] = abs(table[-1][-1] - table[-2][-2]) if levels > 1 else np.inf
        return grad, err
    with mpmath.workdps(dps):
        a = [[mpmath.mpf(x) for x in row] for row in a]
        h = mpmath.mpf(h)
        grad, err = [], []
        for i, row in enumerate(a):
            grow, erow = [], []
            for k in range(len(row)):
                table = []
                for lev in range(levels):
                    hl = h / 2**lev
                    plus = [r[:] for r in a]
                    minus = [r[:] for r in a]
                    plus[i][k] += hl
                    minus[i][k] -= hl
                    dcur = [(loss_fn(plus) - loss_fn(minus)) / (2 * hl)]
                    for j in range(1, lev + 1):
                        dcur.append(dcur[j - 1] + (dcur[j - 1] - table[lev - 1][j - 1]) / (4**j - 1))
                    table.append(dcur)
                grow.append(table[-1][-1])
                erow.append(abs(table[-1][-1] - table[-2][-2]) if levels > 1 else mpmath.inf)
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
                        seed: int = 0, finite_differences: bool = False) -> dict[str, GradientCheck]:
    """Full gradient at the construction with s = s*(n) + offset, without reduction to the span.

    The construction (in R^d) is rotated by a fixed-seed Haar rotation, so that
    no quadrature axis lies along the means, and the pathwise gradient of all
    n*d coordinates is integrated with a float64 tensor Gauss-Hermite rule
    (``nodes`` per axis; the error is measured against ``nodes + 40``).  With
    ``finite_differences`` the gradient is also obtained by Richardson central
    differences of the same rule's loss (h = 1e-3, 3 levels).

    float64, not mpmath: a d = 2 product rule in mpmath costs about 1 ms per node
    and needs >= 160^2 nodes for 1e-15 (the softmax transitions limit
    Gauss-Hermite), so minutes per gradient; float64 reaches the quadrature
    limit (measured ~1e-15) in a fraction of a second, far below the gradient
    ~3e-4 at s* +- 1e-3 that the check must tell apart from 0.
    """
    n = _check_n(n)
    d = _check_d(d)
    rot = random_rotation(d, seed)
    rule = ProductRule(d, nodes)
    fine = ProductRule(d, nodes + 40)
    s_star = stationary_radius_reference(n)
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


def path_second_derivative(n: int, *, dps: int = 30, step: str = "1e-8"):
    """L''(s*) on the symmetric path: central difference of dL/ds (mpmath, error ~ step^2)."""
    with mpmath.workdps(dps + 10):
        s = stationary_radius_reference(n)
        hh = mpmath.mpf(step)
        return (path_derivative(s + hh, n, dps=dps + 10) - path_derivative(s - hh, n, dps=dps + 10)) / (2 * hh)


def hessian_at_stationary_point(n: int, *, d: int = 2, nodes=(200, 24), h: float = 1e-3,
                                zero_tol: float | None = None) -> HessianResult:
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
    count is compared with :func:`expected_zero_modes`.
    """
    n = _check_n(n)
    d = _check_d(d)
    if d < 2:
        raise ValueError("the Hessian check needs d >= 2 (rotations and off-axis modes)")
    rule = ProductRule(d, (nodes[0],) + (nodes[1],) * (d - 1))
    s = float(stationary_radius_reference(n))
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
        col = ds[1] + (ds[1] - ds[0]) / 3
        rich = max(rich, float(np.abs(col - ds[1]).max()))
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


# ---------------------------------------------------------------------------
# Reference table of s*(n)
# ---------------------------------------------------------------------------

_TABLE_PATH = Path(__file__).resolve().parents[2] / "data" / "thm_3_1_stationary_radii.json"


@functools.lru_cache(maxsize=1)
def reference_table() -> dict[int, dict[str, str]]:
    """s*(n), L(s*) for n = 3..8 as computed at dps 70 (``generate_reference_table``).

    {n: {"s_star": str, "agreement_dps50": str, "loss": str}}.  Tests recompute
    entries; the table saves the claim and the figures a minute per n.
    """
    data = json.loads(_TABLE_PATH.read_text(encoding="utf-8"))
    return {int(k): v for k, v in data["radii"].items()}


def stationary_radius_reference(n: int):
    """s*(n) from the reference table when it has n (as an mpf at the caller's
    precision), else computed at ``DEFAULT_DPS``."""
    n = _check_n(n)
    table = reference_table()
    if n in table:
        return mpmath.mpf(table[n]["s_star"])
    return mpmath.mpf(stationary_radius_str(n, dps=DEFAULT_DPS))


def generate_reference_table(ns=range(3, 9), path=_TABLE_PATH) -> dict:
    """Recompute the table (about 40 s per n) and write it, marked as generated."""
    radii = {}
    for n in ns:
        s50 = stationary_radius_str(n, dps=50)
        s70 = stationary_radius_str(n, dps=70)
        with mpmath.workdps(80):
            agree = mpmath.nstr(abs(mpmath.mpf(s50) - mpmath.mpf(s70)), 3)
            loss = mpmath.nstr(path_loss(mpmath.mpf(s70), n, dps=70), 40)
        radii[str(n)] = {"s_star": s70, "agreement_dps50": agree, "loss": loss}
    out = {
        "_generated": "GENERATED by verify.stationary_points.generate_reference_table(); do not edit by hand. "
                      "s_star: root of the radial gradient at dps 70 (mpmath.quad + findroot); "
                      "agreement_dps50: |s*(dps 50) - s*(dps 70)|; loss: L(s*) at dps 70. "
                      "Source: Theorem 3.1 construction, arXiv 2511.22069 (scaled means, mu* = 0).",
        "radii": radii,
    }
    Path(path).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return out


# ---------------------------------------------------------------------------
# Collinear configurations (one dimension): search for other stationary points
# ---------------------------------------------------------------------------


def _collinear_breakpoints(a):
    pts = {mpmath.mpf(0)}
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            if a[i] != a[j]:
                pts.add((a[i] + a[j]) / 2)
    pts = [p for p in pts if abs(p) < 40]
    return [-mpmath.inf] + sorted(pts) + [mpmath.inf]


def _collinear_terms(y, a):
    lg = [ai * y - ai * ai / 2 for ai in a]
    top = max(lg)
    e = [mpmath.exp(x - top) for x in lg]
    z = mpmath.fsum(e)
    w = [ei / z for ei in e]
    v = mpmath.fdot(w, a)
    return w, v


def collinear_loss_mp(a, *, dps: int = 30):
    """L for scaled means a_1..a_n on a line through mu* = 0 (d = 1), mpmath.quad."""
    with mpmath.workdps(dps):
        a = [mpmath.mpf(x) for x in a]
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)

        def f(y):
            _, v = _collinear_terms(y, a)
            return v * v * mpmath.exp(-y * y / 2) * norm

        return +mpmath.quad(f, _collinear_breakpoints(a))


def collinear_grad_mp(a, *, dps: int = 30):
    """dL/da_i (pathwise) for collinear scaled means, one mpmath.quad per component."""
    with mpmath.workdps(dps):
        a = [mpmath.mpf(x) for x in a]
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)
        pts = _collinear_breakpoints(a)
        out = []
        for i in range(len(a)):
            def f(y, i=i):
                w, v = _collinear_terms(y, a)
                return 2 * w[i] * (v + v * (a[i] - v) * (y - a[i])) * mpmath.exp(-y * y / 2) * norm

            out.append(+mpmath.quad(f, pts))
        return out


@functools.lru_cache(maxsize=4)
def _gl_composite(T: float, panels: int, order: int):
    x, w = gauss_legendre(order)
    edges = np.linspace(-T, T, panels + 1)
    mid = (edges[1:] + edges[:-1]) / 2
    half = (edges[1:] - edges[:-1]) / 2
    y = (mid[:, None] + half[:, None] * x[None, :]).ravel()
    wt = (half[:, None] * w[None, :]).ravel() * np.exp(-y * y / 2) / math.sqrt(2 * math.pi)
    return y, wt


def collinear_grad_float(a) -> tuple[float, np.ndarray]:
    """(L, dL/da) for collinear scaled means, float64 composite Gauss-Legendre on
    [-14, 14] (tail < 1e-40; 560 panels of 8 nodes resolve transitions of width
    >= 0.05, i.e. |a_i - a_j| <= 20)."""
    a = np.asarray(a, dtype=np.float64)
    y, wq = _gl_composite(14.0, 560, 8)
    lg = y[:, None] * a[None, :] - a * a / 2
    lg -= lg.max(axis=1, keepdims=True)
    e = np.exp(lg)
    w = e / e.sum(axis=1, keepdims=True)
    v = w @ a
    loss = float(wq @ (v * v))
    g = 2 * (wq[:, None] * w * (v[:, None] + v[:, None] * (a[None, :] - v[:, None]) * (y[:, None] - a[None, :]))).sum(0)
    return loss, g


@dataclass
class SearchResult:
    """Stationary points found by Newton from ``starts`` starts in [-R, R]^n.

    ``points``: distinct stationary points with non-zero loss, each a dict with
    the means (decimal strings, sorted), loss, gradient residual (mpmath) and
    ``kind`` ("construction" if it is a permutation/reflection of
    (s*, -s*, 0, ..), else "other").  ``outcomes``: counts of how the starts
    ended (converged to L > 0 point, to the zero-loss point, diverged/stalled).
    """

    n: int
    starts: int
    region: float
    seed: int
    points: list
    outcomes: dict

    def summary(self) -> str:
        kinds = [p["kind"] for p in self.points]
        other = sum(1 for k in kinds if k == "other")
        return (f"n = {self.n}: {self.starts} starts in [-{self.region}, {self.region}]^{self.n}: "
                f"{len(self.points)} distinct stationary point(s) with L > 0 "
                f"({len(self.points) - other} of the construction's form, {other} other); outcomes {self.outcomes}")


def _canonical(a):
    """Sorted means up to reflection a -> -a (the loss is invariant under both)."""
    b = sorted(a)
    c = sorted(-x for x in a)
    return min(tuple(round(x, 6) for x in b), tuple(round(x, 6) for x in c))


def search_collinear(n: int, *, starts: int = 40, region: float = 4.0, seed: int = 0, dps: int = 30,
                     grad_tol: float = 1e-10, loss_tol: float = 1e-6) -> SearchResult:
    """Newton (scipy ``root``, hybrid method) on the collinear gradient from random starts.

    Starts are uniform in [-region, region]^n (fixed seed).  A start that ends
    with |grad| < ``grad_tol`` (float64) and L > ``loss_tol`` is refined with
    ``mpmath.findroot`` at ``dps`` and kept if the mpmath gradient residual is
    below 10^(-dps/2).  n = 2 is allowed (the construction needs n >= 3).
    """
    from scipy.optimize import root

    n = _check_n(n, minimum=1)
    rng = np.random.default_rng(seed)
    found: dict = {}
    outcomes = {"stationary_L>0": 0, "zero_loss": 0, "not_converged_or_escaped": 0}
    s_star = None
    if n >= 3:
        s_star = float(stationary_radius_reference(n))
    for _ in range(starts):
        x0 = rng.uniform(-region, region, size=n)
        sol = root(lambda x: collinear_grad_float(x)[1], x0, method="hybr", options={"xtol": 1e-13})
        x = sol.x
        if not np.all(np.isfinite(x)) or np.max(np.abs(x)) > 12:
            outcomes["not_converged_or_escaped"] += 1
            continue
        loss, g = collinear_grad_float(x)
        if np.max(np.abs(g)) > grad_tol:
            outcomes["not_converged_or_escaped"] += 1
            continue
        if loss <= loss_tol:
            outcomes["zero_loss"] += 1
            continue
        outcomes["stationary_L>0"] += 1
        key = _canonical(x)
        if key in found:
            continue
        with mpmath.workdps(dps):
            try:
                xr = mpmath.findroot(lambda *z: collinear_grad_mp(list(z), dps=dps), [mpmath.mpf(float(xi)) for xi in x],
                                     tol=mpmath.mpf(10) ** (-dps + 5))
                xr = [xr[i] for i in range(n)] if n > 1 else [xr]
            except (ValueError, ZeroDivisionError):
                xr = [mpmath.mpf(float(xi)) for xi in x]
            res = max(abs(gi) for gi in collinear_grad_mp(xr, dps=dps))
            lmp = collinear_loss_mp(xr, dps=dps)
            srt = sorted(xr)
            kind = "other"
            if s_star is not None:
                target = sorted([s_star, -s_star] + [0.0] * (n - 2))
                if all(abs(float(p) - q) < 1e-6 for p, q in zip(srt, target)):
                    kind = "construction"
            found[key] = {
                "means": [mpmath.nstr(xi, 20) for xi in srt],
                "loss": mpmath.nstr(lmp, 15),
                "residual": mpmath.nstr(res, 3),
                "kind": kind,
            }
    return SearchResult(n=n, starts=starts, region=region, seed=seed, points=list(found.values()), outcomes=outcomes)


# ---------------------------------------------------------------------------
# Dynamics near the point
# ---------------------------------------------------------------------------


@dataclass
class PlateauRun:
    """Gradient descent from the construction (``kick`` = 0) or kicked along ``direction``.

    ``loss``: recorded losses; ``loss_star``: L(s*); ``max_deviation``:
    max |loss - loss_star| over the run.
    """

    n: int
    d: int
    eta: float
    steps: int
    kick: float
    loss_star: float
    loss: np.ndarray
    max_deviation: float
    final_loss: float


def plateau_run(n: int, *, d: int = 2, eta: float = 0.1, steps: int = 300, kick: float = 0.0,
                direction=None, record_every: int = 10) -> PlateauRun:
    """Gradient descent on the scaled means (t = 0, mu* = 0) from the construction, with the
    engine's exact gradient (:func:`verify.simulate.descent.gradient_descent`).

    ``direction`` (n x d, normalised here) defaults to the symmetric-path
    direction (e_1, -e_1, 0, ..), a Hessian eigenvector with eigenvalue
    L''(s*)/2 < 0.
    """
    n = _check_n(n)
    d = _check_d(d)
    s = float(stationary_radius_reference(n))
    a0 = np.array(construction(n, s, d), dtype=np.float64)
    if direction is None:
        direction = np.zeros((n, d))
        direction[0, 0], direction[1, 0] = 1.0, -1.0
    direction = np.asarray(direction, dtype=np.float64).reshape(n, d)
    direction = direction / np.linalg.norm(direction)
    start = a0 + kick * direction
    loss_star = float(reference_table()[n]["loss"]) if n in reference_table() else float(path_loss(s, n, dps=30))
    traj = gradient_descent(start, np.zeros(d), 0.0, eta, steps, convention="scaled", record_every=record_every)
    losses = np.asarray(traj.loss, dtype=np.float64)
    return PlateauRun(n=n, d=d, eta=eta, steps=steps, kick=kick, loss_star=loss_star, loss=losses,
                      max_deviation=float(np.abs(losses - loss_star).max()), final_loss=float(losses[-1]))
