"""The raw layer after a run's extraction: `raw/load_audit`, before dbt builds on it.

It reads the load log for the days (re)loaded since the last committed dbt build (the batch
the next build restates) and checks, in one step that runs before dbt:
- `every_record_accounted_for` (blocking): for every file, rows loaded + rows rejected equals
  its data records, so nothing landed is lost;
- `suite_<entity>`: the raw Great Expectations suite of each raw table, on the rows of the
  batch (the whole table with FUNNEL_CHECK_SCOPE=full). Not blocking: the extractor already
  enforces the contract row by row; a failing suite is a warning to look at.

Unpartitioned, so a run over any number of days records one audit and one result per check.
"""

from pathlib import Path

import dagster as dg

from pipelines.defs.quality.checks import run_suites
from pipelines.lib import validation
from pipelines.lib.landing_contract import ENTITIES
from pipelines.lib.warehouse import warehouse_connection
from pipelines.settings import load_settings

AUDIT_KEY = dg.AssetKey(["raw", "load_audit"])
RECONCILIATION_CHECK = "every_record_accounted_for"
RAW_TABLES = {f"raw.{e.name}": e for e in ENTITIES}


def suite_check_name(table: str) -> str:
    return "suite_" + table.split(".", 1)[1]


def _row_count_key(table: str) -> str:
    return f"row_count:{table}"


def pending_loads(warehouse_path: Path) -> list[tuple]:
    """(entity, day, file, records, loaded, rejected, erased) loaded since the last build."""
    with warehouse_connection(warehouse_path, read_only=True) as con:
        tables = {
            name
            for (name,) in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
            ).fetchall()
        }
        since = "timestamp '1900-01-01'"
        if "batch.batch_build_watermarks" in tables:
            since = (
                "(select coalesce(max(built_until), timestamp '1900-01-01')"
                " from batch.batch_build_watermarks)"
            )
        return con.execute(
            f"""
            select entity, partition_date, source_file, data_records, rows_loaded,
                   rows_rejected, coalesce(rows_erased, 0)
            from raw.load_log where loaded_at > {since}
            order by entity, partition_date
            """
        ).fetchall()


def raw_row_counts(warehouse_path: Path) -> dict[str, int]:
    with warehouse_connection(warehouse_path, read_only=True) as con:
        return {
            table: con.execute(f"select count(*) from {table}").fetchall()[0][0]
            for table in RAW_TABLES
        }


def _summary(loads: list[tuple]) -> str:
    by_entity: dict[str, list[int]] = {}
    for entity, _day, source_file, records, loaded, rejected, erased in loads:
        totals = by_entity.setdefault(entity, [0, 0, 0, 0, 0])
        totals[0] += 1 if source_file else 0
        for i, value in enumerate((records, loaded, rejected, erased), start=1):
            totals[i] += value or 0
    lines = [
        "| entity | files | records | loaded | rejected | erased |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {e} | " + " | ".join(str(v) for v in t) + " |" for e, t in by_entity.items()]
    return "\n".join(lines)


def _reconciliation(loads: list[tuple]) -> dg.AssetCheckResult:
    broken = [
        (entity, day, source_file)
        for entity, day, source_file, records, loaded, rejected, _ in loads
        if source_file is not None and (records or 0) != (loaded or 0) + (rejected or 0)
    ]
    description = (
        f"{len(loads)} load(s): every record loaded or rejected."
        if not broken
        else f"{len(broken)} file(s) lost records: "
        + ", ".join(f"{f} ({e}, {d})" for e, d, f in broken[:5])
    )
    return dg.AssetCheckResult(
        asset_key=AUDIT_KEY,
        check_name=RECONCILIATION_CHECK,
        passed=not broken,
        severity=dg.AssetCheckSeverity.ERROR,
        description=description,
        metadata={"files_not_reconciled": dg.MetadataValue.int(len(broken))},
    )


@dg.asset(
    key=AUDIT_KEY,
    group_name="raw",
    deps=[dg.AssetKey(["raw", e.name]) for e in ENTITIES],
    kinds={"duckdb"},
    required_resource_keys={"warehouse_lock"},
    description="The raw layer after this run's extraction: the loads since the last "
    "committed dbt build, reconciled file by file, and the raw Great Expectations suites on "
    "their rows. Runs before dbt.",
    check_specs=[
        dg.AssetCheckSpec(
            RECONCILIATION_CHECK,
            asset=AUDIT_KEY,
            blocking=True,
            description="For every file loaded since the last build, rows loaded + rows "
            "rejected = data records.",
        ),
        *(
            dg.AssetCheckSpec(
                suite_check_name(table),
                asset=AUDIT_KEY,
                description=f"Great Expectations suite `expectations/{table}.json` on the "
                "rows loaded since the last build.",
                metadata={"suite": f"expectations/{table}.json"},
            )
            for table in RAW_TABLES
        ),
    ],
)
def load_audit(context: dg.AssetExecutionContext):
    settings = load_settings()
    loads = pending_loads(settings.warehouse_path)
    counts = raw_row_counts(settings.warehouse_path)
    context.log.info(f"Auditing {len(loads)} load(s) since the last dbt build")
    yield dg.MaterializeResult(
        metadata={
            "loads": dg.MetadataValue.int(len(loads)),
            "pending_loads": dg.MetadataValue.md(_summary(loads)),
            **{_row_count_key(t): dg.MetadataValue.int(n) for t, n in counts.items()},
        }
    )
    yield _reconciliation(loads)
    yield from run_suites(
        context,
        {table: AUDIT_KEY for table in RAW_TABLES if table in validation.suite_tables()},
        warehouse_path=settings.warehouse_path,
        serving_dir=None,
        blocking=False,
        check_name=suite_check_name,
        row_count_key=_row_count_key,
    )


defs = dg.Definitions(assets=[load_audit])
