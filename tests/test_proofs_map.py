"""``proofs_map.md`` stays true: every claim is in it, and every test it names exists.

The map (at the repository root) gives, per claim, a line such as

    Claim id: `thm-3.1`

(several ids on one line are fine: ``Claim ids: `thm-3.5`, `cor-3.6```) and names its
tests and code in backticks: ``tests/test_thm_3_1.py::test_stationary_point``,
``tests/test_x.py::TestClass::test_y``, ``tests/test_x.py::test_z[param-id]``,
``verify/claims/thm_3_1.py`` or ``verify/reference.py::loss``.  The checker below reads
the named files with ``ast`` (no import, no collection run), so it is fast.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import verify.claims

REPO = Path(__file__).resolve().parents[1]
MAP = REPO / "proofs_map.md"

_BACKTICKED = re.compile(r"`([^`\n]+)`")
_CLAIM_ID_LINE = re.compile(r"\bclaim ids?\b", re.IGNORECASE)
_PY_REFERENCE = re.compile(r"^[\w./-]+\.py(::.+)?$")


def _check_proofs_map(text: str, claim_ids, root: Path) -> list[str]:
    """What is wrong with the map ``text``: one message per problem (empty when it is right)."""
    named_ids = {span for line in text.splitlines() if _CLAIM_ID_LINE.search(line)
                 for span in _BACKTICKED.findall(line)}
    problems = [f"claim {cid!r} is registered but proofs_map.md has no line `Claim id: \\`{cid}\\``"
                for cid in claim_ids if cid not in named_ids]
    trees: dict[Path, ast.Module | None] = {}
    for reference in dict.fromkeys(s.strip() for s in _BACKTICKED.findall(text)):
        if _PY_REFERENCE.match(reference):
            problem = _resolve(reference, root, trees)
            if problem:
                problems.append(f"proofs_map.md names `{reference}`, but {problem}")
    return problems


def _resolve(reference: str, root: Path, trees) -> str | None:
    """None if ``file.py[::Name[::name]]`` exists (pytest parameters ``[...]`` ignored), else why not."""
    path, *names = reference.split("[", 1)[0].split("::")
    file = root / path
    if file not in trees:
        trees[file] = ast.parse(file.read_text(encoding="utf-8"), str(file)) if file.is_file() else None
    if trees[file] is None:
        return f"{path} does not exist"
    is_test_file = Path(path).name.startswith("test")
    module = trees[file]
    classes = {n.name: n for n in module.body if isinstance(n, ast.ClassDef)}
    scope = module
    for depth, name in enumerate(names):
        node = _find(scope, name, classes) if isinstance(scope, (ast.Module, ast.ClassDef)) else None
        if node is None:
            return f"{path} defines no {'::'.join(names[:depth + 1])}"
        if is_test_file and not name.startswith(("test", "Test")):
            return f"{name} is not a test (pytest collects test* functions and Test* classes)"
        scope = node
    return None


def _find(scope, name: str, classes):
    """The definition of ``name`` in a module or class body; for a class, also in its base
    classes defined in the same module (pytest collects inherited tests)."""
    for node in scope.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return node
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return node
    for base in scope.bases if isinstance(scope, ast.ClassDef) else []:
        if isinstance(base, ast.Name) and base.id in classes and classes[base.id] is not scope:
            found = _find(classes[base.id], name, classes)
            if found is not None:
                return found
    return None


def test_every_claim_is_in_the_map_and_every_named_test_exists():
    assert MAP.is_file(), "proofs_map.md is missing at the repository root"
    problems = _check_proofs_map(MAP.read_text(encoding="utf-8"), list(verify.claims.all_claims()), REPO)
    assert not problems, "proofs_map.md is out of date:\n" + "\n".join(problems)


class TestCheckerOnFakeMaps:
    """Negative and positive controls: the checker finds what it should, and only that."""

    def test_a_missing_claim_is_reported(self):
        text = "# Map\nClaim id: `thm-3.1`\n"
        assert _check_proofs_map(text, ["thm-3.1", "thm-3.2"], REPO) == [
            "claim 'thm-3.2' is registered but proofs_map.md has no line `Claim id: \\`thm-3.2\\``"]

    def test_a_claim_id_only_mentioned_elsewhere_does_not_count(self):
        text = "See `thm-3.2` for the construction.\nClaim id: `thm-3.1`\n"
        assert len(_check_proofs_map(text, ["thm-3.2"], REPO)) == 1

    @pytest.mark.parametrize(("reference", "why"), [
        ("tests/test_proofs_map.py::test_that_does_not_exist", "defines no test_that_does_not_exist"),
        ("tests/test_no_such_file.py::test_x", "tests/test_no_such_file.py does not exist"),
        ("tests/test_proofs_map.py::TestCheckerOnFakeMaps::test_nope", "defines no TestCheckerOnFakeMaps::test_nope"),
        ("tests/test_proofs_map.py::_check_proofs_map", "is not a test"),
        ("verify/no_such_module.py", "does not exist"),
        ("verify/report/__init__.py::no_such_function", "defines no no_such_function"),
    ])
    def test_a_wrong_reference_is_reported(self, reference, why):
        text = f"Claim ids: `thm-3.5`, `cor-3.6`\nTests: `{reference}`\n"
        problems = _check_proofs_map(text, ["thm-3.5", "cor-3.6"], REPO)
        assert len(problems) == 1 and why in problems[0], problems

    def test_correct_references_pass(self):
        text = "\n".join([
            "## Theorem 3.5",
            "**Claim ids:** `thm-3.5`, `cor-3.6`",
            "- tests: `tests/test_proofs_map.py::test_every_claim_is_in_the_map_and_every_named_test_exists`",
            "- `tests/test_proofs_map.py::TestCheckerOnFakeMaps::test_correct_references_pass`",
            "- `tests/test_proofs_map.py::TestCheckerOnFakeMaps::test_a_wrong_reference_is_reported[verify/x.py-y]`",
            "- `tests/test_proofs_map.py`, code: `verify/report/__init__.py::run`, `verify/claims/base.py::Claim`",
            "- not references: `L_t`, `mu_i(0)`, `verify report --claim thm-3.5`",
        ])
        assert _check_proofs_map(text, ["thm-3.5", "cor-3.6"], REPO) == []

    def test_inherited_and_assigned_tests_are_found(self, tmp_path):
        (tmp_path / "tests").mkdir()
        (tmp_path / "tests" / "test_fake.py").write_text(
            "class Base:\n    def test_shared(self):\n        pass\n\n"
            "class TestChild(Base):\n    pass\n\n"
            "test_generated = Base.test_shared\n")
        text = "Claim id: `fig-1`\n`tests/test_fake.py::TestChild::test_shared`, `tests/test_fake.py::test_generated`\n"
        assert _check_proofs_map(text, ["fig-1"], tmp_path) == []
        assert _check_proofs_map(text.replace("test_shared`", "test_other`"), ["fig-1"], tmp_path) == [
            "proofs_map.md names `tests/test_fake.py::TestChild::test_other`, but "
            "tests/test_fake.py defines no TestChild::test_other"]


def _gap_column(text: str) -> dict:
    """{claim id: its "the gap" cell} from proofs_map.md's table of claims."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\| `([a-z0-9.-]+)` \|(.*)\|\s*$", line)
        cells = [c.strip() for c in m.group(2).split(" | ")] if m else []
        if len(cells) == 4:
            out[m.group(1)] = cells[2]
    return out


def test_the_reports_gap_for_each_claim_is_the_one_proofs_map_names():
    """verify report prints each claim's gap to the theorem (verify/claims/gaps.py); proofs_map.md's
    table names it too, and the two must say the same, for every registered claim.  Negative
    control: a table whose thm-3.5 gap was edited alone is caught."""
    from verify.claims import all_claims
    from verify.claims.gaps import GAPS

    text = (REPO / "proofs_map.md").read_text()
    assert _gap_column(text) == GAPS
    assert set(GAPS) == set(all_claims())
    edited = text.replace("M0 = 14 is far below 10^9 sqrt(d) n^10", "M0 = 14 is the theorem's M0")
    assert _gap_column(edited) != GAPS
