"""Validation results flattened for people: one outcome per expectation, one per table."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.lib.validation.suites import ROW_COUNT_EXPECTATION

if TYPE_CHECKING:
    from great_expectations.core import ExpectationSuiteValidationResult


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
    # The rows the row-level expectations saw: None for the whole table, else the predicate.
    slice_condition: str | None = None

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
    slice_condition: str | None = None,
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
        slice_condition=slice_condition,
    )


def summary_markdown(validation: TableValidation, with_samples: bool = True) -> str:
    """A markdown table of the failing expectations (or a one-line all-clear).

    Without samples (for Dagster's event log, which erasure cannot reach) it names each
    failed expectation with its unexpected count, never a value from the table."""
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
        if o.error:
            observed = _short(o.error, 300) if with_samples else "the check raised an error"
        else:
            observed = o.observed if with_samples else ""

        lines.append(
            f"| `{o.expectation}` ({o.severity}) | {cell(o.target)} | {count} | "
            f"{cell(observed)} | {cell(o.description)} |"
        )
    return "\n".join(lines)
