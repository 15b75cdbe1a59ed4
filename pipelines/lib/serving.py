"""Atomic publication of the marts for BI tools.

The serving folder holds `marts.duckdb` and `parquet/<mart>.parquet`. In `marts.duckdb` the
marts are tables of the default schema: DuckDB names a database after its file, so
`marts.<mart>` resolves there exactly as it does in the warehouse, where `marts` is a schema
(a schema `marts` inside a database `marts` would make `marts.<mart>` ambiguous).
Both are built aside and swapped in with a rename, so a BI tool holding a read-only
connection keeps reading the previous version undisturbed (its open file is untouched) and
never sees a half-written one; it sees the new version when it reconnects.
`parquet` is a symlink to a versioned folder, swapped in one `rename` as well.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import duckdb

MARTS = (
    "funnel_daily",
    "cac_daily",
    "ltv_cohorts",
    "lifecycle_monthly",
    "unit_economics_monthly",
    "customers",
)
KEEP_VERSIONS = 2


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def publish_marts(warehouse_path: Path, serving_dir: Path) -> dict[str, int]:
    """Copy every mart from the warehouse to the serving folder; returns rows per mart."""
    serving_dir.mkdir(parents=True, exist_ok=True)
    versions = serving_dir / ".versions"
    versions.mkdir(exist_ok=True)
    tag = uuid.uuid4().hex[:12]
    db_aside = serving_dir / f".marts.duckdb.{tag}"
    parquet_aside = versions / f"parquet-{tag}"
    parquet_aside.mkdir()
    rows: dict[str, int] = {}
    con = duckdb.connect(str(db_aside))
    try:
        con.execute(f"attach {_lit(str(warehouse_path))} as wh (read_only)")
        for mart in MARTS:
            con.execute(f"create table main.{mart} as select * from wh.marts.{mart}")
            rows[mart] = con.execute(f"select count(*) from main.{mart}").fetchall()[0][0]
            target = parquet_aside / f"{mart}.parquet"
            con.execute(f"copy main.{mart} to {_lit(str(target))} (format parquet)")
        con.execute("detach wh")
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(db_aside, serving_dir / "marts.duckdb")
    _swap_symlink(serving_dir / "parquet", parquet_aside)
    _prune_versions(versions, keep=parquet_aside)
    return rows


def _swap_symlink(link: Path, target: Path) -> None:
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)  # a plain folder from an older layout
    tmp_link = link.with_name(f".{link.name}.{target.name}")
    tmp_link.symlink_to(target.relative_to(link.parent))
    os.replace(tmp_link, link)


def _prune_versions(versions: Path, keep: Path) -> None:
    old = sorted((p for p in versions.iterdir() if p != keep), key=lambda p: p.stat().st_mtime)
    for path in old[: max(0, len(old) - (KEEP_VERSIONS - 1))]:
        shutil.rmtree(path, ignore_errors=True)
