"""The README as a new user meets it: its Python examples run as written, its references exist,
and its dependency list is the one pip installs.

Each ```python block of README.md runs on its own, in a fresh namespace, exactly as printed (so
each must define its inputs).  Every file the README and docs/*.md point to (a Markdown link, or a
backticked path with a folder, or any .md file) must exist in the repository.  Each check
has a negative control on a small synthetic text.
"""

from __future__ import annotations

import contextlib
import io
import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
DOCS = {p.relative_to(REPO).as_posix(): p.read_text(encoding="utf-8")
        for p in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]}


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def missing_references(text: str, root: Path = REPO) -> list[str]:
    """Paths ``text`` points to that do not exist under ``root``."""
    links = re.findall(r"\]\(([^)#\s]+)\)", text)
    paths = [p for p in re.findall(r"`([\w./-]+\.(?:md|py|json|toml))(?:::\w+)?`", text)
             if "/" in p or p.endswith(".md")]  # a bare `report.json` is an output, not a file of the repo
    bare = re.findall(r"(?<![\w/.`-])([A-Z][\w-]*\.md)\b", text)
    found = [p for p in dict.fromkeys(links + paths + bare) if "://" not in p and "*" not in p]
    return [p for p in found if not (root / p).exists() and not (root / "verify" / p).exists()]


def dependency_names() -> list[str]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return [re.split(r"[<>=!\[ ;]", d, maxsplit=1)[0].strip() for d in deps]


def undocumented_dependencies(readme: str, names) -> list[str]:
    section = readme.split("## Dependencies", 1)[-1].lower()
    return [n for n in names if n.lower() not in section]


@pytest.mark.parametrize("k", range(len(python_blocks(README))))
def test_each_python_example_runs_as_written(k):
    block = python_blocks(README)[k]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, f"README.md python block {k + 1}", "exec"), {"__name__": "__readme__"})


def test_the_readme_has_python_examples_and_the_extractor_finds_them():
    assert len(python_blocks(README)) >= 4
    # negative control: a shell block is not taken for Python
    assert python_blocks("```bash\nls\n```\n```python\nx = 1\n```\n") == ["x = 1\n"]


def test_an_example_that_uses_an_undefined_input_fails():
    # the control for the test above: a block that does not define mu cannot pass
    with pytest.raises(NameError, match="mu"):
        exec(compile("from verify import reference as R\nR.loss(mu, [0.0], 0.0)\n", "block", "exec"), {})


@pytest.mark.parametrize("name", sorted(DOCS))
def test_every_referenced_file_exists(name):
    assert missing_references(DOCS[name]) == []


def test_a_dead_reference_is_found():
    text = "The model is in [CLAIMS.md](CLAIMS.md); see `docs/nowhere.md` and `verify/cli.py`."
    assert missing_references(text) == ["CLAIMS.md", "docs/nowhere.md"]


def test_the_dependency_list_is_the_installed_one():
    names = dependency_names()
    assert {"numpy", "mpmath", "scipy", "matplotlib", "python-flint"} <= set(names)
    assert undocumented_dependencies(README, names) == []
    # negative control: a dependency the README does not name is reported
    assert undocumented_dependencies("## Dependencies\nnumpy and mpmath", ["numpy", "scipy"]) == ["scipy"]


def top_commands(readme: str) -> list[str]:
    """The command lines of the README's first shell block (comments and blank lines left out)."""
    block = re.search(r"^```bash\n(.*?)^```", readme, flags=re.S | re.M)
    lines = block.group(1).splitlines() if block else []
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def ci_test_command(script: str) -> str:
    """The pytest command of .ci/run (its last command line)."""
    return [line.strip() for line in script.splitlines() if line.strip() and not line.startswith("#")][-1]


def test_the_top_has_two_commands_install_and_report_then_the_tests_ci_runs():
    first, second = top_commands(README)  # exactly two: unpacking fails on any other number
    assert first.startswith("python3 -m venv") and "pip install -e ." in first and "verify report" in first
    assert second.endswith(ci_test_command((REPO / ".ci" / "run").read_text()))
    assert README.index("```bash") < README.index("\n## "), "the commands come before the first section"
    # negative controls: a third command, and a test command that differs from CI's
    assert len(top_commands("```bash\n# a\nx\ny\nz\n```\n")) == 3
    assert not "pytest -q".endswith(ci_test_command("#!/bin/sh\n# CI\n"
                                                    "VERIFY_PROFILE=ci python -m pytest -q -p no:cacheprovider\n"))


def missing_explore_studies(readme: str, studies) -> list[str]:
    """Studies of ``verify explore`` that the Commands table's row does not list, or the explore
    section does not give a line of its own (``- `name`: what it does``)."""
    rows = [line for line in readme.splitlines() if line.startswith("| `verify explore ")]
    listed = rows[0].split("`")[1].replace("\\", "").split()[2].split("|") if rows else []
    section = readme.split("## Studies beyond the theorems", 1)[-1].split("\n## ", 1)[0]
    return [s for s in studies if s not in listed or not re.search(rf"^- `{s}`: \S", section, flags=re.M)]


def test_the_readme_names_every_explore_study():
    from verify.explore.grid import STUDIES

    assert missing_explore_studies(README, STUDIES) == []
    # negative controls: a study left out of the table's row, and one without its line in the section
    row = "| `verify explore noise\\|radius [--out DIR]` | studies |\n## Studies beyond the theorems\n"
    assert missing_explore_studies(row + "- `noise`: t_c\n- `radius`: r*\n- `step`: eta_max\n",
                                   ("noise", "radius", "step")) == ["step"]
    assert missing_explore_studies(row + "- `noise`: t_c\n", ("noise", "radius")) == ["radius"]
