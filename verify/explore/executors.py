"""Where cells run: in this process, in a local process pool, or on a Dask distributed cluster.

:func:`run_cells` takes a list of cells, returns their rows in the same order, and on the way
takes finished rows from the cache, runs only the missing cells, writes each row to the cache as
it arrives and shows progress (i of N, elapsed, estimate left; on stderr, through the package's
one progress helper :class:`verify.console.progress.Progress`).  The pools:

* :class:`InProcess` -- one cell after another here (``--workers 1``; tests and findings);
* :class:`LocalPool` -- a :class:`concurrent.futures.ProcessPoolExecutor` over the machine's cores
  (the default);
* :class:`DaskPool` -- an existing Dask cluster through :class:`dask.distributed.Client`
  (``--dask-scheduler ADDRESS``): ``client.map`` and ``as_completed``, nothing hand-made.  Every
  task checks that the worker computes rows with the same source as this process (the cache key
  includes that hash), so a cluster running other code fails loudly instead of filling the cache.

Adaptive refinement (a bisection in log r, t or log eta) is a sequence of :func:`run_cells` calls,
one round of tasks each, on the same pool.
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor, as_completed

from .cache import Cache, source_hash
from .runner import run_cell
from .sizes import default_workers

__all__ = ["InProcess", "LocalPool", "DaskPool", "make_pool", "run_cells", "SourceMismatch", "dask_connect_timeout"]


class SourceMismatch(RuntimeError):
    """A worker computes rows with other source code than this process."""


def _run_checked(cell, expected: str) -> dict:
    here = source_hash()
    if here != expected:
        raise SourceMismatch(f"worker source hash {here} differs from the driver's {expected}: install the same "
                             "verify on every worker")
    return run_cell(cell)


class InProcess:
    name = "in-process"

    def imap_unordered(self, cells):
        for i, cell in enumerate(cells):
            yield i, run_cell(cell)

    def close(self):
        pass


class LocalPool:
    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()  # every core, within the machine's memory
        self.name = f"local process pool ({self.workers} workers)"
        self._pool = ProcessPoolExecutor(max_workers=self.workers)

    def imap_unordered(self, cells):
        futures = {self._pool.submit(_run_checked, cell, source_hash()): i for i, cell in enumerate(cells)}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()

    def close(self):
        self._pool.shutdown(cancel_futures=True)


def dask_connect_timeout() -> float:
    """Seconds a connection to a Dask scheduler may take: Dask's own setting
    (``distributed.comm.timeouts.connect``, 30 s unless DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT says)."""
    import dask
    from dask.utils import parse_timedelta

    value = dask.config.get("distributed.comm.timeouts.connect")
    try:
        seconds = float(parse_timedelta(value, default="seconds"))
    except (TypeError, ValueError, KeyError):  # (parse_timedelta raises KeyError for an unknown unit)
        seconds = math.nan
    if not seconds > 0:
        raise ValueError(f"Dask's connect timeout (distributed.comm.timeouts.connect, for --dask-scheduler) {value!r} "
                         "is not a positive duration such as 30s")
    return seconds


class DaskPool:
    def __init__(self, scheduler, timeout: float | None = None):
        """``scheduler``: an address (connected to within ``timeout`` seconds, default
        :func:`dask_connect_timeout`; OSError if nothing answers) or a Client."""
        from dask.distributed import Client

        self._own = not hasattr(scheduler, "submit")
        if self._own:
            self.client = Client(scheduler, timeout=dask_connect_timeout() if timeout is None else timeout)
        else:
            self.client = scheduler
        self.name = f"Dask cluster at {self.client.scheduler.address}"

    def imap_unordered(self, cells):
        from dask.distributed import as_completed as dask_completed

        futures = self.client.map(_run_checked, cells, expected=source_hash(), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in dask_completed(futures):
            yield index[fut.key], fut.result()

    def close(self):
        if self._own:
            self.client.close()


def make_pool(workers: int | None = None, scheduler=None, timeout: float | None = None):
    """The pool the options ask for: Dask when a scheduler (address or Client) is given (``timeout``:
    :class:`DaskPool`'s), else in this process for one worker, else a local process pool."""
    if scheduler is not None:
        return DaskPool(scheduler, timeout)
    if workers == 1:
        return InProcess()
    return LocalPool(workers)


def run_cells(cells, pool, cache: Cache | None = None, *, label: str = "cells", progress=None) -> list[dict]:
    """Rows of ``cells`` in order: cached rows as they are, the others run on ``pool`` (module doc).
    ``progress``: a :class:`verify.console.progress.Progress` (this batch is one of its items, with
    i of N cells as they finish), or None for silence."""
    cache = Cache(None) if cache is None else cache  # (an empty Cache is falsy: it has a length)
    rows: list = [None] * len(cells)
    missing = []
    for i, cell in enumerate(cells):
        rows[i] = cache.get(cell)
        if rows[i] is None:
            missing.append(i)
    todo = [cells[i] for i in missing]
    if progress is not None:
        progress.start(f"{label}: {len(todo)} of {len(cells)} cells to run ({len(cells) - len(todo)} cached)")
    done = 0
    for j, row in pool.imap_unordered(todo):
        i = missing[j]
        rows[i] = row
        cache.put(cells[i], row)
        done += 1
        if progress is not None:
            progress.update(done, len(todo), "cells")
    if progress is not None:
        progress.finish()
    return rows
