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
  every panel, whatever the distance between the means (:mod:`.lines`).
* The remaining k - 1 axes are integrated by a globally adaptive tensor
  Gauss-Legendre cubature over boxes (split where the error is largest).
* Error estimates: on every panel and box, a rule with N nodes is compared
  with one with 2N nodes and the difference is taken as the error of the
  2N-node value (conservative: the 2N-node rule is far more accurate), plus
  the tail bound, plus a rounding floor  64 * eps * sum |weight * integrand|.

The same code runs in float64 (numpy) and in mpmath (numpy object arrays of
mpf), chosen by a :class:`~verify.engine.backend.Backend`.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from .backend import Backend, gauss_hermite_tensor, gauss_legendre_tensor
from .lines import integrate_lines, radius_for, tail_bound
from .tolerances import AccuracyError
from .work_budget import NodeBudget, _charge_lines, check_mp_logits, mp_budget

__all__ = ["Plan", "Integral", "integrate_gaussian", "SMOOTH_SLOPE"]

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
    groups=None,
    budget: NodeBudget | None = None,
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

    ``groups`` labels rows of ``B`` that form separate softmaxes (a mixture's student and
    ground-truth logits): only pairs within a group have transitions.  The smoothness tests
    below use the spread of all rows, which is conservative for groups.

    ``budget`` (:class:`NodeBudget`; on the mpmath path :func:`mp_budget` by default) is charged with
    each batch of integrand evaluations before it is made: beyond it, AccuracyError at once.
    """
    k = B.shape[1]
    if plan is not None and _plan_valid(plan, B, bound_scale, tail_target, k):
        return _apply_plan(f, B, C, k, plan, backend, chunk_nodes, groups)
    if budget is None and backend.is_mp:
        budget = mp_budget(B.shape[0])
    if backend.is_mp:
        check_mp_logits(B, C)
    res = _smooth_paths(f, B, C, k, backend, accept, bound_scale, tail_target, chunk_nodes, hopeless, groups, budget)
    if res is not None:
        return res
    radius = radius_for(bound_scale, tail_target(None), k)
    while True:
        tail = bound_scale * tail_bound(radius, k)
        res = _integrate_box(f, B, C, k, radius, tail, backend, accept, max_boxes, chunk_nodes, tail_target, hopeless,
                             groups, budget)
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


def _apply_plan(f, B, C, k, plan: Plan, backend, chunk_nodes, groups=None) -> Integral:
    if plan.kind == "gh":
        Z, W = gauss_hermite_tensor(tuple(plan.orders), backend.rule_dps)
        F = np.concatenate([f(Z[i:i + chunk_nodes], 0) for i in range(0, len(Z), chunk_nodes)])
        return Integral(W @ F, np.full(F.shape[1], np.nan), len(Z), float("inf"), plan)
    if plan.kind == "lines-gh":
        P, W = gauss_hermite_tensor(tuple(plan.orders), backend.rule_dps)
        F, _, _, nodes = integrate_lines(f, B, C, P, plan.radius, backend, chunk_nodes, dens_axes=1, fast=True,
                                         groups=groups)
        return Integral(W @ F, np.full(F.shape[1], np.nan), nodes, plan.radius, plan)
    if plan.kind == "line":
        P = np.empty((1, 0), dtype=object if backend.is_mp else np.float64)
        v, _, _, nodes = integrate_lines(f, B, C, P, plan.radius, backend, chunk_nodes, fast=True, groups=groups)
        return Integral(v[0], np.full(v.shape[1], np.nan), nodes, plan.radius, plan)
    lo, hi = plan.boxes
    q = k - 1
    no = backend.outer_order.get(q, 4)
    X2, W2 = gauss_legendre_tensor(q, 2 * no, backend.rule_dps)
    c, h = (lo + hi) / 2, (hi - lo) / 2
    vol = np.prod(h, axis=1)
    P = (c[:, None, :] + h[:, None, :] * X2[None]).reshape(-1, q)
    v, _, _, nodes = integrate_lines(f, B, C, P, plan.radius, backend, chunk_nodes, fast=True, groups=groups)
    val = ((W2[None, :, None] * v.reshape(lo.shape[0], -1, v.shape[1])).sum(axis=1) * vol[:, None]).sum(axis=0)
    return Integral(val, np.full(val.shape, np.nan), nodes, plan.radius, plan)


#: An axis along which every pair of logits has slope difference at most this
#: is "smooth": the integrand is analytic in a strip of half-width >= pi/1.5
#: around it and Gauss-Hermite converges fast.  The orders below are starting
#: points; each is checked by doubling it (and doubled again if needed).
SMOOTH_SLOPE = 1.5
#: err(Q) <= |Q - Q_j| + err(Q_j) <= |Q - Q_j| + err(Q) / 2 when doubling axis j's Gauss-Hermite order
#: at least halves the error (:func:`_smooth_paths`), so err(Q) <= 2 |Q - Q_j|
DOUBLING_SAFETY = 2.0
_GH_ORDERS = ((1e-4, 3), (1e-2, 4), (0.05, 6), (0.1, 8), (0.25, 12), (0.5, 20), (1.0, 32), (SMOOTH_SLOPE, 48))
#: The starting orders times these, in turn: each rung's rule is the previous rung's doubled one
#: (mpmath asks for more digits, so it gets one rung more).
ORDER_LADDER = {False: (1, 2), True: (1, 2, 4)}


def _gh_order(slope: float) -> int:
    for bound, order in _GH_ORDERS:
        if slope <= bound:
            return order
    raise ValueError(slope)


def _axis_slopes(B) -> np.ndarray:
    """max_{i<j} |B_i - B_j| along each axis: the sharpness of the softmax in that direction."""
    return (B.max(axis=0) - B.min(axis=0)) if B.shape[0] else np.zeros(B.shape[1])


def _smooth_paths(f, B, C, k, backend, accept, bound_scale, tail_target, chunk_nodes, hopeless=None, groups=None,
                  budget=None):
    """Gauss-Hermite over the smooth axes; None if not applicable or not accurate.

    Raises :class:`AccuracyError` at once when the rounding bounds alone exceed the
    tolerance (``hopeless``): refining the rule, or the adaptive boxes after it, cannot help.

    Error estimate: for each GH axis j, the rule with that axis's order doubled
    (others fixed) is evaluated; 2 sum_j |Q - Q_j| bounds the error of Q when doubling an
    order at least halves the error (below).
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
    for factor in ORDER_LADDER[backend.is_mp]:
        orders = [o * factor for o in base]
        rules = [orders] + [orders[:i] + [2 * orders[i]] + orders[i + 1:] for i in range(len(orders))]
        if kind == "lines-gh":
            radius = radius_for(bound_scale, tail_target(None), 1)
        n_pts = sum(int(np.prod(r)) for r in rules)
        if budget is not None and kind == "gh":  # before the rules, which cost seconds at high orders in mpmath
            budget.spend(n_pts)
        elif budget is not None:  # lines: at least the base grid's 2R panels each; refuse before the rules if that
            lower = n_pts * int(2 * radius) * backend.inner_order * 3  # is over, charge the exact count below
            if budget.spent + lower > budget.limit:
                budget.spend(lower)
        pts, wts = zip(*(gauss_hermite_tensor(tuple(r), backend.rule_dps) for r in rules))
        sizes = [len(w) for w in wts]
        P = np.concatenate(pts)
        if kind == "gh":
            radius = float("inf")
            F = np.concatenate([f(P[i:i + chunk_nodes], 0) for i in range(0, len(P), chunk_nodes)])
            Fe, line_abs, nodes = 0.0, np.abs(F), len(P)
        else:
            if budget is not None:
                _charge_lines(budget, B, C, P, radius, backend, groups)
            F, Fe, line_abs, nodes = integrate_lines(f, B, C, P, radius, backend, chunk_nodes, dens_axes=1,
                                                     groups=groups)
            needed = radius_for(bound_scale, tail_target(wts[0] @ F[:sizes[0]]), 1)
            if needed > radius:  # the first radius was a guess made before the value was known
                radius = needed
                if budget is not None:
                    _charge_lines(budget, B, C, P, radius, backend, groups)
                F, Fe, line_abs, nodes2 = integrate_lines(f, B, C, P, radius, backend, chunk_nodes, dens_axes=1,
                                                          groups=groups)
                nodes += nodes2
        qs, off = [], 0
        for w, sz in zip(wts, sizes):
            qs.append(w @ F[off:off + sz])
            off += sz
        value = qs[0]
        w0 = np.abs(wts[0])
        # |Q - Q_j| estimates Q's error only as far as Q_j is exact; if doubling an axis's order at
        # least halves the rule's error on it (Gauss-Hermite on an analytic integrand: the error falls
        # like exp(-c sqrt(order)), far more than halved), err(Q) <= |Q - Q_j| + err(Q) / 2 gives the 2
        error = (DOUBLING_SAFETY * sum(np.abs(q - value) for q in qs[1:])
                 + 64 * backend.eps * (w0 @ line_abs[:sizes[0]]))
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
                   hopeless=None, groups=None, budget=None) -> Integral:
    q = k - 1
    if q == 0:
        P = np.empty((1, 0), dtype=object if backend.is_mp else np.float64)
        if budget is not None:
            _charge_lines(budget, B, C, P, radius, backend, groups)
        v, e, av, nodes = integrate_lines(f, B, C, P, radius, backend, chunk_nodes, groups=groups)
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
    X1, W1 = gauss_legendre_tensor(q, no, backend.rule_dps)
    X2, W2 = gauss_legendre_tensor(q, 2 * no, backend.rule_dps)
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
        if budget is not None:
            _charge_lines(budget, B, C, P, radius, backend, groups)
        v, e, av, nodes = integrate_lines(f, B, C, P, radius, backend, chunk_nodes, groups=groups)
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
        norm_err = ((errs / scale[None, :]).max(axis=1) if not backend.is_mp
                    else np.array([max(r) for r in errs / scale[None, :]]))
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
    except (TypeError, ValueError):  # an mpf error list numpy cannot cast: print it as it is
        return str(err)
