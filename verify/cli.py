"""The ``verify`` command: ``verify report``, ``verify selfcheck``, ``verify gate``, ``verify explore``.

Each subcommand lives in its own module, which provides ``add_arguments(parser)`` and
``run(args) -> int`` (the exit status).  Every argument is checked while it is parsed
(:mod:`verify.console.arguments`), so a mistake is one line on stderr and exit status 2
before any computation.
"""

from __future__ import annotations

import importlib
import sys

import verify
from verify.console.arguments import ArgumentParser

#: subcommand -> (module, one-line help)
SUBCOMMANDS = {
    "report": ("verify.report", "run the paper's claims and print the verdict table (the main job)"),
    "selfcheck": ("verify.checks.selfcheck", "print the reference engine's accuracy (and, with --bench, speed) report"),
    "gate": ("verify.gate.cli", "check another implementation of the loss and gradient against the reference"),
    "explore": ("verify.explore.command", "studies beyond the theorems: noise sweep, radius, step sizes, phase "
                "diagrams (local or on a Dask cluster)"),
}


class _Subcommand(ArgumentParser):
    """A subcommand's parser: words it does not know are its error, ``verify report: error: unrecognized
    arguments: ... (see verify report --help)``; argparse would hand them back to the top parser, whose
    message named ``verify`` and pointed to ``verify --help``, which does not list the subcommand's options."""

    def parse_known_args(self, args=None, namespace=None):
        namespace, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error("unrecognized arguments: " + " ".join(extras))
        return namespace, extras


def build_parser(command: str | None = None) -> ArgumentParser:
    """The parser; the arguments of subcommand ``command`` only (None: all), so that ``verify --version``,
    ``verify --help`` and each subcommand import nothing they do not need."""
    parser = ArgumentParser(
        prog="verify",
        description="Theorem verification for arXiv 2511.22069 (over-parameterized score matching, single Gaussian).",
    )
    parser.add_argument("--version", action="version", version=f"verify {verify.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Subcommand)
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if command in (None, name):
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
    return parser


def _command(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option), if any."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in SUBCOMMANDS else None
    return "" if argv else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad arguments, 0 on --help and --version
        return int(exc.code or 0)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args))
    except KeyboardInterrupt:
        print(f"verify {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
