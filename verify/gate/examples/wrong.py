"""Deliberately wrong implementations, each with the check that must reject it.

Two kinds, so that both kinds of tolerance are exercised:

* deterministic variants built on the reference engine with one change
  (their errors are exact, so they meet the deterministic tolerance ~1e-11):
  :class:`HalfLoss`, :class:`TimeScale2t`, :class:`ScaledGradient`,
  :class:`Perturbed1e6`;
* sample-based variants built on :class:`~verify.gate.examples.sampler.SampleImplementation`
  with one change (stochastic, judged by their spread, capped at 5e-2):
  :class:`CubicDropped`, :class:`SignFlipped`, :class:`Temperature2`,
  :class:`NaiveSoftmax`.

``CAUGHT_BY[name]`` lists the table rows that must fail (``check[quantity]``)
and ``PASSES[name]`` rows that must pass, which is what makes each example
instructive: a loss and gradient off by the same factor (``HalfLoss``) are
self-consistent and invariant; only the reference comparison catches them.
"""

from __future__ import annotations

import math

import numpy as np

from .reference import evaluate_cached
from .sampler import SampleImplementation

__all__ = [
    "HalfLoss",
    "TimeScale2t",
    "ScaledGradient",
    "Perturbed1e6",
    "CubicDropped",
    "SignFlipped",
    "Temperature2",
    "NaiveSoftmax",
    "CAUGHT_BY",
    "PASSES",
    "VARIANTS",
]


class HalfLoss:
    """Wrong: a factor 1/2 in the loss and in the gradient (L = 1/2 E|...|^2, a common convention)."""

    def loss(self, mu, mu_star, t):
        return 0.5 * float(evaluate_cached(mu, mu_star, t).loss)

    def grad(self, mu, mu_star, t):
        return 0.5 * np.array(evaluate_cached(mu, mu_star, t).grad)


class TimeScale2t:
    """Wrong: scaled means e^{-2t} mu instead of e^{-t} mu (variance-preserving schedule mixed up).

    Loss and gradient are both those of the model at noise level 2t, so they
    agree with each other and with every invariance; they are right at t = 0.
    """

    def loss(self, mu, mu_star, t):
        return float(evaluate_cached(mu, mu_star, 2.0 * t).loss)

    def grad(self, mu, mu_star, t):
        return np.array(evaluate_cached(mu, mu_star, 2.0 * t).grad)


class ScaledGradient:
    """Wrong: returns dL/dm_i (with respect to the scaled means m_i = e^{-t} mu_i), e^{t} too large."""

    def loss(self, mu, mu_star, t):
        return float(evaluate_cached(mu, mu_star, t).loss)

    def grad(self, mu, mu_star, t):
        return np.array(evaluate_cached(mu, mu_star, t).grad_scaled)


class Perturbed1e6:
    """Wrong by a relative 1e-6 in the gradient (the smallest error the issue requires the gate to catch)."""

    def loss(self, mu, mu_star, t):
        return float(evaluate_cached(mu, mu_star, t).loss)

    def grad(self, mu, mu_star, t):
        g = np.array(evaluate_cached(mu, mu_star, t).grad)
        return g * (1.0 + 1e-6)


class CubicDropped(SampleImplementation):
    """Wrong: the gradient keeps only the gradient-EM term 2 E[w_i v]; the cubic terms are dropped."""

    def _grad_mean(self, y, a, w, v):
        return (w.T @ v) / y.shape[0]


class SignFlipped(SampleImplementation):
    """Wrong: the sign of the softmax-derivative term flipped, 2 E[w_i v - w_i (v.(a_i - v)) (y - a_i)]."""

    def _grad_mean(self, y, a, w, v):
        N = y.shape[0]
        ws = w * (v @ a.T - np.einsum("ij,ij->i", v, v)[:, None])
        return (w.T @ v - ws.T @ y) / N + ws.mean(axis=0)[:, None] * a


class Temperature2(SampleImplementation):
    """Wrong: softmax at temperature 2, w = softmax(-|x - m_i|^2 / 4), in loss and gradient consistently.

    The gradient is the exact derivative of this (wrong) loss, so the
    implementation is self-consistent and invariant: only the reference catches it.
    """

    T = 2.0

    def _logits(self, y, a, diff):
        return super()._logits(y, a, diff) / self.T

    def _grad_mean(self, y, a, w, v):
        N = y.shape[0]
        ws = w * (v @ a.T - np.einsum("ij,ij->i", v, v)[:, None]) / self.T  # d logit / d a_i carries 1/T
        return (w.T @ v + ws.T @ y) / N - ws.mean(axis=0)[:, None] * a


class NaiveSoftmax(SampleImplementation):
    """Wrong at huge coordinates: exp(-|x - m_i|^2 / 2) without subtracting the maximum.

    Right wherever the exponentials do not underflow; where every weight
    underflows to 0 it returns NaN (0/0): a wrong answer, exit status 1.
    """

    def _logits(self, y, a, diff):
        return -0.5 * ((y[:, None, :] - a[None, :, :]) ** 2).sum(axis=2)

    def _weights(self, logits):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            w = np.exp(logits)
            return w / w.sum(axis=1, keepdims=True)


#: name -> rows of the gate's table that must fail
CAUGHT_BY = {
    "HalfLoss": ["reference_values[loss]", "reference_values[grad]"],
    "TimeScale2t": ["reference_values[loss]", "reference_values[grad]"],
    "ScaledGradient": ["reference_values[grad]", "self_consistency[grad]"],
    "Perturbed1e6": ["reference_values[grad]"],
    "CubicDropped": ["reference_values[grad]", "self_consistency[grad]"],
    "SignFlipped": ["reference_values[grad]", "self_consistency[grad]"],
    "Temperature2": ["reference_values[loss]", "reference_values[grad]"],
    "NaiveSoftmax": ["reference_values[loss]"],
}

#: name -> rows that must pass (what makes the example instructive)
PASSES = {
    "HalfLoss": ["self_consistency[grad]", "invariance[shift]", "invariance[permute]", "invariance[rotate]"],
    "TimeScale2t": ["self_consistency[grad]", "invariance[shift]", "invariance[permute]"],
    "ScaledGradient": ["reference_values[loss]"],
    "Perturbed1e6": ["reference_values[loss]"],
    "CubicDropped": ["reference_values[loss]"],
    "SignFlipped": ["reference_values[loss]"],
    "Temperature2": ["self_consistency[grad]"],
    "NaiveSoftmax": [],
}

VARIANTS = {name: globals()[name] for name in CAUGHT_BY}
