"""Ingest throughput: the raw assets' extraction versus DuckDB's own read_csv.

    python -m bench.ingest_bench [--rows 5000000] [--days 100]

Writes `--days` touchpoint files (contract shape, ~1% breaching rows) and loads them twice
into fresh warehouse files: (a) through `extract_entity` (typing, reject detection, line
numbers, lineage, erasure), (b) with a plain typed `read_csv` into a table. Prints rows/s.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import duckdb

from pipelines.lib.extract import extract_entity
from pipelines.lib.landing_contract import ENTITIES_BY_NAME
from pipelines.lib.warehouse import warehouse_connection

ENTITY = ENTITIES_BY_NAME["touchpoints"]


def write_files(landing: Path, rows: int, days: int) -> list[str]:
    con = duckdb.connect()
    folder = landing / ENTITY.directory
    folder.mkdir(parents=True)
    per_day = rows // days
    names = []
    for d in range(days):
        day = f"2025-{1 + d // 28:02d}-{1 + d % 28:02d}"
        names.append(day)
        con.execute(
            f"""
            copy (select 'C' || lpad((i % 100000)::varchar, 8, '0') as contact_id,
                         case when i % 97 = 0 then 'not-a-date'
                              else strftime(TIMESTAMP '{day}' + to_seconds(i % 86400),
                                            '%Y-%m-%dT%H:%M:%S+00:00') end as occurred_at,
                         (['google_ads','meta_ads','linkedin_ads','organic_search','email',
                           'referral','direct'])[1 + i % 7] as channel,
                         'cmp-' || (i % 50)::varchar as campaign_id,
                         case when i % 2 = 0 then 'click' else 'view' end as touch_type
                  from range({per_day}) t(i))
            to '{folder / (day + ".csv")}' (header)
            """
        )
    return names


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        days = write_files(landing, args.rows, args.days)
        files = [str(landing / ENTITY.file_path(d)) for d in days]

        started = time.perf_counter()
        with warehouse_connection(Path(tmp) / "a.duckdb", "bench") as con:
            reports = extract_entity(con, landing, ENTITY, days)
            con.execute("checkpoint")
        ours = time.perf_counter() - started
        lines = sum(r.data_lines for r in reports)

        started = time.perf_counter()
        con = duckdb.connect(str(Path(tmp) / "b.duckdb"))
        columns = ", ".join(f"'{c.name}': '{c.type}'" for c in ENTITY.columns)
        con.execute(
            f"create table touchpoints as select * from read_csv({files}, header = true,"
            f" columns = {{{columns}}}, ignore_errors = true)"
        )
        con.execute("checkpoint")
        con.close()
        plain = time.perf_counter() - started

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"rows in files:              {lines:,}")
    print(f"raw asset extraction:       {ours:6.2f} s  {lines / ours:12,.0f} rows/s")
    print(f"DuckDB read_csv (typed):    {plain:6.2f} s  {lines / plain:12,.0f} rows/s")
    print(f"ingest / read_csv rows/s:   {plain / ours:.2f}")
    print(f"peak RSS:                   {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
