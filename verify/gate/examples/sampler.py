"""A sample-based NumPy implementation (``stochastic = True``), and a biased one.

Monte Carlo of the population loss and of its pathwise gradient, as an outside
user would write it with nothing but NumPy.  With a_i = m_i - m* (m_i = e^{-t} mu_i),
y = x - m* ~ N(0, I_d), weights w = softmax_i(a_i.y - |a_i|^2/2) and
v = sum_i w_i a_i (= score + x - m*, the error of the student's score):

    L_t        = E |v|^2
    dL_t/dm_i  = 2 E[ w_i v + w_i (v.(a_i - v)) (y - a_i) ]      (differentiate under E)
    dL_t/dmu_i = e^{-t} dL_t/dm_i.

The logits are formed from differences of means, (m_i - m_0).y - (m_i - m_0).(a_i + a_0)/2,
so huge coordinates (1e12) do not wipe out the differences that decide the softmax.
For a fixed seed the samples y are fixed, so ``grad`` is the exact gradient of
``loss`` (the gate's self-consistency check relies on it).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["SampleImplementation", "BiasedSampler", "implementation"]


class SampleImplementation:
    """Monte Carlo with ``samples`` draws per call; reproducible for a fixed ``seed``."""

    stochastic = True

    def __init__(self, samples: int = 40_000):
        self.samples = int(samples)

    # -- the pieces a variant may change -------------------------------------
    def _noise(self, d: int, seed: int) -> np.ndarray:
        return np.random.default_rng(seed).standard_normal((self.samples, d))

    def _scale(self, t: float) -> float:
        return math.exp(-t)

    def _logits(self, y, a, diff):
        return y @ diff.T - 0.5 * np.einsum("ij,ij->i", diff, a + a[0])

    def _weights(self, logits):
        logits = logits - logits.max(axis=1, keepdims=True)
        w = np.exp(logits)
        return w / w.sum(axis=1, keepdims=True)

    def _grad_mean(self, y, a, w, v):
        """Sample mean of w_i v + w_i (v.(a_i - v)) (y - a_i), shape (n, d), as matrix products."""
        N = y.shape[0]
        ws = w * (v @ a.T - np.einsum("ij,ij->i", v, v)[:, None])  # w_i v.(a_i - v): (N, n)
        return (w.T @ v + ws.T @ y) / N - ws.mean(axis=0)[:, None] * a

    # -- shared ---------------------------------------------------------------
    def _sample(self, mu, mu_star, t, seed):
        mu = np.asarray(mu, dtype=np.float64)
        mu_star = np.asarray(mu_star, dtype=np.float64)
        s = self._scale(t)
        a = s * (mu - mu_star)  # m_i - m*
        diff = s * (mu - mu[0])  # m_i - m_0 from the unscaled inputs
        y = self._noise(mu.shape[1], seed)
        w = self._weights(self._logits(y, a, diff))
        v = w @ a
        return s, a, y, w, v

    def loss(self, mu, mu_star, t, *, seed: int = 0) -> float:
        _, _, _, _, v = self._sample(mu, mu_star, t, seed)
        return float(np.mean(np.einsum("ij,ij->i", v, v)))

    def grad(self, mu, mu_star, t, *, seed: int = 0) -> np.ndarray:
        s, a, y, w, v = self._sample(mu, mu_star, t, seed)
        return 2.0 * s * self._grad_mean(y, a, w, v)


class BiasedSampler(SampleImplementation):
    """Wrong: draws the noise from a normal truncated at +-2 ("to tame outliers").

    The truncated noise has variance 0.77 instead of 1, which biases the loss
    and gradient by a few per cent to tens of per cent depending on the
    configuration; the spread over seeds does not show it, the reference does.
    """

    def _noise(self, d, seed):
        return np.clip(super()._noise(d, seed), -2.0, 2.0)


#: ``verify gate verify.gate.examples.sampler:implementation``
implementation = SampleImplementation()
