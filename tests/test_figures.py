"""Every figure the report draws can be read on its own: a title inside the figure, labelled axes,
a legend entry (or a colour bar) for every line, legends short enough to read.

Each claim's drawing functions are called here with small synthetic data of the shape the claim
hands them (the real runs take minutes); :func:`verify.claims.figures.save` checks each figure
with :func:`~verify.claims.figures.figure_problems` and refuses to write one that fails.  The
checker's negative controls are figures with each defect, which it must name.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from verify.analysis import counterexample as ce
from verify.claims import (cor_3_6, fig_1, fig_1_figures, thm_2_1, thm_2_1_figures, thm_3_1, thm_3_2, thm_3_4, thm_3_5,
                           thm_3_7)
from verify.claims import figures as F

PNG = b"\x89PNG\r\n\x1a\n"


def _trajectory(steps=400, n=3, rate=-1.0, scale=1.0):
    tau = np.arange(0, steps + 1, 10, dtype=float)
    r = scale * np.outer((1 + tau) ** rate, 1 + np.arange(n))
    loss = (r**2).sum(axis=1)
    return SimpleNamespace(steps=tau.astype(int), distances=r, loss=loss, loss_err=1e-14 * loss,
                           grad_rel_err=np.full(tau.shape, 1e-13))


def _thm_2_1(path):
    runs = [SimpleNamespace(trajectory=_trajectory(2000, n), n=n, d=n - 1, eta=0.1 * n, steps=2000) for n in (2, 3)]
    thm_2_1._figure(path, runs)


def _thm_3_2(path):
    rows = [{"M0": M0, "r_star": math.exp(-M0**2), "critical_linear_spread": 30.0, "eta": eta, "layout": "(r, 0)",
             "bracketed": True} for M0 in (3.0, 3.5, 4.0) for eta in (0.05, 0.1)]
    rows.append({"M0": 1.5, "r_star": None, "critical_linear_spread": None, "eta": 0.05, "layout": "(r, 0)",
                 "bracketed": False})  # an unbracketed boundary is drawn as nothing
    thm_3_2._figure(path, rows, [])


def _thm_3_4(path):
    runs = {}
    for M0 in (1.0, 2.5, 4.0):
        tr = _trajectory(1500, 3)
        tr.distances[:, 1:] = M0 * (1 + tr.steps[:, None] / 1500)  # the losers recede
        runs[M0] = SimpleNamespace(status=ce.WORKS if M0 > 2 else ce.DOES_NOT_WORK, distances=tr.distances,
                                   recorded_steps=list(tr.steps))
    thm_3_4._figure(path, runs)


def _fig_1(name):
    trajs = {f"{kind} M={M} seed={s}": _trajectory(1000, 5, scale=M)
             for kind in ("exact", "sampled") for M in (4, 6) for s in (0, 1)}
    return lambda path: fig_1_figures.figures(trajs, fig_1.loss_window_slopes)[name](path)


DRAWINGS = {
    "thm_2_1_rates.png": _thm_2_1,
    "thm_3_1_path_loss.png": thm_3_1._figure,
    "thm_3_2_boundary.png": _thm_3_2,
    "thm_3_4_scan.png": _thm_3_4,
    "thm_3_5_stages.png": lambda path: thm_3_5._draw_stages(path, _trajectory(200, 3), 14.0),
    "cor_3_6_loss_times_tau.png": lambda path: cor_3_6._figure_ltau(path, _trajectory(4096, 2)),
    "thm_3_7_loss_slopes.png": lambda path: thm_3_7._figure(path, _trajectory(8192, 2)),
    **{name: _fig_1(name) for name in ("fig_1_distances.png", "fig_1_loss.png", "fig_1_accuracy.png",
                                        "fig_1_sampled_minus_exact.png")},
}


@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_each_claims_figure_passes_the_check_and_is_written(name, tmp_path):
    DRAWINGS[name](tmp_path / name)  # save() raises FigureError naming what is missing
    assert (tmp_path / name).read_bytes()[:8] == PNG


def test_thm_2_1_figure_with_the_full_budgets_23_runs_passes_the_check(tmp_path):
    # full runs 23 cases (n = 2..6, d = 1..4, two step rules): one legend entry per run would pass
    # the legend limit, so the colour becomes n (a colour bar) and the style the step rule
    cases = thm_2_1.BUDGETS["full"]["cases"]
    runs = [SimpleNamespace(trajectory=_trajectory(2000, n), n=n, d=d, eta=(n / 2 if rule == "n/2" else 0.05),
                            steps=2000) for n, d, rule, _ in cases]
    assert len(runs) > F.MAX_LEGEND
    thm_2_1._figure(tmp_path / "thm_2_1_rates.png", runs)
    assert (tmp_path / "thm_2_1_rates.png").read_bytes()[:8] == PNG


def test_every_figure_a_claim_draws_is_covered_here():
    # the figure names the claims register (read from their sources) are all drawn above
    import inspect
    import re

    from verify.claims import thm_3_5 as t35

    names = set()
    for module in (thm_2_1, thm_3_1, thm_3_2, thm_3_4, t35, cor_3_6, thm_3_7, fig_1_figures, thm_2_1_figures):
        names |= set(re.findall(r'"(\w+\.png)"', inspect.getsource(module)))
    assert names == set(DRAWINGS)


# -- the checker's negative controls ---------------------------------------------------------


def _plain(title="a figure", xlabel="x", ylabel="y"):
    fig, ax = F.plt.subplots(figsize=(6, 4), layout="constrained")
    if title:
        ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig, ax


def test_a_complete_figure_has_no_problem():
    fig, ax = _plain()
    ax.plot([1, 2], [1, 2], label="a line")
    ax.legend()
    assert F.figure_problems(fig) == []
    F.plt.close(fig)


@pytest.mark.parametrize("defect, words", [
    ("no x label", "has no x label"),
    ("no y label", "has no y label"),
    ("no title", "no title"),
    ("clipped title", "reaches outside the figure"),
    ("line without a legend entry", "a line (unlabelled"),
    ("legend of 12 entries", "a legend has 12 entries"),
    ("colour without a key", "has no legend entry"),
])
def test_a_figure_with_a_defect_is_refused_by_name(defect, words, tmp_path):
    fig, ax = _plain(title=None if defect == "no title" else
                     ("a title much too long for the figure " * 6 if defect == "clipped title" else "t"),
                     xlabel="" if defect == "no x label" else "x", ylabel="" if defect == "no y label" else "y")
    ax.plot([1, 2], [1, 2], label="first")
    if defect == "line without a legend entry":
        ax.plot([1, 2], [2, 1])
    if defect == "legend of 12 entries":
        for k in range(11):
            ax.plot([1, 2], [k, k], label=f"line {k}")
    if defect == "colour without a key":  # the style is named, this colour is not
        ax.plot([1, 2], [3, 3], "--", color="C5")
        ax.legend(handles=[ax.get_lines()[0], F.style_key("dashed", "--")])
    else:
        ax.legend()
    problems = F.figure_problems(fig)
    assert any(words in p for p in problems), problems
    with pytest.raises(F.FigureError, match="x.png"):
        F.save(fig, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_colour_and_style_keys_cover_lines_together_and_a_colour_bar_covers_colours():
    fig, ax = _plain()
    ax.plot([1, 2], [1, 2], "-", color="C0")
    ax.plot([1, 2], [2, 1], "--", color="C0")
    from matplotlib.lines import Line2D

    ax.legend(handles=[Line2D([], [], color="C0", label="run 0"), F.style_key("exact", "-"),
                       F.style_key("sampled", "--")])
    assert F.figure_problems(fig) == []
    F.plt.close(fig)
    # a colour bar names the colours; the lines' styles must still be in a legend
    from matplotlib.cm import ScalarMappable

    fig, ax = _plain()
    ax.plot([1, 2], [1, 2], ":", color="C3")
    fig.colorbar(ScalarMappable(), ax=ax, label="M0")
    assert any("no legend entry" in p for p in F.figure_problems(fig))
    ax.legend(handles=[F.style_key("dotted", ":")])
    assert F.figure_problems(fig) == []
    F.plt.close(fig)
