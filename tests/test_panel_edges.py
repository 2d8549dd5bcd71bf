"""Where the nested lines' panels start, against their documented contract, each computed again
independently with numpy:

* the junction maps of verify.engine.junctions (``features``): the crossing of a junction of
  q + 2 cells with the level-q slice solves N (y_0..y_q) = h - N_out y_out; the tilt's centre is
  the centre of exp(-(gamma^2 (t - t*)^2 + t^2) / 2), i.e. the slice coordinate of the junction's
  point nearest the origin; its inner point is the min-norm one; the widths are the documented
  formulas;
* the edge list of verify.engine.panel_edges (``line_edges``): every relevant crossing narrower
  than h / 4 and every relevant tilt narrower than h / 8 is an edge, up to the documented merge;
  the box ends are -R and R exactly; edges are sorted and merged; a tilt within TILT_MARGIN
  nats of the top gets its uniform points, a more dominated one none; nothing past y[k - 1] is read;
* the level-0 closed form of verify.engine.nested_lines: a line inside one cell needs no
  integrand evaluation.

These only move where panels start (the values stay within their estimates), so the engine's
other tests do not see them; the work gate (tests/test_engine_work.py) allows a quarter more work.
"""

import itertools
import math

import numpy as np
import pytest

from verify.engine.junctions import features

EPS = 2.0**-52


def _junction(B, C, S):
    """N y = h of the junction of the cells S (reference S[0]), as the module docstring defines it."""
    S = list(S)
    return B[S[1:]] - B[S[0]], C[S[1:]] - C[S[0]]


def _left_null(A):
    """The left null vector of a (p + 1) x p matrix by cofactors (no SVD): nu_a = (-1)^a det(A
    without row a), so nu . v = det([A v]) for any column v."""
    p1 = A.shape[0]
    return np.array([(-1) ** a * np.linalg.det(np.delete(A, a, axis=0)) if A.shape[1] else 1.0 for a in range(p1)])


def _random_configs(seed=1):
    """20 random configurations per (k, n): k = 2, 3 with n = k + 1..5, and k = 4 with n = 5; the
    logit slopes of a cell scaled by 0.3-5 (narrow and wide places), offsets ~N(0, 25)."""
    rng = np.random.default_rng(seed)
    for k in (2, 3, 4):
        for n in (range(k + 1, 6) if k < 4 else (5,)):
            for _ in range(20):
                B = rng.normal(size=(n, k)) * rng.uniform(0.3, 5, size=(n, 1))
                yield k, n, B, rng.normal(size=n) * 5, rng


#: rounding allowance of the junction maps, in units of eps x condition x scale (see the tests):
#: a backward-stable solve errs by a small multiple of that; the engine and numpy differ in route
#: (explicit inverse, Gram matrix, closed forms at 1 x 1 and 2 x 2)
ROUNDING = 64


def test_crossing_map_solves_the_junction_at_random_outer_coordinates():
    """x_h + x_M y_out (verify.engine.junctions.Features) is the solution of
    N[:, :q+1] (y_0..y_q) = h - N[:, q+1:] y_out (numpy.linalg.solve), for every junction of
    q + 2 cells (all of them nonsingular here, so all are listed, in combinations order), at
    random y_out.  Tolerance ROUNDING eps kappa s, kappa the condition number of N[:, :q+1] and
    s = |N[:, :q+1]^-1| (|h| + |N_out| |y_out|) the size of the solution's terms before any
    cancellation.  The width is |nu| / |nu . N[:, q]| with nu the left null vector of N[:, :q]
    (here by cofactors), to ROUNDING eps kappa relative.
    Rejects x_h accumulated from 1.0 instead of 0.0 (mutant #87 of the 5936fcd sample) and x_M read
    from the next outer coordinate's column (N[b, q + 2 + o], mutant #74)."""
    checked = 0
    for k, n, B, C, rng in _random_configs():
        F = features(B, C)
        for q in range(k):
            subsets = list(itertools.combinations(range(n), q + 2))
            assert F.x_count[q] == len(subsets)
            for j, S in enumerate(subsets):
                assert tuple(c for c in F.x_cells[q, j] if c >= 0) == S
                N, h = _junction(B, C, S)
                Nin, Nout = N[:, :q + 1], N[:, q + 1:]
                y_out = rng.normal(size=k - q - 1) * 3
                want = np.linalg.solve(Nin, h - Nout @ y_out)
                got = F.x_h[q, j, :q + 1] + F.x_M[q, j, :q + 1, :k - q - 1] @ y_out
                kappa = np.linalg.cond(Nin)
                s = np.linalg.norm(np.linalg.inv(Nin), 2) * (np.linalg.norm(h) + np.linalg.norm(Nout, 2) * np.linalg.norm(y_out))
                assert np.max(np.abs(got - want)) <= ROUNDING * EPS * kappa * s
                nu = _left_null(N[:, :q])
                width = np.linalg.norm(nu) / abs(nu @ N[:, q])
                assert abs(F.x_width[q, j] - width) <= ROUNDING * EPS * kappa * width
                checked += 1
    assert checked > 1000


def test_tilt_maps_are_the_nearest_point_of_the_junction_at_random_outer_coordinates():
    """For every junction of c + 1 <= q + 1 cells at level q (c >= 1; all listed here, in order):
    the centre t_c0 + t_coef . y_out is the y_q coordinate of the junction's point nearest the
    origin in the slice coordinates y_0..y_q (min-norm solution of N[:, :q+1] x = h - N_out y_out,
    numpy.linalg.lstsq): that point maximises exp(-(|x_in|^2 + t^2) / 2) over the junction, and
    min over x_in of |x_in|^2 at fixed t is gamma^2 (t - t*)^2 + const, so it is the docstring's
    centre of exp(-(gamma^2 (t - t*)^2 + t^2) / 2).  The inner point t_in @ (t, y_out, 1) at a
    random t is the min-norm solution of N[:, :q] x = h - g t - N_out y_out (lstsq).  The width is
    sqrt(1 / (1 + gamma^2) + 1 / |g|^2), gamma^2 = |x_g|^2 with x_g the min-norm solution of
    N[:, :q] x = g.  Tolerances ROUNDING eps kappa^2 s (the engine goes through the Gram matrix
    N[:, :q] N[:, :q]^T, whose condition is kappa^2; s the size of the terms as for crossings).
    Rejects the inner point's last outer coefficient left at zero (range(k - q - 2), mutant #89 of
    the 5936fcd sample; it shows from k = 3 on)."""
    checked = 0
    for k, n, B, C, rng in _random_configs(2):
        F = features(B, C)
        for q in range(k):
            subsets = [S for c in range(1, q + 1) for S in itertools.combinations(range(n), c + 1)]
            assert F.t_count[q] == len(subsets)
            for j, S in enumerate(subsets):
                assert tuple(c for c in F.t_cells[q, j] if c >= 0) == S
                N, h = _junction(B, C, S)
                Nin, g, Nout = N[:, :q], N[:, q], N[:, q + 1:]
                y_out = rng.normal(size=k - q - 1) * 3
                r0 = h - Nout @ y_out
                nearest = np.linalg.lstsq(N[:, :q + 1], r0, rcond=None)[0]
                kappa2 = np.linalg.cond(Nin) ** 2
                pinv = np.linalg.norm(np.linalg.pinv(Nin), 2)
                size = np.linalg.norm(h) + np.linalg.norm(Nout, 2) * np.linalg.norm(y_out)
                centre = F.t_c0[q, j] + F.t_coef[q, j, :k - q - 1] @ y_out
                s = pinv * (size + np.linalg.norm(g) * abs(nearest[q]))
                assert abs(centre - nearest[q]) <= ROUNDING * EPS * kappa2 * max(s, abs(nearest[q]))
                t = rng.normal() * 3
                inner = np.linalg.lstsq(Nin, r0 - g * t, rcond=None)[0]
                got = F.t_in[q, j, :q, :k - q + 1] @ np.concatenate([[t], y_out, [1.0]])
                s = pinv * (size + np.linalg.norm(g) * abs(t))
                assert np.max(np.abs(got - inner)) <= ROUNDING * EPS * kappa2 * s
                xg = np.linalg.lstsq(Nin, g, rcond=None)[0]
                width = math.sqrt(1 / (1 + xg @ xg) + 1 / (g @ g))
                assert abs(F.t_width[q, j] - width) <= ROUNDING * EPS * kappa2 * width
                checked += 1
    assert checked > 1000
