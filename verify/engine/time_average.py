"""The time-averaged loss over noise levels and its gradient, with error estimates.

    L_bar(mu) = integral over [t_min, t_max] of lambda(t) L_t(mu) dt,   integral of lambda = 1,

with L_t the engine's population loss (:mod:`verify.engine.reference`).  The means shared
across noise levels are the unscaled mu, so L_bar is a function of mu and

    dL_bar/dmu_i = integral of lambda(t) e^{-t} dL_t/dm_i dt       (dL_t/dmu = e^{-t} dL_t/dm).

Weightings (normalised over the window here, so the caller never does it):

* ``"uniform"``: lambda = 1 / (t_max - t_min), the plain average;
* ``"noise-variance"``: lambda proportional to 1 - e^{-2t}, the variance of the noise added up to
  time t (the weighting of denoising score matching);
* a callable ``lam(t) -> float`` (an mpf in the mpmath functions), >= 0 and with a positive
  finite integral over the window, analytic on it (the rule's estimate assumes so; a jump is
  refused, see JUMP_HALVINGS); it is normalised numerically to the working accuracy, and that
  integral's relative error is added to the estimates.

The integral in t: globally adaptive, each interval integrated by the Gauss-Legendre pair
(N, 2N); |Q_2N - Q_N| is the error estimate of Q_2N (conservative: the 2N-node rule is far more
accurate; L_t is analytic in t).  Every node carries the engine's own error estimate, which is
integrated with |weights| and added.  The interval with the largest estimate is bisected until

    loss:      quadrature + engine error <= tol * L_bar
    gradient:  max component of both     <= tol * max(max |dL_bar/dmu|, F),
               F = integral of lambda(t) e^{-t} L_t / max(1, A_t) dt, A_t = max_i |m_i - m*|

(the engine's gradient scale, :func:`verify.engine.tolerances.gradient_scale`, averaged the
same way).  The engine is asked for tol / 4 at each node; where the integrated engine errors
still exceed half the budget (gradients of opposite signs at different t cancel) the nodes are
re-evaluated ten times tighter, down to the engine's floor, and otherwise :class:`AccuracyError`.

The same code runs in float64 and in mpmath (:func:`averaged_expectations` takes a backend).  In
mpmath one call shares one work budget (:func:`verify.engine.work_budget.mp_budget`) among all its
noise levels and retries, so it is refused (AccuracyError naming the cost and the evaluations done)
instead of spending MP_BUDGET_SECONDS per level.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from .backend import FLOAT64, Backend
from .expectation import population_expectations, reduce_float, reduce_mp
from .tolerances import MIN_TOL, AccuracyError
from .validation import check_noise_level
from .work_budget import mp_budget

__all__ = ["WEIGHTINGS", "check_window", "weighting_function", "averaged_expectations", "Averaged", "TRule"]

WEIGHTINGS = ("uniform", "noise-variance")

#: Intervals the adaptive rule in t may use before it gives up (AccuracyError).  L_t is smooth
#: in t away from t = 0 and a window rarely needs more than a handful.
MAX_INTERVALS = 64
#: A callable weighting is probed for jumps between every two neighbouring nodes of its normaliser's
#: rule where it changes by more than rounding: the bracket is halved JUMP_HALVINGS times toward the
#: larger change; a change that stays above 2^(-halvings/4) of the first is a jump (smooth: it halves
#: at each step; a cusp |t - k|^p shrinks by 2^(-p) a step, so p >= 1/4 passes).  The rule's estimate
#: |Q_2N - Q_N| assumes an analytic weighting and underrates a jump's error 2.4-15x (measured,
#: proofs_map.md), and how far the rule narrows at a jump depends on its height, so narrowing alone
#: does not tell a small jump from a kink.
JUMP_HALVINGS = 48
_PIECES = "average each smooth piece over its own window (t_min, t_max) and combine the averages"


def check_window(t_min, t_max) -> tuple[float, float]:
    """0 <= t_min < t_max, both finite (ValueError naming the argument)."""
    a = check_noise_level(t_min, "t_min")
    b = check_noise_level(t_max, "t_max")
    if not b > a:
        raise ValueError(f"t_max must be > t_min, got t_min = {t_min!r}, t_max = {t_max!r}")
    return a, b


def _gl_pair(backend: Backend):
    """The (N, 2N) Gauss-Legendre pair in t, N = 7 in both arithmetics: Q_14 on an interval where
    L_t is analytic in a Bernstein ellipse of parameter ~3 is good to 3^-28 ~ 1e-13, and every
    bisection gains a factor ~2^28 more, so mpmath's 10^-(dps - 5) costs a few more intervals."""
    return backend.rule(7), backend.rule(14)


def weighting_function(weighting, t_min, t_max, backend: Backend = FLOAT64):
    """The normalised weighting lambda(t) over [t_min, t_max] as a function of t (in the backend's
    arithmetic).  ValueError naming ``weighting`` for an unknown name or a callable that is
    negative, not finite or not normalisable over the window."""
    mp = backend.is_mp
    num = (lambda x: mpmath.mpf(x)) if mp else float
    a, b = num(t_min), num(t_max)
    exp, expm1 = (mpmath.exp, mpmath.expm1) if mp else (math.exp, math.expm1)
    if isinstance(weighting, str):
        if weighting == "uniform":
            c = 1 / (b - a)
            return lambda t: c
        if weighting == "noise-variance":
            # integral of 1 - e^{-2t} over [a, b] = (b - a) + e^{-2a} expm1(-2(b - a)) / 2
            total = (b - a) + exp(-2 * a) * expm1(-2 * (b - a)) / 2
            return lambda t: -expm1(-2 * t) / total
        raise ValueError(f"weighting must be one of {WEIGHTINGS} or a callable, got {weighting!r}")
    if not callable(weighting):
        raise ValueError(f"weighting must be one of {WEIGHTINGS} or a callable, got {type(weighting).__name__}")

    def lam(t):
        try:
            v = weighting(t)
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating, mpmath.mpf)):
                raise TypeError(f"got {type(v).__name__} {v!r}")  # num would parse a str '1' or make True a 1
            if isinstance(v, np.longdouble) and np.finfo(np.longdouble).eps < np.finfo(np.float64).eps:
                raise TypeError(f"got a long double {v!r}, which float64 would narrow")
            v = num(v.item() if isinstance(v, (np.integer, np.floating)) else v)  # mpf takes no np.float32
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ValueError(f"weighting({float(t):g}) did not return a real number: {exc}") from None
        if not (mpmath.isfinite(v) if mp else math.isfinite(v)) or v < 0:
            raise ValueError(f"weighting must be finite and >= 0 on [t_min, t_max], got {v!r} at t = {float(t):g}")
        return v

    tol = num(10) ** (-(backend.dps - 5)) if mp else 1e-13
    window, keep = f"[{float(a):g}, {float(b):g}]", []
    try:
        total, total_err = _adaptive(lambda t: (backend.array([lam(t)]), backend.array([0 * lam(t)])),
                                     a, b, backend, lambda v, e: e[0] <= tol * abs(v[0]), keep=keep)
    except AccuracyError as exc:
        raise ValueError(f"weighting: the rule in t could not normalise it on {window} to {float(tol):.0e} "
                         f"({exc}): it is not smooth enough for a 7/14-point Gauss-Legendre rule, or (mpmath) the "
                         f"precision is beyond what that rule reaches in {MAX_INTERVALS} intervals; {_PIECES}, "
                         f"or ask for fewer digits") from None
    where = _jump(lam, keep, backend)
    if where is not None:
        raise ValueError(f"weighting jumps near t = {float(where):.6g}, and the rule in t's estimate assumes a "
                         f"weighting analytic on the window; {_PIECES}")
    if not total[0] > 0:
        raise ValueError(f"weighting is not normalisable over {window}: it is 0 at every node the rule in t "
                         f"tried (0 there, or nonzero only between the nodes: give its support as the window)")

    def normalised(t):
        return lam(t) / total[0]

    normalised.rel_err = total_err[0] / total[0]  # the normaliser's relative error, added to the estimates
    return normalised


def _jump(lam, keep, backend):
    """Where ``lam`` jumps between two neighbouring nodes of the final intervals ``keep`` of its
    normaliser's rule (see JUMP_HALVINGS), or None."""
    (_, _), (x2, _) = _gl_pair(backend)
    pts = sorted((mid + half * x, outs[j][0][0]) for (lo, hi), outs in keep
                 for mid, half in [((lo + hi) / 2, (hi - lo) / 2)] for j, x in enumerate(x2))
    noise = 16 * backend.eps * max(abs(v) for _, v in pts)
    for (t0, v0), (t1, v1) in zip(pts, pts[1:]):
        first = abs(v1 - v0)
        if not first > noise:
            continue
        for k in range(1, JUMP_HALVINGS + 1):
            m = (t0 + t1) / 2
            if not t0 < m < t1:
                break  # the bracket is at the arithmetic's resolution
            vm = lam(m)
            t0, v0, t1, v1 = (t0, v0, m, vm) if abs(vm - v0) >= abs(v1 - vm) else (m, vm, t1, v1)
            if not abs(v1 - v0) > max(first * 2.0 ** (-k / 4), noise):
                break  # shrinks like a smooth function's (or a cusp's) change
        else:
            return (t0 + t1) / 2
        if not t0 < (t0 + t1) / 2 < t1 and abs(v1 - v0) > max(first * 2.0 ** (-k / 4), noise):
            return (t0 + t1) / 2  # still a jump's change at the resolution
    return None


@dataclass
class TRule:
    """The intervals in t an accurate evaluation settled on, and the engine's plan at each node:
    reused at nearby means by gradient descent (no error estimate then)."""

    intervals: list  # [(a, b)]
    plans: list  # per interval, per 2N node, the engine's quadrature plan


def _adaptive(f, a, b, backend: Backend, accept, *, intervals=None, keep=None):
    """Globally adaptive Gauss-Legendre (N, 2N) of the vector function f(t) -> (value, node_err, ...).

    Returns (value, error) and, with ``keep`` (a list), appends (interval, per-node outputs) for
    every final interval.  ``accept(value, error)`` decides when to stop."""
    (x1, w1), (x2, w2) = _gl_pair(backend)

    def panel(lo, hi):
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        v1 = sum(w * f(mid + half * x)[0] for x, w in zip(x1, w1)) * half
        outs = [f(mid + half * x) for x in x2]
        v2 = sum(w * o[0] for o, w in zip(outs, w2)) * half
        eng = sum(abs(w) * o[1] for o, w in zip(outs, w2)) * abs(half)
        rnd = 64 * backend.eps * sum(abs(w) * abs(o[0]) for o, w in zip(outs, w2)) * abs(half)
        return v2, abs(v2 - v1), eng + rnd, outs

    pans = [((lo, hi),) + panel(lo, hi) for lo, hi in (intervals or [(a, b)])]
    while True:
        value = sum(p[1] for p in pans)
        error = sum(p[2] + p[3] for p in pans)
        if accept(value, error) or intervals is not None:
            break
        if len(pans) >= MAX_INTERVALS:
            raise AccuracyError(f"the rule in t reached {len(pans)} intervals with error estimate "
                                f"{float(np.max(np.asarray(error, dtype=float))):.2e}; the tolerance cannot be met")
        scale = np.asarray(np.abs(value) + error, dtype=float)
        scale = np.where(scale == 0, 1, scale)
        worst = max(range(len(pans)), key=lambda i: float(np.max(np.asarray(pans[i][2], dtype=float) / scale)))
        (lo, hi) = pans.pop(worst)[0]
        mid = (lo + hi) / 2
        pans += [((lo, mid),) + panel(lo, mid), ((mid, hi),) + panel(mid, hi)]
    if keep is not None:
        keep.extend((p[0], p[4]) for p in sorted(pans, key=lambda p: float(p[0][0])))
    return value, error


@dataclass
class Averaged:
    """L_bar and dL_bar/dmu with absolute error estimates (each the rule in t's plus the engine's)."""

    loss: object
    loss_err: object
    grad: object  # (n, d) dL_bar/dmu, or None
    grad_err: object
    quad_err: object  # the rule in t's part of loss_err
    engine_err: object  # the engine's part of loss_err (integrated per-node estimates)
    scale: object  # the gradient scale max(max |grad|, F) the gradient's tol refers to
    intervals: int
    evaluations: int  # engine evaluations (noise levels)
    nodes: int  # integrand evaluations inside the engine, summed
    rule: TRule | None = None


def averaged_expectations(mu, mu_star, t_min, t_max, lam, *, tol, backend: Backend = FLOAT64,
                          with_grad: bool = True, rule: TRule | None = None) -> Averaged:
    """L_bar (and its gradient) for checked inputs: ``mu``/``mu_star`` float64 arrays (float64) or
    nested lists of mpf (mpmath, at the working precision), ``lam`` from :func:`weighting_function`.

    With ``rule`` (from an earlier call) the same intervals and engine plans are applied once,
    without error estimates (errors NaN): the fast path of gradient descent."""
    mp = backend.is_mp
    n, d = (len(mu), len(mu_star)) if mp else mu.shape
    a, b = (mpmath.mpf(t_min), mpmath.mpf(t_max)) if mp else (float(t_min), float(t_max))
    # columns: L, F (the gradient scale's floor), gradient (n d if with_grad)
    counts = {"evaluations": 0, "nodes": 0}
    plan_iter = iter([p for ps in rule.plans for p in ps]) if rule is not None else None
    tol_t = [max(float(tol) / 4, MIN_TOL) if not mp else tol / 4]
    # mpmath: one work budget for every noise level and retry of this call (verify.engine.work_budget)
    instead = "the float64 functions (loss_avg, grad_avg, evaluate_avg) do this average"
    budget = mp_budget(n, instead=instead) if mp else None

    def at(t):
        red = reduce_mp(mu, mu_star, t) if mp else reduce_float(mu, mu_star, t)
        plan = next(plan_iter) if plan_iter is not None else None
        ex = population_expectations(red, tol=tol_t[0], backend=backend, with_grad=with_grad, plan=plan, budget=budget)
        counts["evaluations"] += 1
        counts["nodes"] += ex.nodes
        lt, s = lam(t), red.scale
        val = [ex.loss, s * ex.loss / max(1, red.amax)]
        err = [ex.loss_err, s * ex.loss_err / max(1, red.amax)]
        if with_grad:
            val += [s * g for g in np.ravel(ex.grad_scaled)]
            err += [s * e for e in np.ravel(ex.grad_scaled_err)]
        return backend.array(val) * lt, backend.array(err) * lt, ex.plan

    rel = getattr(lam, "rel_err", 0)  # a callable weighting's normaliser (weighting_function)

    def split(value, error):
        L, Le = value[0], error[0] + rel * abs(value[0])
        if not with_grad:
            return L, Le, None, None, None
        G, Ge = value[2:], error[2:] + backend.array([rel * abs(x) for x in value[2:]])
        scale = max(max(abs(x) for x in G), value[1])
        return L, Le, G, Ge, scale

    def accept(value, error):
        L, Le, G, Ge, scale = split(value, error)
        ok = Le <= tol * abs(L)
        return ok and (not with_grad or max(Ge) <= tol * scale)

    while True:
        keep = []
        intervals = rule.intervals if rule is not None else None
        if rule is not None:
            # the plans were recorded per 2N node; the N-node rule is not evaluated on the fast path
            value, error = _fast(at, intervals, backend)
            break
        value, error = _adaptive(at, a, b, backend, accept, keep=keep)
        # how much of the budget the engine's own errors take: refine the engine, not the rule
        eng = _engine_part(keep, backend)
        L, Le, G, Ge, scale = split(value, eng)
        over = Le > tol * abs(L) / 2 or (with_grad and max(Ge) > tol * scale / 2)
        if not over:
            break
        if (tol_t[0] <= MIN_TOL) if not mp else (tol_t[0] <= tol / 1000):
            raise AccuracyError(f"the engine's errors, integrated over t, exceed half the tolerance {float(tol):.1e} "
                                "even at its tightest per-t accuracy (the integrand cancels across t)")
        tol_t[0] = max(tol_t[0] / 10, MIN_TOL) if not mp else tol_t[0] / 10
    L, Le, G, Ge, scale = split(value, error)
    # the rule in t's part: its intervals' |Q_2N - Q_N| and rounding, and the weighting's normaliser
    quad = error[0] + rel * abs(L) - _engine_part(keep, backend)[0] if rule is None else error[0]
    new_rule = rule if rule is not None else TRule([iv for iv, _ in keep], [[o[2] for o in outs] for _, outs in keep])
    if with_grad:
        G, Ge = np.array(G).reshape(n, d), np.array(Ge).reshape(n, d)
    return Averaged(L, Le, G, Ge, quad, Le - quad if rule is None else Le, scale, len(new_rule.intervals),
                    counts["evaluations"], counts["nodes"], new_rule)


def _engine_part(keep, backend):
    """The integrated engine errors of the final intervals (their 2N-node estimates)."""
    (_, _), (x2, w2) = _gl_pair(backend)
    tot = 0
    for (lo, hi), outs in keep:
        tot = tot + sum(abs(w) * o[1] for o, w in zip(outs, w2)) * abs((hi - lo) / 2)
    return tot


def _fast(at, intervals, backend):
    (_, _), (x2, w2) = _gl_pair(backend)
    value = 0
    for lo, hi in intervals:
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        value = value + sum(w * at(mid + half * x)[0] for x, w in zip(x2, w2)) * half
    nan = backend.array([float("nan")] * len(value))
    return value, nan
