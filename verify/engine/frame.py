"""The frame of the nested lines (:mod:`verify.engine.nested`): how the outer axes are turned.

The innermost axis stays the reduced basis' first, the direction of largest spread of the logit
slopes (:func:`verify.engine.expectation.reduce_float`): the sharpest transitions are crossed
there, by graded panels.  The outer axes may be turned freely about it, and that choice sets
the cost of the outer levels.

After the inner axis is integrated out, the transition between cells i and j still limits a
Gauss-Hermite rule on outer level q through the poles of its softmax, at imaginary distance
about pi / |B_iq - B_jq| from the real line: integrating along the inner axis does not widen
them where the cells meet in a thin shell of Gaussian tail (far losers: the weight across the
shell is exponential, not Gaussian).  So the order a level needs grows like the square of its
spread max_i B_iq - min_i B_iq, and the outer axes are turned to make the largest of their
spreads smallest, when that gains at least MIN_GAIN: the spread is not the whole story (where the
pairs' transitions lie matters too), and a gain well below one rung of the order ladder (orders
1.5x apart, spreads sqrt(1.5) = 1.22x) does not show in the orders while the turn moves every pole;
MIN_GAIN sits between the gains measured to cost work and those measured to save it.
The measurements behind both choices are in proofs_map.md (the engine's speed section).

The search runs over plane rotations of pairs of outer axes on a grid of angles (steps of
pi / GRID): a basis turned by an angle off the grid (the accuracy checks turn it by 0.7) is
then integrated on other lines, so such a check still compares two different rules.
"""

from __future__ import annotations

import numpy as np

__all__ = ["choose_frame", "GRID"]

#: grid of the angle search: steps of pi / GRID (a finer search gains less than the orders'
#: own steps of 1.5x, i.e. spreads 1.2x apart)
GRID = 12
#: the largest outer spread must fall by this factor for the frame to turn (see the module)
MIN_GAIN = 1.15
#: sweeps over the pairs of outer axes (k >= 4; at k = 3 one pair, one sweep is the optimum)
SWEEPS = 2


def _plane(k, p, q, angle):
    U = np.eye(k)
    c, s = np.cos(angle), np.sin(angle)
    U[p, p], U[p, q], U[q, p], U[q, q] = c, -s, s, c
    return U


def _worst_spread(B, frame):
    Y = B @ frame[:, 1:]
    return float(np.max(np.ptp(Y, axis=0))) if Y.shape[1] else 0.0


def choose_frame(B: np.ndarray) -> np.ndarray:
    """A k x k orthogonal frame (columns: axes in the reduced basis, axis 0 fixed) whose outer
    axes make the largest spread of the rows of ``B`` (logit slopes, n x k) along them smallest
    over the grid; the identity when k <= 2 or when the grid gains less than MIN_GAIN."""
    B = np.asarray(B, dtype=float)
    k = B.shape[1]
    frame = np.eye(k)
    if k <= 2:
        return frame
    start = best = _worst_spread(B, frame)
    angles = np.pi * np.arange(1, GRID) / GRID
    for _ in range(SWEEPS if k > 3 else 1):
        for p in range(1, k):
            for q in range(p + 1, k):
                base = frame
                for a in angles:
                    trial = base @ _plane(k, p, q, a)
                    w = _worst_spread(B, trial)
                    if w < best * (1 - 1e-12):
                        best, frame = w, trial
    return frame if best * MIN_GAIN <= start else np.eye(k)
