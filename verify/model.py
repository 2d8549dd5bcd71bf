"""Compatibility path for ``verify.model``: the pointwise model, :mod:`verify.engine.model`."""

from verify.engine.model import *  # noqa: F401,F403
from verify.engine.model import __all__  # noqa: F401
