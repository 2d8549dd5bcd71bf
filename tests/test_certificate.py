"""The Theorem 3.1 certificate: SymPy symmetry identities and Arb enclosures.

Each check has a negative control: a broken configuration fails the symmetry
identities, an interval beside s* fails to certify a sign change, and the tail
bound is compared with the tail it bounds.
"""

from __future__ import annotations

import flint
import mpmath
import pytest
from hypothesis import given, strategies as st

from verify.checks import certificate as C
from verify.analysis import stationary as sp
from verify.analysis.stationary import path

TABLE = sp.reference_table()


def _s_star(n):
    return TABLE[n]["s_star"]


def test_symmetry_identities_hold_in_two_dimensions():
    ids = C.symmetry_identities(2)
    assert len(ids) == 8 and all(ids.values()), [k for k, ok in ids.items() if not ok]


@pytest.mark.thorough
def test_symmetry_identities_hold_in_three_dimensions():
    ids = C.symmetry_identities(3)
    assert all(ids.values()), [k for k, ok in ids.items() if not ok]


def test_symmetry_identities_fail_for_an_asymmetric_configuration():
    # Negative control: a_2 = -(s + eps) e_1 breaks the reflection that swaps a_1 and a_2.
    ids = C.symmetry_identities(2, a2_shift="eps")
    failed = {k for k, ok in ids.items() if not ok}
    assert "logits at the construction: l_1(-y_1) = l_2(y_1), l_3 = 0, no y_2..y_d" in failed
    assert "e_1.grad a_2 (y) = -e_1.grad a_1 (y_1 -> -y_1)" in failed
    # The pathwise formula does not depend on the configuration and must still hold.
    assert ids["pathwise formula = d|v|^2/da_i (all i, k, any configuration)"]


def test_certificate_for_n3_at_width_2e_20():
    c = C.certify_stationary_point(3, _s_star(3), "1e-20")
    assert c.certified, c.reason
    assert c.sign_change and c.loss_positive
    # L(s*) = 0.94380027324...; the rigorous lower bound is that, rounded down.
    assert 0.9438 < float(c.loss_lower_bound) <= float(TABLE[3]["loss"])
    assert float(c.width) < 2.1e-20


@given(n=st.integers(min_value=3, max_value=8))
def test_sign_change_and_positive_loss_for_every_n(n):
    # 128 bits: enclosure radii ~1e-34, far below |g(s* +- 1e-10)| ~ 1e-11.
    c = C.certify_stationary_point(n, _s_star(n), "1e-10", prec=128, symmetry_d=None)
    assert c.sign_change and c.loss_positive, c.reason
    assert not c.certified, "without the symmetry part the certificate must not claim to be complete"


@pytest.mark.parametrize("offsets", [(0.01, 0.02), (-0.02, -0.01)], ids=["right-of-s*", "left-of-s*"])
def test_interval_without_s_star_does_not_certify(offsets):
    s = float(_s_star(3))
    c = C.certify_interval(3, s + offsets[0], s + offsets[1], prec=128, symmetry_d=None)
    assert not c.sign_change
    assert "no certified sign change" in c.reason


def test_narrowest_certified_interval_at_256_bits():
    # The table's s* (70 digits) is accurate to ~1e-70: width 2e-60 certifies,
    # while a width of 2e-72 around the table value cannot (the enclosures are ~6e-75
    # wide but g no longer changes sign around a point that is 1e-71 off).
    assert C.certify_stationary_point(3, _s_star(3), "1e-60", symmetry_d=None).sign_change
    assert not C.certify_stationary_point(3, _s_star(3), "1e-72", symmetry_d=None).sign_change


@given(s=st.decimals(min_value="0.5", max_value="5", places=3), n=st.integers(min_value=3, max_value=6))
def test_enclosure_contains_the_mpmath_value(s, n):
    # mpmath.quad at dps 40 has error ~1e-35 (its own estimate); the ball is ~1e-35 wide at 128 bits.
    g_mp, err = sp.radial_gradient(str(s), n, dps=40, error=True)
    with flint.ctx.workprec(128):
        ball = C.enclose_radial_gradient(str(s), n, prec=128)
        lo, hi = float(ball.lower()), float(ball.upper())
    slack = float(err) + 1e-30
    assert lo - slack <= float(g_mp) <= hi + slack, (s, n, g_mp, ball.str(20))


def test_loss_enclosure_contains_the_table_value():
    with flint.ctx.workprec(256):
        ball = C.enclose_path_loss(_s_star(4), 4)
        with mpmath.workdps(40):
            L = mpmath.mpf(TABLE[4]["loss"])
            # The table value has 40 digits: contained up to 1e-39.
            assert ball.lower() - flint.arb("1e-39") <= flint.arb(TABLE[4]["loss"]) <= ball.upper() + flint.arb("1e-39")
            assert L > 0


@pytest.mark.parametrize("T", [2, 3, 4])
def test_tail_bound_bounds_the_tail(T):
    # The analytic tail bound must exceed the actual tail integral of |G| phi, computed by mpmath.
    s, m = mpmath.mpf("2.55"), 1
    with mpmath.workdps(30):
        norm = 1 / mpmath.sqrt(2 * mpmath.pi)

        def absG(y):
            return abs(path._path_terms(y, s, m)[1]) * mpmath.exp(-y * y / 2) * norm

        tail = mpmath.quad(absG, [T, T + 2, mpmath.inf]) + mpmath.quad(absG, [-mpmath.inf, -T - 2, -T])
    with flint.ctx.workprec(128):
        bound = C._tail_g(flint.arb("2.55"), T)
        assert float(bound.lower()) >= float(tail), (T, bound, tail)
        # and it is not absurdly loose (within a factor 1e3 at these T)
        assert float(bound.upper()) <= 1e3 * float(tail)


def test_flint_precision_is_restored():
    before = flint.ctx.prec
    C.certify_interval(3, 2.5, 2.6, prec=96, symmetry_d=None)
    assert flint.ctx.prec == before


@pytest.mark.parametrize(("args", "match"), [
    ((2, 2.5, 2.6), "n must be >= 3"),
    ((3, 2.6, 2.5), "0 < s_lo < s_hi"),
    ((3, -1.0, 2.5), "0 < s_lo < s_hi"),
])
def test_bad_input_is_rejected(args, match):
    with pytest.raises(ValueError, match=match):
        C.certify_interval(*args, symmetry_d=None)


@pytest.mark.thorough
@pytest.mark.parametrize("n", range(3, 9))
def test_full_certificate_every_n(n):
    c = C.certify_stationary_point(n, _s_star(n), "1e-20")
    assert c.certified, c.reason
