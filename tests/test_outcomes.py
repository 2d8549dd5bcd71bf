"""The outcome of a run (verify.simulate.outcomes): one vocabulary, the rules the claims and the gate
use, and a negative control for each decision."""

from __future__ import annotations

import numpy as np
import pytest

from verify.simulate import outcomes as oc
from verify.simulate.descent import Trajectory

TAU = np.arange(1, 41)


def _run(dist, steps=None, loss=None, mu=None):
    dist = np.asarray(dist, float)
    steps = np.arange(len(dist)) if steps is None else np.asarray(steps, float)
    return oc.Recorded(steps, dist, None if loss is None else np.asarray(loss, float), mu)


def test_tail_rule_labels_each_mean():
    conv = 1.0 / np.sqrt(TAU)  # approaching, but ends at 0.16 > 0.1: not yet
    conv2 = 1.0 / TAU  # converges
    away = 6 + np.log(TAU)  # recedes like log tau
    stuck = 3 + 0 * TAU  # neither
    out = oc.classify(_run(np.stack([conv, conv2, away, stuck], axis=1), TAU))
    assert out.means == (oc.UNDECIDED, oc.CONVERGES, oc.RECEDES, oc.UNDECIDED)
    assert out.survivors == 1 and out.run == oc.PARTIAL_RECOVERY
    # the receding mean's growth law: r = 6 + log tau, slope 1 against log tau
    assert out.growth[2] == pytest.approx(1.0, rel=1e-12)
    # negative control: a mean that comes back in the second half does not recede
    back = np.concatenate([6 + np.log(TAU[:30]), 6 + np.log(30) - 0.1 * np.arange(1, 11)])
    assert oc.classify(_run(back[:, None])).means == (oc.UNDECIDED,)


def test_all_converge_and_undecided_runs():
    assert oc.classify(_run(np.stack([1 / TAU, 0.5 / TAU], axis=1), TAU)).run == oc.ALL_CONVERGE
    # negative control: a mean that moves out again at the end is not converging
    late = np.concatenate([1 / TAU[:-1], [0.05]])
    assert oc.classify(_run(np.stack([1 / TAU, late], axis=1), TAU)).run == oc.UNDECIDED


def test_a_non_finite_mean_blows_up():
    tr = Trajectory(TAU, np.ones(40), np.zeros(40), np.zeros(40), np.stack([1 / TAU] * 2, axis=1),
                    np.zeros((40, 2, 1)), np.array([[0.0], [np.inf]]), np.zeros(1), 0.1, 0.0, "scaled",
                    stopped="non-finite means after step 40")
    out = oc.classify(tr)
    assert out.means == (oc.CONVERGES, oc.BLOWS_UP) and out.run == oc.OSCILLATES_OR_BLOWS_UP
    bounded = oc.Rule(radius=0.1, settle="monotone", grow="monotone", beyond_start=True, bound=10.0)
    assert oc.classify(_run((6 + np.log(TAU))[:, None]), bounded).means == (oc.RECEDES,)
    assert oc.classify(_run((6 + 3 * np.log(TAU))[:, None]), bounded).means == (oc.BLOWS_UP,)


def test_slope_rule_uses_the_noise():
    # fig-1's rule: log-log slope over [T/2, T]; a change must exceed z x its noise
    steps = np.arange(0, 1001, 50.0)
    r = np.stack([1 / np.maximum(steps, 1) ** 0.5, 7 + 0.01 * np.log1p(steps)], axis=1)
    rule = oc.Rule(window="half_steps", settle_slope=0.25, grow="noise", z=3.0)
    assert oc.classify(_run(r, steps), rule).means == (oc.CONVERGES, oc.RECEDES)
    # negative control: the same run, with noise larger than the changes, decides nothing
    assert oc.classify(_run(r, steps), rule, noise=np.array([1.0, 1.0])).means == (oc.UNDECIDED, oc.UNDECIDED)
    with pytest.raises(ValueError, match="T > T/2 > 0"):
        oc.classify(_run(r[:2], [0.0, 0.0]), rule)


def test_the_gates_endpoint_rule():
    rule = oc.Rule(window="all", fraction=0.5, beyond_start=True, survivors=1, loss_fraction=0.5)
    # one survivor, the other recedes: partial recovery with one survivor
    assert oc.classify(_run([[3.0, 3.3], [0.1, 4.0]], loss=[1, 1]), rule).run == oc.PARTIAL_RECOVERY
    # two survivors is not "one survivor"; the loss halving then makes it all converge
    assert oc.classify(_run([[3.0, 3.3], [0.1, 0.2]], loss=[1, 0.1]), rule).run == oc.ALL_CONVERGE
    # negative control: neither one survivor nor a falling loss
    assert oc.classify(_run([[3.0, 3.3], [2.0, 2.0]], loss=[1, 0.9]), rule).run == oc.UNDECIDED
    # the run's own loss not finite: blown up
    assert oc.classify(_run([[3.0, 3.3], [0.1, 4.0]], loss=[1, np.nan]), rule).run == oc.OSCILLATES_OR_BLOWS_UP


def test_cluster_rule_needs_the_largest_distance_to_settle():
    rule = oc.Rule(window="all", radius=0.1, settle="largest", grow="strict", recede_radius=5.0)
    assert oc.classify(_run([[0.09, 0.08], [0.08, 0.07], [0.07, 0.06], [0.06, 0.05]]), rule).run == oc.ALL_CONVERGE
    # negative control: every mean inside the radius, but the largest distance grew
    assert oc.classify(_run([[0.05, 0.08], [0.05, 0.09], [0.05, 0.07], [0.05, 0.06]]), rule).run == oc.UNDECIDED
    # a mean beyond the bound and growing at every record recedes
    grown = oc.classify(_run([[0.1, 5.1], [0.1, 5.2], [0.1, 5.3], [0.1, 5.4]]), rule)
    assert grown.means[1] == oc.RECEDES and grown.run == oc.PARTIAL_RECOVERY


def test_plateau_is_stuck():
    rule = oc.Rule(radius=0.1, settle="monotone", grow="monotone", beyond_start=True, plateau=1e-6)
    flat = _run(np.full((10, 2), 2.55), loss=np.full(10, 0.94))
    assert oc.classify(flat, rule).run == oc.STUCK
    # negative control: a loss that still falls is not on a plateau
    falling = _run(np.full((10, 2), 2.55), loss=np.linspace(0.94, 0.5, 10))
    assert oc.classify(falling, rule).run == oc.UNDECIDED


def test_rules_are_checked():
    with pytest.raises(ValueError, match="convergence criterion"):
        oc.Rule(grow="monotone")
    with pytest.raises(ValueError, match="receding criterion"):
        oc.Rule(radius=0.1)
    with pytest.raises(ValueError, match="window"):
        oc.Rule(window="last", radius=0.1, beyond_start=True)
    with pytest.raises(ValueError, match="at least 3"):
        oc.classify(_run(np.ones((2, 2))))


def test_a_rising_loss_oscillates():
    rule = oc.Rule(window="all", radius=0.1, settle="largest", grow="strict", recede_radius=3.0, rise=1e-6)
    near = np.full((4, 2), 0.05)
    falling = _run(near, loss=[1e-3, 9e-4, 8e-4, 7e-4])
    assert oc.classify(falling, rule).run == oc.ALL_CONVERGE
    # a rise of the loss at one record (a step beyond the stability limit) is oscillation, not convergence
    rising = _run(near, loss=[1e-3, 9e-4, 9.5e-4, 7e-4])
    assert oc.classify(rising, rule).run == oc.OSCILLATES_OR_BLOWS_UP
    # negative control: a rise below the threshold (the loss's error, ~1e-10 relative) is not
    level = _run(near, loss=[1e-3, 9e-4, 9e-4 * (1 + 1e-9), 7e-4])
    assert oc.classify(level, rule).run == oc.ALL_CONVERGE


def test_stuck_needs_still_means_when_asked():
    rule = oc.Rule(window="all", radius=0.1, settle="largest", grow="strict", recede_radius=3.0,
                   plateau=1e-6, still=1e-6)
    flat = np.full(6, 0.94)
    pos = np.tile(np.array([[[2.55], [-2.55], [0.0]]]), (6, 1, 1))
    dist = np.abs(pos[:, :, 0])
    assert oc.classify(oc.Recorded(np.arange(6) * 11, dist, flat, None, pos), rule).run == oc.STUCK
    # negative control: a 2-cycle seen at odd spacings (loss and distances flat, positions flip) is not stuck
    cyc = pos.copy()
    cyc[1::2] *= -1
    assert oc.classify(oc.Recorded(np.arange(6) * 11, dist, flat, None, cyc), rule).run == oc.UNDECIDED
    # without positions the rule cannot say the means are still: not stuck
    assert oc.classify(oc.Recorded(np.arange(6) * 11, dist, flat), rule).run == oc.UNDECIDED
    with pytest.raises(ValueError, match="still and cycle refine plateau"):
        oc.Rule(radius=0.1, beyond_start=True, still=1e-6)
    with pytest.raises(ValueError, match="rise must be >= 0"):
        oc.Rule(radius=0.1, beyond_start=True, rise=-1.0)


def test_inside_settle_lets_a_survivor_converge_beside_a_receding_loser():
    rule = oc.Rule(window="all", radius=0.1, settle="inside", grow="strict", recede_radius=3.0)
    split = _run([[0.04, 5.0], [0.03, 5.1], [0.02, 5.2], [0.01, 5.3]])
    out = oc.classify(split, rule)
    assert out.means == (oc.CONVERGES, oc.RECEDES) and out.survivors == 1
    # "largest" holds the survivor back: the largest distance (the loser's) grows
    largest = oc.Rule(window="all", radius=0.1, settle="largest", grow="strict", recede_radius=3.0)
    assert oc.classify(split, largest).means == (oc.UNDECIDED, oc.RECEDES)
    # negative control: a survivor-to-be whose distance grows inside the radius does not converge yet
    wobble = _run([[0.01, 5.0], [0.02, 5.1], [0.03, 5.2], [0.04, 5.3]])
    assert oc.classify(wobble, rule).means == (oc.UNDECIDED, oc.RECEDES)


def test_blown_up_is_beyond_the_bound_or_not_finite():
    # the check the cluster runs and the average study stop on (verify.analysis.cluster_runs.blow_up_bound)
    from verify.analysis.cluster_runs import BLOW_UP_FACTOR, blow_up_bound

    bound = blow_up_bound(4.0)
    assert bound == BLOW_UP_FACTOR * 5.0
    assert oc.blown_up([bound * 1.01, 3.0], bound).tolist() == [True, False]
    assert oc.blown_up([[1.0, 2.0], [np.inf, 2.0], [1.0, np.nan]]).tolist() == [True, True]
    # the negative control: at the bound, or without one, a finite distance is not a blow-up
    assert not oc.blown_up([bound, 0.0], bound).any()
    assert not oc.blown_up([1e300, 0.0]).any()
