"""Compatibility path for ``verify.dynamics``: gradient descent (:mod:`verify.simulate.descent`)
and the outcome of a run (:mod:`verify.simulate.outcomes`)."""

from verify.simulate.descent import *  # noqa: F401,F403
from verify.simulate.descent import __all__  # noqa: F401
