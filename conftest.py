"""Hypothesis profiles and test-wide fixtures.

Profiles (choose with the environment variable VERIFY_PROFILE, default ``dev``):

* ``dev``: quick local runs, random, with the example database.
* ``ci``: derandomized, no database, no deadline: a CI run is reproducible.
* ``thorough``: ``ci`` with many more examples; also enables tests marked
  ``thorough`` (long runs).
"""

import os

import mpmath
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=10, deadline=None)
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    max_examples=10,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", settings.get_profile("ci"), max_examples=200)

PROFILE = os.environ.get("VERIFY_PROFILE", "dev")
if PROFILE not in ("dev", "ci", "thorough"):
    raise pytest.UsageError(f"VERIFY_PROFILE must be dev, ci or thorough, got {PROFILE!r}")
settings.load_profile(PROFILE)


def pytest_configure(config):
    """In the thorough profile, tests marked ``thorough`` run too (the default
    ``-m 'not thorough'`` in pyproject.toml is lifted)."""
    if PROFILE == "thorough" and config.option.markexpr == "not thorough":
        config.option.markexpr = ""


@pytest.fixture(autouse=True)
def _reset_mpmath_precision():
    """Library code must scope its precision; a test that leaks one fails here."""
    before = mpmath.mp.prec
    yield
    leaked = mpmath.mp.prec
    mpmath.mp.prec = 53
    assert leaked == before, f"mpmath working precision leaked: {before} -> {leaked} bits"
