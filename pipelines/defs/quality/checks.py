"""Great Expectations suites as Dagster asset checks.

dagster-ge does not support GE 1.x, so the checks run GE themselves (`pipelines.lib.validation`)
on the warehouse, opened read-only. Each layer's suites are one multi-asset check (one step,
one GE context, one `import great_expectations` per run), with one check `ge_suite` per table
on the asset that writes it:

- core suites: non-blocking (severity WARN);
- mart and prediction suites: blocking with severity ERROR, so the serving assets downstream
  do not run and the serving files keep the last good version. An expectation whose GE
  `severity` is "warning" or "info" fails with WARN and does not block.
- raw suites run inside the `raw/load_audit` asset (pipelines/defs/ingest/audit.py), before
  dbt, on the rows loaded since the last committed build.

A daily run validates the slice the latest build changed (each suite's `meta.slice`); with
FUNNEL_CHECK_SCOPE=full every table is validated whole. The previous row count, which bounds
each suite's row-count expectation, is the `dagster/row_count` of the asset's latest
materialisation in an earlier run. Check metadata names failed expectations and counts, never
a value from a table (the event log is out of erasure's reach); GE's samples stay in the
Data Docs, rebuilt every run.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime.
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import dagster as dg

from pipelines.lib import validation

CHECK_NAME = "ge_suite"
ROW_COUNT_METADATA = "dagster/row_count"


def previous_row_count(
    instance: dg.DagsterInstance,
    asset_key: dg.AssetKey,
    current_run_id: str,
    metadata_key: str = ROW_COUNT_METADATA,
) -> int | None:
    """`metadata_key` (a row count) of the asset's latest materialisation in another run."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key), limit=5
    ).records
    for record in records:
        if record.run_id == current_run_id:
            continue
        materialization = record.asset_materialization
        value = materialization.metadata.get(metadata_key) if materialization else None
        if value is not None and value.value is not None:
            return int(value.value)
    return None


def check_result(
    table_validation: validation.TableValidation,
    asset_key: dg.AssetKey,
    blocking: bool,
    check_name: str = CHECK_NAME,
    data_docs: Path | None = None,
) -> dg.AssetCheckResult:
    """The Dagster result of one suite: pass/fail, severity and readable metadata."""
    failures = table_validation.failures
    severity = (
        dg.AssetCheckSeverity.ERROR
        if blocking and table_validation.has_critical_failure
        else dg.AssetCheckSeverity.WARN
    )
    metadata: dict[str, dg.RawMetadataValue] = {
        "failures": dg.MetadataValue.md(
            validation.summary_markdown(table_validation, with_samples=False)
        ),
        "expectations_evaluated": dg.MetadataValue.int(len(table_validation.outcomes)),
        "expectations_failed": dg.MetadataValue.int(len(failures)),
        "unexpected_total": dg.MetadataValue.int(sum(o.unexpected_count or 0 for o in failures)),
        "validation_seconds": dg.MetadataValue.float(round(table_validation.seconds, 3)),
        "rows_validated": dg.MetadataValue.text(
            "the whole table"
            if table_validation.slice_condition is None
            else f"where {table_validation.slice_condition}"
        ),
    }
    if table_validation.row_count is not None:
        metadata["row_count"] = dg.MetadataValue.int(table_validation.row_count)
    if table_validation.previous_row_count is not None:
        metadata["previous_row_count"] = dg.MetadataValue.int(table_validation.previous_row_count)
    for outcome in failures:
        if outcome.unexpected_count is not None:
            key = base = f"unexpected:{outcome.expectation}:{outcome.target}"
            suffix = 1
            while key in metadata:  # several custom-SQL checks share target "table"
                suffix += 1
                key = f"{base}:{suffix}"
            metadata[key] = dg.MetadataValue.int(outcome.unexpected_count)
    if data_docs is not None:
        metadata["data_docs"] = dg.MetadataValue.path(str(data_docs))
    if failures:
        named = ", ".join(f"{o.expectation} ({o.target})" for o in failures[:5])
        description = f"{len(failures)} expectation(s) failed: {named}"
    else:
        description = f"All {len(table_validation.outcomes)} expectations passed."
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=table_validation.success,
        severity=severity,
        metadata=metadata,
        description=description,
    )


def run_suites(
    context: dg.OpExecutionContext,
    tables: Mapping[str, dg.AssetKey],
    *,
    warehouse_path: Path,
    serving_dir: Path | None,
    blocking: bool,
    check_name: Callable[[str], str] = lambda table: CHECK_NAME,
    row_count_key: Callable[[str], str] = lambda table: ROW_COUNT_METADATA,
    expectations_dir: Path | None = None,
) -> Iterable[dg.AssetCheckResult]:
    """Validate `tables` (schema.table -> asset key) and yield one check result per table."""
    previous = {
        table: previous_row_count(context.instance, key, context.run.run_id, row_count_key(table))
        for table, key in tables.items()
    }
    validations = validation.validate_tables(
        warehouse_path, list(tables), previous, expectations_dir
    )
    results_dir = validation.results_dir_for(warehouse_path)
    validation.save_results(validations.values(), results_dir)
    data_docs = None
    if serving_dir is not None:
        data_docs = serving_dir / validation.DATA_DOCS_DIRNAME / "index.html"
        if blocking and not all(v.success for v in validations.values()):
            # Publication will not run: the docs must show why now.
            data_docs = validation.build_data_docs(
                validation.load_results(results_dir), serving_dir, expectations_dir
            )
    for table, table_validation in validations.items():
        context.log.info(validation.summary_markdown(table_validation, with_samples=False))
        yield check_result(table_validation, tables[table], blocking, check_name(table), data_docs)


def build_suite_checks(
    name: str,
    asset_keys_by_table: Mapping[str, dg.AssetKey],
    *,
    blocking: bool,
    warehouse_path_fn: Callable[[], Path],
    serving_dir_fn: Callable[[], Path] | None = None,
    expectations_dir: Path | None = None,
) -> dg.AssetChecksDefinition:
    """One multi-asset check: a `ge_suite` check on each table's asset (see module doc)."""
    specs = [
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=key,
            blocking=blocking,
            description=f"Great Expectations suite `expectations/{table}.json`"
            + (" (blocks publication)." if blocking else "."),
            metadata={"suite": f"expectations/{table}.json"},
        )
        for table, key in sorted(asset_keys_by_table.items())
    ]
    keys = dict(asset_keys_by_table)

    @dg.multi_asset_check(
        specs=specs, name=name, can_subset=True, required_resource_keys={"warehouse_lock"}
    )
    def _suites(context: dg.AssetCheckExecutionContext):
        selected = {
            table: key
            for table, key in keys.items()
            if dg.AssetCheckKey(key, CHECK_NAME) in context.selected_asset_check_keys
        }
        yield from run_suites(
            context,
            selected,
            warehouse_path=Path(warehouse_path_fn()),
            serving_dir=Path(serving_dir_fn()) if serving_dir_fn else None,
            blocking=blocking,
            expectations_dir=expectations_dir,
        )

    return _suites


def asset_keys_for(tables: Iterable[str]) -> dict[str, dg.AssetKey]:
    """`schema.table` -> AssetKey([schema, table])."""
    return {table: dg.AssetKey(table.split(".", 1)) for table in tables}


def write_data_docs(warehouse_path: Path, serving_dir: Path) -> Path:
    """Rebuild `<serving_dir>/data_docs/` from the latest saved result of every table."""
    results = validation.load_results(validation.results_dir_for(warehouse_path))
    return validation.build_data_docs(results, serving_dir)


def _defs() -> dg.Definitions:
    from pipelines.settings import load_settings

    tables = validation.suite_tables()
    warehouse = lambda: load_settings().warehouse_path  # noqa: E731
    serving = lambda: load_settings().serving_dir  # noqa: E731
    core = asset_keys_for(t for t in tables if t.startswith("core."))
    published = asset_keys_for(t for t in tables if t.startswith(("marts.", "predict.")))
    return dg.Definitions(
        asset_checks=[
            build_suite_checks(
                "core_suites",
                core,
                blocking=False,
                warehouse_path_fn=warehouse,
                serving_dir_fn=serving,
            ),
            build_suite_checks(
                "mart_suites",
                published,
                blocking=True,
                warehouse_path_fn=warehouse,
                serving_dir_fn=serving,
            ),
        ]  # fmt: skip
    )


defs = _defs()
