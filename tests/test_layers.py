"""The package's architecture, read from its imports: layers only import downward, the
independent checks reach the engine only through its public names, there is no import cycle,
no module is over 400 lines, and no line of the Python sources (``verify/``, ``tests/``, ``tools/``,
``conftest.py``) is over 120 columns.

Layers are the folders of ``verify/``, from the bottom: console, engine, testing, simulate, checks,
analysis, explore, claims, gate, report, then the command line.  Every ``import`` and ``from ... import``
counts, also those inside functions (a lazy import is still a dependency).  The thin modules
``verify/{reference,dynamics,strategies,model}.py`` keep the paths that the README and docs name;
nothing inside the package may import them.  Each rule has a negative control: the checker is fed
a small synthetic package with the defect and must report it.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "verify"

LAYERS = ("console", "engine", "testing", "simulate", "checks", "analysis", "explore", "claims", "gate", "report",
          "cli")
#: modules that only re-export, for users; the package itself never imports them
SHIMS = ("verify.reference", "verify.dynamics", "verify.strategies", "verify.model")
MAX_LINES = 400
MAX_COLUMNS = 120
#: the Python sources whose lines are held to MAX_COLUMNS
SOURCES = ("verify", "tests", "tools", "conftest.py")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_package(root: Path) -> dict[str, dict]:
    """{module: {"source": text, "package": bool}} for every .py file under ``root``."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        out[module_name(path, root)] = {"source": path.read_text(encoding="utf-8"),
                                        "package": path.name == "__init__.py", "path": path}
    return out


def layer_of(module: str) -> int | None:
    """Index in LAYERS; None for the package root and the shims (checked separately)."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    if parts[1] in LAYERS:
        return LAYERS.index(parts[1])
    if parts[1] in ("cli", "__main__"):
        return LAYERS.index("cli")
    return None


def imports(module: str, info: dict, known: set[str]):
    """(target module, imported names, line, alias -> module) for each import of ``module``."""
    tree = ast.parse(info["source"])
    package = module if info["package"] else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "verify":
                    found.append((a.name, (), node.lineno, {a.asname or a.name: a.name}))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "verify":
                continue
            aliases, plain = {}, []
            for a in node.names:
                sub = f"{target}.{a.name}"
                if sub in known:  # ``from pkg import module``: an import of that module
                    found.append((sub, (), node.lineno, {a.asname or a.name: sub}))
                else:
                    plain.append(a.name)
            if plain or not node.names:
                found.append((target, tuple(plain), node.lineno, aliases))
    return tree, found


def problems_of(modules: dict[str, dict]) -> list[str]:
    """Every violation of the layer rules in the package ``modules`` (see the module doc)."""
    known = set(modules)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    out = []
    for module, info in modules.items():
        tree, found = imports(module, info, known)
        src_layer = layer_of(module)
        engine_aliases = {}
        for target, names, line, aliases in found:
            if target not in known:
                out.append(f"{module}:{line} imports {target}, which does not exist")
                continue
            graph[module].add(target)
            if target in SHIMS and module not in SHIMS:
                out.append(f"{module}:{line} imports the compatibility module {target}")
            dst_layer = layer_of(target)
            if src_layer is not None and dst_layer is not None and dst_layer > src_layer:
                out.append(f"{module}:{line} imports upward: {target} ({LAYERS[dst_layer]} above "
                           f"{LAYERS[src_layer]})")
            if module.startswith("verify.checks") and target.startswith("verify.engine"):
                private = [n for n in names if n.startswith("_")]
                if private or any(p.startswith("_") for p in target.split(".")):
                    out.append(f"{module}:{line} imports private engine names {private or target}")
                engine_aliases.update(aliases)
        if module.startswith("verify.checks"):
            for node in ast.walk(tree):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                        and node.value.id in engine_aliases and node.attr.startswith("_")):
                    out.append(f"{module}:{node.lineno} uses the private engine name "
                               f"{engine_aliases[node.value.id]}.{node.attr}")
    out += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (or a self-import)."""
    index, low, stack, on, comps, counter = {}, {}, [], set(), [], [0]

    def visit(v):  # Tarjan, iterative enough for a package of this size
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                comps.append(sorted(comp) + [sorted(comp)[0]])

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def long_modules(modules: dict[str, dict], limit: int = MAX_LINES) -> list[str]:
    return [f"{m}: {len(info['source'].splitlines())} lines > {limit}" for m, info in modules.items()
            if len(info["source"].splitlines()) > limit]


def read_sources(repo: Path = REPO) -> dict[str, str]:
    """{path relative to ``repo``: text} for every .py file of SOURCES."""
    out = {}
    for name in SOURCES:
        path = repo / name
        for f in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            out[f.relative_to(repo).as_posix()] = f.read_text(encoding="utf-8")
    return out


def long_lines(sources: dict[str, str], limit: int = MAX_COLUMNS) -> list[str]:
    return [f"{name}:{i}: {len(line)} columns > {limit}" for name, text in sources.items()
            for i, line in enumerate(text.splitlines(), 1) if len(line) > limit]


# -- the package ------------------------------------------------------------------------------


def test_layers_only_import_downward_and_there_is_no_cycle():
    problems = problems_of(read_package(PACKAGE))
    assert not problems, "layer rule broken:\n" + "\n".join(problems)


def test_no_module_is_over_400_lines():
    assert not long_modules(read_package(PACKAGE))


def test_no_line_is_over_120_columns():
    sources = read_sources()
    assert "conftest.py" in sources and "tests/test_layers.py" in sources and "tools/mutate.py" in sources
    problems = long_lines(sources)
    assert not problems, "lines over 120 columns (wrap them):\n" + "\n".join(problems)


def test_every_module_is_in_a_layer_or_is_a_shim():
    stray = [m for m in read_package(PACKAGE) if layer_of(m) is None and m not in SHIMS and m != "verify"]
    assert not stray, f"modules outside the layer folders: {stray}"


# -- negative controls: the checker on synthetic packages ----------------------------------------


def _fake(**sources) -> dict[str, dict]:
    return {name.replace("__", "."): {"source": src, "package": False, "path": None}
            for name, src in sources.items()}


def test_control_an_upward_import_is_reported():
    mods = _fake(verify__engine__model="from verify.claims import base\n", verify__claims__base="x = 1\n")
    problems = problems_of(mods)
    assert len(problems) == 1 and "imports upward: verify.claims.base (claims above engine)" in problems[0]


def test_control_a_lazy_upward_import_counts_too():
    mods = _fake(verify__simulate__descent="def f():\n    from verify.analysis import rates\n",
                 verify__analysis__rates="y = 2\n")
    assert any("imports upward" in p for p in problems_of(mods))


def test_control_a_private_engine_name_in_checks_is_reported():
    mods = _fake(verify__checks__grids="from verify.engine.expectation import _integrand, Reduced\n",
                 verify__engine__expectation="def _integrand(): pass\nclass Reduced: pass\n")
    problems = problems_of(mods)
    assert len(problems) == 1 and "private engine names ['_integrand']" in problems[0]
    mods = _fake(verify__checks__grids="from verify.engine import quadrature as q\nq._integrate_lines\n",
                 verify__engine__quadrature="def _integrate_lines(): pass\n")
    assert any("verify.engine.quadrature._integrate_lines" in p for p in problems_of(mods))
    # the same names are fine for a module outside checks/
    mods = _fake(verify__analysis__x="from verify.engine.expectation import _integrand\n",
                 verify__engine__expectation="def _integrand(): pass\n")
    assert problems_of(mods) == []


def test_control_a_cycle_is_reported():
    mods = _fake(verify__gate__checks="def f():\n    from . import export\n",
                 verify__gate__export="from .checks import f\n")
    problems = problems_of(mods)
    assert problems == ["import cycle: verify.gate.checks -> verify.gate.export -> verify.gate.checks"]


def test_control_a_shim_import_is_reported():
    mods = _fake(verify__claims__x="from verify import dynamics\n", verify__dynamics="z = 0\n")
    assert any("compatibility module verify.dynamics" in p for p in problems_of(mods))


def test_control_a_long_module_is_reported():
    mods = _fake(verify__engine__big="x = 1\n" * 401, verify__engine__small="x = 1\n" * 400)
    assert long_modules(mods) == ["verify.engine.big: 401 lines > 400"]


def test_control_a_long_line_is_reported():
    text = "x = 1\n" + "y = '" + "a" * 114 + "'\n" + "z = '" + "b" * 115 + "'\n"
    assert [len(line) for line in text.splitlines()] == [5, 120, 121]
    assert long_lines({"verify/engine/wide.py": text}) == ["verify/engine/wide.py:3: 121 columns > 120"]
