"""A computer-assisted proof of Theorem 3.1 for given n: symbolic symmetry plus ball arithmetic.

[1, Theorem 3.1]: for n >= 3 the configuration a_1 = s e_1, a_2 = -s e_1,
a_3 = .. = a_n = 0 (scaled means, mu* = 0) is a stationary point of the
population loss with L > 0 for some s = s*.  The certificate has two parts.

1. ``symmetry_identities`` (SymPy, exact).  With X_i = exp(l_i) kept as
   positive symbols the integrands are rational functions, and the chain rule
   dX_i/da_i = X_i (y - a_i) is exact, so each identity is a polynomial
   identity after ``sympy.cancel``:

   * the pathwise gradient 2[w_i v + w_i (v.(a_i - v))(y - a_i)] is d|v|^2/da_i
     for every configuration (3 explicit means plus c further means at 0);
   * at the construction the logits satisfy l_1(-y_1) = l_2(y_1), l_3 = 0 and
     do not depend on y_2 .. y_d;
   * the integrand of e_1.dL/da_3 is odd under y_1 -> -y_1, that of
     e_k.dL/da_j (k >= 2, j = 1, 2, 3) is odd under y_k -> -y_k, and
     e_1.dL/da_2 (y) = -e_1.dL/da_1 (reflected y); so, y being symmetric, those
     expectations vanish and dL/da_2 = -dL/da_1;
   * means a_4 .. a_n at 0 have the gradient of a_3 (exchanging them fixes
     the configuration), which the lumped constant c accounts for;
   * e_1.dL/da_1 at the construction does not depend on y_2..y_d and equals
     the one-dimensional integrand ``g`` used below; |v|^2 equals s^2 (w_1-w_2)^2;
     d/ds |v|^2 on the path equals e_1.(dL/da_1 - dL/da_2) pointwise.

   Hence the full gradient vanishes iff g(s) = E[G(y_1; s)] = 0, y_1 ~ N(0, 1).

2. ``certify_interval`` (python-flint, Arb balls).  g(s) is enclosed by
   ``acb.integral`` of G(y) phi(y) over [-T, T] (rigorous Gauss-Legendre with
   error bounds from the analytic continuation; the integrand is meromorphic,
   a pole in a ball shows as a non-finite value and the integrator subdivides)
   plus the tail bound

       |G(y)| <= 2 (s + 2 s^3 + 2 s^2 |y|)   (|w_1| <= 1, |v| <= s, |s - v| <= 2s),
       int_{|y| > T} |G| phi <= 2 (s + 2 s^3) erfc(T / sqrt 2) + 8 s^2 phi(T).

   If the enclosures of g(s_lo) and g(s_hi) have opposite signs, g has a zero
   in (s_lo, s_hi) (g is continuous in s), which is a stationary point.  The
   loss integrand is >= 0, so the truncated integral's lower end, with s a ball
   covering [s_lo, s_hi], is a lower bound for L on the whole interval.

Reference: [1] arXiv 2511.22069.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import mpmath

__all__ = [
    "symmetry_identities",
    "enclose_radial_gradient",
    "enclose_path_loss",
    "certify_interval",
    "certify_stationary_point",
    "Certificate",
    "CertificateError",
]

#: Working precision (bits) of the ball arithmetic by default.
DEFAULT_PREC = 256


class CertificateError(ArithmeticError):
    """An enclosure could not be computed (the integrator returned a non-finite ball)."""


# ---------------------------------------------------------------------------
# Part 1: symmetry, symbolically
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def symmetry_identities(d: int = 2, a2_shift: str | None = None) -> dict[str, bool]:
    """Check the symmetry identities of the construction with SymPy (see module doc).

    Returns {identity name: True/False}; every value must be True.  d >= 2
    (directions e_2..e_d behave alike; d = 2 and 3 are the useful cases).
    ``a2_shift`` (a SymPy expression as a string, e.g. "eps") moves a_2 to
    -(s + shift) e_1: a negative control, for which the reflection identities
    must fail.
    """
    import sympy as sp

    if d < 2:
        raise ValueError(f"d must be >= 2 for the off-axis identities, got {d}")
    y = sp.symbols(f"y1:{d + 1}", real=True)
    A = [[sp.Symbol(f"a{i}{k}", real=True) for k in range(1, d + 1)] for i in range(1, 4)]
    c = sp.Symbol("c", nonnegative=True)  # the n - 3 further means at 0 each add exp(0) = 1 to Z
    X = sp.symbols("X1:4", positive=True)  # X_i = exp(l_i)
    s = sp.Symbol("s", positive=True)
    U, V = sp.symbols("U V", positive=True)  # X_1, X_2 at the construction
    logit = [sum(A[i][k] * y[k] for k in range(d)) - sum(A[i][k] ** 2 for k in range(d)) / 2 for i in range(3)]
    Z = X[0] + X[1] + X[2] + c
    w = [x / Z for x in X]
    v = [sum(w[i] * A[i][k] for i in range(3)) for k in range(d)]
    vv = sum(vk**2 for vk in v)

    def total(expr, i, k):
        # d/da_ik with X_i = exp(l_i(a_i)): the chain rule, exactly.
        return sp.diff(expr, A[i][k]) + sp.diff(expr, X[i]) * X[i] * sp.diff(logit[i], A[i][k])

    G = [[total(vv, i, k) for k in range(d)] for i in range(3)]
    P = [[2 * (w[i] * v[k] + w[i] * sum(v[j] * (A[i][j] - v[j]) for j in range(d)) * (y[k] - A[i][k]))
          for k in range(d)] for i in range(3)]

    def zero(expr) -> bool:
        return sp.cancel(sp.together(expr)) == 0

    out: dict[str, bool] = {}
    out["pathwise formula = d|v|^2/da_i (all i, k, any configuration)"] = all(
        zero(G[i][k] - P[i][k]) for i in range(3) for k in range(d))

    shift = sp.sympify(a2_shift) if a2_shift is not None else 0
    at = {A[0][0]: s, A[1][0]: -s - shift}
    for i in range(3):
        for k in range(d):
            at.setdefault(A[i][k], 0)
    l_at = [sp.expand(lg.subs(at)) for lg in logit]
    out["logits at the construction: l_1(-y_1) = l_2(y_1), l_3 = 0, no y_2..y_d"] = (
        sp.expand(l_at[0].subs(y[0], -y[0]) - l_at[1]) == 0 and l_at[2] == 0
        and all(sp.diff(lg, y[k]) == 0 for lg in l_at for k in range(1, d)))

    def construct(expr):
        return expr.subs(at).subs({X[0]: U, X[1]: V, X[2]: 1})

    Gc = [[construct(G[i][k]) for k in range(d)] for i in range(3)]
    vvc = construct(vv)

    def reflect1(expr):  # y_1 -> -y_1 swaps X_1 and X_2 (by the logit identity above)
        return expr.subs({y[0]: -y[0], U: V, V: U}, simultaneous=True)

    def reflect(expr, k):  # y_k -> -y_k, k >= 2: the X's do not change
        return expr.subs(y[k], -y[k])

    out["e_1.grad a_3 integrand odd under y_1 -> -y_1"] = zero(Gc[2][0] + reflect1(Gc[2][0]))
    out["e_k.grad a_j integrand odd under y_k -> -y_k (k >= 2, j = 1, 2, 3)"] = all(
        zero(Gc[j][k] + reflect(Gc[j][k], k)) for j in range(3) for k in range(1, d))
    out["e_1.grad a_2 (y) = -e_1.grad a_1 (y_1 -> -y_1)"] = zero(Gc[1][0] + reflect1(Gc[0][0]))
    z1 = U + V + 1 + c
    w1 = U / z1
    v1 = s * (U - V) / z1
    g_1d = 2 * (w1 * v1 + w1 * v1 * (s - v1) * (y[0] - s))
    out["e_1.grad a_1 integrand = the 1-D integrand g, independent of y_2..y_d"] = (
        zero(Gc[0][0] - g_1d) and all(sp.diff(Gc[0][0], y[k]) == 0 for k in range(1, d)))
    out["|v|^2 at the construction = s^2 (w_1 - w_2)^2, independent of y_2..y_d"] = zero(
        vvc - s**2 * (U - V) ** 2 / z1**2)
    # d/ds on the path, with dU/ds = (y_1 - s) U and dV/ds = (-y_1 - s) V.
    path_vv = s**2 * (U - V) ** 2 / z1**2
    dds = sp.diff(path_vv, s) + sp.diff(path_vv, U) * (y[0] - s) * U + sp.diff(path_vv, V) * (-y[0] - s) * V
    out["d/ds |v|^2 on the path = e_1.(grad a_1 - grad a_2) pointwise"] = zero(dds - (Gc[0][0] - Gc[1][0]))
    return out


# ---------------------------------------------------------------------------
# Part 2: ball arithmetic
# ---------------------------------------------------------------------------


def _flint():
    import flint

    return flint


def _as_arb(x):
    """An arb ball from an exact dyadic (flint fmpq/int), a decimal string (ball
    containing it) or an arb; floats are taken as the exact binary value."""
    flint = _flint()
    if isinstance(x, flint.arb):
        return x
    if isinstance(x, (flint.fmpq, flint.fmpz, int)):
        return flint.arb(x)
    if isinstance(x, float):
        return flint.arb(x)
    if isinstance(x, str):
        return flint.arb(x)
    if isinstance(x, mpmath.mpf):
        man, exp = x.man_exp
        return flint.arb(flint.fmpz(int(man))) * flint.arb(2) ** int(exp)
    raise TypeError(f"cannot make a ball from {type(x).__name__}")


def _integrand(s, m, column):
    """The ``column`` ("g": the gradient's e_1 component at mu_1, "loss") of the integrand on the
    path mu_1 = s e_1, mu_2 = -s e_1, m means at 0, times the N(0, 1) density, as a ball function."""
    flint = _flint()
    acb, arb = flint.acb, flint.arb
    s = acb(s)
    half = s * s / 2
    norm = 1 / (arb.pi() * 2).sqrt()

    def f(y, _analytic):
        # Meromorphic in y: poles (Z = 0) give non-finite balls, so the
        # analytic flag needs no separate check (see flint.acb.integral).
        e1 = (s * y - half).exp()
        e2 = (-s * y - half).exp()
        z = e1 + e2 + m
        v = s * (e1 - e2) / z
        if column == "g":
            w1 = e1 / z
            value = 2 * (w1 * v + w1 * v * (s - v) * (y - s))
        else:
            value = v * v
        return value * (-(y * y) / 2).exp() * norm

    return f


def truncation(prec: int) -> int:
    """Truncation T of the y-integrals: phi(T) <= 2^-prec e^-10, so the tails are
    below the working precision (T = 20 at 256 bits)."""
    import math

    return math.ceil(math.sqrt(2 * (prec * math.log(2) + 10)))


def _tail_g(s, T):
    """Rigorous bound on int_{|y| > T} |G(y)| phi(y) dy (module doc), for every s in the ball."""
    flint = _flint()
    arb = flint.arb
    s = arb(abs(s).upper())
    T = arb(T)
    phi_T = (-(T * T) / 2).exp() / (arb.pi() * 2).sqrt()
    return 2 * (s + 2 * s**3) * (T / arb(2).sqrt()).erfc() + 8 * s * s * phi_T


def _integrate(f, T, prec):
    flint = _flint()
    tol = flint.arb(2) ** (-prec + 8)
    r = flint.acb.integral(f, -T, T, rel_tol=tol, abs_tol=tol)
    if not r.real.is_finite():
        raise CertificateError("the integrator returned a non-finite enclosure")
    return r.real


def enclose_radial_gradient(s, n: int, *, prec: int = DEFAULT_PREC, T: int | None = None):
    """A ball containing g(s) = e_1.dL/da_1 on the symmetric path (rigorous).

    ``s`` is an exact dyadic (mpf, flint fmpq, int, float) or a ball (arb,
    decimal string); the ball then contains g at every point of ``s``.
    Returns a flint.arb.
    """
    flint = _flint()
    if n < 3:
        raise ValueError(f"n must be >= 3, got {n}")
    T = truncation(prec) if T is None else T
    with flint.ctx.workprec(prec):
        sb = _as_arb(s)
        core = _integrate(_integrand(sb, n - 2, "g"), T, prec)
        tail = _tail_g(sb, T)
        return core + flint.arb(0, tail.upper())


def enclose_path_loss(s, n: int, *, prec: int = DEFAULT_PREC, T: int | None = None):
    """A ball containing L(s) on the symmetric path, for every s in the ball ``s``.

    The truncated integral's enclosure plus [0, tail], tail <= s^2 erfc(T/sqrt 2)
    (|v| <= s); its lower end is a rigorous lower bound of L.
    """
    flint = _flint()
    if n < 3:
        raise ValueError(f"n must be >= 3, got {n}")
    T = truncation(prec) if T is None else T
    with flint.ctx.workprec(prec):
        sb = _as_arb(s)
        core = _integrate(_integrand(sb, n - 2, "loss"), T, prec)
        smax = flint.arb(abs(sb).upper())
        tail = smax * smax * (flint.arb(T) / flint.arb(2).sqrt()).erfc()
        return core + flint.arb(tail.upper() / 2, tail.upper() / 2)


@dataclass
class Certificate:
    """What ``certify_interval`` proved (or failed to prove) for one n.

    ``sign_change``: the enclosures of g(s_lo) > 0 and g(s_hi) < 0 are disjoint
    from 0 with opposite signs; ``loss_positive``: the lower bound of L over
    [s_lo, s_hi] is > 0; ``symmetry``: the SymPy identities; ``certified``: all.
    Numbers are decimal strings (balls as "[mid +/- rad]").
    """

    n: int
    s_lo: str
    s_hi: str
    width: str
    prec: int
    g_lo: str
    g_hi: str
    loss_lower_bound: str
    sign_change: bool
    loss_positive: bool
    symmetry: dict = field(default_factory=dict)
    reason: str = ""

    @property
    def certified(self) -> bool:
        return self.sign_change and self.loss_positive and bool(self.symmetry) and all(self.symmetry.values())


def _ball(x) -> str:
    """'mid +/- rad' with the radius as computed (arb.str(n) would add the
    display rounding to the radius)."""
    return f"{x.mid().str(12, radius=False)} +/- {x.rad().str(3, radius=False)}"


def _dyadic(x, bits: int):
    """The dyadic rational round(x 2^bits) / 2^bits, as an exact mpf."""
    with mpmath.workprec(bits + 64):
        return mpmath.ldexp(mpmath.nint(mpmath.ldexp(mpmath.mpf(x), bits)), -bits)


def certify_interval(n: int, s_lo, s_hi, *, prec: int = DEFAULT_PREC, symmetry_d: int | None = 2) -> Certificate:
    """Try to prove that [s_lo, s_hi] contains a stationary point with L > 0.

    ``s_lo < s_hi`` exact numbers (mpf, int, float, fmpq).  Fails (``certified``
    False, with the reason) when the signs do not change or an enclosure
    contains 0: an interval without s* must fail.  ``symmetry_d=None`` skips
    the SymPy part (then ``certified`` is False by design).
    """
    flint = _flint()
    if n < 3:
        raise ValueError(f"n must be >= 3, got {n}")
    with mpmath.workprec(prec + 64):
        lo, hi = mpmath.mpf(s_lo), mpmath.mpf(s_hi)
        if not 0 < lo < hi:
            raise ValueError(f"need 0 < s_lo < s_hi, got s_lo = {s_lo}, s_hi = {s_hi}")
        width = hi - lo
        dps = int(prec * 0.30103) + 5
        lo_s, hi_s = (mpmath.nstr(x, dps) for x in (lo, hi))
        width_s = mpmath.nstr(width, 8)
    with flint.ctx.workprec(prec):
        g_lo = enclose_radial_gradient(lo, n, prec=prec)
        g_hi = enclose_radial_gradient(hi, n, prec=prec)
        ball = flint.arb(_as_arb(lo)).union(_as_arb(hi))
        loss = enclose_path_loss(ball, n, prec=prec)
        sign_change = bool(g_lo > 0) and bool(g_hi < 0)
        loss_positive = bool(loss > 0)
        lower = loss.lower()
        reason = []
        if not sign_change:
            reason.append(f"no certified sign change: g(s_lo) in {_ball(g_lo)}, g(s_hi) in {_ball(g_hi)}")
        if not loss_positive:
            reason.append(f"loss lower bound {_ball(loss)} is not > 0")
        cert = Certificate(
            n=n, s_lo=lo_s, s_hi=hi_s, width=width_s, prec=prec,
            g_lo=_ball(g_lo), g_hi=_ball(g_hi),
            # printed rounded down: lower - 1e-12, shown to 12 digits (display error <= 5e-13)
            loss_lower_bound=(lower - flint.arb(10) ** -12).str(12, radius=False), sign_change=sign_change,
            loss_positive=loss_positive,
        )
    if symmetry_d is not None:
        cert.symmetry = dict(symmetry_identities(symmetry_d))
        if not all(cert.symmetry.values()):
            reason.append("a symmetry identity failed: " + ", ".join(k for k, ok in cert.symmetry.items() if not ok))
    cert.reason = "; ".join(reason) if reason else "certified"
    return cert


def certify_stationary_point(n: int, s_star, half_width="1e-20", *, prec: int = DEFAULT_PREC,
                             symmetry_d: int | None = 2) -> Certificate:
    """Certify [s* - h, s* + h] (endpoints rounded to dyadics) for an approximate s*.

    ``s_star`` and ``half_width`` as strings or mpf.  The endpoints are dyadic
    rationals with enough bits to represent the width, so they are exact in
    both mpmath and Arb.
    """
    with mpmath.workprec(prec + 64):
        s = mpmath.mpf(s_star)
        h = mpmath.mpf(half_width)
        bits = int(-mpmath.floor(mpmath.log(h, 2))) + 8
        lo = _dyadic(s - h, bits)
        hi = _dyadic(s + h, bits)
    return certify_interval(n, lo, hi, prec=prec, symmetry_d=symmetry_d)
