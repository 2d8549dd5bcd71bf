"""The ``verify`` command: ``verify selfcheck``, ``verify report``, ``verify gate``.

Each subcommand lives in its own module, which provides
``add_arguments(parser)`` and ``run(args) -> int`` (the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: subcommand -> (module, one-line help)
SUBCOMMANDS = {
    "report": ("verify.report", "run the paper's claims and print the verdict table (the main job)"),
    "selfcheck": ("verify.checks.selfcheck", "print the reference engine's accuracy (and, with --bench, speed) report"),
    "gate": ("verify.gate.cli", "check another implementation of the loss and gradient against the reference"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verify",
        description="Theorem verification for arXiv 2511.22069 (over-parameterized score matching, single Gaussian).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        mod = importlib.import_module(module)
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    return int(args._run(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
