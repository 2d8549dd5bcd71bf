"""numba's on-disk cache of the engine's compiled functions, kept in step with the engine's sources.

numba stamps a cached function with its own file only.  Its documentation warns that a change
in a function defined in another file, or in a module constant, is not seen ("Cache invalidation
fails to recognize changes in functions defined in a different file"; numba issue #1833), and the
engine's compiled rule is built that way: :mod:`.nested_lines` inlines the integrand of
:mod:`.kernels` and the edges of :mod:`.panel_edges` and :mod:`.junctions`, and constants such as
:data:`.rounding.SMALL` are compiled in.  A checkout updated in :mod:`.kernels` alone kept running
the old integrand inside the rule, silently (it happened twice while developing: under mutation
testing, and after a change of the rounding columns).

So at the engine's import, :func:`refresh` hashes every source file of the engine and, when the
hash differs from the one recorded beside the cache, deletes the cached compiled functions of the
engine's modules (``*.nbi``, ``*.nbc``) and records the new hash: the next call compiles afresh
(once).  The cache is looked for where numba puts it (:func:`cache_dir`, numba's own order of
cache locators): under ``NUMBA_CACHE_DIR`` when that is set, else in the engine's ``__pycache__``,
else (an installed, read-only copy) in numba's user-wide cache folder; each place keeps its own
record of the hash.  Nothing else in those places is touched (other projects' caches, the engine's
bytecode).  A folder that numba could not write either is left alone, and so is everything when
``NUMBA_CACHE_LOCATOR_CLASSES`` replaces numba's locators (where they cache is then unknown here).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["refresh", "sources_hash", "cache_dir", "is_cached", "notice_if_compiling", "STAMP"]

#: the file, beside numba's cache, that records the sources' hash the cache was made from
STAMP = "engine_sources.sha256"

#: numba's configuration file, read from the current directory when numba is imported
_NUMBA_CONFIG_FILE = ".numba_config.yaml"


def sources_hash(src_dir: Path) -> str:
    """sha256 over the names and bytes of the ``*.py`` files of ``src_dir``, in name order."""
    h = hashlib.sha256()
    for path in sorted(Path(src_dir).glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _engine_dir() -> Path:
    # os.path.abspath, not Path.resolve: numba names its cache folders after the source's path as
    # imported (numba.core.caching: os.path.abspath of the function's file), symlinks unresolved
    return Path(os.path.dirname(os.path.abspath(__file__)))


def _user_provided_root() -> str:
    """numba's CACHE_DIR: ``NUMBA_CACHE_DIR`` ('' when unset or empty), which overrides a
    ``cache_dir`` of numba's configuration file; that file is read through numba itself."""
    if "NUMBA_CACHE_DIR" in os.environ or not os.path.isfile(_NUMBA_CONFIG_FILE):
        return os.environ.get("NUMBA_CACHE_DIR", "")
    from numba.core import config  # only then: importing numba costs a fraction of a second

    return config.CACHE_DIR or ""


def _user_wide_root() -> str:
    from numba.misc.appdirs import AppDirs  # as numba's UserWideCacheLocator

    return AppDirs(appname="numba", appauthor=False).user_cache_dir


def _subfolder(src_dir: Path) -> str:
    """The folder numba makes for ``src_dir``'s modules under a cache root
    (numba.core.caching._CacheLocator.get_suitable_cache_subpath): the folder's name, '_', and
    the sha1 of its absolute path."""
    path = os.path.abspath(src_dir)
    return f"{os.path.basename(path)}_{hashlib.sha1(path.encode()).hexdigest()}"


def _writable(folder: Path) -> bool:
    """numba's test of a cache folder (_CacheLocator.ensure_cache_path): create it if need be and
    a temporary file in it."""
    try:
        os.makedirs(folder, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def cache_dir(src_dir: Path | None = None) -> Path | None:
    """The folder where numba caches the compiled functions of ``src_dir``'s modules (default: the
    engine's), found as numba's locators find it, in their order: ``NUMBA_CACHE_DIR``/<folder>_<sha1>
    when that is set, else ``src_dir/__pycache__``, else <numba's user-wide cache>/<folder>_<sha1>,
    the first that can be written; None when none can, or when ``NUMBA_CACHE_LOCATOR_CLASSES``
    replaces the locators."""
    if os.environ.get("NUMBA_CACHE_LOCATOR_CLASSES"):
        return None
    src_dir = Path(os.path.abspath(src_dir)) if src_dir is not None else _engine_dir()
    root = _user_provided_root()
    candidates = [Path(root) / _subfolder(src_dir)] if root else []
    candidates.append(src_dir / "__pycache__")
    for folder in candidates:
        if _writable(folder):
            return folder
    folder = Path(_user_wide_root()) / _subfolder(src_dir)
    return folder if _writable(folder) else None


def _compiled_files(cache: Path, src_dir: Path) -> list[Path]:
    """numba's index and data files (``<module>.<function>-<line>.py<version>[.<n>].nb[ic]``) of
    the modules of ``src_dir`` in ``cache``."""
    modules = {p.stem for p in Path(src_dir).glob("*.py")}
    return [p for p in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc"))
            if p.name.split(".", 1)[0] in modules]


def refresh(src_dir: Path | None = None, cache: Path | None = None) -> bool:
    """Drop numba's cached functions of ``src_dir``'s modules (default: the engine's) in ``cache``
    (default: :func:`cache_dir`, where numba puts them) unless they were made from the sources of
    ``src_dir`` as they are now; True when it dropped them."""
    src_dir = Path(os.path.abspath(src_dir)) if src_dir is not None else _engine_dir()
    if cache is None:
        cache = cache_dir(src_dir)
        if cache is None:
            return False  # numba cannot cache anywhere we know of (module doc)
    else:
        cache = Path(cache)
        if not _writable(cache):
            return False  # a read-only copy: numba does not cache there either
    digest = sources_hash(src_dir)
    stamp = cache / STAMP
    try:
        if stamp.read_text(encoding="ascii").strip() == digest:
            return False
    except OSError:  # no stamp yet (a fresh clone, or a cache older than this module)
        pass
    dropped = False
    for path in _compiled_files(cache, src_dir):
        try:
            path.unlink()
            dropped = True
        except FileNotFoundError:  # another process dropped it first
            pass
    try:
        tmp = cache / f"{STAMP}.{os.getpid()}"
        tmp.write_text(digest + "\n", encoding="ascii")
        os.replace(tmp, stamp)  # atomic: a process reading it sees the old hash or the new one
    except OSError:
        pass  # numba will not be able to write there either
    return dropped


def is_cached(module: str, src_dir: Path | None = None) -> bool:
    """Whether numba's cache holds compiled functions of the engine module ``module`` (e.g. "nested_lines")."""
    src_dir = Path(os.path.abspath(src_dir)) if src_dir is not None else _engine_dir()
    cache = cache_dir(src_dir)
    return cache is not None and any(p.name.startswith(module + ".") for p in cache.glob("*.nbi"))


def notice_if_compiling(loaded: bool, module: str = "nested_lines", stream=None) -> bool:
    """Before the first compiled call of a process: one line on stderr when ``module``'s functions are
    neither ``loaded`` in this process nor in numba's cache, so the call will compile them (measured
    in proofs_map.md: about a minute, silent otherwise).  Returns whether it wrote the line."""
    if loaded or is_cached(module):
        return False
    print("verify: compiling the engine's integration rule with numba (about a minute; numba caches it, so once "
          "after an install or an engine change where its cache can be written) ...", file=stream or sys.stderr,
          flush=True)
    return True
