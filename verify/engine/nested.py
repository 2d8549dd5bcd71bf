"""The expectations by nested lines: graded adaptive panels inside, Gauss-Hermite or panels outside.

The Gaussian integral over the k-dimensional span (see :mod:`verify.engine.expectation`) is
computed as k nested one-dimensional integrals (:mod:`verify.engine.nested_lines`):

* level 0 (the sharpest axis) by Gauss-Kronrod panels split at the softmax transitions
  (closed form, :mod:`verify.engine.junctions`), halved where their estimate exceeds their share
  of the tolerance, and in closed form inside a cell (with a bound of what that drops);
* each outer level q by Gauss-Hermite when nothing sharp is left at that level after the
  inner levels are integrated out (no junction crossing narrower than ``SMOOTH_WIDTH``
  near the Gaussian bulk), else by the same adaptive panels.  Integrating out the inner
  axis smooths every transition it crosses at a good angle, so far-apart means in
  several directions still give smooth outer levels (measured: Gauss-Hermite of order
  24 reaches 1e-12 at k = 3, means 6-14 apart); the outer axes are turned about the inner
  one so that no level sees a wide spread of logit slopes (:mod:`verify.engine.frame`).

Error estimate = level 0's and the panel levels' sums of |K - G| + for each
Gauss-Hermite level the change when its order alone is raised + the rounding bound
integrated over the nodes + 16 k eps sum |w f| (the sums themselves) + the bound of the
closed-form cells + the Gaussian tail bound outside the box [-R, R]^k.

The absolute tolerance each panel is held to needs the size of the result; a pilot at a
loose tolerance provides it (or the caller, e.g. gradient descent, passes the previous
step's).  A configuration whose next attempt would exceed the work budget is refused
with :class:`verify.engine.tolerances.AccuracyError` naming the estimated cost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .backend import gauss_hermite
from .compiled_cache import notice_if_compiling
from .frame import choose_frame
from .gauss_kronrod import gauss_kronrod_float
from .junctions import pair_slopes, slope_drift
from .lines import radius_for, tail_bound
from .nested_cost import WorkClock, refuse_costly
from .nested_lines import G_ONLY, compiled, integrate_nested
from .nested_setup import setup as _setup
from .nested_setup import skip_for as _skip_for
from .quadrature import SMOOTH_SLOPE, _axis_slopes, _gh_order
from .time_limit import check_time
from .tolerances import AccuracyError

__all__ = ["NestedPlan", "nested_expectations", "use_nested", "level0_line", "SMOOTH_WIDTH", "MAX_NODES"]

#: A junction crossing narrower than this (in the outer coordinate) within SHARP_RADIUS of the origin makes a level
#: "sharp": panels instead of Gauss-Hermite.  Measured at k = 3 (four losers 6-14 from the winner, in the frame of
#: verify.engine.frame): kinks of width 0.46-0.6 at radius 3-4.5 need Gauss-Hermite orders 60-135 for 1e-10, which now
#: cost 2-4x less than panels there (a panel line takes ~250 nodes per level, the lines under far Gauss-Hermite nodes
#: almost none); the sharp k = 2 bench case (a triple junction of width 0.28 at radius 2) stays on panels (Gauss-Hermite
#: first: 6x the work).
SMOOTH_WIDTH = 0.4
SHARP_RADIUS = 4.5
#: Gauss-Hermite orders tried on a smooth level (each estimated by the next one), starting from
#: the one :mod:`verify.engine.quadrature` picks for the level's slope spread (or 12 beyond it).
#: Up to 135 estimated by 202 (far k = 3 needs 60-135 on both outer levels at 1e-10).
GH_MAX = 210


def _gh_next(o: int) -> int:
    return o + max(2, o // 2)


def _gh_start(slope: float) -> int:
    # the orders _gh_order picks are for the whole integrand; integrated over the inner axis the
    # level is smoother, so they serve only to start below 12 where the level is nearly flat
    return min(12, _gh_order(slope)) if slope <= SMOOTH_SLOPE else 12
#: Work budget of one evaluation, in integrand evaluations (a refusal names their seconds too:
#: verify.engine.nested_cost.WorkClock).
MAX_NODES = 30_000_000
#: A pilot gets this fraction of the budget; the first full-tolerance run is predicted to cost
#: PILOT_GROWTH pilots (measured 1.5-3 at k = 2, 3 between tol 1e-4 and 1e-10).
PILOT_FRACTION = 0.1
PILOT_GROWTH = 3.0
#: Base panel length on every panel level (the halving refines it where the estimate asks).
BASE_PANEL = 2.0
#: Transitions dominated by more than this many nats get no breakpoint (their structure is
#: below e^-30 of the integrand there; the halving still sees it if it matters).
MARGIN = 30.0
SLACK = 10.0  # see _tau
#: A level-0 panel is also taken in closed form (its top cell) when the bound of what that drops,
#: weighted, is below this fraction of the panel's share of the tolerance; the dropped bounds of the
#: level then add up to at most this fraction of its tolerance, and the error estimate carries them
#: (measured at k = 3, means 8 apart: 3x fewer evaluations, the same value to every digit).
SKIP_SHARE = 0.25
#: A tape is replayed only while no pair's logit slope moved by more than this (nats per unit length; a panel's
#: half-length is at most BASE_PANEL / 2 = 1, so a G_10 panel's slope times length moves by at most this).  Measured
#: along Figure 1 (M = 6) in its fastest phase (steps 100-150): the replayed gradient's error grew from 1e-15 to
#: 1e-13-5e-13 by a drift of 0.25 and to 1.2e-11 by 1.0 (tol 1e-10); later drifts of 0.5 left it at 1e-14.
TAPE_DRIFT = 0.25


@dataclass
class NestedPlan:
    """The rule an accepted evaluation settled on, reusable at nearby configurations."""

    kind: str = "nested"
    frame: np.ndarray | None = None
    orders: tuple = ()  # Gauss-Hermite order per level (0 = panels); level 0 always panels
    radius: float = 0.0
    scales: tuple = (1.0, 1.0)  # (|L|, gradient scale) the tolerance was set from
    extra: dict = field(default_factory=dict)
    tape: np.ndarray | None = None  # the accepted panels (verify.engine.nested_lines), replayed
    tau: np.ndarray | None = None  # the per-level tolerances the tape's panels were accepted at
    slopes: np.ndarray | None = None  # B_i - B_j (pairs i < j, frame coordinates) where the tape was made


def _narrowest(feats, B, C, radius_bulk=SHARP_RADIUS):
    """Per level q >= 1: the narrowest junction crossing near the bulk (see _sharp_levels)."""
    k = feats.k
    out = [np.inf] * k
    for q in range(1, k):
        for j in range(feats.x_count[q]):
            if feats.x_width[q, j] >= out[q]:
                continue
            S = [c for c in feats.x_cells[q, j] if c >= 0]
            N = B[S[1:]] - B[S[0]]
            h = C[S[1:]] - C[S[0]]
            y = np.linalg.lstsq(N, h, rcond=None)[0]  # min-norm point of the junction
            if np.linalg.norm(y) > radius_bulk:
                continue
            lg = B @ y - C
            others = [i for i in range(B.shape[0]) if i not in S]
            if not others or max(lg[others]) - lg[S[0]] <= MARGIN:
                out[q] = feats.x_width[q, j]
    return out


def _sharp_levels(feats, B, C):
    """Levels q >= 1 with a junction crossing narrower than SMOOTH_WIDTH whose junction passes
    within SHARP_RADIUS of the origin with its cells on top there (nearest point tested)."""
    return [q for q, w in enumerate(_narrowest(feats, B, C)) if q >= 1 and w < SMOOTH_WIDTH]


def _run(st, tau, orders, max_nodes=MAX_NODES, clock=None, **taped):
    """One run of the compiled rule with Gauss-Hermite of these orders on the levels q >= 1 where
    they are > 0; ``taped``: tape= (replay) or record= (see integrate_nested); timed on ``clock``."""
    start, warm = time.perf_counter(), compiled()
    out = _run_rule(st, tau, {q: gauss_hermite(o) for q, o in enumerate(orders) if q >= 1 and o > 0},
                    max_nodes, **taped)
    if clock is not None:  # a run that compiled the rule is not timed (compiled=)
        clock.ran(int(out[4][:st.model.k].sum()), time.perf_counter() - start, compiled=not warm)
    return out


def _run_rule(st, tau, gh, max_nodes=MAX_NODES, **taped):
    """One run of the compiled rule with the outer rules ``gh`` ({level: (nodes, weights)})."""
    check_time()  # every run of the compiled rule: a run inside a time limit stops here (engine/time_limit.py)
    return integrate_nested(st.model, st.feats, st.Fcell, tau=tau, Kb=st.Kb, skip_nats=st.skip_nats,
                            radius=st.radius, base=BASE_PANEL, margin=MARGIN, rule=gauss_kronrod_float(10),
                            gh=gh, max_nodes=max_nodes, skip_share=SKIP_SHARE, **taped)


def _estimate(err, absval, skipb, k, gh_err=0.0, tail=0.0):
    """The error estimate of a run: the panels' |K - G| summed over the levels, the Gauss-Hermite
    levels' change with their order, 16 k eps sum |w f| (the sums' rounding), the closed-form
    cells' bound and the Gaussian tail bound."""
    return err.sum(axis=0) + gh_err + 16 * k * 2.0**-52 * absval + skipb + tail


def _tau(st, tol, scales, slack=1.0, gh_levels=False):
    """Per-level absolute tolerances for the panels' halving test.  Half the tolerance goes to the
    quadrature, shared among the levels (the other half to the rounding, tail and closed-form
    bounds).  ``slack`` > 1 lets each panel take that many times its share: accepted panels are
    mostly far below their share (measured: level sums 10-100x below the budget at k = 3), and the
    acceptance test is on the summed estimate, so a rule that needs the full share is redone."""
    k = st.model.k
    L, gs = scales
    tau = np.empty((k, st.mc))
    tau[:, 0] = 0.5 * tol * L / k * slack
    tau[:, 1:] = 0.5 * tol * gs / k * slack
    if gh_levels:
        # the Gauss-Hermite estimate compares two runs; their inner errors must sit well below
        # the tolerance for the difference to resolve the outer rule's error
        tau *= 0.25
    return tau


def _scales(value, mc, lscale):
    L = abs(float(value[0]))
    if mc == 1:
        return (L, 1.0)
    return (L, max(float(np.max(np.abs(value[1:mc]))), L / lscale))


@dataclass
class NestedIntegral:
    value: np.ndarray
    error: np.ndarray
    nodes: int
    radius: float
    plan: NestedPlan | None


def use_nested(red, backend, plan) -> bool:
    """The nested path for float64 whenever some axis is sharp (the Gauss-Hermite grid of
    :mod:`verify.engine.quadrature` stays the cheaper rule when every axis is smooth); a plan made by
    one path is reused by the same path."""
    if backend.is_mp or red.k == 0:
        return False
    if plan is not None:
        return isinstance(plan, NestedPlan)
    return bool(np.max(_axis_slopes(red.B)) > SMOOTH_SLOPE)


def _pilot_vector(scales, st):
    v = np.zeros(st.model.m)
    v[0] = scales[0]
    if st.mc > 1:
        v[1] = scales[1]
    return v


def _check_budget(counts, k, max_nodes, sharp, levels_gh, nodes, clock):
    """A run stopped at the budget (within a level; its prediction was within it): refused after it."""
    if counts[k] > 0:
        raise AccuracyError(f"more than {max_nodes:.1e} integrand evaluations "
                            f"(more than ~{clock.seconds(max_nodes):.2g} s) "
                            f"would be needed (k={k}; outer levels by panels: {sharp}, by Gauss-Hermite: {levels_gh}); "
                            f"refused {clock.spent(nodes)}, when the run reached it (no prediction refused it ahead)")


def _grid(orders, levels_gh):
    return float(np.prod([orders[q] for q in levels_gh])) if levels_gh else 1.0


def _refuse_ahead(predicted, nodes, max_nodes, k, what, clock):
    """Refuse before a run whose predicted cost would exceed the budget (never minutes of work
    that end in a refusal).  Predictions: a run costs its predecessor times the growth of the
    Gauss-Hermite grid; the first one costs PILOT_GROWTH pilots per grid point."""
    if nodes + predicted > max_nodes:
        raise AccuracyError(f"this configuration needs about {nodes + predicted:.1e} integrand evaluations "
                            f"(~{clock.seconds(nodes + predicted):.0f} s) for {what}, above the budget of "
                            f"{max_nodes:.1e} (k={k}); refused before that run, {clock.spent(nodes)}")


def nested_expectations(red, *, tol, with_grad=True, accept, hopeless, tail_target, plan=None, scales=None,
                        centred=False, max_nodes=MAX_NODES):
    """A :class:`NestedIntegral` (value, error, nodes, radius, plan) over the columns of the integrand (see
    :mod:`verify.engine.kernels`).  With a ``plan`` the same outer rule is applied once, without the
    Gauss-Hermite estimate (error NaN)."""
    k = red.k
    lscale = 2 * max(1.0, red.amax)
    if plan is not None:
        # the same outer rule (orders, radius, tolerances).  With a tape, the panels the plan's
        # evaluation accepted (level 0 still halves where its test asks; anything else that no
        # longer fits flags the run); without one, the panels adapt afresh.  Either way only the
        # Gauss-Hermite levels and the G_10 panels go unestimated until the next full evaluation.
        st = _setup(red, plan.frame, with_grad, centred, plan.radius) if plan.frame.shape[0] == k else None
        if st is not None:
            st = _skip_for(st, tail_target(_pilot_vector(plan.scales, st)))
        if st is None or (plan.tape is not None and slope_drift(st.model.B, plan.slopes) > TAPE_DRIFT):
            counts = np.ones(k + 1)  # the means moved beyond what the tape covers: evaluate afresh
        elif plan.tape is not None:
            val, _, _, _, counts = _run(st, plan.tau, plan.orders, max_nodes=max_nodes, tape=plan.tape)
        else:
            val, _, _, _, counts = _run(st, _tau(st, tol, plan.scales), plan.orders, max_nodes=max_nodes)
        if counts[k] == 0:
            return NestedIntegral(val, np.full(val.shape, np.nan), int(counts[:k].sum()), plan.radius, plan)
        plan = None  # the rule no longer fits (drift, edge overflow or budget): a full evaluation follows
    notice_if_compiling(compiled())
    radius = radius_for(max(red.amax**2, red.amax + 2 * red.amax**3, 2 * red.amax**2), tail_target(None), k)
    frame = choose_frame(red.B)
    st = _setup(red, frame, with_grad, centred, radius)
    sharp = _sharp_levels(st.feats, st.model.B, st.model.C)
    levels_gh = [q for q in range(1, k) if q not in sharp]
    slopes = _axis_slopes(st.model.B)
    start = {q: _gh_start(float(slopes[q])) for q in range(1, k)}
    first = [0] + [_gh_next(start[q]) if q in levels_gh else 0 for q in range(1, k)]
    # the first run (the pilot's, or without one the first at full tolerance), estimated before it
    clock = WorkClock()
    first_cost = refuse_costly(st.model, st.feats, orders=first, radius=st.radius, base=BASE_PANEL, margin=MARGIN,
                               skip_nats=st.skip_nats,
                               budget=max_nodes * PILOT_FRACTION if scales is None else max_nodes,
                               what=f"the first {'pilot ' if scales is None else ''}run alone "
                               f"(panels on levels {sharp})", clock=clock)
    nodes = 0
    unit = None  # predicted evaluations per Gauss-Hermite grid point of a full-tolerance run
    phases = []  # (what, orders, nodes): where the work went, kept in plan.extra
    if scales is None:
        # pilot: loose absolute tolerance from the integrand bound, then from its own result
        scales = (st.bound_scale, st.bound_scale)
        for _ in range(3):
            val, err, _, _, counts = _run(st, _tau(st, 1e-4, scales), first, int(max_nodes * PILOT_FRACTION), clock)
            nodes += int(counts[:k].sum())
            unit = PILOT_GROWTH * int(counts[:k].sum()) / _grid(first, levels_gh)
            phases.append(("pilot", tuple(first), int(counts[:k].sum())))
            new = _scales(val, st.mc, lscale)
            if counts[k] > 0:
                # the estimate: PILOT_GROWTH times the cost model's pilot figure (it rates a first run from above)
                need = PILOT_GROWTH * max(first_cost, nodes)
                raise AccuracyError(f"the pilot evaluation at tolerance 1e-4 alone exceeds "
                                    f"{max_nodes * PILOT_FRACTION:.1e} integrand evaluations; the requested "
                                    f"tolerance would need about {need:.1e} (~{clock.seconds(need):.0f} s: the cost "
                                    f"model's figure for the pilot times {PILOT_GROWTH:g}), above the budget of "
                                    f"{max_nodes:.1e}; refused (k={k}) {clock.spent(nodes)}")
            if float(np.sum(err[:, 0])) <= 1e-2 * new[0] and new[0] > 0:
                scales = new
                break
            scales = new if new[0] > 0 else (scales[0] * 1e-6, scales[1] * 1e-6)
    # the truncation radius the result needs (the first guess assumed the loss is ~ amax^2)
    need = radius_for(st.bound_scale, tail_target(_pilot_vector(scales, st)), k)
    if need > st.radius:
        st = _setup(red, frame, with_grad, centred, need)
    lo = dict(start)
    # slack only without Gauss-Hermite levels: their estimate compares two runs, whose inner
    # errors it cannot resolve below (measured: orders raised in vain with slack 10)
    slack = SLACK if not levels_gh else 1.0
    low = None  # the value of the lower Gauss-Hermite orders, once computed
    low_rule = None  # (orders, tape) of that run
    while True:
        st = _skip_for(st, tail_target(_pilot_vector(scales, st)))
        tail = st.bound_scale * tail_bound(st.radius, k)
        lo_orders = [0] + [lo[q] if q in levels_gh else 0 for q in range(1, k)]
        orders = [0] + [_gh_next(lo[q]) if q in levels_gh else 0 for q in range(1, k)]
        tau = _tau(st, tol, scales, slack, bool(levels_gh))
        if unit is not None:
            # evaluations per point of the Gauss-Hermite grid, from the pilot or the last run
            grid = _grid(orders, levels_gh) + (_grid(lo_orders, levels_gh) if levels_gh and low is None else 0)
            _refuse_ahead(unit * grid, nodes, max_nodes, k, f"Gauss-Hermite orders {orders[1:]}, panels on {sharp}",
                          clock)
        if levels_gh and low is None:
            v_lo, _, _, _, c_lo, lo_tape = _run(st, tau, lo_orders, max_nodes - nodes, clock,
                                                record=_tau(st, tol, scales))
            nodes += int(c_lo[:k].sum())
            phases.append(("lower orders", tuple(lo_orders), int(c_lo[:k].sum())))
            _check_budget(c_lo, k, max_nodes, sharp, levels_gh, nodes, clock)
            low, low_rule = v_lo, (lo_orders, lo_tape)
        val, err, absval, skipb, counts, tape = _run(st, tau, orders, max_nodes - nodes, clock,
                                                     record=_tau(st, tol, scales))
        nodes += int(counts[:k].sum())
        last = int(counts[:k].sum())
        unit = last / _grid(orders, levels_gh)
        phases.append(("value", tuple(orders), last))
        _check_budget(counts, k, max_nodes, sharp, levels_gh, nodes, clock)
        # Gauss-Hermite levels: the change from the lower orders estimates the lower rule's error,
        # a conservative estimate for the value kept (the higher orders)
        gh_err = np.abs(val - low) if levels_gh else np.zeros_like(val)
        error = _estimate(err, absval, skipb, k, gh_err, tail)
        if hopeless(val):
            raise AccuracyError("the rounding bound of this precision alone exceeds the requested tolerance "
                                "(cancellation at these coordinates); ask for a larger tol or use the mpmath functions")
        new_scales = _scales(val, st.mc, lscale)
        if tail > tail_target(val) and st.radius < 60:
            st = _setup(red, frame, with_grad, centred, radius_for(st.bound_scale, tail_target(val), k))
            scales, low = new_scales, None
            continue
        if accept(val, error):
            rule = (orders, tape)
            if levels_gh and low_rule[1] is not None and accept(low, gh_err / G_ONLY):
                # |val - low| estimates the lower orders' error: within G_ONLY of the tolerance, the
                # plan replays them (Figure 1's flat outer levels: 9 lines instead of 25)
                rule = low_rule
            plan = NestedPlan("nested", frame, tuple(rule[0]), st.radius, new_scales, {"phases": phases}, rule[1], tau,
                              pair_slopes(st.model.B))
            return NestedIntegral(val, error, nodes, st.radius, plan)
        if new_scales[0] < 0.5 * scales[0] or new_scales[1] < 0.5 * scales[1]:
            scales, low = new_scales, None  # the pilot overrated the result: tighten and redo
            continue
        if slack > 1 and not accept(val, 2 * err.sum(axis=0)):
            slack, low = 1.0, None  # the panels used their slack: hold each to its share and redo
            phases.append(("no slack", tuple(orders), 0))
            continue
        if not levels_gh:
            raise AccuracyError(f"the nested rule reached error {float(np.max(error)):.2e} (max component) "
                                f"with {nodes:.1e} evaluations; the requested tolerance cannot be met (k={k})")
        if max(_gh_next(lo[q]) for q in levels_gh) > GH_MAX:
            # Gauss-Hermite does not converge on some level: panels on the innermost one, start again
            sharp.append(levels_gh.pop(0))
            lo, low, unit = dict(start), None, None  # panels cost what they cost: no prediction
            slack = SLACK if not levels_gh else 1.0
            phases.append(("switch to panels", tuple(sharp), 0))
            continue
        lo = {q: _gh_next(lo[q]) for q in levels_gh}
        low, low_rule = val, (orders, tape)


def level0_line(red, frame, y_out, *, tau: float, radius: float):
    """One level-0 line of the rule, for the checks (verify.checks.nested_lines_mp): at outer
    coordinates ``y_out`` (length k - 1) in ``frame``, over [-radius, radius], every panel held to
    the absolute tolerance ``tau``.  Returns (values, estimates) of the loss column and the
    gradient columns (1 + n d each); the estimate is the rule's own: |K - G| summed, the closed-form
    cells' bound, the integrand's rounding bound and 16 k eps sum |w f|.  The outer levels get a
    one-node rule at ``y_out`` with weight 1, so the compiled run integrates level 0 alone."""
    k, n, d = red.k, red.n, red.d
    if len(y_out) != k - 1:
        raise ValueError(f"y_out must have k - 1 = {k - 1} coordinates, got {len(y_out)}")
    st = _skip_for(_setup(red, frame, True, False, radius), 0.1 * tau)
    gh = {q: (np.array([float(y_out[q - 1])]), np.array([1.0])) for q in range(1, k)}
    val, err, absval, skipb, counts = _run_rule(st, np.full((k, st.mc), float(tau)), gh)
    if counts[k] > 0:
        raise AccuracyError("the line needs more panel edges than EDGE_CAP")
    m = 1 + n * d
    rounding = np.concatenate([[val[m]], np.repeat(val[m + 1:m + 1 + n], d)])
    return val[:m].copy(), _estimate(err, absval, skipb, k)[:m] + np.abs(rounding)
