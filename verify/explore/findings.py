"""Small-size studies for ``verify report``'s findings, and the check of the classes at the extremes.

* :func:`noise_threshold` -- the noise sweep at a small size (n = 3, d = 1, one seed, ~15 s): t_c's
  value and bracket beside Theorem 2.1's sufficient t and Theorem 3.1's largest t with the
  stationary point in range; the thm-3.1 claim attaches it as a finding.  t_c depends on the step:
  at eta >= 0.2 every t >= 0 converges from this start (large steps jump the amplification).
* :func:`radius_law` -- the law r* = C exp(-beta LA) fitted to boundaries a claim has already
  measured (thm-3.2's ``boundary_table`` rows): the same fit as ``verify explore radius``, not a
  second one, set beside Theorem 3.2's radius.
* :func:`extreme_cells` and :func:`extremes_problems` -- the classes where the answer is known:
  Figure 1's setting (t = 0, M = 6) leaves a single survivor, t = 10 makes every mean converge,
  and a step far above the stability limit (10 n) oscillates or blows up.  The tests run these
  cells and also feed the check a wrong engine and a wrong classifier, which it must reject.
"""

from __future__ import annotations

import math

from verify.analysis.large_noise import threshold
from verify.analysis.stationary.path import max_noise_level
from verify.simulate import outcomes

from .boundaries import bracket_entry, fit_radius_law, log_amplification, paper_radius_log10
from .cache import Cache
from .executors import InProcess
from .grid import check_options
from .noise import build as build_noise
from .runner import Cell
from .sweeps import refine

__all__ = ["noise_threshold", "noise_threshold_finding", "radius_law", "radius_law_findings", "extreme_cells",
           "extremes_problems"]


def noise_threshold(*, n: int = 3, M0: float = 6.0, radius: float = 1e-7, eta: float = 0.05, seeds: int = 1,
                    t_max: float = 1.0, rounds: int = 2, steps: int = 2000, max_steps: int = 8000,
                    cache: Cache | None = None, progress=None) -> dict:
    """t_c at a small size (module doc), in this process; returns the finding as a dict."""
    opts = check_options("noise", "quick", {
        "n": [str(n)], "d": ["1"], "M0": [str(M0)], "radius": [str(radius)], "eta": [str(eta)],
        "layout": ["gaussian"], "t_range": [0, str(t_max), "5"], "seeds": str(seeds), "steps": str(steps),
        "rounds": str(rounds), **({"max_steps": str(max_steps), "per_round": "1"} if rounds else {})})
    (series,) = build_noise(opts)
    refine([series], InProcess(), cache, rounds=opts.rounds, per_round=opts.per_round, label="noise finding",
           progress=progress)
    rows = series.all_rows()
    M = max(r["M"] for r in rows)
    tc = bracket_entry(series.bracket.state(), scale="linear")
    return {"name": "noise threshold t_c", "value": tc["value"], "bracket": tc["bracket"], "status": tc["status"],
            "undecided_inside": tc["undecided_inside"],
            "definition": "smallest t tried at which every seed converges (all larger t tried converge too)",
            "size": f"n = {n}, d = 1, M0 = {M0:g}, radius {radius:g} (gaussian, {seeds} seed(s)), eta = {eta:g}, "
                    f"scaled convention, t in [0, {t_max:g}]",
            "M": M, "thm_2_1_sufficient_t": threshold(n, M), "thm_3_1_max_t": max_noise_level(M, n),
            "cells": len(rows)}


def radius_law(boundaries: list[dict], *, n: int, d: int, eta: float) -> dict:
    """Fit r* = C exp(-beta LA) to ``boundaries`` (dicts with ``M0``, ``r_star_low``, ``r_star_high``;
    t = 0, scaled convention) and set it beside Theorem 3.2's radius."""
    pts = [{"M0": b["M0"], "LA": log_amplification(b["M0"], n, eta), "r_low": b["r_star_low"],
            "r_high": b["r_star_high"]} for b in boundaries
           if b["r_star_low"] == b["r_star_low"] and b["r_star_high"] == b["r_star_high"]]
    fit = fit_radius_law(pts)
    fit["paper_radius_log10"] = {f"{p['M0']:g}": paper_radius_log10(p["M0"], n, d) for p in pts}
    fit["size"] = f"n = {n}, d = {d}, eta = {eta:g}, t = 0, M0 in {[p['M0'] for p in pts]}"
    return fit


def noise_threshold_finding(**kw) -> dict:
    """:func:`noise_threshold` as the fields of a claim's ``Finding`` (name, value, uncertainty, window,
    law, relation, note); the claim builds the Finding (this layer sits below the claims)."""
    f = noise_threshold(**kw)
    lo, hi = f["bracket"] or (None, None)
    where = "inside" if f["status"] == "bracketed" else f"not bracketed ({f['status']})"
    rel = "below" if f["value"] is not None and f["value"] < f["thm_3_1_max_t"] else "not below"
    t21 = f["thm_2_1_sufficient_t"]
    gap = "" if f["value"] is None else f" ({t21 - f['value']:+.3f} from t_c)"
    return {"name": "noise threshold t_c (every seed converges from t_c on)", "value": f["value"],
            "uncertainty": None if lo is None else hi - lo, "window": f["size"],
            "law": "all means converge for t >= t_c; in the scaled convention the run at t is the run at t = 0 "
                   "from e^-t times the start",
            "relation": "measures",
            "note": f"t_c {where} [{lo}, {hi}]; Theorem 2.1's sufficient t > {t21:.3f}{gap} "
                    f"(M = {f['M']:.6g}); t_c is {rel} Theorem 3.1's t <= {f['thm_3_1_max_t']:.3f}, "
                    f"where the stationary point with L > 0 lies in the initial range"
                    + ("" if not f["undecided_inside"] else "; undecided cells inside the bracket")}


def radius_law_findings(boundaries: list[dict], *, n: int, d: int, eta: float) -> list[dict]:
    """:func:`radius_law` as the fields of a claim's ``Finding`` objects (empty when it cannot be fitted)."""
    f = radius_law(boundaries, n=n, d=d, eta=eta)
    if not f.get("fitted"):
        return []
    paper = f["paper_radius_log10"]
    worst = min(paper.values())
    return [{"name": "r* law: exponent beta in r* = C exp(-beta LA)", "value": round(f["beta"], 4),
             "uncertainty": float(f"{f['beta_err']:.2g}"), "window": f["size"],
             "law": "r* = C exp(-beta LA), LA = log of the linear amplification of the spread (~ M0^2)",
             "relation": "measures",
             "note": f"log10 C = {f['log10_C']:.3f} +- {f['log10_C_err']:.2g} (the critical spread at the hand-off); "
                     f"beta = 1 is the linear prediction; the paper's radius is 10^({worst:.4g}) or smaller here, "
                     f"so r* lies that many decades above it (verify explore radius: other n, layouts)"}]


def extreme_cells(n: int = 2) -> dict[str, Cell]:
    """The three cells whose class is known (module doc); d = 1, collinear means."""
    return {
        "single_survivor": Cell(n=n, d=1, M0=6.0, radius=1e-7, t=0.0, eta=0.05, layout="gaussian", steps=3000),
        "all_converge": Cell(n=n, d=1, M0=6.0, radius=1e-7, t=10.0, eta=0.05, layout="gaussian", steps=3000),
        "blows_up": Cell(n=n, d=1, M0=1.0, radius=0.02, t=0.0, eta=10.0 * n, layout="gaussian", steps=3000),
    }


def extremes_problems(rows: dict[str, dict]) -> list[str]:
    """What is wrong with the rows of :func:`extreme_cells` (empty when the classes are right)."""
    problems = []
    r = rows["single_survivor"]
    if not (r["outcome"] == outcomes.PARTIAL_RECOVERY and r["survivors"] == 1):
        problems.append(f"t = 0, M0 = 6: {r['outcome']} with {r['survivors']} survivor(s), expected a single survivor")
    r = rows["all_converge"]
    if r["outcome"] != outcomes.ALL_CONVERGE or not r["final_max_distance"] <= 1 / (6 * r["n"]):
        problems.append(f"t = 10: {r['outcome']} (final max distance {r['final_max_distance']:.3g}), "
                        "expected all converge")
    r = rows["blows_up"]
    if r["outcome"] != outcomes.OSCILLATES_OR_BLOWS_UP:
        problems.append(f"eta = {r['eta']:g} (far above the limit n): {r['outcome']}, expected oscillation or blow-up")
    if any(not math.isfinite(row["seconds"]) for row in rows.values()):
        problems.append("a row without its seconds")
    return problems
