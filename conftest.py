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


@pytest.fixture
def run_claim(tmp_path):
    """``run_claim(claim_id, budget="quick")``: run a registered claim at seed 0, draw each of
    its figures into ``tmp_path`` (each must be a non-trivial file, > 1000 bytes) and return the
    :class:`verify.claims.ClaimResult` for the test's own verdict assertions."""

    def run(claim_id, budget="quick"):
        from verify.claims import all_claims

        result = all_claims()[claim_id](budget=budget, seed=0)
        for name, draw in result.figures.items():
            draw(tmp_path / name)
            assert (tmp_path / name).stat().st_size > 1000, name
        return result

    return run


@pytest.fixture
def refused(capsys):
    """``refused(argv, words)``: ``verify *argv`` is refused before any work -- exit status 2, nothing on
    stdout (no header, no table), one line on stderr holding ``words``, no traceback; returns that line."""

    def check(argv, words):
        from verify.cli import main

        assert main(list(argv)) == 2
        cap = capsys.readouterr()
        assert cap.out == "", "refused before any work: no header, no table"
        assert cap.err.count("\n") == 1 and words in cap.err and "Traceback" not in cap.err, cap.err
        return cap.err

    return check
