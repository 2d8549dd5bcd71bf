"""The noise sweep: fix an initialization, vary t, find t_c, the smallest t at which every seed converges.

Compared with the two theorems' conditions on t for the same start (M = max_i |mu_i(0) - mu*|,
the largest over the seeds):

* Theorem 2.1: t > log n + log M + 2 is sufficient for convergence; every cell above it must
  converge (a cell there that does not is listed under ``thm_2_1_counterexamples``);
* Theorem 3.1: for t <= log(M / s*(n)) (n >= 3) the stationary point with L > 0 lies inside the
  initial range; the finding is where t_c falls relative to it.

In the scaled convention the run at t is the run at t = 0 from e^{-t} times the start (the loss
depends on the scaled means only), so t_c = log(M0 / M0_c), M0_c the largest centre distance from
which this radius e^{-t} r still converges.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from verify.analysis.brackets import Bracket
from verify.analysis.large_noise import threshold
from verify.analysis.stationary.path import max_noise_level
from verify.simulate import outcomes

from .boundaries import bracket_entry
from .figures import noise_figure
from .sweeps import Series, seeds_for

__all__ = ["build", "summarize", "report"]


def build(opts) -> list[Series]:
    lo, hi, pts = opts.t_range
    grid = tuple(float(x) for x in np.linspace(lo, hi, pts))
    series = []
    for n, d, M0, r, layout, eta in product(opts.n, opts.d, opts.M0, opts.radius, opts.layout, opts.eta):
        base = dict(n=n, d=d, M0=M0, radius=r, eta=eta, layout=layout, convention=opts.convention, steps=opts.steps)
        br = Bracket("linear", "high", (lo, max(hi, lo + 1e-9)), opts.width, max((hi - lo) / 4, 1e-3), initial=grid,
                     max_points=pts + opts.rounds * 8)
        name = f"n={n} d={d} M0={M0:g} r={r:g} {layout} eta={eta:g}"
        series.append(Series(name, base, "t", seeds_for(layout, opts.seeds), br, max_steps=opts.max_steps))
    return series


def summarize(series: list[Series]) -> list[dict]:
    out = []
    for s in series:
        rows = s.all_rows()
        n = s.base["n"]
        M = max(r["M"] for r in rows)
        thm21 = threshold(n, M)
        entry = {"series": s.name, **{k: s.base[k] for k in ("n", "d", "M0", "radius", "eta", "layout", "convention")},
                 "seeds": list(s.seeds), "M": M,
                 "t_c": {**bracket_entry(s.bracket.state(), scale="linear"),
                         "definition": "smallest t tried at which every seed converges (and every larger t tried)",
                         "fit": "bisection in t, rounds of tasks"},
                 "thm_2_1_sufficient_t": thm21,
                 "thm_3_1_max_t": max_noise_level(M, n) if n >= 3 else None,
                 "thm_3_1_note": "" if n >= 3 else "Theorem 3.1's construction needs n >= 3"}
        # (t >= 0: a start near mu* (M0 = 0) puts both below 0, and the notes say what that means)
        if thm21 < 0:
            entry["thm_2_1_note"] = "negative: every t >= 0 satisfies Theorem 2.1"
        if entry["thm_3_1_max_t"] is not None and entry["thm_3_1_max_t"] < 0:
            entry["thm_3_1_note"] = "negative: at no t >= 0 is the stationary point within the initial range"
        bad = [r for r in rows if r["t"] > thm21 and r["outcome"] != outcomes.ALL_CONVERGE]
        entry["thm_2_1_counterexamples"] = [{k: r[k] for k in ("t", "seed", "outcome", "reason")} for r in bad]
        tc = entry["t_c"]["value"]
        if tc is not None:
            entry["t_c_below_thm_2_1_by"] = thm21 - tc
            if entry["thm_3_1_max_t"] is not None:
                entry["t_c_minus_thm_3_1_max_t"] = tc - entry["thm_3_1_max_t"]
        entry["outcomes_by_t"] = {f"{x:g}": [r["outcome"] + (f"({r['survivors']})" if r["outcome"] ==
                                                             outcomes.PARTIAL_RECOVERY else "") for r in s.rows[x]]
                                  for x in sorted(s.rows)}
        out.append(entry)
    return out


def report(series: list[Series]) -> tuple[dict, dict]:
    """The summary's entries and the figures (:mod:`.studies` registers this study)."""
    entries = summarize(series)
    return {"t_c": entries}, {"noise_threshold.png": lambda path: noise_figure(series, entries, path)}
