"""Lemma 2.2 / B.1, check 1 of 3: the gradient derived by SymPy (:mod:`verify.checks.symbolic`).

* the pathwise closed form g_i = 2 [w_i v + w_i (v.(a_i - v))(y - a_i)] is d|v|^2/da_i,
  identically, for n in {2, 3} and d in {1, 2} (and, by a second route that lets SymPy
  differentiate ``exp`` itself, to 45 digits at a rational point);
* pathwise minus the Stein form of CLAIMS.md is 2 (y h - grad_y h) with h = w_i v.(a_i - v),
  and that remainder times the Gaussian density is an exact derivative (Stein's lemma);
* d|v|^2/dmu_i = e^{-t} g_i when a_i = e^{-t}(mu_i - mu*).

Negative controls: the cubic terms dropped, a factor 1/2, a wrong sign, a wrong Stein term and
e^{-2t} must each be rejected; the rejection is proved by the residual's value at a rational
point (with E_j = exp(l_j)), which is far from 0.  Tolerance: 0 (exact identities); the
second route compares 50-digit evaluations at 10^-45.
"""

from __future__ import annotations

import pytest
import sympy as sp

from verify.checks import symbolic as sym
from verify.checks.compare import GradientCheckError
from verify.checks.symbolic import check_symbolic_gradient, check_symbolic_stein, check_symbolic_time_scaling

SIZES = [(2, 1), (2, 2), (3, 1), (3, 2)]


@pytest.mark.parametrize(("n", "d"), SIZES)
def test_pathwise_closed_form_is_the_derivative(n, d, request):
    # the second route (SymPy differentiating exp itself, 45 digits at a point) costs ~4 s at
    # n*d = 6: in CI it runs for the smaller sizes (and test_chain_rule_through_exp_matches_sympy_exp)
    thorough = request.config.option.markexpr != "not thorough"
    report = check_symbolic_gradient(n=n, d=d, second_route=thorough or n * d <= 4)
    assert report.details["exact"], report.table()
    assert report.digits == float("inf")


@pytest.mark.parametrize(("n", "d"), [(2, 1), (2, 2), (3, 1),
                                      pytest.param(3, 2, marks=pytest.mark.thorough)])
def test_stein_form_differs_from_pathwise_by_a_stein_remainder(n, d):
    report = check_symbolic_stein(n=n, d=d)
    assert all(r.error == 0 for r in report.rows), report.table()


@pytest.mark.parametrize(("n", "d"), [(2, 1), (2, 2), pytest.param(3, 2, marks=pytest.mark.thorough)])
def test_unscaled_gradient_is_e_minus_t_times_scaled(n, d):
    report = check_symbolic_time_scaling(n=n, d=d)
    assert all(r.error == 0 for r in report.rows), report.table()


def test_chain_rule_through_exp_matches_sympy_exp():
    """The hand-written chain rule d E_j/dx = E_j dl_j/dx (used for speed) agrees with SymPy's own
    derivative of exp: d|v|^2/da is evaluated both ways at a rational point, to 50 digits."""
    n, d = 3, 1
    model = sym.symbolic_model(n, d)
    point = sym.default_point(model, seed=3)
    for i in range(n):
        for k in range(d):
            via_chain = sym.residual_at(model, sym.chain_diff(model, model.F, model.a[i][k]), point)
            deriv, closed = sym.direct_residual_at(n, d, i, k, point)
            assert abs(via_chain - deriv) < sp.Float("1e-45"), (i, k, via_chain, deriv)
            assert abs(closed - deriv) < sp.Float("1e-45"), (i, k, closed, deriv)


# -- negative controls ---------------------------------------------------------------------------


def _em_only(model, i):
    """The gradient-EM term alone: the cubic terms dropped."""
    return [2 * model.w[i] * model.v[k] for k in range(model.d)]


def _half(model, i):
    """The derivative of half the loss (a factor 1/2)."""
    return [g / 2 for g in sym.pathwise_closed_form(model, i)]


def _wrong_sign(model, i):
    """The second term with the wrong sign."""
    w, v, a, y = model.w, model.v, model.a, model.y
    c = sum(v[k] * (a[i][k] - v[k]) for k in range(model.d))
    return [2 * (w[i] * v[k] - w[i] * c * (y[k] - a[i][k])) for k in range(model.d)]


def _rejected_by(excinfo, min_residual=1e-4):
    """The rejection is real: some residual is far from 0 at the rational test point."""
    err = excinfo.value
    worst = max(abs(r.error) for r in err.rows)
    assert worst > min_residual, str(err)
    assert "expected" in str(err) and "tolerance" in str(err)  # the message is a table
    return worst


@pytest.mark.parametrize("wrong", [_em_only, _half, _wrong_sign], ids=["cubic_dropped", "half", "wrong_sign"])
@pytest.mark.parametrize(("n", "d"), [(2, 1), pytest.param(3, 2, marks=pytest.mark.thorough)])
def test_wrong_closed_forms_are_rejected(wrong, n, d):
    with pytest.raises(GradientCheckError) as excinfo:
        check_symbolic_gradient(wrong, n=n, d=d)
    _rejected_by(excinfo)


def test_right_form_against_half_the_loss_is_rejected():
    """Correct g_i against d(|v|^2 / 2): a loss with a factor 1/2 is not the loss of the paper."""
    with pytest.raises(GradientCheckError) as excinfo:
        check_symbolic_gradient(n=2, d=1, loss_factor=sp.Rational(1, 2))
    _rejected_by(excinfo)


def _stein_cubic_dropped(model, i):
    return [2 * model.w[i] * model.v[k] for k in range(model.d)]


def _stein_wrong_coefficient(model, i):
    """3 w_i |v|^2 v replaced by 2 w_i |v|^2 v (a mistyped coefficient)."""
    good = sym.stein_closed_form(model, i)
    vv = sum(x * x for x in model.v)
    return [good[k] - 2 * model.w[i] * vv * model.v[k] for k in range(model.d)]


@pytest.mark.parametrize("wrong", [_stein_cubic_dropped, _stein_wrong_coefficient],
                         ids=["cubic_dropped", "wrong_coefficient"])
def test_wrong_stein_forms_are_rejected(wrong):
    with pytest.raises(GradientCheckError) as excinfo:
        check_symbolic_stein(wrong, n=2, d=1)
    _rejected_by(excinfo)


def test_stein_remainder_is_an_exact_derivative_for_any_h():
    """phi (y_k h - d_k h) = -d_k (phi h) for an arbitrary function h(y): the integral of the
    remainder against the Gaussian is a boundary term, zero for bounded h (Stein's lemma)."""
    assert sym.stein_exact_derivative_residuals(2) == [0, 0]


def test_e_minus_2t_scaling_is_rejected():
    with pytest.raises(GradientCheckError) as excinfo:
        check_symbolic_time_scaling(lambda t: sp.exp(-2 * t), n=2, d=1)
    _rejected_by(excinfo)
