"""Richardson extrapolation: the one tableau (finite differences, the gate's self-consistency
check, the Hessian of Theorem 3.1 and the limit of measured rates all use it).

A quantity D(h) computed at h_j = h_0 / ratio^j whose error is a series
c_1 h^p + c_2 h^(2p) + ... (central differences: p = 2; a local slope approaching its limit
like x^(-q): p = q in the variable 1/x) is extrapolated column by column,

    T[m][j] = T[m-1][j+1] + (T[m-1][j+1] - T[m-1][j]) / (ratio^(m p) - 1),

each column removing one more term of the series.  The error estimate of the best value
T[-1][0] is its difference from the finest entry one column before, |T[-1][0] - T[-2][-1]|:
that entry is one order less accurate, so the difference over-estimates the error in the
asymptotic range.  Works for floats, numpy scalars and mpmath numbers alike.
"""

from __future__ import annotations

import math

__all__ = ["richardson"]


def richardson(values, *, ratio=2, power=2):
    """``(best, error estimate, table)`` for ``values`` = [D(h_0), D(h_0 / ratio), ...] (module doc).

    ``table[m]`` is column m (``table[0]`` the values themselves); with one value the error
    estimate is infinite.
    """
    table = [list(values)]
    if not table[0]:
        raise ValueError("richardson needs at least one value")
    for m in range(1, len(table[0])):
        f = ratio ** (power * m)
        prev = table[-1]
        table.append([prev[j + 1] + (prev[j + 1] - prev[j]) / (f - 1) for j in range(len(prev) - 1)])
    best = table[-1][0]
    err = abs(best - table[-2][-1]) if len(table) > 1 else math.inf
    return best, err, table
