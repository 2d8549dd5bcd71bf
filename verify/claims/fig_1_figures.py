"""The figures of the paper's experiment (fig-1): distances, loss slopes, accuracy, sampled - exact.

Each figure says in its title that it is the paper's Figure 1 and how long the runs were (the
paper's are 20,000 steps); colours name one thing (a mean, a seed, or M) and line styles another
(exact or sampled), each with its own legend entry, so no legend lists every line.  Distances
are of the scaled means, |m_i - m*|; the experiment has t = 0, where m = mu.

matplotlib is imported when a figure is drawn, not when the claim is registered."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["figures"]

PAPER_STEPS = 20_000  # the paper's horizon (Figure 1)
#: what the paper states for each M (drawn into the panel titles)
_PAPER = {4: "paper: all five converge", 6: "paper: one converges, four diverge"}


def figures(trajs: dict, window_slopes) -> dict:
    """{file name: draw(path)} for the runs ``trajs`` ({"exact M=4 seed=0": Trajectory, ...});
    ``window_slopes(steps, loss) -> [(from, to, slope), ...]`` gives the loss slopes drawn."""
    return {
        "fig_1_distances.png": lambda path: _draw_distances(path, trajs),
        "fig_1_loss.png": lambda path: _draw_loss(path, trajs, window_slopes),
        "fig_1_accuracy.png": lambda path: _draw_accuracy(path, trajs),
        "fig_1_sampled_minus_exact.png": lambda path: _draw_difference(path, trajs),
    }


def _pairs(trajs, M):
    return sorted(k for k in trajs if f" M={M} " in k)


def _steps(trajs, M) -> int:
    return max((int(trajs[k].steps[-1]) for k in _pairs(trajs, M)), default=0)


def _horizon(trajs) -> str:
    s4, s6 = _steps(trajs, 4), _steps(trajs, 6)
    if s4 == s6 == PAPER_STEPS:
        return f"runs of {PAPER_STEPS:,} steps, as in the paper"
    return f"shortened runs: {s4:,} steps at M = 4, {s6:,} at M = 6; the paper's: {PAPER_STEPS:,}"


def _seed(key: str) -> int:
    return int(key.split("seed=")[1])


def _colour_keys(plots, names):
    """Legend entries for colours C0, C1, ... named ``names`` (solid lines)."""
    from matplotlib.lines import Line2D

    return [Line2D([], [], color=f"C{i}", label=name) for i, name in enumerate(names)]


def _draw_distances(path, trajs):
    """r_i(tau) for each mean: exact solid, sampled dashed (same seed, same start), M = 4 and M = 6."""
    from verify.claims import figures as plots

    fig, axes = plots.plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained", sharey=True)
    n_means = 0
    for ax, M in zip(axes, (4, 6)):
        for key in _pairs(trajs, M):
            if _seed(key) != 0:
                continue
            tr = trajs[key]
            n_means = max(n_means, tr.distances.shape[1])
            style = "-" if key.startswith("exact") else "--"
            for i in range(tr.distances.shape[1]):
                ax.semilogy(tr.steps, tr.distances[:, i], style, color=f"C{i}", lw=1.2)
        plots.set_title(ax, f"M = {M}, seed 0 ({_PAPER[M]})")
        ax.set_xlabel("iteration tau")
        ax.set_ylabel("|m_i - m*|")
        ax.grid(True, which="major", alpha=0.3)
    axes[1].legend(handles=_colour_keys(plots, [f"mean {i + 1}" for i in range(n_means)])
                   + [plots.style_key("exact gradient", "-"), plots.style_key("sampled gradient", "--")],
                   fontsize=7)
    plots.suptitle(fig, f"Paper's Figure 1, distance of each mean from m* ({_horizon(trajs)})")
    plots.save(fig, path)


def _draw_loss(path, trajs, window_slopes):
    """Loss on log-log axes with local slopes over doubling windows; colour per seed, exact solid,
    sampled dashed; the paper's slope -1 in the M = 6 panel (it states no slope for M = 4)."""
    from verify.claims import figures as plots

    fig, axes = plots.plt.subplots(2, 2, figsize=(11, 7), layout="constrained", sharex="col", height_ratios=(2, 1))
    for col, M in enumerate((4, 6)):
        top, bottom = axes[0, col], axes[1, col]
        seeds = sorted({_seed(k) for k in _pairs(trajs, M)})
        for key in _pairs(trajs, M):
            tr = trajs[key]
            style = "-" if key.startswith("exact") else "--"
            colour = f"C{seeds.index(_seed(key))}"
            keep = (tr.steps > 0) & (tr.loss > 0)
            top.loglog(tr.steps[keep], tr.loss[keep], style, color=colour)
            ws = window_slopes(tr.steps, tr.loss)
            if ws:
                xm = [math.sqrt(a * b) for a, b, _ in ws]
                bottom.semilogx(xm, [s for *_, s in ws], style, marker="o", color=colour)
        top.legend(handles=_colour_keys(plots, [f"seed {s}" for s in seeds])
                   + [plots.style_key("exact gradient", "-"), plots.style_key("sampled gradient", "--")],
                   fontsize=7)
        bottom_keys = [plots.style_key("exact: slope of one window", "-", "o"),
                       plots.style_key("sampled: slope of one window", "--", "o")]
        if M == 6:
            bottom.axhline(-1, ls=":", color="k", label="paper: slope about -1")
            bottom_keys.append(bottom.get_lines()[-1])
        # long enough to show the dashes beside the marker
        bottom.legend(handles=bottom_keys, fontsize=7, handlelength=4)
        plots.set_title(top, f"M = {M}: loss ({_PAPER[M]})")
        top.set_ylabel("L(tau)")
        top.grid(True, which="major", alpha=0.3)
        bottom.set_xlabel("iteration tau")
        bottom.set_ylabel("slope over a doubling window")
        bottom.grid(True, which="major", alpha=0.3)
    plots.suptitle(fig, f"Paper's Figure 1, loss and its log-log slope ({_horizon(trajs)})")
    plots.save(fig, path)


def _draw_accuracy(path, trajs):
    """Engine relative error estimates along the exact runs; Monte Carlo relative standard error along
    the sampled ones.  Colour: M; style: which error."""
    from verify.claims import figures as plots

    fig, ax = plots.new_axes(xlabel="iteration tau", ylabel="relative error (estimate)", figsize=(7, 4.6))
    for key, tr in sorted(trajs.items()):
        colour = "C0" if " M=4 " in key else "C1"
        if key.startswith("exact"):
            ax.semilogy(tr.steps, tr.loss_err / tr.loss, "-", color=colour, lw=1)
            ax.semilogy(tr.steps, np.maximum(tr.grad_rel_err, 1e-17), ":", color=colour, lw=1)
        else:
            ax.semilogy(tr.steps, tr.grad_rel_err, "--", color=colour, lw=1)
    counts = {M: len(_pairs(trajs, M)) for M in (4, 6)}
    ax.legend(handles=_colour_keys(plots, [f"M = {M} ({counts[M]} runs)" for M in (4, 6)])
              + [plots.style_key("engine: loss error", "-"), plots.style_key("engine: gradient error", ":"),
                 plots.style_key("Monte Carlo: gradient standard error", "--")], fontsize=7)
    plots.set_title(ax, f"Paper's Figure 1: accuracy of the loss and gradient along each run ({_horizon(trajs)})")
    plots.save(fig, path)


def _draw_difference(path, trajs):
    """r_i(sampled) - r_i(exact) for the same seed and start, at the steps both runs recorded."""
    from verify.claims import figures as plots

    fig, axes = plots.plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    styles = ("-", ":", "--", "-.")
    seeds_seen, n_means = [], 0
    for ax, M in zip(axes, (4, 6)):
        for key in _pairs(trajs, M):
            if not key.startswith("sampled"):
                continue
            twin = "exact" + key[len("sampled"):]
            if twin not in trajs:
                continue
            s_tr, e_tr = trajs[key], trajs[twin]
            common, i_s, i_e = np.intersect1d(s_tr.steps, e_tr.steps, return_indices=True)
            diff = s_tr.distances[i_s] - e_tr.distances[i_e]
            seed = _seed(key)
            seeds_seen = sorted(set(seeds_seen) | {seed})
            n_means = max(n_means, diff.shape[1])
            for i in range(diff.shape[1]):
                ax.plot(common, diff[:, i], styles[seed % len(styles)], color=f"C{i}", lw=1)
        ax.set_xscale("symlog", linthresh=100)
        ax.set_yscale("symlog", linthresh=1e-6)
        plots.set_title(ax, f"M = {M}")
        ax.set_xlabel("iteration tau")
        ax.set_ylabel("|m_i - m*| (sampled run) - |m_i - m*| (exact)")
        ax.grid(True, which="major", alpha=0.3)
    axes[1].legend(handles=_colour_keys(plots, [f"mean {i + 1}" for i in range(n_means)])
                   + [plots.style_key(f"seed {s}", styles[s % len(styles)]) for s in seeds_seen], fontsize=7)
    plots.suptitle(fig, f"Paper's Figure 1: sampled minus exact gradient runs from the same start ({_horizon(trajs)})")
    plots.save(fig, path)
