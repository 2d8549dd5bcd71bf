"""``verify selfcheck``'s row labels state what the row computes: the reduced dimension k (stated as
``k=N``, or by ``d=1``) and the distance (the table's ``dist``: the largest pairwise distance of the
scaled means), to the digits the label gives; and the targets keep the README's promise (1e-12 up to
distance 8 for k <= 3 and for k = 4 near-collapsed, 1e-9 beyond distance 8 or with |mu| ~ 1e12).  Cheap: the reduction
and the distance come from the configuration; no engine evaluation runs."""

from __future__ import annotations

import re

import numpy as np
import pytest

from verify.checks.selfcheck import Case, accuracy_cases, distance
from verify.engine.expectation import reduce_float

CASES = accuracy_cases()


def _k(case: Case) -> int:
    return reduce_float(np.asarray(case.mu, float), np.asarray(case.mu_star, float), case.t).k


def _stated_k(label: str) -> int | None:
    m = re.search(r"\bk=(\d+)", label)
    if m:
        return int(m.group(1))
    return 1 if re.search(r"\bd=1\b", label) else None


def _stated_distance(label: str) -> str | None:
    m = re.search(r"distance ~?([0-9.]+)", label)
    return m.group(1) if m else None


def _agrees(stated: str, computed: float) -> bool:
    """``computed`` rounded to the significant digits of ``stated`` is ``stated``."""
    digits = len(stated.replace(".", "").lstrip("0"))
    return float(f"{computed:.{digits}g}") == float(stated)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_label_states_the_k_and_distance_it_computes(case):
    assert _stated_k(case.name) == _k(case), (case.name, _k(case))
    stated = _stated_distance(case.name)
    if stated is not None:
        assert _agrees(stated, distance(case)), (case.name, distance(case))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_target_is_the_readmes_promise_for_its_distance(case):
    d, k = distance(case), _k(case)
    if case.target == 1e-12:
        assert d <= 8 and (k <= 3 or d < 1), (case.name, d, k)
    elif "beyond 8" in case.name:
        assert d > 8 and case.target == 1e-9, (case.name, d)
    else:  # the other looser target: means far from the origin (float64 resolves their offsets less finely)
        assert "|mu| ~" in case.name and case.target == 1e-9 and np.max(np.abs(case.mu)) >= 1e6, case.name


@pytest.mark.parametrize("label, mu, mu_star, t", [
    ("n=2 d=1, distance 3, t=0.3", [[1.0], [-2.0]], [0.5], 0.3),  # scaled: 2.2
    ("n=4 d=2 (k=2), distance ~8", [[0.0, 0.0], [4.0, 6.5], [-4.0, 5.0], [6.0, -2.0]], [0.5, 0.5], 0.05),  # 11.6
    ("n=4 d=2 collinear (k=1), t=0.7", [[0.0, 0.0], [1.0, 1.0], [2.5, 2.5], [-3.0, -3.0]], [0.5, 0.0], 0.7),
    ("n=3 d=2 (k=2), distance 12 (beyond 8)", [[0.0, 0.1], [9.0, 6.0], [-7.0, 8.0]], [0.0, 0.0], 0.0),  # 16.1
])
def test_the_check_catches_the_labels_that_disagreed(label, mu, mu_star, t):
    # the negative control: the old labels (and a k=1 claim for the collinear case) fail the same checks
    case = Case(label, mu, mu_star, t, 1e-12, "mp")
    stated = _stated_distance(label)
    assert _stated_k(label) != _k(case) or (stated is not None and not _agrees(stated, distance(case)))
