"""The gradient of Lemma 2.2 / B.1 derived once by a computer algebra system (SymPy).

What is derived (CLAIMS.md, "Model" and "Gradient"), at the t-free scaled level:

* centred scaled means a_i = m_i - m* (i = 1..n, in R^d) and y = x - m* ~ N(0, I_d);
* logits l_i = a_i . y - |a_i|^2 / 2 (the softmax of -|x - m_i|^2/2 after the common
  term -|y|^2/2 is dropped), E_i = exp(l_i), weights w_i = E_i / sum_j E_j;
* v = sum_i w_i a_i and the loss integrand F = |v|^2 (no factor 1/2).

The closed forms checked against SymPy's derivative:

* pathwise   g_i(y) = 2 [ w_i v + w_i (v . (a_i - v)) (y - a_i) ]        (differentiate under E);
* Stein      S_i(y) = 2 [ w_i v + w_i sum_j w_j a_j a_j^T a_i - 2 w_i (v . a_i) v
                          - 2 w_i sum_j w_j (v . a_j) a_j + 3 w_i |v|^2 v ]   (CLAIMS.md, mu* = 0);
* remainder  g_i - S_i = 2 (y h_i - grad_y h_i),  h_i = w_i (v . (a_i - v)),
  and, for any h,  phi (y_k h - d_k h) = -d_k (phi h)  with phi = exp(-|y|^2/2): the remainder
  times the Gaussian density is the derivative of -phi h_i, which vanishes at infinity
  (|h_i| <= 2 max_j |a_j|^2), so its expectation is 0 (Stein's lemma, E[y h(y)] = E[grad h(y)]).
* time scaling: with a_i = e^{-t} (mu_i - mu*), d F / d mu_i = e^{-t} g_i.  The law of y does not
  depend on mu (y = x - m* is the reparameterisation), so this is the chain rule of
  dL_t/dmu_i = e^{-t} dL_t/dm_i.

How the derivative is taken (fast and exact).  The E_i are kept as positive symbols and the
derivative of a rational function R(E, a, y) is taken with the chain rule through
E_j = exp(l_j):  dR/dx = partial_x R + sum_j partial_{E_j} R * E_j * partial_x l_j.
The residual (SymPy derivative minus closed form) is then a rational function of independent
symbols E_j, a, y; ``together`` writes it as p/q and it is zero iff the expanded p is the zero
polynomial.  Zero as a rational function of independent E_j implies zero at E_j = exp(l_j).  As a
second route, :func:`direct_residual_at` differentiates with ``sympy.exp`` itself (no chain rule
written by hand) and evaluates the residual at a rational point to many digits.

A non-zero residual is proved non-zero by evaluating it at a rational point with E_j = exp(l_j)
(:func:`residual_at`); this is how the negative controls are shown to be wrong.

Sources: CLAIMS.md ("Gradient"); the pathwise form also in :func:`verify.engine.model.pathwise_grad_integrand`.

The checks (:func:`check_symbolic_gradient`, :func:`check_symbolic_stein`,
:func:`check_symbolic_time_scaling`) return the residuals as comparisons
(:mod:`verify.checks.compare`): exact zero is required.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

import sympy as sp

from .compare import CheckReport, Comparison, finish

__all__ = [
    "SymbolicModel",
    "symbolic_model",
    "chain_diff",
    "loss_integrand",
    "pathwise_closed_form",
    "stein_closed_form",
    "stein_remainder",
    "gradient_residuals",
    "stein_residuals",
    "stein_exact_derivative_residuals",
    "time_scaling_residuals",
    "residual_at",
    "direct_residual_at",
    "default_point",
    "check_symbolic_gradient",
    "check_symbolic_stein",
    "check_symbolic_time_scaling",
]

#: A closed form: (model, i) -> the d components of the candidate dF/da_i (SymPy expressions).
ClosedForm = Callable[["SymbolicModel", int], Sequence[sp.Expr]]


@dataclass(frozen=True)
class SymbolicModel:
    """Symbols and expressions of the integrand for n means in R^d.

    Attributes: ``n``, ``d``; ``y`` (d symbols), ``a`` (n x d symbols, the centred scaled means
    a_i = m_i - m*), ``E`` (n positive symbols standing for exp(l_i)); ``l`` (logits, in a and y),
    ``w`` (weights E_i / sum E_j), ``v`` (d components of sum_i w_i a_i), ``F`` (|v|^2).
    ``inputs``: the symbols a derivative may be taken with respect to (a and y); ``logits``:
    l expressed in them.  The model of :func:`time_scaling_residuals` uses mu, mu* and t instead.
    """

    n: int
    d: int
    y: tuple
    a: tuple
    E: tuple
    l: tuple
    w: tuple
    v: tuple
    F: sp.Expr


def symbolic_model(n: int, d: int, a=None, y=None) -> SymbolicModel:
    """The integrand with symbols y_k, a_{i,k} (or given expressions ``a`` for the means)."""
    if not (isinstance(n, int) and n >= 1 and isinstance(d, int) and d >= 1):
        raise ValueError(f"n and d must be integers >= 1, got n={n!r}, d={d!r}")
    if y is None:
        y = tuple(sp.symbols(f"y0:{d}", real=True))
    if a is None:
        a = tuple(tuple(sp.symbols(f"a{i}_0:{d}", real=True)) for i in range(n))
    E = tuple(sp.symbols(f"E0:{n}", positive=True))
    l = tuple(sum(a[i][k] * y[k] for k in range(d)) - sum(a[i][k] ** 2 for k in range(d)) / 2 for i in range(n))
    S = sum(E)
    w = tuple(E[i] / S for i in range(n))
    v = tuple(sum(w[i] * a[i][k] for i in range(n)) for k in range(d))
    F = sum(vk**2 for vk in v)
    return SymbolicModel(n, d, tuple(y), tuple(tuple(r) for r in a), E, l, w, v, F)


def chain_diff(model: SymbolicModel, expr: sp.Expr, x: sp.Symbol) -> sp.Expr:
    """d expr / dx where expr depends on x directly and through E_j = exp(l_j)."""
    out = sp.diff(expr, x)
    for j in range(model.n):
        dl = sp.diff(model.l[j], x)
        if dl != 0:
            out += sp.diff(expr, model.E[j]) * model.E[j] * dl
    return out


def loss_integrand(model: SymbolicModel) -> sp.Expr:
    """F = |v|^2 = |sum_i w_i a_i|^2 (no factor 1/2)."""
    return model.F


def _dot(u, v):
    return sum(ui * vi for ui, vi in zip(u, v))


def pathwise_closed_form(model: SymbolicModel, i: int) -> list:
    """g_i = 2 [ w_i v + w_i (v . (a_i - v)) (y - a_i) ] (the engine's closed form)."""
    w, v, a, y = model.w, model.v, model.a, model.y
    c = _dot(v, [a[i][k] - v[k] for k in range(model.d)])
    return [2 * (w[i] * v[k] + w[i] * c * (y[k] - a[i][k])) for k in range(model.d)]


def stein_closed_form(model: SymbolicModel, i: int) -> list:
    """S_i, the form printed in CLAIMS.md ("Gradient"), with mu_j replaced by a_j = m_j - m*."""
    w, v, a, n, d = model.w, model.v, model.a, model.n, model.d
    vai = _dot(v, a[i])
    vv = _dot(v, v)
    out = []
    for k in range(d):
        t2 = sum(w[j] * a[j][k] * _dot(a[j], a[i]) for j in range(n))
        t4 = sum(w[j] * _dot(v, a[j]) * a[j][k] for j in range(n))
        out.append(2 * w[i] * (v[k] + t2 - 2 * vai * v[k] - 2 * t4 + 3 * vv * v[k]))
    return out


def stein_remainder(model: SymbolicModel, i: int) -> sp.Expr:
    """h_i = w_i (v . (a_i - v)): pathwise minus Stein integrand is 2 (y h_i - grad_y h_i)."""
    w, v, a = model.w, model.v, model.a
    return w[i] * _dot(v, [a[i][k] - v[k] for k in range(model.d)])


def _canonical(expr: sp.Expr) -> sp.Expr:
    """p/q with p expanded: exactly 0 iff the rational function is identically 0.

    (``together`` then ``expand`` of the numerator is several times faster than ``cancel``
    here, and the zero test needs only the numerator.)"""
    num, den = sp.fraction(sp.together(expr))
    num = sp.expand(num)
    return sp.Integer(0) if num == 0 else num / den


def gradient_residuals(n: int, d: int, closed_form: ClosedForm = pathwise_closed_form, *, loss_factor=1):
    """Residuals  d(loss_factor * F)/da_{i,k} - closed_form_i[k]  in canonical form, shape (n, d).

    All zero iff the closed form is the derivative of ``loss_factor`` * |v|^2 identically.
    Returns (model, residuals) so that a non-zero residual can be evaluated with :func:`residual_at`.
    """
    model = symbolic_model(n, d)
    F = sp.Integer(1) * loss_factor * model.F
    res = []
    for i in range(n):
        g = closed_form(model, i)
        res.append([_canonical(chain_diff(model, F, model.a[i][k]) - g[k]) for k in range(d)])
    return model, res


def stein_residuals(n: int, d: int, closed_form: ClosedForm = stein_closed_form):
    """Residuals  g_i - closed_form_i - 2 (y h_i - grad_y h_i)  (canonical), shape (n, d).

    Zero iff the candidate equals the pathwise form up to the Stein remainder of h_i.
    """
    model = symbolic_model(n, d)
    res = []
    for i in range(n):
        g = pathwise_closed_form(model, i)
        s = closed_form(model, i)
        h = stein_remainder(model, i)
        res.append(
            [
                _canonical(g[k] - s[k] - 2 * (model.y[k] * h - chain_diff(model, h, model.y[k])))
                for k in range(d)
            ]
        )
    return model, res


def stein_exact_derivative_residuals(d: int):
    """Residuals  phi (y_k h - d_k h) + d_k(phi h),  phi = exp(-|y|^2/2), h an arbitrary function.

    All zero says: for every differentiable h, the Stein remainder times the Gaussian density is
    the y_k-derivative of -phi h.  For h_i = w_i v.(a_i - v), |h_i| <= |v| |a_i - v| <= 2 max_j |a_j|^2
    is bounded, so phi h_i vanishes at infinity and the remainder integrates to 0 (Stein's lemma).
    """
    y = sp.symbols(f"y0:{d}", real=True)
    h = sp.Function("h")(*y)
    phi = sp.exp(-sum(yk**2 for yk in y) / 2)
    return [sp.simplify(phi * (yk * h - sp.diff(h, yk)) + sp.diff(phi * h, yk)) for yk in y]


def time_scaling_residuals(n: int, d: int, scale: Callable[[sp.Symbol], sp.Expr] | None = None):
    """Residuals  dF/dmu_{i,k} - scale(t) * g_i[k]  with a_i = e^{-t}(mu_i - mu*), shape (n, d).

    ``scale`` defaults to t -> e^{-t} (the chain rule); a wrong scale such as e^{-2t} leaves a
    non-zero residual.  t is a parameter, never differentiated, so e^{-t} is carried as a positive
    symbol s (t = -log s); this keeps the zero test polynomial (fast).
    Returns (model, residuals, extra) with extra = {"t", "s_t", "mu", "mu_star"} symbols.
    """
    t = sp.Symbol("t", nonnegative=True)
    s = sp.Symbol("s_t", positive=True)  # s = e^{-t}
    mu = [sp.symbols(f"mu{i}_0:{d}", real=True) for i in range(n)]
    ms = sp.symbols(f"mustar0:{d}", real=True)
    a = [[s * (mu[i][k] - ms[k]) for k in range(d)] for i in range(n)]
    model = symbolic_model(n, d, a=a)
    sc = s if scale is None else sp.sympify(scale(t)).subs(t, -sp.log(s))
    res = []
    for i in range(n):
        g = pathwise_closed_form(model, i)
        res.append([_canonical(chain_diff(model, model.F, mu[i][k]) - sc * g[k]) for k in range(d)])
    extra = {"t": t, "mu": mu, "mu_star": ms, "s_t": s}
    return model, res, extra


def default_point(model: SymbolicModel, seed: int = 0, extra: dict | None = None) -> dict:
    """A rational test point {symbol: Fraction-valued sympy Rational} for every free input."""
    import random

    rng = random.Random(seed)

    def r():
        return sp.Rational(Fraction(rng.randint(-20, 20), rng.randint(7, 13)))

    point = {yk: r() for yk in model.y}
    if extra is None:
        for row in model.a:
            for s in row:
                point[s] = r()
    else:
        point[extra["s_t"]] = sp.exp(-sp.Rational(1, 3))  # t = 1/3
        for row in extra["mu"]:
            for s in row:
                point[s] = r()
        for s in extra["mu_star"]:
            point[s] = r()
    return point


def residual_at(model: SymbolicModel, expr: sp.Expr, point: dict, digits: int = 50) -> sp.Float:
    """Evaluate a residual at ``point`` with E_j = exp(l_j) (the actual weights), to ``digits``."""
    subs = dict(point)
    for j in range(model.n):
        subs[model.E[j]] = sp.exp(model.l[j].subs(point))
    # evalf with subs= evaluates without building the substituted expression (much faster);
    # the inputs are rounded to digits + 10 first
    subs = {k: sp.N(v, digits + 10) for k, v in subs.items()}
    return sp.N(expr, digits, subs=subs)


def direct_residual_at(n: int, d: int, i: int, k: int, point: dict | None = None,
                       closed_form: ClosedForm = pathwise_closed_form, digits: int = 50):
    """Second route: SymPy differentiates |v|^2 written with ``sympy.exp`` (no hand-written chain
    rule); the residual against the closed form is evaluated at a rational point to ``digits``.
    Returns (derivative value, closed-form value) as SymPy Floats.
    """
    model = symbolic_model(n, d)
    ex = [sp.exp(lj) for lj in model.l]
    to_exp = {model.E[j]: ex[j] for j in range(n)}
    F = model.F.subs(to_exp)
    deriv = sp.diff(F, model.a[i][k])
    g = closed_form(model, i)[k].subs(to_exp)
    if point is None:
        point = default_point(model)
    subs = {k: sp.N(v, digits + 10) for k, v in point.items()}
    return sp.N(deriv, digits, subs=subs), sp.N(g, digits, subs=subs)


# -- the checks: closed forms against SymPy's derivative, as comparisons ---------------------------


def check_symbolic_gradient(closed_form=None, *, n: int, d: int, loss_factor=1, seed: int = 0,
                            second_route: bool = True) -> CheckReport:
    """Prove  d(loss_factor * |v|^2)/da_{i,k} == closed_form(model, i)[k]  identically.

    ``closed_form`` defaults to the pathwise form g_i (:func:`pathwise_closed_form`).
    A non-zero residual is reported with its value at a rational point (E_j = exp(l_j)), which
    proves it is not identically zero.  With ``second_route``, SymPy also differentiates the
    integrand written with ``exp`` directly and the value at that point must match to 45 digits.
    """
    closed_form = closed_form or pathwise_closed_form
    model, res = gradient_residuals(n, d, closed_form, loss_factor=loss_factor)
    point = default_point(model, seed)
    rows = []
    label = f"a (n={n}, d={d}) at a rational point"
    for i in range(n):
        g = closed_form(model, i)
        for k in range(d):
            analytical = residual_at(model, g[k], point)
            if res[i][k] == 0:
                rows.append(Comparison(label, f"dF/da[{i}][{k}]", analytical, analytical, 0, error=0))
            else:
                r = residual_at(model, res[i][k], point)
                # the residual as a rational function is not zero; its value here proves it
                rows.append(Comparison(label, f"dF/da[{i}][{k}]", analytical + r, analytical, 0, error=abs(r)))
    if second_route and all(r.ok for r in rows):
        for i in range(n):
            for k in range(d):
                deriv, g = direct_residual_at(n, d, i, k, point, closed_form, digits=50)
                deriv = deriv * loss_factor
                if abs(deriv - g) > _sp_tol(45, max(abs(g), 1)):
                    rows.append(Comparison(label + " (sympy.exp route)", f"dF/da[{i}][{k}]", deriv, g, _sp_tol(45, 1)))
    return finish("symbolic gradient", rows, 1, {"n": n, "d": d, "exact": all(r.error == 0 for r in rows)},
                  note="residual is not identically zero" if not all(r.ok for r in rows) else "")


def _sp_tol(digits: int, scale):
    return sp.Float(10, 60) ** (-digits) * scale


def check_symbolic_stein(stein_form=None, *, n: int, d: int, seed: int = 0) -> CheckReport:
    """Prove  g_i - stein_form_i == 2 (y h_i - grad_y h_i)  with h_i = w_i v.(a_i - v), and that
    phi (y h - grad_y h) = -grad_y(phi h) for any h (so, h_i being bounded, the remainder has
    Gaussian mean 0: Stein's lemma)."""
    stein_form = stein_form or stein_closed_form
    model, res = stein_residuals(n, d, stein_form)
    point = default_point(model, seed)
    label = f"a, y (n={n}, d={d}) at a rational point"
    rows = []
    for i in range(n):
        s = stein_form(model, i)
        for k in range(d):
            val = residual_at(model, s[k], point)
            r = 0 if res[i][k] == 0 else residual_at(model, res[i][k], point)
            rows.append(Comparison(label, f"S[{i}][{k}] + remainder", val + r, val, 0, error=abs(r)))
    if all(r.ok for r in rows):
        for k, ex in enumerate(stein_exact_derivative_residuals(d)):
            if ex != 0:
                rows.append(Comparison("arbitrary h(y)", f"phi (y_{k} h - d_{k} h) + d_{k}(phi h)", "non-zero", "0", 0,
                                error=1))
    return finish("symbolic Stein identity", rows, 1, {"n": n, "d": d},
                  note="pathwise - Stein is not the Stein remainder" if not all(r.ok for r in rows) else "")


def check_symbolic_time_scaling(scale=None, *, n: int, d: int, seed: int = 0) -> CheckReport:
    """Prove  d|v|^2/dmu_{i,k} == scale(t) * g_i[k]  with a_i = e^{-t}(mu_i - mu*);
    ``scale`` defaults to t -> e^{-t}."""
    model, res, extra = time_scaling_residuals(n, d, scale)
    point = default_point(model, seed, extra)
    label = f"mu, mu*, y, t=1/3 (n={n}, d={d})"
    rows = []
    for i in range(n):
        g = pathwise_closed_form(model, i)
        for k in range(d):
            s_t = extra["s_t"]
            sc = s_t if scale is None else sp.sympify(scale(extra["t"])).subs(extra["t"], -sp.log(s_t))
            val = residual_at(model, sc * g[k], point)
            r = 0 if res[i][k] == 0 else residual_at(model, res[i][k], point)
            rows.append(Comparison(label, f"dF/dmu[{i}][{k}]", val + r, val, 0, error=abs(r)))
    return finish("symbolic e^{-t} chain rule", rows, 1, {"n": n, "d": d},
                  note="the scaling is not the chain rule" if not all(r.ok for r in rows) else "")
