"""The figures of the paper's experiment (fig-1): distances, loss slopes, accuracy, sampled - exact.

matplotlib is imported when a figure is drawn, not when the claim is registered."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["figures"]


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


def _draw_distances(path, trajs):
    """r_i(tau) for each mean: exact solid, sampled dashed (same seed, same start), M = 4 and M = 6."""
    from verify.claims import figures as plots
    from verify.claims.figures import plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained", sharey=True)
    for ax, M in zip(axes, (4, 6)):
        for key in _pairs(trajs, M):
            if not key.endswith("seed=0"):
                continue
            tr = trajs[key]
            style = "-" if key.startswith("exact") else "--"
            for i in range(tr.distances.shape[1]):
                ax.semilogy(tr.steps, tr.distances[:, i], style, color=f"C{i}", lw=1.2,
                            label=f"{key.split()[0]} mean {i}" if style == "-" or i == 0 else None)
        ax.set_title(f"M = {M}, seed 0: |m_i - m*| (solid exact, dashed sampled)")
        ax.set_xlabel("iteration")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("distance from mu*")
    axes[1].legend(fontsize=7)
    plots.save(fig, path)


def _draw_loss(path, trajs, window_slopes):
    """Loss on log-log axes with local slopes over doubling windows; exact solid, sampled dashed."""
    from verify.claims import figures as plots
    from verify.claims.figures import plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), layout="constrained", sharex="col", height_ratios=(2, 1))
    for col, M in enumerate((4, 6)):
        top, bottom = axes[0, col], axes[1, col]
        for c, key in enumerate(_pairs(trajs, M)):
            tr = trajs[key]
            style = "-" if key.startswith("exact") else "--"
            keep = (tr.steps > 0) & (tr.loss > 0)
            top.loglog(tr.steps[keep], tr.loss[keep], style, color=f"C{c}", label=key)
            ws = window_slopes(tr.steps, tr.loss)
            if ws:
                xm = [math.sqrt(a * b) for a, b, _ in ws]
                bottom.semilogx(xm, [s for *_, s in ws], style, marker="o", color=f"C{c}")
        bottom.axhline(-1, ls=":", color="k", label="paper: -1 (M = 6)")
        top.set_title(f"M = {M}: loss")
        top.grid(True, which="major", alpha=0.3)
        top.legend(fontsize=7)
        bottom.set_xlabel("iteration")
        bottom.set_ylabel("slope over doubling window")
        bottom.grid(True, which="major", alpha=0.3)
        bottom.legend(fontsize=7)
    axes[0, 0].set_ylabel("L(tau)")
    plots.save(fig, path)


def _draw_accuracy(path, trajs):
    """Engine relative error estimates along the exact runs; Monte Carlo relative standard error along the sampled."""
    from verify.claims import figures as plots

    fig, ax = plots.new_axes(xlabel="iteration", ylabel="relative error estimate",
                               title="accuracy along the runs")
    for c, (key, tr) in enumerate(sorted(trajs.items())):
        if key.startswith("exact"):
            ax.semilogy(tr.steps, tr.loss_err / tr.loss, "-", color=f"C{c}", label=f"{key}: loss")
            ax.semilogy(tr.steps, np.maximum(tr.grad_rel_err, 1e-17), ":", color=f"C{c}", label=f"{key}: gradient")
        else:
            ax.semilogy(tr.steps, tr.grad_rel_err, "--", color=f"C{c}", label=f"{key}: MC gradient std. error")
    ax.legend(fontsize=6, ncol=2)
    plots.save(fig, path)


def _draw_difference(path, trajs):
    """r_i(sampled) - r_i(exact) for the same seed and start, at the steps both runs recorded."""
    from verify.claims import figures as plots
    from verify.claims.figures import plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
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
            seed = key.split("seed=")[1]
            for i in range(diff.shape[1]):
                ax.plot(common, diff[:, i], "-" if seed == "0" else ":", color=f"C{i}", lw=1,
                        label=f"seed {seed}, mean {i}")
        ax.set_xscale("symlog", linthresh=100)
        ax.set_yscale("symlog", linthresh=1e-6)
        ax.set_title(f"M = {M}: r_i(sampled) - r_i(exact), same start")
        ax.set_xlabel("iteration")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=6, ncol=2)
    axes[0].set_ylabel("distance difference")
    plots.save(fig, path)
