"""Shipped implementations for the gate: the reference, a sampler, and deliberately wrong ones.

* :mod:`.reference` -- the reference engine behind the Protocol (passes);
* :mod:`.sampler` -- a pure-NumPy Monte Carlo implementation (``stochastic = True``;
  passes), and a biased sampler (fails);
* :mod:`.wrong` -- deliberately wrong variants, each rejected by the check
  that should catch it (``wrong.CAUGHT_BY`` says which);
* :mod:`.wrong_objectives` -- wrong time-averaged and mixture objectives on the reference
  (``wrong_objectives.CAUGHT_BY``);
* :mod:`.broken` -- implementations that cannot be used (exit status 2) or
  return NaN (exit status 1), for the gate's own tests.

Use them as ``verify gate verify.gate.examples.sampler:SampleImplementation``.
"""
