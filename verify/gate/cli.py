"""``verify gate MODULE:ATTR``: check another implementation against the reference.

Exit status: 0 all checks pass; 1 a check fails (a wrong answer, NaN included, also when
other calls ran out of time); 2 the implementation cannot be loaded or used (import error,
missing attribute or method, a call that raises, a result of the wrong type, shape or dtype
such as float32), calls ran out of time so that not everything was judged, or the gate was
called wrongly; 130 interrupted (Ctrl-C).  A call that ends in ``sys.exit()`` counts as a call that raised
(:mod:`verify.gate.foreign`).

Every call into the implementation runs in a worker process with a time limit
(``--time-limit``, :mod:`verify.gate.worker`); a call that runs out of time is stopped, its
row says so with the time spent, and the gate goes on.  Progress (each check, the
configuration it is at, elapsed time, an estimate) goes to stderr.

How long it takes: seconds for a deterministic implementation as fast as the reference, longer
for a sampling one (every configuration is measured over many seeds) or a slow one; a call that
runs out of time adds its limit once per configuration, and a loaded machine takes several times
longer.  The shipped examples are measured in the README's gate section and docs/gate.md (the
numbers also in proofs_map.md); ``--help`` gives the rough times users need.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time

from verify.console import arguments

from . import tolerances as tl

__all__ = ["add_arguments", "run", "TIME_LIMIT"]

#: Default time limit per call into the implementation (seconds).  The reference engine takes
#: at most a few seconds at every published configuration (far_apart_n3_d2, k = 2 with scaled
#: distances ~10, took minutes before the nested path); 60 s leaves a slow implementation room and keeps the default
#: mode of every shipped example within 10 minutes on 2 cores (measured: docs/gate.md).
TIME_LIMIT = 60.0

CHECK_NAMES = ("reference_values", "generated_values", "invariance", "self_consistency", "dynamics",
               "averaged_values", "mixture_values")


def add_arguments(parser) -> None:
    parser.description = (
        "Check another implementation of the loss and gradient against the reference. Time on 2 cores "
        "for the shipped examples (README: each measured): --quick about 1 minute at most; the default "
        "mode about 2 minutes at most, seconds for a deterministic implementation as fast as the reference; "
        "a slower implementation or a loaded machine takes longer; each call into the implementation is "
        "stopped after --time-limit seconds.")
    parser.add_argument("implementation", nargs="?", metavar="MODULE:ATTR", type=arguments.module_spec,
                        help="the implementation: a module, an object, or a class (instantiated without arguments) "
                             "with loss(mu, mu_star, t) and grad(mu, mu_star, t); e.g. "
                             "verify.gate.examples.sampler:SampleImplementation")
    parser.add_argument("--json", metavar="PATH", type=arguments.output_file_or_stdout, action=arguments.StoreOnce,
                        help="also write the rows (and failures) as JSON to PATH ('-': stdout, which then carries "
                             "the JSON only: the table goes to stderr); its folder must exist")
    parser.add_argument("--export", action=arguments.FlagOnce,
                        help="print the published reference values (verify/data/reference_values.json) and exit "
                             "(takes no other argument)")
    parser.add_argument("--export-objectives", action=arguments.FlagOnce, dest="export_objectives",
                        help="print the published values of the optional objectives (time-averaged and mixture "
                             "loss, verify/data/objective_values.json) and exit (takes no other argument)")
    parser.add_argument("--check", action=arguments.AppendOnce, metavar="NAME", dest="checks",
                        type=arguments.one_of(CHECK_NAMES, "check"),
                        help="run only this check (repeatable, each name once): " + ", ".join(CHECK_NAMES))
    parser.add_argument("--quick", action=arguments.FlagOnce,
                        help="the quick subset of configurations (one or more per regime): about 1 minute at "
                             "most for the shipped examples")
    parser.add_argument("--repeats", type=_repeats, default=tl.REPEATS, action=arguments.StoreOnce,
                        help=f"seeds per configuration for stochastic implementations, 1 or >= 3 "
                             f"(default {tl.REPEATS})")
    parser.add_argument("--seed", type=arguments.seed, default=0, action=arguments.StoreOnce,
                        help="first seed for stochastic implementations (default 0)")
    parser.add_argument("--generated", type=arguments.count(1, "--generated"), default=6, action=arguments.StoreOnce,
                        help="number of generated configurations of the generated_values check (default 6)")
    parser.add_argument("--time-limit", type=arguments.seconds, default=TIME_LIMIT, metavar="SECONDS",
                        dest="time_limit", action=arguments.StoreOnce,
                        help=f"stop a call into the implementation after SECONDS (default {TIME_LIMIT:g}; "
                             f"0: no limit, and the calls run in the gate's own process)")


def _repeats(text: str) -> int:
    value = arguments.count(1, "--repeats")(text)
    if value == 2:
        import argparse

        raise argparse.ArgumentTypeError("--repeats must be 1 or at least 3 (a spread needs several seeds)")
    return value


def _export_conflict(args) -> str | None:
    """Why the arguments do not go with --export/--export-objectives (None: they do).  Both only print a
    data file, so every other argument would be silently ignored: refuse it by name instead."""
    if args.export and args.export_objectives:
        return "--export and --export-objectives each print one data file; give one of them"
    flag = "--export" if args.export else "--export-objectives"
    given = arguments.given(args)
    extra = [name for name, present in [
        ("MODULE:ATTR", args.implementation), ("--quick", args.quick), ("--check", args.checks),
        ("--json", "json" in given), ("--repeats", "repeats" in given), ("--seed", "seed" in given),
        ("--generated", "generated" in given), ("--time-limit", "time_limit" in given)] if present]
    if extra:
        return (f"{flag} only prints the published values; {', '.join(extra)} "
                f"{'does' if len(extra) == 1 else 'do'} not apply to it")
    return None


def _inapplicable(args) -> str | None:
    """Why an option given does not apply to the checks chosen (None: all apply); known from the
    command line alone, so refused before the implementation is loaded."""
    if "generated" in arguments.given(args) and args.checks and "generated_values" not in args.checks:
        return ("--generated sets the number of configurations of the generated_values check, "
                "which --check does not select")
    return None


def _not_stochastic(args, impl) -> str | None:
    """Why --repeats/--seed do not apply (None: they do): they set the seeds of a stochastic implementation,
    and a deterministic one (``stochastic`` absent or False) is called once per configuration without one."""
    given = [flag for flag, dest in (("--repeats", "repeats"), ("--seed", "seed")) if dest in arguments.given(args)]
    if given and not impl.stochastic:
        return (f"{' and '.join(given)} {'apply' if len(given) > 1 else 'applies'} only to stochastic "
                f"implementations; {args.implementation} is deterministic (no stochastic = True), "
                f"so it is called once without a seed")
    return None


def run(args) -> int:
    if args.export or args.export_objectives:  # print a shipped data file
        problem = _export_conflict(args)
        if problem:
            return arguments.fail("verify gate", problem)
        from .datafile import OBJECTIVE_VALUES, REFERENCE_VALUES

        try:
            sys.stdout.write((REFERENCE_VALUES if args.export else OBJECTIVE_VALUES).text())
        except FileNotFoundError as exc:
            return arguments.fail("verify gate", str(exc))
        return 0
    if not args.implementation:
        return arguments.fail("verify gate", "give the implementation as MODULE:ATTR (or use --export)")
    problem = _inapplicable(args)
    if problem:
        return arguments.fail("verify gate", problem)
    # --json -: stdout carries the JSON only; the header, table and verdict go to stderr, and so does
    # whatever the implementation prints (here while it loads or runs in-process, in the worker there)
    stdout = sys.stdout
    if args.json != "-":
        status, text = _run(args, stdout, t0=time.perf_counter())
    else:
        with _stdout_to_stderr():
            status, text = _run(args, sys.stderr, t0=time.perf_counter())
    if text is None:  # no --json, or the run ended before a verdict
        return status
    if args.json == "-":
        stdout.write(text)
        stdout.flush()
        return status
    try:
        args.json.write_text(text, encoding="utf-8")
    except OSError as exc:
        return arguments.fail("verify gate", f"cannot write {args.json}: {exc.strerror}")
    return status


@contextlib.contextmanager
def _stdout_to_stderr():
    """Within: ``sys.stdout`` is ``sys.stderr``, and file descriptor 1 is 2 (native code's prints too)."""
    sys.stdout.flush()
    saved = None
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:  # no file descriptors to move (an embedding without them): Python's prints still move
        saved = None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _run(args, out, *, t0: float) -> tuple[int, str | None]:
    """The gate's run: the header, table and verdict to ``out``; returns the exit status and the JSON
    document of ``--json`` (None without it, or when the run ended before a verdict)."""
    from verify.console.progress import Progress

    from .checks import CHECKS, exit_status, format_rows, run_gate
    from .protocol import OPTIONAL_PAIRS, LoadError, load_implementation

    try:
        impl = load_implementation(args.implementation)
    except LoadError as exc:
        return arguments.fail("verify gate", f"cannot load {args.implementation}: {exc}"), None
    problem = _not_stochastic(args, impl)
    if problem:
        impl.close()
        return arguments.fail("verify gate", problem), None
    kind = "stochastic" if impl.stochastic else "deterministic"
    limit = f"each call stopped after {args.time_limit:g} s" if args.time_limit else "no time limit"
    offers = "".join(f", offers {'/'.join(OPTIONAL_PAIRS[o])}" for o in sorted(impl.offers))
    print(f"verify gate {args.implementation} ({kind}{', uses step()' if impl.has_step else ''}{offers}; {limit})",
          file=out, flush=True)
    if args.time_limit:
        from .worker import WorkerFailed, start_worker

        try:
            start_worker(impl, args.time_limit, stdout_to_stderr=args.json == "-")
        except WorkerFailed as exc:
            return arguments.fail("verify gate", str(exc)), None
    names = args.checks or list(CHECKS)
    try:
        with Progress("verify gate", total=len(names), unit="check") as progress:
            rows = run_gate(impl, names, progress=progress, repeats=args.repeats, seed=args.seed,
                            quick=args.quick, generated=args.generated)
    except FileNotFoundError as exc:  # the gate's own data, not the implementation
        return arguments.fail("verify gate", str(exc)), None
    except Exception:  # noqa: BLE001 - a bug of the gate itself: say so, then show where
        import traceback

        print("verify gate: internal error of the gate (not of the implementation); please report it:",
              file=sys.stderr)
        traceback.print_exc()
        return 2, None
    finally:
        impl.close()
    status = exit_status(rows)
    print(format_rows(rows, stochastic=impl.stochastic, repeats=args.repeats), file=out)
    if status == 2 and not any(r.status == "error" for r in rows):
        verdict = "INCOMPLETE: calls ran out of time, so not everything was judged (see TIMEOUT above)"
    else:
        verdict = {0: "PASS: all checks pass", 1: "FAIL: a check failed",
                   2: "ERROR: the implementation could not be used"}[status]
    seconds = time.perf_counter() - t0
    print(f"\n{verdict} (exit status {status}; {seconds:.1f} s)", file=out, flush=True)
    if args.json:
        doc = {
            "implementation": args.implementation,
            "stochastic": impl.stochastic,
            "exit_status": status,
            "seconds": round(seconds, 3),
            "time_limit": args.time_limit or None,
            "tolerances": tl.describe(impl.stochastic, args.repeats),
            "rows": [r.to_dict() for r in rows],
        }
        return status, json.dumps(doc, indent=1, default=str) + "\n"
    return status, None
