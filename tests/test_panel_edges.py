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
other tests do not see them; the work gate (tests/test_engine_work.py) sees them only where they act
at its three nested configurations.
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
                s = (np.linalg.norm(np.linalg.inv(Nin), 2)
                     * (np.linalg.norm(h) + np.linalg.norm(Nout, 2) * np.linalg.norm(y_out)))
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


# -- the edge list of one line (verify.engine.panel_edges.line_edges) -------------------------------

#: the margin in nats within which a tilt's cells must be of the top to get uniform points, as
#: documented at verify.engine.panel_edges.TILT_MARGIN ("a more dominated one changes the integrand
#: by < e^-5 of its size there")
DOCUMENTED_TILT_MARGIN = 5.0


def _edges(B, C, q, y, *, R=9.0, h=2.0, margin=30.0):
    """line_edges for the level-q line at outer coordinates y[q+1:k] of logits l = B y - C, with
    the arrays built as verify.engine.nested_lines builds them (P starts with B row-major, then C)."""
    from verify.engine.panel_edges import EDGE_CAP, line_edges

    B, C = np.asarray(B, dtype=float), np.asarray(C, dtype=float)
    n, k = B.shape
    F = features(B, C)
    P = np.concatenate([B.ravel(), C])
    E, tmp, lg = np.empty(EDGE_CAP), np.empty(k), np.empty(n)
    m = line_edges(q, y, P, n, k, float(R), float(h), float(margin), *F.arrays(), E, tmp, lg)
    return E[:m].copy()


def _grid(R, h):
    """The base grid: 0, +-h, +-2h, ... and +-R."""
    t = np.arange(1, math.ceil(R / h) + 1) * h
    t = np.minimum(t, R)
    return np.unique(np.concatenate([[0.0], t, -t]))


def _on_top(B, C, S, p, margin):
    """How many nats the cells S are below the top at p, minus margin (> 0: buried)."""
    lg = B @ p - C
    others = [i for i in range(len(C)) if i not in S]
    return (max(lg[others]) - lg[S[0]] if others else -math.inf) - margin


def _expected_places(B, C, q, y, R, h, margin):
    """Independently: the places the docstrings promise on the level-q line at y[q+1:k], as
    (position, width) for the relevant ones, and the positions of those too close to a threshold
    (1e-9 relative) to call.  A crossing: junction of q + 2 cells, width below h / 4, its point
    in the ball |p| <= R and its cells within ``margin`` of the top there.  A tilt: junction of
    2..q + 1 cells, width below h / 8, the junction's point nearest the origin in the slice (at
    the centre) in the ball, its cells within DOCUMENTED_TILT_MARGIN of the top: the points
    centre + 2 i w, i = -4..4, clipped to the box."""
    n, k = B.shape
    y_out = y[q + 1:k]
    places, borderline = [], []

    def judge(at, width, ratio, p, S, marg):
        dist = _on_top(B, C, S, p, marg)
        near = abs(ratio - 1) < 1e-9 or abs(np.linalg.norm(p) - R) < 1e-9 * R or abs(dist) < 1e-9 * max(1.0, marg)
        if near:
            borderline.extend(at)
        elif ratio < 1 and np.linalg.norm(p) <= R and dist <= 0:
            places.extend((a, width) for a in at)

    for S in itertools.combinations(range(n), q + 2):
        N, hh = _junction(B, C, S)
        nu = _left_null(N[:, :q])
        det = nu @ N[:, q]
        if abs(det) < 1e-9 * np.linalg.norm(nu) * np.linalg.norm(N[:, q]):
            continue
        width = np.linalg.norm(nu) / abs(det)
        x = np.linalg.solve(N[:, :q + 1], hh - N[:, q + 1:] @ y_out)
        if abs(x[q]) < R:
            judge([x[q]], width, 4 * width / h, np.concatenate([x, y_out]), S, margin)
    for c in range(1, q + 1):
        for S in itertools.combinations(range(n), c + 1):
            N, hh = _junction(B, C, S)
            Nin, g = N[:, :q], N[:, q]
            if np.linalg.matrix_rank(Nin) < c:
                continue
            xg = np.linalg.lstsq(Nin, g, rcond=None)[0]
            width = math.sqrt(1 / (1 + xg @ xg) + 1 / (g @ g))
            nearest = np.linalg.lstsq(N[:, :q + 1], hh - N[:, q + 1:] @ y_out, rcond=None)[0]
            at = np.clip(nearest[q] + 2 * width * np.arange(-4, 5), -R, R)
            judge(list(at), width, 8 * width / h, np.concatenate([nearest, y_out]), S, DOCUMENTED_TILT_MARGIN)
    return places, borderline


#: rounding of a place computed twice (engine and numpy), measured at most 4.5e-14 on the random
#: lines below; 1e-9 is far below the merge distance 0.1 w of the narrowest place there (w > 0.06)
PLACE_TOL = 1e-9


def _check_line(B, C, q, y, R, h, margin):
    """The edges of one line against the contract; returns the number of places checked."""
    E = _edges(B, C, q, y, R=R, h=h, margin=margin)
    places, borderline = _expected_places(B, C, q, y, R, h, margin)
    wmin = min([h] + [w for _, w in places])
    # the box's ends exactly, sorted, places closer than a tenth of the narrowest width merged
    assert E[0] == -R and E[-1] == R
    assert np.all(np.diff(E) > 0.1 * wmin * (1 - 1e-12))
    # every relevant place is an edge, up to the merge (a dropped place lies within 0.1 wmin of a kept one)
    for at, w in places:
        assert np.min(np.abs(E - at)) <= 0.1 * w + PLACE_TOL
    # and every edge is a grid point or a place (merging keeps the first of a cluster; the last is R)
    allowed = np.concatenate([_grid(R, h), [a for a, _ in places], borderline])
    for e in E:
        assert np.min(np.abs(allowed - e)) <= PLACE_TOL
    return len(places)


def test_edges_are_the_grid_and_the_relevant_places_on_random_lines():
    """On random configurations (k = 1, 2, 3; slopes ~N(0, 16), offsets ~N(0, 25)), at every
    level q and random outer coordinates y[q+1:] ~N(0, 2.25), base lengths h = 2 and 4, radius 9
    and margin 30: the first edge is -R and the last R exactly; the edges increase by more than
    a tenth of the narrowest relevant width; every relevant place (see _expected_places) lies
    within a tenth of its width of an edge; and every edge is a grid point or a relevant place.
    Rejects, among others: crossings at the wrong place (mutants #74, #87 of the 5936fcd sample),
    tilts given points 5-10 nats below the top (TILT_MARGIN 10, mutant #38) and crossings between
    h / 8 and h / 4 left out (mutant #73)."""
    rng = np.random.default_rng(5)
    R, margin = 9.0, 30.0
    checked = 0
    for k, ns in ((1, (2, 3, 4)), (2, (3, 4, 5)), (3, (4, 5))):
        for n in ns:
            for _ in range(8):
                B, C = rng.normal(size=(n, k)) * 4, rng.normal(size=n) * 5
                for q in range(k):
                    for h in (2.0, 4.0):
                        y = rng.normal(size=k) * 1.5
                        checked += _check_line(B, C, q, y, R, h, margin)
    assert checked > 100


@pytest.mark.parametrize("ratio", [0.13, 0.2, 0.24, 0.26, 0.4])
def test_a_crossing_gets_an_edge_exactly_when_narrower_than_a_quarter_of_the_base_length(ratio):
    """k = 1, two cells, logits 0 and (y - 0.7) / w: one transition at 0.7 of width w = ratio h
    (h = 2).  Below h / 4 its place is an edge (0.7 within rounding); at or above it the edges are
    the base grid alone (wider ones are left to the base grid and the halving).  Ratios between
    1/8 and 1/4 reject the threshold at h / 8 (8 w >= h, mutant #73 of the 5936fcd sample)."""
    h, w = 2.0, ratio * 2.0
    B, C = np.array([[0.0], [1 / w]]), np.array([0.0, 0.7 / w])
    E = _edges(B, C, 0, np.zeros(1), h=h)
    grid = _grid(9.0, h)
    if ratio < 0.25:
        assert len(E) == len(grid) + 1 and np.min(np.abs(E - 0.7)) <= PLACE_TOL
    else:
        assert np.allclose(E, grid, rtol=0, atol=PLACE_TOL) and len(E) == len(grid)


def _tilt_below_top(nats):
    """k = 2, three cells: logits 0, 0.5 y_0 + 8 y_1 - 8 and the constant ``nats``.  On the outer
    line (q = 1) the junction of cells 0 and 1 has a tilt of width w = sqrt(1/257 + 1/64) = 0.14
    (below h / 8 = 0.25) centred at t = 64 / 64.25 = 0.996, its nearest point (0.06, 0.996) inside the
    ball; cell 2 lies ``nats`` above it everywhere.  Returns (B, C, the tilt's nine points)."""
    B = np.array([[0.0, 0.0], [0.5, 8.0], [0.0, 0.0]])
    C = np.array([0.0, 8.0, -nats])
    g, a, hh = 8.0, 0.5, 8.0
    centre = g * hh / (a * a + g * g)  # the min-norm point of a y_0 + g y_1 = hh, its y_1
    w = math.sqrt(1 / (1 + (g / a) ** 2) + 1 / g**2)
    return B, C, centre + 2 * w * np.arange(-4, 5)


@pytest.mark.parametrize("nats", [4.9, 5.1])
def test_a_tilt_gets_its_points_only_within_five_nats_of_the_top(nats):
    """The tilt of _tilt_below_top with its cells 4.9 nats below the top gets its nine uniform
    points; 5.1 nats below it gets none (documented: a more dominated tilt changes the integrand
    by < e^-5 of its size; the halving resolves it as needed), though the line's margin (30) would
    keep a crossing there.  Rejects TILT_MARGIN = 10 (mutant #38 of the 5936fcd sample)."""
    B, C, points = _tilt_below_top(nats)
    E = _edges(B, C, 1, np.zeros(2), h=2.0, margin=30.0)
    found = [np.min(np.abs(E - p)) <= PLACE_TOL for p in points]
    assert all(found) if nats < DOCUMENTED_TILT_MARGIN else not any(found)


@pytest.mark.parametrize("tail", [None, 1e6, -1e6, math.nan])
@pytest.mark.parametrize("nats", [4.9, 5.1])
def test_edges_depend_on_the_line_coordinates_only(nats, tail):
    """line_edges reads the outer coordinates y[q+1:k] and nothing past y[k - 1]: the lines of
    test_a_tilt_gets_its_points_only_within_five_nats_of_the_top with y a view into a longer buffer
    whose tail holds 1e6, -1e6 or NaN give the same edges as y on its own (numba does no bounds
    checks, so a loop that overruns y reads whatever follows it).  Rejects the tilt's inner point
    summed over k + q - 1 outer terms instead of k - q - 1 (mutant #71 of the 5936fcd sample: the
    extra terms multiply the constant column by y[k], which moves the inner point out of the
    ball (1e6: the tilt within the margin loses its points) or makes it NaN (which passes every
    comparison: the buried tilt gets points))."""
    B, C, points = _tilt_below_top(nats)
    alone = np.zeros(2)
    if tail is None:
        y = alone
    else:
        buf = np.full(16, tail)
        buf[:2] = 0.0
        y = buf[:2]
    E = _edges(B, C, 1, y, h=2.0, margin=30.0)
    found = [np.min(np.abs(E - p)) <= PLACE_TOL for p in points]
    assert all(found) if nats < DOCUMENTED_TILT_MARGIN else not any(found)
    assert np.array_equal(E, _edges(B, C, 1, alone, h=2.0, margin=30.0))


def test_a_tilt_centred_outside_the_ball_gets_no_points():
    """The tilt of cells 0 and 1 of _tilt_below_top (on top: cell 2 is 20 nats below them) moved
    so that its centre lies at R + 4 w (five of its nine points would fall inside the box), R + 8.5 w
    and R + 9.5 w: its place (the junction's nearest point, at the centre) is outside the ball
    |y| <= R, so it gets no points; the tilt of cells 1 and 2 is buried under cell 0 (20 nats), so
    the edges are the base grid alone."""
    R, h = 9.0, 2.0
    g, a = 8.0, 0.5
    w = math.sqrt(1 / (1 + (g / a) ** 2) + 1 / g**2)
    for beyond in (4.0, 8.5, 9.5):
        centre = R + beyond * w
        hh = centre * (a * a + g * g) / g
        B = np.array([[0.0, 0.0], [a, g], [0.0, 0.0]])
        C = np.array([0.0, hh, 20.0])  # cell 2 20 nats below cell 0 everywhere
        E = _edges(B, C, 1, np.zeros(2), R=R, h=h)
        assert np.allclose(E, _grid(R, h), rtol=0, atol=PLACE_TOL) and len(E) == len(_grid(R, h))


def test_the_box_ends_survive_the_merge():
    """The last edge is R exactly and the edges increase, also where the last place before R lies
    closer to it than the merge distance (the place is merged into R: documented "keep the end of
    the box"): a transition of width 0.1 at R - 0.005 (merge distance 0.01), and the base grid of
    h = 0.1 on R = 1, whose accumulated last step 0.9999999999999999 falls just short of R.  Rejects
    R written over the edge before the last kept one (E[m - 2], mutant #68 of the 5936fcd sample:
    edges ..., R, R - 0.005)."""
    R = 9.0
    B, C = np.array([[0.0], [10.0]]), np.array([0.0, 10.0 * (R - 0.005)])
    E = _edges(B, C, 0, np.zeros(1), R=R, h=2.0)
    assert E[0] == -R and E[-1] == R and np.all(np.diff(E) > 0)
    assert np.allclose(E, _grid(R, 2.0), rtol=0, atol=PLACE_TOL) and len(E) == len(_grid(R, 2.0))
    E = _edges(np.array([[0.0], [1.0]]), np.array([0.0, 50.0]), 0, np.zeros(1), R=1.0, h=0.1)
    assert E[0] == -1.0 and E[-1] == 1.0 and np.all(np.diff(E) > 0)
    assert len(E) == 21


# -- the level-0 closed form (verify.engine.nested_lines) ----------------------------------------------


@pytest.mark.parametrize("mu", [[[0.3], [40.0], [-40.0]], [[-40.0], [0.3], [40.0]], [[-40.0], [40.0], [0.3]]])
def test_a_line_inside_one_cell_needs_no_integrand_evaluation(mu):
    """k = 1, three means, m* = 0: the one at 0.3 wins on the whole box [-9, 9] (the others' logits
    are >= 437 nats below it there, far beyond skip_nats = 30), listed first, second or last.  Every
    panel lies inside the winner's cell, so each is taken in closed form (documented: one cell's
    logit exceeds every other by skip_nats at both ends): no integrand evaluation, and the value is
    the winner's constant integrand times the box's Gaussian mass (a sum of ten panel masses:
    1e-13 relative covers its rounding, ~10 ulps).  Rejects the closed-form cell chosen by
    l(a) + l(b) > l_best(a) - l_best(b) (mutant #94 of the 5936fcd sample: it picks a loser, whose
    gap is negative, and evaluates every panel node by node) where the winner is not listed first."""
    from verify.engine.expectation import _use_centred, reduce_float
    from verify.engine.gauss_kronrod import gauss_kronrod_float
    from verify.engine.kernels import cell_values, model_arrays
    from verify.engine.nested_lines import integrate_nested
    from verify.engine.panel_edges import gaussian_mass

    R = 9.0
    red = reduce_float(np.array(mu), np.zeros(1), 0.0)
    M = model_arrays(red, np.eye(1), with_grad=True, centred=_use_centred(red))
    Fc = cell_values(red, True)
    mc = 1 + red.n * red.d
    val, err, _, skipped, counts = integrate_nested(
        M, features(M.B, M.C), Fc, tau=np.full((1, mc), 1e-12), Kb=1e3, skip_nats=30.0, radius=R, base=2.0,
        margin=30.0, rule=gauss_kronrod_float(10))
    top = int(np.argmin(np.abs(np.array(mu)[:, 0])))
    ends = np.array([[-R], [R]])
    lg = ends @ M.B.T - M.C
    assert np.all(np.delete(lg, top, axis=1).max(axis=1) <= lg[:, top] - 400)  # inside the winner's cell
    assert counts[0] == 0 and counts[-1] == 0
    want = Fc[top, :mc] * gaussian_mass(-R, R)
    assert np.all(np.abs(val[:mc] - want) <= 1e-13 * np.abs(want) + 1e-300)
