"""The gradient of Lemma 2.2 / B.1, checked three independent ways.

[Lemma 2.2 in the reading notes, Lemma B.1 in the summary; CLAIMS.md, "Gradient"]
With a_i = m_i - m* (scaled means, m_i = e^{-t} mu_i), y = x - m* ~ N(0, I_d),
w = softmax(a_i . y - |a_i|^2/2) and v = sum_i w_i a_i, the loss is L_t = E|v|^2 and

    dL_t/dm_i = E g_i,   g_i = 2 [ w_i v + w_i (v . (a_i - v)) (y - a_i) ]      (pathwise)
              = E S_i,   S_i = 2 [ w_i v + w_i sum_j w_j a_j a_j^T a_i - 2 w_i (v . a_i) v
                                   - 2 w_i sum_j w_j (v . a_j) a_j + 3 w_i |v|^2 v ]   (Stein)
    dL_t/dmu_i = e^{-t} dL_t/dm_i.

Public checks (each raises :class:`GradientCheckError` with a table on failure and returns a
:class:`CheckReport` on success):

* :func:`check_symbolic_gradient`, :func:`check_symbolic_stein`,
  :func:`check_symbolic_time_scaling`: SymPy proofs (:mod:`verify.symbolic`) that a closed form
  is the derivative of |v|^2, that pathwise minus Stein is a Stein remainder, and the e^{-t}
  chain rule.
* :func:`check_stein_mp`: pathwise and Stein integrands integrated independently (1-D
  ``mpmath.quad`` split at the softmax transitions) when the means are collinear (k = 1);
  they must agree to about dps - 5 digits, and with a gradient function if one is given.
* :func:`check_stein_float64`: a float64 gradient function (e.g. the engine's ``grad_scaled``)
  against the Stein-form expectation: mpmath 1-D quadrature for k = 1, tensor Gauss-Hermite on
  R^d otherwise, within the function's own error estimate.
* :func:`check_fd_mp`: Richardson-extrapolated central differences of an mpmath loss against
  an mpmath gradient (>= 25 digits when k = 1).
* :func:`check_fd_float64`: directional central differences of a float64 loss with error
  estimate, the tolerance derived from that estimate and a truncation estimate from two steps.

Every check takes the functions it compares as arguments, so deliberately wrong variants can
be passed in (:data:`wrong_variants`) and must be rejected.  Tolerances live in
:data:`TOLERANCES`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import mpmath
import numpy as np

from verify.engine.backend import gauss_hermite_tensor

__all__ = [
    "GradientCheckError",
    "CheckReport",
    "TOLERANCES",
    "check_symbolic_gradient",
    "check_symbolic_stein",
    "check_symbolic_time_scaling",
    "check_stein_mp",
    "check_stein_float64",
    "check_fd_mp",
    "check_fd_float64",
    "expectation_line_mp",
    "reference_loss_mp",
    "reference_grad_mp",
    "wrong_variants",
]

#: Tolerances, in one place, keyed by precision.  Value and gradient tolerances are separate.
TOLERANCES = {
    "mpmath": {
        # quadrature and the engine's k = 1 path give about dps - 5 correct digits
        "lost_digits": 5,
        # finite differences against grad_mp when k = 1 (the brief: >= 25 digits)
        "fd_digits": 25,
        # working precision of the finite differences: with h = 1e-6, 5e-7, 2.5e-7 the loss's
        # error (~1e-49) / h leaves ~1e-42 in the difference quotient, and the extrapolation's
        # error estimate (the h^4 term of the second level) is ~ (2.5e-7)^4 ~ 4e-27 (times L^(5)/5!)
        "fd_dps": 50,
        "fd_h": mpmath.mpf("1e-6"),
        "fd_levels": 3,
        # an error estimate counts twice (mpmath's test_quad convention: |value - exact| < 2 err)
        "err_factor": 2,
    },
    "float64": {
        # central-difference step in units of e^{t} (the natural length scale of mu at noise t):
        # balances the loss's error / h against the truncation h^2 L''' (cube root of 1e-13)
        "fd_h": 5e-5,
        "err_factor": 2,
        # rounding of an O(1) float64 result: a few ulps of the largest gradient entry
        "rounding_ulps": 8,
        # Gauss-Hermite orders for the Stein expectation when k >= 2 (two orders: the
        # difference is the error estimate)
        "gh_orders": (90, 120),
    },
}


class GradientCheckError(AssertionError):
    """A gradient check failed.  ``rows`` are the failing comparisons; the message is a table.

    Columns: which input, which component, numerical (the independent value), analytical (the
    value being checked), difference, tolerance.
    """

    def __init__(self, check: str, rows: Sequence["Row"], note: str = "", digits: int = 17):
        self.check = check
        self.rows = list(rows)
        self.note = note
        bad = [r for r in self.rows if not r.ok]
        head = f"{check}: {len(bad)} of {len(self.rows)} components outside tolerance"
        if note:
            head += f" ({note})"
        super().__init__(head + "\n" + _table(bad or self.rows, digits))


@dataclass
class Row:
    """One comparison: numerical (independent) vs analytical (checked) value."""

    input: str
    component: str
    numerical: object
    analytical: object
    tolerance: object
    difference: object = None
    ok: bool = True

    def __post_init__(self):
        if self.difference is None:
            self.difference = abs(self.analytical - self.numerical)
        self.ok = bool(self.difference <= self.tolerance)


def _fmt(x, digits: int) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, mpmath.mpf):
        return mpmath.nstr(x, digits, min_fixed=-4, max_fixed=6)
    try:
        return f"{float(x):.{min(digits, 17)}g}"
    except (TypeError, ValueError):
        return str(x)


def _table(rows: Sequence[Row], digits: int) -> str:
    cols = ["input", "component", "numerical", "analytical", "difference", "tolerance"]
    cells = [[r.input, r.component, _fmt(r.numerical, digits), _fmt(r.analytical, digits),
              _fmt(r.difference, 4), _fmt(r.tolerance, 4)] for r in rows]
    widths = [max(len(c), *(len(row[j]) for row in cells)) if cells else len(c) for j, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(x.ljust(w) for x, w in zip(row, widths)) for row in cells]
    return "\n".join(out)


@dataclass
class CheckReport:
    """What a passing check measured.

    ``digits``: the smallest number of agreeing significant digits over the components,
    -log10(difference / scale) (``inf`` when exact); ``margin``: the largest difference /
    tolerance (< 1 when passing); ``rows``: every comparison; ``details``: check-specific values.
    """

    check: str
    rows: list
    digits: float
    margin: float
    details: dict = field(default_factory=dict)

    def table(self, digits: int = 17) -> str:
        return _table(self.rows, digits)


def _digits(diff, scale) -> float:
    diff, scale = abs(diff), abs(scale)
    if diff == 0:
        return math.inf
    if scale == 0:
        return -math.inf
    return float(-mpmath.log10(mpmath.mpf(diff) / mpmath.mpf(scale)))


def _finish(check: str, rows: list, scale, details=None, note: str = "", digits: int = 17) -> CheckReport:
    if not all(r.ok for r in rows):
        raise GradientCheckError(check, rows, note, digits)
    dig = min((_digits(r.difference, scale) for r in rows), default=math.inf)
    margin = max((float(r.difference / r.tolerance) if r.tolerance else (0.0 if r.difference == 0 else math.inf)
                  for r in rows), default=0.0)
    return CheckReport(check, rows, dig, margin, dict(details or {}))


# -- 1. SymPy ---------------------------------------------------------------------------------


def check_symbolic_gradient(closed_form=None, *, n: int, d: int, loss_factor=1, seed: int = 0,
                            second_route: bool = True) -> CheckReport:
    """Prove  d(loss_factor * |v|^2)/da_{i,k} == closed_form(model, i)[k]  identically.

    ``closed_form`` defaults to the pathwise form g_i (:func:`verify.symbolic.pathwise_closed_form`).
    A non-zero residual is reported with its value at a rational point (E_j = exp(l_j)), which
    proves it is not identically zero.  With ``second_route``, SymPy also differentiates the
    integrand written with ``exp`` directly and the value at that point must match to 45 digits.
    """
    from . import symbolic as sym

    closed_form = closed_form or sym.pathwise_closed_form
    model, res = sym.gradient_residuals(n, d, closed_form, loss_factor=loss_factor)
    point = sym.default_point(model, seed)
    rows = []
    label = f"a (n={n}, d={d}) at a rational point"
    for i in range(n):
        g = closed_form(model, i)
        for k in range(d):
            analytical = sym.residual_at(model, g[k], point)
            if res[i][k] == 0:
                rows.append(Row(label, f"dF/da[{i}][{k}]", analytical, analytical, 0, difference=0))
            else:
                r = sym.residual_at(model, res[i][k], point)
                # the residual as a rational function is not zero; its value here proves it
                rows.append(Row(label, f"dF/da[{i}][{k}]", analytical + r, analytical, 0, difference=abs(r)))
    if second_route and all(r.ok for r in rows):
        for i in range(n):
            for k in range(d):
                deriv, g = sym.direct_residual_at(n, d, i, k, point, closed_form, digits=50)
                deriv = deriv * loss_factor
                if abs(deriv - g) > _sp_tol(45, max(abs(g), 1)):
                    rows.append(Row(label + " (sympy.exp route)", f"dF/da[{i}][{k}]", deriv, g, _sp_tol(45, 1)))
    return _finish("symbolic gradient", rows, 1, {"n": n, "d": d, "exact": all(r.difference == 0 for r in rows)},
                   note="residual is not identically zero" if not all(r.ok for r in rows) else "")


def _sp_tol(digits: int, scale):
    import sympy as sp

    return sp.Float(10, 60) ** (-digits) * scale


def check_symbolic_stein(stein_form=None, *, n: int, d: int, seed: int = 0) -> CheckReport:
    """Prove  g_i - stein_form_i == 2 (y h_i - grad_y h_i)  with h_i = w_i v.(a_i - v), and that
    phi (y h - grad_y h) = -grad_y(phi h) for any h (so, h_i being bounded, the remainder has
    Gaussian mean 0: Stein's lemma)."""
    from . import symbolic as sym

    stein_form = stein_form or sym.stein_closed_form
    model, res = sym.stein_residuals(n, d, stein_form)
    point = sym.default_point(model, seed)
    label = f"a, y (n={n}, d={d}) at a rational point"
    rows = []
    for i in range(n):
        s = stein_form(model, i)
        for k in range(d):
            val = sym.residual_at(model, s[k], point)
            r = 0 if res[i][k] == 0 else sym.residual_at(model, res[i][k], point)
            rows.append(Row(label, f"S[{i}][{k}] + remainder", val + r, val, 0, difference=abs(r)))
    if all(r.ok for r in rows):
        for k, ex in enumerate(sym.stein_exact_derivative_residuals(d)):
            if ex != 0:
                rows.append(Row("arbitrary h(y)", f"phi (y_{k} h - d_{k} h) + d_{k}(phi h)", "non-zero", "0", 0,
                                difference=1))
    return _finish("symbolic Stein identity", rows, 1, {"n": n, "d": d},
                   note="pathwise - Stein is not the Stein remainder" if not all(r.ok for r in rows) else "")


def check_symbolic_time_scaling(scale=None, *, n: int, d: int, seed: int = 0) -> CheckReport:
    """Prove  d|v|^2/dmu_{i,k} == scale(t) * g_i[k]  with a_i = e^{-t}(mu_i - mu*);
    ``scale`` defaults to t -> e^{-t}."""
    from . import symbolic as sym

    model, res, extra = sym.time_scaling_residuals(n, d, scale)
    point = sym.default_point(model, seed, extra)
    label = f"mu, mu*, y, t=1/3 (n={n}, d={d})"
    rows = []
    import sympy as sp

    for i in range(n):
        g = sym.pathwise_closed_form(model, i)
        for k in range(d):
            s_t = extra["s_t"]
            sc = s_t if scale is None else sp.sympify(scale(extra["t"])).subs(extra["t"], -sp.log(s_t))
            val = sym.residual_at(model, sc * g[k], point)
            r = 0 if res[i][k] == 0 else sym.residual_at(model, res[i][k], point)
            rows.append(Row(label, f"dF/dmu[{i}][{k}]", val + r, val, 0, difference=abs(r)))
    return _finish("symbolic e^{-t} chain rule", rows, 1, {"n": n, "d": d},
                   note="the scaling is not the chain rule" if not all(r.ok for r in rows) else "")


# -- 2. Stein vs pathwise, in expectation ------------------------------------------------------


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
    from verify.engine.validation import means_mp

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


def _line_integrands(line: _Line):
    """s -> dict of integrand values times the N(0,1) density, memoised (mpmath.quad calls the
    same nodes for every component)."""
    n, d = len(line.a), len(line.u)
    a, u, b, C = line.a, line.u, line.b, line.C
    norm = 1 / mpmath.sqrt(2 * mpmath.pi)
    cache = {}

    def at(s):
        key = s
        hit = cache.get(key)
        if hit is not None:
            return hit
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


def _memoised(name, fn, *args, **kwargs):
    """Results of pure, slow mpmath evaluations, keyed by the exact inputs (repr of every value):
    the negative controls re-run a check on the same configuration and reuse them."""
    key = _memo_key(name, args, kwargs)
    if key not in _MEMO:
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.pop(next(iter(_MEMO)))
        _MEMO[key] = fn(*args, **kwargs)
    return _MEMO[key]


def expectation_line_mp(mu, mu_star, t, *, dps: int = 40, which: str = "stein"):
    """E over x ~ N(m*, I) of an integrand, by 1-D ``mpmath.quad`` (k <= 1 only).

    ``which``: "loss" (|v|^2), "pathwise", "stein" (scaled-mean gradient forms) or "em" (the
    first term 2 w_i v alone, the gradient-EM part).  Returns ``(value, err)`` as mpf or n lists
    of d mpf, rounded to ``dps``.  Independent of :mod:`verify.expectation`: tanh-sinh quadrature
    on [-inf, inf] split at the softmax transitions.
    """
    if which not in ("loss", "pathwise", "stein", "em"):
        raise ValueError(f"which must be 'loss', 'pathwise', 'stein' or 'em', got {which!r}")
    return _memoised("line", _expectation_line_mp, mu, mu_star, t, dps=dps, which=which)


def _expectation_line_mp(mu, mu_star, t, *, dps, which):
    with mpmath.workdps(dps + 10):
        line = _line_mp(mu, mu_star, t, digits=dps)
        n, d = len(line.a), len(line.u)
        at = _line_integrands(line)
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


def _mp_scale(G, L=None):
    m = max(abs(x) for r in G for x in r)
    return max(m, abs(L) if L is not None else 0)


def check_stein_mp(mu, mu_star, t, *, dps: int = 40, forms=("pathwise", "stein"), grad_fn=None,
                   convention: str = "scaled") -> CheckReport:
    """Stein vs pathwise in expectation, k = 1, in mpmath.

    Integrates the two ``forms`` (names accepted by :func:`expectation_line_mp`) independently and
    requires agreement to 10^-(dps - 5) relative to max |gradient| (normwise).  With ``grad_fn``
    (``grad_fn(mu, mu_star, t, dps=...)`` -> n lists of d mpf), the function is compared too, in
    the ``convention`` "scaled" (dL/dm) or "unscaled" (dL/dmu = e^{-t} dL/dm).
    """
    tol_d = TOLERANCES["mpmath"]["lost_digits"]
    ef = TOLERANCES["mpmath"]["err_factor"]
    if convention not in ("scaled", "unscaled"):
        raise ValueError(f"convention must be 'scaled' or 'unscaled', got {convention!r}")
    P, Pe = expectation_line_mp(mu, mu_star, t, dps=dps, which=forms[0])
    S, Se = expectation_line_mp(mu, mu_star, t, dps=dps, which=forms[1])
    with mpmath.workdps(dps):
        scale = _mp_scale(P)
        tol = mpmath.mpf(10) ** (-(dps - tol_d)) * scale
        n, d = len(P), len(P[0])
        label = f"t={mpmath.nstr(mpmath.mpf(t), 6)}, k=1, dps={dps}"
        rows = []
        worst_err = max(max(Pe[i][k], Se[i][k]) for i in range(n) for k in range(d))
        for i in range(n):
            for k in range(d):
                # the quadrature error estimates enter the tolerance only if they are small
                rows.append(Row(label, f"{forms[0]} vs {forms[1]} [{i}][{k}]", P[i][k], S[i][k],
                                max(tol, ef * (Pe[i][k] + Se[i][k])) if worst_err <= tol else tol))
        if grad_fn is not None:
            G = grad_fn(mu, mu_star, t, dps=dps)
            f = mpmath.exp(-mpmath.mpf(t)) if convention == "unscaled" else 1
            for i in range(n):
                for k in range(d):
                    rows.append(Row(label, f"grad_fn ({convention}) [{i}][{k}]", f * S[i][k], G[i][k], f * tol))
        return _finish("Stein vs pathwise (mpmath, k=1)", rows, scale,
                       {"dps": dps, "quad_err": worst_err, "tolerance": tol}, digits=dps)


def _gauss_hermite_expectation(integrand, mu, mu_star, t, order: int):
    """E over x ~ N(m*, I_d) of ``integrand(x, mu, mu_star, t)`` by tensor Gauss-Hermite on R^d."""
    d = len(mu_star)
    X, W = gauss_hermite_tensor((order,) * d)
    mstar = math.exp(-t) * np.asarray(mu_star, dtype=np.float64)
    vals = integrand(X + mstar, mu, mu_star, t)
    return np.tensordot(W, vals, axes=(0, 0))


def check_stein_float64(grad_fn, mu, mu_star, t, *, convention: str = "scaled", dps: int = 30) -> CheckReport:
    """A float64 gradient function against the Stein-form expectation, within its own error.

    ``grad_fn(mu, mu_star, t, error=True)`` -> (G, err), shape (n, d), in ``convention``
    "scaled" (dL/dm_i, e.g. ``verify.reference.grad_scaled``) or "unscaled" (dL/dmu_i).
    Reference: for collinear means (k <= 1), :func:`expectation_line_mp` of the Stein form at
    ``dps`` digits; otherwise tensor Gauss-Hermite of :func:`verify.model.stein_grad_integrand`
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
        from verify.engine.model import stein_grad_integrand

        o1, o2 = tf["gh_orders"]
        S1 = _gauss_hermite_expectation(stein_grad_integrand, mu_a, ms_a, t, o1)
        S = _gauss_hermite_expectation(stein_grad_integrand, mu_a, ms_a, t, o2)
        Se = np.abs(S - S1)
        how = f"tensor Gauss-Hermite, orders {o1} and {o2}"
    if convention == "unscaled":
        S, Se = math.exp(-t) * S, math.exp(-t) * Se
    G, Ge = grad_fn(mu_a, ms_a, t, error=True)
    G, Ge = np.asarray(G, dtype=np.float64), np.asarray(Ge, dtype=np.float64)
    if G.shape != (n, d):
        raise ValueError(f"grad_fn returned shape {G.shape}, expected {(n, d)}")
    scale = float(np.max(np.abs(S)))
    rnd = tf["rounding_ulps"] * np.finfo(float).eps * scale
    rows = []
    label = f"t={t:g}, n={n}, d={d}"
    for i in range(n):
        for k in range(d):
            tol = tf["err_factor"] * (Ge[i, k] + Se[i, k]) + rnd
            rows.append(Row(label, f"grad ({convention}) [{i}][{k}]", float(S[i, k]), float(G[i, k]), tol))
    return _finish("engine gradient vs Stein expectation (float64)", rows, scale,
                   {"reference": how, "reference_err": float(np.max(Se)), "grad_err": float(np.max(Ge))})


# -- 3. Finite differences ---------------------------------------------------------------------


def _richardson(values, ratio=2, power=2):
    """Richardson tableau for D(h_j), h_j = h_0 / ratio^j, error series in h^power, h^2power, ...
    Returns (best, error estimate): the last diagonal entry and its difference from the entry
    beside it (one order lower: a conservative estimate)."""
    T = [list(values)]
    for m in range(1, len(values)):
        f = mpmath.mpf(ratio) ** (power * m)
        prev = T[-1]
        T.append([(f * prev[j + 1] - prev[j]) / (f - 1) for j in range(len(prev) - 1)])
    best = T[-1][0]
    err = abs(best - T[-2][-1]) if len(T) > 1 else mpmath.inf
    return best, err


def _unit_directions(n, d, count, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        u = rng.standard_normal((n, d))
        out.append(u / np.linalg.norm(u))
    return out


def check_fd_mp(loss_fn, grad_fn, mu, mu_star, t, *, dps: int | None = None, digits: int | None = None,
                h=None, levels: int | None = None, directions: str | int = "coordinates", seed: int = 0,
                ) -> CheckReport:
    """Richardson-extrapolated central differences of an mpmath loss vs an mpmath gradient.

    ``loss_fn(mu, mu_star, t, dps=...)`` -> (mpf, err) and ``grad_fn(mu, mu_star, t, dps=...)`` ->
    n lists of d mpf of dL/dmu (unscaled).  ``directions``: "coordinates" (every component) or an
    int (that many fixed-seed unit directions u, comparing <grad, u>).  The difference quotient
    D(h) = (L(mu + h u) - L(mu - h u)) / 2h at h, h/2, h/4, ... is extrapolated (error series in
    h^2); its error estimate is the extrapolation's last correction plus the loss's error / h
    (times the tableau's amplification, < 3).  Tolerance: 10^-digits * max(max|grad|, L).
    The extrapolation must itself be below that tolerance, or the check fails (it cannot
    vouch for the digits).  Coordinates of mu are shifted in mpmath, exactly.
    """
    tm = TOLERANCES["mpmath"]
    dps = tm["fd_dps"] if dps is None else dps
    digits = tm["fd_digits"] if digits is None else digits
    levels = tm["fd_levels"] if levels is None else levels
    from verify.engine.validation import means_mp

    with mpmath.workdps(dps):
        h0 = mpmath.mpf(tm["fd_h"] if h is None else h)
        m, s = means_mp(mu, mu_star)
        n, d = len(m), len(s)
        tt = mpmath.mpf(t)
        L0, L0e = loss_fn(m, s, tt, dps=dps)
        G = grad_fn(m, s, tt, dps=dps)
        if directions == "coordinates":
            dirs = []
            for i in range(n):
                for k in range(d):
                    u = [[mpmath.mpf(0)] * d for _ in range(n)]
                    u[i][k] = mpmath.mpf(1)
                    dirs.append((f"mu[{i}][{k}]", u))
        else:
            dirs = [(f"u{j} (seed {seed})", [[mpmath.mpf(float(x)) for x in r] for r in U])
                    for j, U in enumerate(_unit_directions(n, d, int(directions), seed))]
        scale = max(_mp_scale(G), abs(L0))
        tol = mpmath.mpf(10) ** (-digits) * scale
        rows, fd_errs = [], []
        label = f"t={mpmath.nstr(tt, 6)}, dps={dps}, h0={mpmath.nstr(h0, 3)}"
        for name, u in dirs:
            Ds, rnd = [], mpmath.mpf(0)
            for j in range(levels):
                hj = h0 / 2**j
                plus = [[m[i][k] + hj * u[i][k] for k in range(d)] for i in range(n)]
                minus = [[m[i][k] - hj * u[i][k] for k in range(d)] for i in range(n)]
                Lp, ep = loss_fn(plus, s, tt, dps=dps)
                Lm, em = loss_fn(minus, s, tt, dps=dps)
                Ds.append((Lp - Lm) / (2 * hj))
                rnd = max(rnd, (ep + em) / (2 * hj))
            best, trunc = _richardson(Ds)
            fd_err = trunc + 3 * rnd
            fd_errs.append(fd_err)
            analytical = mpmath.fsum(G[i][k] * u[i][k] for i in range(n) for k in range(d))
            rows.append(Row(label, f"<grad, {name}>", best, analytical, tol))
        worst = max(fd_errs)
        note = ""
        if worst > tol:
            note = (f"the finite differences are only good to {mpmath.nstr(worst, 3)} "
                    f"> tolerance {mpmath.nstr(tol, 3)}: use a smaller h, more levels or a higher dps")
            for r in rows:
                r.ok = False
        return _finish("finite differences (mpmath, Richardson)", rows, scale,
                       {"dps": dps, "digits_required": digits, "fd_err": worst, "tolerance": tol,
                        "levels": levels}, note=note, digits=min(dps, 40))


def check_fd_float64(loss_fn, grad_fn, mu, mu_star, t, *, n_dirs: int = 3, seed: int = 0, h: float | None = None,
                     ) -> CheckReport:
    """Directional central differences of a float64 loss vs <grad, u>.

    ``loss_fn(mu, mu_star, t, error=True)`` -> (L, err); ``grad_fn(mu, mu_star, t, error=True)`` ->
    (G, err), G = dL/dmu (unscaled), shape (n, d).  For ``n_dirs`` fixed-seed unit vectors u:
    D(h) = (L(mu + h u) - L(mu - h u)) / 2h with h = fd_h * e^{t} (mu's natural length at noise t).
    Tolerance, derived per direction:
        err_factor * [ (err(+h) + err(-h)) / 2h            (the loss's error estimate / h)
                       + |D(2h) - D(h)| / 3                  (truncation c h^2, from two steps;
                                                              it includes their quadrature noise)
                       + sum |u| * grad err ]                (the gradient's own error estimate)
    """
    tf = TOLERANCES["float64"]
    mu_a = np.asarray(mu, dtype=np.float64)
    ms_a = np.asarray(mu_star, dtype=np.float64)
    n, d = mu_a.shape
    h = tf["fd_h"] * math.exp(t) if h is None else float(h)
    G, Ge = grad_fn(mu_a, ms_a, t, error=True)
    G, Ge = np.asarray(G, dtype=np.float64), np.asarray(Ge, dtype=np.float64)
    L0, _ = loss_fn(mu_a, ms_a, t, error=True)
    rows = []
    label = f"t={t:g}, n={n}, d={d}, h={h:.2g}"
    ef = tf["err_factor"]
    details = {"h": h, "tolerance_rel": []}
    scale = max(float(np.max(np.abs(G))), abs(L0))
    for j, u in enumerate(_unit_directions(n, d, n_dirs, seed)):
        D, qerr = {}, {}
        for hh in (h, 2 * h):
            Lp, ep = loss_fn(mu_a + hh * u, ms_a, t, error=True)
            Lm, em = loss_fn(mu_a - hh * u, ms_a, t, error=True)
            D[hh] = (Lp - Lm) / (2 * hh)
            qerr[hh] = (ep + em) / (2 * hh)
        trunc = abs(D[2 * h] - D[h]) / 3
        tol = ef * (qerr[h] + trunc + float(np.sum(np.abs(u) * Ge)))
        details["tolerance_rel"].append(tol / scale if scale > 0 else math.inf)
        rows.append(Row(label, f"<grad, u{j}> (seed {seed})", D[h], float(np.sum(G * u)), tol))
    return _finish("finite differences (float64, directional)", rows, scale, details)


# -- wrong variants (negative controls) --------------------------------------------------------


def reference_loss_mp(mu, mu_star, t, *, dps=50):
    """``verify.reference.loss_mp`` with its error estimate: the loss_fn protocol of :func:`check_fd_mp`."""
    from verify.engine.reference import loss_mp

    return loss_mp(mu, mu_star, t, dps=dps, error=True)


def reference_grad_mp(mu, mu_star, t, *, dps=50):
    """``verify.reference.grad_mp`` (dL/dmu, unscaled): the grad_fn protocol of :func:`check_fd_mp`."""
    from verify.engine.reference import grad_mp

    return grad_mp(mu, mu_star, t, dps=dps)


def _half_loss_mp(mu, mu_star, t, *, dps=50):
    L, e = reference_loss_mp(mu, mu_star, t, dps=dps)
    return L / 2, e / 2


def _half_loss(mu, mu_star, t, error=False, **kw):
    from verify.engine.reference import loss

    L, e = loss(mu, mu_star, t, error=True, **kw)
    return (L / 2, e / 2) if error else L / 2


def _scaled_as_unscaled(mu, mu_star, t, **kw):
    from verify.engine.reference import grad_scaled

    return grad_scaled(mu, mu_star, t, **kw)


def _double_scaled(mu, mu_star, t, **kw):
    from verify.engine.reference import grad_scaled

    out = grad_scaled(mu, mu_star, t, **kw)
    f = math.exp(-2 * float(t))
    if isinstance(out, tuple):
        return f * out[0], f * out[1]
    return f * out


def _grad_scaled_mp(mu, mu_star, t, **kw):
    from verify.engine.reference import grad_scaled_mp

    return _memoised("grad_scaled_mp", grad_scaled_mp, mu, mu_star, t, **kw)


def _scaled_as_unscaled_mp(mu, mu_star, t, **kw):
    return _grad_scaled_mp(mu, mu_star, t, **kw)


def _double_scaled_mp(mu, mu_star, t, dps=50, **kw):
    G = _grad_scaled_mp(mu, mu_star, t, dps=dps, **kw)
    with mpmath.workdps(dps):
        f = mpmath.exp(-2 * mpmath.mpf(t))
        return [[f * x for x in r] for r in G]


def _em_only_mp(mu, mu_star, t, dps=50, **kw):
    """e^{-t} * 2 E[w_i v]: the gradient with the cubic terms dropped (k <= 1)."""
    G, _ = expectation_line_mp(mu, mu_star, t, dps=dps, which="em")
    with mpmath.workdps(dps):
        f = mpmath.exp(-mpmath.mpf(t))
        return [[f * x for x in r] for r in G]


def _em_only(mu, mu_star, t, error=False, **kw):
    """e^{-t} * 2 E[w_i v] in float64 (Gauss-Hermite on R^d, d <= 3): the cubic terms dropped.
    Its error estimate is the difference of two orders."""
    from verify.engine.model import softmax_weights

    def em(x, mu_, ms_, t_):
        w = softmax_weights(x, mu_, t_)
        a = math.exp(-t_) * (np.asarray(mu_) - np.asarray(ms_))
        v = w @ a
        return 2.0 * w[:, :, None] * v[:, None, :]

    o1, o2 = TOLERANCES["float64"]["gh_orders"]
    g1 = _gauss_hermite_expectation(em, np.asarray(mu, float), np.asarray(mu_star, float), t, o1)
    g2 = _gauss_hermite_expectation(em, np.asarray(mu, float), np.asarray(mu_star, float), t, o2)
    f = math.exp(-t)
    return (f * g2, f * np.abs(g2 - g1)) if error else f * g2


#: Deliberately wrong implementations; every check must reject each of them at t > 0.
#: Keys: "cubic_dropped" (gradient = e^{-t} 2 E[w_i v], the gradient-EM term only),
#: "half_loss" (a loss with a factor 1/2, paired with the correct gradient),
#: "scaled_as_unscaled" (dL/dm passed as dL/dmu), "double_scaled" (e^{-2t} dL/dm).
#: Each entry: {"float64": fn, "mpmath": fn}; loss variants return (value, err).
wrong_variants: dict[str, dict[str, Callable]] = {
    "cubic_dropped": {"float64": _em_only, "mpmath": _em_only_mp},
    "half_loss": {"float64": _half_loss, "mpmath": _half_loss_mp},
    "scaled_as_unscaled": {"float64": _scaled_as_unscaled, "mpmath": _scaled_as_unscaled_mp},
    "double_scaled": {"float64": _double_scaled, "mpmath": _double_scaled_mp},
}
