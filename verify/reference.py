"""Compatibility path for ``from verify import reference``: the engine's public API,
:mod:`verify.engine.reference`."""

from verify.engine.reference import *  # noqa: F401,F403
from verify.engine.reference import __all__  # noqa: F401
