"""Compatibility path for ``verify.strategies``: :mod:`verify.testing.strategies`."""

from verify.testing.strategies import *  # noqa: F401,F403
from verify.testing.strategies import __all__  # noqa: F401
