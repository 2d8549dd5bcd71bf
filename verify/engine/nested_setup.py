"""The arrays one nested evaluation runs on (:mod:`verify.engine.nested`), and the nats at which a
cell is taken in closed form.

A cell (where one mean's logit exceeds every other's by ``skip_nats`` over a whole panel) is taken
in closed form: the integrand there is that mean's value up to (n - 1) e^-gap Kb, Kb the bound of
|F - F_m| / (1 - w_m) on the box.  The nats start at log(Kb n) + 40 (a drop below e^-40 per unit
mass: below rounding next to an integrand of size ~1) and grow with a result far below 1
(:func:`skip_for`), so that the drop stays below a tenth of the tail's target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from .junctions import features
from .kernels import cell_values, model_arrays
from .lines import single_gaussian_bound_scale

__all__ = ["Setup", "setup", "skip_for"]


@dataclass
class Setup:
    """What one nested evaluation runs on: the model in the frame, the junction features, the
    closed-form cells' values and their bound Kb, the nats that take a cell in closed form, the
    truncation radius, the integrand's bound (for the tail) and the number of accuracy columns."""

    red: object
    model: object
    feats: object
    Fcell: np.ndarray
    Kb: float
    skip_nats: float
    radius: float
    bound_scale: float
    mc: int


def setup(red, frame, with_grad, centred, radius) -> Setup:
    """The arrays for the reduced model ``red`` in the frame ``frame``, truncated at ``radius``."""
    model = model_arrays(red, frame, with_grad=with_grad, centred=centred)
    feats = features(model.B, model.C)
    Fc = cell_values(red, with_grad)
    eps = 2.0**-52
    # the closed-form cells' own rounding: |a_i|^2 and a_i to a few ulps
    if with_grad:
        n, d = red.n, red.d
        Fc[:, 1 + n * d] = 4 * eps * Fc[:, 0]
        Fc[np.arange(n), 2 + n * d + np.arange(n)] = 4 * eps * np.linalg.norm(red.a, axis=1)
    else:
        Fc[:, 1] = 4 * eps * Fc[:, 0]
    amax = red.amax
    dmax = float(np.max(np.linalg.norm(red.a[:, None, :] - red.a[None, :, :], axis=2)))
    zmax = radius * math.sqrt(red.k)
    # |F - F_m| <= Kb (1 - w_m) on the box: loss 2 amax dmax; mean i != m: w_i (amax + 2 amax^2 (|z| + amax));
    # mean m: (1 - w_m)(dmax + amax) + |s_m| (|z| + amax), |s_m| <= amax dmax (1 - w_m)
    Kb = max(2 * amax * dmax, amax + 2 * amax**2 * (zmax + amax), dmax + amax + amax * dmax * (zmax + amax), 1e-300)
    # a cell is taken in closed form where every other logit is this far below: (n - 1) e^-gap Kb
    # is then below 1e-17 of the integrand bound on the whole box
    skip_nats = math.log(Kb * red.n) + 40.0
    bound_scale = single_gaussian_bound_scale(amax)
    mc = 1 + red.n * red.d if with_grad else 1
    return Setup(red, model, feats, Fc, Kb, skip_nats, radius, bound_scale, mc)


def skip_for(st, target):
    """The setup with enough nats for the closed-form cells: a cell is taken in closed form by nats
    where it drops at most e^-40 per unit mass, below rounding next to an integrand of size ~1;
    a result far below 1 (a winner within 1e-5 of m*: L ~ 1e-10) asks that the drop also stay
    below a tenth of ``target`` (the tail's target, a tenth of the smallest accuracy asked)."""
    if not target > 0:
        return st
    need = math.log(st.Kb * st.red.n / (0.1 * target))
    return st if need <= st.skip_nats else replace(st, skip_nats=need)
