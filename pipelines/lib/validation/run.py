"""Running the suites inside DuckDB with Great Expectations' SQL execution engine.

Every expectation is SQL that DuckDB evaluates on the table (through duckdb-engine, fixed up
in `sqlalchemy_duckdb`); only GE's samples of unexpected values (at most 20 per expectation)
and the rows of custom-SQL checks (at most 200) come back to Python. A daily run validates
the slice the latest build changed (`suites.slice_condition`); `scope="full"` (and
FUNNEL_CHECK_SCOPE=full) validates whole tables. `import great_expectations` takes seconds,
so it happens here, inside the functions, once per process.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.lib.validation import sqlalchemy_duckdb
from pipelines.lib.validation.results import ExpectationOutcome, TableValidation, _table_validation
from pipelines.lib.validation.suites import (
    list_parameters,
    row_count_parameters,
    slice_condition,
    split_suite,
    suite_document,
)

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult

DATA_DOCS_SITE = "funnel"
# GE's result format: unexpected counts plus a sample of up to 20 unexpected values.
# Counts, never sample values: a sample of a raw table would put landing content (e-mails,
# names) into validation_results/ and the data docs, and a mart's sample could keep the key of
# a person erased later. A failure names the check and how many rows broke it; the rows are
# found with the expectation's own condition, in the warehouse.
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}
SCOPES = ("slice", "full")


def check_scope() -> str:
    """`slice` (the default: what the latest build changed) or `full` (FUNNEL_CHECK_SCOPE)."""
    scope = os.environ.get("FUNNEL_CHECK_SCOPE", "slice").strip().lower() or "slice"
    if scope not in SCOPES:
        raise ValueError(f"FUNNEL_CHECK_SCOPE must be one of {', '.join(SCOPES)}, not {scope!r}")
    return scope


def ephemeral_context(data_docs_dir: Path | None = None):
    """A GE context in memory: no analytics, no progress bars, optionally one local site."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {}
    if data_docs_dir is not None:
        sites[DATA_DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(data_docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites=sites,
    )
    return gx.get_context(project_config=config, mode="ephemeral")


def _missing_table(table: str, previous_row_count: int | None, message: str) -> TableValidation:
    outcome = ExpectationOutcome(
        expectation="table_exists",
        target="table",
        description="The table exists and can be read.",
        success=False,
        severity="critical",
        unexpected_count=None,
        observed="",
        error=message,
    )
    return TableValidation(
        table=table,
        success=False,
        outcomes=(outcome,),
        row_count=None,
        previous_row_count=previous_row_count,
        seconds=0.0,
        validated_at=dt.datetime.now(dt.UTC),
    )


def _warehouse_facts(warehouse_path: Path) -> tuple[set[str], dict[str, list[str]]]:
    """The warehouse's tables and the seeds' value sets, read before GE opens it."""
    con = sqlalchemy_duckdb.open_read_only(Path(warehouse_path))
    try:
        rows = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
        ).fetchall()
        lists = list_parameters(con)
    finally:
        con.close()
    return {name for (name,) in rows}, lists


def _merged(
    whole: ExpectationSuiteValidationResult, sliced: ExpectationSuiteValidationResult
) -> ExpectationSuiteValidationResult:
    """One suite result from the whole-table and the slice halves (GE's own statistics)."""
    from great_expectations.core import ExpectationSuiteValidationResult
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    results = [*whole.results, *sliced.results]
    return ExpectationSuiteValidationResult(
        success=all(r.success for r in results),
        results=results,
        suite_name=whole.suite_name,
        suite_parameters={**(whole.suite_parameters or {}), **(sliced.suite_parameters or {})},
        statistics=calc_validation_statistics(results)._asdict(),
        meta={**(whole.meta or {}), "funnel_slice": (sliced.meta or {}).get("funnel_slice")},
        batch_id=whole.batch_id,
    )


def validate_tables(
    warehouse_path: Path,
    tables: Iterable[str],
    previous_row_counts: Mapping[str, int | None] | None = None,
    expectations_dir: Path | None = None,
    scope: str | None = None,
) -> dict[str, TableValidation]:
    """Validate each `schema.table` against its suite, inside the DuckDB file (read-only).

    `previous_row_counts` feeds each suite's row-count-vs-previous-run expectation. With a
    slice (scope "slice" and a suite `meta.slice`), the row-level expectations see only the
    rows the latest build changed; the table-level ones (row count, columns) the whole table.
    """
    import great_expectations as gx

    scope = scope or check_scope()
    previous_row_counts = previous_row_counts or {}
    existing, lists = _warehouse_facts(warehouse_path)
    context = ephemeral_context()
    validations: dict[str, TableValidation] = {}
    try:
        for table in tables:
            schema, name = table.split(".", 1)
            previous = previous_row_counts.get(table)
            document = suite_document(table, expectations_dir)
            condition = slice_condition(document, existing) if scope == "slice" else None
            datasource_name = f"warehouse_{schema}"
            if datasource_name not in context.data_sources.all():
                context.data_sources.add_sql(
                    name=datasource_name,
                    connection_string=sqlalchemy_duckdb.CONNECTION_STRING,
                    kwargs=sqlalchemy_duckdb.engine_kwargs(Path(warehouse_path), schema),
                )
            datasource = context.data_sources.get(datasource_name)
            started = time.perf_counter()
            try:
                whole_batch = (
                    datasource.add_table_asset(name=table, table_name=name)
                    .add_batch_definition_whole_table("whole_table")
                    .get_batch()
                )
            except Exception as exc:  # GE tests the table when the asset is added
                validations[table] = _missing_table(table, previous, f"{type(exc).__name__}: {exc}")
                continue
            if condition is None:
                suite = gx.ExpectationSuite(**document)
                result = whole_batch.validate(
                    suite,
                    result_format=RESULT_FORMAT,
                    expectation_parameters={**lists, **row_count_parameters(suite, previous)},
                )
            else:
                table_level, row_level = (gx.ExpectationSuite(**d) for d in split_suite(document))
                whole = whole_batch.validate(
                    table_level,
                    result_format=RESULT_FORMAT,
                    expectation_parameters={**lists, **row_count_parameters(table_level, previous)},
                )
                slice_batch = (
                    datasource.add_query_asset(
                        name=f"{table}__slice",
                        query=f'select * from "{schema}"."{name}" where {condition}',
                    )
                    .add_batch_definition_whole_table("slice")
                    .get_batch()
                )
                sliced = slice_batch.validate(
                    row_level, result_format=RESULT_FORMAT, expectation_parameters=lists
                )
                sliced.meta = {**(sliced.meta or {}), "funnel_slice": condition}
                result = _merged(whole, sliced)
            validations[table] = _table_validation(
                table,
                result,
                previous,
                time.perf_counter() - started,
                dt.datetime.now(dt.UTC),
                condition,
            )
    finally:
        # Close the DuckDB connections now, not at garbage collection: a writer may be next.
        for datasource in context.data_sources.all().values():
            datasource.get_engine().dispose()
            datasource.get_execution_engine().engine.dispose()
    return validations


def validate_table(
    warehouse_path: Path,
    table: str,
    previous_row_count: int | None = None,
    expectations_dir: Path | None = None,
    scope: str | None = None,
) -> TableValidation:
    return validate_tables(
        warehouse_path, [table], {table: previous_row_count}, expectations_dir, scope
    )[table]
