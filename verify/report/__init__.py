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
import json
import sys
import time
import traceback
from pathlib import Path

from tqdm import tqdm

from verify import claims as _claims
from verify.claims.base import ClaimResult

from .jsondata import jsonable, versions
from .table import format_table, summary

__all__ = ["SCHEMA", "add_arguments", "run"]

#: Version of the JSON layout; bump it when a key changes meaning or goes away.
SCHEMA = "verify-report/2"


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

    print(format_table(rows, args))
    print(summary(rows))
    if args.json_path is not None:
        args.json_path.parent.mkdir(parents=True, exist_ok=True)
        document = {"schema": SCHEMA, "versions": versions(), "seed": args.seed,
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
                   size=str(result.size), evidence=jsonable(dict(result.evidence)),
                   findings=[jsonable(f.as_dict()) for f in result.findings], figures=sorted(result.figures))
    except Exception as exc:  # a broken claim must not stop the others
        row.update(verdict="error", reason=_one_line(exc), seconds=_seconds(start), size="",
                   evidence={}, findings=[], figures=[])
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
