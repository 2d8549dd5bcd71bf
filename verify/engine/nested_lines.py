"""Nested graded lines: the Gaussian integral over R^k as k levels of one-dimensional rules.

Level 0 integrates along y_0 at fixed y_1..y_{k-1}; level q integrates the result of
level q - 1 along y_q; each level's line is cut into panels at the places
:mod:`verify.engine.junctions` computes in closed form (softmax transitions at level 0, the
kinks left where lines pass through junctions of cells at the levels above, the tilts)
and on a base grid of length h; a panel whose error estimate exceeds its share of the
tolerance is halved, so the panels grade themselves toward each place as far as the
tolerance asks (measured: cheaper than grading every place a priori down to its width,
which resolves places the tolerance does not need).

Each panel gets the Gauss-Kronrod pair (G_10 inside K_21): the K value is kept and
|K - G| (an estimate of G's error, so conservative for K) is the panel's error estimate,
added up per level so the caller knows which level to refine.  A panel on level 0
where one cell's logit exceeds every other by ``skip_nats`` at both ends (so everywhere
on it: logit differences are linear), or where the weighted bound below fits in
the fraction ``skip_share`` of the panel's share of the tolerance, is integrated in closed form as the top
cell's constant integrand times the panel's Gaussian mass, and the bound
K_b (1 - w_m) <= K_b sum_j e^{l_j - l_m} of what that drops is added to the error.

Outer levels without sharp places may instead use a Gauss-Hermite rule (its weights carry the
density); the caller estimates their error by raising the order.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# numba's on-disk cache of the functions below is stamped with this file only: after a change of
# kernels.py, delete the *.nbi / *.nbc files in verify/engine/__pycache__, or the compiled rule
# keeps calling the old integrand (found by mutation testing, tools/mutate.py).
from .kernels import integrand

__all__ = ["integrate_nested", "EDGE_CAP"]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_HALF = math.sqrt(0.5)
#: edges per line (base grid + graded points of every place); a line that needs more is
#: reported (edges_overflow) and the caller refuses the configuration.
EDGE_CAP = 4096
#: A tilt gets its uniform panels only where its cells are within this many nats of the top:
#: a more dominated one changes the integrand by < e^-5 of its size there, which the halving
#: resolves as needed (the uniform points cost 9 panels each on every line).
TILT_MARGIN = 5.0
#: see _line (Wfrac)
GH_SHARE = 0.5


@njit(cache=True, nogil=True)
def _mass(a, b):
    """Gaussian mass of [a, b] (a <= b) without cancellation in the tails."""
    if a >= 0.0:
        return 0.5 * (math.erfc(a * _SQRT_HALF) - math.erfc(b * _SQRT_HALF))
    if b <= 0.0:
        return 0.5 * (math.erfc(-b * _SQRT_HALF) - math.erfc(-a * _SQRT_HALF))
    return 1.0 - 0.5 * math.erfc(-a * _SQRT_HALF) - 0.5 * math.erfc(b * _SQRT_HALF)


@njit(cache=True, nogil=True)
def _logits(y, P, n, k, out):
    oC = n * k
    for i in range(n):
        acc = -P[oC + i]
        for j in range(k):
            acc += P[i * k + j] * y[j]
        out[i] = acc


@njit(cache=True, nogil=True)
def _on_top(cells, y, P, n, k, margin, lg):
    """Is the first cell of ``cells`` (-1 padded) within ``margin`` nats of the top at y?"""
    _logits(y, P, n, k, lg)
    ref = lg[cells[0]]
    for i in range(n):
        inS = False
        for c in cells:
            if c == i:
                inS = True
        if not inS and lg[i] - ref > margin:
            return False
    return True


@njit(cache=True, nogil=True)
def _relevant(cells, y, P, n, k, margin, R, lg):
    """A place matters where it lies in the ball |y| <= R (beyond it the Gaussian weight is
    below what the tail bound already covers) and its cells are within ``margin`` of the top."""
    r2 = 0.0
    for j in range(k):
        r2 += y[j] * y[j]
    if r2 > R * R:
        return False
    return _on_top(cells, y, P, n, k, margin, lg)


@njit(cache=True, nogil=True)
def _edges(q, y, P, n, k, R, h, margin, xc, xM, xh, xw, xcnt, tc, tcoef, tc0, tw, tin, tcnt, E, tmp, lg):
    """Sorted panel edges in [-R, R] for the level-q line at outer coordinates y[q+1:]."""
    ne = 0
    wmin = h
    # base grid: panels of length h (the adaptive halving resolves the Gaussian where it matters)
    t = 0.0
    E[ne] = 0.0
    ne += 1
    while t < R and ne < E.shape[0] - 2:
        t += h
        tt = min(t, R)
        E[ne] = tt
        E[ne + 1] = -tt
        ne += 2
    # crossings of junctions of q + 2 cells (those narrower than a quarter of h: wider ones are
    # resolved by the base grid and the halving)
    for j in range(xcnt[q]):
        if 4.0 * xw[q, j] >= h:
            continue
        for r in range(q + 1):
            acc = xh[q, j, r]
            for c in range(k - q - 1):
                acc += xM[q, j, r, c] * y[q + 1 + c]
            tmp[r] = acc
        for c in range(q + 1, k):
            tmp[c] = y[c]
        if not _relevant(xc[q, j], tmp, P, n, k, margin, R, lg):
            continue
        if ne < E.shape[0] and abs(tmp[q]) < R:
            E[ne] = tmp[q]
            ne += 1
        if xw[q, j] < wmin:
            wmin = xw[q, j]
    # tilts of junctions of at most q + 1 cells
    for j in range(tcnt[q]):
        w = tw[q, j]
        if 8.0 * w >= h:
            continue  # panels of length h / 4 <= 2 w resolve it already (an entire function)
        cen = tc0[q, j]
        for c in range(k - q - 1):
            cen += tcoef[q, j, c] * y[q + 1 + c]
        if abs(cen) > R + 9 * w:
            continue
        # inner point nearest the origin on the junction at the centre, for the top check
        for r in range(q):
            acc = tin[q, j, r, 0] * cen + tin[q, j, r, k - q]
            for c in range(k - q - 1):
                acc += tin[q, j, r, 1 + c] * y[q + 1 + c]
            tmp[r] = acc
        tmp[q] = cen
        for c in range(q + 1, k):
            tmp[c] = y[c]
        if not _relevant(tc[q, j], tmp, P, n, k, TILT_MARGIN, R, lg):
            continue
        for i in range(-4, 5):
            if ne < E.shape[0]:
                E[ne] = cen + 2.0 * i * w
                ne += 1
        if w < wmin:
            wmin = w
    # clip, sort, drop duplicates
    for i in range(ne):
        if E[i] < -R:
            E[i] = -R
        elif E[i] > R:
            E[i] = R
    Es = np.sort(E[:ne])
    # places closer than a tenth of the narrowest width on this line are one place (near-equal
    # means give nearly coincident crossings: a panel between them would only cost nodes)
    merge = 0.1 * wmin
    m = 0
    for i in range(ne):
        if m == 0 or Es[i] > E[m - 1] + merge:
            E[m] = Es[i]
            m += 1
        elif i == ne - 1:
            E[m - 1] = Es[i]  # keep the end of the box
    return m


@njit(cache=True, nogil=True)
def _line(q, y, Wout, Wfrac, P, n, k, d, m, mc, tau, Fcell, Kb, skip_nats, skip_share, R, h, margin, maxdepth,
          max_nodes,
          xc, xM, xh, xw, xcnt, tc, tcoef, tc0, tw, tin, tcnt,
          xr, wK, wG, ghx, ghw, ghn, Ebuf, stk, accV, accE, accA, accS, panK, panG, panE, panA, panS,
          f, S, tmp, lg, lg2, counts):
    """Integrate level q at outer coordinates y[q+1:]; result in accV[q], accE[q] (per level),
    accA[q] (sum of |weight * integrand|), accS[q] (dropped-cell bound).

    Wout: product of the outer levels' weights (with their densities); Wfrac: the fractions of
    the tolerance handed down, one factor per level summing to 1 over the level: a panel node's
    weight without density divided by the box length 2R, a Gauss-Hermite node's
    (w_i + 1/N) / 2 (half by weight, half uniform: held to w_i alone, a line at a node of weight
    1e-15 had to reach the same unweighted accuracy as the central one; measured at k = 3, means
    8 apart, order 40: 9x fewer evaluations, same value).
    A panel [a, b] is accepted when Wout |K - G|_c <= tau[q, c] Wfrac (b - a) / 2R for the first
    mc components (uniform absolute error density over the box: the level's errors then add up
    to at most tau[q]); otherwise it is halved, down to maxdepth halvings."""
    for c in range(m):
        accV[q, c] = 0.0
        accA[q, c] = 0.0
        for j in range(k):
            accE[q, j, c] = 0.0
    accS[q] = 0.0
    if ghn[q] > 0:
        # a smooth level: Gauss-Hermite (weights carry the density; the caller estimates this
        # level's error by changing its order)
        for i in range(ghn[q]):
            y[q] = ghx[q, i]
            wi = ghw[q, i]
            share = GH_SHARE * wi + (1.0 - GH_SHARE) / ghn[q]
            _line(q - 1, y, Wout * wi, Wfrac * share, P, n, k, d, m, mc, tau, Fcell, Kb, skip_nats, skip_share,
                  R, h, margin, maxdepth, max_nodes, xc, xM, xh, xw, xcnt, tc, tcoef, tc0, tw, tin, tcnt,
                  xr, wK, wG, ghx, ghw, ghn, Ebuf, stk, accV, accE, accA, accS, panK, panG, panE, panA, panS,
                  f, S, tmp, lg, lg2, counts)
            counts[q] += 1
            for c in range(m):
                accV[q, c] += wi * accV[q - 1, c]
                accA[q, c] += wi * accA[q - 1, c]
                for j in range(q):
                    accE[q, j, c] += wi * accE[q - 1, j, c]
            accS[q] += wi * accS[q - 1]
        return
    if counts[0] > max_nodes:
        counts[k] += 1  # over budget: stop (the caller refuses the configuration)
        return
    E = Ebuf[q]
    ne = _edges(q, y, P, n, k, R, h, margin, xc, xM, xh, xw, xcnt,
                tc, tcoef, tc0, tw, tin, tcnt, E, tmp, lg)
    if ne >= E.shape[0] - 1:
        counts[k] += 1  # overflow flag
    nx = xr.shape[0]
    two_r = 2.0 * R
    # panels to do: a stack of (a, b, depth), initial panels pushed last-first
    top_s = 0
    for p in range(ne - 2, -1, -1):
        if E[p + 1] > E[p]:
            stk[q, top_s, 0] = E[p]
            stk[q, top_s, 1] = E[p + 1]
            stk[q, top_s, 2] = 0.0
            top_s += 1
    while top_s > 0:
        top_s -= 1
        a = stk[q, top_s, 0]
        b = stk[q, top_s, 1]
        depth = stk[q, top_s, 2]
        mid = 0.5 * (a + b)
        half = 0.5 * (b - a)
        if q == 0:
            # a panel inside one cell: closed form, with the bound of what it drops
            y[0] = a
            _logits(y, P, n, k, lg)
            y[0] = b
            _logits(y, P, n, k, lg2)
            best = 0
            for i in range(n):
                if lg[i] + lg2[i] > lg[best] + lg2[best]:
                    best = i
            gap = 1e308
            for i in range(n):
                if i != best:
                    g1 = lg[best] - lg[i]
                    g2 = lg2[best] - lg2[i]
                    if g1 < gap:
                        gap = g1
                    if g2 < gap:
                        gap = g2
            mass = _mass(a, b)
            bound = 0.0
            for i in range(n):
                if i != best:
                    bound += math.exp(-min(lg[best] - lg[i], lg2[best] - lg2[i]))
            # closed form also where what it drops, weighted, fits in a small part of the panel's
            # share of the tolerance (a line of small outer weight, a cell dominated by fewer nats)
            tmin = tau[0, 0]
            for c in range(1, mc):
                tmin = min(tmin, tau[0, c])
            small = skip_share > 0.0 and Wout * Kb * bound * mass <= skip_share * tmin * Wfrac * (b - a) / two_r
            if gap >= skip_nats or small:
                accS[0] += Kb * bound * mass
                for c in range(m):
                    accV[0, c] += Fcell[best, c] * mass
                    accA[0, c] += abs(Fcell[best, c]) * mass
                continue
        for c in range(m):
            panK[q, c] = 0.0
            panG[q, c] = 0.0
            panA[q, c] = 0.0
            for j in range(q):
                panE[q, j, c] = 0.0
        panS[q] = 0.0
        for i in range(nx):
            t = mid + half * xr[i]
            y[q] = t
            dens = math.exp(-0.5 * t * t) * _INV_SQRT_2PI
            wk = half * wK[i] * dens
            wg = half * wG[i] * dens
            if q == 0:
                integrand(y, P, n, k, d, S, f)
                counts[0] += 1
                for c in range(m):
                    panK[0, c] += wk * f[c]
                    panG[0, c] += wg * f[c]
                    panA[0, c] += abs(wk * f[c])
            else:
                wl = half * wK[i]
                _line(q - 1, y, Wout * wk, Wfrac * wl / two_r, P, n, k, d, m, mc, tau, Fcell, Kb, skip_nats, skip_share,
                      R, h, margin, maxdepth, max_nodes, xc, xM, xh, xw, xcnt, tc, tcoef, tc0, tw, tin, tcnt,
                      xr, wK, wG, ghx, ghw, ghn, Ebuf, stk, accV, accE, accA, accS, panK, panG, panE, panA, panS,
                      f, S, tmp, lg, lg2, counts)
                counts[q] += 1
                for c in range(m):
                    v = accV[q - 1, c]
                    panK[q, c] += wk * v
                    panG[q, c] += wg * v
                    panA[q, c] += wk * accA[q - 1, c]
                    for j in range(q):
                        panE[q, j, c] += wk * accE[q - 1, j, c]
                panS[q] += wk * accS[q - 1]
        if depth < maxdepth:
            ok = True
            allow = Wfrac * (b - a) / two_r
            for c in range(mc):
                dk = abs(panK[q, c] - panG[q, c])
                # halve unless within the share, or already at the rounding level of the panel's
                # own sum (halving cannot go below that; the estimate keeps it all the same)
                if Wout * dk > tau[q, c] * allow and dk > 64 * 2.0**-52 * panA[q, c]:
                    ok = False
                    break
            if not ok and top_s + 2 <= stk.shape[1]:
                stk[q, top_s, 0] = mid
                stk[q, top_s, 1] = b
                stk[q, top_s, 2] = depth + 1
                stk[q, top_s + 1, 0] = a
                stk[q, top_s + 1, 1] = mid
                stk[q, top_s + 1, 2] = depth + 1
                top_s += 2
                continue
        for c in range(m):
            accV[q, c] += panK[q, c]
            accA[q, c] += panA[q, c]
            for j in range(q):
                accE[q, j, c] += panE[q, j, c]
            accE[q, q, c] += abs(panK[q, c] - panG[q, c])
        accS[q] += panS[q]


@njit(cache=True)
def _run(P, n, k, d, m, mc, tau, Fcell, Kb, skip_nats, skip_share, R, h, margin, maxdepth, max_nodes,
         xc, xM, xh, xw, xcnt, tc, tcoef, tc0, tw, tin, tcnt, xr, wK, wG, ghx, ghw, ghn):
    y = np.zeros(k)
    Ebuf = np.empty((k, EDGE_CAP))
    stk = np.empty((k, EDGE_CAP + 64, 3))
    accV = np.zeros((k, m))
    accE = np.zeros((k, k, m))
    accA = np.zeros((k, m))
    accS = np.zeros(k)
    panK = np.zeros((k, m))
    panG = np.zeros((k, m))
    panE = np.zeros((k, k, m))
    panA = np.zeros((k, m))
    panS = np.zeros(k)
    f = np.empty(m)
    S = np.empty(3 * n + 3 * d)
    tmp = np.empty(k)
    lg = np.empty(n)
    lg2 = np.empty(n)
    counts = np.zeros(k + 1, dtype=np.int64)
    _line(k - 1, y, 1.0, 1.0, P, n, k, d, m, mc, tau, Fcell, Kb, skip_nats, skip_share, R, h, margin, maxdepth,
          max_nodes, xc, xM, xh, xw, xcnt, tc, tcoef, tc0, tw, tin, tcnt,
          xr, wK, wG, ghx, ghw, ghn, Ebuf, stk, accV, accE, accA, accS, panK, panG, panE, panA, panS,
          f, S, tmp, lg, lg2, counts)
    return accV[k - 1].copy(), accE[k - 1].copy(), accA[k - 1].copy(), accS[k - 1], counts


def integrate_nested(model, feats, Fcell, *, tau, Kb, skip_nats, radius, base, margin, rule, maxdepth=30,
                     gh=None, max_nodes=10**12, skip_share=0.0):
    """Run the nested rule.  ``tau`` (k x mc): absolute error allowed per level for the first mc
    columns; ``base``: base panel length; ``gh``: {level: (nodes, weights)} for the levels done by
    Gauss-Hermite; ``skip_share``: the fraction of its share of the tolerance a level-0 panel may
    drop by the closed form (0: closed form only by ``skip_nats``).  Returns (value (m,), error per
    level (k, m), sum |w f| (m,), dropped-cell bound, counts (k + 1,): evaluations per level and a
    flag (edge overflow or budget exceeded))."""
    xr, wK, wG = rule
    tau = np.ascontiguousarray(tau, dtype=np.float64)
    k = model.k
    nmax = max([1] + [len(g[0]) for g in (gh or {}).values()])
    ghx, ghw, ghn = np.zeros((k, nmax)), np.zeros((k, nmax)), np.zeros(k, dtype=np.int64)
    for q, (x, w) in (gh or {}).items():
        if q == 0:
            raise ValueError("level 0 is always integrated by panels")
        ghx[q, :len(x)], ghw[q, :len(x)], ghn[q] = x, w, len(x)
    return _run(model.P, model.n, model.k, model.d, model.m, tau.shape[1], tau, np.ascontiguousarray(Fcell),
                float(Kb), float(skip_nats), float(skip_share), float(radius), float(base), float(margin),
                int(maxdepth), int(max_nodes), *feats.arrays(), xr, wK, wG, ghx, ghw, ghn)
