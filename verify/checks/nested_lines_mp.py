"""One level-0 line of the nested rule against the same line integral in mpmath.

The nested rule (:mod:`verify.engine.nested`) integrates the sharpest axis first, along lines
at fixed outer coordinates, by Gauss-Kronrod panels split at the softmax transitions, halved
where |K - G| exceeds the panel's share, and taken in closed form inside a cell (with a bound of
what that drops).  :func:`verify.engine.nested.level0_line` runs exactly that rule on one line
and reports its own estimate (sum of |K - G|, the closed-form cells' bound, the rounding bound
of the integrand and of the sums).

:func:`mp_line` computes the same integral over the same segment [-R, R] with ``mpmath.quad``
(tanh-sinh, split at every crossing of two logits on the line) from the model's definition,
written here again: w = softmax(-|y - a_i|^2 / 2), v = sum_i w_i a_i, the loss column |v|^2 and
the gradient columns G_i = w_i v + w_i (v . (a_i - v)) (y - a_i), with y = Q frame (y_0, y_out)
and the density of y_0.  It shares the reduction (a_i, Q) and the frame with the engine, and
nothing of its integrand, panels or cells.
"""

from __future__ import annotations

import mpmath
import numpy as np


__all__ = ["mp_line", "agree", "measured"]


def _crossings(A, Qf, y_out, radius):
    """Points of [-radius, radius] where two logits -|y - a_i|^2 / 2 cross on the line (linear in y_0)."""
    base = Qf[:, 1:] @ np.asarray(y_out, float)
    u = Qf[:, 0]
    out = set()
    n = A.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            # l_i - l_j = (a_i - a_j) . y - (|a_i|^2 - |a_j|^2) / 2, y = base + s u
            slope = float((A[i] - A[j]) @ u)
            if slope != 0.0:
                s = (0.5 * (A[i] @ A[i] - A[j] @ A[j]) - (A[i] - A[j]) @ base) / slope
                if -radius < s < radius:
                    out.add(float(s))
    return sorted(out)


def mp_line(red, frame, y_out, *, radius: float, dps: int = 30):
    """The line integrals of the loss column and the gradient columns in mpmath (``dps`` digits):
    (values, error estimates of mpmath.quad), each a list of 1 + n d mpf."""
    n, d = red.n, red.d
    A = np.asarray(red.a, float)
    Qf = np.asarray(red.Q, float) @ np.asarray(frame, float)
    pts = [-radius] + _crossings(A, Qf, y_out, radius) + [radius]
    with mpmath.workdps(dps):
        a = [[mpmath.mpf(float(x)) for x in row] for row in A]
        Q = [[mpmath.mpf(float(x)) for x in row] for row in Qf]
        yo = [mpmath.mpf(float(x)) for x in y_out]
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)
        cache = {}

        def columns(s):
            if s in cache:
                return cache[s]
            yy = [s] + yo
            y = [mpmath.fsum(Q[r][c] * yy[c] for c in range(len(yy))) for r in range(d)]
            lg = [-mpmath.fsum((y[r] - a[i][r]) ** 2 for r in range(d)) / 2 for i in range(n)]
            top = max(lg)
            e = [mpmath.exp(x - top) for x in lg]
            tot = mpmath.fsum(e)
            w = [x / tot for x in e]
            v = [mpmath.fsum(w[i] * a[i][r] for i in range(n)) for r in range(d)]
            dens = norm * mpmath.exp(-s * s / 2)
            out = [dens * mpmath.fsum(x * x for x in v)]
            for i in range(n):
                si = mpmath.fsum(v[r] * (a[i][r] - v[r]) for r in range(d))
                out += [dens * w[i] * (v[r] + si * (y[r] - a[i][r])) for r in range(d)]
            cache[s] = out
            return out

        P = [mpmath.mpf(p) for p in pts]
        vals, errs = [], []
        for c in range(1 + n * d):
            v, e = mpmath.quad(lambda s, c=c: columns(s)[c], P, error=True)
            vals.append(v)
            errs.append(e)
    return vals, errs


def agree(engine, reference) -> bool:
    """Every column of the engine's line within its estimate (plus mpmath's) of the reference."""
    values, estimates = engine
    ref, ref_err = reference
    return all(abs(float(values[c]) - float(ref[c])) <= float(estimates[c]) + float(ref_err[c])
               for c in range(len(values)))


def measured(engine, reference):
    """Per column: (|engine - reference|, the engine's estimate)."""
    values, estimates = engine
    ref, _ = reference
    return [(abs(float(values[c]) - float(ref[c])), float(estimates[c])) for c in range(len(values))]
