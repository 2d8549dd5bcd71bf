"""Nested graded lines: the Gaussian integral over R^k as k levels of one-dimensional rules.

Level 0 integrates along y_0 at fixed y_1..y_{k-1}; level q integrates the result of level q - 1
along y_q; each level's line is cut into panels at the places :mod:`verify.engine.junctions`
computes in closed form (softmax transitions at level 0, the kinks left where lines pass through
junctions of cells at the levels above, the tilts) and on a base grid of length h; a panel whose
error estimate exceeds its share of the tolerance is halved, so the panels grade themselves toward
each place as far as the tolerance asks (measured: cheaper than grading every place a priori down
to its width, which resolves places the tolerance does not need).

Each panel gets the Gauss-Kronrod pair (G_10 inside K_21): the K value is kept and |K - G| (an
estimate of G's error, so conservative for K) is the panel's error estimate, added up per level so
the caller knows which level to refine.  A panel on level 0 where one cell's logit exceeds every
other by ``skip_nats`` at both ends (so everywhere on it: logit differences are linear), or where
the weighted bound below fits in the fraction ``skip_share`` of the panel's share of the tolerance,
is integrated in closed form as the top cell's constant integrand times the panel's Gaussian mass,
and the bound K_b (1 - w_m) <= K_b sum_j e^{l_j - l_m} of what that drops is added to the error.

Outer levels without sharp places may instead use a Gauss-Hermite rule (its weights carry the
density); the caller estimates their error by raising the order.

The tape: an evaluation can record the panels it accepted on every line, in the order it
visited them, so that a later evaluation at a nearby configuration replays them instead of
finding them again by halving (the halving's rejected panels cost about a quarter of the
nodes on Figure 1's lines, measured).  Panels are stored relative to the edges of their line
(index of the initial panel, start and end as fractions of it), so they follow the
transitions as the means move.  A panel whose |K - G| was below ``G_ONLY`` of its share is
replayed with G_10 alone (|K - G| is the estimate of G's error).  The replay keeps the test
of every K_21 panel: on level 0 a panel that fails it is halved as before, and a line whose
edges no longer number what was recorded adapts afresh; on an outer level either stops the
replay and flags the run, and the caller evaluates afresh (the configuration has left what the
tape covers).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# numba's on-disk cache of the functions below is stamped with this file only; the engine's import
# drops it whenever any engine source changed (verify.engine.compiled_cache), or the compiled rule
# would keep calling an old integrand (found by mutation testing, tools/mutate.py).
from .kernels import integrand
from .panel_edges import EDGE_CAP, gaussian_mass, line_edges, logits

__all__ = ["integrate_nested", "compiled", "EDGE_CAP", "TAPE_CAP", "G_ONLY"]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
#: rows of a tape (4 floats each); an evaluation that needs more records none (its plan then
#: replays nothing and re-adapts its panels, as without a tape)
TAPE_CAP = 1 << 19
#: a panel is replayed with G_10 alone when its |K - G| was below this fraction of its share:
#: G_10 then errs by about a hundredth of the share, room for the configuration to move
G_ONLY = 1e-2
# tape rows: header (-1, edges, panels, 0), then per panel (initial panel, start, end, kind)
_K, _G, _CELL = 0.0, 1.0, 2.0
PLAIN, RECORD, REPLAY = 0, 1, 2  # run modes
#: see _line (Wfrac)
GH_SHARE = 0.5


@njit(cache=True, nogil=True)
def _tape_slot(tape, tpos):
    """The next free row of the tape, or -1 (and the overflow flag) when it is full."""
    if tpos[1] != 0:
        return -1
    if tpos[0] >= tape.shape[0]:
        tpos[1] = 1
        return -1
    tpos[0] += 1
    return tpos[0] - 1


@njit(cache=True, nogil=True)
def _line(q, y, Wout, Wfrac, P, n, k, d, m, mc, tau, Fcell, Kb, skip_nats, skip_share, R, h, margin, maxdepth,
          max_nodes,
          xc, xM, xh, xw, xcnt, tc, tcoef, tc0, tw, tin, tcnt,
          xr, wK, wG, ghx, ghw, ghn, Ebuf, stk, accV, accE, accA, accS, panK, panG, panE, panA, panS,
          f, S, tmp, lg, lg2, counts, mode, tape, tpos, tau_g):
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
    to at most tau[q]); otherwise it is halved, down to maxdepth halvings.  ``mode``: PLAIN,
    RECORD (write the accepted panels to ``tape``; G_ONLY is judged against ``tau_g``) or
    REPLAY (read them); ``tpos`` = (next row, flag: 1 tape full, 2 replay left the tape)."""
    for c in range(m):
        accV[q, c] = 0.0
        accA[q, c] = 0.0
        for j in range(k):
            accE[q, j, c] = 0.0
    accS[q] = 0.0
    if mode == REPLAY and tpos[1] != 0:
        return
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
                  f, S, tmp, lg, lg2, counts, mode, tape, tpos, tau_g)
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
    ne = line_edges(q, y, P, n, k, R, h, margin, xc, xM, xh, xw, xcnt,
                    tc, tcoef, tc0, tw, tin, tcnt, E, tmp, lg)
    if ne >= E.shape[0] - 1:
        counts[k] += 1  # overflow flag
    nx = xr.shape[0]
    two_r = 2.0 * R
    items = 1
    head = -1
    npan = 0
    if mode == RECORD:
        head = _tape_slot(tape, tpos)
        if head >= 0:
            tape[head, 0] = -1.0
            tape[head, 1] = ne
            tape[head, 2] = 0.0
            tape[head, 3] = 0.0
    lmode = mode
    if mode == REPLAY:
        r = tpos[0]
        if r >= tape.shape[0] or tape[r, 0] != -1.0:
            tpos[1] = 2  # the tape does not hold this line
            counts[k] += 1
            return
        tpos[0] += 1
        if tape[r, 1] == ne:
            items = int(tape[r, 2])
        elif q == 0:
            # the edges changed (a junction came into or left the margin): this line adapts
            # afresh; nothing is nested inside it, so the rest of the tape still fits
            tpos[0] += int(tape[r, 2])
            lmode = PLAIN
        else:
            tpos[1] = 2  # an outer line whose edges changed: the tape no longer describes the run
            counts[k] += 1
            return
    for item in range(items):
        # panels to do: a stack of (a, b, depth, initial panel, kind)
        top_s = 0
        if lmode == REPLAY:
            r = tpos[0]
            tpos[0] += 1
            p = int(tape[r, 0])
            ea, eb = E[p], E[p + 1]
            stk[q, 0, 0] = ea + (eb - ea) * tape[r, 1]
            stk[q, 0, 1] = ea + (eb - ea) * tape[r, 2]
            stk[q, 0, 2] = 0.0
            stk[q, 0, 3] = p
            stk[q, 0, 4] = tape[r, 3]
            top_s = 1
        else:
            for p in range(ne - 2, -1, -1):
                if E[p + 1] > E[p]:
                    stk[q, top_s, 0] = E[p]
                    stk[q, top_s, 1] = E[p + 1]
                    stk[q, top_s, 2] = 0.0
                    stk[q, top_s, 3] = p
                    stk[q, top_s, 4] = _K
                    top_s += 1
        while top_s > 0:
            top_s -= 1
            a = stk[q, top_s, 0]
            b = stk[q, top_s, 1]
            depth = stk[q, top_s, 2]
            p = int(stk[q, top_s, 3])
            g_only = stk[q, top_s, 4] == _G
            mid = 0.5 * (a + b)
            half = 0.5 * (b - a)
            slot = -1
            if mode == RECORD and head >= 0:
                slot = _tape_slot(tape, tpos)
            if q == 0:
                # a panel inside one cell: closed form, with the bound of what it drops
                y[0] = a
                logits(y, P, n, k, lg)
                y[0] = b
                logits(y, P, n, k, lg2)
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
                mass = gaussian_mass(a, b)
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
                    if slot >= 0:
                        _tape_row(tape, slot, p, E, a, b, _CELL)
                        npan += 1
                    continue
            for c in range(m):
                panK[q, c] = 0.0
                panG[q, c] = 0.0
                panA[q, c] = 0.0
                for j in range(q):
                    panE[q, j, c] = 0.0
            panS[q] = 0.0
            for i in range(nx):
                if g_only and wG[i] == 0.0:
                    continue
                t = mid + half * xr[i]
                y[q] = t
                dens = math.exp(-0.5 * t * t) * _INV_SQRT_2PI
                wg = half * wG[i] * dens
                # G_10 alone: its value is kept (and nothing is added to the estimate)
                wk = wg if g_only else half * wK[i] * dens
                if q == 0:
                    integrand(y, P, n, k, d, S, f)
                    counts[0] += 1
                    for c in range(m):
                        panK[0, c] += wk * f[c]
                        panG[0, c] += wg * f[c]
                        panA[0, c] += abs(wk * f[c])
                else:
                    wl = half * (wG[i] if g_only else wK[i])
                    _line(q - 1, y, Wout * wk, Wfrac * wl / two_r, P, n, k, d, m, mc, tau, Fcell, Kb, skip_nats,
                          skip_share, R, h, margin, maxdepth, max_nodes, xc, xM, xh, xw, xcnt, tc, tcoef, tc0, tw, tin,
                          tcnt, xr, wK, wG, ghx, ghw, ghn, Ebuf, stk, accV, accE, accA, accS, panK, panG, panE, panA,
                          panS, f, S, tmp, lg, lg2, counts, mode, tape, tpos, tau_g)
                    counts[q] += 1
                    for c in range(m):
                        v = accV[q - 1, c]
                        panK[q, c] += wk * v
                        panG[q, c] += wg * v
                        panA[q, c] += wk * accA[q - 1, c]
                        for j in range(q):
                            panE[q, j, c] += wk * accE[q - 1, j, c]
                    panS[q] += wk * accS[q - 1]
            allow = Wfrac * (b - a) / two_r
            if depth < maxdepth and not g_only:
                ok = True
                for c in range(mc):
                    dk = abs(panK[q, c] - panG[q, c])
                    # halve unless within the share, or already at the rounding level of the panel's
                    # own sum (halving cannot go below that; the estimate keeps it all the same)
                    if Wout * dk > tau[q, c] * allow and dk > 64 * 2.0**-52 * panA[q, c]:
                        ok = False
                        break
                if not ok and lmode == REPLAY and q > 0:
                    tpos[1] = 2  # an outer panel the tape holds no longer suffices: evaluate afresh
                    counts[k] += 1
                    return
                if not ok and top_s + 2 <= stk.shape[1]:
                    stk[q, top_s, 0] = mid
                    stk[q, top_s, 1] = b
                    stk[q, top_s + 1, 0] = a
                    stk[q, top_s + 1, 1] = mid
                    for r in range(top_s, top_s + 2):
                        stk[q, r, 2] = depth + 1
                        stk[q, r, 3] = p
                        stk[q, r, 4] = _K
                    top_s += 2
                    if slot >= 0:
                        tpos[0] = slot  # forget the panel and the lines recorded inside it
                    continue
            if slot >= 0:
                kind = _K
                if not g_only:
                    kind = _G
                    for c in range(mc):
                        if Wout * abs(panK[q, c] - panG[q, c]) > G_ONLY * tau_g[q, c] * allow:
                            kind = _K
                            break
                _tape_row(tape, slot, p, E, a, b, kind)
                npan += 1
            for c in range(m):
                accV[q, c] += panK[q, c]
                accA[q, c] += panA[q, c]
                for j in range(q):
                    accE[q, j, c] += panE[q, j, c]
                accE[q, q, c] += abs(panK[q, c] - panG[q, c])
            accS[q] += panS[q]
    if head >= 0:
        tape[head, 2] = npan


@njit(cache=True, nogil=True)
def _tape_row(tape, r, p, E, a, b, kind):
    ea, eb = E[p], E[p + 1]
    span = eb - ea
    tape[r, 0] = p
    tape[r, 1] = (a - ea) / span if span > 0 else 0.0
    tape[r, 2] = (b - ea) / span if span > 0 else 1.0
    tape[r, 3] = kind


@njit(cache=True)
def _run(P, n, k, d, m, mc, tau, Fcell, Kb, skip_nats, skip_share, R, h, margin, maxdepth, max_nodes,
         xc, xM, xh, xw, xcnt, tc, tcoef, tc0, tw, tin, tcnt, xr, wK, wG, ghx, ghw, ghn, mode, tape, tau_g):
    y = np.zeros(k)
    Ebuf = np.empty((k, EDGE_CAP))
    stk = np.empty((k, EDGE_CAP + 64, 5))
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
    S = np.empty(4 * n + 3 * d)
    tmp = np.empty(k)
    lg = np.empty(n)
    lg2 = np.empty(n)
    counts = np.zeros(k + 1, dtype=np.int64)
    tpos = np.zeros(2, dtype=np.int64)
    _line(k - 1, y, 1.0, 1.0, P, n, k, d, m, mc, tau, Fcell, Kb, skip_nats, skip_share, R, h, margin, maxdepth,
          max_nodes, xc, xM, xh, xw, xcnt, tc, tcoef, tc0, tw, tin, tcnt,
          xr, wK, wG, ghx, ghw, ghn, Ebuf, stk, accV, accE, accA, accS, panK, panG, panE, panA, panS,
          f, S, tmp, lg, lg2, counts, mode, tape, tpos, tau_g)
    if mode == REPLAY and tpos[0] != tape.shape[0]:
        tpos[1] = 2  # rows left over: the run visited fewer lines than were recorded
        counts[k] += 1
    return accV[k - 1].copy(), accE[k - 1].copy(), accA[k - 1].copy(), accS[k - 1], counts, tpos


def compiled() -> bool:  # whether the rule is compiled (or loaded from numba's cache) in this process
    return bool(_run.signatures)


def integrate_nested(model, feats, Fcell, *, tau, Kb, skip_nats, radius, base, margin, rule, maxdepth=30, gh=None,
                     max_nodes=10**12, skip_share=0.0, tape=None, record=None):
    """Run the nested rule.  ``tau`` (k x mc): absolute error allowed per level for the first mc columns;
    ``base``: base panel length; ``gh``: {level: (nodes, weights)} for the levels done by Gauss-Hermite;
    ``skip_share``: the fraction of its share of the tolerance a level-0 panel may drop by the closed
    form (0: closed form only by ``skip_nats``).  Returns (value (m,), error per level (k, m), sum |w f|
    (m,), dropped-cell bound, counts (k + 1,): evaluations per level and a flag (edge overflow, budget
    exceeded, or a replayed ``tape`` that no longer fits)).  ``record`` (k x mc, the shares G_ONLY is
    judged against): also return the tape of the accepted panels (None if it exceeded TAPE_CAP rows)."""
    xr, wK, wG = rule
    tau = np.ascontiguousarray(tau, dtype=np.float64)
    k = model.k
    nmax = max([1] + [len(g[0]) for g in (gh or {}).values()])
    ghx, ghw, ghn = np.zeros((k, nmax)), np.zeros((k, nmax)), np.zeros(k, dtype=np.int64)
    for q, (x, w) in (gh or {}).items():
        if q == 0:
            raise ValueError("level 0 is always integrated by panels")
        ghx[q, :len(x)], ghw[q, :len(x)], ghn[q] = x, w, len(x)
    if tape is not None and record is not None:
        raise ValueError("give tape (to replay) or record, not both")
    if tape is not None:
        mode, tp, tau_g = REPLAY, np.ascontiguousarray(tape, dtype=np.float64), tau
    elif record is not None:
        mode, tp, tau_g = RECORD, np.empty((TAPE_CAP, 4)), np.ascontiguousarray(record, dtype=np.float64)
    else:
        mode, tp, tau_g = PLAIN, np.empty((0, 4)), tau
    val, err, absval, skipb, counts, tpos = _run(
        model.P, model.n, model.k, model.d, model.m, tau.shape[1], tau, np.ascontiguousarray(Fcell),
        float(Kb), float(skip_nats), float(skip_share), float(radius), float(base), float(margin), int(maxdepth),
        int(max_nodes), *feats.arrays(), xr, wK, wG, ghx, ghw, ghn, mode, tp, tau_g)
    if mode != RECORD:
        return val, err, absval, skipb, counts
    return val, err, absval, skipb, counts, (tp[:tpos[0]].copy() if tpos[1] == 0 else None)
