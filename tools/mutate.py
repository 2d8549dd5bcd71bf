"""A small mutation test of the engine: sample operator swaps and constant changes in
verify/engine/*.py, run the engine's tests against each mutant (per-mutant time limit), and
print the kill rate and the survivors (to be judged equivalent or killed by a new test).

Usage:  python tools/mutate.py [--count 100] [--seed 0] [--timeout 300] [--workdir DIR]
        [--tests tests/a.py tests/b.py ...] [--only N,M,...] [--list] [--sample-at REV]

Each mutant is one change of the abstract syntax tree (the module is then written back with
``ast.unparse``, so comments and docstrings go: harmless for behaviour).  The tests run in a
copy of the repository (``--workdir``), never in this checkout, with ``-x`` so a killed mutant
stops at its first failing test; a mutant whose tests exceed the time limit counts as killed
(reported apart: a mutant that makes a loop endless is detected, but only by the clock).

``--sample-at REV`` draws the sample from the engine as it was at a git revision and runs each
mutant at the same place in today's engine (same function, same line text, same rank among equal
sites there), so a sample judged once can be re-run after the engine grew elsewhere; a site that
no longer exists is reported as gone.
"""

from __future__ import annotations

import argparse
import ast
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENGINE = REPO / "verify" / "engine"
#: the engine's tests (those of every module in verify/engine), the fastest first: with -x a killed
#: mutant stops at its first failure
DEFAULT_TESTS = ["tests/test_tail_bound.py", "tests/test_model_values.py", "tests/test_reference_inputs.py",
                 "tests/test_nested_rule.py", "tests/test_engine_general_geometry.py",
                 "tests/test_reference_accuracy.py", "tests/test_dynamics.py", "tests/test_frame.py",
                 "tests/test_nested_tape.py", "tests/test_mixture.py", "tests/test_time_average.py",
                 "tests/test_gradcheck_fd.py", "tests/test_gradcheck_stein.py", "tests/test_gradcheck_sympy.py",
                 "tests/test_panel_edges.py", "tests/test_engine_bounds.py", "tests/test_rounding_bounds.py",
                 "tests/test_engine_work.py"]

SWAP_BIN = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Mult,
            ast.Pow: ast.Mult, ast.Mod: ast.FloorDiv}
SWAP_CMP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq}
SWAP_BOOL = {ast.And: ast.Or, ast.Or: ast.And}


def _skip(node, parents) -> bool:
    """Annotations, ``__all__`` and docstrings are not behaviour."""
    for p in parents:
        if isinstance(p, (ast.AnnAssign,)) and node is not p.value and p.value is not None:
            pass
        if isinstance(p, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in p.targets):
            return True
        if isinstance(p, (ast.arg,)) or (isinstance(p, ast.FunctionDef) and node in ast.walk(p.returns or ast.Pass())):
            return True
    return False


def sites(path: Path, source: str | None = None):
    """Every mutation site of a module: (kind, index of the node in ast.walk order, description,
    anchor).  The anchor (enclosing function, the line's text, the change) locates the site in
    another version of the module."""
    text = path.read_text(encoding="utf-8") if source is None else source
    lines = text.splitlines()
    tree = ast.parse(text)
    parents = {}
    for p in ast.walk(tree):
        for c in ast.iter_child_nodes(p):
            parents[c] = p
    out = []
    for idx, node in enumerate(ast.walk(tree)):
        chain, q = [], node
        while q in parents:
            q = parents[q]
            chain.append(q)
        if _skip(node, chain):
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.BinOp) and type(node.op) in SWAP_BIN:
            out.append(("binop", idx, f"line {line}: {type(node.op).__name__} -> {SWAP_BIN[type(node.op)].__name__}"))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in SWAP_CMP:
            out.append(("cmp", idx, f"line {line}: {type(node.ops[0]).__name__} -> "
                                    f"{SWAP_CMP[type(node.ops[0])].__name__}"))
        elif isinstance(node, ast.BoolOp) and type(node.op) in SWAP_BOOL:
            out.append(("boolop", idx, f"line {line}: {type(node.op).__name__} -> {SWAP_BOOL[type(node.op)].__name__}"))
        elif (isinstance(node, ast.Constant) and type(node.value) in (int, float)
              and not isinstance(parents.get(node), ast.Subscript)):
            v = node.value
            new = (v + 1) if isinstance(v, int) else (2 * v if v != 0 else 1.0)
            out.append(("const", idx, f"line {line}: {v!r} -> {new!r}"))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            out.append(("neg", idx, f"line {line}: drop unary minus"))
    owner = {}
    for p in ast.walk(tree):
        if isinstance(p, (ast.FunctionDef, ast.ClassDef)):
            for c in ast.walk(p):
                if getattr(c, "lineno", 0) and (c not in owner or owner[c][0] < p.lineno):
                    owner[c] = (p.lineno, p.name)
    nodes = list(ast.walk(tree))
    anchored, seen = [], {}
    for kind, idx, desc in out:
        node = nodes[idx]
        text_line = lines[node.lineno - 1].strip() if getattr(node, "lineno", 0) else ""
        key = (owner.get(node, (0, "<module>"))[1], text_line, kind, desc.split(": ", 1)[1])
        seen[key] = seen.get(key, 0) + 1
        anchored.append((kind, idx, desc, (*key, seen[key])))
    return anchored


def mutate(path: Path, kind: str, idx: int) -> str:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {}
    for p in ast.walk(tree):
        for c in ast.iter_child_nodes(p):
            parents[c] = p
    node = list(ast.walk(tree))[idx]
    if kind == "binop":
        node.op = SWAP_BIN[type(node.op)]()
    elif kind == "cmp":
        node.ops = [SWAP_CMP[type(node.ops[0])]()]
    elif kind == "boolop":
        node.op = SWAP_BOOL[type(node.op)]()
    elif kind == "const":
        v = node.value
        node.value = (v + 1) if isinstance(v, int) else (2 * v if v != 0 else 1.0)
    elif kind == "neg":
        parent = parents[node]
        for field, value in ast.iter_fields(parent):
            if value is node:
                setattr(parent, field, node.operand)
            elif isinstance(value, list):
                setattr(parent, field, [node.operand if v is node else v for v in value])
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _sample_at(rev: str, count: int, rng: random.Random, today) -> list:
    """The sample drawn from the engine at ``rev``, each site moved to today's engine by its anchor
    (``p`` is None where the site is gone)."""
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{rev}:verify/engine"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    then = []
    for name in sorted(n for n in names if n.endswith(".py") and n != "__init__.py"):
        src = subprocess.run(["git", "show", f"{rev}:verify/engine/{name}"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
        then += [(ENGINE / name, *s) for s in sites(ENGINE / name, src)]
    by_anchor = {(p.name, a): (p, kind, idx, desc, a) for p, kind, idx, desc, a in today}
    out = []
    for p, kind, idx, desc, a in rng.sample(then, min(count, len(then))):
        out.append(by_anchor.get((p.name, a), (None, kind, idx, f"{p.name} {desc} (at {rev})", a)))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--workdir", default=None, help="where the repository copy lives (default: a temp dir)")
    ap.add_argument("--tests", nargs="+", default=DEFAULT_TESTS)
    ap.add_argument("--only", default="", help="comma-separated sample numbers to run (others skipped)")
    ap.add_argument("--list", action="store_true", help="print the sample and stop")
    ap.add_argument("--sample-at", default="", metavar="REV",
                    help="draw the sample from the engine at this git revision, run it on today's")
    args = ap.parse_args(argv)

    modules = sorted(p for p in ENGINE.glob("*.py") if p.name != "__init__.py")
    everything = [(p, *s) for p in modules for s in sites(p)]
    rng = random.Random(args.seed)
    if args.sample_at:
        sample = _sample_at(args.sample_at, args.count, rng, everything)
    else:
        sample = rng.sample(everything, min(args.count, len(everything)))
    print(f"{len(everything)} mutation sites in {len(modules)} modules; sampled {len(sample)} (seed {args.seed})",
          flush=True)
    if args.list:
        for i, (p, kind, idx, desc, _) in enumerate(sample):
            print(f"  #{i:3d} {p.name if p else 'gone':18s} {kind:6s} {desc}")
        return 0
    only = {int(x) for x in args.only.split(",") if x}

    import tempfile
    work = Path(args.workdir or tempfile.mkdtemp(prefix="mutants-"))
    copy_root = work / "repo"
    if not copy_root.exists():
        shutil.copytree(REPO, copy_root, ignore=shutil.ignore_patterns(".git", "*.egg-info", ".hypothesis"))
    env = dict(os.environ, PYTHONPATH=str(copy_root), VERIFY_PROFILE="ci", PYTHONDONTWRITEBYTECODE="1")
    # (the copy's engine names the folder where numba caches its compiled functions in the tests' environment)
    probe = subprocess.run([sys.executable, "-c", "import verify; print(verify.__file__); "
                            "from verify.engine.compiled_cache import cache_dir; print(cache_dir() or '')"],
                           cwd=copy_root, env=env, capture_output=True, text=True)
    imported, _, cache = probe.stdout.strip().partition("\n")
    if not imported.startswith(str(copy_root)):
        print(f"the copy is not the imported package ({probe.stdout.strip()}); refusing", file=sys.stderr)
        return 2
    cache = Path(cache) if cache else None
    saved = work / "numba-cache-saved"

    results = []
    t_all = time.time()
    for i, (p, kind, idx, desc, _) in enumerate(sample):
        if only and i not in only:
            continue
        if p is None:
            results.append((i, "-", desc, "gone"))
            print(f"#{i:3d} {desc}: the site is gone from today's engine", flush=True)
            continue
        target = copy_root / "verify" / "engine" / p.name
        mutated = mutate(p, kind, idx)
        # numba's cache: the engine's import in the test process (verify/engine/compiled_cache.py)
        # sees that the copy's engine sources no longer match the hash its cache was made from and
        # drops every compiled function of the engine, so each mutant runs compiled afresh from the
        # mutated sources (a caller compiled against an unmutated callee, or against a module
        # constant such as rounding.SMALL, cannot survive).  The unmutated cache is saved and put
        # back after the mutant for the one mutant that check cannot serve: one of compiled_cache.py
        # itself, which may no longer drop anything and would then run the previous mutant's code.
        if saved.exists():
            shutil.rmtree(saved)
        if cache is not None and cache.exists():
            shutil.copytree(cache, saved)
        t0 = time.time()
        try:
            target.write_text(mutated, encoding="utf-8")
            try:
                r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *args.tests],
                                   cwd=copy_root, env=env, capture_output=True, text=True, timeout=args.timeout)
                # a test process ended by a signal the mutant raised itself (SIGABRT, SIGSEGV: compiled
                # code reading out of bounds) detected the mutant; SIGTERM/SIGKILL/SIGINT come from
                # outside (the run was stopped) and decide nothing
                outside = -r.returncode in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT)
                status = ("survived" if r.returncode == 0 else "killed" if r.returncode > 0
                          else f"stopped (signal {-r.returncode})" if outside else "crashed")
                tail = [ln for ln in r.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))][:1]
            except subprocess.TimeoutExpired:
                status, tail = "timeout", []
        finally:
            shutil.copy2(p, target)  # the original, with its mtime
            if cache is not None:
                if cache.exists():
                    shutil.rmtree(cache)
                if saved.exists():
                    shutil.copytree(saved, cache)
        dt = time.time() - t0
        results.append((i, p.name, desc, status))
        print(f"#{i:3d} {p.name:18s} {desc:40s} {status:8s} {dt:6.0f} s {tail[0][:90] if tail else ''}", flush=True)
        print(f"  ({len(results)} of {len(sample) if not only else len(only)} done, {time.time() - t_all:.0f} s)",
              file=sys.stderr, flush=True)
    killed = sum(r[3] == "killed" for r in results)
    timeout = sum(r[3] == "timeout" for r in results)
    crashed = sum(r[3] == "crashed" for r in results)
    surv = [r for r in results if r[3] == "survived"]
    gone = sum(r[3] == "gone" for r in results)
    print(f"\nkilled {killed}, by the time limit {timeout}, by a crash {crashed}, survived {len(surv)}, "
          f"gone {gone} of {len(results)}")
    for r in surv:
        print(f"  survivor #{r[0]} {r[1]} {r[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
