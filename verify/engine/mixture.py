"""Mixture ground truths: the population loss against p*_t = sum_k pi_k N(m*_k, I), exactly.

Data x ~ sum_k pi_k N(mu*_k, I); at noise t, p*_t = sum_k pi_k N(m*_k, I_d) with m*_k = e^{-t} mu*_k.
The true score is itself a softmax score, grad log p*_t(x) = sum_l rho_l(x) m*_l - x with
rho = softmax_l(log pi_l - |x - m*_l|^2 / 2), so the loss (no factor 1/2, as for one Gaussian)

    L_t = E_{x ~ p*_t} | s_theta(x) - grad log p*_t(x) |^2 = sum_k pi_k E_{y ~ N(0, I)} |e(m*_k + y)|^2,
    e = sum_i w_i m_i - sum_l rho_l m*_l

is a sum of K Gaussian integrals.  Every logit, student and ground truth, is linear in x with
slopes the points themselves, so all of them see x only through its projection on the span S
of the differences of the n + K points {m_i} and {m*_l} (dimension <= min(d, n + K - 1)); e lies
in S, and the component of y orthogonal to S is independent of that projection with mean zero:
each expectation is a k-dimensional Gaussian integral, k = dim S.  Per component k, with
a_i = m_i - m*_k, c_l = m*_l - m*_k, v = sum_i w_i a_i, u = sum_l rho_l c_l, e = v - u:

    loss:      |e|^2
    gradient:  dL/dm_i = 2 E[ w_i e + w_i ((a_i - v) . e) (y - a_i) ]      (pathwise; p* is fixed)

(as in :mod:`verify.engine.expectation`, which is the case rho = (1) of this one).  The two
softmaxes are passed to the quadrature as two groups of logits: its lines are graded at the
transitions within each group (:func:`verify.engine.lines.integrate_lines`).  Each component is
integrated to ``tol`` relative to itself; when the integrated gradient errors exceed ``tol``
times the mixture's gradient scale (components' gradients cancel), all are redone tighter.
There is no shortcut for K = 1 or for coinciding components: every component is integrated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mpmath
import numpy as np

from .backend import FLOAT64, Backend
from .lines import check_float64_low, check_float64_range, check_float64_scale
from .quadrature import integrate_gaussian
from .work_budget import mp_budget, mp_chunk_nodes
from .rounding import logit_rounding
from .time_limit import check_time
from .tolerances import MIN_TOL, AccuracyError, gradient_scale

#: what the float64 range checks name (verify.engine.lines.FLOAT64_AMAX): the largest coordinate of
#: the scaled offsets first (before any square can overflow), then the sum of the largest norms
COORDINATE = "max over i, j, k, l of |mu_ij - m*_kj| e^-t and |m*_lj - m*_kj| e^-t"
SCALE = "max_i |mu_i - m*_k| e^-t + max_l |m*_l - m*_k| e^-t"

__all__ = ["Component", "reduce_mixture", "mixture_expectations", "MixtureExpectations"]


@dataclass
class Component:
    """One component's integral, reduced to the span S."""

    a: np.ndarray  # (n, d) m_i - m*_k
    c: np.ndarray  # (K, d) m*_l - m*_k
    B: np.ndarray  # (n + K, k) slopes of the logits in reduced coordinates
    C: np.ndarray  # (n + K,) offsets: l = B z - C (students' relative to the nearest mean, truths' to m*_k)
    Q: np.ndarray  # (d, k)
    amax: float  # max_i |a_i| (an mpf on the mpmath path)
    cmax: float  # max_l |c_l| (likewise)


def _span(points, backend: Backend):
    """Orthonormal basis (d x k) of the differences of ``points`` (rows), largest spread first."""
    if not backend.is_mp:
        P = np.asarray(points, dtype=float)
        iu, ju = np.triu_indices(P.shape[0], 1)
        if iu.size == 0:
            return np.zeros((P.shape[1], 0))
        _, sig, vt = np.linalg.svd(P[iu] - P[ju], full_matrices=False)
        keep = (sig > 1e-17 * sig[0]) & (sig > 0)  # below float64's resolution of the largest
        return vt[keep].T
    d = len(points[0])
    U = [[p[j] - points[0][j] for j in range(d)] for p in points[1:]]
    if not any(x != 0 for row in U for x in row):
        return np.zeros((d, 0), dtype=object)
    _, S, V = mpmath.svd_r(mpmath.matrix(U))
    sig = [S[i] for i in range(min(len(U), d))]
    size = max(abs(x) for p in points for x in p)
    thresh = max(max(sig) * mpmath.mpf(10) ** (-(mpmath.mp.dps + 10)), size * mpmath.mpf(10) ** (-(mpmath.mp.dps - 3)))
    cols = sorted((i for i, x in enumerate(sig) if x > thresh), key=lambda i: -sig[i])
    return np.array([[V[i, j] for i in cols] for j in range(d)], dtype=object).reshape(d, len(cols))


def reduce_mixture(mu, mu_stars, weights, t, backend: Backend = FLOAT64) -> tuple[list, object]:
    """One :class:`Component` per ground-truth component, and the scale e^{-t}.  Inputs are
    checked float64 arrays, or nested lists of mpf (mpmath, at the working precision)."""
    mp = backend.is_mp
    s = mpmath.exp(-t) if mp else math.exp(-t)
    arr = (lambda x: np.array(x, dtype=object)) if mp else (lambda x: np.asarray(x, dtype=float))
    # the basis from the unscaled points (collinear inputs stay exactly collinear), as the engine does
    Q = _span([list(r) for r in mu] + [list(r) for r in mu_stars], backend)
    mu, mu_stars = arr([list(r) for r in mu]), arr([list(r) for r in mu_stars])
    logw = arr([mpmath.log(w) for w in weights]) if mp else np.log(np.asarray(weights, dtype=float))
    norm = (lambda r: mpmath.sqrt(mpmath.fsum(x * x for x in r))) if mp else (lambda r: float(np.linalg.norm(r)))
    comps = []
    for k in range(mu_stars.shape[0]):
        with np.errstate(over="ignore", invalid="ignore"):
            a = s * (mu - mu_stars[k])
            c = s * (mu_stars - mu_stars[k])
        if not mp:  # before any square can overflow; the norms are checked in mixture_expectations
            check_float64_scale(s, np.concatenate([mu - mu_stars[k], mu_stars - mu_stars[k]]))
            check_float64_range(float(np.max(np.abs(np.concatenate([a, c])))), COORDINATE)
        # Student logits relative to the mean nearest m*_k, from differences of the inputs (the
        # engine's reference form, verify.engine.expectation): no large common term; what their
        # terms still lose where they cancel is bounded per node (verify.engine.rounding).  The
        # ground-truth logits are relative to component k already (c_k = 0).
        r = min(range(len(a)), key=lambda i: float(norm(a[i])))
        Dr = s * (mu - mu[r])
        Cs = np.array([sum(x * y for x, y in zip(Dr[i], a[i] + a[r])) / 2 for i in range(len(a))], dtype=a.dtype)
        Ct = np.array([sum(x * x for x in row) / 2 for row in c], dtype=a.dtype) - logw
        pts = np.concatenate([Dr, c])
        B = pts @ Q if Q.shape[1] else np.zeros((pts.shape[0], 0), dtype=pts.dtype)
        C = np.concatenate([Cs, Ct])
        # (mpf norms on the mpmath path: their powers in the bounds never overflow)
        comps.append(Component(a, c, B, C, Q, max(norm(r_) for r_ in a), max(norm(r_) for r_ in c)))
    return comps, s


def _integrand(comp: Component, n: int, backend: Backend, with_grad: bool):
    """Columns: loss, gradient (n*d) if with_grad, the loss's rounding bound, each mean's
    gradient rounding bound (n) if with_grad; times the density of the first dens_axes axes."""
    a, c, B, C, Q = comp.a, comp.c, comp.B, comp.C, comp.Q
    d = a.shape[1]
    mp = backend.is_mp
    sqrt = np.frompyfunc(mpmath.sqrt, 1, 1) if mp else np.sqrt
    an = sqrt((a * a).sum(axis=1))
    cn = sqrt((c * c).sum(axis=1))
    two_pi = backend.scalar(2 * mpmath.pi if mp else 2 * math.pi)

    def softmax(lg):
        lg = lg - lg.max(axis=1)[:, None]
        ex = backend.exp(lg)
        return ex / ex.sum(axis=1)[:, None]

    def f(Z, dens_axes):
        check_time()
        lg = Z @ B.T - C
        w, rho = softmax(lg[:, :n]), softmax(lg[:, n:])
        v, u = w @ a, rho @ c
        e = v - u
        ee = (e * e).sum(axis=1)
        en = sqrt(ee)
        # rounding: the shift l_i - l_max errs by eps |l_i - l_max|, so w_i errs by
        # eps (8 + 2 |l_i - l_max|) relative from the softmax; e errs by at most eps8 * Sw with Sw
        # the weighted norms inflated by that factor (over 8)
        dls = np.abs(lg[:, :n] - lg[:, :n].max(axis=1)[:, None])
        dlt = np.abs(lg[:, n:] - lg[:, n:].max(axis=1)[:, None])
        gs, gt = 1 + dls / 4, 1 + dlt / 4
        epsn = 8 * backend.eps + 0 * lg[:, 0]
        Sw = (w * gs) @ an + (rho * gt) @ cn
        # and the logits' own rounding with the shift's (verify.engine.rounding; the shift is then
        # counted twice, on the safe side): the weights err by w_i eta_i more, so e by
        # sum_i w_i eta_i |a_i| + sum_k rho_k eta_k |c_k| more, and G_i's factor w_i by w_i eta_i
        weta_s = logit_rounding(Z, B[:n], C[:n], lg[:, :n], dls, w, backend.eps)
        weta_t = logit_rounding(Z, B[n:], C[n:], lg[:, n:], dlt, rho, backend.eps)
        de = epsn * Sw + weta_s @ an + weta_t @ cn
        rho_loss = 2 * de * en + de**2
        phi = 1
        if dens_axes:
            Zd = Z[:, :dens_axes]
            phi = two_pi ** (-backend.scalar(dens_axes) / 2) * backend.exp(-(Zd * Zd).sum(axis=1) / 2)
        if not with_grad:
            out = np.stack([ee, rho_loss], axis=1)
            return out * (phi[:, None] if dens_axes else 1)
        Y = Z @ Q.T  # y projected on S (its orthogonal part averages out)
        # s_i = (a_i - v) . e
        s_ = np.einsum("nid,nd->ni", a[None, :, :] - v[:, None, :], e) if not mp else \
            ((a[None, :, :] - v[:, None, :]) * e[:, None, :]).sum(axis=2)
        G = 2 * (w[:, :, None] * e[:, None, :] + (w * s_)[:, :, None] * (Y[:, None, :] - a[None, :, :]))
        zn = sqrt((Z * Z).sum(axis=1))
        vn = sqrt((v * v).sum(axis=1))
        # s_i = (a_i - v) . e errs by |de| (|a_i| + |v|) + |dv| |e| (|dv| <= |de|) and its own rounding
        ds = (de + epsn * en)[:, None] * (an[None, :] + vn[:, None]) + (de * en)[:, None] + epsn[:, None] * np.abs(s_)
        rho_g = 2 * w * (de[:, None] + ds * (zn[:, None] + an[None, :]))
        rho_g = rho_g + 2 * weta_s * (en[:, None] + np.abs(s_) * (zn[:, None] + an[None, :]))
        N = Z.shape[0]
        out = np.concatenate([ee[:, None], G.reshape(N, n * d), rho_loss[:, None], rho_g], axis=1)
        return out * (phi[:, None] if dens_axes else 1)

    return f


@dataclass
class MixtureExpectations:
    loss: object
    loss_err: object
    grad_scaled: np.ndarray | None  # (n, d) dL/dm
    grad_scaled_err: np.ndarray | None
    k: int  # dimension of the span S
    nodes: int
    components: int  # component integrals evaluated (always K: no shortcut)
    spread: float  # A = max_{i,k} |m_i - m*_k|, the gradient scale's spread


def _component(comp: Component, n: int, *, tol, backend: Backend, with_grad: bool, budget=None):
    d = comp.a.shape[1]
    k = comp.B.shape[1]
    if k == 0:  # every point coincides: e = 0 everywhere
        z = backend.scalar(0)
        g = np.array([[z] * d for _ in range(n)], dtype=object if backend.is_mp else float)
        return z, z, g, g.copy(), 0
    E, am = comp.amax + comp.cmax, comp.amax
    bound_scale = max(E * E, 2 * (E + 2 * am * am * E), 4 * am * E)  # |f| <= bound_scale (1 + |z|)

    def split(value, error):
        if with_grad:
            rho_g = np.repeat(np.abs(value[-n:]), d)
            return value[0], error[0] + abs(value[-n - 1]), value[1:-n - 1], error[1:-n - 1] + rho_g
        return value[0], error[0] + abs(value[-1]), None, None

    def scale(L, G):
        return gradient_scale(G, L, am) if with_grad else None

    def hopeless(value):
        L, rL, G, rG = split(value, value * 0)
        return rL > tol * abs(L) or (with_grad and max(rG) > tol * scale(L, G))

    def accept(value, error):
        L, eL, G, eG = split(value, error)
        return eL <= tol * abs(L) and (not with_grad or max(eG) <= tol * scale(L, G))

    def tail_target(value):
        if value is None:
            return 1e-3 * float(tol) * E ** 2
        L = float(abs(value[0]))
        if with_grad:
            L = min(L, float(scale(L, value[1:-n - 1])))
        return 0.1 * float(tol) * L

    groups = np.array([0] * n + [1] * (comp.B.shape[0] - n))
    chunk = {"chunk_nodes": mp_chunk_nodes(comp.B.shape[0], d + 2)} if backend.is_mp else {}
    res = integrate_gaussian(_integrand(comp, n, backend, with_grad), comp.B, comp.C, backend=backend, accept=accept,
                             bound_scale=bound_scale, tail_target=tail_target, hopeless=hopeless, groups=groups,
                             budget=budget, **chunk)
    L, eL, G, eG = split(res.value, res.error)
    if with_grad:
        G, eG = G.reshape(n, d), eG.reshape(n, d)
    return L, eL, G, eG, res.nodes


def mixture_expectations(comps: list, weights, *, tol, backend: Backend = FLOAT64,
                         with_grad: bool = True) -> MixtureExpectations:
    """L_t and dL_t/dm_i (scaled means) for the reduced components (module doc)."""
    n = comps[0].a.shape[0]
    if not backend.is_mp:
        check_float64_range(max(c.amax + c.cmax for c in comps), SCALE)
        # (on the largest coordinate: the norms underflow to 0 below ~1e-162)
        check_float64_low(max(float(np.max(np.abs(np.concatenate([c.a, c.c])))) for c in comps), COORDINATE)
    spread = max(c.amax for c in comps)
    pis = [backend.scalar(w) for w in weights]
    tol_c = tol
    # mpmath: one work budget for every component and retry (verify.engine.work_budget.NodeBudget)
    budget = (mp_budget(comps[0].B.shape[0], instead="the float64 functions (loss_mix, grad_mix, evaluate_mix) do this "
                        "mixture") if backend.is_mp else None)
    while True:
        L = Le = 0
        G = Ge = 0
        nodes = 0
        for comp, p in zip(comps, pis):
            try:
                l_, le, g, ge, nd = _component(comp, n, tol=tol_c, backend=backend, with_grad=with_grad, budget=budget)
            except AccuracyError as exc:
                raise AccuracyError(f"{exc} (mixture: n={n}, K={len(comps)}, k={comp.B.shape[1]}, "
                                    f"tol={float(tol_c):.1e})") from None
            L, Le, nodes = L + p * l_, Le + p * le, nodes + nd
            if with_grad:
                G, Ge = G + p * g, Ge + p * ge
        if not with_grad or max(np.ravel(Ge)) <= tol * gradient_scale(G, L, spread):
            break
        floor = MIN_TOL if not backend.is_mp else tol / 1000
        if tol_c <= floor:
            raise AccuracyError(f"the components' gradient errors exceed tol = {float(tol):.1e} of the mixture's "
                                "gradient scale even at the tightest per-component accuracy (they cancel)")
        tol_c = max(tol_c / 10, floor)
    k = comps[0].B.shape[1]
    return MixtureExpectations(L, Le, G if with_grad else None, Ge if with_grad else None, k, nodes, len(comps),
                               spread)
