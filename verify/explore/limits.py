"""The ranges in which a study's numbers mean something in float64, checked before any work.

A cell whose start float64 cannot hold faithfully does not fail loudly: it reports an outcome
(``--M0 1e100``: every cell "oscillates_or_blows_up" from overflow; ``--radius 1e300``: Theorem
2.1's threshold t > inf).  Each limit below comes from where a cell's run stops being a faithful
float64 computation; the measurements (n = 3, d = 1, gaussian layout, eta = 0.05, t = 0 unless
stated) confirm where each one bites.

* every t (all studies): ``T_MAX`` = -log(smallest normal float64) = 708.4.  The runs multiply the
  means by e^-t (and the radius: :func:`verify.analysis.cluster_runs.run_cluster` takes log(e^-t r))
  and the descent steps by eta e^t; e^-t must stay a normal number.  Measured: cells at t = 708.3
  run; at 750 they stop with a math domain error, a mixture cell with an overflow of e^t.
* cluster cells (noise, radius, step, phase), in scaled distances (e^-t times the unscaled ones):

  - the cluster's centre, e^-t M0 <= ``CENTRE_MAX`` = 0.01 SWITCH_RADIUS / eps = 4.5e7: the run
    hands the cluster to the engine with a spread of SWITCH_RADIUS (1e-6) around a centre at that
    distance, and float64 rounds the spread by eps e^-t M0 (``SPREAD_ROUNDING``: at most 1%).
    Measured: cells from M0 = 1e2 to 1e9 end alike (stuck, one survivor); from 1e10 on (spread
    below one ulp) they end in a spurious blow-up after 34 steps.
  - the smallest radius, e^-t r >= the smallest normal float64 (the run carries the deviations on
    a log scale from log(e^-t r); below it they lose their digits, at 0 the log fails).
  - the farthest mean and the step: a mean's scaled distance D grows by at most a factor
    1 + 2 eta_s a step (eta_s = eta, or eta e^-2t in the unscaled convention) where the loss's
    curvature is at most 2 (its largest value at a limit point, 2/k:
    :mod:`verify.analysis.stability`), and the run checks for blow-ups (beyond BLOW_UP_FACTOR
    times the start) every RECORD_EVERY steps, so the engine sees at most
    BLOW_UP_FACTOR (D + 1) (1 + 2 eta_s)^RECORD_EVERY; the float64 engine takes distances up to
    ``ENGINE_MAX`` = :data:`verify.engine.lines.FLOAT64_AMAX` (1.4e102, where its bounds ~amax^3
    would overflow; beyond, it refuses with AccuracyError).  Measured (M0 = 6, before the engine
    refused on its own, when its bound overflowed at 4.5e102): steps up to 1e8 ended with the run's
    blow-up check, 1e9 overflowed; radii up to 1e102 ran, 1e103 overflowed.
  - the descent's factor eta e^t (scaled convention) must be finite.
  - the cluster's scaled distance e^-t M0 >= :data:`verify.engine.lines.FLOAT64_AMIN` (2^-485, about
    1e-146), below which the float64 engine refuses (its squares would leave the normal range), so
    t <= log(M0) + 336.2; a cell whose deviations pull its largest coordinate lower still is refused
    by the engine at its start and ends undecided with the reason.
* average: its start M e_1 + SPREAD z is rounded by eps M, at most 1% of SPREAD = 1e-7:
  M <= ``AVERAGE_M_MAX`` = 4.5e6.  Measured (n = 2, 20 steps, uniform weighting over [0.1, 2]):
  the final loss / M^2 agrees with M = 1e4's to 5e-5 at 1e5, moves by 5e-4 at 1e6, 5e-3 at 1e7,
  4% at 1e8, and at 1e9 the two means coincide.  (A step so large that a mean leaves float64's range is a blow-up:
  :class:`verify.explore.average.AverageCell` reports it as one.)
* mixtures: t <= T_MAX, eta e^t finite, and e^-t times the smallest separation >= FLOAT64_AMIN (the
  engine's lower range; their separations and scales are the budget's).

:func:`check_ranges` raises ValueError with one line naming the option and the allowed range.
"""

from __future__ import annotations

import math

import numpy as np

from verify.analysis.cluster_runs import BLOW_UP_FACTOR, SWITCH_RADIUS
from verify.analysis.layouts import unit_deviations, uses_seed
from verify.engine.lines import FLOAT64_AMAX, FLOAT64_AMIN

from .average import SPREAD
from .runner import RECORD_EVERY
from .sweeps import radius_range_for, seeds_for

__all__ = ["T_MAX", "CENTRE_MAX", "ENGINE_MAX", "AVERAGE_M_MAX", "SPREAD_ROUNDING", "check_ranges"]

_F = np.finfo(np.float64)
TINY, HUGE, EPS = float(_F.tiny), float(_F.max), float(_F.eps)
#: The largest noise level: e^-t a normal float64 (module doc).
T_MAX = -math.log(TINY)
#: The largest rounding of a start's spread, relative to it (module doc).
SPREAD_ROUNDING = 0.01
#: The largest scaled distance of a cluster's centre from mu* (module doc).
CENTRE_MAX = SPREAD_ROUNDING * SWITCH_RADIUS / EPS
#: The largest scaled distance the float64 engine takes (module doc).
ENGINE_MAX = FLOAT64_AMAX
#: The largest M of the average study (module doc).
AVERAGE_M_MAX = SPREAD_ROUNDING * SPREAD / EPS


def _groups(opts) -> list[dict]:
    """The study's cells as groups of (value, option) lists for t, the radius and eta, every
    combination within a group being run (phase: one group per panel)."""
    ts = [(t, "--t") for t in opts.t]
    etas = [(e, "--eta") for e in opts.eta]

    def ends(rng, option):
        return [(rng[0], option), (rng[1], option)]

    if opts.study == "noise":
        return [dict(t=ends(opts.t_range, "--t-range"), r=[(r, "--radius") for r in opts.radius], eta=etas)]
    if opts.study == "step":
        return [dict(t=ts, r=[(r, "--radius") for r in opts.radius], eta=ends(opts.eta_range, "--eta-range"))]
    if opts.study == "radius":
        if opts.radius_range is not None:
            radii = ends(opts.radius_range, "--radius-range")
        else:  # the default range per M0 (sweeps.radius_range_for), which --M0 sets
            radii = [(x, "the default radius range of --M0") for M0 in opts.M0
                     for x in radius_range_for(M0, opts.radius_points)[:2]]
        return [dict(t=ts, r=radii, eta=etas)]
    radii = ends(opts.radius_range, "--radius-range")  # phase: (radius, t) and (radius, eta) panels
    return [dict(t=ends(opts.t_range, "--t-range"), r=radii, eta=etas),
            dict(t=ts, r=radii, eta=ends(opts.eta_range, "--eta-range"))]


def _check_t(values) -> None:
    for t, option in values:
        if t > T_MAX:
            raise ValueError(f"{option} must be <= {T_MAX:.4g} (e^-t must stay a normal float64; the runs scale the "
                             f"means by it), got {t:g}")


def _check_factor(t_values, eta_values) -> None:
    """eta e^t, the descent's factor on the unscaled means (scaled convention), must be finite."""
    (t, t_opt), (eta, eta_opt) = max(t_values), max(eta_values)
    if math.log(eta) + t > math.log(HUGE):
        raise ValueError(f"{eta_opt} {eta:g} with {t_opt} up to {t:g}: the descent's factor eta e^t overflows float64; "
                         f"give t <= {math.log(HUGE / eta):.4g} at this step")


def _largest_deviation(opts) -> float:
    # (the gaussian rows of a smaller n are the first rows of the largest n's, from the same seed)
    n = max(opts.n)
    return max(float(np.max(np.linalg.norm(unit_deviations(layout, n, d, seed), axis=1)))
               for layout in opts.layout for d in opts.d for seed in seeds_for(layout, opts.seeds))


#: A gaussian mean's |u| exceeds sqrt(d) + GAUSS_MARGIN with probability at most e^(-GAUSS_MARGIN^2 / 2)
#: (the norm is 1-Lipschitz: Gaussian concentration), e^-800 here, far below one chance among the
#: MAX_CELLS x N_MAX means of a study (verify.explore.sizes).
GAUSS_MARGIN = 40.0


def _deviation_bound(opts) -> float:
    """An upper bound on :func:`_largest_deviation` without drawing a seed's deviations (1 for the
    other layouts, their |u_i| being 0 or 1)."""
    gaussian = any(uses_seed(layout) for layout in opts.layout)
    return math.sqrt(max(opts.d)) + GAUSS_MARGIN if gaussian else 1.0


def _check_cluster(opts, group: dict, deviation) -> None:
    """``deviation(bound)``: the largest |u_i| (an upper bound on it when ``bound``, cheaper)."""
    t_lo, (t_hi, t_hi_opt) = min(group["t"])[0], max(group["t"])
    M0 = max(opts.M0)
    if M0 * math.exp(-t_lo) > CENTRE_MAX:
        raise ValueError(f"--M0 must be <= {CENTRE_MAX * math.exp(t_lo):.3g} at t = {t_lo:g} (the cluster's scaled "
                         f"distance e^-t M0 at most {CENTRE_MAX:.2g}, where float64 rounds its spread "
                         f"{SWITCH_RADIUS:g} by at most {SPREAD_ROUNDING:.0%}), got {M0:g}")
    m_lo = min((m for m in opts.M0 if m > 0), default=0.0)  # (M0 = 0: the cluster at m*, its scale the radius's)
    if m_lo > 0 and math.log(m_lo) - t_hi < math.log(FLOAT64_AMIN):
        fix = (f"give t <= {math.log(m_lo / FLOAT64_AMIN):.4g}" if m_lo > FLOAT64_AMIN * math.exp(t_lo)
               else f"give M0 >= {FLOAT64_AMIN * math.exp(t_hi):.3g}")
        raise ValueError(f"--M0 {m_lo:g} with {t_hi_opt} up to {t_hi:g}: the cluster's scaled distance e^-t M0 "
                         f"is below {FLOAT64_AMIN:.2g}, where the float64 engine refuses (its squares would leave "
                         f"float64's normal range); {fix}")
    (r_lo, r_lo_opt), (r_hi, r_hi_opt) = min(group["r"]), max(group["r"])
    if math.log(r_lo) - t_hi < math.log(TINY):
        raise ValueError(f"{r_lo_opt} {r_lo:g} with {t_hi_opt} up to {t_hi:g}: the scaled radius e^-t r is below "
                         f"float64's smallest normal number {TINY:.3g}; give t <= {math.log(r_lo / TINY):.4g} "
                         "or a larger radius")
    eta, eta_opt = max(group["eta"])
    shrink = 1.0 if opts.convention == "scaled" else math.exp(-2 * t_lo)
    for bound in (True, False):  # the deviations are drawn only when their bound does not pass
        umax = deviation(bound)
        D = math.exp(-t_lo) * (M0 + r_hi * umax) + 1  # (+ 1: the blow-up check's own margin)
        log_reach = math.log(BLOW_UP_FACTOR * D) + RECORD_EVERY * math.log1p(2 * eta * shrink)
        if log_reach <= math.log(ENGINE_MAX):
            break
    if log_reach > math.log(ENGINE_MAX):
        growth = (1 + 2 * eta * shrink) ** RECORD_EVERY
        r_ok = ((ENGINE_MAX / (BLOW_UP_FACTOR * growth) - 1) * math.exp(t_lo) - M0) / umax if umax else math.inf
        eta_ok = ((ENGINE_MAX / (BLOW_UP_FACTOR * D)) ** (1 / RECORD_EVERY) - 1) / 2 / shrink
        fixes = ([f"radius <= {r_ok:.3g} at this step"] if r_ok > 0 else []) + \
                ([f"eta <= {eta_ok:.3g} at this radius"] if eta_ok > 0 else [])
        raise ValueError(f"{r_hi_opt} up to {r_hi:g} with {eta_opt} up to {eta:g}: a mean could pass the scaled "
                         f"distance {ENGINE_MAX:.2g}, where the engine's error bound overflows float64, before the "
                         f"run's blow-up check; give {' or '.join(fixes)}")
    if opts.convention == "scaled":
        _check_factor(group["t"], group["eta"])


def check_ranges(opts) -> None:
    """ValueError naming the option when a value of ``opts`` (a checked :class:`.grid.Options`)
    lies outside the range where its study's float64 runs mean something (module doc)."""
    if opts.study == "average":
        M0 = max(opts.M0)
        if M0 > AVERAGE_M_MAX:
            raise ValueError(f"--M0 must be <= {AVERAGE_M_MAX:.3g} for the average study (float64 rounds its start "
                             f"M e_1 + {SPREAD:g} z by at most {SPREAD_ROUNDING:.0%} of the spread there), got {M0:g}")
        return
    if opts.study == "mixtures":
        t_values, eta_values = [(t, "--t") for t in opts.t], [(e, "--eta") for e in opts.eta]
        _check_t(t_values)
        _check_factor(t_values, eta_values)
        s_lo, t_hi = min(opts.extra["separations"]), max(opts.t)
        if math.log(s_lo) - t_hi < math.log(FLOAT64_AMIN):  # the truths' scaled separation, the engine's lower range
            raise ValueError(f"--t up to {t_hi:g}: the mixture's scaled separation e^-t s ({s_lo:g} at least) is below "
                             f"{FLOAT64_AMIN:.2g}, where the float64 engine refuses; give t <= "
                             f"{math.log(s_lo / FLOAT64_AMIN):.4g}")
        return
    groups = _groups(opts)
    for g in groups:
        _check_t(g["t"])
    drawn = []

    def umax(bound: bool) -> float:  # the bound first: drawing every seed's deviations takes ~0.1 ms a seed
        if bound:
            return _deviation_bound(opts)
        if not drawn:
            drawn.append(_largest_deviation(opts))
        return drawn[0]

    for g in groups:
        _check_cluster(opts, g, umax)
