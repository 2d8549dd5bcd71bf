"""Gaussian integrals along lines, graded at the softmax transitions, and the tail bound.

Along a line (axis 0 of the reduced coordinates, the others fixed) the logits are linear in the
coordinate s, so the softmax transitions sit at known points
s_ij = (C_i - C_j - (B_i - B_j)_outer . p) / (B_i - B_j)_0 with known widths 1/|B_i - B_j|_0.
Panels are graded geometrically around each transition (edges at s_ij +- width * 2^m), which
keeps the nearest complex pole of the integrand (at distance ~ pi * width) a fixed multiple of
the panel length away: Gauss-Legendre then converges geometrically on every panel, whatever the
distance between the means.  Transitions where another logit dominates by more than the
backend's ``active_margin`` nats contribute below the working precision and get no grading.
On every panel an N-node rule is compared with a 2N-node one; the difference is the error
estimate of the 2N-node value (conservative: the 2N-node rule is far more accurate).

:func:`integrate_lines` is public: the polar check (:mod:`verify.checks.grids`) integrates its
rays with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from .backend import Backend
from .tolerances import AccuracyError, BelowRangeError, RangeError

__all__ = ["FLOAT64_AMAX", "FLOAT64_AMIN", "FLOAT64_TINY", "check_float64_range", "check_float64_low",
           "check_float64_scale", "tail_bound", "single_gaussian_bound_scale", "radius_for", "integrate_lines"]


def tail_bound(radius: float, k: int) -> float:
    """Upper bound of E[(1 + |z|) 1{z outside [-R, R]^k}] for z ~ N(0, I_k).

    Union over the coordinates j with |z_j| > R:  E[(1 + |z_j| + sum_{l != j} |z_l|) 1{|z_j| > R}]
    = P(|z_j| > R) (1 + (k - 1) sqrt(2/pi)) + 2 phi(R).
    """
    p = math.erfc(radius / math.sqrt(2.0))
    phi = math.exp(-radius * radius / 2) / math.sqrt(2 * math.pi)
    return k * (p * (1 + (k - 1) * math.sqrt(2 / math.pi)) + 2 * phi)


#: The largest amax = max_i |a_i| the float64 engine takes: every bound it forms is a few times
#: amax^3 at most (the bound scale amax + 2 amax^3; the nested rule's Kb, below
#: 2 amax + 4 amax^2 (|z| + amax) on its box; the rounding columns' |s_i| (|z| + amax) ~ amax^3),
#: so 64 amax^3 stays below float64's largest number (beyond it they overflow to inf and the
#: estimates to NaN).  Larger configurations are refused; the mpmath functions take them.
FLOAT64_AMAX = (np.finfo(np.float64).max / 64) ** (1 / 3)


def check_float64_range(amax: float, what: str = "max_i |mu_i - mu*| e^-t") -> None:
    """Refuse (RangeError, an AccuracyError) a configuration whose scale ``what`` is beyond FLOAT64_AMAX
    (or not finite)."""
    if not amax <= FLOAT64_AMAX:
        raise RangeError(f"{what} = {amax:.3g} is beyond the float64 engine's range "
                            f"({FLOAT64_AMAX:.3g}: its bounds, ~amax^3, would overflow); use the mpmath functions")


#: float64's smallest normal number, 2^-1022: below it a rounding errs by up to 2^-1075 absolutely,
#: not by a relative eps / 2, and the engine's rounding bounds are all relative.
FLOAT64_TINY = float(np.finfo(np.float64).tiny)

#: The smallest nonzero largest coordinate max_ij |a_ij| the float64 engine's quadrature takes
#: (the coordinate, since the norm underflows to 0 below ~1e-162; amax >= it): the quantities
#: that dominate the loss and the gradient are |a|^2-level (the loss |v|^2, the gradient's
#: w_i (v.(a_i - v))(Qz - a_i)), and the engine certifies no loss far below eps amax^2 (its
#: rounding bounds, relative to those terms, ~64 eps amax^2, then exceed the tolerance: a
#: cancellation refusal).  amax^2 >= 2^-1022 2^52 keeps these terms a factor 2^52 inside the normal
#: range, so each rounding bound (>= eps |term| ~ 2^-1022 or so) stays a factor ~2^50 above the
#: 2^-1075 that an underflowing operation can add, for the few hundred operations per node.  Below
#: it the previous engine returned wrong values with estimate 0 (README's example at t = 360:
#: 1.8e-9 relative error, estimate 0; at t = 370: 0.0 for 2.3e-324).  The k = 0 closed form
#: (all means at one point) counts subnormal roundings absolutely and is not refused; e^-t itself
#: must be normal (check_float64_scale).
FLOAT64_AMIN = 2.0**-485


def check_float64_low(amax: float, what: str) -> None:
    """Refuse (BelowRangeError, an AccuracyError) a configuration whose scale ``what`` is nonzero but
    below FLOAT64_AMIN; amax = 0 (every scaled mean at m*) passes."""
    if 0 < amax < FLOAT64_AMIN:
        raise BelowRangeError(f"{what} = {amax:.3g} is below the float64 engine's range ({FLOAT64_AMIN:.3g}: its "
                              f"squares would round below float64's normal numbers); "
                              "use the mpmath functions (loss_mp etc.)")


def check_float64_scale(s: float, offsets) -> None:
    """Refuse (BelowRangeError) e^-t = ``s`` below float64's normal range (t > ~708.4) when any of
    ``offsets`` (mu_i - mu*) is nonzero: s then carries an absolute rounding of up to 2^-1075, not
    the relative one the engine counts, and a = s (mu - mu*) is wrong or 0."""
    if s < FLOAT64_TINY and np.any(np.asarray(offsets) != 0):
        raise BelowRangeError(f"e^-t = {s:.3g} is below float64's normal numbers ({FLOAT64_TINY:.3g}), so the scaled "
                              f"means would be wrong; use the mpmath functions (loss_mp etc.)")


def single_gaussian_bound_scale(amax):
    """The single Gaussian's integrand is at most this times (1 + |z|), componentwise.

    |loss integrand| = |v|^2 <= amax^2 and |g_i / 2| <= amax + 2 amax^2 (|z| + amax), so
    max(amax^2, amax + 2 amax^3, 2 amax^2) serves; amax + 2 amax^3 is always the largest
    (it exceeds amax^2 and 2 amax^2 by amax (1 - amax + 2 amax^2) > 0 and amax (1 - 2 amax + 2 amax^2) > 0).
    """
    return amax + 2 * amax**3


def radius_for(bound_scale: float, target: float, k: int) -> float:
    """Smallest R (on a grid of 0.25, at least 6) with bound_scale * tail_bound(R, k) <= target."""
    r = 6.0
    if bound_scale <= 0:
        return r
    while bound_scale * tail_bound(r, k) > target and r < 60:
        r += 0.25
    return r


#: The most levels one transition's grading may have (edges at s +- width 2^e, e = e0 .. m).  Only
#: mpmath reaches it (float64's slopes stay below ~2^1024: at most ~1030 levels); there every level
#: costs at least 3 N >= 36 integrand evaluations on a line, so 4096 levels cost >= 1.5e5, beyond the
#: work budget of any pair of logits (work_budget.mp_budget(2): 7.5e4), which refuses them first
#: (:func:`verify.engine.work_budget._charge_lines`); the cap guards the calls without a budget.
MAX_GRADING_LEVELS = 4096


@dataclass
class Grading:
    """One softmax transition's grading along axis 0: edges at s +- width 2^e, e = e0 .. m, on the
    lines where ``active``.  On the active line nearest the box's centre every level has an edge in
    the box distinct from the others' (below e0 they round to s or fall outside the box), so
    ``levels`` is a lower bound of the panels of that line."""

    s: object  # (L,) transition centres
    width: object
    e0: int
    m: int
    active: object  # (L,) bool

    @property
    def levels(self) -> int:
        return self.m - self.e0 + 1


def _log2(x, mp: bool) -> float:
    """log2 of a positive number; of an mpf without float64's range (its value fits a float)."""
    return float(mpmath.log(x, 2)) if mp else math.log2(x)


def _gradings(B, C, P, radius, backend: Backend, groups=None) -> list:
    """The transitions :func:`_line_points` grades (:class:`Grading`): pairs of competing logits whose
    transition is sharper than the box, on top at their crossing on some line, with a level whose
    edges reach into the box and differ from s at the working precision."""
    n, L = B.shape[0], P.shape[0]
    mp = backend.is_mp
    R = backend.scalar(radius)
    prec = mpmath.mp.prec if mp else 53  # bits of the working precision
    out = []
    for i in range(n):
        same = np.ones(n, dtype=bool) if groups is None else np.asarray(groups) == groups[i]
        for j in range(i + 1, n):
            if not same[j]:
                continue  # rows of different softmaxes never compete
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
            zc = np.empty((L, B.shape[1]), dtype=object if mp else np.float64)
            zc[:, 0] = s
            if P.shape[1]:
                zc[:, 1:] = P
            logits = zc @ B.T - C
            top = logits[:, same].max(axis=1)
            active = (top - logits[:, i]) <= backend.active_margin
            if not np.any(active):
                continue
            # grade down from distance >= 1 (beyond it the unit base grid keeps every panel at least
            # its own length away from the transition); log2(1 / width) in mpmath for mpf (float64
            # underflows beyond slopes of ~2^1074)
            if mp:
                lw, lbox = _log2(1 / width, True), _log2(2 * R / width, True)
            else:
                lw, lbox = math.log2(1 / float(width)), math.log2(2 * radius / float(width))
            m = max(0, min(int(math.ceil(lw)), int(math.floor(lbox))))
            # the lowest level with an edge in the box on some active line: the one with the smallest
            # |s| (both bounds below grow with |s|).  Below it s +- width 2^e rounds to s (width 2^e
            # < |s| 2^-(prec + 1)), or both edges lie beyond the box's edge (width 2^e <= |s| - R).
            a = min(abs(x) for x in s[active])
            e0 = 0
            if a > 0:
                e0 = max(e0, int(math.ceil(_log2(a, mp) - prec - 1 + lw)))
            if a > R:
                e0 = max(e0, int(math.floor(_log2(a - R, mp) + lw)) + 1)
            if e0 <= m:
                out.append(Grading(s, width, e0, m, active))
    return out


def _line_points(B, C, P, radius, backend: Backend, extra=(), groups=None, gradings=None):
    """Panel edges along axis 0 for each line with outer coordinates P (L x (k-1)).

    ``groups`` (one label per row of B): rows that form separate softmaxes (a mixture's student
    and ground truth); transitions are graded, and judged active, within a group only.
    ``gradings``: :func:`_gradings` of the same arguments, if already made.
    Returns an (L x npts) sorted array of edges in [-R, R]."""
    L = P.shape[0]
    R = backend.scalar(radius)
    base = [backend.scalar(-radius + i) for i in range(int(2 * radius) + 1)]
    if base[-1] != R:
        base.append(R)
    base += [backend.scalar(x) for x in extra]
    cols = [backend.array(np.broadcast_to(backend.array(base), (L, len(base))))]
    for g in _gradings(B, C, P, radius, backend, groups) if gradings is None else gradings:
        if g.levels > MAX_GRADING_LEVELS:
            raise AccuracyError(
                f"a softmax transition along the line axis needs {g.levels} grading levels (its width is "
                f"2^{-g.m} or so), beyond MAX_GRADING_LEVELS = {MAX_GRADING_LEVELS}: refused (at least "
                f"{g.levels * 3 * backend.inner_order:.1e} integrand evaluations)")
        # width 2^e as an mpf with any exponent (2**e, a Python int, would not fit in memory)
        steps = [mpmath.ldexp(g.width, e) for e in range(g.e0, g.m + 1)] if backend.is_mp else \
            [g.width * 2**e for e in range(g.e0, g.m + 1)]
        offs = backend.array([0 * g.width] + [sgn * x for x in steps for sgn in (1, -1)])
        pts = g.s[:, None] + offs[None, :]
        pts = np.where(g.active[:, None], pts, R)
        cols.append(pts)
    pts = np.concatenate(cols, axis=1)
    pts = np.minimum(np.maximum(pts, -R), R)
    pts = np.sort(pts, axis=1)
    # drop panel columns that have zero length on every line
    keep = np.ones(pts.shape[1], dtype=bool)
    keep[1:] = np.any(pts[:, 1:] != pts[:, :-1], axis=0)
    return pts[:, keep]


def integrate_lines(f, B, C, P, radius, backend: Backend, chunk_nodes: int, dens_axes=None, fast=False, extra=(),
                    groups=None):
    """Integrate f(z) phi(z) over axis 0 on each line; returns (value, err, absval, nodes), each (L x m).

    ``dens_axes``: how many leading axes' Gaussian density f includes (all by default;
    1 when the outer axes are integrated by Gauss-Hermite, whose weights carry theirs).
    ``fast``: only the N-node rule on each panel, no estimate (err is returned as 0).
    ``groups``: rows of B forming separate softmaxes (see :func:`_line_points`).
    An estimate |Q_N - Q_2N| made at a nearby configuration bounds the N-node
    rule's error there, since Q_2N is far more accurate."""
    edges = _line_points(B, C, P, radius, backend, extra, groups)
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
        lo = (np.einsum("lpn,lpnm->lpm", hw1, F[:, :, :n1, :]) if not backend.is_mp
              else (hw1[..., None] * F[:, :, :n1, :]).sum(axis=2))
        if fast:
            vals.append(lo.sum(axis=1))
            errs.append(np.zeros_like(vals[-1]))
            absv.append(errs[-1])
            continue
        hi = (np.einsum("lpn,lpnm->lpm", hw2, F[:, :, n1:, :]) if not backend.is_mp
              else (hw2[..., None] * F[:, :, n1:, :]).sum(axis=2))
        vals.append(hi.sum(axis=1))
        errs.append(np.abs(hi - lo).sum(axis=1))
        absv.append((np.abs(hw2)[..., None] * np.abs(F[:, :, n1:, :])).sum(axis=(1, 2)))
    return (np.concatenate(vals), np.concatenate(errs), np.concatenate(absv), L * per_line)
