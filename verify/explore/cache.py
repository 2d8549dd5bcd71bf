"""Finished cells on disk: one JSON file per cell, written as soon as the cell finishes.

The file's name is the cell's parameter hash (:meth:`verify.explore.runner.Cell.key`) inside a
folder named by the hash of the source that computes a row (the engine, the descent loop and
outcome rule, the cluster runs and the cell runner): a changed engine never reuses old rows,
and an interrupted or enlarged sweep runs only the cells that are missing.  Files are written to
a temporary name and renamed, so a crash never leaves half a row behind.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

__all__ = ["DEFAULT_DIR", "source_hash", "Cache"]

DEFAULT_DIR = Path(".verify-cache") / "explore"

#: The source a row depends on, relative to the package folder.
_SOURCES = ("engine", "simulate", "analysis/cluster.py", "analysis/cluster_runs.py", "analysis/layouts.py",
            "analysis/large_noise.py", "analysis/brackets.py", "explore/runner.py")


@functools.lru_cache(maxsize=1)
def source_hash() -> str:
    """sha256 over the source files a row depends on (names and contents, in a fixed order)."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for rel in _SOURCES:
        path = root / rel
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


class Cache:
    """Rows of finished cells under ``root`` (module doc).  ``root=None`` keeps nothing."""

    def __init__(self, root: Path | str | None):
        self.root = None if root is None else Path(root) / source_hash()

    def _path(self, cell) -> Path:
        return self.root / f"{cell.key()}.json"

    def get(self, cell) -> dict | None:
        if self.root is None:
            return None
        path = self._path(cell)
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        # a hash collision or a hand-edited file must not pass for this cell
        return data["row"] if data.get("params") == cell.params() else None

    def put(self, cell, row: dict) -> None:
        if self.root is None:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        path = self._path(cell)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"params": cell.params(), "row": row}), encoding="utf-8")
        os.replace(tmp, path)

    def __len__(self) -> int:
        return 0 if self.root is None or not self.root.exists() else len(list(self.root.glob("*.json")))
