"""Ingest of a whole landing zone into a fresh warehouse file, two ways (one per process):

    python -m bench.ingest_phase extract  --landing L --start D --days N --database DB --result R
    python -m bench.ingest_phase read_csv --landing L --start D --days N --database DB --result R

- `extract`: what the raw assets do, `pipelines.lib.extract.extract_entity` for every entity
  over all days (one call per entity, as a single-run backfill makes it; erasure requests
  first, as the asset graph orders them): typing, rejects, line numbers, lineage, erasure.
- `read_csv`: DuckDB's own typed `read_csv` of the same files (the contract's types,
  `ignore_errors`), one `create table raw.<entity>` per entity, in the same kind of file.
Both end with a checkpoint, so the data is in the file when the clock stops.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

import duckdb

from pipelines.lib.landing_contract import ENTITIES

# erasure_requests first: every other raw asset depends on it.
ORDERED = sorted(ENTITIES, key=lambda e: e.name != "erasure_requests")


def _days(start: dt.date, count: int) -> list[str]:
    return [(start + dt.timedelta(days=i)).isoformat() for i in range(count)]


def ingest_with_extract(landing: Path, days: list[str], database: Path) -> dict:
    from pipelines.lib.extract import extract_entity
    from pipelines.lib.warehouse import warehouse_connection
    from pipelines.settings import load_settings

    secret = load_settings().pseudonymisation_secret
    lines = loaded = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    with warehouse_connection(database, secret) as con:
        for entity in ORDERED:
            reports = extract_entity(con, landing, entity, days)
            lines += sum(r.data_lines for r in reports)
            loaded += sum(r.rows_loaded for r in reports)
        con.execute("checkpoint")
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "rows": lines,
        "rows_loaded": loaded,
    }


def ingest_with_read_csv(landing: Path, days: list[str], database: Path) -> dict:
    started, cpu_started = time.perf_counter(), time.process_time()
    con = duckdb.connect(str(database))
    loaded = 0
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("create schema raw")
        for entity in ORDERED:
            files = [str(p) for d in days if (p := landing / entity.file_path(d)).exists()]
            if not files:
                continue
            columns = ", ".join(f"'{c.name}': '{c.type}'" for c in entity.columns)
            con.execute(
                f"create table raw.{entity.name} as select * from read_csv({files},"
                f" header = true, columns = {{{columns}}}, ignore_errors = true)"
            )
            loaded += con.execute(f"select count(*) from raw.{entity.name}").fetchall()[0][0]
        con.execute("checkpoint")
    finally:
        con.close()
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu_started,
        "rows_loaded": loaded,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_phase")
    parser.add_argument("how", choices=("extract", "read_csv"))
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--start", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    args.database.unlink(missing_ok=True)
    days = _days(args.start, args.days)
    if args.how == "extract":
        result = ingest_with_extract(args.landing, days, args.database)
    else:
        result = ingest_with_read_csv(args.landing, days, args.database)
    result["database_bytes"] = args.database.stat().st_size
    args.result.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
