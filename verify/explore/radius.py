"""The initialization-radius study: at fixed t, sweep the cluster's radius r from exp(-M0^3) to
M0^(1/3) (by default; at least a decade, floored at 1e-300, 1e-8 .. 1 at M0 = 0:
:func:`verify.explore.sweeps.radius_range_for`; each entry's ``radius_grid`` says which) and find r*,
the largest radius at which every seed converges; fit the law r*(M0, eta, n):
per group of series that differ only in M0 (:func:`summarize`), and pooled over n, t and eta
(:func:`pooled_laws`), which tests whether LA carries the whole dependence on them (one C, one beta).

Radii below what float64 resolves around a centre at distance ~M0 start with the proven linear
phase (J) of :mod:`verify.analysis.cluster` and hand over to the engine once the deviations reach
1e-6 (:func:`verify.analysis.cluster_runs.run_cluster`), so exp(-M0^3) costs no more than 1e-6.
The bracket logic is the one :func:`verify.analysis.cluster_runs.radius_boundary` uses
(:class:`verify.analysis.brackets.Bracket`); the law is fitted by
:func:`verify.explore.boundaries.fit_radius_law` and compared with Theorem 3.2's radius
exp(-10^6 n d M0^3) / (108 n d) (log10 reported; it is hundreds of thousands of decades smaller).
"""

from __future__ import annotations

import math
from itertools import product


from verify.analysis.brackets import Bracket

from .boundaries import bracket_entry, fit_radius_law, log_amplification, paper_radius_log10
from .figures import radius_figure
from .grid import radius_range_for
from .sweeps import Series, log_grid, radius_range_note, seeds_for

__all__ = ["build", "summarize", "pooled_laws", "report"]


def build(opts) -> list[Series]:
    series = []
    for n, d, M0, t, eta, layout in product(opts.n, opts.d, opts.M0, opts.t, opts.eta, opts.layout):
        lo, hi, pts = opts.radius_range or radius_range_for(M0, opts.radius_points)
        grid = {"min": lo, "max": hi, "points": pts,
                "from": "--radius-range" if opts.radius_range else "default: exp(-M0^3) .. M0^(1/3)"}
        if not opts.radius_range and radius_range_note(M0):
            grid["differs_from_default_formula"] = radius_range_note(M0)
        base = dict(n=n, d=d, M0=M0, t=t, eta=eta, layout=layout, convention=opts.convention, steps=opts.steps)
        br = Bracket("log", "low", (lo, max(hi, lo * 1.000001)), opts.width, 30.0, initial=log_grid(lo, hi, pts),
                     max_points=pts + opts.rounds * 8)
        name = f"n={n} d={d} M0={M0:g} t={t:g} eta={eta:g} {layout}"
        series.append(Series(name, base, "radius", seeds_for(layout, opts.seeds), br, max_steps=opts.max_steps,
                             grid=grid))
    return series


def summarize(series: list[Series]) -> tuple[list[dict], list[dict]]:
    """(one entry per series: r* and its bracket; one law fit per group of series that differ only
    in M0)."""
    entries, groups = [], {}
    for s in series:
        b = s.base
        la = log_amplification(b["M0"], b["n"], b["eta"], t=b["t"], convention=b["convention"])
        st = bracket_entry(s.bracket.state(), scale="log")
        e = {"series": s.name, **{k: b[k] for k in ("n", "d", "M0", "t", "eta", "layout", "convention")},
             "seeds": list(s.seeds), "r_star": {**st, "definition": "largest r tried at which every seed converges "
                                                                   "(and every smaller r tried)",
                                                "fit": "bisection in log r, rounds of tasks"},
             "log_amplification": la,
             "paper_radius_log10": paper_radius_log10(b["M0"], b["n"], b["d"]) if b["t"] == 0 else None,
             "range": [min(s.rows), max(s.rows)] if s.rows else None, "radius_grid": s.grid}
        if st["bracket"]:
            e["critical_linear_spread"] = st["estimate"] * math.exp(la)
            if e["paper_radius_log10"] is not None:
                e["r_star_over_paper_radius_log10"] = math.log10(st["estimate"]) - e["paper_radius_log10"]
        entries.append(e)
        key = tuple((k, b[k]) for k in ("n", "d", "t", "eta", "layout", "convention"))
        groups.setdefault(key, []).append({"M0": b["M0"], "LA": la, "r_low": st["good"], "r_high": st["bad"]})
    laws = []
    for key, pts in groups.items():
        laws.append({**dict(key), "M0": [p["M0"] for p in pts], **fit_radius_law(pts)})
    return entries, laws


def pooled_laws(entries: list[dict]) -> list[dict]:
    """One fit of r* = C exp(-beta LA) per (d, layout, convention) over every n, t and eta swept (only
    where more than one (n, t, eta) was).  LA depends on M0, eta, n and t, so if the law's C and beta
    did not depend on them, the pooled fit's chi^2 / dof would stay near the per-group fits'; a large
    one says C (or beta) moves with (n, t, eta) (the per-group fits say how)."""
    groups = {}
    for e in entries:
        st = e["r_star"]
        key = tuple((k, e[k]) for k in ("d", "layout", "convention"))
        groups.setdefault(key, []).append({"M0": e["M0"], "n": e["n"], "t": e["t"], "eta": e["eta"],
                                           "LA": e["log_amplification"], "r_low": st["good"], "r_high": st["bad"]})
    out = []
    for key, pts in groups.items():
        over = sorted({(p["n"], p["t"], p["eta"]) for p in pts})
        if len(over) > 1:
            fit = fit_radius_law(pts)
            if fit.get("fitted"):
                fit["chi2_per_dof"] = fit["chi2"] / fit["dof"] if fit["dof"] else None
            out.append({**dict(key), "over_n_t_eta": [list(x) for x in over], **fit})
    return out


def report(series: list[Series]) -> tuple[dict, dict]:
    """The summary's entries and the figure (:mod:`.studies` registers this study)."""
    entries, laws = summarize(series)
    body = {"r_star": entries, "r_star_law": laws, "r_star_law_pooled": pooled_laws(entries)}
    return body, {"radius_boundary.png": lambda path: radius_figure(entries, laws, path)}
