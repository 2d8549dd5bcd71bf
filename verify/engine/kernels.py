"""The integrand of :mod:`verify.engine.expectation`, compiled (numba), one node at a time.

Same formulas, same rounding bounds, same column layout as
``verify.engine.expectation.integrand`` (float64 backend):

    [ |v|^2,  G_i (n x d, half the pathwise gradient integrand),  rho_loss,  rho_grad_i (n) ]

with G_i = w_i v + w_i (v . (a_i - v)) (Qz - a_i), and v formed either around the
reference mean (v = a_r + sum_j w_j D_j) or around the centroid
(v = c + sum_j (w_j - 1/n) E_j, the weights' offsets from expm1 of centred logits);
``_use_centred`` in :mod:`verify.engine.expectation` chooses one form per configuration.
The density is not included: the callers multiply by the Gaussian weights.

Why compiled: the numpy integrand spends most of its time in per-call overhead and
temporaries; here the graded lines of :mod:`verify.engine.nested_lines` call it from compiled
code, so no Python runs per node or per line (the time a node costs, before and after, is in
proofs_map.md, "Where an evaluation's time goes now").

Why one packed array: every array argument of a compiled call costs a reference-count
update, so the model is one float64 vector ``P`` read through fixed offsets, and the scratch
space one vector ``S`` (the cost of separate arrays, measured: proofs_map.md, same place).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .rounding import SMALL, TINY

__all__ = ["Model", "model_arrays", "evaluate_nodes", "integrand", "cell_values"]


class Model:
    """The reduced model packed for the compiled code, in frame coordinates y (z = frame @ y).

    ``P`` = [B (n x k) | C (n) | Qf (d x k) | A (n x d) | |A_i| (n) | off (n x d) | |off_i| (n) |
    base (d) | |base|, 8 eps, centred, with_grad]; v = base + sum_j cf_j off_j."""

    def __init__(self, B, C, Qf, A, off, base, centred, with_grad):
        n, d = A.shape
        k = B.shape[1]
        self.n, self.d, self.k = n, d, k
        self.B, self.C = B, C
        self.with_grad = with_grad
        self.m = (1 + n * d + 1 + n) if with_grad else 2
        scal = [float(np.linalg.norm(base)), 8 * 2.0**-52, 1.0 if centred else 0.0, 1.0 if with_grad else 0.0]
        self.P = np.ascontiguousarray(np.concatenate([
            B.ravel(), C, Qf.ravel(), A.ravel(), np.linalg.norm(A, axis=1), off.ravel(),
            np.linalg.norm(off, axis=1), base, scal]), dtype=np.float64)


def model_arrays(red, frame, *, with_grad: bool, centred: bool) -> Model:
    """``red``: a float64 :class:`verify.engine.expectation.Reduced`; ``frame``: k x k orthogonal."""
    B = np.asarray(red.B @ frame, dtype=np.float64)
    Qf = np.asarray(red.Q @ frame, dtype=np.float64)
    A = np.asarray(red.a, dtype=np.float64)
    off, base = (red.E, red.c) if centred else (red.D, red.a_ref)
    return Model(B, np.asarray(red.C, dtype=np.float64), Qf, A, np.asarray(off, dtype=np.float64),
                 np.asarray(base, dtype=np.float64), centred, with_grad)


@njit(cache=True, nogil=True)
def _softmax(S, sw, n, lmax):
    """S[sw:sw+n]: the logits (lmax their largest) -> the weights, in place."""
    tot = 0.0
    for i in range(n):
        e = math.exp(S[sw + i] - lmax)
        S[sw + i] = e
        tot += e
    for i in range(n):
        S[sw + i] /= tot


@njit(cache=True, nogil=True)
def expm1_up(x):
    """An upper bound of e^x - 1 for x >= 0 (verify.engine.rounding.expm1_up, the same formula):
    x (1 + x) below SMALL, expm1 above, times 1 + 2^-50 (the logits' rounding is ~1e-14 nats, so
    the polynomial serves at almost every node, and saves the call to libm's expm1: proofs_map.md
    gives the time saved)."""
    if x < SMALL:
        return x * (1.0 + x) * (1.0 + 2.0**-50) + TINY
    return math.expm1(x) * (1.0 + 2.0**-50) + TINY


@njit(cache=True, nogil=True)
def integrand(y, P, n, k, d, S, f):
    """Write the integrand's columns at the node y (frame coordinates, length k) into f.
    S: scratch of length 4 n + 3 d."""
    oB = 0
    oC = oB + n * k
    oQ = oC + n
    oA = oQ + d * k
    oAn = oA + n * d
    oO = oAn + n
    oOn = oO + n * d
    ob = oOn + n
    osc = ob + d
    basen, eps8 = P[osc], P[osc + 1]
    centred = P[osc + 2] != 0.0
    with_grad = P[osc + 3] != 0.0
    # S: l / w (0..n), cf (n..2n), s (2n..3n), X (3n..3n+d), v (.. +d), Qz (.. +d)
    # ... and the logits' rounding, then the weights' relative error from it (3n + 3d .. 4n + 3d)
    sw, sc, sX, sv, sQ, sl = 0, n, 3 * n, 3 * n + d, 3 * n + 2 * d, 3 * n + 3 * d
    u = eps8 / 16.0  # the unit roundoff
    gamma = k * u / (1.0 - k * u)
    lmax = -1e308
    lsum = 0.0
    for i in range(n):
        acc = -P[oC + i]
        sabs = abs(P[oC + i]) if k > 1 else 0.0
        for j in range(k):
            t = P[oB + i * k + j] * y[j]
            acc += t
            sabs += abs(t)
        S[sw + i] = acc
        S[sl + i] = gamma * sabs + u * abs(acc)  # verify.engine.rounding: the logit's rounding
        lsum += acc
        if acc > lmax:
            lmax = acc
    for i in range(n):
        S[sl + i] += u * abs(S[sw + i] - lmax)  # the shift's
    Sw = basen
    if centred:
        # w_j - 1/n from expm1 of the centred logits (accurate relative to itself)
        mean = lsum / n
        xs = 0.0
        xmax = 0.0
        for i in range(n):
            S[sl + i] += u * abs(S[sw + i] - mean)  # the centred shift's
            xm = math.expm1(S[sw + i] - mean)
            S[sc + i] = xm
            xs += xm
            if abs(xm) > xmax:
                xmax = abs(xm)
        Su = n + xs
        xmean = xs / n
        beta = n * xmax / Su
        for i in range(n):
            S[sc + i] = (S[sc + i] - xmean) / Su
            Sw += (abs(S[sc + i]) + beta) * P[oOn + i]
    _softmax(S, sw, n, lmax)
    if not centred:
        for i in range(n):
            wi = S[sw + i]
            S[sc + i] = wi
            Sw += wi * P[oOn + i]
    # the weights' error from the logits (verify.engine.rounding.logit_rounding): w_i eta_i into
    # S[sl + i]; |dv| <= eps8 Sw + sum_i w_i eta_i |off_i - X| (below)
    Ssum = 0.0
    for i in range(n):
        if S[sw + i] > 0.0:
            Ssum += S[sw + i] * expm1_up(S[sl + i])
    big = Ssum / (1.0 - Ssum) if Ssum < 1.0 else math.inf
    for i in range(n):
        weta = min(S[sw + i] * expm1_up(S[sl + i] + big), 1.0) if S[sw + i] > 0.0 else 0.0
        S[sl + i] = weta  # w_i eta_i: |dw_i| from the logits, at most 1
    vv = 0.0
    xx = 0.0
    for j in range(d):
        acc = 0.0
        for i in range(n):
            acc += S[sc + i] * P[oO + i * d + j]
        S[sX + j] = acc
        vj = P[ob + j] + acc
        S[sv + j] = vj
        vv += vj * vj
        xx += acc * acc
    # the perturbed weights sum to 1 as well, so sum_i dw_i off_i = sum_i dw_i (off_i - X)
    extra = 0.0
    for i in range(n):
        if S[sl + i] > 0.0:
            oX = 0.0
            for j in range(d):
                t = P[oO + i * d + j] - S[sX + j]
                oX += t * t
            extra += S[sl + i] * math.sqrt(oX)
    dv = eps8 * Sw + extra
    dX = eps8 * (Sw - basen) + extra  # X = v - base alone (verify.engine.expectation.integrand)
    vn = math.sqrt(vv)
    f[0] = vv
    if not with_grad:
        f[1] = 2 * dv * vn + dv * dv
        return
    vX = 0.0
    for j in range(d):
        vX += S[sv + j] * S[sX + j]
    zn = 0.0
    for j in range(k):
        zn += y[j] * y[j]
    zn = math.sqrt(zn)
    xn = math.sqrt(xx)
    for j in range(d):
        acc = 0.0
        for q in range(k):
            acc += P[oQ + j * k + q] * y[q]
        S[sQ + j] = acc
    nd = n * d
    for i in range(n):
        acc = 0.0
        for j in range(d):
            acc += S[sv + j] * P[oO + i * d + j]
        si = acc - vX  # v . (a_i - v)
        wi = S[sw + i]
        ws = wi * si
        for j in range(d):
            f[1 + i * d + j] = wi * S[sv + j] + ws * (S[sQ + j] - P[oA + i * d + j])
        ds = (dv + eps8 * vn) * (P[oOn + i] + xn) + vn * dX + eps8 * abs(si)
        f[2 + nd + i] = wi * (dv + ds * (zn + P[oAn + i])) + S[sl + i] * (vn + abs(si) * (zn + P[oAn + i]))
    f[1 + nd] = 2 * dv * vn + dv * dv


@njit(cache=True)
def evaluate_nodes(Y, P, n, k, d, m):
    """The integrand at each row of Y (N x k): (N x m).  For tests and checks."""
    N = Y.shape[0]
    out = np.empty((N, m))
    f = np.empty(m)
    y = np.empty(k)
    S = np.empty(4 * n + 3 * d)
    for r in range(N):
        for j in range(k):
            y[j] = Y[r, j]
        integrand(y, P, n, k, d, S, f)
        for j in range(m):
            out[r, j] = f[j]
    return out


def cell_values(red, with_grad: bool) -> np.ndarray:
    """(n x m): the integrand deep inside cell i, where w = e_i exactly: |a_i|^2 and
    G_i = a_i (G_j = 0 for j != i; s_i = v . (a_i - v) = 0); rounding columns 0."""
    n, d = red.a.shape
    a = np.asarray(red.a, dtype=np.float64)
    m = (1 + n * d + 1 + n) if with_grad else 2
    out = np.zeros((n, m))
    out[:, 0] = np.einsum("ij,ij->i", a, a)
    if with_grad:
        for i in range(n):
            out[i, 1 + i * d:1 + (i + 1) * d] = a[i]
    return out
