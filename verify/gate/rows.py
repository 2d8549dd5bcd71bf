"""The gate's table: one :class:`Row` per check and quantity, built by a :class:`Judge` from many
comparisons (each failing one kept as a :class:`~verify.checks.compare.Comparison`), printed by
:func:`format_rows`; :func:`exit_status` gives 0/1/2."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from verify.checks.compare import Comparison

from . import tolerances as tl

__all__ = ["Row", "Judge", "format_rows", "exit_status"]


@dataclass
class Row:
    """One line of the table."""

    check: str
    quantity: str
    tried: int = 0  # configurations tried
    worst_error: float = 0.0  # at the comparison with the largest error / tolerance
    tolerance: float = math.nan
    status: str = "pass"  # pass, fail, error (could not be used), incomplete (calls ran out of time), skipped,
    # "not offered" (an optional objective the implementation does not have: nothing judged, passes)
    note: str = ""
    failures: list[Comparison] = field(default_factory=list)  # the first failing comparisons
    compared: int = 0  # scalars compared
    seconds: float = 0.0
    timeouts: list[dict] = field(default_factory=list)  # configurations not judged: a call ran out of time
    numeric: bool = True  # False: a yes/no comparison (the dynamics outcome), which has no error to print

    @property
    def measured(self) -> bool:
        """Whether the row has a worst error and tolerance to print: something numeric was compared
        (a row whose every call ran out of time compared nothing, and its 0.0 is no error)."""
        return self.numeric and self.compared > 0

    @property
    def name(self) -> str:
        return f"{self.check}[{self.quantity}]"

    @property
    def passed(self) -> bool:
        return self.status in ("pass", "skipped", "not offered")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["name"] = self.name
        out["passed"] = self.passed
        for k in ("worst_error", "tolerance"):
            out[k] = _json_float(out[k]) if self.measured else None  # nothing numeric compared: no number
        for f in out["failures"]:
            f["error"] = _json_float(f["error"])
            f["tolerance"] = _json_float(f["tolerance"])
        return out


def _json_float(x):
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else repr(x)


class Judge:
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
                self.row.failures.append(Comparison(config, self.row.quantity, expected, got, float(tol[j]),
                                                    error=float(err[j]), detail=detail, snippet=snippet))

    def timeout(self, config: str, exc) -> None:
        """A call at ``config`` ran out of time (:class:`verify.gate.worker.CallTimedOut`): not judged there."""
        self.row.timeouts.append({"configuration": config, "call": exc.what, "seconds": round(exc.spent, 1),
                                  "time_limit": exc.limit})

    def skip_timed_out(self, config: str) -> None:
        """``config`` is left out: a call there ran out of time in an earlier check."""
        self.row.timeouts.append({"configuration": config, "call": "not tried: a call at this configuration ran "
                                                                   "out of time in an earlier check",
                                  "seconds": 0.0, "time_limit": None})

    def finish(self, note: str = "") -> Row:
        self.row.tried = len(self.configs)
        if self.n_failed:
            self.row.status = "fail"
        elif self.row.timeouts:
            self.row.status = "incomplete"
        notes = [note] if note else []
        if self.row.timeouts:
            names = ", ".join(dict.fromkeys(t["configuration"] for t in self.row.timeouts))
            notes.append(f"not judged (out of time): {names}")
        if self.mdb:
            notes.append(f"mdb {self.mdb:.1e}")
        if self.capped:
            notes.append(f"{self.capped} tolerance(s) capped at {tl.CAP:g}: too noisy, use more samples")
        if self.n_failed > len(self.row.failures):
            notes.append(f"{self.n_failed} configurations failed, first {len(self.row.failures)} listed")
        self.row.note = "; ".join(notes)
        return self.row


def exit_status(rows: list[Row]) -> int:
    """2 if the implementation could not be used in some check; else 1 if a row failed (a wrong answer,
    also when other calls ran out of time); else 2 if calls ran out of time (not everything was judged);
    else 0."""
    if any(r.status == "error" for r in rows):
        return 2
    if any(r.status == "fail" for r in rows):
        return 1
    return 2 if any(r.status == "incomplete" for r in rows) else 0


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
        if r.status == "not offered":
            body.append((r.name, "-", "-", "-", "not offered", r.note))
            continue
        if not r.measured:  # nothing numeric compared (timed out everywhere, or a yes/no row): no numbers
            worst = tol = "-"
        else:
            worst = f"{r.worst_error:.2e}" if math.isfinite(r.worst_error) else str(r.worst_error)
            tol = f"{r.tolerance:.2e}" if math.isfinite(r.tolerance) else "-"
        body.append((r.name, str(r.tried), worst, tol,
                     {"pass": "pass", "fail": "FAIL", "skipped": "skipped", "incomplete": "INCOMPLETE"}[r.status],
                     r.note))
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(head)]
    widths[-1] = 0
    if title:
        lines.append(title)
    fmt = lambda cells: "  ".join(c.ljust(w) if i < 5 else c  # noqa: E731
                                  for i, (c, w) in enumerate(zip(cells, widths)))
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
            for t in r.timeouts:
                if t["seconds"]:
                    lines.append("")
                    lines.append(f"TIMEOUT {r.name} at {t['configuration']}: {t['call']} was stopped after "
                                 f"{t['seconds']:.1f} s (time limit {t['time_limit']:g} s per call, --time-limit)")
            for f in r.failures:
                lines.append("")
                lines.append(f"FAIL {r.name} at {f.configuration}: error {f.error:.3e} > tolerance {f.tolerance:.3e}"
                             if r.numeric else f"FAIL {r.name} at {f.configuration}: not the expected outcome")
                lines.append(f"  expected: {f.expected}")
                lines.append(f"  got:      {f.got}")
                if f.detail:
                    lines.append(f"  ({f.detail})")
                lines.append("  configuration:")
                lines.extend("    " + s for s in f.snippet.rstrip().splitlines())
    return "\n".join(lines)
