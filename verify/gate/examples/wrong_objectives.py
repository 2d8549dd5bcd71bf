"""Deliberately wrong implementations of the optional objectives, each with the rows that must reject it.

Each is the reference implementation (:class:`~verify.gate.examples.reference.ReferenceImplementation`,
correct single-Gaussian loss and gradient and the other objective) with one mistake:

* :class:`AveragedUnnormalised`: the weighting used without its normalisation (the integral of
  (1 - e^{-2t}) L_t, or of L_t, instead of the average): loss and gradient off by the same factor;
* :class:`AveragedGradNoDecay`: dL_bar/dmu as the integral of lambda(t) dL_t/dm, the factor e^{-t}
  of the unscaled convention missing (the loss is right);
* :class:`MixtureHalf`: the factor 1/2 in the mixture loss and its gradient (L = 1/2 E|...|^2);
* :class:`MixtureWeightsIgnored`: the components weighted equally, whatever the weights.

``CAUGHT_BY[name]`` lists the rows that must fail, ``PASSES[name]`` rows that must pass.
"""

from __future__ import annotations

import math

import numpy as np

from .reference import ReferenceImplementation, evaluate_mix_cached

__all__ = ["AveragedUnnormalised", "AveragedGradNoDecay", "MixtureHalf", "MixtureWeightsIgnored", "CAUGHT_BY",
           "PASSES"]


def _weighting_total(t_min, t_max, weighting) -> float:
    """The integral of the unnormalised weighting over the window (1, or 1 - e^{-2t})."""
    if weighting == "uniform":
        return t_max - t_min
    return (t_max - t_min) + math.exp(-2 * t_min) * math.expm1(-2 * (t_max - t_min)) / 2


class AveragedUnnormalised(ReferenceImplementation):
    """Wrong: the weighting not normalised over the window."""

    def loss_avg(self, mu, mu_star, t_min, t_max, *, weighting="uniform"):
        return _weighting_total(t_min, t_max, weighting) * super().loss_avg(mu, mu_star, t_min, t_max,
                                                                             weighting=weighting)

    def grad_avg(self, mu, mu_star, t_min, t_max, *, weighting="uniform"):
        return _weighting_total(t_min, t_max, weighting) * super().grad_avg(mu, mu_star, t_min, t_max,
                                                                             weighting=weighting)


class AveragedGradNoDecay(ReferenceImplementation):
    """Wrong: the gradient integrates lambda(t) dL_t/dm (scaled means), without the factor e^{-t}.

    Gauss-Legendre with 16 nodes over the window, the engine's scaled gradient at each: accurate to
    far below the O(1) relative error the missing factor makes."""

    def grad_avg(self, mu, mu_star, t_min, t_max, *, weighting="uniform"):
        from verify.engine import reference
        from verify.engine.backend import gauss_legendre
        from verify.engine.time_average import weighting_function

        lam = weighting_function(weighting, t_min, t_max)
        x, w = gauss_legendre(16)
        mid, half = (t_min + t_max) / 2, (t_max - t_min) / 2
        G = np.zeros(np.shape(mu))
        for xi, wi in zip(x, w):
            t = mid + half * float(xi)
            G += float(wi) * half * lam(t) * reference.grad_scaled(mu, mu_star, t)
        return G


class MixtureHalf(ReferenceImplementation):
    """Wrong: a factor 1/2 in the mixture loss and its gradient."""

    def loss_mix(self, mu, mu_stars, weights, t):
        return 0.5 * float(evaluate_mix_cached(mu, mu_stars, weights, t).loss)

    def grad_mix(self, mu, mu_stars, weights, t):
        return 0.5 * np.array(evaluate_mix_cached(mu, mu_stars, weights, t).grad)


class MixtureWeightsIgnored(ReferenceImplementation):
    """Wrong: every component weighted 1/K."""

    def loss_mix(self, mu, mu_stars, weights, t):
        return super().loss_mix(mu, mu_stars, np.full(len(weights), 1.0 / len(weights)), t)

    def grad_mix(self, mu, mu_stars, weights, t):
        return super().grad_mix(mu, mu_stars, np.full(len(weights), 1.0 / len(weights)), t)


CAUGHT_BY = {
    "AveragedUnnormalised": ["averaged_values[loss]", "averaged_values[grad]"],
    "AveragedGradNoDecay": ["averaged_values[grad]"],
    "MixtureHalf": ["mixture_values[loss]", "mixture_values[grad]"],
    "MixtureWeightsIgnored": ["mixture_values[loss]", "mixture_values[grad]"],
}

PASSES = {
    "AveragedUnnormalised": ["mixture_values[loss]", "mixture_values[grad]"],
    "AveragedGradNoDecay": ["averaged_values[loss]"],
    "MixtureHalf": ["averaged_values[loss]", "averaged_values[grad]"],
    "MixtureWeightsIgnored": [],
}
