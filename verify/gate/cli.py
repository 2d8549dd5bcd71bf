"""``verify gate MODULE:ATTR``: check another implementation against the reference.

Exit status: 0 all checks pass; 1 a check fails (a wrong answer, NaN
included); 2 the implementation cannot be loaded or used (import error,
missing attribute or method, a call that raises, a result of the wrong type,
shape or dtype such as float32), or the gate was called wrongly.
"""

from __future__ import annotations

import json
import sys
import time

from . import tolerances as tl

__all__ = ["add_arguments", "run"]


def add_arguments(parser) -> None:
    parser.add_argument("implementation", nargs="?", metavar="MODULE:ATTR",
                        help="the implementation: a module, an object, or a class (instantiated without arguments) "
                             "with loss(mu, mu_star, t) and grad(mu, mu_star, t); e.g. "
                             "verify.gate.examples.sampler:SampleImplementation")
    parser.add_argument("--json", metavar="PATH", help="also write the rows (and failures) as JSON to PATH ('-': stdout)")
    parser.add_argument("--export", action="store_true",
                        help="print the published reference values (verify/data/reference_values.json) and exit")
    parser.add_argument("--check", action="append", metavar="NAME", dest="checks",
                        help="run only this check (repeatable): reference_values, generated_values, invariance, "
                             "self_consistency, dynamics")
    parser.add_argument("--quick", action="store_true",
                        help="the quick subset of configurations (one or more per regime)")
    parser.add_argument("--repeats", type=int, default=tl.REPEATS,
                        help=f"seeds per configuration for stochastic implementations (default {tl.REPEATS})")
    parser.add_argument("--seed", type=int, default=0, help="first seed for stochastic implementations (default 0)")
    parser.add_argument("--generated", type=int, default=6,
                        help="number of generated configurations (default 6)")


def _error(msg: str) -> int:
    print(f"verify gate: error: {msg}", file=sys.stderr)
    return 2


def run(args) -> int:
    from .checks import CHECKS, exit_status, format_rows, run_gate
    from .protocol import LoadError, load_implementation

    if args.export:
        from .export import reference_values_text

        try:
            sys.stdout.write(reference_values_text())
        except FileNotFoundError as exc:
            return _error(str(exc))
        return 0
    if not args.implementation:
        return _error("give the implementation as MODULE:ATTR (or use --export)")
    if args.checks:
        unknown = [c for c in args.checks if c not in CHECKS]
        if unknown:
            return _error(f"unknown check {unknown[0]!r}; choose from {', '.join(CHECKS)}")
    if args.repeats < 3 and args.repeats != 1:
        return _error("--repeats must be at least 3 (a spread needs several seeds)")
    try:
        impl = load_implementation(args.implementation)
    except LoadError as exc:
        print(f"verify gate: cannot load {args.implementation}:\n  {exc}", file=sys.stderr)
        print("exit status 2: the implementation could not be loaded", file=sys.stderr)
        return 2
    kind = "stochastic" if impl.stochastic else "deterministic"
    print(f"verify gate {args.implementation} ({kind}{', uses step()' if impl.has_step else ''})", flush=True)
    t0 = time.perf_counter()
    progress = (lambda name: print(f"  running {name} ...", file=sys.stderr, flush=True)) if sys.stderr.isatty() \
        else None
    try:
        rows = run_gate(impl, args.checks, progress=progress, repeats=args.repeats, seed=args.seed,
                        quick=args.quick, generated=args.generated)
    except FileNotFoundError as exc:  # the gate's own data, not the implementation
        return _error(str(exc))
    except Exception:  # noqa: BLE001 - a bug of the gate itself: say so, then show where
        import traceback

        print("verify gate: internal error of the gate (not of the implementation); please report it:",
              file=sys.stderr)
        traceback.print_exc()
        return 2
    status = exit_status(rows)
    print(format_rows(rows, stochastic=impl.stochastic, repeats=args.repeats))
    verdict = {0: "PASS: all checks pass", 1: "FAIL: a check failed",
               2: "ERROR: the implementation could not be used"}[status]
    print(f"\n{verdict} (exit status {status}; {time.perf_counter() - t0:.1f} s)")
    if args.json:
        doc = {
            "implementation": args.implementation,
            "stochastic": impl.stochastic,
            "exit_status": status,
            "seconds": round(time.perf_counter() - t0, 3),
            "tolerances": tl.describe(impl.stochastic, args.repeats),
            "rows": [r.to_dict() for r in rows],
        }
        text = json.dumps(doc, indent=1, default=str) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            with open(args.json, "w", encoding="utf-8") as fh:
                fh.write(text)
    return status
