"""The options of a study, checked before any work, and the sizes of the two budgets.

Every study runs cluster cells (:mod:`.runner`): mu* = M0 e_1, the means at r u_i around the
origin in a stated layout, noise level t, step eta.  One parameter is swept (t for ``noise``,
the radius for ``radius``, eta for ``step``; two for ``phase``), the others are lists whose
product gives the series.  :func:`check_options` turns the command line's strings into an
:class:`Options` or raises ValueError with one line naming the option.

Sizes: :data:`BUDGETS`.  ``quick`` finishes each study in about 5 minutes on 2 cores with d = 1
(the engine's k = 1 path, ~2-3 ms a step).  d >= 2 with far-apart means costs minutes per gradient
until the engine's speed work lands (proofs_map.md, "The reference engine"); the tables keep
d = (1,) and say where d >= 2 switches on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from verify.analysis.layouts import LAYOUTS, uses_seed
from verify.simulate.descent import CONVENTIONS

from .limits import check_ranges
from .sizes import check_sizes
from .sweeps import radius_range_for

__all__ = ["STUDIES", "BUDGETS", "Options", "check_options", "radius_range_for"]

STUDIES = ("noise", "radius", "step", "phase", "average", "mixtures")

#: What each study sweeps, and the options that set a fixed value instead (a fixed value of the
#: swept parameter contradicts the sweep).
SWEEPS = {"noise": ("t_range",), "radius": ("radius_range",), "step": ("eta_range",),
          "phase": ("radius_range", "t_range", "eta_range"), "average": (), "mixtures": ()}
#: The grid studies beyond the single Gaussian (issue 13) take only these options; any other grid
#: option given to them is an error (it would be ignored).
GRID_OPTIONS = {"average": ("n", "d", "M0", "eta", "seeds", "steps"),
                "mixtures": ("n", "d", "t", "eta", "seeds", "steps")}
FIXED_OF = {"t_range": "t", "radius_range": "radius", "eta_range": "eta"}
#: Options only some of the cluster studies use; given to another they would be ignored.  The
#: radius points make the radius study's default range (radius_range_for); phase runs one fixed
#: grid, with no refinement rounds and no re-runs of undecided cells.
USED_ONLY_BY = {"radius_points": ("radius",), "rounds": ("noise", "radius", "step"),
                "per_round": ("noise", "radius", "step"), "max_steps": ("noise", "radius", "step")}

# d = (1,) in both budgets: with the compiled engine an n = 2, d = 2 cell costs what d = 1 does
# (~3-8 ms a step) and n = 3, 5 in d = 3 ~6-40 ms, but an n = 3, d = 2 cell whose losers recede in
# two directions costs ~0.17 s a step (minutes a cell), and the product grids would hold many
# (proofs_map.md, "Studies beyond the theorems"); --d 2 runs them on request.
_QUICK = {
    "noise": dict(n=(3,), d=(1,), M0=(6.0,), radius=(1e-7,), layout=("gaussian",), eta=(0.05,),
                  t_range=(0.0, 10.0, 11), seeds=2, steps=3000, max_steps=12000, rounds=8, per_round=2, width=0.05),
    "radius": dict(n=(2,), d=(1,), M0=(3.0, 4.0, 5.0), t=(0.0,), eta=(0.05,),
                   layout=("leader", "opposite", "gaussian"), radius_range=None, radius_points=8, seeds=2,
                   steps=4000, max_steps=16000, rounds=4, per_round=3, width=0.1),
    "step": dict(n=(2,), d=(1,), M0=(0.03, 1.0, 4.0), radius=(0.02,), t=(0.0,), layout=("gaussian",),
                 eta_range=(0.01, 10.0, 7), seeds=2, steps=2000, max_steps=8000, rounds=4, per_round=2, width=0.1),
    "phase": dict(n=(2,), d=(1,), M0=(4.0,), layout=("leader",), radius_range=(1e-10, 1.5, 8), t=(0.0,),
                  t_range=(0.0, 1.4, 8), eta=(0.05,), eta_range=(0.01, 4.0, 7), seeds=1, steps=3000,
                  max_steps=3000),
}
# Beyond the paper (issue 13).  average: Figure 1's starts (n = 5, d = 3, M = 4 and 6) on L_bar for
# two weightings over t in [0.1, 2]; each step costs 21-63 engine evaluations (the rule in t), so
# quick runs 150 steps.  mixtures: K = 2, n = 2 and 3 over separation x initial scale at t = 0.5, d = 1
# at quick (d = 2 goes through the adaptive boxes of the mixture path: seconds a step when the
# components are 8 apart, measured on the shared machine), d = 2, 3 at full.
_QUICK["average"] = dict(n=(5,), d=(3,), M0=(4.0, 6.0), layout=("gaussian",), eta=(0.1,), seeds=1, steps=150,
                         max_steps=150, extra={"weightings": ("uniform", "noise-variance"), "windows": ((0.1, 2.0),)})
_QUICK["mixtures"] = dict(n=(2, 3), d=(1,), M0=(0.0,), layout=("gaussian",), t=(0.5,), eta=(0.5,), seeds=1,
                          steps=150, max_steps=150, extra={"K": (2,), "separations": (1.0, 2.0, 4.0, 8.0),
                                                           "scales": (0.1, 1.0, 4.0)})
_FULL = {
    "noise": dict(_QUICK["noise"], n=(3, 5), M0=(4.0, 6.0), layout=("gaussian", "leader"), seeds=8, steps=20000,
                  max_steps=80000, rounds=6, width=0.02),
    "radius": dict(_QUICK["radius"], n=(2, 3, 5), M0=(2.0, 3.0, 4.0, 5.0, 6.0), radius_points=12, seeds=8,
                   steps=20000, max_steps=80000, rounds=6, width=0.05),
    "step": dict(_QUICK["step"], n=(2, 3, 5), eta_range=(1e-3, 20.0, 14), seeds=8, steps=20000,
                 max_steps=80000, rounds=6, width=0.05),
    "phase": dict(_QUICK["phase"], n=(2, 3), layout=("leader", "gaussian"), radius_range=(1e-12, 1.6, 15),
                  t_range=(0.0, 5.0, 11), eta_range=(0.005, 6.0, 11), seeds=4, steps=20000,
                  max_steps=20000),
    "average": dict(_QUICK["average"], seeds=3, steps=2000, max_steps=2000,
                    extra={"weightings": ("uniform", "noise-variance"), "windows": ((0.1, 2.0), (0.5, 3.0))}),
    "mixtures": dict(_QUICK["mixtures"], n=(2, 3, 4), d=(2, 3), seeds=3, steps=1000, max_steps=1000,
                     extra={"K": (2, 3), "separations": (1.0, 2.0, 4.0, 8.0), "scales": (0.1, 0.5, 1.0, 2.0, 4.0)}),
}
BUDGETS = {"quick": _QUICK, "full": _FULL}


@dataclass(frozen=True)
class Options:
    study: str
    budget: str
    n: tuple
    d: tuple
    M0: tuple
    layout: tuple
    convention: str = "scaled"
    radius: tuple = ()
    t: tuple = ()
    eta: tuple = ()
    radius_range: tuple | None = None  # (min, max, points), log-spaced
    radius_points: int = 8  # points per M0 when radius_range is None: exp(-M0^3) .. M0^(1/3)
    t_range: tuple | None = None  # (min, max, points), evenly spaced
    eta_range: tuple | None = None  # (min, max, points), log-spaced
    seeds: int = 1
    steps: int = 4000
    max_steps: int = 16000  # undecided cells are run again, 4x longer each round, up to this
    rounds: int = 4
    per_round: int = 2
    width: float = 0.1
    out: Path | None = None
    cache: Path | None = None
    workers: int | None = None
    scheduler: str | None = None
    extra: dict = field(default_factory=dict)


# -- checking the command line ---------------------------------------------------------------


def _number(value, name: str, *, kind=float, plural: bool = False):
    """``value`` as a ``kind`` (float: finite), or ValueError naming ``name`` (an option, or a part
    of one such as "--t-range: MIN"), "integers"/"numbers" when ``plural`` (a list's element)."""
    try:
        x = kind(value)
    except (TypeError, ValueError):
        noun = ("integers" if kind is int else "numbers") if plural else ("an integer" if kind is int else "a number")
        raise ValueError(f"{name} must be {noun}, got {value!r}") from None
    if kind is float and not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return x


def _numbers(values, option: str, *, kind=float):
    out = tuple(_number(v, option, kind=kind, plural=True) for v in values)
    if not out:
        raise ValueError(f"{option} is empty")
    return out


def _distinct(values, given, option: str) -> None:
    """ValueError naming ``option`` and the value when a list repeats one (each cell would run twice)."""
    seen = {}
    for value, text in zip(values, given):
        if value in seen:
            again = repr(text) if str(text) == str(seen[value]) else f"{text!r} (= {seen[value]!r})"
            raise ValueError(f"{option}: {again} given twice; give each value once")
        seen[value] = text


def _range(values, option: str, *, log: bool, minimum: float):
    if len(values) != 3:
        raise ValueError(f"{option} takes MIN MAX POINTS, got {len(values)} values")
    # each of MIN, MAX (numbers) and POINTS (an integer) is named by the message
    lo, hi = (_number(v, f"{option}: {part}") for v, part in zip(values[:2], ("MIN", "MAX")))
    pts = _number(values[2], f"{option}: POINTS", kind=int)
    if pts < 1:
        raise ValueError(f"{option} POINTS must be >= 1, got {pts} (an empty grid)")
    if lo < minimum or (log and lo <= 0):
        raise ValueError(f"{option} MIN must be {'> 0' if log else '>= 0'}, got {lo}")
    if hi < lo:
        raise ValueError(f"{option} MAX must be >= MIN, got MIN {lo} > MAX {hi}")
    if hi == lo and pts > 1:
        raise ValueError(f"{option} has MIN = MAX = {lo} but {pts} points; give POINTS 1 or a wider range")
    if hi > lo and pts < 2:
        raise ValueError(f"{option} needs POINTS >= 2 for MIN < MAX, got {pts}")
    return (lo, hi, pts)


def _int(value, option: str, minimum: int) -> int:
    (x,) = _numbers([value], option, kind=int)
    if x < minimum:
        raise ValueError(f"{option} must be >= {minimum}, got {x}")
    return x


def _scheduler(address) -> str:
    """A Dask scheduler's address, its form checked by distributed's own parser (scheme, host and
    port), and its scheme against Dask's security settings (:func:`_security_for`); whether a
    scheduler answers there is known only when connecting (:mod:`.command`)."""
    text = str(address).strip()
    if not text:
        raise ValueError("--dask-scheduler is empty; give an address such as tcp://host:8786")
    from distributed.comm.addressing import get_address_host_port, parse_address

    try:
        host, port = get_address_host_port(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"--dask-scheduler {text!r} is not a scheduler address ({exc}); give one such as "
                         "tcp://host:8786") from None
    if not host:
        raise ValueError(f"--dask-scheduler {text!r} names no host; give one such as tcp://host:8786")
    if not 1 <= port <= 65535:
        raise ValueError(f"--dask-scheduler {text!r}: the port must be in 1..65535, got {port}")
    _security_for(text, parse_address(text)[0])
    return text


def _security_for(text: str, scheme: str) -> None:
    """ValueError when Dask's settings cannot secure a connection to ``text`` the way its scheme
    needs, which distributed.Client would otherwise find only when connecting, as a TypeError
    (tls:// without a client certificate) or a RuntimeError (encryption required, the scheme plain).
    The settings are the ones Client reads when given no security object: distributed.comm.tls.*
    and distributed.comm.require-encryption; a configured distributed.client.security-loader
    supplies its own, known only when it runs, so it is left to the connection."""
    import dask

    if dask.config.get("distributed.client.security-loader", None):
        return
    if scheme == "tls" and not (dask.config.get("distributed.comm.tls.ca-file", None)
                                and dask.config.get("distributed.comm.tls.client.cert", None)):
        raise ValueError(f"--dask-scheduler {text!r}: tls:// needs a client certificate and the cluster's CA, "
                         "and Dask's settings give none (set distributed.comm.tls.ca-file and "
                         "distributed.comm.tls.client.cert, e.g. DASK_DISTRIBUTED__COMM__TLS__CA_FILE and "
                         "DASK_DISTRIBUTED__COMM__TLS__CLIENT__CERT)")
    if scheme not in ("tls", "wss") and dask.config.get("distributed.comm.require-encryption", None):
        raise ValueError(f"--dask-scheduler {text!r}: {scheme}:// is not encrypted and Dask's settings require "
                         "encryption (distributed.comm.require-encryption); give a tls:// or wss:// address")


def check_options(study: str, budget: str, given: dict) -> Options:
    """Options for ``study`` at ``budget``, with the command line's ``given`` values (strings or
    lists of strings, None when not given) replacing the budget's; ValueError names the option."""
    if study not in STUDIES:
        raise ValueError(f"study must be one of {STUDIES}, got {study!r}")
    if budget not in BUDGETS:
        raise ValueError(f"--budget must be one of {tuple(BUDGETS)}, got {budget!r}")
    base = dict(BUDGETS[budget][study])
    if study in GRID_OPTIONS:
        unused = [k for k, v in given.items() if v is not None and k not in GRID_OPTIONS[study]
                  and k not in ("out", "cache", "workers", "scheduler")]
        if unused:
            raise ValueError(f"--{unused[0].replace('_', '-')} is not used by the {study} study "
                             f"(it takes {', '.join('--' + o for o in GRID_OPTIONS[study])})")
    for name, users in USED_ONLY_BY.items():
        if study not in GRID_OPTIONS and study not in users and given.get(name) is not None:
            raise ValueError(f"--{name.replace('_', '-')} is not used by the {study} study (only the "
                             f"{', '.join(users)} {'study uses' if len(users) == 1 else 'studies use'} it)")
    if given.get("radius_points") is not None and given.get("radius_range") is not None:
        raise ValueError("--radius-points and --radius-range both set the radius grid; give one")
    if given.get("workers") is not None and given.get("scheduler") is not None:
        raise ValueError("--workers and --dask-scheduler contradict each other: --workers sets local processes, "
                         "a Dask cluster runs the cells on its own workers; give one")
    for rng, fixed in FIXED_OF.items():
        # the phase study sweeps t and eta in one panel each and holds them fixed in the other
        sweeps_it = rng in SWEEPS[study] and (study != "phase" or fixed == "radius")
        if sweeps_it and given.get(fixed) is not None:
            raise ValueError(f"--{fixed} fixes what the {study} study sweeps; give --{rng.replace('_', '-')}")
        if rng not in SWEEPS[study] and given.get(rng) is not None:
            raise ValueError(f"--{rng.replace('_', '-')} is not swept by the {study} study; give --{fixed} instead")
    opts = dict(base)
    for name, option, kind, check in (("n", "--n", int, lambda x: x >= 1), ("d", "--d", int, lambda x: x >= 1),
                                      ("M0", "--M0", float, lambda x: x >= 0),
                                      ("radius", "--radius", float, lambda x: x > 0),
                                      ("t", "--t", float, lambda x: x >= 0), ("eta", "--eta", float, lambda x: x > 0)):
        if given.get(name) is not None:
            vals = _numbers(given[name], option, kind=kind)
            bad = [v for v in vals if not check(v)]
            if bad:
                need = {"--n": ">= 1", "--d": ">= 1", "--M0": ">= 0", "--radius": "> 0", "--t": ">= 0 (a noise level)",
                        "--eta": "> 0 (a step size)"}[option]
                raise ValueError(f"{option} must be {need}, got {bad[0]}")
            _distinct(vals, given[name], option)
            opts[name] = vals
    if given.get("layout") is not None:
        bad = [x for x in given["layout"] if x not in LAYOUTS]
        if bad or not given["layout"]:
            raise ValueError(f"--layout must be among {LAYOUTS}, got {bad[0] if bad else 'nothing'!r}")
        _distinct(given["layout"], given["layout"], "--layout")
        opts["layout"] = tuple(given["layout"])
    if given.get("convention") is not None:
        if given["convention"] not in CONVENTIONS:
            raise ValueError(f"--convention must be one of {CONVENTIONS}, got {given['convention']!r}")
        opts["convention"] = given["convention"]
    for rng, log, minimum in (("radius_range", True, 0.0), ("t_range", False, 0.0), ("eta_range", True, 0.0)):
        if given.get(rng) is not None:
            opts[rng] = _range(given[rng], f"--{rng.replace('_', '-')}", log=log, minimum=minimum)
    for name, option, minimum in (("seeds", "--seeds", 1), ("steps", "--steps", 1), ("max_steps", "--max-steps", 1),
                                  ("rounds", "--rounds", 0),
                                  ("per_round", "--per-round", 1), ("radius_points", "--radius-points", 2)):
        if given.get(name) is not None:
            opts[name] = _int(given[name], option, minimum)
    if opts["max_steps"] < opts["steps"]:
        if given.get("max_steps") is not None:
            raise ValueError(f"--max-steps ({opts['max_steps']}) must be >= --steps ({opts['steps']})")
        opts["max_steps"] = opts["steps"]
    if given.get("workers") is not None:
        opts["workers"] = _int(given["workers"], "--workers", 1)
    if opts.get("rounds") == 0 and study not in GRID_OPTIONS:
        # re-runs of undecided cells and the points of a round happen in refinement rounds only
        for name in ("per_round", "max_steps"):
            if given.get(name) is not None:
                raise ValueError(f"--{name.replace('_', '-')} has no effect with --rounds 0 (no refinement round "
                                 "runs); drop it or give --rounds >= 1")
    if given.get("seeds") is not None and not any(uses_seed(x) for x in opts["layout"]):
        raise ValueError(f"--seeds has no effect with --layout {' '.join(opts['layout'])}: only the gaussian layout "
                         "depends on the seed (the others run seed 0); drop --seeds or add --layout gaussian")
    if "opposite" in opts["layout"] and min(opts["n"]) < 2:
        raise ValueError("--layout opposite needs --n >= 2 (two opposite leaders)")
    for path_opt in ("out", "cache"):  # checked while parsing (verify.console.arguments.output_dir)
        if given.get(path_opt) is not None:
            opts[path_opt] = Path(given[path_opt])
    if given.get("scheduler") is not None:
        opts["scheduler"] = _scheduler(given["scheduler"])
    known = {f for f in Options.__dataclass_fields__}
    out = replace(Options(study=study, budget=budget, n=(), d=(), M0=(), layout=()),
                  **{k: v for k, v in opts.items() if k in known})
    base_opts = replace(out, **{k: v for k, v in base.items() if k in known})  # (the budget's, for the message)
    check_sizes(out, base_opts)  # what the study and its cells hold, before check_ranges draws a start (.sizes)
    check_ranges(out)  # the values float64 runs them faithfully at (verify.explore.limits)
    return out
