"""Stein form against pathwise form of the gradient, in expectation (check 2 of Lemma 2.2).

With a_i = m_i - m*, y = x - m* ~ N(0, I_d), w = softmax(a_i . y - |a_i|^2/2), v = sum_i w_i a_i:

    dL_t/dm_i = E g_i,   g_i = 2 [ w_i v + w_i (v . (a_i - v)) (y - a_i) ]      (pathwise)
              = E S_i,   S_i = 2 [ w_i v + w_i sum_j w_j a_j a_j^T a_i - 2 w_i (v . a_i) v
                                   - 2 w_i sum_j w_j (v . a_j) a_j + 3 w_i |v|^2 v ]   (Stein)

* :func:`check_stein_mp`: the two integrands integrated independently (1-D ``mpmath.quad``
  split at the softmax transitions, :func:`expectation_line_mp`) when the means are collinear
  (k = 1); they must agree to about dps - 5 digits, and with a gradient function if one is given;
* :func:`check_stein_float64`: a float64 gradient function (e.g. the engine's ``grad_scaled``)
  against the Stein-form expectation: mpmath 1-D quadrature for k = 1, tensor Gauss-Hermite on
  R^d otherwise, within the function's own error estimate.

Neither uses the engine's reduction or quadrature.  Relative errors are normwise, against
:func:`verify.engine.tolerances.gradient_scale` with the loss term left out (no loss is computed
here; the checked configurations are far from stationary points, where max |g| is the scale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from verify.engine.backend import gauss_hermite_tensor
from verify.engine.model import stein_grad_integrand
from verify.engine.tolerances import gradient_scale
from verify.engine.validation import means_mp
from verify.engine.work_budget import NodeBudget, mp_budget

from .compare import TOLERANCES, CheckReport, Comparison, finish

__all__ = ["expectation_line_mp", "check_stein_mp", "check_stein_float64", "gauss_hermite_expectation", "memoised"]


@dataclass
class _Line:
    """Collinear means (k <= 1) at the current mpmath precision: a_i = a_0 + b_i u."""

    a: list  # n lists of d mpf
    u: list  # d mpf (unit); zeros when k = 0
    b: list  # n mpf
    C: list  # n mpf: l_i - l_0 = b_i s - C_i
    scale: object  # e^{-t}
    k: int


def _line_mp(mu, mu_star, t, digits: int | None = None) -> _Line:
    """The means as a line.  Collinearity is tested on the unscaled differences mu_i - mu_0
    (exact for the given inputs): off-line parts above 10^-digits relative (digits defaults to
    the working dps - 10) would change the integrals at that level, so they are refused."""
    m, s = means_mp(mu, mu_star)
    n, d = len(m), len(s)
    tt = mpmath.mpf(t) if not isinstance(t, mpmath.mpf) else t
    if tt < 0:
        raise ValueError(f"t must be >= 0, got {t!r}")
    sc = mpmath.exp(-tt)
    a = [[sc * (m[i][j] - s[j]) for j in range(d)] for i in range(n)]
    # differences from the unscaled inputs: no cancellation in e^{-t} mu_i - e^{-t} mu_0
    D = [[sc * (m[i][j] - m[0][j]) for j in range(d)] for i in range(n)]
    U = [[m[i][j] - m[0][j] for j in range(d)] for i in range(n)]  # unscaled: exact inputs
    norms = [mpmath.sqrt(sum(x * x for x in r)) for r in U]
    jmax = max(range(n), key=lambda i: norms[i])
    if norms[jmax] == 0:
        return _Line(a, [mpmath.mpf(0)] * d, [mpmath.mpf(0)] * n, [mpmath.mpf(0)] * n, sc, 0)
    u = [x / norms[jmax] for x in U[jmax]]
    b = [sum(D[i][j] * u[j] for j in range(d)) for i in range(n)]
    off = max(mpmath.sqrt(sum((U[i][j] - sum(U[i][q] * u[q] for q in range(d)) * u[j]) ** 2 for j in range(d)))
              for i in range(n))
    digits = mpmath.mp.dps - 10 if digits is None else digits
    if off > norms[jmax] * mpmath.mpf(10) ** (-digits):
        raise ValueError(
            f"the means are not collinear (k >= 2; off-line distance {mpmath.nstr(off, 3)}); "
            "the 1-D quadrature needs n = 2 or collinear means"
        )
    C = [sum(D[i][j] * (a[i][j] + a[0][j]) for j in range(d)) / 2 for i in range(n)]
    return _Line(a, u, b, C, sc, 1)


def _line_integrands(line: _Line, budget: NodeBudget):
    """s -> dict of integrand values times the N(0,1) density, memoised (mpmath.quad calls the
    same nodes for every component).  Each new node is charged to ``budget`` before it is evaluated
    (mpmath.quad picks its nodes one at a time), so work beyond it is refused (AccuracyError)."""
    n, d = len(line.a), len(line.u)
    a, u, b, C = line.a, line.u, line.b, line.C
    norm = 1 / mpmath.sqrt(2 * mpmath.pi)
    cache = {}

    def at(s):
        key = s
        hit = cache.get(key)
        if hit is not None:
            return hit
        budget.spend(1)
        l = [b[i] * s - C[i] for i in range(n)]
        lmax = max(l)
        E = [mpmath.exp(x - lmax) for x in l]
        Z = mpmath.fsum(E)
        w = [e / Z for e in E]
        v = [mpmath.fsum(w[i] * a[i][j] for i in range(n)) for j in range(d)]
        vv = mpmath.fsum(x * x for x in v)
        va = [mpmath.fsum(v[j] * a[i][j] for j in range(d)) for i in range(n)]  # v . a_i
        phi = norm * mpmath.exp(-s * s / 2)
        y = [s * uj for uj in u]  # E[y f(s)] = u E[s f(s)]: the part of y off the line has mean 0
        out = {"loss": vv * phi, "pathwise": [], "stein": [], "em": []}
        t4 = [mpmath.fsum(w[j] * va[j] * a[j][k] for j in range(n)) for k in range(d)]
        for i in range(n):
            c = va[i] - vv
            aa = [mpmath.fsum(a[j][k2] * a[i][k2] for k2 in range(d)) for j in range(n)]  # a_j . a_i
            pw, st, em = [], [], []
            for k in range(d):
                pw.append(2 * phi * (w[i] * v[k] + w[i] * c * (y[k] - a[i][k])))
                t2 = mpmath.fsum(w[j] * aa[j] * a[j][k] for j in range(n))
                st.append(2 * phi * w[i] * (v[k] + t2 - 2 * va[i] * v[k] - 2 * t4[k] + 3 * vv * v[k]))
                em.append(2 * phi * w[i] * v[k])
            out["pathwise"].append(pw)
            out["stein"].append(st)
            out["em"].append(em)
        cache[key] = out
        return out

    return at


def _breakpoints(line: _Line) -> list:
    """Softmax transitions s_ij (l_i = l_j) with a few graded points around each, and 0."""
    n = len(line.b)
    pts = {mpmath.mpf(0)}
    # (near-)coincident transitions (three means crossing at one point) are merged below
    for i in range(n):
        for j in range(i + 1, n):
            db = line.b[i] - line.b[j]
            if db != 0:
                s0 = (line.C[i] - line.C[j]) / db
                width = 1 / abs(db)
                if abs(s0) < 40:
                    pts.add(s0)
                    for m in (1, 4, 16):
                        for sg in (-1, 1):
                            if abs(s0 + sg * m * width) < 40:
                                pts.add(s0 + sg * m * width)
    out = []
    for p in sorted(pts):
        if not out or p - out[-1] > mpmath.mpf(10) ** (-8):
            out.append(p)
    return out


#: Estimated cost of one evaluation of the line integrands (all four forms at once) per mean, for the
#: work budget and its refusal's message: measured 0.1-1.5 ms per mean on a loaded machine at dps 30-50
#: (proofs_map.md, "mpmath path"), ~4 times the engine's integrand (work_budget.MP_NODE_SECONDS).
LINE_NODE_SECONDS = 1.5e-3


def _line_budget(n: int) -> NodeBudget:
    """The engine's mpmath work budget (MP_BUDGET_SECONDS) for the line integrands of n means."""
    return mp_budget(n, LINE_NODE_SECONDS, instead="check_stein_float64 checks the same identity in float64")


_MEMO: dict = {}
_MEMO_SIZE = 64


def _memo_key(name, args, kwargs):
    def norm(x):
        if isinstance(x, np.ndarray):
            x = x.tolist()
        if isinstance(x, (list, tuple)):
            return tuple(norm(y) for y in x)
        return repr(x)

    return (name, norm(args), tuple(sorted((k, norm(v)) for k, v in kwargs.items())))


def memoised(name, fn, *args, **kwargs):
    """Results of pure, slow mpmath evaluations, keyed by the exact inputs (repr of every value):
    the negative controls re-run a check on the same configuration and reuse them."""
    key = _memo_key(name, args, {k: v for k, v in kwargs.items() if k != "budget"})  # work, not an input
    if key not in _MEMO:
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = fn(*args, **kwargs)
    return _MEMO[key]


def expectation_line_mp(mu, mu_star, t, *, dps: int = 40, which: str = "stein", budget: NodeBudget | None = None):
    """E over x ~ N(m*, I) of an integrand, by 1-D ``mpmath.quad`` (k <= 1 only).

    ``which``: "loss" (|v|^2), "pathwise", "stein" (scaled-mean gradient forms) or "em" (the
    first term 2 w_i v alone, the gradient-EM part).  Returns ``(value, err)`` as mpf or n lists
    of d mpf, rounded to ``dps``.  Independent of :mod:`verify.engine.expectation`: tanh-sinh quadrature
    on [-inf, inf] split at the softmax transitions.  Its integrand evaluations are charged to
    ``budget`` (the engine's mpmath work budget, :func:`verify.engine.work_budget.mp_budget`, at
    LINE_NODE_SECONDS per mean; by default one per call): beyond it, AccuracyError naming the cost and
    the evaluations done.
    """
    if which not in ("loss", "pathwise", "stein", "em"):
        raise ValueError(f"which must be 'loss', 'pathwise', 'stein' or 'em', got {which!r}")
    return memoised("line", _expectation_line_mp, mu, mu_star, t, dps=dps, which=which, budget=budget)


def _expectation_line_mp(mu, mu_star, t, *, dps, which, budget):
    with mpmath.workdps(dps + 10):
        line = _line_mp(mu, mu_star, t, digits=dps)
        n, d = len(line.a), len(line.u)
        at = _line_integrands(line, _line_budget(n) if budget is None else budget)
        pts = [mpmath.ninf] + _breakpoints(line) + [mpmath.inf]

        def q(get):
            return mpmath.quad(lambda s: get(at(s)), pts, error=True)

        if which == "loss":
            val, err = q(lambda o: o["loss"])
            out = (+val, +err)
        else:
            vals, errs = [], []
            for i in range(n):
                vr, er = [], []
                for k in range(d):
                    val, err = q(lambda o, i=i, k=k: o[which][i][k])
                    vr.append(val)
                    er.append(err)
                vals.append(vr)
                errs.append(er)
            out = (vals, errs)
    with mpmath.workdps(dps):
        if which == "loss":
            return +out[0], +out[1]
        return [[+x for x in r] for r in out[0]], [[+x for x in r] for r in out[1]]


def check_stein_mp(mu, mu_star, t, *, dps: int = 40, forms=("pathwise", "stein"), grad_fn=None,
                   convention: str = "scaled") -> CheckReport:
    """Stein vs pathwise in expectation, k = 1, in mpmath.

    Integrates the two ``forms`` (names accepted by :func:`expectation_line_mp`) independently and
    requires agreement to 10^-(dps - 5) relative to max |gradient| (normwise), within one mpmath work
    budget for both (AccuracyError beyond it, as the engine's mpmath functions).  With ``grad_fn``
    (``grad_fn(mu, mu_star, t, dps=...)`` -> n lists of d mpf), the function is compared too, in
    the ``convention`` "scaled" (dL/dm) or "unscaled" (dL/dmu = e^{-t} dL/dm).
    """
    tol_d = TOLERANCES["mpmath"]["lost_digits"]
    ef = TOLERANCES["mpmath"]["err_factor"]
    if convention not in ("scaled", "unscaled"):
        raise ValueError(f"convention must be 'scaled' or 'unscaled', got {convention!r}")
    budget = _line_budget(len(mu))  # one work budget for both forms (verify.engine.work_budget)
    P, Pe = expectation_line_mp(mu, mu_star, t, dps=dps, which=forms[0], budget=budget)
    S, Se = expectation_line_mp(mu, mu_star, t, dps=dps, which=forms[1], budget=budget)
    with mpmath.workdps(dps):
        scale = gradient_scale(P, 0, 1)  # the loss term left out (module doc)
        tol = mpmath.mpf(10) ** (-(dps - tol_d)) * scale
        n, d = len(P), len(P[0])
        label = f"t={mpmath.nstr(mpmath.mpf(t), 6)}, k=1, dps={dps}"
        rows = []
        worst_err = max(max(Pe[i][k], Se[i][k]) for i in range(n) for k in range(d))
        for i in range(n):
            for k in range(d):
                # the quadrature error estimates enter the tolerance only if they are small
                rows.append(Comparison(label, f"{forms[0]} vs {forms[1]} [{i}][{k}]", P[i][k], S[i][k],
                                max(tol, ef * (Pe[i][k] + Se[i][k])) if worst_err <= tol else tol))
        if grad_fn is not None:
            G = grad_fn(mu, mu_star, t, dps=dps)
            f = mpmath.exp(-mpmath.mpf(t)) if convention == "unscaled" else 1
            for i in range(n):
                for k in range(d):
                    rows.append(Comparison(label, f"grad_fn ({convention}) [{i}][{k}]", f * S[i][k], G[i][k], f * tol))
        return finish("Stein vs pathwise (mpmath, k=1)", rows, scale,
                       {"dps": dps, "quad_err": worst_err, "tolerance": tol}, digits=dps)


def gauss_hermite_expectation(integrand, mu, mu_star, t, order: int):
    """E over x ~ N(m*, I_d) of ``integrand(x, mu, mu_star, t)`` by tensor Gauss-Hermite on R^d."""
    d = len(mu_star)
    X, W = gauss_hermite_tensor((order,) * d)
    mstar = math.exp(-t) * np.asarray(mu_star, dtype=np.float64)
    vals = integrand(X + mstar, mu, mu_star, t)
    return np.tensordot(W, vals, axes=(0, 0))


def check_stein_float64(grad_fn, mu, mu_star, t, *, convention: str = "scaled", dps: int = 30) -> CheckReport:
    """A float64 gradient function against the Stein-form expectation, within its own error.

    ``grad_fn(mu, mu_star, t, error=True)`` -> (G, err), shape (n, d), in ``convention``
    "scaled" (dL/dm_i, e.g. ``verify.engine.reference.grad_scaled``) or "unscaled" (dL/dmu_i).
    Reference: for collinear means (k <= 1), :func:`expectation_line_mp` of the Stein form at
    ``dps`` digits; otherwise tensor Gauss-Hermite of :func:`verify.engine.model.stein_grad_integrand`
    on R^d at two orders (their difference is the reference's error; d <= 3).
    Tolerance per component: err_factor * (err + reference error) + rounding_ulps * eps * max|G|.
    """
    tf = TOLERANCES["float64"]
    if convention not in ("scaled", "unscaled"):
        raise ValueError(f"convention must be 'scaled' or 'unscaled', got {convention!r}")
    mu_a = np.asarray(mu, dtype=np.float64)
    ms_a = np.asarray(mu_star, dtype=np.float64)
    n, d = mu_a.shape
    try:
        with mpmath.workdps(dps + 10):
            _line_mp(mu_a.tolist(), ms_a.tolist(), t, digits=dps)
        collinear = True
    except ValueError:
        collinear = False
    if collinear:
        S, Se = expectation_line_mp(mu_a.tolist(), ms_a.tolist(), t, dps=dps, which="stein")
        S = np.array([[float(x) for x in r] for r in S])
        Se = np.array([[float(x) for x in r] for r in Se])
        how = f"mpmath.quad 1-D at dps={dps}"
    else:
        if d > 3:
            raise ValueError(f"tensor Gauss-Hermite reference is limited to d <= 3, got d = {d}")
        o1, o2 = tf["gh_orders"]
        S1 = gauss_hermite_expectation(stein_grad_integrand, mu_a, ms_a, t, o1)
        S = gauss_hermite_expectation(stein_grad_integrand, mu_a, ms_a, t, o2)
        Se = np.abs(S - S1)
        how = f"tensor Gauss-Hermite, orders {o1} and {o2}"
    if convention == "unscaled":
        S, Se = math.exp(-t) * S, math.exp(-t) * Se
    G, Ge = grad_fn(mu_a, ms_a, t, error=True)
    G, Ge = np.asarray(G, dtype=np.float64), np.asarray(Ge, dtype=np.float64)
    if G.shape != (n, d):
        raise ValueError(f"grad_fn returned shape {G.shape}, expected {(n, d)}")
    scale = float(gradient_scale(S, 0.0, 1.0))  # the loss term left out (module doc)
    rnd = tf["rounding_ulps"] * np.finfo(float).eps * scale
    rows = []
    label = f"t={t:g}, n={n}, d={d}"
    for i in range(n):
        for k in range(d):
            tol = tf["err_factor"] * (Ge[i, k] + Se[i, k]) + rnd
            rows.append(Comparison(label, f"grad ({convention}) [{i}][{k}]", float(S[i, k]), float(G[i, k]), tol))
    return finish("engine gradient vs Stein expectation (float64)", rows, scale,
                   {"reference": how, "reference_err": float(np.max(Se)), "grad_err": float(np.max(Ge))})
