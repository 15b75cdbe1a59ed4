"""Rewrite a DuckDB file so that deleted rows leave its bytes.

DuckDB marks deleted rows and dropped tables' blocks free but does not overwrite them: after
an erasure run the erased person's `customer_key` could still be read from the warehouse
file with `strings`, until DuckDB happened to reuse those blocks. `compact_database(path)`
copies the live content into a fresh file and swaps it in:

1. `CHECKPOINT` the old file (merges its WAL, so the copy sees every committed change);
2. attach it read-only and a new file beside it (`.<name>.compact-<tag>`, same storage
   version), `COPY FROM DATABASE old TO new`: schemas, tables with their constraints, views,
   macros, sequences and types (checked by tests/test_compaction.py on DuckDB 2.0);
3. checkpoint and detach the new file, remove any stale `<name>.wal`, `os.replace` the new
   file over the old one.

The old file is untouched until the final rename, so a kill at any point leaves either the
old or the new warehouse whole; the next compaction removes a leftover `.compact-` file.
Temporary macros (the pseudonymisation macros) are per connection and never in the file.

It must run while no other connection has the file open: the caller holds the warehouse
lock (pipelines/lib/run_lock.py) and runs it after the run's last step, e.g. after a run
that applied an erasure. It costs about one full read and write of the file (see
`CompactionResult`, which the caller can log).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class CompactionResult:
    bytes_before: int
    bytes_after: int
    seconds: float


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def compact_database(path: Path) -> CompactionResult:
    """Rewrite the DuckDB file at `path` in place, without its deleted rows' bytes."""
    started = time.perf_counter()
    _remove_leftovers(path)
    _checkpoint(path)
    bytes_before = path.stat().st_size
    fresh = path.with_name(f".{path.name}.compact-{uuid.uuid4().hex[:12]}")
    try:
        _copy_into(path, fresh)
        wal_path(path).unlink(missing_ok=True)  # checkpointed above; never replay it on the copy
        os.replace(fresh, path)
    finally:
        fresh.unlink(missing_ok=True)
        wal_path(fresh).unlink(missing_ok=True)
    return CompactionResult(bytes_before, path.stat().st_size, time.perf_counter() - started)


def wal_path(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _remove_leftovers(path: Path) -> None:
    """Files of a compaction that was killed before its rename."""
    for leftover in path.parent.glob(f".{path.name}.compact-*"):
        leftover.unlink(missing_ok=True)


def _checkpoint(path: Path) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("checkpoint")
    finally:
        con.close()


def _copy_into(source: Path, target: Path) -> None:
    con = duckdb.connect()
    try:
        con.execute("set enable_progress_bar = false")  # a library prints no progress bars
        con.execute(f"attach {_lit(str(source))} as old (read_only)")
        version = _storage_version(con, "old")
        options = f" (storage_version {_lit(version)})" if version else ""
        con.execute(f"attach {_lit(str(target))} as new{options}")
        con.execute("copy from database old to new")
        con.execute("checkpoint new")
        con.execute("detach new")
        con.execute("detach old")
    finally:
        con.close()
    if wal_path(target).exists():
        raise RuntimeError(f"the compacted copy {target} still has a WAL after its checkpoint")


def _storage_version(con: duckdb.DuckDBPyConnection, database: str) -> str | None:
    """The source's storage version ('v2.0.0+' reads as v2.0.0), so older readers still can."""
    rows = con.execute(
        "select tags['storage_version'] from duckdb_databases() where database_name = ?",
        [database],
    ).fetchall()
    value = rows[0][0] if rows else None
    if isinstance(value, list):  # map access returned a list in some DuckDB versions
        value = value[0] if value else None
    return value.rstrip("+") if value else None
