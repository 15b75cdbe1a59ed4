"""Great Expectations suites as Dagster asset checks: one plain `@asset_check` per suite.

dagster-ge does not support GE 1.x, so each check runs GE itself (`pipelines.lib.validation`)
on the warehouse, opened read-only, after its asset was written in the same run.

- Checks of tables in `blocking_tables` (the marts) are `blocking=True` and fail with severity
  ERROR, so the publish asset downstream does not run and the serving files keep the last good
  version. A failure of an expectation whose GE `severity` is "warning" or "info" is reported
  with severity WARN and does not block. Checks of other tables fail with WARN.
- The previous row count, which bounds each suite's row-count expectation, is the `row_count`
  metadata of the check's own latest completed evaluation in an earlier run (Dagster's event
  log): the warehouse stays read-only and the history is plotted in the UI.
- Each check saves its GE validation result to `results_dir_for(warehouse)`; Data Docs are built
  from those by `write_data_docs` (the publish step), and by a blocking check that fails (the
  publish step will not run then, and the docs must show why).
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation at runtime.
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

import dagster as dg

from pipelines.lib import validation

CHECK_NAME = "ge_suite"


def previous_row_count(
    instance: dg.DagsterInstance, check_key: dg.AssetCheckKey, current_run_id: str
) -> int | None:
    """`row_count` of this check's latest completed evaluation in another run, if any."""
    from dagster._core.storage.asset_check_execution_record import (
        COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES,
    )

    records = instance.event_log_storage.get_asset_check_execution_history(
        check_key, limit=10, status=set(COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES)
    )
    for record in records:
        if record.run_id == current_run_id or record.event is None:
            continue
        evaluation = record.event.dagster_event.event_specific_data
        value = getattr(evaluation, "metadata", {}).get("row_count")
        if value is not None and value.value is not None:
            return int(value.value)
    return None


def check_result(
    table_validation: validation.TableValidation, blocking: bool, data_docs: Path | None = None
) -> dg.AssetCheckResult:
    """The Dagster result of one suite: pass/fail, severity and readable metadata."""
    failures = table_validation.failures
    severity = (
        dg.AssetCheckSeverity.ERROR
        if blocking and table_validation.has_critical_failure
        else dg.AssetCheckSeverity.WARN
    )
    metadata: dict[str, dg.RawMetadataValue] = {
        "failures": dg.MetadataValue.md(validation.summary_markdown(table_validation)),
        "expectations_evaluated": dg.MetadataValue.int(len(table_validation.outcomes)),
        "expectations_failed": dg.MetadataValue.int(len(failures)),
        "unexpected_total": dg.MetadataValue.int(sum(o.unexpected_count or 0 for o in failures)),
        "validation_seconds": dg.MetadataValue.float(round(table_validation.seconds, 3)),
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
        passed=table_validation.success,
        severity=severity,
        metadata=metadata,
        description=description,
    )


def build_suite_checks(
    asset_keys_by_table: Mapping[str, dg.AssetKey],
    *,
    warehouse_path_fn: Callable[[], Path],
    blocking_tables: Collection[str] = frozenset(),
    serving_dir_fn: Callable[[], Path] | None = None,
    pool: str | None = None,
    expectations_dir: Path | None = None,
) -> list[dg.AssetChecksDefinition]:
    """One `@asset_check` named `ge_suite` per suite, on the asset of its table.

    `asset_keys_by_table` maps `schema.table` (the suite's name) to the asset that writes it;
    `warehouse_path_fn` and `serving_dir_fn` are read when a check runs, not at import. With
    `serving_dir_fn`, a failing blocking check rewrites `<serving_dir>/data_docs/`.
    """
    return [
        _suite_check(
            table,
            asset_key,
            blocking=table in blocking_tables,
            warehouse_path_fn=warehouse_path_fn,
            serving_dir_fn=serving_dir_fn,
            pool=pool,
            expectations_dir=expectations_dir,
        )
        for table, asset_key in sorted(asset_keys_by_table.items())
    ]


def _suite_check(
    table: str,
    asset_key: dg.AssetKey,
    *,
    blocking: bool,
    warehouse_path_fn: Callable[[], Path],
    serving_dir_fn: Callable[[], Path] | None,
    pool: str | None,
    expectations_dir: Path | None,
) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_key,
        name=CHECK_NAME,
        blocking=blocking,
        description=f"Great Expectations suite `expectations/{table}.json`"
        + (" (blocks publication)." if blocking else "."),
        pool=pool,
        metadata={"suite": f"expectations/{table}.json"},
    )
    def _check(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        check_key = dg.AssetCheckKey(asset_key, CHECK_NAME)
        previous = previous_row_count(context.instance, check_key, context.run.run_id)
        warehouse_path = Path(warehouse_path_fn())
        table_validation = validation.validate_table(
            warehouse_path, table, previous, expectations_dir
        )
        results_dir = validation.results_dir_for(warehouse_path)
        validation.save_results([table_validation], results_dir)
        data_docs = None
        if serving_dir_fn is not None:
            data_docs = Path(serving_dir_fn()) / validation.DATA_DOCS_DIRNAME / "index.html"
            if blocking and not table_validation.success:
                data_docs = validation.build_data_docs(
                    validation.load_results(results_dir), Path(serving_dir_fn()), expectations_dir
                )
        context.log.info(validation.summary_markdown(table_validation))
        return check_result(table_validation, blocking, data_docs)

    return _check


def default_asset_keys() -> dict[str, dg.AssetKey]:
    """`schema.table` -> AssetKey([schema, table]) for every suite in `expectations/`."""
    return {table: dg.AssetKey(table.split(".", 1)) for table in validation.suite_tables()}


def default_suite_checks(pool: str | None = None) -> list[dg.AssetChecksDefinition]:
    """Checks of every suite on `[schema, table]` assets; the marts' checks block."""
    from pipelines.settings import load_settings

    keys = default_asset_keys()
    return build_suite_checks(
        keys,
        warehouse_path_fn=lambda: load_settings().warehouse_path,
        serving_dir_fn=lambda: load_settings().serving_dir,
        blocking_tables={t for t in keys if t.startswith("marts.")},
        pool=pool,
    )


def write_data_docs() -> Path:
    """Rebuild `$FUNNEL_SERVING_DIR/data_docs/` from the latest saved result of every table."""
    from pipelines.settings import load_settings

    settings = load_settings()
    results = validation.load_results(validation.results_dir_for(settings.warehouse_path))
    return validation.build_data_docs(results, settings.serving_dir)


def _defs() -> dg.Definitions:
    from pipelines.lib.partitions import WAREHOUSE_POOL

    # In the warehouse pool: a read-only open fails while another process writes the file.
    return dg.Definitions(asset_checks=default_suite_checks(pool=WAREHOUSE_POOL))


defs = _defs()
