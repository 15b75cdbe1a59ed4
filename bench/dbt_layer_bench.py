"""Build time of the dbt layer alone at a given scale (issue 4's figures).

    python -m bench.dbt_layer_bench --work-dir /tmp/dbt-bench --contacts-per-day 913 --days 1095

Generates a landing zone (reused when present), extracts every entity into a fresh warehouse,
times a full `dbt build` (models and data tests, no unit tests), then appends one day,
extracts it and times the `dbt build` of that one-day window.
"""

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from pipelines.generator import append_day, generate_landing_zone
from pipelines.lib.extract import extract_entity
from pipelines.lib.landing_contract import ENTITIES
from pipelines.lib.warehouse import warehouse_connection

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
START = dt.date(2024, 1, 1)
SECRET = "bench-secret"


def _extract(root: Path, days: list[str]) -> float:
    started = time.perf_counter()
    with warehouse_connection(root / "warehouse.duckdb", SECRET) as con:
        # Erasure requests first, as in the graph.
        for entity in sorted(ENTITIES, key=lambda e: e.name != "erasure_requests"):
            extract_entity(con, root / "landing", entity, days)
    return time.perf_counter() - started


def _dbt_build(root: Path, dbt_vars: dict) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "build", "--profiles-dir", ".", "--quiet",
         "--exclude", "test_type:unit", "--vars", json.dumps(dbt_vars),
         "--target-path", str(root / "target"), "--log-path", str(root / "logs")],
        cwd=DBT_PROJECT_DIR,
        check=True,
        env={**os.environ, "FUNNEL_WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
             "FUNNEL_PSEUDONYMISATION_SECRET": SECRET},
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work-dir", type=Path, default=Path("/tmp/dbt-bench"))
    parser.add_argument("--contacts-per-day", type=int, default=913)
    parser.add_argument("--days", type=int, default=1095)
    args = parser.parse_args()
    root = args.work_dir
    (root / "warehouse.duckdb").unlink(missing_ok=True)
    if not (root / "landing" / "_generator.json").exists():
        started = time.perf_counter()
        rows = generate_landing_zone(
            root / "landing", START, args.days, args.contacts_per_day, seed=42
        )
        print(f"generated {sum(rows.values()):,} rows in {time.perf_counter() - started:.0f} s")
    days = [(START + dt.timedelta(days=i)).isoformat() for i in range(args.days)]
    print(f"extract all days:   {_extract(root, days):7.1f} s", flush=True)
    print(f"dbt build, full:    {_dbt_build(root, {}):7.1f} s", flush=True)
    append_day(root / "landing")
    new_day = (START + dt.timedelta(days=args.days)).isoformat()
    print(f"extract one day:    {_extract(root, [new_day]):7.1f} s", flush=True)
    one_day = _dbt_build(root, {"min_date": new_day, "max_date": new_day})
    print(f"dbt build, one day: {one_day:7.1f} s", flush=True)


if __name__ == "__main__":
    main()
