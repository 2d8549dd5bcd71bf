"""``verify report``: run the paper's claims and print what each one measured.

Runs every registered claim (or those named with ``--claim``), prints one row per claim
(claim, verdict, seconds, findings, the reason in one sentence, the sizes checked), and
optionally writes the same rows as JSON (``--json``, schema in ``docs/report_schema.md``) and
the claims' figures (``--figures``).  ``--verbose`` adds each claim's statement, whole reason,
evidence and findings.

Progress goes to stderr from the first second (:mod:`verify.console.progress`): the header at
once, each claim as it starts and its row as it finishes.  Each claim runs inside a time limit
(``--time-limit``; :mod:`verify.engine.time_limit`): a claim whose engine work outlasts it is
``inconclusive``, with the time spent and the estimated cost of the whole claim.

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

from verify.console import arguments as cli_args
from verify.console.progress import Progress, duration

__all__ = ["SCHEMA", "TIME_LIMITS", "add_arguments", "run"]

#: Version of the JSON layout; bump it when a key changes meaning or goes away.
SCHEMA = "verify-report/2"

#: Default time limit per claim (seconds; None: none).  Quick: far above any claim's measured time
#: (proofs_map.md), so it only stops a claim whose engine work went astray.  Full: the paper's
#: sizes take hours (fig-1), so no limit; the progress line shows the estimate instead.
TIME_LIMITS = {"quick": 1800.0, "full": None}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--budget", action=cli_args.StoreOnce, choices=("quick", "full"), default="quick",
                        help="quick: minutes, for development and CI (default); full: the sizes the paper uses "
                             "(hours)")
    parser.add_argument("--claim", action=cli_args.AppendOnce, metavar="ID", dest="claim_ids", type=_claim_id,
                        help="run only this claim (repeatable), e.g. --claim thm-3.1; default: all")
    parser.add_argument("--seed", action=cli_args.StoreOnce, type=cli_args.seed, default=0,
                        help=f"seed passed to every claim, 0 to {cli_args.SEED_MAX} (default 0)")
    parser.add_argument("--json", action=cli_args.StoreOnce, type=cli_args.output_file_or_stdout, metavar="PATH",
                        dest="json_path",
                        help=f"also write the results as JSON ({SCHEMA}, see docs/report_schema.md); "
                             "its folder must exist; - for stdout (the table then goes to stderr)")
    parser.add_argument("--figures", action=cli_args.StoreOnce, type=cli_args.output_dir, metavar="DIR",
                        dest="figures_dir",
                        help="draw each claim's figures into DIR (DIR is created if its parent exists)")
    parser.add_argument("--time-limit", action=cli_args.StoreOnce, type=cli_args.seconds, metavar="SECONDS",
                        dest="time_limit",
                        help="stop a claim's engine work after SECONDS and call it inconclusive, with its "
                             "estimated cost (default: 1800 at quick, none at full; 0: none)")
    parser.add_argument("--verbose", "-v", action=cli_args.FlagOnce,
                        help="after the table, each claim's statement, whole reason, evidence and findings")


def _claim_id(text: str) -> str:
    """A claim id of the paper's list (checked when parsed, before any work)."""
    from verify.claims import CLAIM_IDS  # the list alone: no claim module is imported here

    if text not in CLAIM_IDS:
        raise argparse.ArgumentTypeError(f"unknown claim id {text!r}; the paper's claims: {', '.join(CLAIM_IDS)}")
    return text


def run(args: argparse.Namespace) -> int:
    from .table import header

    human = sys.stderr if args.json_path == "-" else sys.stdout  # stdout carries the JSON alone
    limit = TIME_LIMITS[args.budget] if args.time_limit is None else (args.time_limit or None)
    args.time_limit = limit
    print(header(args, len(args.claim_ids or []) or None), file=human, flush=True)  # at once, before the imports

    from verify import claims as _claims

    registry = _claims.all_claims()
    if not registry:
        return cli_args.fail("verify report", "no claim is registered yet (verify/claims/*.py); nothing to run")
    selected, problem = _select(registry, args.claim_ids or [])
    if problem:
        return cli_args.fail("verify report", problem)
    if args.figures_dir is not None:
        try:
            args.figures_dir.mkdir(exist_ok=True)  # the one folder named; its parent was checked
        except OSError as exc:
            return cli_args.fail("verify report", f"cannot create {args.figures_dir}: {exc.strerror}")

    rows, errors = [], []
    with Progress("verify report", total=len(selected), unit="claim") as progress:
        for claim in selected:
            progress.start(claim.id)
            row, error = _run_one(claim, args, progress)
            rows.append(row)
            if error:
                errors.append(row["id"])
                progress.write(f"ERROR in claim {row['id']}:\n{error}")
            progress.finish(_progress_row(row))
    return _finish(rows, errors, args, human)


def _finish(rows, errors, args, human=sys.stdout) -> int:
    from .jsondata import versions
    from .table import details, format_table, summary

    print(format_table(rows), file=human)
    if args.verbose:
        print(details(rows), file=human)
    print(summary(rows), file=human)
    if args.json_path is not None:
        document = {"schema": SCHEMA, "versions": versions(), "seed": args.seed, "budget": args.budget,
                    "time_limit": args.time_limit, "claims": rows}
        text = json.dumps(document, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
        if args.json_path == "-":
            sys.stdout.write(text)
            return _status(rows, errors)
        try:
            args.json_path.write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"verify report: error: cannot write {args.json_path}: {exc.strerror}", file=sys.stderr)
            return 2
    return _status(rows, errors)


def _status(rows, errors) -> int:
    if errors:
        return 2
    return 1 if any(row["verdict"] == "fails" for row in rows) else 0


# ---------------------------------------------------------------------------------------------
# running


def _select(registry, wanted):
    """The claims to run, in the paper's order; or a message saying what is wrong.  (Every id was
    checked against the paper's list when parsed, so an id missing here is one no module registers.)"""
    unknown = [cid for cid in wanted if cid not in registry]
    if not unknown:
        chosen = set(wanted) or set(registry)
        return [claim for cid, claim in registry.items() if cid in chosen], None
    known = ", ".join(registry)
    return None, f"claim {unknown[0]!r} is in the paper's list but no module registers it yet; registered: {known}"


def _run_one(claim, args, progress):
    """Run one claim (inside its time limit) and draw its figures; returns ``(row, error text or None)``."""
    from verify.claims.base import ClaimResult
    from verify.claims.gaps import GAPS
    from verify.engine.time_limit import TimeLimitExceeded, time_limit

    from .jsondata import jsonable

    row = {"id": claim.id, "statement": " ".join(claim.statement.split()), "gap": GAPS.get(claim.id, "")}
    start = time.perf_counter()
    try:
        with time_limit(args.time_limit):
            result = claim(budget=args.budget, seed=args.seed, progress=progress.update)
        seconds = _seconds(start)
        if not isinstance(result, ClaimResult):
            raise TypeError(f"claim returned {type(result).__name__}, not a ClaimResult")
        row.update(verdict=result.verdict, reason=" ".join(str(result.reason).split()), seconds=seconds,
                   size=str(result.size), evidence=jsonable(dict(result.evidence)),
                   findings=[jsonable(f.as_dict()) for f in result.findings], figures=sorted(result.figures))
    except TimeLimitExceeded as exc:
        row.update(_out_of_time(exc, progress, _seconds(start)))
        return row, None
    except Exception as exc:  # a broken claim must not stop the others
        row.update(verdict="error", reason=_one_line(exc), seconds=_seconds(start), size="",
                   evidence={}, findings=[], figures=[])
        return row, _short_traceback(exc)
    error = None
    if args.figures_dir is not None:
        error = _draw(result.figures, args.figures_dir)
        if error:
            row.update(verdict="error", reason=f"a figure could not be drawn ({error.splitlines()[-1]}); "
                                               f"the claim itself said: {result.verdict}, {row['reason']}")
    return row, error


def _out_of_time(exc, progress, seconds) -> dict:
    """The row of a claim stopped by its time limit: inconclusive, with the time spent and the estimated
    cost of the whole claim (from the share of its parts it had done, when it reported one)."""
    estimate = progress.item_estimate()
    done = progress.inner
    where = ""
    if done is not None and done[1]:
        where = f" after {done[0]:g} of its {done[1]:g} parts ({done[2] or 'no label'})"
    if estimate is not None:
        cost = f"; the whole claim would take about {duration(estimate)}"
    elif done is not None and done[1] and done[0] == 0:
        # its first part alone outlasted the limit: a lower bound, if the parts cost alike
        cost = (f"; none of its parts finished, so the whole claim needs more than "
                f"{duration(exc.limit * done[1])} if its parts cost alike")
    else:
        cost = "; its total cost is not known (it reported no progress)"
    reason = (f"stopped at the time limit of {duration(exc.limit)} per claim{where}{cost}; "
              f"run it alone with a larger --time-limit (or 0 for none) to decide it")
    evidence = {"time_limit_seconds": exc.limit, "seconds_spent": round(exc.spent, 2),
                "estimated_seconds": None if estimate is None else round(estimate, 1),
                "parts_done": None if done is None else done[0], "parts": None if done is None else done[1],
                "running": None if done is None else done[2]}
    return dict(verdict="inconclusive", reason=reason, seconds=seconds, size="stopped by the time limit",
                evidence=evidence, findings=[], figures=[])


def _draw(figures, folder):
    import verify.claims.figures  # noqa: F401  (selects the Agg backend before any figure is drawn)
    import matplotlib.pyplot as plt

    for name, draw in sorted(figures.items()):
        path = folder / name
        try:
            if path.parent != folder:
                path.parent.mkdir(exist_ok=True)
            draw(path)
        except Exception as exc:  # a figure that cannot be drawn is reported in its claim's row, never stops the report
            return f"figure {name}: " + _short_traceback(exc)
        finally:
            plt.close("all")
    return None


def _progress_row(row) -> str:
    """The line printed on stderr when a claim finishes."""
    findings = len(row.get("findings", []))
    extra = f", {findings} finding(s)" if findings else ""
    return f"  {row['id']}: {row['verdict'].upper()} in {duration(row['seconds'])}{extra}"


def _seconds(start: float) -> float:
    # rounded once here, so the table and the JSON show the same number
    return round(time.perf_counter() - start, 2)


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"


def _short_traceback(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc, limit=-4)).rstrip()
