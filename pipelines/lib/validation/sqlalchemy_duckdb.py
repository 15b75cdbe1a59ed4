"""SQLAlchemy access to the warehouse for GE's SQL execution engine: duckdb-engine, fixed up.

duckdb-engine as installed fails under GE (GX issues 10738 and 11579):

- GE executes a query, gives the connection back to the pool, and only then fetches the rows.
  duckdb-engine's cursors all share the connection's one result set, which the statements
  SQLAlchemy issues on release replace, so GE reads no row. Here each DBAPI cursor is a DuckDB
  cursor of its own (its own result set), all on one read-only connection (`StaticPool`).
- duckdb-engine's column reflection fails on SQLAlchemy 2.1 (it queries `pg_collation`); GE
  then falls back to a `select * ... limit 1` per suite. The dialect here (still named
  "duckdb") reflects columns from `information_schema`.
- GE 1.x deprecates a table asset's `schema_name` ("put the schema in the connection"), so
  each connection serves one schema: every cursor starts with `use <catalog>.<schema>`.

Imported only when validating (it imports SQLAlchemy and duckdb-engine).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper, CursorWrapper
from duckdb_engine import Dialect as DuckDBEngineDialect
from sqlalchemy.dialects import registry

DIALECT_NAME = "duckdb.funnel_readonly"
CONNECTION_STRING = "duckdb+funnel_readonly://"

# DuckDB type name prefix -> SQLAlchemy type, for GE's `table.column_types`.
_TYPES: tuple[tuple[str, type[sa.types.TypeEngine]], ...] = (
    ("VARCHAR", sa.String),
    ("BIGINT", sa.BigInteger),
    ("HUGEINT", sa.BigInteger),
    ("INTEGER", sa.Integer),
    ("SMALLINT", sa.SmallInteger),
    ("TINYINT", sa.SmallInteger),
    ("DOUBLE", sa.Float),
    ("FLOAT", sa.Float),
    ("DECIMAL", sa.Numeric),
    ("TIMESTAMP", sa.DateTime),
    ("DATE", sa.Date),
    ("BOOLEAN", sa.Boolean),
    ("INTERVAL", sa.Interval),
)


def _sqlalchemy_type(duckdb_type: str) -> sa.types.TypeEngine:
    for prefix, type_ in _TYPES:
        if duckdb_type.upper().startswith(prefix):
            return type_()
    return sa.types.NullType()


class ReadOnlyDuckDBDialect(DuckDBEngineDialect):
    """duckdb-engine's dialect with reflection that works on SQLAlchemy 2.1 (name: duckdb)."""

    supports_statement_cache = False

    def get_columns(self, connection, table_name, schema=None, **kw) -> list[dict[str, Any]]:
        rows = connection.exec_driver_sql(
            "select column_name, data_type, is_nullable = 'YES' from information_schema.columns "
            "where table_name = $1 and table_schema = coalesce($2, current_schema()) "
            "order by ordinal_position",
            (str(table_name), None if schema is None else str(schema)),
        ).fetchall()
        return [
            {"name": name, "type": _sqlalchemy_type(type_), "nullable": nullable, "default": None}
            for name, type_, nullable in rows
        ]

    def get_pk_constraint(self, connection, table_name, schema=None, **kw) -> dict[str, Any]:
        # Warehouse tables carry no primary keys; GE only asks to annotate columns.
        return {"constrained_columns": [], "name": None}


registry.register(DIALECT_NAME, __name__, "ReadOnlyDuckDBDialect")


def open_read_only(warehouse_path: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(warehouse_path), read_only=True)
    except duckdb.ConnectionException as exc:
        # This process already has the file open read-write (DuckDB keeps one database
        # instance per file and process, with one configuration): share that instance.
        if "different configuration" not in str(exc):
            raise
        return duckdb.connect(str(warehouse_path))


class _Cursor(CursorWrapper):
    def __init__(self, duckdb_cursor: duckdb.DuckDBPyConnection, connection: _Connection) -> None:
        super().__init__(duckdb_cursor, connection)
        self._duckdb_cursor = duckdb_cursor
        self._owner = connection
        self._open = True

    def close(self) -> None:
        # SQLAlchemy closes a cursor once its rows are read: keep it for the next query.
        if self._open:
            self._open = False
            self._owner.idle_cursors.append(self._duckdb_cursor)


class _Connection(ConnectionWrapper):
    """A DBAPI connection whose cursors are independent DuckDB cursors in one schema."""

    def __init__(self, con: duckdb.DuckDBPyConnection, schema: str) -> None:
        super().__init__(con)
        self._con = con
        catalog = con.execute("select current_database()").fetchone()[0]
        self._use = f'use "{catalog}"."{schema}"'
        self.idle_cursors: list[duckdb.DuckDBPyConnection] = []

    def cursor(self) -> _Cursor:
        if self.idle_cursors:
            return _Cursor(self.idle_cursors.pop(), self)
        duckdb_cursor = self._con.cursor()
        duckdb_cursor.execute(self._use)
        return _Cursor(duckdb_cursor, self)

    # Every query runs on a cursor, in autocommit: the transactions SQLAlchemy opens and rolls
    # back around each use of the connection would only cost round trips.
    def begin(self) -> None:
        pass

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        for duckdb_cursor in self.idle_cursors:
            duckdb_cursor.close()
        self.idle_cursors.clear()
        super().close()


def engine_kwargs(warehouse_path: Path, schema: str) -> dict[str, Any]:
    """`create_engine` keyword arguments: one read-only connection to `schema` of the file."""
    return {
        "creator": lambda: _Connection(open_read_only(warehouse_path), schema),
        "poolclass": sa.pool.StaticPool,
    }
