"""Where the panels of a nested line start: the edges of :mod:`verify.engine.nested_lines`, compiled.

A level-q line at fixed outer coordinates is cut on a base grid of length h over [-R, R],
at the crossings of junctions of q + 2 cells and around the tilts of junctions of at most
q + 1 cells (positions in closed form, :mod:`verify.engine.junctions`), where those cells are
on top (within a margin in nats) inside the ball |y| <= R.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["line_edges", "gaussian_mass", "logits", "EDGE_CAP", "TILT_MARGIN"]

_SQRT_HALF = math.sqrt(0.5)
#: edges per line (base grid + graded points of every place); a line that needs more is
#: reported (edges_overflow) and the caller refuses the configuration.
EDGE_CAP = 4096
#: A tilt gets its uniform panels only where its cells are within this many nats of the top:
#: a more dominated one changes the integrand by < e^-5 of its size there, which the halving
#: resolves as needed (the uniform points cost 9 panels each on every line).
TILT_MARGIN = 5.0


@njit(cache=True, nogil=True)
def gaussian_mass(a, b):
    """Gaussian mass of [a, b] (a <= b) without cancellation in the tails."""
    if a >= 0.0:
        return 0.5 * (math.erfc(a * _SQRT_HALF) - math.erfc(b * _SQRT_HALF))
    if b <= 0.0:
        return 0.5 * (math.erfc(-b * _SQRT_HALF) - math.erfc(-a * _SQRT_HALF))
    return 1.0 - 0.5 * math.erfc(-a * _SQRT_HALF) - 0.5 * math.erfc(b * _SQRT_HALF)


@njit(cache=True, nogil=True)
def logits(y, P, n, k, out):
    oC = n * k
    for i in range(n):
        acc = -P[oC + i]
        for j in range(k):
            acc += P[i * k + j] * y[j]
        out[i] = acc


@njit(cache=True, nogil=True)
def _on_top(cells, y, P, n, k, margin, lg):
    """Is the first cell of ``cells`` (-1 padded) within ``margin`` nats of the top at y?"""
    logits(y, P, n, k, lg)
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
def line_edges(q, y, P, n, k, R, h, margin, xc, xM, xh, xw, xcnt, tc, tcoef, tc0, tw, tin, tcnt, E, tmp, lg):
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
