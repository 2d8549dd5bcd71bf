"""Every path that README.md and docs/*.md name keeps working.

The names are read from the files (so a new dead reference fails this test): ``from verify...
import ...`` lines, dotted names ``verify.a.b`` (imported, then the attribute looked up),
``MODULE:ATTR`` implementations, and files ``verify/....py`` (``::name`` must be defined there).
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

_FROM_IMPORT = re.compile(r"^\s*from (verify(?:\.\w+)*) import ([\w, ]+?)(?: as \w+)?\s*$", re.MULTILINE)
_DOTTED = re.compile(r"(?<![\w/.-])(verify(?:\.[A-Za-z_]\w*)+)(?::([A-Za-z_]\w*))?")
_FILE = re.compile(r"(?<![\w/.-])(verify/[\w/{},.]*?(?:\.py|\.json|/))(?:::([A-Za-z_]\w*))?(?![\w])")


def _expand(path: str) -> list[str]:
    """``verify/{a,b}.py`` -> ``verify/a.py``, ``verify/b.py``."""
    m = re.search(r"\{([^}]*)\}", path)
    if not m:
        return [path]
    return [p for alt in m.group(1).split(",") for p in _expand(path[: m.start()] + alt + path[m.end():])]


def named_paths(text: str) -> set[tuple[str, str, str]]:
    """(kind, path, attribute) for every reference to the package in ``text``."""
    out = set()
    for module, names in _FROM_IMPORT.findall(text):
        for name in (n.strip() for n in names.split(",")):
            out.add(("import", module, name))
    for dotted, attr in _DOTTED.findall(text):
        out.add(("dotted", dotted, attr))
    for path, name in _FILE.findall(text):
        for p in _expand(path):
            out.add(("file", p, name))
    return out


def resolve(kind: str, path: str, attr: str, root: Path = REPO) -> str | None:
    """None if the reference works, else why not."""
    if kind == "file":
        file = root / path
        if not (file.is_dir() if path.endswith("/") else file.is_file()):
            return f"{path} does not exist"
        if attr:
            tree = ast.parse(file.read_text(encoding="utf-8"))
            names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
            names |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                      if isinstance(t, ast.Name)}
            if attr not in names:
                return f"{path} defines no {attr}"
        return None
    if kind == "import":
        try:
            module = importlib.import_module(path)
        except ImportError as exc:
            return f"cannot import {path}: {exc}"
        if not hasattr(module, attr):
            try:
                importlib.import_module(f"{path}.{attr}")
            except ImportError:
                return f"{path} has no {attr}"
        return None
    parts = path.split(".")
    for k in range(len(parts), 0, -1):  # the longest importable module prefix, then attributes
        try:
            obj = importlib.import_module(".".join(parts[:k]))
        except ImportError:
            continue
        for name in parts[k:] + ([attr] if attr else []):
            if not hasattr(obj, name):
                return f"{'.'.join(parts[:k])} has no attribute path {'.'.join(parts[k:] + ([attr] if attr else []))}"
            obj = getattr(obj, name)
        return None
    return f"no module of {path} can be imported"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_path_the_docs_name_works(doc):
    refs = named_paths(doc.read_text(encoding="utf-8"))
    problems = [f"{kind} {path}{'::' + attr if attr else ''}: {why}"
                for kind, path, attr in sorted(refs) if (why := resolve(kind, path, attr))]
    assert not problems, f"{doc.name} names paths that do not work:\n" + "\n".join(problems)


def test_the_readme_names_the_compatibility_paths():
    refs = named_paths((REPO / "README.md").read_text(encoding="utf-8"))
    assert ("import", "verify", "reference") in refs
    assert any(kind == "dotted" and path == "verify.dynamics.gradient_descent" for kind, path, _ in refs)


def test_control_dead_references_are_reported():
    text = "\n".join([
        "from verify import no_such_module",
        "see `verify.reference.no_such_function` and `verify.nowhere.x`",
        "code: `verify/no_such_file.py`, `verify/engine/reference.py::no_such_name`",
        "run `verify gate verify.gate.examples.sampler:NoSuchImplementation`",
    ])
    refs = named_paths(text)
    problems = {path: resolve(kind, path, attr) for kind, path, attr in refs}
    assert problems["verify"] and "no_such_module" in problems["verify"]
    assert problems["verify.reference.no_such_function"]
    assert problems["verify.nowhere.x"]
    assert problems["verify/no_such_file.py"] == "verify/no_such_file.py does not exist"
    assert problems["verify/engine/reference.py"] == "verify/engine/reference.py defines no no_such_name"
    assert "NoSuchImplementation" in problems["verify.gate.examples.sampler"]
    # and live ones are not
    good = named_paths("from verify import reference as R\n`verify.dynamics.classify`, "
                       "`verify/{reference,model}.py`, `verify/gate/examples/`")
    assert [resolve(*r) for r in sorted(good)] == [None] * 5
