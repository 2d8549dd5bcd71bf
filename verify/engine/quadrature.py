"""Gaussian integrals of softmax integrands, with error estimates.

The expectations of the paper's model are integrals over z ~ N(0, I_k) of a
function of the logits  l_i(z) = B_i . z - C_i  (linear in z).  The softmax
of linear functions switches from one mean to another across the hyperplanes
l_i = l_j, in a layer of width 1/|B_i - B_j|: when means are far apart
the integrand is close to a Voronoi indicator and global (tensor
Gauss-Hermite) rules converge slowly.  This module integrates it as follows.

* The box [-R, R]^k, with R chosen so that a rigorous bound of the Gaussian
  tail outside it is below the requested accuracy (:func:`tail_bound`).
* Axis 0 (the direction in which the means are most spread) is integrated
  line by line.  Along a line the logits are linear in the coordinate s, so
  the transitions sit at known points  s_ij = (C_i - C_j - (B_i - B_j)_outer . p) / (B_i - B_j)_0
  with known widths  1/|B_i - B_j|_0.  Panels are graded geometrically around
  each transition (edges at s_ij +- width * 2^m), which keeps the nearest
  complex pole of the integrand (at distance ~ pi * width) a fixed multiple
  of the panel length away: Gauss-Legendre then converges geometrically on
  every panel, whatever the distance between the means.  Transitions where
  another logit dominates by more than ``ACTIVE_MARGIN`` nats contribute
  below the working precision and get no grading.
* The remaining k - 1 axes are integrated by a globally adaptive tensor
  Gauss-Legendre cubature over boxes (split where the error is largest).
* Error estimates: on every panel and box, a rule with N nodes is compared
  with one with 2N nodes and the difference is taken as the error of the
  2N-node value (conservative: the 2N-node rule is far more accurate), plus
  the tail bound, plus a rounding floor  64 * eps * sum |weight * integrand|.

The same code runs in float64 (numpy) and in mpmath (numpy object arrays of
mpf), chosen by a :class:`Backend`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import mpmath
import numpy as np

__all__ = ["Backend", "FLOAT64", "mp_backend", "AccuracyError", "integrate_gaussian", "tail_bound"]


class AccuracyError(ArithmeticError):
    """The requested accuracy could not be reached within the work budget."""


# -- backends -----------------------------------------------------------------


@lru_cache(maxsize=None)
def _gl_float(n: int):
    x, w = np.polynomial.legendre.leggauss(n)
    return x, w


@lru_cache(maxsize=None)
def _gl_mp(n: int, dps: int):
    """Gauss-Legendre nodes and weights on [-1, 1] to ``dps`` digits (Newton on P_n)."""
    with mpmath.workdps(dps + 15):
        xs, ws = [], []
        for i in range(1, n + 1):
            x = mpmath.cos(mpmath.pi * (i - mpmath.mpf(1) / 4) / (n + mpmath.mpf(1) / 2))
            for _ in range(100):
                p0, p1 = mpmath.mpf(1), x
                for k in range(2, n + 1):
                    p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
                dp = n * (x * p1 - p0) / (x * x - 1)
                dx = p1 / dp
                x -= dx
                if abs(dx) < mpmath.mpf(10) ** (-(dps + 12)):
                    break
            p0, p1 = mpmath.mpf(1), x
            for k in range(2, n + 1):
                p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
            dp = n * (x * p1 - p0) / (x * x - 1)
            xs.append(x)
            ws.append(2 / ((1 - x * x) * dp * dp))
    return np.array(xs, dtype=object), np.array(ws, dtype=object)


@dataclass(frozen=True)
class Backend:
    """Arithmetic for the quadrature: float64 or mpmath at ``dps`` digits."""

    name: str
    dps: int
    eps: float  # unit roundoff, as a float
    inner_order: int  # N of the (N, 2N) Gauss-Legendre pair on each inner panel
    outer_order: tuple  # N of the (N, 2N) pair per outer dimension, by number of outer dims
    active_margin: float  # nats: a transition dominated by more than this gets no grading

    @property
    def is_mp(self) -> bool:
        return self.name == "mpmath"

    def rule(self, n: int):
        if self.is_mp:
            return _gl_mp(n, self.dps)
        return _gl_float(n)

    def array(self, values):
        if self.is_mp:
            return np.array(values, dtype=object)
        return np.asarray(values, dtype=np.float64)

    def exp(self, x):
        if self.is_mp:
            return _mp_exp(x)
        return np.exp(x)

    def scalar(self, x):
        return mpmath.mpf(x) if self.is_mp else float(x)


_mp_exp = np.frompyfunc(mpmath.exp, 1, 1)

#: float64: on a panel graded as above the worst Bernstein-ellipse parameter
#: is about 5.8, so 10 nodes give ~5.8^-20 ~ 5e-16 and the (10, 20) pair's
#: difference is an honest estimate at the 1e-15 level.
FLOAT64 = Backend("float64", 16, 2.0**-52, 10, {1: 10, 2: 6, 3: 5}, 40.0)


def mp_backend(dps: int) -> Backend:
    """mpmath backend: the inner order N is chosen so 5.8^(-2N) <= 10^-(dps+5)."""
    n_inner = max(12, math.ceil((dps + 5) * math.log(10) / (2 * math.log(5.8))))
    n_outer = max(8, math.ceil(n_inner / 2))
    return Backend(
        "mpmath", dps, 10.0 ** (-dps), n_inner, {1: n_outer, 2: max(6, n_outer // 2), 3: max(5, n_outer // 3)},
        dps * math.log(10) + 10.0,
    )


# -- tail bound ---------------------------------------------------------------


def tail_bound(radius: float, k: int) -> float:
    """Upper bound of E[(1 + |z|) 1{z outside [-R, R]^k}] for z ~ N(0, I_k).

    Union over the coordinates j with |z_j| > R:  E[(1 + |z_j| + sum_{l != j} |z_l|) 1{|z_j| > R}]
    = P(|z_j| > R) (1 + (k - 1) sqrt(2/pi)) + 2 phi(R).
    """
    p = math.erfc(radius / math.sqrt(2.0))
    phi = math.exp(-radius * radius / 2) / math.sqrt(2 * math.pi)
    return k * (p * (1 + (k - 1) * math.sqrt(2 / math.pi)) + 2 * phi)


def radius_for(bound_scale: float, target: float, k: int) -> float:
    """Smallest R (on a grid of 0.25, at least 6) with bound_scale * tail_bound(R, k) <= target."""
    r = 6.0
    if bound_scale <= 0:
        return r
    while bound_scale * tail_bound(r, k) > target and r < 60:
        r += 0.25
    return r


# -- the integrator -----------------------------------------------------------


@dataclass
class Plan:
    """The rule an accurate evaluation settled on, to be reused at nearby configurations.

    ``kind``: "gh" (Gauss-Hermite on every axis), "lines-gh" (graded lines along
    axis 0, Gauss-Hermite across) or "boxes" (graded lines, adaptive boxes across).
    """

    kind: str
    orders: tuple = ()
    radius: float = 0.0
    boxes: tuple = ()


@dataclass
class Integral:
    value: np.ndarray  # (m,)
    error: np.ndarray  # (m,) absolute error estimate, componentwise (NaN when not estimated)
    nodes: int  # integrand evaluations
    radius: float
    plan: Plan | None = None


def _line_points(B, C, P, radius, backend: Backend, extra=()):
    """Panel edges along axis 0 for each line with outer coordinates P (L x (k-1)).

    Returns an (L x npts) sorted array of edges in [-R, R]."""
    n = B.shape[0]
    L = P.shape[0]
    R = backend.scalar(radius)
    base = [backend.scalar(-radius + i) for i in range(int(2 * radius) + 1)]
    if base[-1] != R:
        base.append(R)
    base += [backend.scalar(x) for x in extra]
    cols = [backend.array(np.broadcast_to(backend.array(base), (L, len(base))))]
    for i in range(n):
        for j in range(i + 1, n):
            db0 = B[i, 0] - B[j, 0]
            if db0 == 0:
                continue
            width = 1 / abs(db0)
            if width > 2 * radius:
                continue  # the transition is wider than the box: smooth there
            shift = C[i] - C[j]
            if P.shape[1]:
                s = (shift - P @ (B[i, 1:] - B[j, 1:])) / db0
            else:
                s = backend.array([shift / db0] * L)
            # Is the pair on top at its crossing?  Otherwise it is dominated.
            zc = np.empty((L, B.shape[1]), dtype=object if backend.is_mp else np.float64)
            zc[:, 0] = s
            if P.shape[1]:
                zc[:, 1:] = P
            logits = zc @ B.T - C
            top = logits.max(axis=1)
            active = (top - logits[:, i]) <= backend.active_margin
            # grade down from distance >= 1 (beyond it the unit base grid keeps every
            # panel at least its own length away from the transition)
            m = max(0, min(int(math.ceil(math.log2(1 / float(width)))), int(math.floor(math.log2(2 * radius / float(width))))))
            offs = [0] + [sgn * 2**e for e in range(m + 1) for sgn in (1, -1)]
            pts = s[:, None] + width * backend.array(offs)[None, :]
            pts = np.where(active[:, None], pts, R)
            cols.append(pts)
    pts = np.concatenate(cols, axis=1)
    pts = np.minimum(np.maximum(pts, -R), R)
    pts = np.sort(pts, axis=1)
    # drop panel columns that have zero length on every line
    keep = np.ones(pts.shape[1], dtype=bool)
    keep[1:] = np.any(pts[:, 1:] != pts[:, :-1], axis=0)
    return pts[:, keep]


def integrate_lines(f, B, C, P, radius, backend: Backend, chunk_nodes: int, dens_axes=None, fast=False, extra=()):
    """Integrate f(z) phi(z) over axis 0 on each line; returns (value, err, absval, nodes), each (L x m).

    ``dens_axes``: how many leading axes' Gaussian density f includes (all by default;
    1 when the outer axes are integrated by Gauss-Hermite, whose weights carry theirs).
    ``fast``: only the N-node rule on each panel, no estimate (err is returned as 0).
    An estimate |Q_N - Q_2N| made at a nearby configuration bounds the N-node
    rule's error there, since Q_2N is far more accurate."""
    edges = _line_points(B, C, P, radius, backend, extra)
    a, b = edges[:, :-1], edges[:, 1:]
    mid, half = (a + b) / 2, (b - a) / 2
    n1 = backend.inner_order
    x1, w1 = backend.rule(n1)
    x2, w2 = backend.rule(2 * n1)
    x = x1 if fast else np.concatenate([x1, x2])
    L, npan = a.shape
    q = P.shape[1]
    k = q + 1
    if dens_axes is None:
        dens_axes = k
    per_line = npan * len(x)
    lines_per_chunk = max(1, chunk_nodes // per_line)
    vals, errs, absv = [], [], []
    for start in range(0, L, lines_per_chunk):
        sl = slice(start, min(L, start + lines_per_chunk))
        Lc = sl.stop - sl.start
        s = mid[sl, :, None] + half[sl, :, None] * x[None, None, :]  # (Lc, npan, nq)
        Z = np.empty((Lc, npan, len(x), k), dtype=object if backend.is_mp else np.float64)
        Z[..., 0] = s
        if q:
            Z[..., 1:] = P[sl, None, None, :]
        Zf = Z.reshape(-1, k)
        F = f(Zf, dens_axes)  # (N, m), times the density of the first dens_axes axes
        m = F.shape[1]
        F = F.reshape(Lc, npan, len(x), m)
        hw1 = half[sl, :, None] * w1[None, None, :]
        hw2 = half[sl, :, None] * w2[None, None, :]
        lo = np.einsum("lpn,lpnm->lpm", hw1, F[:, :, :n1, :]) if not backend.is_mp else (hw1[..., None] * F[:, :, :n1, :]).sum(axis=2)
        if fast:
            vals.append(lo.sum(axis=1))
            errs.append(np.zeros_like(vals[-1]))
            absv.append(errs[-1])
            continue
        hi = np.einsum("lpn,lpnm->lpm", hw2, F[:, :, n1:, :]) if not backend.is_mp else (hw2[..., None] * F[:, :, n1:, :]).sum(axis=2)
        vals.append(hi.sum(axis=1))
        errs.append(np.abs(hi - lo).sum(axis=1))
        absv.append((np.abs(hw2)[..., None] * np.abs(F[:, :, n1:, :])).sum(axis=(1, 2)))
    return (np.concatenate(vals), np.concatenate(errs), np.concatenate(absv), L * per_line)


def _tensor_rule(q: int, n: int, backend: Backend):
    x, w = backend.rule(n)
    grids = np.meshgrid(*([np.arange(n)] * q), indexing="ij")
    idx = np.stack([g.ravel() for g in grids], axis=1)
    X = x[idx]  # (n^q, q)
    W = np.prod(w[idx], axis=1) if not backend.is_mp else np.array([mpmath.fprod(r) for r in w[idx]], dtype=object)
    return X, W


def integrate_gaussian(
    f,
    B,
    C,
    *,
    backend: Backend,
    accept,
    bound_scale: float,
    tail_target,
    max_boxes: int = 4000,
    chunk_nodes: int = 200_000,
    plan: Plan | None = None,
    hopeless=None,
) -> Integral:
    """Integrate ``f(Z, m) * phi(Z)`` over R^k (``f`` includes the density of the first m axes).

    ``B`` (n x k), ``C`` (n,) define the logits l = Z B^T - C whose softmax
    makes the integrand sharp.  ``accept(value, error) -> bool`` decides when
    the estimate is accurate enough; ``bound_scale`` bounds |f / phi| / (1 + |z|)
    and, with ``tail_target(value)``, fixes the truncation radius.  Raises
    :class:`AccuracyError` when ``max_boxes`` boxes do not suffice.

    With ``plan`` (from an earlier accurate evaluation at a nearby
    configuration) the same rule is applied once, without an error estimate
    (``error`` is NaN): the fast path of gradient descent, which re-estimates
    every few steps.  A plan the geometry has outgrown (sharper axes than its
    Gauss-Hermite orders were chosen for, a larger truncation radius needed)
    is not used: a full evaluation is made instead.
    """
    k = B.shape[1]
    if plan is not None and _plan_valid(plan, B, bound_scale, tail_target, k):
        return _apply_plan(f, B, C, k, plan, backend, chunk_nodes)
    res = _smooth_paths(f, B, C, k, backend, accept, bound_scale, tail_target, chunk_nodes, hopeless)
    if res is not None:
        return res
    radius = radius_for(bound_scale, tail_target(None), k)
    while True:
        tail = bound_scale * tail_bound(radius, k)
        res = _integrate_box(f, B, C, k, radius, tail, backend, accept, max_boxes, chunk_nodes, tail_target, hopeless)
        if tail <= tail_target(res.value) or radius >= 60:
            res.error = res.error + tail
            return res
        radius = radius_for(bound_scale, tail_target(res.value), k)


def _plan_valid(plan: Plan, B, bound_scale, tail_target, k) -> bool:
    if plan.kind in ("gh", "lines-gh"):
        slopes = np.array([float(x) for x in _axis_slopes(B)])
        axes = range(k) if plan.kind == "gh" else range(1, k)
        if len(plan.orders) != len(axes):
            return False
        for j, order in zip(axes, plan.orders):
            if slopes[j] > SMOOTH_SLOPE or _gh_order(float(slopes[j])) > order:
                return False
    elif plan.kind == "boxes":
        if plan.boxes[0].shape[1] != k - 1:
            return False
    elif plan.kind == "line" and k != 1:
        return False
    if plan.kind != "gh" and radius_for(bound_scale, tail_target(None), 1) > plan.radius:
        return False
    return True


def _apply_plan(f, B, C, k, plan: Plan, backend, chunk_nodes) -> Integral:
    if plan.kind == "gh":
        Z, W = _gh_tensor(list(plan.orders), backend)
        F = np.concatenate([f(Z[i:i + chunk_nodes], 0) for i in range(0, len(Z), chunk_nodes)])
        return Integral(W @ F, np.full(F.shape[1], np.nan), len(Z), float("inf"), plan)
    if plan.kind == "lines-gh":
        P, W = _gh_tensor(list(plan.orders), backend)
        F, _, _, nodes = integrate_lines(f, B, C, P, plan.radius, backend, chunk_nodes, dens_axes=1, fast=True)
        return Integral(W @ F, np.full(F.shape[1], np.nan), nodes, plan.radius, plan)
    if plan.kind == "line":
        P = np.empty((1, 0), dtype=object if backend.is_mp else np.float64)
        v, _, _, nodes = integrate_lines(f, B, C, P, plan.radius, backend, chunk_nodes, fast=True)
        return Integral(v[0], np.full(v.shape[1], np.nan), nodes, plan.radius, plan)
    lo, hi = plan.boxes
    q = k - 1
    no = backend.outer_order.get(q, 4)
    X2, W2 = _tensor_rule(q, 2 * no, backend)
    c, h = (lo + hi) / 2, (hi - lo) / 2
    vol = np.prod(h, axis=1)
    P = (c[:, None, :] + h[:, None, :] * X2[None]).reshape(-1, q)
    v, _, _, nodes = integrate_lines(f, B, C, P, plan.radius, backend, chunk_nodes, fast=True)
    val = ((W2[None, :, None] * v.reshape(lo.shape[0], -1, v.shape[1])).sum(axis=1) * vol[:, None]).sum(axis=0)
    return Integral(val, np.full(val.shape, np.nan), nodes, plan.radius, plan)


#: An axis along which every pair of logits has slope difference at most this
#: is "smooth": the integrand is analytic in a strip of half-width >= pi/1.5
#: around it and Gauss-Hermite converges fast.  The orders below are starting
#: points; each is checked by doubling it (and doubled again if needed).
SMOOTH_SLOPE = 1.5
_GH_ORDERS = ((1e-4, 3), (1e-2, 4), (0.05, 6), (0.1, 8), (0.25, 12), (0.5, 20), (1.0, 32), (SMOOTH_SLOPE, 48))


def _gh_order(slope: float) -> int:
    for bound, order in _GH_ORDERS:
        if slope <= bound:
            return order
    raise ValueError(slope)


@lru_cache(maxsize=None)
def _gh(n: int):
    """Gauss-Hermite nodes and weights for the standard normal density (weights sum to 1)."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return x, w / math.sqrt(2 * math.pi)


@lru_cache(maxsize=None)
def _gh_mp(n: int, dps: int):
    """As :func:`_gh` to ``dps`` digits: Newton on He_n from the float64 nodes.

    Weights n! / (n^2 He_{n-1}(x)^2) (normalised to sum to 1)."""
    with np.errstate(all="ignore"):  # only the nodes are used as starting points; weights overflow for n > ~380
        x0, _ = np.polynomial.hermite_e.hermegauss(n)
    with mpmath.workdps(dps + 15):
        def he(x):
            p0, p1 = mpmath.mpf(1), x
            for k in range(1, n):
                p0, p1 = p1, x * p1 - k * p0
            return p1, p0  # He_n, He_{n-1}

        xs, ws = [], []
        for xi in x0:
            x = mpmath.mpf(float(xi))
            for _ in range(100):
                p, pm = he(x)
                dx = p / (n * pm)  # He_n' = n He_{n-1}
                x -= dx
                if abs(dx) <= mpmath.mpf(10) ** (-(dps + 12)) * max(1, abs(x)):
                    break
            _, pm = he(x)
            xs.append(x)
            ws.append(mpmath.factorial(n) / (n * n * pm * pm))
        total = mpmath.fsum(ws)
        ws = [w / total for w in ws]
    return np.array(xs, dtype=object), np.array(ws, dtype=object)


@lru_cache(maxsize=None)
def _gh_tensor_cached(orders: tuple, dps: int):
    xs = [_gh(n) if dps == 0 else _gh_mp(n, dps) for n in orders]
    idx = np.stack([g.ravel() for g in np.meshgrid(*[np.arange(n) for n in orders], indexing="ij")], axis=1)
    X = np.stack([xs[j][0][idx[:, j]] for j in range(len(orders))], axis=1)
    W = xs[0][1][idx[:, 0]]
    for j in range(1, len(orders)):
        W = W * xs[j][1][idx[:, j]]
    return X, W


def _gh_tensor(orders, backend: Backend = FLOAT64):
    return _gh_tensor_cached(tuple(int(o) for o in orders), backend.dps if backend.is_mp else 0)


def _axis_slopes(B) -> np.ndarray:
    """max_{i<j} |B_i - B_j| along each axis: the sharpness of the softmax in that direction."""
    return (B.max(axis=0) - B.min(axis=0)) if B.shape[0] else np.zeros(B.shape[1])


def _smooth_paths(f, B, C, k, backend, accept, bound_scale, tail_target, chunk_nodes, hopeless=None):
    """Gauss-Hermite over the smooth axes; None if not applicable or not accurate.

    Raises :class:`AccuracyError` at once when the rounding bounds alone exceed the
    tolerance (``hopeless``): refining the rule, or the adaptive boxes after it, cannot help.

    Error estimate: for each GH axis j, the rule with that axis's order doubled
    (others fixed) is evaluated; sum_j |Q - Q_j| estimates the error of Q.
    """
    slopes = np.array([float(x) for x in _axis_slopes(B)])
    smooth = slopes <= SMOOTH_SLOPE
    if smooth.all():
        kind, axes = "gh", list(range(k))
    elif k > 1 and smooth[1:].all():
        kind, axes = "lines-gh", list(range(1, k))
    else:
        return None
    base = [_gh_order(float(slopes[j])) for j in axes]
    for factor in ((1, 2, 4) if backend.is_mp else (1, 2)):
        orders = [o * factor for o in base]
        rules = [orders] + [orders[:i] + [2 * orders[i]] + orders[i + 1:] for i in range(len(orders))]
        pts, wts = zip(*(_gh_tensor(r, backend) for r in rules))
        sizes = [len(w) for w in wts]
        P = np.concatenate(pts)
        radius = float("inf")
        if kind == "gh":
            F = np.concatenate([f(P[i:i + chunk_nodes], 0) for i in range(0, len(P), chunk_nodes)])
            Fe, line_abs, nodes = 0.0, np.abs(F), len(P)
        else:
            radius = radius_for(bound_scale, tail_target(None), 1)
            F, Fe, line_abs, nodes = integrate_lines(f, B, C, P, radius, backend, chunk_nodes, dens_axes=1)
            needed = radius_for(bound_scale, tail_target(wts[0] @ F[:sizes[0]]), 1)
            if needed > radius:  # the first radius was a guess made before the value was known
                radius = needed
                F, Fe, line_abs, nodes2 = integrate_lines(f, B, C, P, radius, backend, chunk_nodes, dens_axes=1)
                nodes += nodes2
        qs, off = [], 0
        for w, sz in zip(wts, sizes):
            qs.append(w @ F[off:off + sz])
            off += sz
        value = qs[0]
        w0 = np.abs(wts[0])
        error = sum(np.abs(q - value) for q in qs[1:]) + 64 * backend.eps * (w0 @ line_abs[:sizes[0]])
        if kind == "lines-gh":
            error = error + w0 @ Fe[:sizes[0]] + bound_scale * tail_bound(radius, 1)
        if accept(value, error):
            return Integral(value, error, nodes, radius, Plan(kind, tuple(orders), radius))
        if hopeless is not None and hopeless(value):
            raise _hopeless_error(value)
    return None


def _hopeless_error(value):
    return AccuracyError("the rounding bound of this precision alone exceeds the requested tolerance "
                         "(cancellation at these coordinates); ask for a larger tol or use the mpmath functions")


def _integrate_box(f, B, C, k, radius, tail, backend, accept, max_boxes, chunk_nodes, tail_target,
                   hopeless=None) -> Integral:
    q = k - 1
    if q == 0:
        P = np.empty((1, 0), dtype=object if backend.is_mp else np.float64)
        v, e, av, nodes = integrate_lines(f, B, C, P, radius, backend, chunk_nodes)
        err = e[0] + 64 * backend.eps * av[0]
        res = Integral(v[0], err, nodes, radius, Plan("line", (), radius))
        if tail > tail_target(v[0]):
            return res  # the truncation is too tight: the caller widens the box
        if hopeless is not None and hopeless(v[0]):
            raise _hopeless_error(v[0])
        if not accept(v[0], err + tail):
            raise AccuracyError(
                f"1-D quadrature reached error {_fmt(err)} (tail {tail:.1e}); "
                "the requested tolerance is below what this precision can deliver"
            )
        return res

    no = backend.outer_order.get(q, 4)
    X1, W1 = _tensor_rule(q, no, backend)
    X2, W2 = _tensor_rule(q, 2 * no, backend)
    R = backend.scalar(radius)
    cuts = [-R, backend.scalar(-2), backend.scalar(2), R]
    grids = np.meshgrid(*([np.arange(3)] * q), indexing="ij")
    idx = np.stack([g.ravel() for g in grids], axis=1)
    cuts_a = backend.array(cuts)
    lo = cuts_a[idx]
    hi = cuts_a[idx + 1]
    total_nodes = 0

    def eval_boxes(lo, hi):
        nonlocal total_nodes
        nb = lo.shape[0]
        c, h = (lo + hi) / 2, (hi - lo) / 2
        vol = np.prod(h, axis=1) if not backend.is_mp else np.array([mpmath.fprod(r) for r in h], dtype=object)
        P1 = (c[:, None, :] + h[:, None, :] * X1[None]).reshape(-1, q)
        P2 = (c[:, None, :] + h[:, None, :] * X2[None]).reshape(-1, q)
        P = np.concatenate([P1, P2])
        v, e, av, nodes = integrate_lines(f, B, C, P, radius, backend, chunk_nodes)
        total_nodes += nodes
        m = v.shape[1]
        n1 = P1.shape[0]
        v1 = v[:n1].reshape(nb, -1, m)
        v2 = v[n1:].reshape(nb, -1, m)
        e2 = e[n1:].reshape(nb, -1, m)
        a2 = av[n1:].reshape(nb, -1, m)
        q1 = (W1[None, :, None] * v1).sum(axis=1) * vol[:, None]
        q2 = (W2[None, :, None] * v2).sum(axis=1) * vol[:, None]
        inner = (np.abs(W2)[None, :, None] * e2).sum(axis=1) * np.abs(vol)[:, None]
        absval = (np.abs(W2)[None, :, None] * a2).sum(axis=1) * np.abs(vol)[:, None]
        return q2, np.abs(q2 - q1) + inner + 64 * backend.eps * absval

    vals, errs = eval_boxes(lo, hi)
    while True:
        value = vals.sum(axis=0)
        error = errs.sum(axis=0)
        if tail > tail_target(value) or accept(value, error + tail):
            # (a too-tight truncation is widened by the caller: refining boxes cannot help it)
            return Integral(value, error, total_nodes, radius, Plan("boxes", (), radius, (lo, hi)))
        if hopeless is not None and hopeless(value):
            raise _hopeless_error(value)
        if lo.shape[0] >= max_boxes:
            raise AccuracyError(
                f"adaptive cubature over {q} outer dimension(s) stopped at {lo.shape[0]} boxes "
                f"with error estimate {_fmt(error)}; the requested tolerance cannot be met"
            )
        # split the boxes that carry the largest errors (normalised per component)
        scale = np.abs(value) + error
        scale = np.where(scale == 0, 1, scale)
        norm_err = (errs / scale[None, :]).max(axis=1) if not backend.is_mp else np.array([max(r) for r in errs / scale[None, :]])
        order = np.argsort(-np.asarray(norm_err, dtype=float))
        cum = np.cumsum(np.asarray(norm_err, dtype=float)[order])
        nsplit = int(np.searchsorted(cum, 0.5 * cum[-1]) + 1)
        nsplit = min(nsplit, max_boxes - lo.shape[0]) or 1
        sel = order[:nsplit]
        rest = order[nsplit:]
        width = hi[sel] - lo[sel]
        dim = np.argmax(np.asarray(width, dtype=float), axis=1)
        mid = (lo[sel, dim] + hi[sel, dim]) / 2
        lo_a, hi_a = lo[sel].copy(), hi[sel].copy()
        lo_b, hi_b = lo[sel].copy(), hi[sel].copy()
        hi_a[np.arange(nsplit), dim] = mid
        lo_b[np.arange(nsplit), dim] = mid
        new_lo = np.concatenate([lo_a, lo_b])
        new_hi = np.concatenate([hi_a, hi_b])
        nv, ne = eval_boxes(new_lo, new_hi)
        lo = np.concatenate([lo[rest], new_lo])
        hi = np.concatenate([hi[rest], new_hi])
        vals = np.concatenate([vals[rest], nv])
        errs = np.concatenate([errs[rest], ne])


def _fmt(err) -> str:
    try:
        return f"{float(np.max(np.asarray(err, dtype=float))):.2e} (max component)"
    except Exception:  # pragma: no cover
        return str(err)
