"""compact_database: deleted rows leave the file's bytes; everything live survives."""

from __future__ import annotations

import secrets

import duckdb
import pytest

from pipelines.lib.compaction import compact_database, wal_path

pytestmark = pytest.mark.unit


def build_warehouse(path, needle: str) -> None:
    """A small warehouse: schemas, a table with a key, a view across schemas, a macro, a
    sequence, an enum type, and one person's row that is then erased."""
    con = duckdb.connect(str(path))
    con.execute("create schema raw; create schema marts")
    con.execute("create type raw.status as enum ('active', 'churned')")
    con.execute("create sequence raw.batch_id start 7")
    con.execute("create table raw.people (customer_key varchar primary key, status raw.status)")
    con.execute(f"insert into raw.people values ('{needle}', 'active'), ('kept-person', 'churned')")
    con.execute(
        "create table raw.orders as select range as id, range % 97 as amount from range(50000)"
    )
    con.execute(
        "create view marts.summary as select (select count(*) from raw.people) as people, "
        "(select sum(amount) from raw.orders) as revenue"
    )
    con.execute("create macro marts.double_it(x) as x * 2")
    con.execute("checkpoint")
    con.execute(f"delete from raw.people where customer_key = '{needle}'")
    con.execute("checkpoint")
    con.close()


def test_erased_bytes_stay_after_delete_and_leave_after_compaction(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    needle = "erased-" + secrets.token_hex(16)
    build_warehouse(path, needle)
    # The need: a delete and a checkpoint leave the erased key readable in the file.
    assert needle.encode() in path.read_bytes()

    result = compact_database(path)

    assert needle.encode() not in path.read_bytes()
    assert result.bytes_before > 0 and result.bytes_after > 0 and result.seconds >= 0
    assert not wal_path(path).exists()
    assert list(tmp_path.glob(".warehouse.duckdb.compact-*")) == []
    con = duckdb.connect(str(path), read_only=True)
    try:
        schemas = {r[0] for r in con.execute("select schema_name from duckdb_schemas()").fetchall()}
        assert {"raw", "marts"} <= schemas
        assert con.execute("select * from raw.people").fetchall() == [("kept-person", "churned")]
        assert con.execute("select * from marts.summary").fetchall() == [
            (1, sum(i % 97 for i in range(50000)))
        ]
        assert con.execute("select marts.double_it(21)").fetchall() == [(42,)]
        assert con.execute(
            "select schema_name, start_value from duckdb_sequences()"
            " where sequence_name = 'batch_id'"
        ).fetchall() == [("raw", 7)]
        assert con.execute(
            "select data_type from duckdb_columns()"
            " where table_name = 'people' and column_name = 'status'"
        ).fetchall() == [("ENUM('active', 'churned')",)]
        constraints = con.execute(
            "select constraint_type from duckdb_constraints() where table_name = 'people'"
        ).fetchall()
        assert ("PRIMARY KEY",) in constraints
    finally:
        con.close()


def test_changes_still_in_the_wal_are_kept(tmp_path):
    """A file closed without a checkpoint keeps its last changes in `<file>.wal` only."""
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create table t (v integer)")
    con.execute("checkpoint")
    con.execute("pragma disable_checkpoint_on_shutdown")
    con.execute("insert into t values (1), (2), (3)")
    con.close()
    assert wal_path(path).exists()

    compact_database(path)

    assert not wal_path(path).exists()
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("select sum(v) from t").fetchall() == [(6,)]
    finally:
        con.close()


def test_a_killed_compaction_leaves_nothing_behind_the_next_one(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    leftover = tmp_path / ".warehouse.duckdb.compact-deadbeef0000"
    leftover.write_bytes(b"half a copy")
    compact_database(path)
    assert not leftover.exists()
    assert path.exists()
