"""The gate's conformance checks: each independent, each returning table rows.

One public function per check; each takes a :class:`GateContext` (the bound
implementation, the published reference values, the run's settings) and
returns a list of :class:`Row` (one per quantity it judges):

=====================  ==============================================================
``reference_values``   loss and gradient against the published reference values
                       at the fixed regression configurations (``configs.py``)
``generated_values``   the same at reproducible generated configurations, with the
                       reference computed now (float64 cubature, with error)
``invariance``         shifting all means and mu* together, permuting the means,
                       rotating space: the implementation against itself
``self_consistency``   the gradient against directional central differences of the
                       implementation's own loss (Richardson-extrapolated);
                       independent of the reference, so "loss and gradient disagree
                       with each other" is told apart from "disagree with the
                       reference".  A loss and gradient off by the same factor are
                       self-consistent: ``reference_values`` catches them
``dynamics``           gradient descent with the implementation's ``grad`` (or
                       ``step``) against the published reference trajectories, and
                       the outcome the paper predicts (the loss converges at large noise;
                       one survivor at t = 0 far away)
=====================  ==============================================================

Tolerances: :mod:`verify.gate.tolerances`.  :func:`run_gate` runs the checks,
:func:`format_rows` prints the table, :func:`exit_status` gives 0/1/2.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from . import tolerances as tl
from .configs import Configuration, generated_configurations, python_snippet
from .protocol import Bound, ImplementationError

__all__ = [
    "Row",
    "Failure",
    "GateContext",
    "CHECKS",
    "reference_values",
    "generated_values",
    "invariance",
    "self_consistency",
    "dynamics",
    "run_gate",
    "format_rows",
    "exit_status",
]


# ---------------------------------------------------------------------------- rows


@dataclass
class Failure:
    """One comparison that failed: where, expected against got, and the tolerance."""

    configuration: str  # name
    snippet: str  # pasteable Python
    expected: object
    got: object
    error: float
    tolerance: float
    detail: str = ""


@dataclass
class Row:
    """One line of the table."""

    check: str
    quantity: str
    tried: int = 0  # configurations tried
    worst_error: float = 0.0  # at the comparison with the largest error / tolerance
    tolerance: float = math.nan
    status: str = "pass"  # pass, fail, error (the implementation could not be used), skipped
    note: str = ""
    failures: list[Failure] = field(default_factory=list)
    compared: int = 0  # scalars compared
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.check}[{self.quantity}]"

    @property
    def passed(self) -> bool:
        return self.status in ("pass", "skipped")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["name"] = self.name
        out["passed"] = self.passed
        for k in ("worst_error", "tolerance"):
            out[k] = _json_float(out[k])
        for f in out["failures"]:
            f["error"] = _json_float(f["error"])
            f["tolerance"] = _json_float(f["tolerance"])
        return out


def _json_float(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else repr(x)


class _Judge:
    """Accumulates comparisons for one row: worst ratio, failures."""

    MAX_FAILURES = 5

    def __init__(self, row: Row):
        self.row = row
        self.worst_ratio = -1.0
        self.configs: set[str] = set()
        self.n_failed = 0
        self.mdb = 0.0
        self.capped = 0

    def add(self, config: str, snippet: str, err, tol, expected, got, detail: str = "", mdb=None, capped=None):
        err = np.atleast_1d(np.asarray(err, dtype=np.float64))
        tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), err.shape).ravel()
        err = err.ravel()
        err = np.where(np.isnan(err), np.inf, err)
        self.configs.add(config)
        self.row.compared += err.size
        ratio = np.where(tol > 0, err / np.where(tol > 0, tol, 1.0), np.where(err > 0, np.inf, 0.0))
        j = int(np.argmax(ratio))
        if ratio[j] > self.worst_ratio:
            self.worst_ratio = float(ratio[j])
            self.row.worst_error = float(err[j])
            self.row.tolerance = float(tol[j])
        if mdb is not None:
            finite = np.asarray(mdb, dtype=np.float64)
            finite = finite[np.isfinite(finite)]
            if finite.size:
                self.mdb = max(self.mdb, float(finite.max()))
        if capped is not None:
            self.capped += int(np.sum(capped))
        bad = ~(err <= tol)
        if np.any(bad):
            self.n_failed += 1
            if len(self.row.failures) < self.MAX_FAILURES:
                self.row.failures.append(Failure(config, snippet, expected, got, float(err[j]), float(tol[j]), detail))

    def finish(self, note: str = "") -> Row:
        self.row.tried = len(self.configs)
        if self.n_failed:
            self.row.status = "fail"
        notes = [note] if note else []
        if self.mdb:
            notes.append(f"mdb {self.mdb:.1e}")
        if self.capped:
            notes.append(f"{self.capped} tolerance(s) capped at {tl.CAP:g}: too noisy, use more samples")
        if self.n_failed > len(self.row.failures):
            notes.append(f"{self.n_failed} configurations failed, first {len(self.row.failures)} listed")
        self.row.note = "; ".join(notes)
        return self.row


# ---------------------------------------------------------------------------- context


@dataclass
class Measured:
    """The implementation's value at one point: deterministic, or mean and standard error over seeds."""

    value: np.ndarray
    se: np.ndarray | None
    repeats: int


class GateContext:
    """What every check needs: the implementation, the reference data, the settings."""

    def __init__(self, impl: Bound, *, reference_data: dict | None = None, repeats: int = tl.REPEATS,
                 seed: int = 0, quick: bool = False, generated: int = 6, dynamics_runs: int = 4):
        self.impl = impl
        self.stochastic = impl.stochastic
        self.repeats = int(repeats) if impl.stochastic else 1
        self.seed = int(seed)
        self.quick = bool(quick)
        self.generated = int(generated)
        self.dynamics_runs = int(dynamics_runs)
        self._data = reference_data
        self._cache: dict = {}

    @property
    def data(self) -> dict:
        if self._data is None:
            from .export import load_reference_values

            self._data = load_reference_values()
        return self._data

    def published(self) -> list[dict]:
        entries = self.data["configurations"]
        if self.quick:
            entries = [e for e in entries if e.get("quick")]
        return entries

    def measure(self, what: str, mu, mu_star, t) -> Measured:
        """loss or grad at a point (mean and standard error over ``repeats`` seeds if stochastic)."""
        mu = np.asarray(mu, dtype=np.float64)
        mu_star = np.asarray(mu_star, dtype=np.float64)
        key = (what, mu.shape, mu.tobytes(), mu_star.tobytes(), float(t))
        if key in self._cache:
            return self._cache[key]
        fn = self.impl.loss if what == "loss" else self.impl.grad
        if not self.stochastic:
            m = Measured(np.asarray(fn(mu, mu_star, t), dtype=np.float64), None, 1)
        else:
            vals = np.array([fn(mu, mu_star, t, seed=self.seed + r) for r in range(self.repeats)], dtype=np.float64)
            with np.errstate(invalid="ignore"):
                m = Measured(vals.mean(axis=0), vals.std(axis=0, ddof=1) / math.sqrt(self.repeats), self.repeats)
        self._cache[key] = m
        return m


def _arrays(entry: dict):
    mu = np.array(entry["mu"], dtype=np.float64)
    mu_star = np.array(entry["mu_star"], dtype=np.float64)
    return mu, mu_star, float(entry["t"])


def _ref(entry: dict):
    """Reference loss, gradient and their absolute errors (float64) from a published entry."""
    L = float(entry["loss"])
    Le = float(entry["loss_err"])
    G = np.array([[float(x) for x in r] for r in entry["grad"]], dtype=np.float64)
    Ge = np.array([[float(x) for x in r] for r in entry["grad_err"]], dtype=np.float64)
    return L, Le, G, Ge


def _amax(mu, mu_star, t) -> float:
    return float(np.max(np.linalg.norm(math.exp(-t) * (mu - mu_star), axis=1)))


def _fmt_array(a) -> str:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return repr(float(a))
    return np.array2string(a, precision=17, separator=", ", max_line_width=200, floatmode="maxprec")


# ---------------------------------------------------------------------------- value comparisons


def _compare_values(ctx: GateContext, rows: dict, name: str, snippet: str, mu, mu_star, t,
                    L, Le, G, Ge, cond_L, cond_G, m_loss: int, m_grad: int):
    """Compare loss and gradient at one point with reference (L, Le, G, Ge) and record in rows."""
    gscale = tl.grad_scale(L, G, _amax(mu, mu_star, t), t)
    lscale = abs(L) if L != 0 else 1.0
    for qty, ref, ref_err, scale, cond, m in (("loss", L, Le, lscale, cond_L, m_loss),
                                              ("grad", G, Ge, gscale, cond_G, m_grad)):
        got = ctx.measure(qty, mu, mu_star, t)
        with np.errstate(invalid="ignore"):
            err = np.abs(got.value - ref) / scale
        ref_rel = np.asarray(ref_err) / scale
        mdb = capped = None
        if got.se is None:
            tol = tl.deterministic_tolerance(float(np.max(ref_rel)), cond)
            detail = f"scale {scale:.3g}, cond {cond:.2g}"
        else:
            # plus the deterministic allowance: where the spread vanishes (collapsed means,
            # n = 1, saturated weights) a sampler is judged as the float64 code it then is
            tol, capped, mdb = tl.stochastic_tolerance(got.se / scale, m, got.repeats,
                                                       ref_rel + tl.deterministic_tolerance(0.0, cond))
            detail = f"scale {scale:.3g}, {got.repeats} seeds, standard error (rel) up to {np.max(got.se) / scale:.2g}"
        if qty == "grad" and np.size(err):
            e = np.where(np.isnan(err), np.inf, err)
            i, j = np.unravel_index(int(np.argmax(e / np.maximum(tol, 1e-300))), e.shape)
            detail += f"; worst component [{i}, {j}]: expected {G[i, j]!r}, got {float(got.value[i, j])!r}"
        rows[qty].add(name, snippet, err, tol, _fmt_array(ref), _fmt_array(got.value), detail, mdb, capped)


def reference_values(ctx: GateContext) -> list[Row]:
    """Loss and gradient against the published reference values (``verify/data/reference_values.json``)."""
    t0 = time.perf_counter()
    entries = ctx.published()
    rows = {q: _Judge(Row("reference_values", q)) for q in ("loss", "grad")}
    m_loss = len(entries)
    m_grad = sum(len(e["mu"]) * len(e["mu_star"]) for e in entries)
    for e in entries:
        mu, mu_star, t = _arrays(e)
        L, Le, G, Ge = _ref(e)
        snippet = python_snippet(mu, mu_star, t, name=e["name"])
        _compare_values(ctx, rows, e["name"], snippet, mu, mu_star, t, L, Le, G, Ge,
                        float(e["cond_loss"]), float(e["cond_grad"]), m_loss, m_grad)
    out = [rows["loss"].finish(), rows["grad"].finish()]
    for r in out:
        r.seconds = (time.perf_counter() - t0) / 2
    return out


def generated_values(ctx: GateContext) -> list[Row]:
    """The same comparison at generated configurations; the reference is computed now (float64, with error)."""
    from verify.engine import reference

    t0 = time.perf_counter()
    configs: list[Configuration] = generated_configurations(max(1, ctx.generated // (2 if ctx.quick else 1)),
                                                            seed=20251122)
    rows = {q: _Judge(Row("generated_values", q)) for q in ("loss", "grad")}
    m_loss = len(configs)
    m_grad = sum(c.n * c.d for c in configs)
    skipped = []
    for c in configs:
        mu, mu_star, t = c.arrays()
        try:
            ev = reference.evaluate(mu, mu_star, t)
        except reference.AccuracyError:  # the reference cannot certify this point: not the implementation's fault
            skipped.append(c.name)
            continue
        L, Le = float(ev.loss), float(ev.loss_err)
        G, Ge = np.asarray(ev.grad, dtype=np.float64), np.asarray(ev.grad_err, dtype=np.float64)
        cond_L = tl.loss_condition(mu, mu_star, L, G)
        # generated coordinates are bounded (|x| <= 4): the gradient's condition is estimated
        # by the loss's times (1 + R) instead of by extra cubatures; U * cond stays < 1e-13 here
        cond_G = cond_L * (1.0 + _amax(mu, mu_star, t))
        _compare_values(ctx, rows, c.name, c.snippet(), mu, mu_star, t, L, Le, G, Ge, cond_L, cond_G, m_loss, m_grad)
    note = f"reference could not certify {len(skipped)} point(s), skipped" if skipped else ""
    out = [rows["loss"].finish(note), rows["grad"].finish(note)]
    for r in out:
        r.seconds = (time.perf_counter() - t0) / 2
    return out


# ---------------------------------------------------------------------------- invariances


def _rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    if d == 1:
        return -np.eye(1)  # the only non-trivial orthogonal map of the line
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def invariance(ctx: GateContext) -> list[Row]:
    """L_t is unchanged, and the gradient moves along, when

    * all means and mu* are shifted by the same vector c (gradient unchanged);
    * the means are permuted (gradient rows permuted);
    * space is rotated, mu_i -> Q mu_i, mu* -> Q mu* (gradient rows rotated).

    The implementation is compared with itself.  Deterministic: tolerance twice
    the deterministic allowance at that configuration.  Stochastic: a two-sample
    comparison of the means over seeds (standard errors combined), Bonferroni
    over the row.  Configurations with coordinates above 1e6 are left out (a
    shift or rotation there changes the float64 inputs themselves).
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(12345)
    entries = [e for e in ctx.published() if _max_coord(e) <= tl.FD_MAX_COORD]
    rows = {q: _Judge(Row("invariance", q)) for q in ("shift", "permute", "rotate")}
    plans = []
    for e in entries:
        mu, mu_star, t = _arrays(e)
        n, d = mu.shape
        c = rng.uniform(-2.0, 2.0, size=d).round(3)
        perm = rng.permutation(n)
        if n > 1 and np.all(perm == np.arange(n)):
            perm = np.roll(perm, 1)
        Q = _rotation(d, rng)
        plans.append((e, mu, mu_star, t, c, perm, Q))
    m = {"shift": 0, "permute": 0, "rotate": 0}
    for e, mu, mu_star, t, c, perm, Q in plans:
        for q in m:
            if q == "permute" and mu.shape[0] == 1:
                continue
            m[q] += 1 + mu.size
    for e, mu, mu_star, t, c, perm, Q in plans:
        n, d = mu.shape
        base_L = ctx.measure("loss", mu, mu_star, t)
        base_G = ctx.measure("grad", mu, mu_star, t)
        L_ref, _, G_ref, _ = _ref(e)
        lscale = abs(L_ref) if L_ref else 1.0
        gscale = tl.grad_scale(L_ref, G_ref, _amax(mu, mu_star, t), t)
        transforms = {
            "shift": (mu + c, mu_star + c, lambda G: G),
            "permute": (mu[perm], mu_star, lambda G: G[perm]),
            "rotate": (mu @ Q.T, Q @ mu_star, lambda G: G @ Q.T),
        }
        for q, (mu2, ms2, move) in transforms.items():
            if q == "permute" and n == 1:
                continue
            what = {"shift": f"shift c = {c.tolist()!r}", "permute": f"permutation {perm.tolist()!r}",
                    "rotate": f"rotation Q = {_fmt_array(Q)}"}[q]
            snippet = python_snippet(mu, mu_star, t, name=e["name"]) + _transform_snippet(q, c, perm, Q)
            L2 = ctx.measure("loss", mu2, ms2, t)
            G2 = ctx.measure("grad", mu2, ms2, t)
            for (a, b, scale, cond, label) in ((base_L, L2, lscale, float(e["cond_loss"]), "loss"),
                                               (base_G, G2, gscale, float(e["cond_grad"]), "grad")):
                expected = move(a.value) if label == "grad" else a.value
                with np.errstate(invalid="ignore"):
                    err = np.abs(b.value - expected) / scale
                mdb = capped = None
                if a.se is None:
                    tol = 2.0 * tl.deterministic_tolerance(0.0, cond)
                else:
                    sa = move(a.se) if label == "grad" else a.se
                    se = np.sqrt(sa**2 + b.se**2)
                    tol, capped, mdb = tl.stochastic_tolerance(se / scale, m[q], a.repeats,
                                                               2.0 * tl.deterministic_tolerance(0.0, cond))
                rows[q].add(e["name"], snippet, err, tol, _fmt_array(expected), _fmt_array(b.value),
                            f"{label} after {what}", mdb, capped)
    out = [rows[q].finish() for q in ("shift", "permute", "rotate")]
    for r in out:
        r.seconds = (time.perf_counter() - t0) / 3
    return out


def _max_coord(e: dict) -> float:
    mu, mu_star, _ = _arrays(e)
    return float(max(np.max(np.abs(mu)), np.max(np.abs(mu_star))))


def _transform_snippet(q, c, perm, Q) -> str:
    if q == "shift":
        return f"c = np.array({c.tolist()!r})\nmu2, mu_star2 = mu + c, mu_star + c  # expect equal loss, equal grad\n"
    if q == "permute":
        return f"perm = {perm.tolist()!r}\nmu2, mu_star2 = mu[perm], mu_star  # expect equal loss, grad[perm]\n"
    return (f"Q = np.array({Q.tolist()!r})\nmu2, mu_star2 = mu @ Q.T, Q @ mu_star  "
            f"# expect equal loss, grad @ Q.T\n")


# ---------------------------------------------------------------------------- self-consistency


def self_consistency(ctx: GateContext) -> list[Row]:
    """The gradient is the gradient of the implementation's own loss.

    For a fixed-seed unit direction u in R^{n x d}, <grad, u> is compared with
    the Richardson extrapolation R = (4 D(h/2) - D(h)) / 3 of central
    differences D(h) = (L(mu + h u) - L(mu - h u)) / 2h, h = FD_STEP e^t (the
    loss varies on the length scale e^t in unscaled coordinates).  Error
    bound on R (stated): |R - D(h/2)| (the correction, larger than the O(h^4)
    remainder in the asymptotic range) + 3 ENGINE_TOL |L| / h (the loss's own
    accuracy, amplified by the differencing); tolerance SAFETY times that,
    relative to the gradient's scale.  Stochastic implementations are
    differenced at one fixed seed: their loss is then a smooth function.
    Configurations with coordinates above FD_MAX_COORD are left out.
    """
    t0 = time.perf_counter()
    rng = np.random.default_rng(777)
    judge = _Judge(Row("self_consistency", "grad"))
    entries = [e for e in ctx.published() if _max_coord(e) <= tl.FD_MAX_COORD]
    impl = ctx.impl
    seed = ctx.seed
    for e in entries:
        mu, mu_star, t = _arrays(e)
        u = rng.standard_normal(mu.shape)
        u /= np.linalg.norm(u)
        h = tl.FD_STEP * math.exp(t)
        kw = {"seed": seed} if impl.stochastic else {}
        G = impl.grad(mu, mu_star, t, **kw)
        L0 = impl.loss(mu, mu_star, t, **kw)

        def D(step):
            return (impl.loss(mu + step * u, mu_star, t, **kw) - impl.loss(mu - step * u, mu_star, t, **kw)) / (2 * step)

        D1, D2 = D(h), D(h / 2)
        R = (4 * D2 - D1) / 3
        directional = float(np.sum(G * u))
        gscale = tl.grad_scale(L0, G, _amax(mu, mu_star, t), t) if np.all(np.isfinite(G)) and math.isfinite(L0) \
            else 1.0
        bound = abs(R - D2) + 3 * tl.ENGINE_TOL * abs(L0) / h
        tol = min(tl.CAP, tl.SAFETY * bound / gscale)
        err = abs(directional - R) / gscale
        snippet = (python_snippet(mu, mu_star, t, name=e["name"])
                   + f"u = np.array({u.tolist()!r})  # unit direction\n"
                   + f"h = {h!r}" + (f"; seed = {seed}" if impl.stochastic else "") + "\n")
        judge.add(e["name"], snippet, err, tol, f"{R!r} (finite differences of loss)", f"{directional!r} (<grad, u>)",
                  f"scale {gscale:.3g}; D(h) = {D1!r}, D(h/2) = {D2!r}")
    row = judge.finish()
    row.seconds = time.perf_counter() - t0
    return [row]


# ---------------------------------------------------------------------------- dynamics


def _run_trajectory(ctx: GateContext, inst: dict, run: int):
    mu, mu_star, t = (np.array(inst["mu0"], dtype=np.float64), np.array(inst["mu_star"], dtype=np.float64),
                      float(inst["t"]))
    eta, steps, every = float(inst["eta"]), int(inst["steps"]), int(inst["record_every"])
    hist, losses = [], []
    for k in range(steps + 1):
        if k % every == 0:
            hist.append(mu.copy())
        if k < steps:
            seed = ctx.seed + 100_000 * (run + 1) + k
            mu = ctx.impl.step(mu, mu_star, t, eta, seed=seed if ctx.stochastic else None)
            if not np.all(np.isfinite(mu)):
                hist.append(mu.copy())
                break
    for m in (hist[0], hist[-1]):
        losses.append(ctx.impl.loss(m, mu_star, t, seed=ctx.seed) if ctx.stochastic else ctx.impl.loss(m, mu_star, t))
    return np.array(hist), losses


def classify(mu0, mu_final, mu_star, loss0, loss_final) -> str:
    """The outcome of a run, in the paper's terms.

    * "one survivor" (Theorems 3.4, 3.5): exactly one mean ends closer to mu* than
      half its initial distance, and every other mean ends farther than it started;
    * "converges" (Theorem 2.1: global convergence of the loss): the loss falls
      below half its initial value and no mean moves away by more than half the
      initial spread (individual means of an over-parameterized model may wander);
    * otherwise "other" ("non-finite" for NaN or inf).
    """
    if not (np.all(np.isfinite(mu_final)) and math.isfinite(loss_final)):
        return "non-finite"
    d0 = np.linalg.norm(np.asarray(mu0) - mu_star, axis=1)
    d1 = np.linalg.norm(np.asarray(mu_final) - mu_star, axis=1)
    close = d1 < 0.5 * d0
    if close.sum() == 1 and np.all(d1[~close] > d0[~close]):
        return "one survivor"
    if loss_final < 0.5 * loss0 and np.max(d1) <= 1.5 * np.max(d0):
        return "converges"
    return "other"


def dynamics(ctx: GateContext) -> list[Row]:
    """Gradient descent with the implementation against the reference trajectories and predicted outcomes.

    Trajectory: the recorded means are compared with the published reference
    trajectory, relative to the initial spread max_i |mu_i(0) - mu*|.
    Deterministic tolerance: SAFETY x (2 ENGINE_TOL) x S_k, where S_k (published)
    is the sensitivity of the recorded means to a relative error in every
    gradient, measured at export time by rerunning the reference with the
    gradient scaled by 1 + 1e-7.  Stochastic: ``dynamics_runs`` runs with
    different seeds, compared by their mean and standard error as elsewhere.
    Outcome: :func:`classify` of the implementation's run must equal the
    paper's prediction (which the reference run reproduces).
    """
    t0 = time.perf_counter()
    traj = _Judge(Row("dynamics", "trajectory"))
    outcome = _Judge(Row("dynamics", "outcome"))
    instances = ctx.data.get("dynamics", [])
    m = sum(len(i["mu_history"]) * len(i["mu0"]) * len(i["mu_star"]) for i in instances)
    runs = ctx.dynamics_runs if ctx.stochastic else 1
    for inst in instances:
        mu_star = np.array(inst["mu_star"], dtype=np.float64)
        ref_hist = np.array(inst["mu_history"], dtype=np.float64)
        sens = np.array(inst["sensitivity"], dtype=np.float64)
        scale = float(np.max(np.linalg.norm(ref_hist[0] - mu_star, axis=1)))
        results = [_run_trajectory(ctx, inst, r) for r in range(runs)]
        snippet = (python_snippet(np.array(inst["mu0"]), mu_star, inst["t"], name=inst["name"])
                   + f"eta, steps = {inst['eta']!r}, {inst['steps']}  # mu <- mu - eta * grad(mu, mu_star, t)\n")
        hists = [h for h, _ in results]
        if any(len(h) != len(ref_hist) for h in hists):
            traj.add(inst["name"], snippet, math.inf, 0.0, "finite means at every step", "non-finite means",
                     "the run produced NaN or inf")
        else:
            H = np.array(hists)  # runs x records x n x d
            mean = H.mean(axis=0)
            with np.errstate(invalid="ignore"):
                err = np.abs(mean - ref_hist) / scale
            det = np.broadcast_to(
                np.minimum(tl.CAP, tl.SAFETY * (2 * tl.ENGINE_TOL * sens[:, None, None] / scale + tl.U * 10)),
                err.shape)
            if not ctx.stochastic:
                tol, mdb, capped = det, None, None
            else:
                se = H.std(axis=0, ddof=1) / math.sqrt(runs)
                tol, capped, mdb = tl.stochastic_tolerance(se / scale, m, runs, det)
            k = int(np.argmax(np.max(err.reshape(len(err), -1), axis=1)))
            traj.add(inst["name"], snippet, err, tol, _fmt_array(ref_hist[-1]), _fmt_array(mean[-1]),
                     f"relative to the initial spread {scale:.3g}; worst at step {k * int(inst['record_every'])}",
                     mdb, capped)
        # outcome: every run must reproduce the predicted outcome
        for r, (h, losses) in enumerate(results):
            got = classify(h[0], h[-1], mu_star, losses[0], losses[-1])
            ok = got == inst["expected"]
            outcome.add(inst["name"], snippet, 0.0 if ok else 1.0, 0.0 if ok else 0.5,
                        f"{inst['expected']} ({inst['claim']})", got,
                        f"run {r}: final distances {np.round(np.linalg.norm(h[-1] - mu_star, axis=1), 4).tolist()}, "
                        f"loss {losses[0]:.3g} -> {losses[-1]:.3g}")
    out = [traj.finish(), outcome.finish()]
    out[1].worst_error, out[1].tolerance = (0.0 if out[1].status == "pass" else 1.0), 0.0
    for r in out:
        r.seconds = (time.perf_counter() - t0) / 2
    return out


# ---------------------------------------------------------------------------- running


#: name -> check, in the order of the table
CHECKS: dict[str, Callable[[GateContext], list[Row]]] = {
    "reference_values": reference_values,
    "generated_values": generated_values,
    "invariance": invariance,
    "self_consistency": self_consistency,
    "dynamics": dynamics,
}

_QUANTITIES = {
    "reference_values": ("loss", "grad"),
    "generated_values": ("loss", "grad"),
    "invariance": ("shift", "permute", "rotate"),
    "self_consistency": ("grad",),
    "dynamics": ("trajectory", "outcome"),
}


def run_gate(impl: Bound, checks=None, *, progress=None, **settings) -> list[Row]:
    """Run the named checks (all by default) and return their rows.

    A check during which the implementation cannot be used (a call raised, or
    returned the wrong type, shape or dtype) gives one row with status "error"
    and the message; the other checks still run.
    """
    names = list(CHECKS) if not checks else list(checks)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; choose from {list(CHECKS)}")
    ctx = settings.pop("context", None) or GateContext(impl, **settings)
    rows: list[Row] = []
    for name in names:
        if progress:
            progress(name)
        t0 = time.perf_counter()
        try:
            rows.extend(CHECKS[name](ctx))
        except ImplementationError as exc:
            rows.append(Row(name, "*", status="error", note=str(exc), seconds=time.perf_counter() - t0))
    return rows


def exit_status(rows: list[Row]) -> int:
    """2 if the implementation could not be used in some check, else 1 if a row failed, else 0."""
    if any(r.status == "error" for r in rows):
        return 2
    return 1 if any(r.status == "fail" for r in rows) else 0


def format_rows(rows: list[Row], *, title: str = "", stochastic: bool = False, repeats: int = tl.REPEATS,
                failures: bool = True) -> str:
    """The table (check, configurations tried, worst error, tolerance, pass/fail), then the failures."""
    head = ("check", "configs", "worst error", "tolerance", "result", "notes")  # worst: largest error/tolerance
    lines = []
    body = []
    for r in rows:
        if r.status == "error":
            body.append((r.name, "-", "-", "-", "ERROR", "implementation could not be used (below)"))
            continue
        body.append((r.name, str(r.tried), f"{r.worst_error:.2e}" if math.isfinite(r.worst_error) else str(r.worst_error),
                     f"{r.tolerance:.2e}" if math.isfinite(r.tolerance) else "-",
                     {"pass": "pass", "fail": "FAIL", "skipped": "skipped"}[r.status], r.note))
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    widths[-1] = 0
    if title:
        lines.append(title)
    fmt = lambda cells: "  ".join(c.ljust(w) if i < 5 else c for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    lines.append(fmt(head).rstrip())
    lines.append("  ".join("-" * w for w in widths[:5]) + "  -----")
    for b in body:
        lines.append(fmt(b).rstrip())
    lines.append("tolerances: " + tl.describe(stochastic, repeats) + " (see verify/gate/tolerances.py)")
    if failures:
        seen: dict[str, str] = {}
        for r in rows:
            if r.status == "error":
                lines.append("")
                if r.note in seen:
                    lines.append(f"ERROR in {r.check}: the same as in {seen[r.note]}")
                else:
                    seen[r.note] = r.check
                    lines.append(f"ERROR in {r.check}: {r.note}")
            for f in r.failures:
                lines.append("")
                lines.append(f"FAIL {r.name} at {f.configuration}: error {f.error:.3e} > tolerance {f.tolerance:.3e}")
                lines.append(f"  expected: {f.expected}")
                lines.append(f"  got:      {f.got}")
                if f.detail:
                    lines.append(f"  ({f.detail})")
                lines.append("  configuration:")
                lines.extend("    " + s for s in f.snippet.rstrip().splitlines())
    return "\n".join(lines)
