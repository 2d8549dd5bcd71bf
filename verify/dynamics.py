"""Compatibility path for ``verify.dynamics``: gradient descent (:mod:`verify.simulate.descent`)
and the outcome of a run (:mod:`verify.simulate.outcomes`)."""

from verify.simulate.descent import *  # noqa: F401,F403
from verify.simulate.descent import __all__ as _descent
from verify.simulate.outcomes import Outcome, Rule, classify, tail_rule  # noqa: F401

__all__ = [*_descent, "classify", "Outcome", "Rule", "tail_rule"]
