"""The gate's published data files (``verify/data/*.json``): where each lives, its text, loading it
with its format and version checked, and the ``--write`` command that regenerates it.

One :class:`DataFile` per file, named here so that reading a file does not import the code that
generates it (the checks read; :mod:`verify.gate.export` and :mod:`verify.gate.objective_export`
generate, and run as ``python -m`` without being imported first by the package).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = ["DataFile", "REFERENCE_VALUES", "OBJECTIVE_VALUES"]


@dataclass(frozen=True)
class DataFile:
    """``name`` in verify/data; ``format`` and ``version`` the file must carry; ``module`` the
    ``python -m`` module that regenerates it."""

    name: str
    format: str
    version: int
    module: str

    def path(self) -> Path:
        """Where the shipped file lives in the source tree (for --write)."""
        return Path(__file__).resolve().parent.parent / "data" / self.name

    def text(self) -> str:
        """The shipped file's text, read as package data (works from a wheel too)."""
        return resources.files("verify").joinpath("data", self.name).read_text(encoding="utf-8")

    def load(self) -> dict:
        """The published data, checked for format and version (a clear error naming the file otherwise)."""
        regenerate = f"regenerate it with python -m {self.module} --write"
        try:
            data = json.loads(self.text())
        except FileNotFoundError:
            raise FileNotFoundError(f"verify/data/{self.name} is missing; {regenerate}") from None
        if data.get("format") != self.format:
            raise ValueError(f"verify/data/{self.name}: format {data.get('format')!r}, expected {self.format!r}")
        if data.get("version") != self.version:
            raise ValueError(f"verify/data/{self.name}: version {data.get('version')!r}, this gate reads version "
                             f"{self.version}; {regenerate}")
        return data

    def main(self, build, argv, description: str) -> int:
        """``python -m MODULE [--write]``: build the data (progress on stderr) and print or write it."""
        p = argparse.ArgumentParser(prog=f"python -m {self.module}", description=description)
        p.add_argument("--write", action="store_true", help=f"write verify/data/{self.name} (else print to stdout)")
        args = p.parse_args(argv)
        data = build(progress=lambda s: print(s, file=sys.stderr, flush=True))
        text = json.dumps(data, indent=1) + "\n"
        if args.write:
            self.path().write_text(text, encoding="utf-8")
            print(f"wrote {self.path()}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0


#: the single-Gaussian reference values; the version is bumped when configurations, conventions or
#: fields change (2: far_apart_n3_d2 quick; k >= 2 values from the nested path)
REFERENCE_VALUES = DataFile("reference_values.json", "verify-gate-reference-values", 2, "verify.gate.export")
#: the optional objectives' values (time-averaged and mixture loss); bumped as above
OBJECTIVE_VALUES = DataFile("objective_values.json", "verify-gate-objective-values", 1,
                            "verify.gate.objective_export")
