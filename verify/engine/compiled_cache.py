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
hash differs from the one recorded beside the cache, deletes the cached compiled functions
(``*.nbi``, ``*.nbc``) and records the new hash: the next call compiles afresh (~40 s, once).
Where the folder cannot be written (an installed copy), nothing is done: numba then caches in its
user-wide folder, and a reinstall gives every source a new stamp, which numba does see.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__all__ = ["refresh", "sources_hash", "STAMP"]

#: the file, beside numba's cache, that records the sources' hash the cache was made from
STAMP = "engine_sources.sha256"


def sources_hash(src_dir: Path) -> str:
    """sha256 over the names and bytes of the ``*.py`` files of ``src_dir``, in name order."""
    h = hashlib.sha256()
    for path in sorted(Path(src_dir).glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def refresh(src_dir: Path | None = None, cache_dir: Path | None = None) -> bool:
    """Drop numba's cached functions in ``cache_dir`` (default: the engine's ``__pycache__``) unless
    they were made from the sources of ``src_dir`` as they are now; True when it dropped them."""
    src_dir = Path(src_dir) if src_dir is not None else Path(__file__).resolve().parent
    cache_dir = Path(cache_dir) if cache_dir is not None else src_dir / "__pycache__"
    digest = sources_hash(src_dir)
    stamp = cache_dir / STAMP
    try:
        if stamp.read_text(encoding="ascii").strip() == digest:
            return False
    except OSError:  # no stamp yet (a fresh clone, or a cache older than this module)
        pass
    if not os.access(cache_dir if cache_dir.is_dir() else src_dir, os.W_OK):
        return False  # an installed, read-only copy: numba caches elsewhere (module doc)
    dropped = False
    for path in list(cache_dir.glob("*.nbi")) + list(cache_dir.glob("*.nbc")):
        try:
            path.unlink()
            dropped = True
        except FileNotFoundError:  # another process dropped it first
            pass
    try:
        cache_dir.mkdir(exist_ok=True)
        tmp = cache_dir / f"{STAMP}.{os.getpid()}"
        tmp.write_text(digest + "\n", encoding="ascii")
        os.replace(tmp, stamp)  # atomic: a process reading it sees the old hash or the new one
    except OSError:
        pass  # numba will not be able to write there either
    return dropped
