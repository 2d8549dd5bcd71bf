"""Statistics of repeated trials: exact binomial (Clopper-Pearson) bounds, tail probabilities and
the number of trials a bound needs.  Used by the probability statement of Corollary 3.6."""

from __future__ import annotations

import math

__all__ = ["clopper_pearson_upper", "clopper_pearson_lower", "seeds_needed", "binomial_excess_pvalue"]


def clopper_pearson_upper(failures: int, trials: int, level: float = 0.95) -> float:
    """One-sided exact (Clopper-Pearson) upper confidence bound at ``level`` on a binomial p."""
    from scipy.stats import beta

    if not 0 <= failures <= trials or trials < 1:
        raise ValueError(f"need 0 <= failures <= trials, trials >= 1; got {failures}, {trials}")
    if failures == trials:
        return 1.0
    return float(beta.ppf(level, failures + 1, trials - failures))


def clopper_pearson_lower(failures: int, trials: int, level: float = 0.95) -> float:
    """One-sided exact lower confidence bound at ``level``."""
    from scipy.stats import beta

    if failures == 0:
        return 0.0
    return float(beta.ppf(1 - level, failures, trials - failures + 1))


def seeds_needed(bound: float, level: float = 0.95) -> int:
    """Smallest N such that N trials with zero failures give an upper bound < ``bound``:
    (1 - bound)^N < 1 - level."""
    if not 0 < bound < 1:
        raise ValueError(f"bound must be in (0, 1), got {bound}")
    return int(math.floor(math.log(1 - level) / math.log1p(-bound))) + 1


def binomial_excess_pvalue(failures: int, trials: int, p: float) -> float:
    """P(X >= failures) for X ~ Bin(trials, p): small when the failures exceed what p allows."""
    from scipy.stats import binom

    return float(binom.sf(failures - 1, trials, p))
