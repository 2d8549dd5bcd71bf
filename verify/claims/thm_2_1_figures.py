"""The figure of Theorem 2.1 (large noise): the parameters and the loss against tau, their local
slopes, the theorem's bound exponent and the linearisation's exponents (findings).

matplotlib is imported when the figure is drawn, not when the claim is registered."""

from __future__ import annotations

import math

from verify.analysis import rates

__all__ = ["draw"]


def draw(path, runs, *, window_start_ratio: float, param_exponent: float, loss_exponent: float,
         bound_exponent: float) -> None:
    """max_i |m_i - m*| and L_t against tau (log-log, top) and their local slopes (bottom), for the
    runs of :func:`verify.claims.thm_2_1.run` (each with ``trajectory``, ``n``, ``d``, ``eta``,
    ``steps``); the slope windows start at ``steps / window_start_ratio`` (dotted)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D

    from verify.claims import figures

    fig, axes = figures.plt.subplots(2, 2, figsize=(11, 7), sharex="col", height_ratios=(2, 1),
                                     layout="constrained")
    # few runs (quick): a colour and a legend entry each; many (full: 23): the colour is n (a colour
    # bar) and the line style the step rule, so the legend stays short (runs differing only in d
    # share both)
    few = len(runs) <= 4
    ns = sorted({r.n for r in runs})
    norm = Normalize(min(ns), max(ns) if max(ns) > min(ns) else min(ns) + 1)
    keys = []
    for r in runs:
        tr = r.trajectory
        tau = tr.steps.astype(float)
        pos = tau > 0
        half = math.isclose(r.eta, r.n / 2)
        colour = f"C{len(keys)}" if few else figures.plt.get_cmap("viridis")(norm(r.n))
        style = "-" if few or not half else "--"
        for col, y in enumerate((tr.distances.max(axis=1), tr.loss)):
            axes[0, col].loglog(tau[pos], y[pos], style, color=colour)
            xm, sl = rates.local_slopes(tau[pos], y[pos], per_decade=6)
            axes[1, col].semilogx(xm, sl, style, marker="." if few else "None", color=colour)
            if few:
                axes[0, col].axvline(r.steps / window_start_ratio, color=colour, lw=0.6, ls=":")
        if few:
            keys.append(Line2D([], [], color=colour, label=f"n={r.n} d={r.d} eta={r.eta:.3g}"))
    if few:
        keys.append(figures.style_key("start of the slope windows", ":"))
        keys.append(figures.style_key("local slope", "-", "."))
    else:
        fig.colorbar(ScalarMappable(norm, "viridis"), ax=axes, label="n (number of means)", shrink=0.6, ticks=ns)
        keys = [figures.style_key("the theorem's step", "-"), figures.style_key("eta = n/2", "--")]
    refs = [axes[1, 0].axhline(param_exponent, color="k", ls="--", lw=1,
                               label=f"{param_exponent:g}, {loss_exponent:g}: linearisation (a finding)"),
            axes[1, 1].axhline(bound_exponent, color="r", ls="--", lw=1,
                               label=f"{bound_exponent:g}: the theorem's bound (paper)")]
    axes[1, 1].axhline(loss_exponent, color="k", ls="--", lw=1)
    for ax, label, title in zip(axes[0], ("max_i |m_i - m*|", "L_t"), ("parameters", "loss")):
        ax.set_ylabel(label)
        figures.set_title(ax, title)
    # the reference lines get a margin so none is drawn on the frame
    for ax in axes[1]:
        ax.set_xlabel("tau (steps)")
        ax.set_ylabel("local slope")
        low, high = ax.get_ylim()
        ax.set_ylim(low - 0.06 * (high - low), high + 0.06 * (high - low))
    # one legend below the panels: inside, any corner crossed some run's curve
    fig.legend(handles=keys + refs, fontsize=7, ncols=4, loc="outside lower center")
    for ax in axes.ravel():
        ax.grid(True, which="major", alpha=0.3)
    figures.suptitle(fig, f"Theorem 2.1 (large noise): all means converge to m*, L_t = O(tau^{bound_exponent:g}) "
                          f"(red: the slope bound)")
    figures.save(fig, path)
