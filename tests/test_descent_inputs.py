"""Bad input to the descent, its gradient sources and the outcome classifier: a ValueError naming
the argument, before anything runs (each with a control that valid input passes)."""

import math

import numpy as np
import pytest

from verify.simulate import descent, monte_carlo, outcomes
from verify.simulate.averaged import averaged_descent
from verify.simulate.descent import GradientSource, Record, gradient_descent
from verify.simulate.mixture import MixtureGradient, mixture_descent

MU0 = [[3.0], [3.3]]
STAR = [0.0]


def _run(**kw):
    args = dict(mu0=MU0, mu_star=STAR, t=0.0, eta=0.1, steps=2)
    args.update(kw)
    return gradient_descent(**args)


@pytest.mark.parametrize("grad_fn, match", [
    # complex: it was cut to its real part with only a ComplexWarning, and the run went on
    (lambda m, s, t: np.ones_like(m) * (1 + 1j), r"^grad_fn's result must be real, got complex entries$"),
    (lambda m, s, t: np.full_like(m, np.nan), r"^grad_fn's result has a non-finite entry nan at index \(0, 0\)$"),
    (lambda m, s, t: np.full_like(m, np.inf), r"^grad_fn's result has a non-finite entry inf"),
    (lambda m, s, t: np.ones(2), r"^grad_fn's result must have shape \(2, 1\), got shape \(2,\)$"),
    # no broadcasting of a scalar
    (lambda m, s, t: 1.0, r"^grad_fn's result must have shape \(2, 1\), got shape \(\)$"),
    (lambda m, s, t: None,
     r"^grad_fn's result must be an array of real numbers, got None, not a number at index \(\)$"),
    (lambda m, s, t: [["a"], ["b"]], r"^grad_fn's result must be an array of real numbers, got dtype <U1$"),
    (lambda m, s, t: np.ones_like(m, dtype=bool),
     r"^grad_fn's result must be an array of real numbers, got dtype bool$"),
], ids=["complex", "nan", "inf", "shape", "scalar", "none", "strings", "bools"])
def test_a_bad_grad_fn_result_is_refused_by_name(grad_fn, match):
    with pytest.raises(ValueError, match=match):
        _run(grad_fn=grad_fn)


def test_control_a_real_gradient_of_the_right_shape_steps():
    tr = _run(grad_fn=lambda m, s, t: np.ones_like(m))
    np.testing.assert_allclose(tr.mu, [[2.8], [3.1]])
    tr = _run(grad_fn=lambda m, s, t: [[1], [1]])  # a nested list of ints is an array of real numbers
    np.testing.assert_allclose(tr.mu, [[2.8], [3.1]])


@pytest.mark.parametrize("kwargs, match", [
    (dict(t=710.0), r"^t = 710.0 is beyond what float64 descent handles"),  # was OverflowError from math.exp
    (dict(t=800.0), r"^t = 800.0 is beyond what float64 descent handles"),
    (dict(t=710.0, convention="unscaled"), r"^t = 710.0 is beyond"),
    (dict(record_at=2), r"^record_at must be an iterable of step numbers, got 2$"),  # was TypeError
    (dict(record_at="12"), r"^record_at must be an iterable of step numbers, got '12'$"),
    (dict(callback=5), r"^callback must be callable \(step, mu\) -> bool, got int 5$"),  # was TypeError
    (dict(source="mc"), r"^source must be a GradientSource \(ExactGradient, SuppliedGradient, "
                        r"monte_carlo.SampledGradient, \.\.\.\), got str 'mc'$"),  # was AttributeError
    (dict(grad_fn=5), r"^grad_fn must be callable, got int 5$"),  # was TypeError
], ids=["t-710", "t-800", "t-710-unscaled", "record_at-int", "record_at-str", "callback", "source", "grad_fn"])
def test_bad_descent_arguments_are_value_errors_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _run(**kwargs)


class _Linear(GradientSource):
    """dL/dm = 2 (m - m*), the single-mean gradient, without the engine (which has its own range)."""

    def at(self, step, mu, record):
        return Record(0.0, 0.0, 0.0) if record else None

    def gradient(self, mu):
        return 2 * self.scale * (mu - self.mu_star)


@pytest.mark.parametrize("convention", ["scaled", "unscaled"])
def test_control_the_descent_arithmetic_works_just_below_the_largest_t(convention):
    # at t = 709.7 e^t still fits float64: the step is computed, finite, and the control values pass
    t = 709.7
    tr = _run(t=t, eta=0.1, steps=1, mu0=[[1e300]], source=_Linear(), convention=convention,
              record_at=[1], callback=lambda step, mu: False)
    factor = 0.2 if convention == "scaled" else 0.2 * math.exp(-2 * t)
    np.testing.assert_allclose(tr.mu, [[1e300 * (1 - factor)]], rtol=1e-12)
    assert tr.stopped == ""


@pytest.mark.parametrize("seed", [-1, "a", 1.5, True, [], [1, -2], np.random.default_rng(0)],
                         ids=["negative", "string", "float", "bool", "empty", "negative-entry", "generator"])
def test_sampled_gradient_seed_is_checked_by_name(seed):
    # -1, 'a' and 1.5 were accepted and failed at the first step, in numpy, without naming seed
    with pytest.raises(ValueError, match=r"^seed must be None, an integer >= 0"):
        monte_carlo.SampledGradient(1000, seed=seed)


@pytest.mark.parametrize("seed", [None, 0, 7, np.int64(3), [1, 2, 1], np.random.SeedSequence(4)],
                         ids=["none", "zero", "int", "numpy-int", "list", "seed-sequence"])
def test_control_sampled_gradient_accepts_seeds(seed):
    assert monte_carlo.SampledGradient(1000, seed=seed).seed is seed


def test_sampled_gradient_flags_and_rng_are_checked_by_name():
    with pytest.raises(ValueError, match=r"^exact_grad must be True or False, got 'no'$"):
        monte_carlo.SampledGradient(1000, exact_grad="no")
    with pytest.raises(ValueError, match=r"^rng must be None, an integer >= 0"):
        monte_carlo.sampled_gradient(MU0, STAR, 0.1, 10, rng=-1)
    with pytest.raises(ValueError, match=r"^with_loss must be True or False, got 1$"):
        monte_carlo.sampled_gradient(MU0, STAR, 0.1, 10, with_loss=1)
    # controls: a Generator is a fine rng for one estimate, and the same seed repeats it
    a = monte_carlo.sampled_gradient(MU0, STAR, 0.1, 10, rng=np.random.default_rng(5))[0]
    b = monte_carlo.sampled_gradient(MU0, STAR, 0.1, 10, rng=5)[0]
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("run", ["x", None, 5, {"steps": [0, 1, 2]}], ids=["str", "none", "int", "dict"])
def test_classify_refuses_what_is_not_a_run(run):
    with pytest.raises(ValueError, match=r"^run must be a Trajectory or a Recorded"):
        outcomes.classify(run)


def test_classify_refuses_a_rule_that_is_not_a_rule_and_passes_a_recorded_run():
    rec = outcomes.Recorded(np.array([0, 1, 2, 3]), np.array([[1.0], [0.5], [0.1], [0.05]]))
    with pytest.raises(ValueError, match=r"^rule must be a Rule"):
        outcomes.classify(rec, "tail")
    assert outcomes.classify(rec).run == outcomes.ALL_CONVERGE  # the control


def test_descent_module_names_the_sources():
    assert {"ExactGradient", "SuppliedGradient", "GradientSource"} <= set(descent.__all__)


@pytest.mark.parametrize("noise", [0.5, [1.0], [1.0, -1.0], [1.0 + 1j, 1.0], ["a", "b"]],
                         ids=["scalar", "short", "negative", "complex", "strings"])
def test_classify_refuses_noise_that_is_not_one_deviation_per_mean(noise):
    # a scalar was broadcast to every mean, a complex one cut to its real part
    rec = outcomes.Recorded(np.array([1, 2, 4, 8]), np.array([[1.0, 1.0], [0.5, 1.2], [0.2, 1.5], [0.1, 1.9]]))
    with pytest.raises(ValueError, match=r"^noise must be 2 standard deviations >= 0, one per mean"):
        outcomes.classify(rec, noise=noise)
    # the control: one deviation per mean (NaN where a distance is not finite) passes
    outcomes.classify(rec, noise=[0.0, 0.1])
    outcomes.classify(rec, noise=np.array([0.0, np.nan]))


NAN_START = np.full((2, 1), np.nan)


@pytest.mark.parametrize("call, match", [
    (lambda: gradient_descent(NAN_START, STAR, 0.5, 0.1, 5), r"^mu0 has a non-finite entry nan at index \(0, 0\)$"),
    (lambda: gradient_descent([[1.0, 2.0]], STAR, 0.5, 0.1, 5), "^mu0 has d = 2 columns but mu_star has length 1"),
    (lambda: averaged_descent(NAN_START, STAR, 0.1, 1.0, 0.1, 5), "^mu0 has a non-finite entry"),
    (lambda: mixture_descent(NAN_START, [[0.0], [1.0]], [0.5, 0.5], 0.5, 0.1, 5), "^mu0 has a non-finite entry"),
    # the loop compared mu0 with the components' centre, and called it mu_star
    (lambda: mixture_descent([[1.0, 2.0]], [[0.0], [1.0]], [0.5, 0.5], 0.5, 0.1, 5),
     "^mu0 has d = 2 columns but mu_stars has 1"),
], ids=["descent-nan", "descent-d", "averaged", "mixture-nan", "mixture-d"])
def test_the_start_is_named_mu0_as_the_caller_passed_it(call, match):
    """gradient_descent(mu0=NaN) said 'mu has a non-finite entry': the descents' argument is mu0."""
    with pytest.raises(ValueError, match=match):
        call()


def test_control_sampled_gradient_names_its_means_mu():
    """The control: sampled_gradient's argument is mu, and its message says mu."""
    with pytest.raises(ValueError, match=r"^mu has a non-finite entry nan"):
        monte_carlo.sampled_gradient(NAN_START, STAR, 0.1, 10)
    assert mixture_descent(MU0, [[0.0], [1.0]], [0.5, 0.5], 0.5, 0.1, 1).mu.shape == (2, 1)


@pytest.mark.parametrize("mu_stars, match", [
    ("abc", "^mu_stars must be an array of numbers, got a string$"),  # was IndexError from np.shape("abc")[-1]
    (5.0, r"^mu_stars must have shape \(K, d\), got shape \(\)$"),  # was IndexError
    ([], r"^mu_stars must have shape \(K, d\), got shape \(0,\)$"),  # was "mu must not be empty": a mu never passed
    ([[]], r"^mu_stars must not be empty, got shape \(1, 0\)$"),
], ids=["string", "scalar", "empty", "no-columns"])
def test_the_mixture_gradient_names_its_own_arguments(mu_stars, match):
    with pytest.raises(ValueError, match=match):
        MixtureGradient(mu_stars, [1.0])
    assert MixtureGradient([[0.0], [1.0]], [0.5, 0.5]).mu_stars.shape == (2, 1)  # the control
