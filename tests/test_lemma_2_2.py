"""Lemma 2.2 (the gradient) as a claim: its verdict code holds on the engine and fails on a wrong one.

The three checks themselves (SymPy, Stein vs pathwise, finite differences) and their controls are
tested in test_gradcheck_*.py; here the claim's own verdict, at a small size (SymPy n = 2, d = 1).
"""

from __future__ import annotations

import pytest

from verify.checks import variants
from verify.claims import lemma_2_2


def test_claim_holds_on_the_engine_at_a_small_size():
    r = lemma_2_2.run(sizes=[(2, 1)])
    assert r.verdict == "holds", r.reason
    assert all(v.startswith("rejected") for v in r.evidence["negative_controls"].values())
    assert {f.relation for f in r.findings} == {"supports"}


@pytest.mark.parametrize("variant", ["cubic_dropped", "double_scaled"])
def test_claim_fails_when_the_engine_is_wrong(variant):
    # negative control: the gradient-EM term alone (cubic terms dropped), or e^{-2t} instead of
    # e^{-t}, in place of the engine's gradient: the same verdict code says "fails"
    wrong = {kind: variants.wrong_variants[variant][kind] for kind in ("float64", "mpmath")}
    r = lemma_2_2.run(sizes=[(2, 1)], gradient=wrong)
    assert r.verdict == "fails", r.reason
    assert "the gradient is not as stated" in r.reason
