"""Layouts of an initial cluster of means: where the n means sit around the cluster's centre.

A cluster cell (Theorems 3.2 and 3.4, and the studies of ``verify explore``) starts the means at
mu_i(0) = r u_i, with the ground truth mu* = M0 e_1 (so the centre, the origin, is at distance M0
from mu*), and r the cluster's radius.  The layouts u:

* ``leader``: u_1 = e_1 and u_i = 0 otherwise, "(r, 0)": one mean displaced towards mu*
  (Theorem 3.4's counterexample has this shape; Theorem 3.2's boundary was first measured on it);
* ``opposite``: u_1 = -e_1, u_2 = e_1, u_i = 0 otherwise, "(-r, r)": two leaders on opposite
  sides along the axis to mu* (Theorem 3.1's construction has this shape, centred at mu*);
* ``gaussian``: u_i i.i.d. N(0, I_d) from ``numpy.random.default_rng(seed)``, so mu_i(0) are
  i.i.d. N(0, r^2 I_d) (Figure 1's start has this shape with r = 1e-7).

Only ``gaussian`` depends on the seed.  The deviations are linear in r, which lets the
linearised phase of :mod:`.cluster` run on u and carry r as a separate scale.
"""

from __future__ import annotations

import numpy as np

__all__ = ["LAYOUTS", "LAYOUT_HELP", "unit_deviations", "uses_seed"]

LAYOUTS = ("leader", "opposite", "gaussian")

#: One line per layout, for help texts and tables.
LAYOUT_HELP = {
    "leader": "(r, 0): mu_1 = r e_1 (towards mu*), the others at the centre",
    "opposite": "(-r, r): mu_1 = -r e_1, mu_2 = r e_1, the others at the centre",
    "gaussian": "i.i.d. N(0, r^2 I_d) from the seed",
}


def uses_seed(layout: str) -> bool:
    """Whether the layout's deviations depend on the seed (only the Gaussian one does)."""
    _check(layout)
    return layout == "gaussian"


def _check(layout: str) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def unit_deviations(layout: str, n: int, d: int, seed: int = 0) -> np.ndarray:
    """The layout's u, shape (n, d): the deviations at radius r = 1 (module doc)."""
    _check(layout)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"d must be a positive int, got {d!r}")
    u = np.zeros((int(n), int(d)))
    if layout == "leader":
        u[0, 0] = 1.0
    elif layout == "opposite":
        if n < 2:
            raise ValueError(f"the opposite layout needs n >= 2 means, got n = {n}")
        u[0, 0], u[1, 0] = -1.0, 1.0
    else:
        u = np.random.default_rng(seed).standard_normal((int(n), int(d)))
    return u
