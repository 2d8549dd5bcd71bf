"""The step-size study: at a fixed start, sweep eta and find eta_max, the largest step at which
every seed's dynamics still settle (all converge, or partial recovery: survivors converge and the
others recede) rather than oscillate, blow up or stick.

Compared with the theorem's step 1/(n^4 d^2) (Theorem 2.1, constant 1; the constant is unknown) and
with the linear stability limit 2 / lambda_max of the Hessian at the limit point the runs at
eta_max settle to (small and large steps can reach different limits: from M0 = 4 small steps
leave one survivor, large ones jump the whole cluster to mu*) (:mod:`verify.analysis.stability`:
2/k with k means collapsed at m*, so n when all converge and 1 with a single survivor), given in the
cell's convention (x e^{2t} for the unscaled one).
lambda_max is also measured by central differences of the engine's gradient at that limit point.
"""

from __future__ import annotations

from itertools import product

from verify.analysis import stability
from verify.analysis.brackets import Bracket
from verify.analysis.large_noise import theorem_step
from verify.simulate import outcomes

from .boundaries import bracket_entry
from .figures import step_figure
from .sweeps import Series, log_grid, seeds_for

__all__ = ["build", "summarize", "report", "SETTLED"]

#: Outcomes in which the dynamics settle (the step study's "good").
SETTLED = frozenset({outcomes.ALL_CONVERGE, outcomes.PARTIAL_RECOVERY})


def build(opts) -> list[Series]:
    lo, hi, pts = opts.eta_range
    grid = log_grid(lo, hi, pts)
    series = []
    for n, d, M0, r, t, layout in product(opts.n, opts.d, opts.M0, opts.radius, opts.t, opts.layout):
        base = dict(n=n, d=d, M0=M0, radius=r, t=t, layout=layout, convention=opts.convention, steps=opts.steps)
        br = Bracket("log", "low", (lo, max(hi, lo * 1.000001)), opts.width, 3.0, initial=grid,
                     max_points=pts + opts.rounds * 8)
        name = f"n={n} d={d} M0={M0:g} r={r:g} t={t:g} {layout}"
        series.append(Series(name, base, "eta", seeds_for(layout, opts.seeds), br, SETTLED, max_steps=opts.max_steps))
    return series


def _limit(series: Series, eta: float | None) -> dict:
    """The limit point the runs at ``eta`` (the bracket's good end) settle to: its survivors, and
    lambda_max there (closed form and by differences of the engine's gradient)."""
    b = series.base
    if eta is None:
        return {"reason": "no step settles"}
    kinds = {(r["outcome"], r["survivors"]) for r in series.rows[eta]}
    out = {"outcomes_at_eta_max": sorted(f"{o}({k})" for o, k in kinds)}
    if len({k for _, k in kinds}) != 1 or min(k for _, k in kinds) < 1:
        out["reason"] = "the seeds at eta_max settle to different kinds of limit point"
        return out
    k = next(iter(kinds))[1]
    lam = stability.collapsed_lambda_max(k)
    lam_fd, lam_err = stability.lambda_max(stability.limit_point(b["n"], b["d"], k, far=12.0))
    out.update({"survivors": k, "lambda_max": lam, "lambda_max_finite_differences": lam_fd,
                "lambda_max_fd_error": lam_err,
                "stability_limit": stability.step_limit(lam, t=b["t"], convention=b["convention"]),
                "limit_point": f"{k} mean(s) at mu*, {b['n'] - k} receding" if k < b["n"] else "every mean at mu*"})
    return out


def summarize(series: list[Series]) -> list[dict]:
    out = []
    for s in series:
        b = s.base
        e = {"series": s.name, **{k: b[k] for k in ("n", "d", "M0", "radius", "t", "layout", "convention")},
             "seeds": list(s.seeds),
             "eta_max": {**bracket_entry(s.bracket.state(), scale="log"),
                         "definition": "largest eta tried at which every seed settles (and every smaller eta tried)",
                         "fit": "bisection in log eta, rounds of tasks"},
             "theorem_step": theorem_step(b["n"], b["d"]),
             "outcomes_by_eta": {f"{x:.4g}": sorted({r["outcome"] for r in s.rows[x]}) for x in sorted(s.rows)}}
        em = e["eta_max"]
        e.update(_limit(s, em["value"]))
        low = s.rows[min(s.rows)]
        e["outcomes_at_smallest_eta"] = sorted({f"{r['outcome']}({r['survivors']})" for r in low})
        if em["value"] is not None:
            e["eta_max_over_theorem_step"] = em["value"] / e["theorem_step"]
            if "stability_limit" in e:
                e["eta_max_over_stability_limit"] = em["value"] / e["stability_limit"]
        out.append(e)
    return out


def report(series: list[Series]) -> tuple[dict, dict]:
    """The summary's entries and the figure (:mod:`.studies` registers this study)."""
    entries = summarize(series)
    return {"eta_max": entries}, {"step_limits.png": lambda path: step_figure(series, entries, path)}
