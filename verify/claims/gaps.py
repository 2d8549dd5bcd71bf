"""The gap between what each claim checks and the theorem as stated, named beside its verdict.

A verdict ``holds`` means "holds at the sizes named" (``ClaimResult.size``); what lies beyond those
sizes (the theorem's constants out of reach, a limit measured as growth, n or d not covered) is
named here, once per claim, and printed by ``verify report`` under each claim's sizes and written
to its JSON.  proofs_map.md's table of claims carries the same text in its "the gap" column
(``tests/test_proofs_map.py`` holds the two equal).
"""

from __future__ import annotations

__all__ = ["GAPS"]

GAPS: dict[str, str] = {
    "lemma-2.2": "an identity for all n, d; exact only for n <= 3, d <= 2",
    "thm-2.1": ("the theorem's step beyond n = 3, d = 2 (~7 n^7 d^2 steps to the tail); "
                "the O-constant (unknown)"),
    "thm-3.1": "n > 8 (the proof is per n)",
    "thm-3.2": ("n = 2, d = 1 only; at M0 >= 0.2 convergence is certified (approach + final-phase induction), "
                "not run; below 1e-9 it rests on Theorem 2.1's regime"),
    "thm-3.4": ("\"to infinity\": the losers' outward growth over 500 recentred steps plus a certified outward "
                "gradient, not a limit; other n, eta"),
    "thm-3.5": ("M0 = 14 is far below 10^9 sqrt(d) n^10; the theorem's M0 only at n = 2, d = 1; near ties "
                "counted, not judged (n^2 14^(-1/3) = 1.66..10.4 >= 1)"),
    "cor-3.6": ("all M0 below the theorem's threshold (at 1.03e12: 7490 seeds in an offset-exact loop, not "
                "written); \"diverge\" is a certified outward push (M0 >= 1e6) and D^2 ~ c log tau (M0 = 6)"),
    "thm-3.7": ("\"every eps > 0\" is a limit: the smallest eps supported is a finding (0.157 at quick); "
                "M0 = 6 is far below the theorem's"),
    "fig-1": "the paper's sampler and seeds; \"diverge\" over 20,000 steps is growth, not a limit",
}
