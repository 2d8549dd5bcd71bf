"""The figure of Theorem 2.1 (large noise): the parameters and the loss against tau, their local
slopes, the theorem's bound exponent and the linearisation's exponents (findings).

matplotlib is imported when the figure is drawn, not when the claim is registered."""

from __future__ import annotations

from verify.analysis import rates

__all__ = ["draw"]


def draw(path, runs, *, window_start_ratio: float, param_exponent: float, loss_exponent: float,
         bound_exponent: float) -> None:
    """max_i |m_i - m*| and L_t against tau (log-log, top) and their local slopes (bottom), for the
    runs of :func:`verify.claims.thm_2_1.run` (each with ``trajectory``, ``n``, ``d``, ``eta``,
    ``steps``); the slope windows start at ``steps / window_start_ratio`` (dotted)."""
    from verify.claims import figures

    fig, axes = figures.plt.subplots(2, 2, figsize=(11, 7), sharex="col", height_ratios=(2, 1),
                                     layout="constrained")
    for r in runs:
        tr = r.trajectory
        tau = tr.steps.astype(float)
        pos = tau > 0
        lab = f"n={r.n} d={r.d} eta={r.eta:.3g}"
        for col, y in enumerate((tr.distances.max(axis=1), tr.loss)):
            line, = axes[0, col].loglog(tau[pos], y[pos], label=lab)
            xm, sl = rates.local_slopes(tau[pos], y[pos], per_decade=6)
            axes[1, col].semilogx(xm, sl, marker=".", color=line.get_color())
            axes[0, col].axvline(r.steps / window_start_ratio, color=line.get_color(), lw=0.6, ls=":")
    slope_key = figures.style_key("local slope (colour: run)", "-", ".")
    axes[1, 0].axhline(param_exponent, color="k", ls="--", lw=1, label=f"{param_exponent:g}: linearisation (a finding)")
    axes[1, 1].axhline(loss_exponent, color="k", ls="--", lw=1, label=f"{loss_exponent:g}: linearisation (a finding)")
    axes[1, 1].axhline(bound_exponent, color="r", ls="--", lw=1, label=f"{bound_exponent:g}: the theorem's bound (paper)")
    for ax, label, title in zip(axes[0], ("max_i |m_i - m*|", "L_t"), ("parameters", "loss")):
        ax.set_ylabel(label)
        figures.set_title(ax, title)
    # the slopes fall from 0 (early) to the reference lines (late): the legends go where no curve is
    # (left: below the early flat part; right: above the late part), and the reference lines get a
    # margin so none is drawn on the frame
    for ax, where in zip(axes[1], ("lower left", "upper right")):
        ax.set_xlabel("tau (steps)")
        ax.set_ylabel("local slope")
        low, high = ax.get_ylim()
        ax.set_ylim(low - 0.06 * (high - low), high + 0.06 * (high - low))
        ax.legend(handles=[slope_key] + ax.get_lines()[-(2 if ax is axes[1, 1] else 1):], fontsize=7, loc=where)
    handles, _ = axes[0, 1].get_legend_handles_labels()
    axes[0, 1].legend(handles=handles + [figures.style_key("start of the slope windows", ":")], fontsize=7)
    for ax in axes.ravel():
        ax.grid(True, which="major", alpha=0.3)
    figures.suptitle(fig, f"Theorem 2.1 (large noise): all means converge to m*, L_t = O(tau^{bound_exponent:g}) "
                          f"(red: the slope bound)")
    figures.save(fig, path)
