"""Population expectations of the model: the loss L_t and its gradient, exactly.

Reduction to the span (the reason every expectation is a k-dimensional
Gaussian integral with k <= min(d, n - 1)).  With a_i = m_i - m* and
y = x - m* ~ N(0, I_d), the logits are

    l_i(y) = a_i . y - |a_i|^2 / 2,

and the softmax only sees their differences
l_i - l_r = D_i . y - C_i with D_i = a_i - a_r and C_i = D_i . (a_i + a_r) / 2,
where the reference r is the mean nearest m* (so v = a_r + sum_j w_j D_j loses
no digits when a far mean has negligible weight).
So the weights depend on y only through its projection z = Q^T y on the span
of the D_i (orthonormal basis Q, d x k, from an SVD: axis 0 is the direction
of largest spread).  The component of y orthogonal to that span is
independent of z with mean zero, so it drops out of every expectation.

With v = sum_i w_i a_i the integrands are

    loss:      |v|^2
    gradient:  g_i = 2 [ w_i v + w_i (v . (a_i - v)) (Q z - a_i) ]   (scaled means; pathwise form)

(see :func:`verify.engine.model.pathwise_grad_integrand`; the SymPy check in
``tests/test_gradcheck_sympy.py`` proves it is d|v|^2/da_i).

All quantities are built from the differences D_i, computed from the
unscaled inputs, so no logit carries a common large term (huge coordinates) and,
in mpmath, exponentially close means stay apart; what the logits' terms lose where
they cancel (far transitions) is bounded per node (:mod:`verify.engine.rounding`).
When the means form a smooth cluster whose centroid c sits nearer m* than a_r
does (Theorem 2.1's tail, v ~ spread^2), float64 forms v = c + sum_i (w_i - 1/n)(a_i - c) instead, with c and
a_i - c from exactly rounded sums and w_i - 1/n from expm1 of the centred logits
(:func:`_use_centred`); every node carries a bound of its rounding either way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from .backend import FLOAT64, Backend
from .junctions import pairs
from .lines import check_float64_low, check_float64_range, check_float64_scale, single_gaussian_bound_scale
from .nested import nested_expectations, use_nested
from .quadrature import SMOOTH_SLOPE, integrate_gaussian
from .work_budget import mp_chunk_nodes
from .rounding import logit_rounding
from .time_limit import check_time
from .tolerances import AccuracyError, gradient_scale

__all__ = ["Reduced", "reduce_float", "reduce_mp", "population_expectations"]

#: what the first float64 range check (verify.engine.lines.FLOAT64_AMAX) measures: the largest
#: coordinate of the scaled offsets; population_expectations then checks max_i |mu_i - mu*| e^-t
COORDINATE = "max_ij |mu_ij - mu*_j| e^-t"


@dataclass
class Reduced:
    """The model reduced to the span of the mean differences."""

    n: int
    d: int
    k: int
    a: np.ndarray  # (n, d) a_i = m_i - m*
    a_ref: np.ndarray  # (d,) the reference mean a_r: the one nearest m*
    D: np.ndarray  # (n, d) a_i - a_r
    Q: np.ndarray  # (d, k)
    B: np.ndarray  # (n, k) Q^T D_i
    C: np.ndarray  # (n,)   D_i . (a_i + a_0) / 2
    amax: float  # max_i |a_i| (a float from reduce_float, an mpf from reduce_mp), for the tail bound
    scale: object  # e^{-t}
    c: np.ndarray | None = None  # (d,) the centroid (1/n) sum_i a_i, correctly rounded (float64 only)
    E: np.ndarray | None = None  # (n, d) a_i - c, correctly rounded (float64 only)


def _reference_index(norms) -> int:
    """The mean nearest m*: v = a_r + sum_j w_j (a_j - a_r) then loses no digits when that mean
    carries the weight and the others are far (a far reference would cost |a_r| * eps in v)."""
    return int(min(range(len(norms)), key=lambda i: norms[i]))


def reduce_float(mu: np.ndarray, mu_star: np.ndarray, t: float, *, rotation=None) -> Reduced:
    """Reduce to the span of the differences.  ``rotation`` (k x k orthogonal) turns the
    reduced basis: another node set for the same integral (used by the accuracy checks)."""
    n, d = mu.shape
    s = math.exp(-t)
    with np.errstate(over="ignore", invalid="ignore"):
        a = s * (mu - mu_star)
        check_float64_scale(s, mu - mu_star)  # e^-t subnormal or 0: a would be wrong
    # before any square can overflow: the largest coordinate (the norms, checked in
    # population_expectations, need squares)
    check_float64_range(float(np.max(np.abs(a))) if a.size else 0.0, COORDINATE)
    r = _reference_index(np.linalg.norm(a, axis=1))
    D = s * (mu - mu[r])
    if n > 1:
        # The basis from all pairwise differences (not those from one reference mean): its first
        # axis is the direction of largest spread and its last ones the smoothest, which is what
        # the quadrature wants (graded lines along axis 0, Gauss-Hermite across when smooth).
        iu, ju = pairs(n)
        _, sig, vt = np.linalg.svd(D[iu] - D[ju], full_matrices=False)
        # drop directions whose spread is below float64's resolution of the
        # largest one: their effect on the logits is < 1e-17 relative.
        keep = sig > 1e-17 * (sig[0] if sig.size else 0.0)
        keep &= sig > 0
        Q = vt[keep].T
    else:
        Q = np.zeros((d, 0))
    if Q.shape[1] > 1:  # sharpest axis first (pairwise slope range along each axis)
        Bq = D @ Q
        Q = Q[:, np.argsort(-(Bq.max(axis=0) - Bq.min(axis=0)), kind="stable")]
    if rotation is not None and Q.shape[1]:
        Q = Q @ np.asarray(rotation, dtype=float)
    k = Q.shape[1]
    B = D @ Q
    C = 0.5 * np.einsum("ij,ij->i", D, a + a[r])
    amax = float(np.max(np.linalg.norm(a, axis=1)))
    # The centroid and the offsets from it, each from one exactly rounded sum of the inputs
    # (math.fsum), so a cluster whose centre sits much nearer m* than its spread keeps both.
    # (on lists: the same exactly rounded sums, without numpy's per-element overhead)
    cols, star = mu.T.tolist(), mu_star.tolist()
    c = np.array([s * math.fsum([*cols[j], *([-star[j]] * n)]) / n for j in range(d)])
    neg = [[-x for x in col] for col in cols]
    E = np.array([[s * math.fsum([*([cols[j][i]] * n), *neg[j]]) / n for j in range(d)] for i in range(n)])
    return Reduced(n, d, k, a, a[r].copy(), D, Q, B, C, amax, s, c, E)


def reduce_mp(mu, mu_star, t) -> Reduced:
    """mu: n lists of d mpf; mu_star: d mpf; t: mpf (at the current working precision)."""
    n, d = len(mu), len(mu_star)
    s = mpmath.exp(-t)
    a = np.array([[s * (mu[i][j] - mu_star[j]) for j in range(d)] for i in range(n)], dtype=object)
    r = _reference_index([mpmath.fsum(x * x for x in row) for row in a])
    D = np.array([[s * (mu[i][j] - mu[r][j]) for j in range(d)] for i in range(n)], dtype=object)
    Q = np.zeros((d, 0), dtype=object)
    if n > 1:
        # The basis comes from the unscaled differences (collinear inputs stay exactly
        # collinear; scaling by e^{-t} would add rounding across the line).  Directions
        # whose spread is at the rounding level of the inputs are dropped: they move the
        # logits by less than the working precision.
        U = [[mu[i][j] - mu[r][j] for j in range(d)] for i in range(n) if i != r]
        if any(x != 0 for row in U for x in row):
            M = mpmath.matrix(U)
            _, S, V = mpmath.svd_r(M)
            sig = [S[i] for i in range(min(M.rows, M.cols))]
            smax = max(sig)
            size = max(abs(x) for row in mu for x in row)
            thresh = max(smax * mpmath.mpf(10) ** (-(mpmath.mp.dps + 10)),
                         size * mpmath.mpf(10) ** (-(mpmath.mp.dps - 3)))
            cols = [i for i, x in enumerate(sig) if x > thresh]
            cols.sort(key=lambda i: -sig[i])
            Q = np.array([[V[i, j] for i in cols] for j in range(d)], dtype=object).reshape(d, len(cols))
    k = Q.shape[1]
    B = D @ Q if k else np.zeros((n, 0), dtype=object)
    C = np.array([sum(D[i, j] * (a[i, j] + a[r, j]) for j in range(d)) / 2 for i in range(n)], dtype=object)
    amax = max(mpmath.sqrt(sum(x * x for x in row)) for row in a)  # an mpf: its powers never overflow
    return Reduced(n, d, k, a, a[r].copy(), D, Q, B, C, amax, s)


def _use_centred(red: Reduced) -> bool:
    """Form v = sum_j w_j a_j around the centroid instead of around the reference mean?

    Two forms of v, each with a rounding bound eps8 * Sw (see the integrand):
    reference, v = a_r + sum_j w_j D_j, Sw = |a_r| + sum_j w_j |D_j|: right when one mean
    carries the weight and the others are far (a far reference would cost |a_r| eps);
    centred, v = c + sum_j (w_j - 1/n) E_j, Sw ~ |c| + sum_j |w_j - 1/n| |E_j|: right for a
    cluster whose centroid sits much nearer m* than its spread (Theorem 2.1's tail, where
    v ~ spread^2 and the reference form loses a factor 1/spread^2 of relative accuracy).
    One form per configuration (switching node by node would put rounding-level jumps into the
    integrand, which the quadrature's error estimates then chase): the centred one when the
    softmax is smooth (logit differences at most 1 at z = 0 and axis slopes <= SMOOTH_SLOPE, so
    expm1 of the logits cannot overflow within any truncation radius) and its bound at z = 0 is
    the smaller.
    """
    if red.c is None or red.k == 0:
        return False
    B, C, n = red.B, red.C, red.n
    u0 = -(C - C.mean())
    if float(np.max(B.max(axis=0) - B.min(axis=0))) > SMOOTH_SLOPE or float(np.max(np.abs(u0))) > 1:
        return False
    w0 = np.exp(u0) / np.exp(u0).sum()
    x0 = np.expm1(u0)
    W0 = (x0 - x0.mean()) / (n + x0.sum())
    beta0 = n * np.max(np.abs(x0)) / (n + x0.sum())
    sw_ref = np.linalg.norm(red.a_ref) + w0 @ np.linalg.norm(red.D, axis=1)
    sw_c = np.linalg.norm(red.c) + (np.abs(W0) + beta0) @ np.linalg.norm(red.E, axis=1)
    return bool(sw_c < sw_ref)


def integrand(red: Reduced, backend: Backend, with_grad: bool):
    n, d, k = red.n, red.d, red.k
    B, C, D, Q, A, a_ref = red.B, red.C, red.D, red.Q, red.a, red.a_ref
    two_pi = backend.scalar(2 * mpmath.pi if backend.is_mp else 2 * math.pi)
    norms = {m: two_pi ** (-backend.scalar(m) / 2) for m in range(1, k + 1)}

    Dn = np.array([backend.scalar(mpmath.sqrt(sum(x * x for x in row))) if backend.is_mp else float(np.linalg.norm(row))
                   for row in D], dtype=object if backend.is_mp else float)
    a_refn = Dn[0] * 0 + (mpmath.sqrt(sum(x * x for x in a_ref)) if backend.is_mp else float(np.linalg.norm(a_ref)))
    eps8 = 8 * backend.eps
    An = np.array([mpmath.sqrt(sum(x * x for x in row)) if backend.is_mp else float(np.linalg.norm(row)) for row in A],
                  dtype=object if backend.is_mp else float)

    centred = _use_centred(red) if not backend.is_mp else False
    if centred:
        c, E = red.c, red.E
        cn = float(np.linalg.norm(c))
        En = np.linalg.norm(E, axis=1)

    def f(Z, dens_axes):
        check_time()  # every batch of nodes: a run inside a time limit stops here (engine/time_limit.py)
        N = Z.shape[0]
        l0 = Z @ B.T - C
        l = l0 - l0.max(axis=1)[:, None]
        Ex = backend.exp(l)
        w = Ex / Ex.sum(axis=1)[:, None]
        # v = sum_j w_j a_j, in the form _use_centred chose for this configuration.
        if centred:
            # Centred form, v = c + sum_j W_j E_j with W_j = w_j - 1/n computed as
            # (expm1(u_j) - mean expm1(u)) / sum e^u (u = logits minus their mean), accurate
            # relative to itself: |dW_j| <= eps8 (|W_j| + n max|expm1 u| / sum e^u) =: eps8 (|W_j| + beta).
            # Then |dv| <= eps8 * Sw with Sw = |c| + sum_j (|W_j| + beta) |E_j|.
            u = l - l.mean(axis=1)[:, None]
            xm = np.expm1(u)
            Su = n + xm.sum(axis=1)
            W = (xm - xm.mean(axis=1)[:, None]) / Su[:, None]
            beta = n * np.abs(xm).max(axis=1) / Su
            X = W @ E  # v - c; a_i - v = E_i - X
            v = c[None, :] + X
            Sw = cn + (np.abs(W) + beta[:, None]) @ En
            Xn = En[None, :]
            weta = logit_rounding(Z, B, C, l0, np.abs(l) + np.abs(u), w, backend.eps)
            base_n = cn
        else:
            # Reference form, v = a_r + sum_j w_j D_j: |dv| <= eps8 * Sw, Sw = |a_r| + sum_j w_j |D_j|.
            X = w @ D  # v - a_r; a_i - v = D_i - X
            v = a_ref[None, :] + X
            Sw = a_refn + w @ Dn
            Xn = Dn[None, :]
            weta = logit_rounding(Z, B, C, l0, np.abs(l), w, backend.eps)
            base_n = a_refn
        # the logits' own rounding: |dw_j| <= w_j eta_j more (verify.engine.rounding); the perturbed
        # weights sum to 1 as well, so sum_j dw_j off_j = sum_j dw_j (off_j - X) and
        # |dv| <= eps8 Sw + sum_j w_j eta_j |off_j - X|; X = v - base alone errs by that less the
        # base's share: |dX| <= eps8 (Sw - |base|) + sum_j w_j eta_j |off_j - X|
        OX = (E if centred else D)[None, :, :] - X[:, None, :]
        OXn = (OX * OX).sum(axis=2)
        OXn = OXn**0.5 if not backend.is_mp else np.frompyfunc(mpmath.sqrt, 1, 1)(OXn)
        extra = (weta * OXn).sum(axis=1)
        dv = eps8 * Sw + extra
        dX = eps8 * (Sw - base_n) + extra
        vv = (v * v).sum(axis=1)
        vn = vv ** 0.5 if not backend.is_mp else np.array([mpmath.sqrt(x) for x in vv], dtype=object)
        # |v|^2 computed from v + dv:  error <= 2 |v| |dv| + |dv|^2
        rho_loss = 2 * dv * vn + dv**2
        if dens_axes == 0:
            phi = 1
        else:
            Zd = Z[:, :dens_axes]
            phi = norms[dens_axes] * backend.exp(-(Zd * Zd).sum(axis=1) / 2)
        if not with_grad:
            out = np.stack([vv, rho_loss], axis=1)
            return out * (phi[:, None] if dens_axes else 1)
        # s_i = v . (a_i - v), a_i - v = off_i - X with off = D (reference form) or E (centred)
        s = v @ (E if centred else D).T - (v * X).sum(axis=1)[:, None]
        Xnorm = ((X * X).sum(axis=1) ** 0.5 if not backend.is_mp
                 else np.array([mpmath.sqrt(x) for x in (X * X).sum(axis=1)], dtype=object))
        ws = w * s
        Qz = Z @ Q.T
        G = w[:, :, None] * v[:, None, :] + ws[:, :, None] * (Qz[:, None, :] - A[None, :, :])
        zn = ((Z * Z).sum(axis=1) ** 0.5 if not backend.is_mp
              else np.array([mpmath.sqrt(x) for x in (Z * Z).sum(axis=1)], dtype=object))
        # mean i's integrand is w_i [v + s_i (Qz - a_i)]: s_i = v . off_i - v . X errs by |ds_i| <= (|dv| + eps8 |v|)
        # (|off_i| + |X|) + |v| |dX| + eps8 |s_i|, multiplied by |Qz - a_i| <= |z| + |a_i|, plus dv itself
        ds = (dv + eps8 * vn)[:, None] * (Xn + Xnorm[:, None]) + (vn * dX)[:, None] + eps8 * np.abs(s)
        rho_grad = w * (dv[:, None] + ds * (zn[:, None] + An[None, :]))
        # and the weight w_i itself errs by w_i eta_i more: times |v + s_i (Qz - a_i)|
        rho_grad = rho_grad + weta * (vn[:, None] + np.abs(s) * (zn[:, None] + An[None, :]))
        out = np.concatenate([vv[:, None], G.reshape(N, n * d), rho_loss[:, None], rho_grad], axis=1)
        return out * (phi[:, None] if dens_axes else 1)

    return f


@dataclass
class Expectations:
    loss: object
    loss_err: object
    grad_scaled: np.ndarray | None  # (n, d)
    grad_scaled_err: np.ndarray | None
    k: int
    nodes: int
    radius: float
    plan: object = None  # the quadrature rule used (see verify.engine.quadrature.Plan)


def population_expectations(red: Reduced, *, tol, backend: Backend = FLOAT64, with_grad: bool = True,
                            max_boxes: int = 4000, plan=None, scales=None, max_nodes: int | None = None,
                            budget=None) -> Expectations:
    """L_t and (optionally) dL_t/dm_i to relative accuracy ``tol`` (see :mod:`verify.engine.reference`).

    With ``plan`` (returned by an earlier call at a nearby configuration) the
    same rule is applied without an error estimate (errors are NaN): the fast
    path of :func:`verify.simulate.descent.gradient_descent`.  ``scales`` = (|L|, gradient scale)
    of a nearby earlier result, if known, saves the nested path its pilot evaluation.  Work
    budgets: ``max_boxes`` (the adaptive boxes of :mod:`.quadrature`), ``max_nodes`` (integrand
    evaluations of the nested path, :mod:`.nested`), ``budget`` (the mpmath path's NodeBudget, to share one).
    """
    n, d, k = red.n, red.d, red.k
    amax = red.amax
    if not backend.is_mp:
        check_float64_range(amax)
        if k or np.any(red.D != 0):
            # the quadrature's rounding bounds are relative: refused where its |a|^2-level terms
            # would fall below float64's normal range.  Not the k = 0 closed form of coinciding
            # means, which counts that absolutely; but k = 0 with distinct means (their differences'
            # SVD underflowed, e.g. a ~ 1e-174) would be wrongly taken as coinciding: refused too.
            # (on the largest coordinate: the norm amax underflows to 0 below ~1e-162)
            check_float64_low(float(np.max(np.abs(red.a))), COORDINATE)
    if k == 0:
        # all means coincide: the weights are uniform, v = a_0 everywhere
        a_ref = red.a_ref
        # (no quadrature: the errors are the rounding of these few operations, u = eps / 2 each, and
        # of s = e^-t, which libm's exp does not promise to round correctly (glibc's manual, "Known
        # Maximum Errors in Math Functions"): taken within an ulp, 2u, as rounding.expm1_up takes
        # libm's expm1.  a = s (mu - mu*) is then within 2u + u + u = 4u, so a^2 within 8u, then d
        # squares and d - 1 additions, (d + 8) u to first order and (d + 9) u with room for the
        # higher orders; g = 2 a / n: 4u + u = 5u, written 3 eps with the same room; in float64 a
        # result below the normal range also errs by up to 2^-1075 per rounding, absolutely: the
        # last terms)
        tiny = 0.0 if backend.is_mp else 2.0**-1070
        loss = (a_ref * a_ref).sum()
        loss_err = (d + 9) * backend.eps / 2 * loss + d * tiny
        if not with_grad:
            return Expectations(loss, loss_err, None, None, 0, 0, 0.0)
        g = np.array([[2 * a_ref[j] / n for j in range(d)] for _ in range(n)], dtype=a_ref.dtype)
        return Expectations(loss, loss_err, g, 3 * backend.eps * np.abs(g) + tiny, 0, 0, 0.0)

    bound_scale = single_gaussian_bound_scale(amax)

    # Columns of the integrand: [loss, gradient (n*d) if with_grad, rounding bound of the loss,
    # rounding bound of each mean's gradient components (n, if with_grad)].
    def split(value, error):
        if with_grad:
            rho_g = np.repeat(np.abs(value[-n:]), d)  # per mean, for each of its d components
            return (value[0], error[0] + abs(value[-n - 1]), value[1:-n - 1], error[1:-n - 1] + rho_g)
        return value[0], error[0] + abs(value[-1]), None, None

    # The gradient's accuracy is relative to verify.engine.tolerances.gradient_scale: its largest
    # component, or where it vanishes (a stationary point) the loss over the means' scale.  G below
    # is half the gradient, so its scale is that of half the loss.
    def hopeless(value):
        """The rounding bounds alone exceed the tolerance: no quadrature refinement can help."""
        L, rL, G, rG = split(value, value * 0)
        gs = gradient_scale(G, L / 2, amax) if with_grad else None
        return rL > tol * abs(L) or (with_grad and max(rG) > tol * gs)

    def accept(value, error):
        L, eL, G, eG = split(value, error)
        L = abs(L)
        if eL > tol * L:
            return False
        if with_grad:
            gscale = gradient_scale(G, L / 2, amax)
            if max(eG) > tol * gscale:
                return False
        return True

    def tail_target(value):
        # the tail bound applies to every component: it must sit well below
        # the smallest of the accuracies that accept() asks for
        if value is None:
            return 1e-3 * float(tol) * amax**2
        L = float(abs(value[0]))
        if with_grad:
            L = min(L, float(gradient_scale(value[1:-n - 1], L / 2, amax)))
        return 0.1 * float(tol) * L

    try:
        if use_nested(red, backend, plan):
            # sharp axes in float64: nested graded lines, compiled (engine/nested.py)
            res = nested_expectations(red, tol=tol, with_grad=with_grad, accept=accept, hopeless=hopeless,
                                      tail_target=tail_target, plan=plan, scales=scales,
                                      centred=_use_centred(red),
                                      **({} if max_nodes is None else {"max_nodes": max_nodes}))
        else:
            f = integrand(red, backend, with_grad)
            # (mpmath: batches sized to keep memory in bounds, and a work budget, verify.engine.work_budget)
            chunk = {"chunk_nodes": mp_chunk_nodes(n, d + 2)} if backend.is_mp else {}
            res = integrate_gaussian(f, red.B, red.C, backend=backend, accept=accept, bound_scale=bound_scale,
                                     tail_target=tail_target, max_boxes=max_boxes, plan=plan, hopeless=hopeless,
                                     budget=budget, **chunk)
    except AccuracyError as exc:
        raise AccuracyError(f"{exc} (n={n}, d={d}, k={k}, tol={float(tol):.1e})") from None
    loss, loss_err, G, Ge = split(res.value, res.error)
    if not with_grad:
        return Expectations(loss, loss_err, None, None, k, res.nodes, res.radius, res.plan)
    return Expectations(loss, loss_err, 2 * G.reshape(n, d), 2 * Ge.reshape(n, d), k, res.nodes, res.radius, res.plan)
