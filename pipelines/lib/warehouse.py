"""Connections to the warehouse DuckDB file.

DuckDB allows one writing process per file: every writer opens, works and closes within one
Dagster step, and a run holds the warehouse's flock from its first step to its end
(`pipelines/lib/run_lock.py`, the `warehouse_lock` resource), so two runs never write at once.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.lib.pseudonymise import macro_sql
from pipelines.lib.raw_schema import raw_schema_ddl


def prepare_connection(con: duckdb.DuckDBPyConnection, secret: str) -> None:
    """UTC session, the raw schema, and the `customer_key` macro."""
    con.execute("set TimeZone = 'UTC'")
    con.execute(raw_schema_ddl())
    con.execute(macro_sql(secret))


@contextmanager
def warehouse_connection(path: Path, secret: str | None = None, read_only: bool = False):
    """Open the warehouse (creating its folder), yield the connection, always close it."""
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        if read_only:
            con.execute("set TimeZone = 'UTC'")
        else:
            prepare_connection(con, secret or "")
        yield con
    finally:
        con.close()
