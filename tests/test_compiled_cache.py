"""The engine's guard of numba's on-disk cache (verify.engine.compiled_cache): cached compiled
functions are dropped when any engine source changes (numba itself sees only the calling file),
and kept while the sources stay as they were."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from verify.engine import compiled_cache


def _tree(tmp_path: Path):
    src = tmp_path / "engine"
    cache = src / "__pycache__"
    cache.mkdir(parents=True)
    (src / "kernels.py").write_text("X = 1\n")
    (src / "nested_lines.py").write_text("from .kernels import X\n")
    return src, cache


def _cached(cache: Path):
    for name in ("nested_lines._line-120.py311.nbi", "nested_lines._line-120.py311.1.nbc"):
        (cache / name).write_bytes(b"compiled")
    (cache / "kernels.cpython-311.pyc").write_bytes(b"bytecode")


def test_a_change_in_another_engine_file_drops_the_compiled_cache(tmp_path):
    src, cache = _tree(tmp_path)
    _cached(cache)
    assert compiled_cache.refresh(src, cache)  # no stamp yet: the cache's sources are unknown
    assert not list(cache.glob("*.nb*")) and (cache / "kernels.cpython-311.pyc").exists()
    _cached(cache)
    (src / "kernels.py").write_text("X = 2\n")  # the file numba does not watch for nested_lines
    assert compiled_cache.refresh(src, cache)
    assert not list(cache.glob("*.nb*")), "the rule compiled against the old kernels must go"
    assert (cache / compiled_cache.STAMP).read_text().strip() == compiled_cache.sources_hash(src)


def test_unchanged_sources_keep_the_compiled_cache(tmp_path):
    """The negative control: no source changed, so nothing is dropped (no needless recompiling)."""
    src, cache = _tree(tmp_path)
    compiled_cache.refresh(src, cache)
    _cached(cache)
    assert not compiled_cache.refresh(src, cache)
    assert len(list(cache.glob("*.nb*"))) == 2


def test_a_read_only_copy_is_left_alone(tmp_path, monkeypatch):
    """(A folder the process cannot write, as numba's own test finds it: chmod alone does not stop
    root.)"""
    src, cache = _tree(tmp_path)
    _cached(cache)
    monkeypatch.setattr(compiled_cache, "_writable", lambda folder: False)
    assert not compiled_cache.refresh(src, cache)
    assert len(list(cache.glob("*.nb*"))) == 2 and not (cache / compiled_cache.STAMP).exists()


def test_the_engine_records_the_hash_of_its_sources_at_import():
    import verify.engine

    src = Path(os.path.abspath(verify.engine.__file__)).parent
    stamp = compiled_cache.cache_dir(src) / compiled_cache.STAMP
    assert stamp.read_text().strip() == compiled_cache.sources_hash(src)
    assert not compiled_cache.refresh()  # already in step


# -- where numba caches: NUMBA_CACHE_DIR, the source's __pycache__, numba's user-wide folder ------


def _numba_env(monkeypatch, cache_root=None):
    for name in ("NUMBA_CACHE_DIR", "NUMBA_CACHE_LOCATOR_CLASSES"):
        monkeypatch.delenv(name, raising=False)
    if cache_root is not None:
        monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache_root))


def test_the_cache_folder_is_the_one_numba_writes(tmp_path, monkeypatch):
    """Independent of this module's reading of numba: a child process compiles a cached function
    of a module in src with NUMBA_CACHE_DIR set, and numba's files land in cache_dir(src) (a
    folder named after src and the sha1 of its path, not a tree mirroring the path); without the
    variable (the control) they land in src/__pycache__, which cache_dir then names."""
    src = tmp_path / "engine"
    src.mkdir()
    (src / "compiled.py").write_text("from numba import njit\n\n\n@njit(cache=True)\ndef f(x):\n    return x + 1\n")
    run = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(src)!r}); import compiled; compiled.f(1)"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_CACHE")}
    subprocess.run(run, check=True, cwd=tmp_path, env=dict(env, NUMBA_CACHE_DIR=str(tmp_path / "nb")))
    _numba_env(monkeypatch, tmp_path / "nb")
    folder = compiled_cache.cache_dir(src)
    assert folder.parent == tmp_path / "nb"
    assert sorted(p.suffix for p in folder.iterdir()) == [".nbc", ".nbi"]
    assert not (src / "__pycache__").exists() or not list((src / "__pycache__").glob("*.nb*"))
    subprocess.run(run, check=True, cwd=tmp_path, env=env)
    _numba_env(monkeypatch)
    assert compiled_cache.cache_dir(src) == src / "__pycache__"
    assert sorted(p.suffix for p in (src / "__pycache__").glob("*.nb*")) == [".nbc", ".nbi"]


def _other_caches(root: Path):
    """Another project's cache under the same root, and a module that is not the engine's."""
    other = root / "elsewhere_0123"
    other.mkdir(parents=True)
    (other / "nested_lines._line-120.py311.nbi").write_bytes(b"not ours")
    return [other / "nested_lines._line-120.py311.nbi"]


def test_a_change_drops_the_cache_under_numba_cache_dir(tmp_path, monkeypatch):
    """With NUMBA_CACHE_DIR set numba caches under it, not in __pycache__: a change of the sources
    drops the engine's files there (refresh ignored the variable, and kept them), and only those:
    another project's folder under the same root, a file of a module that is not the engine's, and
    the unused __pycache__ stay."""
    src, in_tree = _tree(tmp_path)
    _cached(in_tree)
    _numba_env(monkeypatch, tmp_path / "nb")
    folder = compiled_cache.cache_dir(src)
    assert folder == tmp_path / "nb" / f"engine_{hashlib.sha1(str(src).encode()).hexdigest()}"
    _cached(folder)
    (folder / "unrelated.f-3.py311.nbi").write_bytes(b"not the engine's")
    kept = _other_caches(tmp_path / "nb") + [folder / "unrelated.f-3.py311.nbi"]
    assert compiled_cache.refresh(src)
    assert not list(folder.glob("nested_lines*"))
    assert (folder / compiled_cache.STAMP).read_text().strip() == compiled_cache.sources_hash(src)
    assert all(p.exists() for p in kept) and len(list(in_tree.glob("*.nb*"))) == 2
    _cached(folder)
    (src / "kernels.py").write_text("X = 2\n")
    assert compiled_cache.refresh(src)
    assert not list(folder.glob("nested_lines*")) and all(p.exists() for p in kept)


def test_unchanged_sources_keep_the_cache_under_numba_cache_dir(tmp_path, monkeypatch):
    """The negative control: the sources as stamped, nothing is dropped there."""
    src, _ = _tree(tmp_path)
    _numba_env(monkeypatch, tmp_path / "nb")
    compiled_cache.refresh(src)
    folder = compiled_cache.cache_dir(src)
    _cached(folder)
    assert not compiled_cache.refresh(src)
    assert len(list(folder.glob("*.nb*"))) == 2


def test_an_empty_numba_cache_dir_is_unset(tmp_path, monkeypatch):
    """numba ignores NUMBA_CACHE_DIR='' (its CACHE_DIR is then false): __pycache__, as unset."""
    src, in_tree = _tree(tmp_path)
    _numba_env(monkeypatch, "")
    assert compiled_cache.cache_dir(src) == in_tree


def test_a_read_only_source_folder_is_refreshed_in_numbas_user_wide_cache(tmp_path, monkeypatch):
    """An installed, read-only copy: numba caches in its user-wide folder (under the same
    <folder>_<sha1> name), where refresh drops the engine's files on a change; with the sources
    unchanged (the control) they stay."""
    src, in_tree = _tree(tmp_path)
    _numba_env(monkeypatch)
    writable = compiled_cache._writable
    monkeypatch.setattr(compiled_cache, "_writable", lambda folder: folder != in_tree and writable(folder))
    monkeypatch.setattr(compiled_cache, "_user_wide_root", lambda: str(tmp_path / "user"))
    folder = compiled_cache.cache_dir(src)
    assert folder == tmp_path / "user" / f"engine_{hashlib.sha1(str(src).encode()).hexdigest()}"
    _cached(folder)
    assert compiled_cache.refresh(src) and not list(folder.glob("*.nb*"))
    _cached(folder)
    assert not compiled_cache.refresh(src) and len(list(folder.glob("*.nb*"))) == 2


def test_replaced_locators_leave_everything_alone(tmp_path, monkeypatch):
    src, in_tree = _tree(tmp_path)
    _cached(in_tree)
    _numba_env(monkeypatch)
    monkeypatch.setenv("NUMBA_CACHE_LOCATOR_CLASSES", "some.module.Locator")
    assert compiled_cache.cache_dir(src) is None and not compiled_cache.refresh(src)
    assert len(list(in_tree.glob("*.nb*"))) == 2


def test_a_call_that_will_compile_the_rule_says_so_first(tmp_path, monkeypatch):
    """The first call after an install or an engine change compiles the rule (about a minute,
    proofs_map.md): one line on stderr says so before it starts.  Controls: no line when the rule
    is cached on disk (a fresh process loads it in ~1 s) or already loaded in this process."""
    import io

    src, cache = _tree(tmp_path)
    monkeypatch.setattr(compiled_cache, "_engine_dir", lambda: src)
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.delenv("NUMBA_CACHE_LOCATOR_CLASSES", raising=False)
    out = io.StringIO()
    assert compiled_cache.notice_if_compiling(False, stream=out)
    assert out.getvalue().count("\n") == 1 and "compiling the engine's integration rule" in out.getvalue()
    _cached(cache)
    assert not compiled_cache.notice_if_compiling(False, stream=out)  # the control: cached on disk
    for path in cache.glob("*.nb*"):
        path.unlink()
    assert not compiled_cache.notice_if_compiling(True, stream=out)  # the control: loaded already
    assert out.getvalue().count("\n") == 1
