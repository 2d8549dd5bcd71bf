"""``verify report``: run the paper's claims and print what each one measured.

Runs every registered claim (or those named with ``--claim``), prints one row
per claim (id, statement, verdict and reason, key evidence, size, seconds),
and optionally writes the same rows as JSON (``--json``, schema in
``docs/report_schema.md``) and the claims' figures (``--figures``).

Exit status:

* 0 -- every claim that ran holds or is inconclusive (and at least one ran);
* 1 -- some claim fails (the summary says which and why);
* 2 -- the suite itself could not run: bad arguments, no claim registered, a
  claim that raised or returned something other than a ``ClaimResult``, or a
  figure that could not be drawn.  The other claims still run.
"""

from __future__ import annotations

import argparse
import decimal
import importlib.metadata
import json
import math
import numbers
import platform
import shutil
import sys
import textwrap
import time
import traceback
from pathlib import Path

import mpmath
import numpy as np
from tqdm import tqdm

import verify
from verify import claims as _claims
from verify.claims.base import ClaimResult

__all__ = ["SCHEMA", "add_arguments", "run"]

#: Version of the JSON layout; bump it when a key changes meaning or goes away.
SCHEMA = "verify-report/1"

#: JSON key -> distribution whose version is recorded ("python" and "verify" are added apart).
_VERSIONED = {
    "numpy": "numpy",
    "mpmath": "mpmath",
    "sympy": "sympy",
    "hypothesis": "hypothesis",
    "flint": "python-flint",
    "matplotlib": "matplotlib",
}

# Table layout: how much of the evidence a row shows (the JSON has all of it).
_EVIDENCE_ITEMS = 8
_VALUE_CHARS = 28
_LIST_ITEMS = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", choices=("quick", "full"), default="quick",
                        help="quick: minutes, for development and CI (default); full: the sizes the paper uses")
    parser.add_argument("--claim", action="append", metavar="ID", dest="claim_ids",
                        help="run only this claim (repeatable), e.g. --claim thm-3.1; default: all")
    parser.add_argument("--seed", type=int, default=0, help="seed passed to every claim (default 0)")
    parser.add_argument("--json", type=Path, metavar="PATH", dest="json_path",
                        help=f"also write the results as JSON ({SCHEMA}, see docs/report_schema.md)")
    parser.add_argument("--figures", type=Path, metavar="DIR", dest="figures_dir",
                        help="draw each claim's figures into DIR (created if missing)")


def run(args: argparse.Namespace) -> int:
    registry = _claims.all_claims()
    if not registry:
        print("verify report: no claim is registered yet (verify/claims/*.py); nothing to run.", file=sys.stderr)
        return 2
    selected, problem = _select(registry, args.claim_ids or [])
    if problem:
        print(f"verify report: {problem}", file=sys.stderr)
        return 2
    if args.figures_dir is not None:
        args.figures_dir.mkdir(parents=True, exist_ok=True)

    rows, errors = [], []
    bars = _Progress(len(selected))
    try:
        for claim in selected:
            row, error = _run_one(claim, args, bars)
            rows.append(row)
            if error:
                errors.append(row["id"])
                bars.write(f"ERROR in claim {row['id']}:\n{error}")
    finally:
        bars.close()

    print(_format_table(rows, args))
    print(_summary(rows))
    if args.json_path is not None:
        args.json_path.parent.mkdir(parents=True, exist_ok=True)
        document = {"schema": SCHEMA, "versions": _versions(), "seed": args.seed,
                    "budget": args.budget, "claims": rows}
        args.json_path.write_text(json.dumps(document, indent=2, allow_nan=False, ensure_ascii=False) + "\n",
                                  encoding="utf-8")
    if errors:
        return 2
    return 1 if any(row["verdict"] == "fails" for row in rows) else 0


# ---------------------------------------------------------------------------------------------
# running


def _select(registry, wanted):
    """The claims to run, in the paper's order; or a message saying what is wrong."""
    unknown = [cid for cid in wanted if cid not in registry]
    if not unknown:
        chosen = set(wanted) or set(registry)
        return [claim for cid, claim in registry.items() if cid in chosen], None
    cid = unknown[0]
    known = ", ".join(registry)
    if cid in _claims.CLAIM_IDS:
        return None, f"claim {cid!r} is in the paper's list but no module registers it yet; registered: {known}"
    return None, f"unknown claim id {cid!r}; registered: {known}"


def _run_one(claim, args, bars):
    """Run one claim and draw its figures; returns ``(row, error text or None)``."""
    bars.start(claim.id)
    row = {"id": claim.id, "statement": " ".join(claim.statement.split())}
    start = time.perf_counter()
    try:
        result = claim(budget=args.budget, seed=args.seed, progress=bars.inner)
        seconds = _seconds(start)
        if not isinstance(result, ClaimResult):
            raise TypeError(f"claim returned {type(result).__name__}, not a ClaimResult")
        row.update(verdict=result.verdict, reason=" ".join(str(result.reason).split()), seconds=seconds,
                   size=str(result.size), evidence=_jsonable(dict(result.evidence)),
                   figures=sorted(result.figures))
    except Exception as exc:  # a broken claim must not stop the others
        row.update(verdict="error", reason=_one_line(exc), seconds=_seconds(start), size="",
                   evidence={}, figures=[])
        bars.done()
        return row, _short_traceback(exc)
    error = None
    if args.figures_dir is not None:
        error = _draw(result.figures, args.figures_dir)
        if error:
            row.update(verdict="error", reason=f"a figure could not be drawn ({error.splitlines()[-1]}); "
                                               f"the claim itself said: {result.verdict}, {row['reason']}")
    bars.done()
    return row, error


def _draw(figures, folder: Path):
    import verify.claims.figures  # noqa: F401  (selects the Agg backend before any figure is drawn)
    import matplotlib.pyplot as plt

    for name, draw in sorted(figures.items()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            draw(path)
        except Exception as exc:
            return f"figure {name}: " + _short_traceback(exc)
        finally:
            plt.close("all")
    return None


def _seconds(start: float) -> float:
    # rounded once here, so the table and the JSON show the same number
    return round(time.perf_counter() - start, 2)


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _short_traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc, limit=-4)).rstrip()


class _Progress:
    """tqdm bars on stderr when it is a terminal (one per claim, one for a claim's inner loop);
    nothing at all otherwise, so CI logs and piped output stay clean."""

    def __init__(self, total: int):
        isatty = getattr(sys.stderr, "isatty", None)
        self.enabled = bool(isatty and isatty())
        self._outer = tqdm(total=total, unit="claim", file=sys.stderr, leave=False,
                           disable=not self.enabled, position=0)
        self._inner = None
        self._label = None

    def start(self, claim_id: str) -> None:
        if self.enabled:
            self._outer.set_description(claim_id)

    def inner(self, done, total=None, label: str = "") -> None:
        """The ``progress(done, total, label)`` callback handed to each claim."""
        if not self.enabled:
            return
        if self._inner is None or self._inner.total != total or label != self._label:
            self._close_inner()
            self._inner = tqdm(total=total, desc=label or None, file=sys.stderr, leave=False, position=1)
            self._label = label
        self._inner.update(done - self._inner.n)

    def done(self) -> None:
        self._close_inner()
        self._outer.update(1)

    def write(self, text: str) -> None:
        tqdm.write(text, file=sys.stderr)

    def close(self) -> None:
        self._close_inner()
        self._outer.close()

    def _close_inner(self) -> None:
        if self._inner is not None:
            self._inner.close()
            self._inner = None


# ---------------------------------------------------------------------------------------------
# JSON


def _jsonable(value):
    """``value`` as plain JSON data: no numpy types, no NaN/inf, no digits lost.

    Numbers a float64 holds exactly stay numbers; mpmath numbers, long doubles,
    Decimals and integers beyond 2**53 become decimal strings with all their
    digits; non-finite floats become "inf", "-inf", "nan"."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):  # numpy scalars (np.float64 is also a float)
        if isinstance(value, np.floating) and value.dtype.itemsize > 8:
            return _float_text(value) if not np.isfinite(value) else np.format_float_scientific(value, unique=True)
        return _jsonable(value.item())
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, numbers.Integral):
        return int(value) if abs(value) <= 2**53 else str(int(value))
    if isinstance(value, float):
        return value if math.isfinite(value) else _float_text(value)
    if isinstance(value, mpmath.mpf):
        return _mpf_text(value)
    if isinstance(value, mpmath.mpc):
        return {"re": _mpf_text(value.real), "im": _mpf_text(value.imag)}
    if isinstance(value, decimal.Decimal):
        return str(value) if value.is_finite() else _float_text(float(value))
    if isinstance(value, numbers.Real):  # Fraction, sympy numbers, ...: a float if exact
        as_float = float(value)
        return as_float if as_float == value else str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return str(value)  # e.g. a flint arb ball "[0.333 +/- 3e-16]": readable, and never a crash


def _float_text(x) -> str:
    return "nan" if x != x else ("inf" if x > 0 else "-inf")


def _mpf_text(x: mpmath.mpf) -> str:
    """All the digits the mpf carries (its own precision, not the current context's)."""
    if not mpmath.isfinite(x):
        return _float_text(float(x))
    bits = x._mpf_[3]  # mantissa bit count
    # ceil(bits log10 2) + 1 digits read back to the same binary value (17 for a float64)
    return mpmath.libmp.to_str(x._mpf_, math.ceil(bits * math.log10(2)) + 1)


def _versions() -> dict:
    versions = {"verify": verify.__version__, "python": platform.python_version()}
    for key, dist in _VERSIONED.items():
        try:
            versions[key] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[key] = None
    return versions


# ---------------------------------------------------------------------------------------------
# table


def _format_table(rows, args) -> str:
    """Fixed columns on the left; statement, reason and evidence wrapped in the last one."""
    width = min(max(shutil.get_terminal_size((120, 24)).columns, 90), 160)
    id_w = max(5, *(len(r["id"]) for r in rows))
    heads = ("claim", "verdict", "seconds", "size")
    widths = [id_w, 12, 7, 18]
    text_w = max(30, width - sum(widths) - 2 * len(widths))

    def line(cells):
        return "  ".join(cell.ljust(w) if i != 2 else cell.rjust(w)
                         for i, (cell, w) in enumerate(zip(cells, widths + [text_w]))).rstrip()

    out = [f"verify report: {len(rows)} claim(s), budget {args.budget}, seed {args.seed}, verify {verify.__version__}",
           "",
           line(heads + ("statement / reason / evidence",)),
           line(["-" * w for w in widths + [text_w]])]
    for r in rows:
        text = textwrap.wrap(r["statement"], text_w) or [""]
        text += textwrap.wrap(r["reason"], text_w, initial_indent="reason: ", subsequent_indent="  ")
        if r["evidence"]:
            text += _wrap_items(_render_evidence(r["evidence"]), text_w, "evidence: ", "  ")
        size = textwrap.wrap(r["size"], widths[3]) or [""]
        left = [[r["id"]], [r["verdict"].upper()], [f"{r['seconds']:.2f}"], size]
        for k in range(max(len(text), len(size))):
            out.append(line([col[k] if k < len(col) else "" for col in left] + [text[k] if k < len(text) else ""]))
        out.append("")
    return "\n".join(out).rstrip()


def _summary(rows) -> str:
    counts = {v: sum(r["verdict"] == v for r in rows) for v in ("holds", "fails", "inconclusive", "error")}
    total = sum(r["seconds"] for r in rows)
    lines = ["", f"{len(rows)} claim(s): {counts['holds']} hold, {counts['fails']} fail, "
                 f"{counts['inconclusive']} inconclusive, {counts['error']} error(s); {total:.2f} s"]
    for r in rows:
        if r["verdict"] == "fails":
            lines.append(f"FAILS {r['id']}: {r['reason']}")
        elif r["verdict"] == "error":
            lines.append(f"ERROR {r['id']}: {r['reason']} (traceback on stderr)")
    return "\n".join(lines)


def _render_evidence(evidence: dict) -> list[str]:
    """``name=value`` items: the first few entries, each value cut to a readable length."""
    items = [f"{k}={_render_value(v)}" for k, v in list(evidence.items())[:_EVIDENCE_ITEMS]]
    if len(evidence) > _EVIDENCE_ITEMS:
        items.append(f"(+{len(evidence) - _EVIDENCE_ITEMS} more in --json)")
    return items


def _wrap_items(items: list[str], width: int, first: str, indent: str) -> list[str]:
    """Comma-separated items on lines of at most ``width``, an item split only if it alone is too long."""
    lines, current = [], first
    for k, item in enumerate(items):
        piece = item + ("," if k < len(items) - 1 else "")
        if current.strip() and len(current) + len(piece) > width:
            lines.append(current.rstrip())
            current = indent
        current += piece + " "
        while len(current.rstrip()) > width:  # one item longer than a line
            lines.append(current[:width])
            current = indent + current[width:]
    return lines + [current.rstrip()]


def _render_value(v, nested: bool = False) -> str:
    if isinstance(v, float):
        text = f"{v:.4g}"
    elif isinstance(v, str):
        text = _render_number_text(v)
    elif isinstance(v, (list, dict)) and (nested or len(v) > _LIST_ITEMS):
        text = f"[{len(v)} items]" if isinstance(v, list) else f"{{{len(v)} entries}}"
    elif isinstance(v, list):
        text = "[" + ", ".join(_render_value(x, True) for x in v) + "]"
    elif isinstance(v, dict):
        text = "{" + ", ".join(f"{k}={_render_value(x, True)}" for k, x in v.items()) + "}"
    else:
        text = str(v)
    return text if len(text) <= _VALUE_CHARS else text[: _VALUE_CHARS - 3] + "..."


def _render_number_text(s: str) -> str:
    """A long decimal string (an mpf) shown to 12 digits, exponent kept; other strings as they are."""
    if len(s) <= _VALUE_CHARS:
        return s
    try:
        d = decimal.Decimal(s)
    except decimal.InvalidOperation:
        return s
    return f"{d:.12g}" if d.is_finite() else s
