"""Atomic publication of the marts for BI tools, with a retention erasure can rely on.

The serving folder holds `marts.duckdb` and `parquet/<mart>.parquet`. In `marts.duckdb` the
marts are tables of the default schema: DuckDB names a database after its file, so
`marts.<mart>` resolves there exactly as it does in the warehouse, where `marts` is a schema
(a schema `marts` inside a database `marts` would make `marts.<mart>` ambiguous).
Both are built aside and swapped in with a rename, so a BI tool holding a read-only
connection keeps reading the previous version undisturbed (its open file is untouched) and
never sees a half-written one; it sees the new version when it reconnects.
`parquet` is a symlink to a versioned folder `.versions/parquet-<tag>`, swapped in one
`rename` as well. The new `marts.duckdb` is always a fresh file, so no deleted row lingers in
its free blocks.

Retention (what the README quotes):
- Between publications the serving folder holds the current version and, in `.versions/`,
  the previous Parquet folder, so a query that started reading it before the swap can finish.
  The previous `marts.duckdb` is unlinked by the swap itself: it lives on only for the BI
  connections that already had it open, until they close it.
- Each publication starts by deleting every version folder but the current one, and what a
  killed publication left behind (`.marts.duckdb.*` files, `.parquet.*` links). This is safe
  because the caller holds the warehouse lock, so no other publication is running.
- When the run applied an erasure (`erasure_applied=True`), every older version is deleted as
  soon as the new one is in place: when `publish_marts` returns, no file under the serving
  folder holds an erased person. A reader that had an old file open keeps it until it closes
  it (the operating system frees an unlinked file only then), and a query that was reading
  the old Parquet folder fails and must be re-run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from pipelines.lib.mart_docs import MartDoc

VERSIONS_DIR = ".versions"
PARQUET_LINK = "parquet"
SERVING_DB = "marts.duckdb"
SERVING_STORAGE_VERSION = "v1.1.0"  # the oldest format DuckDB 2.0 writes that 1.1 reads
MONEY_TYPE = "decimal(18, 2)"  # amounts in the reporting currency, to the cent
COUNT_TYPE = "bigint"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def publish_marts(
    warehouse_path: Path,
    serving_dir: Path,
    *,
    erasure_applied: bool = False,
    marts: Sequence[str] | None = None,
    descriptions: Mapping[str, MartDoc] | None = None,
) -> dict[str, int]:
    """Copy every mart from the warehouse to the serving folder; returns rows per mart.

    The caller must hold the warehouse lock (one publication at a time). `erasure_applied`:
    the run removed people; delete every older version at once instead of keeping one.
    `marts`: the names to publish (default: every table of the warehouse's `marts` schema).
    `descriptions`: per mart, the dbt docs' descriptions and money/count columns (see the
    module doc); marts missing from it are copied as they are.
    """
    serving_dir.mkdir(parents=True, exist_ok=True)
    versions = serving_dir / VERSIONS_DIR
    versions.mkdir(exist_ok=True)
    remove_orphans(serving_dir)
    tag = uuid.uuid4().hex[:12]
    db_aside = serving_dir / f".{SERVING_DB}.{tag}"
    parquet_aside = versions / f"parquet-{tag}"
    parquet_aside.mkdir()
    rows = _build(warehouse_path, db_aside, parquet_aside, marts, descriptions or {})
    os.replace(db_aside, serving_dir / SERVING_DB)
    _swap_symlink(serving_dir / PARQUET_LINK, parquet_aside)
    if erasure_applied:
        _remove_versions_except(versions, parquet_aside)
    return rows


def _build(
    warehouse_path: Path,
    db_path: Path,
    parquet_dir: Path,
    marts: Sequence[str] | None,
    descriptions: Mapping[str, MartDoc],
) -> dict[str, int]:
    """Write the new version aside: one DuckDB file and one Parquet file per mart."""
    rows: dict[str, int] = {}
    con = duckdb.connect()  # in memory: the serving file is attached in the older format
    try:
        con.execute(
            f"attach {_lit(str(db_path))} as serving"
            f" (storage_version {_lit(SERVING_STORAGE_VERSION)})"
        )
        con.execute(f"attach {_lit(str(warehouse_path))} as wh (read_only)")
        if marts is None:
            marts = [
                name
                for (name,) in con.execute(
                    "select table_name from duckdb_tables()"
                    " where database_name = 'wh' and schema_name = 'marts' order by 1"
                ).fetchall()
            ]
        for mart in marts:
            doc = descriptions.get(mart)
            select = _typed_select(con, mart, doc)
            con.execute(f"create table serving.main.{mart} as {select}")
            if doc is not None:
                _comment(con, mart, doc)
            rows[mart] = con.execute(f"select count(*) from serving.main.{mart}").fetchall()[0][0]
            target = parquet_dir / f"{mart}.parquet"
            con.execute(f"copy serving.main.{mart} to {_lit(str(target))} (format parquet)")
        con.execute("detach wh")
        con.execute("checkpoint serving")
        con.execute("detach serving")
    finally:
        con.close()
    return rows


def _typed_select(con: duckdb.DuckDBPyConnection, mart: str, doc: MartDoc | None) -> str:
    """The select copying a mart, money columns cast to MONEY_TYPE and counts to COUNT_TYPE."""
    if doc is None or not (doc["money"] or doc["counts"]):
        return f"select * from wh.marts.{mart}"
    columns = [
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where database_name = 'wh'"
            " and schema_name = 'marts' and table_name = ? order by column_index",
            [mart],
        ).fetchall()
    ]
    money, counts = set(doc["money"]), set(doc["counts"])
    expressions = []
    for name in columns:
        quoted = _ident(name)
        if name in money:
            # round() first: a cast alone would fail on an out-of-range double, never silently.
            expressions.append(f"cast(round({quoted}, 2) as {MONEY_TYPE}) as {quoted}")
        elif name in counts:
            expressions.append(f"cast({quoted} as {COUNT_TYPE}) as {quoted}")
        else:
            expressions.append(quoted)
    return f"select {', '.join(expressions)} from wh.marts.{mart}"


def _comment(con: duckdb.DuckDBPyConnection, mart: str, doc: MartDoc) -> None:
    """The dbt docs' descriptions as table and column comments."""
    if doc["table"]:
        con.execute(f"comment on table serving.main.{mart} is {_lit(doc['table'])}")
    existing = {
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns()"
            " where database_name = 'serving' and table_name = ?",
            [mart],
        ).fetchall()
    }
    for column, text in doc["columns"].items():
        if column in existing:
            con.execute(f"comment on column serving.main.{mart}.{_ident(column)} is {_lit(text)}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def remove_orphans(serving_dir: Path) -> list[Path]:
    """Delete what is neither the current version nor in use by a publication; returns it.

    Only safe while no publication runs (the caller holds the warehouse lock): an unfinished
    `.marts.duckdb.*` or unlinked version folder is then a leftover of a killed one, or the
    previous version, whose grace period ends now.
    """
    removed = [*serving_dir.glob(f".{SERVING_DB}.*"), *serving_dir.glob(f".{PARQUET_LINK}.*")]
    for path in removed:
        _remove(path)
    versions = serving_dir / VERSIONS_DIR
    current = current_version(serving_dir)
    if versions.is_dir():
        removed += _remove_versions_except(versions, current)
    return removed


def current_version(serving_dir: Path) -> Path | None:
    """The version folder `parquet` points to, or None (no link yet, or a plain folder)."""
    link = serving_dir / PARQUET_LINK
    if not link.is_symlink():
        return None
    return (serving_dir / os.readlink(link)).resolve()


def _remove_versions_except(versions: Path, keep: Path | None) -> list[Path]:
    keep_resolved = keep.resolve() if keep is not None else None
    removed = [p for p in versions.iterdir() if p.resolve() != keep_resolved]
    for path in removed:
        _remove(path)
    return removed


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _swap_symlink(link: Path, target: Path) -> None:
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)  # a plain folder from an older layout
    tmp_link = link.with_name(f".{link.name}.{target.name}")
    tmp_link.symlink_to(target.relative_to(link.parent))
    os.replace(tmp_link, link)
