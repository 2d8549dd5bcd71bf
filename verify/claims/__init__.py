"""The paper's claims, one module per numbered statement.

Each claim module registers itself with :func:`verify.claims.base.register`;
:func:`all_claims` imports them all and returns the registry in the paper's
order.  A claim runs the experiment its statement speaks of and returns what
it measured beside what the statement predicts (:class:`ClaimResult`).
"""

from __future__ import annotations

import importlib

from .base import REGISTRY, Budget, Claim, ClaimResult, Finding, register

__all__ = ["REGISTRY", "Budget", "Claim", "ClaimResult", "Finding", "register", "all_claims", "CLAIM_IDS"]

#: The claim ids in the paper's order, and the module that registers each.
CLAIM_MODULES = {
    "lemma-2.2": "verify.claims.lemma_2_2",
    "thm-2.1": "verify.claims.thm_2_1",
    "thm-3.1": "verify.claims.thm_3_1",
    "thm-3.2": "verify.claims.thm_3_2",
    "thm-3.4": "verify.claims.thm_3_4",
    "thm-3.5": "verify.claims.thm_3_5",
    "cor-3.6": "verify.claims.cor_3_6",
    "thm-3.7": "verify.claims.thm_3_7",
    "fig-1": "verify.claims.fig_1",
}
CLAIM_IDS = tuple(CLAIM_MODULES)


def all_claims() -> dict[str, Claim]:
    """Import every claim module and return the registry, in paper order."""
    for module in dict.fromkeys(CLAIM_MODULES.values()):
        importlib.import_module(module)
    return {cid: REGISTRY[cid] for cid in CLAIM_IDS if cid in REGISTRY}
