"""Great Expectations suites (`expectations/<schema>.<table>.json`) validated inside DuckDB.

The checks run where the data is: GE's own SQL execution engine (`SqlAlchemyExecutionEngine`)
over duckdb-engine turns every expectation into SQL that DuckDB evaluates on the table, so no
table is ever pulled into Python; only GE's samples of unexpected values (at most 20 per
expectation) and the rows of `unexpected_rows_expectation` queries (at most 200) come back.
The results are GE's own validation results, rendered by GE's own Data Docs site builder.

duckdb-engine as installed does not work under GE (GX issues 10738 and 11579);
`sqlalchemy_duckdb` explains why and holds the small fixes.

`import great_expectations` takes seconds, so GE is imported inside the functions that use it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite
    from great_expectations.core import ExpectationSuiteValidationResult

EXPECTATIONS_DIR = Path(__file__).resolve().parents[3] / "expectations"
DATA_DOCS_DIRNAME = "data_docs"
DATA_DOCS_SITE = "funnel"
# GE's result format: unexpected counts plus a sample of up to 20 unexpected values.
RESULT_FORMAT = "BASIC"
ROW_COUNT_EXPECTATION = "expect_table_row_count_to_be_between"
ROW_COUNT_BOUNDS_META = "row_count_vs_previous_run"


# ------------------------------------------------------------------------------- suites


def suite_path(table: str, expectations_dir: Path | None = None) -> Path:
    """`expectations/<schema>.<table>.json`, e.g. `marts.cac_daily.json`."""
    return (expectations_dir or EXPECTATIONS_DIR) / f"{table}.json"


def suite_tables(expectations_dir: Path | None = None) -> list[str]:
    """Qualified names (`schema.table`) of every table that has a suite."""
    return sorted(p.stem for p in (expectations_dir or EXPECTATIONS_DIR).glob("*.*.json"))


def load_suite(table: str, expectations_dir: Path | None = None) -> ExpectationSuite:
    import great_expectations as gx

    return gx.ExpectationSuite(**json.loads(suite_path(table, expectations_dir).read_text()))


def row_count_parameters(suite: ExpectationSuite, previous_row_count: int | None) -> dict:
    """Suite parameters of the row-count expectation, from the previous run's row count.

    The expectation's kwargs are `{"$PARAMETER": name}` references and its meta holds
    `row_count_vs_previous_run: {min_ratio, max_ratio}`; a bound is open when its ratio is null
    or there is no previous count (the first run).
    """
    parameters: dict[str, Any] = {}
    for expectation in suite.expectations:
        config = expectation.configuration
        bounds = (config.meta or {}).get(ROW_COUNT_BOUNDS_META)
        if config.type != ROW_COUNT_EXPECTATION or bounds is None:
            continue
        for kwarg, ratio_key, rounding, open_value in (
            ("min_value", "min_ratio", math.floor, 0),
            ("max_value", "max_ratio", math.ceil, None),
        ):
            reference = config.kwargs.get(kwarg)
            if not isinstance(reference, Mapping) or "$PARAMETER" not in reference:
                continue
            ratio = bounds.get(ratio_key)
            parameters[reference["$PARAMETER"]] = (
                open_value
                if previous_row_count is None or ratio is None
                else rounding(previous_row_count * ratio)
            )
    return parameters


# ------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ExpectationOutcome:
    """One expectation's result, flattened for check metadata."""

    expectation: str  # GE expectation type
    target: str  # column(s), or "table"
    description: str
    success: bool
    severity: str  # GE failure severity: critical, warning or info
    unexpected_count: int | None
    observed: str  # observed value or a sample of unexpected values, short
    error: str | None = None  # the exception GE caught while computing it


@dataclass(frozen=True)
class TableValidation:
    table: str  # schema.table
    success: bool
    outcomes: tuple[ExpectationOutcome, ...]
    row_count: int | None
    previous_row_count: int | None
    seconds: float
    validated_at: dt.datetime
    result: ExpectationSuiteValidationResult | None = field(default=None, repr=False)

    @property
    def failures(self) -> tuple[ExpectationOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.success)

    @property
    def has_critical_failure(self) -> bool:
        return any(o.severity == "critical" for o in self.failures)


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _exception_message(exception_info: Any) -> str | None:
    if not exception_info:
        return None
    infos = [exception_info] if "raised_exception" in exception_info else exception_info.values()
    for info in infos:
        if isinstance(info, Mapping) and info.get("raised_exception"):
            return str(info.get("exception_message") or "exception")
    return None


def _target(kwargs: Mapping) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_list" in kwargs:
        return ", ".join(kwargs["column_list"])
    return "table"


def _describe(config) -> str:
    if config.description:
        return config.description
    kwargs = config.kwargs
    shown = {
        k: v
        for k, v in kwargs.items()
        if k not in ("column", "column_list", "batch_id", "condition_parser", "row_condition")
    }
    text = ", ".join(f"{k}={_short(v, 60)}" for k, v in shown.items())
    condition = kwargs.get("row_condition")
    if isinstance(condition, Mapping) and condition.get("type") == "comparison":
        column = (condition.get("column") or {}).get("name")
        text += f" where {column} {condition.get('operator')} {condition.get('parameter')}"
    elif condition:
        text += f" where {_short(condition, 60)}"
    return text


def _outcome(result) -> ExpectationOutcome:
    config = result.expectation_config
    details = result.result or {}
    error = _exception_message(result.exception_info)
    unexpected: int | None = details.get("unexpected_count")
    if config.type == "unexpected_rows_expectation" and error is None:
        unexpected = details.get("observed_value")
    if "partial_unexpected_list" in details and details.get("unexpected_count"):
        observed = "e.g. " + _short(details["partial_unexpected_list"][:5])
    elif config.type == "expect_table_columns_to_match_set":
        mismatched = details.get("details", {}).get("mismatched")
        observed = _short(mismatched) if mismatched else _short(details.get("observed_value"))
    elif "observed_value" in details:
        observed = _short(details["observed_value"])
    else:
        observed = ""
    return ExpectationOutcome(
        expectation=config.type,
        target=_target(config.kwargs),
        description=_describe(config),
        success=bool(result.success),
        severity=str(getattr(config.severity, "value", config.severity) or "critical"),
        unexpected_count=None if unexpected is None else int(unexpected),
        observed=observed,
        error=error,
    )


def _table_validation(
    table: str,
    result: ExpectationSuiteValidationResult,
    previous_row_count: int | None,
    seconds: float,
    validated_at: dt.datetime,
) -> TableValidation:
    outcomes = tuple(_outcome(r) for r in result.results)
    row_count = next(
        (
            r.result.get("observed_value")
            for r in result.results
            if r.expectation_config.type == ROW_COUNT_EXPECTATION and r.result
        ),
        None,
    )
    return TableValidation(
        table=table,
        success=bool(result.success),
        outcomes=outcomes,
        row_count=None if row_count is None else int(row_count),
        previous_row_count=previous_row_count,
        seconds=seconds,
        validated_at=validated_at,
        result=result,
    )


def summary_markdown(validation: TableValidation) -> str:
    """A markdown table of the failing expectations (or a one-line all-clear)."""
    failures = validation.failures
    if not failures:
        return f"All {len(validation.outcomes)} expectations of `{validation.table}` passed."

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        f"{len(failures)} of {len(validation.outcomes)} expectations of `{validation.table}` "
        "failed:",
        "",
        "| expectation | column | unexpected | observed | check |",
        "|---|---|---:|---|---|",
    ]
    for o in failures:
        count = "error" if o.error else ("" if o.unexpected_count is None else o.unexpected_count)
        observed = _short(o.error, 300) if o.error else o.observed
        lines.append(
            f"| `{o.expectation}` ({o.severity}) | {cell(o.target)} | {count} | "
            f"{cell(observed)} | {cell(o.description)} |"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------- GE


def _ephemeral_context(data_docs_dir: Path | None = None):
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


def validate_tables(
    warehouse_path: Path,
    tables: Iterable[str],
    previous_row_counts: Mapping[str, int | None] | None = None,
    expectations_dir: Path | None = None,
) -> dict[str, TableValidation]:
    """Validate each `schema.table` against its suite, inside the DuckDB file (read-only).

    `previous_row_counts` feeds each suite's row-count-vs-previous-run expectation.
    """
    from pipelines.lib.validation import sqlalchemy_duckdb

    previous_row_counts = previous_row_counts or {}
    context = _ephemeral_context()
    validations: dict[str, TableValidation] = {}
    try:
        for table in tables:
            schema, name = table.split(".", 1)
            previous = previous_row_counts.get(table)
            suite = load_suite(table, expectations_dir)
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
                batch = (
                    datasource.add_table_asset(name=table, table_name=name)
                    .add_batch_definition_whole_table("whole_table")
                    .get_batch()
                )
            except Exception as exc:  # GE tests the table when the asset is added
                validations[table] = _missing_table(table, previous, f"{type(exc).__name__}: {exc}")
                continue
            result = batch.validate(
                suite,
                result_format=RESULT_FORMAT,
                expectation_parameters=row_count_parameters(suite, previous),
            )
            validations[table] = _table_validation(
                table, result, previous, time.perf_counter() - started, dt.datetime.now(dt.UTC)
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
) -> TableValidation:
    return validate_tables(warehouse_path, [table], {table: previous_row_count}, expectations_dir)[
        table
    ]


# ------------------------------------------------------------------------------- persistence


def results_dir_for(warehouse_path: Path) -> Path:
    """Where the latest GE result of each table is kept: beside the warehouse file."""
    return Path(warehouse_path).parent / "validation_results"


def save_results(validations: Iterable[TableValidation], results_dir: Path) -> list[Path]:
    """Write each GE validation result as `<results_dir>/<schema.table>.json` (latest only)."""
    results_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for validation in validations:
        if validation.result is None:
            continue
        document = validation.result.to_json_dict()
        document["meta"]["funnel_validated_at"] = validation.validated_at.isoformat()
        path = results_dir / f"{validation.table}.json"
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        tmp.write_text(json.dumps(document, default=str))
        tmp.replace(path)
        written.append(path)
    return written


def load_results(results_dir: Path) -> list[ExpectationSuiteValidationResult]:
    """The GE validation results saved by `save_results`, one per table."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )

    schema = ExpectationSuiteValidationResultSchema()
    return [
        schema.load(json.loads(path.read_text()))
        for path in sorted(Path(results_dir).glob("*.*.json"))
    ]


# ------------------------------------------------------------------------------- Data Docs


def build_data_docs(
    results: Iterable[TableValidation | ExpectationSuiteValidationResult],
    serving_dir: Path,
    expectations_dir: Path | None = None,
) -> Path:
    """Render GE Data Docs of these results into `<serving_dir>/data_docs/`; return index.html.

    GE's own site builder renders the suites and validation results from an in-memory context.
    The site is built aside and swapped in, so a reader never sees a half-written site.
    """
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    serving_dir = Path(serving_dir)
    serving_dir.mkdir(parents=True, exist_ok=True)
    target = serving_dir / DATA_DOCS_DIRNAME
    staging = serving_dir / f".{DATA_DOCS_DIRNAME}.{uuid.uuid4().hex}"
    context = _ephemeral_context(data_docs_dir=staging)
    try:
        for item in results:
            result = item.result if isinstance(item, TableValidation) else item
            if result is None:
                continue
            name = result.suite_name
            if name not in {s.name for s in context.suites.all()}:
                if suite_path(name, expectations_dir).exists():
                    context.suites.add(load_suite(name, expectations_dir))
            validated_at = (result.meta or {}).get("funnel_validated_at")
            if isinstance(item, TableValidation):
                validated_at = item.validated_at
            elif validated_at:
                validated_at = dt.datetime.fromisoformat(validated_at)
            run_id = RunIdentifier(
                run_name="funnel", run_time=validated_at or dt.datetime.now(dt.UTC)
            )
            key = ValidationResultIdentifier(
                expectation_suite_identifier=ExpectationSuiteIdentifier(name=name),
                run_id=run_id,
                batch_identifier=name,
            )
            context.validation_results_store.set(key, result)
        context.build_data_docs(site_names=[DATA_DOCS_SITE])
        retired = serving_dir / f".{DATA_DOCS_DIRNAME}.old.{uuid.uuid4().hex}"
        if target.exists():
            target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target / "index.html"
