"""Lemma 2.2 (notes) / Lemma B.1 (summary): the gradient of the population loss.

Statement as encoded (CLAIMS.md, "Gradient"; no factor 1/2 in the loss).  With scaled means
m_i = e^{-t} mu_i, a_i = m_i - m*, y = x - m* ~ N(0, I_d), w = softmax(a_i . y - |a_i|^2 / 2)
and v = sum_j w_j a_j:

    dL_t/dm_i = 2 E[ w_i v + w_i sum_j w_j a_j a_j^T a_i - 2 w_i (v . a_i) v
                     - 2 w_i sum_j w_j (v . a_j) a_j + 3 w_i |v|^2 v ]          (Stein form)
              = 2 E[ w_i v + w_i (v . (a_i - v)) (y - a_i) ]                    (pathwise form)
    dL_t/dmu_i = e^{-t} dL_t/dm_i.

An exact identity: the check is equality within a tolerance, three independent ways
(:mod:`verify.checks`): SymPy (exact), the two forms integrated independently in mpmath,
and finite differences of the loss.  Each check also has to reject deliberately wrong
variants (cubic terms dropped, a factor 1/2 in the loss, e^{-2t} or no e^{-t} scaling); a
check that accepts one of them has no power and makes the claim ``inconclusive``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import sympy as sp

from verify.checks import compare, finite_differences as fdc, stein, symbolic, variants
from verify.checks.compare import GradientCheckError
from .base import ClaimResult, Finding, budget_config, register

STATEMENT = (
    "grad_{m_i} L_t = 2 E[w_i v + w_i sum_j w_j a_j a_j^T a_i - 2 w_i (v.a_i) v - 2 w_i sum_j w_j (v.a_j) a_j "
    "+ 3 w_i |v|^2 v] (Stein form, a_i = m_i - m*), equal to the pathwise form "
    "2 E[w_i v + w_i (v.(a_i - v))(y - a_i)]; grad_{mu_i} L_t = e^{-t} grad_{m_i} L_t [Lemma 2.2 / B.1]"
)

_T = 0.9  # t in (0, 3]: scaling errors are invisible at t = 0


def _digits(x) -> float | str:
    return "exact" if x == math.inf else round(float(x), 1)


def _cached_f64_loss():
    from verify.engine.reference import loss

    cache = {}

    def fn(mu, mu_star, t, error=False):
        mu = np.asarray(mu, dtype=np.float64)
        key = (mu.tobytes(), mu.shape, np.asarray(mu_star, dtype=np.float64).tobytes(), float(t))
        if key not in cache:
            cache[key] = loss(mu, mu_star, t, error=True)
        return cache[key] if error else cache[key][0]

    def half(mu, mu_star, t, error=False):
        L, e = fn(mu, mu_star, t, error=True)
        return (L / 2, e / 2) if error else L / 2

    return fn, half


#: SymPy sizes (n, d) and the Stein-vs-pathwise working precision, per budget.  ``gradient``: None
#: for the engine's dL/dmu, or {"float64": fn, "mpmath": fn} in its place (a negative control's
#: wrong engine; the protocols of :mod:`verify.checks.variants`).
BUDGETS = {
    "quick": dict(sizes=[(2, 1), (2, 2)], dps=30, gradient=None),
    "full": dict(sizes=[(2, 1), (2, 2), (3, 1), (3, 2)], dps=50, gradient=None),
}


@register("lemma-2.2", STATEMENT)
def run(budget="quick", seed=0, progress=None, **overrides) -> ClaimResult:
    """Run the three checks at small sizes and the negative controls.

    Returns ``holds`` when every check passes and every wrong variant is rejected, ``fails``
    when a check finds a disagreement (with the table), ``inconclusive`` when the engine
    declines a configuration or a wrong variant is not rejected.
    """
    from verify.engine.reference import AccuracyError, grad, grad_scaled_mp, loss_mp

    cfg, progress = budget_config(BUDGETS, budget, progress, overrides)
    full = budget == "full"
    grad64 = grad if cfg["gradient"] is None else cfg["gradient"]["float64"]
    grad_mp_fn = variants.reference_grad_mp if cfg["gradient"] is None else cfg["gradient"]["mpmath"]
    sizes, dps = cfg["sizes"], cfg["dps"]
    evidence: dict = {"t": _T}
    controls: dict = {}
    t0 = time.perf_counter()
    steps = 7
    done = 0

    def step(label):
        nonlocal done
        done += 1
        progress(done, steps, label)

    def reject(name, fn):
        try:
            fn()
        except GradientCheckError as exc:
            bad = [r for r in exc.rows if not r.ok]
            if all(r.tolerance == 0 for r in bad):  # symbolic: the residual must be exactly 0
                worst = max(float(r.error) for r in bad)
                controls[name] = f"rejected (residual {worst:.3g} at a rational point; must be exactly 0)"
            else:
                worst = max(float(r.error / r.tolerance) for r in bad if r.tolerance)
                controls[name] = f"rejected (difference / tolerance up to {worst:.3g})"
            return True
        controls[name] = "NOT rejected"
        return False

    k2_mu = (np.array([[1.0, 0.3], [-0.7, 0.5], [0.2, -0.9]]) * math.exp(_T)).tolist()
    k2_ms = [0.2, -0.1]
    k1_mu = (np.array([[1.0, 0.3], [-0.7, 0.5]]) * math.exp(_T)).tolist()
    k1_ms = [0.2, -0.1]
    try:
        # 1. SymPy
        sym = {}
        for n, d in sizes:
            symbolic.check_symbolic_gradient(n=n, d=d, second_route=n * d <= 4)
            sym[f"n={n},d={d}"] = "exact"
        symbolic.check_symbolic_stein(n=2, d=1)
        symbolic.check_symbolic_time_scaling(n=2, d=1)
        evidence["symbolic"] = {"pathwise = d|v|^2/da": sym, "Stein remainder (n=2,d=1)": "exact",
                                "e^{-t} chain rule (n=2,d=1)": "exact"}
        step("symbolic")
        reject("symbolic: cubic terms dropped",
               lambda: symbolic.check_symbolic_gradient(lambda m, i: [2 * m.w[i] * m.v[k] for k in range(m.d)],
                                                        n=2, d=1))
        reject("symbolic: factor 1/2 in the loss",
               lambda: symbolic.check_symbolic_gradient(n=2, d=1, loss_factor=sp.Rational(1, 2)))
        reject("symbolic: e^{-2t} scaling",
               lambda: symbolic.check_symbolic_time_scaling(lambda t: sp.exp(-2 * t), n=2, d=1))
        step("symbolic controls")

        # 2. Stein vs pathwise in expectation
        rep = stein.check_stein_mp(k1_mu, k1_ms, _T, dps=dps, grad_fn=grad_mp_fn, convention="unscaled")
        rep64 = stein.check_stein_float64(grad64, k2_mu, k2_ms, _T, convention="unscaled")
        evidence["stein_vs_pathwise"] = {
            f"mpmath k=1 dps={dps} (digits)": _digits(rep.digits),
            "float64 k=2 engine vs Gauss-Hermite (digits)": _digits(rep64.digits),
            "float64 margin (difference/tolerance)": round(rep64.margin, 3),
        }
        step("Stein")
        reject("Stein: EM term alone vs Stein (mpmath)",
               lambda: stein.check_stein_mp(k1_mu, k1_ms, _T, dps=30, forms=("em", "stein")))
        reject("Stein: scaled gradient as unscaled (float64)",
               lambda: stein.check_stein_float64(variants.wrong_variants["scaled_as_unscaled"]["float64"], k2_mu, k2_ms,
                                              _T, convention="unscaled"))
        step("Stein controls")

        # 3. finite differences
        k1d1 = ([[0.8 * math.exp(_T)], [-0.6 * math.exp(_T)]], [0.1])
        cache_mp = {}

        def loss_fn(mu, ms, t, *, dps):
            key = (str(mu), str(ms), str(t), dps)
            if key not in cache_mp:
                cache_mp[key] = loss_mp(mu, ms, t, dps=dps, error=True)
            return cache_mp[key]

        def grad_fn(mu, ms, t, *, dps):
            return grad_mp_fn(mu, ms, t, dps=dps)

        fd = fdc.check_fd_mp(loss_fn, grad_fn, *k1d1, _T, directions="coordinates" if full else 1, seed=seed)
        loss64, half64 = _cached_f64_loss()
        fd64 = fdc.check_fd_float64(loss64, grad64, k2_mu, k2_ms, _T, n_dirs=3 if full else 1, seed=seed)
        evidence["finite_differences"] = {
            "mpmath k=1 Richardson vs grad_mp (digits)": _digits(fd.digits),
            "mpmath required digits": compare.TOLERANCES["mpmath"]["fd_digits"],
            "float64 k=2 directional (digits)": _digits(fd64.digits),
            "float64 tolerance (relative)": f"{max(fd64.details['tolerance_rel']):.2e}",
        }
        step("finite differences")
        reject("FD float64: cubic terms dropped",
               lambda: fdc.check_fd_float64(loss64, variants.wrong_variants["cubic_dropped"]["float64"], k2_mu, k2_ms,
                                           _T, n_dirs=1, seed=seed))
        reject("FD float64: e^{-2t} scaling",
               lambda: fdc.check_fd_float64(loss64, variants.wrong_variants["double_scaled"]["float64"], k2_mu, k2_ms,
                                           _T, n_dirs=1, seed=seed))
        reject("FD float64: factor 1/2 in the loss",
               lambda: fdc.check_fd_float64(half64, grad, k2_mu, k2_ms, _T, n_dirs=1, seed=seed))

        def wrong_mp(mu, ms, t, *, dps):  # scaled gradient passed as unscaled
            return grad_scaled_mp(mu, ms, t, dps=dps)

        reject("FD mpmath: scaled gradient as unscaled",
               lambda: fdc.check_fd_mp(loss_fn, wrong_mp, *k1d1, _T, directions=1, seed=seed))
        step("finite-difference controls")
    except GradientCheckError as exc:
        return ClaimResult("fails", f"{exc.check} disagrees: the gradient is not as stated",
                           {**evidence, "failure": str(exc)}, size=f"SymPy n,d in {sizes}; t={_T}")
    except AccuracyError as exc:
        return ClaimResult("inconclusive", f"the reference engine declined a configuration: {exc}", evidence,
                           size=f"sizes {sizes}, t={_T}")
    evidence["negative_controls"] = controls
    evidence["seconds"] = round(time.perf_counter() - t0, 1)
    size = f"SymPy n,d in {sizes}; mpmath k=1 n=2 (dps {dps}, FD dps 50); float64 k=2 n=3 d=2; t={_T}"
    if not all(v.startswith("rejected") for v in controls.values()):
        missed = [k for k, v in controls.items() if not v.startswith("rejected")]
        return ClaimResult("inconclusive", f"the checks agree but {len(missed)} wrong variant(s) were not rejected: "
                           f"{', '.join(missed)}", evidence, size=size)
    found = [
        Finding("Stein vs pathwise form, mpmath k = 1", _digits(rep.digits), None, f"n = 2, d = 2, dps {dps}, t = {_T}",
                "agreement digits (>= dps - 5 required)", "supports"),
        Finding("Stein vs pathwise form, float64 k = 2", _digits(rep64.digits), None, f"n = 3, d = 2, t = {_T}",
                "agreement digits against Gauss-Hermite", "supports",
                f"difference / tolerance {rep64.margin:.3g}"),
        Finding("finite differences of the loss vs the gradient, mpmath k = 1", _digits(fd.digits), None,
                "n = 2, d = 1, dps 50, Richardson", "agreement digits", "supports"),
    ]
    return ClaimResult(
        "holds",
        f"the three checks agree (SymPy exact; Stein vs pathwise {_digits(rep.digits)} digits in mpmath; "
        f"finite differences {_digits(fd.digits)} digits) and all {len(controls)} wrong variants are rejected",
        evidence, size=size, findings=found)
