"""The studies' figures: each has labelled axes, a title inside the figure and a legend, and draws
the theorems' conditions on the data.

* :func:`phase_figure` -- the outcome over (radius, t) and over (radius, eta), one colour per
  outcome (survivors written in partial-recovery cells), with Theorem 2.1's t > log n + log M + 2,
  Theorem 3.1's t <= log(M / s*(n)), the theorem's step, the stability limits and Theorem 3.2's
  radius (as a note: it is 10^-hundreds of thousands);
* :func:`noise_figure` -- the fraction of seeds converging against t, with t_c's bracket and
  the two theorems' values of t;
* :func:`radius_figure` -- r* against the log amplification LA with the fitted law;
* :func:`step_figure` -- the outcomes against eta, with eta_max's bracket, the theorem's step and
  the stability limit 2 / lambda_max.

matplotlib runs with the Agg backend (no display), the same on a laptop, a server and CI.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from verify.simulate import outcomes  # noqa: E402

__all__ = ["COLOURS", "phase_figure", "noise_figure", "radius_figure", "step_figure"]

COLOURS = {outcomes.ALL_CONVERGE: "#2ca02c", outcomes.PARTIAL_RECOVERY: "#1f77b4", outcomes.STUCK: "#ff7f0e",
           outcomes.OSCILLATES_OR_BLOWS_UP: "#d62728", outcomes.UNDECIDED: "#9a9a9a"}
_ORDER = list(COLOURS)


def _save(fig, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _outcome_keys(marker: str):
    """Legend entries naming each outcome's colour, drawn as the figure draws its cells."""
    return [plt.Line2D([], [], color=COLOURS[o], marker=marker, ls="None", label=o.replace("_", " ")) for o in _ORDER]


def _cell_outcome(rows) -> tuple[int, str]:
    """One colour for a cell's seeds: the worst outcome (undecided shown only when nothing else is
    decided against convergence), and the survivors of partial recoveries."""
    outs = [r["outcome"] for r in rows]
    for o in (outcomes.OSCILLATES_OR_BLOWS_UP, outcomes.STUCK, outcomes.PARTIAL_RECOVERY, outcomes.UNDECIDED,
              outcomes.ALL_CONVERGE):
        if o in outs:
            k = sorted({r["survivors"] for r in rows if r["outcome"] == o}) if o == outcomes.PARTIAL_RECOVERY else []
            return _ORDER.index(o), ",".join(str(x) for x in k)
    return _ORDER.index(outcomes.UNDECIDED), ""


def phase_figure(panels, summaries, path) -> None:
    """One axes per panel (module doc)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.6), layout="constrained", squeeze=False)
    cmap = ListedColormap([COLOURS[o] for o in _ORDER])
    for ax, p, s in zip(axes[0], panels, summaries):
        lr = np.log10(np.array(p.radii))
        ys = np.array(p.ys, dtype=float)
        yplot = np.log10(ys) if p.y == "eta" else ys
        grid = np.zeros((len(ys), len(lr)))
        for i, y in enumerate(p.ys):
            for j, r in enumerate(p.radii):
                rows = [row for row in p.rows if row[p.y] == y and row["radius"] == r]
                grid[i, j], label = _cell_outcome(rows)
                if label:
                    ax.text(lr[j], yplot[i], label, ha="center", va="center", fontsize=7, color="white")
        mesh = ax.pcolormesh(_edges(lr), _edges(yplot), grid, cmap=cmap, vmin=-0.5, vmax=len(_ORDER) - 0.5,
                             shading="flat")
        th = s["theorems"]
        if p.y == "t":
            ax.plot(lr, th["thm_2_1_t"], "k--", lw=1.5, label="Thm 2.1: t > log n + log M + 2 (above)")
            if th.get("thm_3_1_t"):
                ax.plot(lr, th["thm_3_1_t"], "k:", lw=1.5, label="Thm 3.1: stationary point in range (below)")
            ax.set_ylabel("noise level t")
            ax.set_ylim(_edges(yplot)[0], max(_edges(yplot)[-1], max(th["thm_2_1_t"]) + 0.3))
        else:
            ax.axhline(math.log10(th["theorem_step"]), color="k", ls="--", lw=1.5,
                       label="Thm 2.1's step 1/(n^4 d^2) (below)")
            ax.axhline(math.log10(th["stability_limit_all_converge"]), color="k", ls="-.", lw=1.2,
                       label="2/lambda_max, all at mu* (= n)")
            ax.axhline(math.log10(th["stability_limit_one_survivor"]), color="k", ls=":", lw=1.2,
                       label="2/lambda_max, one survivor (= 1)")
            ax.set_ylabel("log10 step eta (" + p.base["convention"] + ")")
        ax.set_xlabel("log10 initial radius r")
        note = "" if th["thm_3_2_radius_log10"] is None else \
            f"Thm 3.2's radius: 10^({th['thm_3_2_radius_log10']:.3g}) (off the axis, far left)"
        ax.set_title(f"{p.name}\n{note}", fontsize=8)
        ax.legend(fontsize=6.5, loc="upper left")
    bar = fig.colorbar(mesh, ax=list(axes[0]), ticks=range(len(_ORDER)), shrink=0.9)
    bar.ax.set_yticklabels([o.replace("_", " ") for o in _ORDER], fontsize=7)
    bar.set_label("outcome (a cell's worst seed)")
    fig.suptitle("Outcome of gradient descent from a cluster of means (numbers: survivors)", fontsize=11)
    _save(fig, path)


def _edges(c):
    c = np.asarray(c, dtype=float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def noise_figure(series, entries, path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.4), layout="constrained")
    for k, (s, e) in enumerate(zip(series, entries)):
        ts = sorted(s.rows)
        frac = [np.mean([r["outcome"] == outcomes.ALL_CONVERGE for r in s.rows[t]]) for t in ts]
        colour = f"C{k}"
        ax.plot(ts, frac, "o-", color=colour, label=f"{s.name}: fraction of seeds all converging")
        tc = e["t_c"]
        if tc["bracket"]:
            ax.axvspan(*tc["bracket"], color=colour, alpha=0.2,
                       label=f"t_c bracket {tc['bracket'][0]:.3g}..{tc['bracket'][1]:.3g}")
        ax.axvline(e["thm_2_1_sufficient_t"], color=colour, ls="--",
                   label=f"Thm 2.1: t > {e['thm_2_1_sufficient_t']:.3g}")
        if e["thm_3_1_max_t"] is not None:
            ax.axvline(e["thm_3_1_max_t"], color=colour, ls=":", label=f"Thm 3.1: t <= {e['thm_3_1_max_t']:.3g}")
    ax.set_xlabel("noise level t")
    ax.set_ylabel("fraction of seeds with every mean converging")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7)
    fig.suptitle("Noise sweep: the threshold t_c against the theorems' conditions", fontsize=11)
    _save(fig, path)


def radius_figure(entries, laws, path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4.6), layout="constrained")
    groups = {}
    for e in entries:
        groups.setdefault((e["n"], e["d"], e["t"], e["eta"], e["layout"]), []).append(e)
    for k, (key, es) in enumerate(groups.items()):
        colour = f"C{k}"
        pts = [(e["log_amplification"], e["r_star"]["bracket"]) for e in es if e["r_star"]["bracket"]]
        if pts:
            la = np.array([p[0] for p in pts])
            lo = np.array([p[1][0] for p in pts])
            hi = np.array([p[1][1] for p in pts])
            mid = np.sqrt(lo * hi)
            # the bracket as a bar without caps (caps are unlabelled lines), the estimate as a point
            ax.errorbar(la, mid, yerr=[mid - lo, hi - mid], fmt="none", ecolor=colour, capsize=0)
            ax.plot(la, mid, "o", color=colour,
                    label=f"r* (bracket) n={key[0]} d={key[1]} t={key[2]:g} eta={key[3]:g} {key[4]}")
        law = next((w for w in laws if (w["n"], w["d"], w["t"], w["eta"], w["layout"]) == key), None)
        if law and law.get("fitted"):
            xs = np.linspace(0, max(e["log_amplification"] for e in es) * 1.05, 50)
            ax.plot(xs, 10 ** law["log10_C"] * np.exp(-law["beta"] * xs), "-", color=colour, lw=1,
                    label=f"fit: beta = {law['beta']:.3f} +- {law['beta_err']:.3f}, C = 10^{law['log10_C']:.2f}")
    ax.set_yscale("log")
    ax.set_xlabel("LA: log of the linear amplification of the spread (~ (e^-t M0)^2)")
    ax.set_ylabel("largest radius r* with every mean converging")
    ax.legend(fontsize=6.5)
    paper = [e["paper_radius_log10"] for e in entries if e["paper_radius_log10"] is not None]
    note = f"; Thm 3.2's radius is 10^({max(paper):.3g}) or smaller" if paper else ""
    fig.suptitle("Initialization radius: r* = C exp(-beta LA)" + note, fontsize=10)
    _save(fig, path)


def step_figure(series, entries, path) -> None:
    fig, ax = plt.subplots(figsize=(7.5, 1.6 + 0.7 * len(series)), layout="constrained")
    for k, (s, e) in enumerate(zip(series, entries)):
        for x in sorted(s.rows):
            idx, label = _cell_outcome(s.rows[x])
            ax.plot(x, k, "s", color=COLOURS[_ORDER[idx]], ms=8)
        em = e["eta_max"]
        if em["bracket"]:
            ax.plot(em["bracket"], [k + 0.25] * 2, "k-", lw=3, solid_capstyle="butt")
        if e.get("stability_limit"):
            ax.plot([e["stability_limit"]] * 2, [k - 0.35, k + 0.35], "k-.", lw=1.5)
        ax.plot([e["theorem_step"]] * 2, [k - 0.35, k + 0.35], "k--", lw=1.5)
    ax.set_xscale("log")
    ax.set_yticks(range(len(series)), [s.name for s in series], fontsize=7)
    ax.set_ylabel("series (n, d, M0, radius, t, layout)")
    ax.set_xlabel("step eta (" + (series[0].base["convention"] if series else "scaled") + " convention)")
    handles = _outcome_keys("s") + [
        plt.Line2D([], [], color="k", lw=3, label="eta_max bracket"),
        plt.Line2D([], [], color="k", ls="-.", label="2/lambda_max at the limit point"),
        plt.Line2D([], [], color="k", ls="--", label="Thm 2.1's step 1/(n^4 d^2)")]
    ax.legend(handles=handles, fontsize=6.5, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.suptitle("Step sizes: where gradient descent stops settling", fontsize=11)
    _save(fig, path)
