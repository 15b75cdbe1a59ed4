"""After a run that erased people: nothing the pipeline keeps may still hold their bytes.

Erasure removes rows at extraction and dbt restates every model, but DuckDB leaves deleted
rows in the file's free blocks, and the serving folder keeps the previous version for BI
readers. So the publication that follows loads which erased rows (the load log's
`rows_erased`, or an erasure-request load) prunes every older serving version at once and
rewrites the warehouse file (pipelines/lib/compaction.py). What it has swept is recorded in
`<warehouse>.erasures-swept` (the latest such load time), so a publication that failed to
sweep is followed by one that does.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipelines.lib.warehouse import warehouse_connection


def marker_path(warehouse_path: Path) -> Path:
    return Path(f"{warehouse_path}.erasures-swept")


def erasures_to_sweep(warehouse_path: Path) -> dt.datetime | None:
    """The latest erasing load not swept yet, or None when there is nothing to sweep."""
    with warehouse_connection(warehouse_path, read_only=True) as con:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        }
        if "load_log" not in tables:
            return None
        (latest,) = con.execute(
            """
            select max(loaded_at) from raw.load_log
            where coalesce(rows_erased, 0) > 0
                or (entity = 'erasure_requests' and rows_loaded > 0)
            """
        ).fetchall()[0]
    if latest is None:
        return None
    marker = marker_path(warehouse_path)
    if marker.exists():
        swept = dt.datetime.fromisoformat(marker.read_text().strip())
        if latest <= swept:
            return None
    return latest


def record_sweep(warehouse_path: Path, until: dt.datetime) -> None:
    marker = marker_path(warehouse_path)
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(until.isoformat())
    tmp.replace(marker)
