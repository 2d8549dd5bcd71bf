"""The engine's guard of numba's on-disk cache (verify.engine.compiled_cache): cached compiled
functions are dropped when any engine source changes (numba itself sees only the calling file),
and kept while the sources stay as they were."""

from __future__ import annotations

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
    """(A folder the process cannot write, as os.access reports it: chmod alone does not stop root.)"""
    src, cache = _tree(tmp_path)
    _cached(cache)
    monkeypatch.setattr(compiled_cache.os, "access", lambda path, mode: False)
    assert not compiled_cache.refresh(src, cache)
    assert len(list(cache.glob("*.nb*"))) == 2 and not (cache / compiled_cache.STAMP).exists()


def test_the_engine_records_the_hash_of_its_sources_at_import():
    import verify.engine

    src = Path(verify.engine.__file__).resolve().parent
    stamp = src / "__pycache__" / compiled_cache.STAMP
    assert stamp.read_text().strip() == compiled_cache.sources_hash(src)
    assert not compiled_cache.refresh()  # already in step
