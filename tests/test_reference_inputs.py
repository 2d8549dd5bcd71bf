"""Bad input to every public function of the engine: a clear error naming the argument."""

import math
from decimal import Decimal
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from verify.engine import model, reference
from verify.engine.backend import mp_backend
from verify.engine.time_average import weighting_function
from verify.engine.validation import check_mp_tol, mp_tol_floor
from verify.simulate import descent as dynamics
from verify.testing import strategies

GOOD_MU = [[0.0, 1.0], [1.0, 0.0]]
GOOD_STAR = [0.5, 0.5]

FLOAT_FUNCS = [reference.loss, reference.grad, reference.grad_scaled, reference.evaluate]
MP_FUNCS = [reference.loss_mp, reference.grad_mp, reference.grad_scaled_mp, reference.evaluate_mp]


@pytest.mark.parametrize("fn", FLOAT_FUNCS + MP_FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "mu, mu_star, t, match",
    [
        ([[float("nan"), 1.0], [1.0, 0.0]], GOOD_STAR, 0.1, "mu"),
        ([[math.inf, 1.0], [1.0, 0.0]], GOOD_STAR, 0.1, "mu"),
        (GOOD_MU, [float("nan"), 0.0], 0.1, "mu_star"),
        (GOOD_MU, [0.0, -math.inf], 0.1, "mu_star"),
        ([0.0, 1.0], GOOD_STAR, 0.1, "mu"),  # a (d,) vector is not (n, d): no silent broadcasting
        ([[[0.0, 1.0]]], GOOD_STAR, 0.1, "mu"),
        (GOOD_MU, [0.5], 0.1, "mu_star|agree"),  # d mismatch
        (GOOD_MU, [[0.5, 0.5]], 0.1, "mu_star"),
        ([], GOOD_STAR, 0.1, "mu"),  # n < 1
        (GOOD_MU, GOOD_STAR, -0.1, "t"),
        (GOOD_MU, GOOD_STAR, math.inf, "t"),
        (GOOD_MU, GOOD_STAR, float("nan"), "t"),
    ],
)
def test_bad_model_input_names_the_argument(fn, mu, mu_star, t, match):
    with pytest.raises(ValueError, match=match):
        fn(mu, mu_star, t)


@pytest.mark.parametrize("fn", FLOAT_FUNCS + MP_FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "mu, mu_star, t, match",
    [
        (GOOD_MU, GOOD_STAR, "abc", "t must be a"),  # a non-numeric t is a bad value: ValueError, as the README says
        (GOOD_MU, GOOD_STAR, None, "t must be a real number"),
        (GOOD_MU, GOOD_STAR, 0.5j, "t must be a real number, got complex"),
        (GOOD_MU, GOOD_STAR, np.complex128(0.5), "t must be a real number, got complex"),
        ([[1.0 + 1e-9j, 0.0], [1.0, 0.0]], GOOD_STAR, 0.1, "mu must be real"),
        (GOOD_MU, [0.5, 0.5j], 0.1, "mu_star must be real"),
        ("mu", GOOD_STAR, 0.1, "mu must be"),
    ],
)
def test_wrong_types_and_complex_input_are_value_errors_naming_the_argument(fn, mu, mu_star, t, match):
    # complex input is refused, never cut to its real part with a ComplexWarning
    with pytest.raises(ValueError, match=match):
        fn(mu, mu_star, t)


@pytest.mark.parametrize("fn", FLOAT_FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("tol", [0.0, -1e-3, float("nan"), "1e-8", 1e-3j])
def test_bad_tolerance_names_tol(fn, tol):
    with pytest.raises(ValueError, match="tol"):
        fn(GOOD_MU, GOOD_STAR, 0.1, tol=tol)


@pytest.mark.parametrize("fn", FLOAT_FUNCS, ids=lambda f: f.__name__)
def test_a_tolerance_float64_cannot_certify_is_an_accuracy_error(fn):
    # README: "A tolerance that cannot be certified raises AccuracyError"; it is not a ValueError
    with pytest.raises(reference.AccuracyError, match="tol = 1e-20 is below what float64 can certify"):
        fn(GOOD_MU, GOOD_STAR, 0.1, tol=1e-20)
    # the control: the default tolerance is certified at the same point
    fn(GOOD_MU, GOOD_STAR, 0.1, tol=reference.DEFAULT_TOL)


@pytest.mark.parametrize("call", [
    lambda tol: reference.loss_mp(GOOD_MU, GOOD_STAR, "0.1", dps=30, tol=tol),
    lambda tol: reference.loss_avg_mp(GOOD_MU, GOOD_STAR, "0.1", "0.2", dps=30, tol=tol),
    lambda tol: reference.loss_mix_mp(GOOD_MU, [GOOD_STAR, GOOD_STAR], ["0.5", "0.5"], "0.1", dps=30, tol=tol),
], ids=["loss_mp", "loss_avg_mp", "loss_mix_mp"])
def test_a_tolerance_beyond_the_working_precision_is_an_accuracy_error(call):
    # every mpmath entry point refuses the same way (the averaged and mixture ones raised ValueError)
    with pytest.raises(reference.AccuracyError, match="below what dps = 30 can certify .* dps = 60 certifies it"):
        call(1e-60)
    # the control: the check passes the floor, 2 eps at 30 digits (~3.9e-31; running the
    # integration there would take long, so the check is called alone; test_the_floor_... runs one)
    with mpmath.workdps(30 + reference.MP_GUARD):
        floor = mp_tol_floor(30)
        assert 0 < check_mp_tol(floor, 30) < floor


def test_a_tolerance_below_the_rounding_to_dps_is_refused_and_the_floor_is_certified():
    """tol = 1e-24 at dps = 20 was accepted (the old floor was 10^-(dps + 7)), but the value is
    rounded to 20 digits, by up to 2^-70 ~ 8.5e-22 relative, and its estimate counts that rounding:
    here loss_err was 1.7e-22 |L|, over the tol asked for, yet returned without AccuracyError.  It
    is refused now, naming the dps that certifies it.  The control: the floor itself (2 eps ~ 3.4e-21)
    is accepted, its estimate within floor |L| and honest against dps = 40 (plus that one's estimate)."""
    case = [["0.1"], ["0.5"]], [["0.7"], ["-0.2"]], ["0.5", "0.5"], "0.3"
    with pytest.raises(reference.AccuracyError, match=r"^tol = 1e-24 is below what dps = 20 can certify "
                                                      r"\(3.39e-21: .*\); dps = 24 certifies it$"):
        reference.loss_mix_mp(*case, dps=20, tol=1e-24)
    floor = mp_tol_floor(20)
    L, Le = reference.loss_mix_mp(*case, dps=20, tol=floor, error=True)
    R, Re = reference.loss_mix_mp(*case, dps=40, error=True)
    assert abs(L - R) - Re <= Le <= floor * abs(L)
    assert Le > mpmath.mpf("1e-24") * abs(L)  # what the refused request would have returned


@pytest.mark.parametrize("fn", MP_FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("dps", [5, 19, 0, -3])
def test_dps_too_low(fn, dps):
    with pytest.raises(ValueError, match="dps"):
        fn(GOOD_MU, GOOD_STAR, "0.1", dps=dps)


@pytest.mark.parametrize("dps", [30.5, "50"])
def test_dps_not_an_integer(dps):
    with pytest.raises(ValueError, match="dps"):
        reference.loss_mp(GOOD_MU, GOOD_STAR, 0.1, dps=dps)


def test_mp_rejects_non_numbers_and_ragged_rows():
    with pytest.raises(ValueError, match="mu"):
        reference.loss_mp([["0", "1"], ["x", "0"]], GOOD_STAR, 0)
    with pytest.raises(ValueError, match="mu"):
        reference.loss_mp([["0", "1"], ["0"]], GOOD_STAR, 0)
    with pytest.raises(ValueError, match="mu"):
        reference.loss_mp([["0", "nan"], ["1", "0"]], GOOD_STAR, 0)
    with pytest.raises(ValueError, match="t"):
        reference.loss_mp(GOOD_MU, GOOD_STAR, "-1")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(eta=0.0), "eta"),
        (dict(eta=-0.1), "eta"),
        (dict(eta=math.nan), "eta"),
        (dict(eta=math.inf), "eta"),
        (dict(t=-1.0), "t"),
        (dict(steps=-1), "steps"),
        (dict(record_every=0), "record_every"),
        (dict(record_at=[0, 4]), "record_at"),
        (dict(record_at=[-1]), "record_at"),
        (dict(record_at=[1.5]), "record_at"),
        (dict(record_at=[1], record_every=2), "record_every or record_at"),
        (dict(convention="both"), "convention"),
        (dict(mu0=[[0.0, math.nan]]), "^mu0 has a non-finite entry nan"),
    ],
)
def test_bad_dynamics_input(kwargs, match):
    args = dict(mu0=GOOD_MU, mu_star=GOOD_STAR, t=0.1, eta=0.1, steps=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        dynamics.gradient_descent(**args)


def test_steps_must_be_integer():
    with pytest.raises(ValueError, match="steps"):
        dynamics.gradient_descent(GOOD_MU, GOOD_STAR, 0.1, 0.1, 2.5)


def test_model_pointwise_rejects_bad_x():
    with pytest.raises(ValueError, match="x"):
        model.loss_integrand(np.zeros((4, 3)), GOOD_MU, GOOD_STAR, 0.0)
    with pytest.raises(ValueError, match="x"):
        model.softmax_weights(np.array([[np.nan, 0.0]]), GOOD_MU, 0.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n=(0, 3)), "n"),
        (dict(n=(3, 2)), "n"),
        (dict(d="x"), "d"),
        (dict(max_offset=-1.0), "max_offset"),
        (dict(max_distance=math.nan), "max_distance"),
        (dict(min_t=-0.1), "min_t"),
        (dict(min_t=2.0, max_t=1.0), "max_t"),
    ],
)
def test_strategy_bounds_are_checked_at_once(kwargs, match):
    with pytest.raises(ValueError, match=match):
        strategies.configurations(**kwargs)


def test_a_wrong_shape_is_named_with_the_shape_expected():
    """The message says which shape was expected: (n, d) for the means, (d,) for mu*.  (Found by
    mutation testing: swapping the two went unnoticed.)"""
    with pytest.raises(ValueError, match=r"^mu must have shape \(n, d\), got shape \(3,\)$"):
        reference.loss(np.zeros(3), np.zeros(3), 0.0)
    with pytest.raises(ValueError, match=r"^mu_star must have shape \(d,\), got shape \(3, 1\)$"):
        reference.loss(np.zeros((2, 3)), np.zeros((3, 1)), 0.0)


# -- nothing converted silently: masked arrays, Decimal and None entries, a truthy error= ---------

MASKED_MU = np.ma.masked_array(GOOD_MU, mask=[[False, True], [False, False]])


@pytest.mark.parametrize("fn", FLOAT_FUNCS + MP_FUNCS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("mu, mu_star, match", [
    (MASKED_MU, GOOD_STAR, r"^mu must not be a masked array"),  # the mask would be dropped, the masked 1.0 used
    (GOOD_MU, np.ma.masked_array(GOOD_STAR, mask=[True, False]), r"^mu_star must not be a masked array"),
    ([[Decimal("0"), 1.0], [1.0, 0.0]], GOOD_STAR, r"^mu .*Decimal"),  # refused, as a Decimal t is
    ([[0.0, None], [1.0, 0.0]], GOOD_STAR, r"^mu .*None"),  # said so, not "non-finite entry nan"
    (GOOD_MU, [0.5, None], r"^mu_star .*None"),
    ([[True, 1.0], [1.0, 0.0]], GOOD_STAR, r"^mu .*boolean entry"),  # was a silent 1.0
], ids=["masked-mu", "masked-mu_star", "decimal-mu", "none-mu", "none-mu_star", "bool-mu"])
def test_masked_decimal_and_none_means_are_refused_by_name(fn, mu, mu_star, match):
    with pytest.raises(ValueError, match=match):
        fn(mu, mu_star, "0.1" if fn in MP_FUNCS else 0.1)


def test_the_float64_messages_for_decimal_and_none_say_what_the_entry_is():
    with pytest.raises(ValueError,
                       match=r"^mu must be an array of real numbers, got Decimal Decimal\('0'\) at index \(0, 0\)$"):
        reference.loss([[Decimal("0"), 1.0], [1.0, 0.0]], GOOD_STAR, 0.1)
    with pytest.raises(ValueError,
                       match=r"^mu must be an array of real numbers, got None, not a number at index \(0, 1\)$"):
        reference.loss([[0.0, None], [1.0, 0.0]], GOOD_STAR, 0.1)
    with pytest.raises(ValueError, match=r"^mu has a non-finite entry nan at index \(0, 1\)$"):  # a real NaN
        reference.loss([[0.0, math.nan], [1.0, 0.0]], GOOD_STAR, 0.1)
    # Decimal is refused for t as well: the two are consistent
    with pytest.raises(ValueError, match=r"^t must be a real number, got Decimal"):
        reference.loss(GOOD_MU, GOOD_STAR, Decimal("0.1"))


def test_controls_plain_arrays_and_real_python_objects_pass():
    expected = reference.loss(GOOD_MU, GOOD_STAR, 0.1)
    assert reference.loss(np.ma.getdata(MASKED_MU), GOOD_STAR, 0.1) == expected  # the same values, unmasked
    # an object array of real numbers (int, Fraction, mpf, numpy floats) is converted as t is
    mixed = np.array([[0, Fraction(1)], [mpmath.mpf(1), np.float32(0)]], dtype=object)
    assert reference.loss(mixed, GOOD_STAR, 0.1) == expected
    assert reference.loss_mp([["0", "1"], ["1", "0"]], ["0.5", "0.5"], "0.1", dps=20) > 0


ERROR_FUNCS = [
    lambda e: reference.loss(GOOD_MU, GOOD_STAR, 0.1, error=e),
    lambda e: reference.grad(GOOD_MU, GOOD_STAR, 0.1, error=e),
    lambda e: reference.grad_scaled(GOOD_MU, GOOD_STAR, 0.1, error=e),
    lambda e: reference.loss_mp(GOOD_MU, GOOD_STAR, "0.1", error=e),
    lambda e: reference.grad_mp(GOOD_MU, GOOD_STAR, "0.1", error=e),
    lambda e: reference.grad_scaled_mp(GOOD_MU, GOOD_STAR, "0.1", error=e),
    lambda e: reference.loss_avg(GOOD_MU, GOOD_STAR, 0.1, 0.2, error=e),
    lambda e: reference.grad_avg(GOOD_MU, GOOD_STAR, 0.1, 0.2, error=e),
    lambda e: reference.loss_avg_mp(GOOD_MU, GOOD_STAR, "0.1", "0.2", error=e),
    lambda e: reference.grad_avg_mp(GOOD_MU, GOOD_STAR, "0.1", "0.2", error=e),
    lambda e: reference.loss_mix(GOOD_MU, [GOOD_STAR], [1.0], 0.1, error=e),
    lambda e: reference.grad_mix(GOOD_MU, [GOOD_STAR], [1.0], 0.1, error=e),
    lambda e: reference.loss_mix_mp(GOOD_MU, [GOOD_STAR], ["1"], "0.1", error=e),
    lambda e: reference.grad_mix_mp(GOOD_MU, [GOOD_STAR], ["1"], "0.1", error=e),
]
ERROR_IDS = ["loss", "grad", "grad_scaled", "loss_mp", "grad_mp", "grad_scaled_mp", "loss_avg", "grad_avg",
             "loss_avg_mp", "grad_avg_mp", "loss_mix", "grad_mix", "loss_mix_mp", "grad_mix_mp"]


@pytest.mark.parametrize("call", ERROR_FUNCS, ids=ERROR_IDS)
@pytest.mark.parametrize("error", ["no", "False", 1, 0, None])
def test_error_must_be_a_bool(call, error):
    # 'no' is truthy: it returned a (value, error) pair; 0 and None returned the value alone
    with pytest.raises(ValueError, match=r"^error must be True or False, got "):
        call(error)


@pytest.mark.parametrize("call", [
    lambda w: reference.evaluate(GOOD_MU, GOOD_STAR, 0.1, with_grad=w),
    lambda w: reference.evaluate_mp(GOOD_MU, GOOD_STAR, "0.1", with_grad=w),
    lambda w: reference.evaluate_avg(GOOD_MU, GOOD_STAR, 0.1, 0.2, with_grad=w),
    lambda w: reference.evaluate_avg_mp(GOOD_MU, GOOD_STAR, "0.1", "0.2", with_grad=w),
    lambda w: reference.evaluate_mix(GOOD_MU, [GOOD_STAR], [1.0], 0.1, with_grad=w),
    lambda w: reference.evaluate_mix_mp(GOOD_MU, [GOOD_STAR], ["1"], "0.1", with_grad=w),
], ids=["evaluate", "evaluate_mp", "evaluate_avg", "evaluate_avg_mp", "evaluate_mix", "evaluate_mix_mp"])
def test_with_grad_must_be_a_bool(call):
    with pytest.raises(ValueError, match=r"^with_grad must be True or False, got 'no'$"):
        call("no")


def test_control_error_true_and_false_give_the_pair_and_the_value():
    value = reference.loss(GOOD_MU, GOOD_STAR, 0.1, error=False)
    pair = reference.loss(GOOD_MU, GOOD_STAR, 0.1, error=True)
    assert isinstance(value, float) and pair[0] == value and pair[1] >= 0
    assert reference.loss(GOOD_MU, GOOD_STAR, 0.1, error=np.bool_(True)) == pair  # numpy's bool is a bool
    assert reference.evaluate(GOOD_MU, GOOD_STAR, 0.1, with_grad=False).grad is None


@pytest.mark.parametrize("tol", [mpmath.inf, -mpmath.inf, mpmath.nan, float("inf")],
                         ids=["mpf_inf", "mpf_minus_inf", "mpf_nan", "float_inf"])
def test_an_infinite_mpf_tolerance_is_refused_like_a_float_one(tol):
    """check_tol tested finiteness only for floats: loss_mp(..., tol=mpmath.inf) was accepted (and
    certified nothing).  Each non-finite tol, mpf or float, is a ValueError naming tol."""
    with pytest.raises(ValueError, match=r"^tol must be a finite number > 0, got "):
        reference.loss_mp(GOOD_MU, GOOD_STAR, "0.1", dps=20, tol=tol)


def test_a_finite_mpf_tolerance_passes():
    """The control: a finite mpf tol is taken (check_tol returns it unchanged)."""
    from verify.engine.validation import check_tol
    assert check_tol(mpmath.mpf("1e-10")) == mpmath.mpf("1e-10")
    assert reference.loss_mp([[1]], [0], 0, dps=20, tol=mpmath.mpf("1e-10")) == 1


MIX_MU = [[1.0, 0.0]]
MIX_STARS = [[1.0, 0.0], [-1.0, 0.0]]


@pytest.mark.parametrize("fn", [reference.loss_mix, reference.loss_mix_mp], ids=["float64", "mpmath"])
def test_a_mixture_shape_error_names_the_mixture_shape(fn):
    """The mixture's messages reused the single Gaussian's shapes: 2-D weights were said to need
    shape (d,) and 1-D mu_stars shape (n, d); they need (K,) and (K, d)."""
    with pytest.raises(ValueError, match=r"^weights must have shape \(K,\), got "):
        fn(MIX_MU, MIX_STARS, [[0.3, 0.7]], 0.7)
    with pytest.raises(ValueError, match=r"^mu_stars must have shape \(K, d\), got "):
        fn(MIX_MU, [1.0, 0.0], [1.0], 0.7)
    # the single Gaussian's messages keep theirs
    with pytest.raises(ValueError, match=r"^mu must have shape \(n, d\), got "):
        fn([1.0, 0.0], MIX_STARS, [0.3, 0.7], 0.7)


@pytest.mark.parametrize("fn", [reference.loss_mix, reference.loss_mix_mp], ids=["float64", "mpmath"])
def test_mixture_arguments_of_the_right_shape_pass(fn):
    """The control: (K, d) mu_stars and (K,) weights are taken."""
    assert float(fn(MIX_MU, MIX_STARS, ["0.25", "0.75"] if fn is reference.loss_mix_mp else [0.25, 0.75], 0.7)) > 0


_WIDE = np.finfo(np.longdouble).eps < np.finfo(np.float64).eps  # long double wider than float64 (x86)


@pytest.mark.parametrize("returned", ["1", True, None, 1j, np.bool_(True)]
                         + ([np.longdouble(1) + np.longdouble(2.0**-60)] if _WIDE else []),
                         ids=["str", "bool", "None", "complex", "np_bool"] + (["longdouble"] if _WIDE else []))
def test_a_weighting_that_returns_no_real_number_is_refused(returned):
    """A weighting returning the string '1' was parsed as the number 1 (and True taken as 1), and a long
    double narrowed to float64 (review 23b): the value is refused unless it is a real number the path
    keeps, naming the weighting, in both paths."""
    with pytest.raises(ValueError, match=r"^weighting\([0-9.]+\) did not return a real number: got "):
        reference.loss_avg(GOOD_MU, GOOD_STAR, 0.1, 1.0, weighting=lambda t: returned)
    with pytest.raises(ValueError, match=r"^weighting\([0-9.]+\) did not return a real number: got "):
        weighting_function(lambda t: returned, "0.1", "1", mp_backend(20))


@pytest.mark.parametrize("returned", [2, 2.0, np.float64(2), np.float32(2), np.int64(2), mpmath.mpf(2)],
                         ids=["int", "float", "float64", "float32", "int64", "mpf"])
def test_control_a_weighting_that_returns_a_real_number_is_taken(returned):
    """The control: ints, floats, numpy's and mpmath's reals pass (a constant normalises to 1 / 0.9)."""
    assert weighting_function(lambda t: returned, 0.1, 1.0)(0.5) == pytest.approx(1 / 0.9, rel=1e-14)
    with mpmath.workdps(20):
        lam = weighting_function(lambda t: returned, mpmath.mpf("0.1"), mpmath.mpf(1), mp_backend(20))
        assert abs(lam(mpmath.mpf("0.5")) * mpmath.mpf("0.9") - 1) < mpmath.mpf("1e-15")


LONG_DOUBLE_NARROWS = np.finfo(np.longdouble).nmant > 52  # x86: 63 bits; where it is float64 nothing narrows
LONG_MU = np.array(GOOD_MU, dtype=np.longdouble)
LONG_MU[0, 0] += np.longdouble(1e-19)  # below float64's resolution at 0: lost by astype(np.float64)


@pytest.mark.parametrize("call, name", [
    (lambda: reference.loss(LONG_MU, GOOD_STAR, 0.5), "mu"),
    (lambda: reference.grad(GOOD_MU, np.array(GOOD_STAR, dtype=np.longdouble), 0.5), "mu_star"),
    (lambda: reference.loss(GOOD_MU, GOOD_STAR, np.longdouble("0.5")), "t"),
    (lambda: reference.loss(GOOD_MU, GOOD_STAR, 0.5, tol=np.longdouble("1e-10")), "tol"),
    (lambda: reference.loss([[LONG_MU[0, 0], 1.0], [1.0, 0.0]], GOOD_STAR, 0.5), "mu"),  # a list of scalars
    (lambda: reference.loss(LONG_MU.astype(object), GOOD_STAR, 0.5), r"mu entry \(0, 0\)"),
    (lambda: reference.loss_mix(GOOD_MU, [GOOD_STAR], np.ones(1, dtype=np.longdouble), 0.5), "weights"),
    (lambda: dynamics.gradient_descent(LONG_MU, GOOD_STAR, 0.5, 0.1, 1), "mu0"),
    (lambda: reference.loss_mp(LONG_MU, GOOD_STAR, "0.5", dps=20), "mu"),  # .tolist() would narrow it too
    (lambda: reference.loss_mp(GOOD_MU, GOOD_STAR, np.longdouble("0.5"), dps=20), "t"),
], ids=["mu", "mu_star", "t", "tol", "list", "object", "weights", "mu0", "mp-mu", "mp-t"])
def test_long_double_input_is_refused_not_narrowed(call, name):
    """np.longdouble input was rounded to float64 silently (R.loss of LONG_MU equalled R.loss of GOOD_MU);
    complex is refused, and so is long double, naming the argument and the way to more digits."""
    if not LONG_DOUBLE_NARROWS:
        call()  # long double is float64 here: nothing is narrowed, nothing refused
        return
    with pytest.raises(ValueError, match=rf"^{name} must not be a numpy long double .* strings to the mpmath"):
        call()


def test_control_float32_float64_and_int_input_is_taken():
    """float32 and ints are exact in float64: taken, with the value of the same float64 input."""
    want = reference.loss(GOOD_MU, GOOD_STAR, 0.5)
    assert reference.loss(np.array(GOOD_MU, dtype=np.float32), np.array(GOOD_STAR, dtype=np.float32),
                          np.float32(0.5), tol=np.float32(1e-10)) == pytest.approx(want, rel=1e-10)
    assert reference.loss(np.array([[0, 1], [1, 0]]), [1, 1], 1) == reference.loss(GOOD_MU, [1.0, 1.0], 1.0)


TOL_FUNCS = [
    lambda tol: reference.evaluate(GOOD_MU, GOOD_STAR, 0.1, tol=tol),
    lambda tol: reference.loss_mp([[1]], [0], 0, dps=20, tol=tol),
    lambda tol: reference.loss_avg(GOOD_MU, GOOD_STAR, 0.1, 0.2, tol=tol),
    lambda tol: reference.loss_avg_mp([[1]], [0], 0, 1, dps=20, tol=tol),
    lambda tol: reference.loss_mix(GOOD_MU, [GOOD_STAR], [1.0], 0.1, tol=tol),
    lambda tol: reference.loss_mix_mp([[1]], [[0]], [1], 0, dps=20, tol=tol),
    lambda tol: dynamics.gradient_descent(GOOD_MU, GOOD_STAR, 0.1, 0.1, 1, tol=tol),
]
TOL_IDS = ["evaluate", "loss_mp", "loss_avg", "loss_avg_mp", "loss_mix", "loss_mix_mp", "gradient_descent"]


@pytest.mark.parametrize("call", TOL_FUNCS, ids=TOL_IDS)
@pytest.mark.parametrize("tol", [1, 1.0, 10.0, mpmath.mpf(1)], ids=["int-1", "1.0", "10.0", "mpf-1"])
def test_a_tolerance_of_one_or_more_is_refused(call, tol):
    """tol = 10 was taken (a relative accuracy of 1000 %): tol >= 1 asks for no correct digit."""
    with pytest.raises(ValueError, match=r"^tol must be < 1 \(a relative accuracy of 100 % or more"):
        call(tol)


@pytest.mark.parametrize("call", TOL_FUNCS, ids=TOL_IDS)
def test_control_a_tolerance_below_one_is_taken(call):
    call(0.5)
