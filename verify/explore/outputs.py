"""A study's files: the tidy table (CSV and Parquet, one row per cell) and the JSON summary.

The table has the columns of :data:`verify.explore.runner.ROW_FIELDS`: every parameter of the cell,
M, the outcome, survivors, the per-mean outcomes, the final loss and distances, the steps run and
the seconds.  Parquet is written with pyarrow (typed columns, for dataframes); CSV for everything
else.  The JSON summary holds the study's options, the fitted boundaries and the theorems'
conditions; NaN and infinities become null (JSON has neither).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from .runner import ROW_FIELDS

__all__ = ["write_table", "write_summary", "jsonable", "SCHEMA"]

#: Version of the summary's layout; bump it when a key changes meaning or goes away.
SCHEMA = "verify-explore/1"


def write_table(rows: list[dict], out: Path, stem: str) -> list[Path]:
    """``stem``.csv and ``stem``.parquet in ``out`` (created if missing); returns the paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    csv_path, pq_path = out / f"{stem}.csv", out / f"{stem}.parquet"
    # a grid study's cells have their own columns (verify.explore.studies.GRID_STUDIES)
    fields = ROW_FIELDS if not rows or "study" not in rows[0] else tuple(rows[0])
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: r[k] for k in fields})
    table = pa.Table.from_pylist([{k: r[k] for k in fields} for r in rows])
    pq.write_table(table, pq_path)
    return [csv_path, pq_path]


def jsonable(obj):
    """``obj`` with tuples as lists, paths as strings and non-finite floats as None."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalars
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_summary(summary: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable({"schema": SCHEMA, **summary}), indent=1, allow_nan=False) + "\n",
                    encoding="utf-8")
    return path
