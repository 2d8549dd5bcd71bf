"""The benchmark's Figure 1 and Theorem 3.4 starts (restated in verify/checks/bench.py, which sits
below the claims in the layers) are the claims' own."""

import math

import numpy as np

from verify.checks.bench import figure_1_start, thm_3_4_start
from verify.claims import fig_1, thm_3_4


def test_figure_1_start_is_the_claims():
    for M, seed in ((6.0, 0), (4.0, 3)):
        np.testing.assert_array_equal(figure_1_start(M, seed), fig_1.initial_means(M, seed))
    # negative control: another seed gives other means
    assert not np.array_equal(figure_1_start(6.0, 1), fig_1.initial_means(6.0, 0))


def test_thm_3_4_start_is_the_claims():
    mu0, star = thm_3_4_start(20.0)
    assert mu0.shape == (thm_3_4.N, thm_3_4.D) and star.shape == (thm_3_4.D,)
    assert star[0] == 20.0 and mu0[0, 0] == math.exp(-20.0 / 100) and not mu0[1:].any()
