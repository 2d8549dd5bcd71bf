"""Where the nested line integrals of :mod:`verify.engine.nested_lines` are not smooth, in closed form.

Frame coordinates y (z = U y); the innermost line runs along y_0, the outermost along
y_{k-1}.  The logits l_i = B_i . y - C_i are linear.  For a set S of cells (|S| = c + 1,
reference i0 = min S) the junction J_S = {l_i = l_i0 for i in S} is an affine subspace of
codimension c, written N y = h with N = B_S - B_i0 (c x k) and h = C_S - C_i0.

At level q the integrand is I_q(y_q; y_{q+1..}) = int dy_0..dy_{q-1} of the model times
the Gaussian density.  Two kinds of places need short panels there:

* crossings (c = q + 1): the q-dimensional slice {y_q = t, outer fixed} contains a point
  of J_S only at one t, the solution of N (y_0..y_q) = h - N_out y_out.  There I_q has a
  kink (for q = 0, the softmax transition itself) smoothed over a width
  |nu| / |nu . N[:, q]| with nu the left null vector of N[:, :q]: the distance (in nats)
  from the junction to the slice grows at that rate.  Graded panels resolve it.
* tilts (c <= q): J_S meets every slice; the Gaussian weight of the slice near J_S
  varies like exp(-gamma^2 (t - t*)^2 / 2), gamma^2 = g^T G^-1 g with g = N[:, q] and
  G = N[:, :q] N[:, :q]^T.  An entire function of t, of width 1/sqrt(1 + gamma^2), widened by
  the softmax to sqrt(1/(1 + gamma^2) + 1/|g|^2) (the issue's sqrt(delta^2 + |n_in|^2)/|n_out| for
  a face): uniform panels of twice that length over +-8 widths of its centre resolve it.

Both are relevant only where the cells of S are on top (within a margin in nats): the
compiled code checks that at each crossing point.  Everything here is per configuration
and frame; positions are affine in the outer coordinates, so only the maps are stored.
"""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import numpy as np
from numba import njit

__all__ = ["Features", "features", "pairs", "pair_slopes", "slope_drift"]


class Features:
    """Padded arrays for the compiled code (level q, feature j).

    crossings: cells (k, J, k + 1) int (-1 padded), M (k, J, k, k), h0 (k, J, k),
    width (k, J), count (k): the crossing's inner coordinates y_0..y_q are
    M[q, j, :q+1, :k-q-1] @ y_{q+1..} + h0[q, j, :q+1].
    tilts: cells, coef (k, T, k), c0 (k, T), width (k, T), count (k): centre
    coef[q, j, :k-q-1] @ y_{q+1..} + c0[q, j]; inner point at the centre for the top check:
    tin (k, T, k, k), tin0 (k, T, k) (inner coordinates as affine maps of y_q..y_{k-1})."""

    def __init__(self, k, jmax, tmax):
        self.k = k
        self.x_cells = -np.ones((k, jmax, k + 1), dtype=np.int64)
        self.x_M = np.zeros((k, jmax, k, k))
        self.x_h = np.zeros((k, jmax, k))
        self.x_width = np.zeros((k, jmax))
        self.x_count = np.zeros(k, dtype=np.int64)
        self.t_cells = -np.ones((k, tmax, k + 1), dtype=np.int64)
        self.t_coef = np.zeros((k, tmax, k))
        self.t_c0 = np.zeros((k, tmax))
        self.t_width = np.zeros((k, tmax))
        self.t_in = np.zeros((k, tmax, k, k + 1))  # inner coords = t_in[.., :q, :] @ (y_q..y_{k-1}, 1)
        self.t_count = np.zeros(k, dtype=np.int64)

    def arrays(self):
        return (self.x_cells, self.x_M, self.x_h, self.x_width, self.x_count,
                self.t_cells, self.t_coef, self.t_c0, self.t_width, self.t_in, self.t_count)


@lru_cache(maxsize=None)
def pairs(n: int):
    """(i, j) index arrays of the pairs i < j of n cells (np.triu_indices costs ~0.1 ms a call)."""
    iu, ju = np.triu_indices(n, 1)
    iu.setflags(write=False)
    ju.setflags(write=False)
    return iu, ju


def pair_slopes(B):
    """B_i - B_j for the pairs i < j: the logit slopes of the pairwise transitions."""
    iu, ju = pairs(B.shape[0])
    return B[iu] - B[ju]


def slope_drift(B, slopes) -> float:
    """How far the pairwise logit slopes moved from ``slopes``: max over pairs of |d(B_i - B_j)|,
    in nats per unit length (an axis turned or reordered by the reduction shows as a large one)."""
    now = pair_slopes(B)
    return float(np.max(np.linalg.norm(now - slopes, axis=1))) if now.shape == slopes.shape else math.inf


@lru_cache(maxsize=None)
def _subsets(n: int, kmax: int) -> np.ndarray:
    """Every set of 2..kmax+1 cells as rows (size, cells..., -1 padding)."""
    rows = []
    for size in range(2, min(n, kmax + 1) + 1):
        for S in itertools.combinations(range(n), size):
            rows.append([size, *S, *([-1] * (kmax + 1 - size))])
    return np.array(rows, dtype=np.int64).reshape(-1, kmax + 2)


@njit(cache=True)
def _inverse(M):
    """M^-1 if M (square) is well conditioned (smallest singular value above 1e-12 of the
    largest), else an empty matrix.  1 x 1 (a pair of cells: most of the calls) in closed form,
    the same numbers as the LAPACK route (|x| is its singular value, 1 / x its inverse), whose
    call overhead was most of _fill's time at n = 5, k = 3 (proofs_map.md gives the time)."""
    if M.shape[0] == 1:
        x = M[0, 0]
        if abs(x) > 1e-12 * abs(x):
            return np.full((1, 1), 1.0 / x)
        return np.empty((0, 0))
    if M.shape[0] == 2:
        # sigma_max^2 = (F + sqrt(F^2 - 4 D^2)) / 2 (F = |M|_F^2, D = det M), sigma_min = |D| / sigma_max
        a, b, c, e = M[0, 0], M[0, 1], M[1, 0], M[1, 1]
        D = a * e - b * c
        F = a * a + b * b + c * c + e * e
        smax2 = 0.5 * (F + math.sqrt(max(F * F - 4.0 * D * D, 0.0)))
        if abs(D) > 1e-12 * smax2:
            out = np.empty((2, 2))
            out[0, 0], out[0, 1], out[1, 0], out[1, 1] = e / D, -b / D, -c / D, a / D
            return out
        return np.empty((0, 0))
    sv = np.linalg.svd(M)[1]
    if sv[-1] > 1e-12 * sv[0]:
        return np.ascontiguousarray(np.linalg.inv(M))
    return np.empty((0, 0))


@njit(cache=True)
def _fill(B, C, SS, x_cells, x_M, x_h, x_width, x_count, t_cells, t_coef, t_c0, t_width, t_in, t_count):
    n, k = B.shape
    for r in range(SS.shape[0]):
        size = SS[r, 0]
        c = size - 1  # codimension
        i0 = SS[r, 1]
        N = np.empty((c, k))
        h = np.empty(c)
        for a in range(c):
            ia = SS[r, 2 + a]
            for j in range(k):
                N[a, j] = B[ia, j] - B[i0, j]
            h[a] = C[ia] - C[i0]
        # crossing at level q = c - 1: N[:, :c] (y_0..y_q) = h - N[:, c:] y_out
        q = c - 1
        if q < k:
            Nin = np.ascontiguousarray(N[:, :c])
            inv = _inverse(Nin)
            if inv.shape[0]:
                width = 0.0
                if q == 0:
                    width = 1.0 / abs(N[0, 0])
                elif q == 1:
                    # left null vector of the column N[:, 0]: (-N[1, 0], N[0, 0]), so the width is
                    # |N[:, 0]| / |det N[:, :2]| (the case below, in closed form)
                    det = N[0, 0] * N[1, 1] - N[1, 0] * N[0, 1]
                    width = math.hypot(N[0, 0], N[1, 0]) / abs(det) if det != 0.0 else 0.0
                else:
                    # left null vector of N[:, :q] ((q+1) x q): distance to the slice grows along it
                    vt = np.linalg.svd(np.ascontiguousarray(N[:, :q].T))[2]
                    rate = 0.0
                    nn = 0.0
                    for a in range(c):
                        rate += vt[c - 1, a] * N[a, q]
                        nn += vt[c - 1, a] ** 2
                    width = math.sqrt(nn) / abs(rate) if rate != 0.0 else 0.0
                if width > 0.0:
                    j = x_count[q]
                    for a in range(size):
                        x_cells[q, j, a] = SS[r, 1 + a]
                    for a in range(q + 1):
                        acc = 0.0
                        for b in range(c):
                            acc += inv[a, b] * h[b]
                        x_h[q, j, a] = acc
                        for o in range(k - q - 1):
                            acc = 0.0
                            for b in range(c):
                                acc -= inv[a, b] * N[b, q + 1 + o]
                            x_M[q, j, a, o] = acc
                    x_width[q, j] = width
                    x_count[q] += 1
        # tilts at the levels q > c - 1 (q >= c)
        for q in range(c, k):
            Nin = np.ascontiguousarray(N[:, :q])
            G = Nin @ Nin.T
            Gi = _inverse(G)
            if not Gi.shape[0]:
                continue
            g = np.ascontiguousarray(N[:, q])
            Gig = Gi @ g
            gam2 = 0.0
            gn = 0.0
            for a in range(c):
                gam2 += g[a] * Gig[a]
                gn += g[a] * g[a]
            # the Gaussian tilt of a sharp junction, widened by the softmax itself: along y_q the logit
            # differences of S change by |g| nats per unit, so nothing in I_q is narrower than 1/|g|
            width = math.sqrt(1.0 / (1.0 + gam2) + (1.0 / gn if gn > 0 else 1e300))
            j = t_count[q]
            for a in range(size):
                t_cells[q, j, a] = SS[r, 1 + a]
            # r0 = h - N_out y_out; centre of exp(-(gam2 (t - t*)^2 + t^2)/2) = g^T Gi r0 / (gam2 + 1)
            acc = 0.0
            for a in range(c):
                acc += Gig[a] * h[a]
            t_c0[q, j] = acc / (gam2 + 1.0)
            for o in range(k - q - 1):
                acc = 0.0
                for a in range(c):
                    acc -= Gig[a] * N[a, q + 1 + o]
                t_coef[q, j, o] = acc / (gam2 + 1.0)
            # min-norm inner point x = Nin^T Gi (h - g t - N_out y_out): affine in (t, y_out, 1)
            Pm = Nin.T @ Gi  # (q, c)
            for a in range(q):
                acc_t = 0.0
                acc_1 = 0.0
                for b in range(c):
                    acc_t -= Pm[a, b] * g[b]
                    acc_1 += Pm[a, b] * h[b]
                t_in[q, j, a, 0] = acc_t
                t_in[q, j, a, k - q] = acc_1
                for o in range(k - q - 1):
                    acc = 0.0
                    for b in range(c):
                        acc -= Pm[a, b] * N[b, q + 1 + o]
                    t_in[q, j, a, 1 + o] = acc
            t_width[q, j] = width
            t_count[q] += 1


def features(B, C) -> Features:
    """All crossing and tilt maps for logits l = B y - C (n x k, frame coordinates)."""
    B = np.ascontiguousarray(B, dtype=np.float64)
    C = np.ascontiguousarray(C, dtype=np.float64)
    n, k = B.shape
    SS = _subsets(n, k)
    jmax = max(1, max((math.comb(n, q + 2) for q in range(k)), default=1))
    tmax = max(1, sum(math.comb(n, c + 1) for c in range(1, k)))
    F = Features(k, jmax, tmax)
    if SS.size:
        _fill(B, C, SS, *F.arrays())
    return F
