"""The Great Expectations suites: `expectations/<schema>.<table>.json`, one per table.

A suite is data (GE 1.x JSON: `name`, `expectations[{type, kwargs, meta}]`). Its `meta.slice`
names the rows a daily run validates (see `slice_condition`); table-level expectations (row
count, column set) always look at the whole table.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from great_expectations import ExpectationSuite

EXPECTATIONS_DIR = Path(__file__).resolve().parents[3] / "expectations"
ROW_COUNT_EXPECTATION = "expect_table_row_count_to_be_between"
ROW_COUNT_BOUNDS_META = "row_count_vs_previous_run"
# Expectations about the table as a whole: never evaluated on a slice.
TABLE_LEVEL_EXPECTATIONS = frozenset({ROW_COUNT_EXPECTATION, "expect_table_columns_to_match_set"})

# What `meta.slice` of a suite means: the rows the latest build changed, as a predicate on the
# table, and the tables the predicate reads (without them, e.g. before the first build, the
# whole table is validated).
SLICES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    # raw rows loaded since the last committed dbt build (validated before dbt commits)
    "pending_loads": (
        "_loaded_at > (select coalesce(max(built_until), timestamp '1900-01-01')"
        " from batch.batch_build_watermarks)",
        ("batch.batch_build_watermarks",),
    ),
    # rows of the people the latest build restated
    "people": (
        "customer_key in (select customer_key from intermediate.int_people_changed)",
        ("intermediate.int_people_changed",),
    ),
}


# Value sets of the suites (`{"$PARAMETER": name}`), resolved at check time from their one
# owner: the dbt seeds (read from the warehouse) or the landing contract.
SEED_LISTS: Mapping[str, str] = {
    "channels": "select channel from staging.channels",
    "paid_channels": "select channel from staging.channels where is_paid",
    "channels_and_all": "select channel from staging.channels union all select 'all'",
    "attribution_models": "select attribution_model from staging.attribution_models",
    "funnel_stages": "select stage from staging.funnel_stages",
    "conversion_types": "select conversion_type from staging.funnel_stages"
    " where conversion_type is not null",
    "lifecycle_states": "select state from staging.lifecycle_states",
    "customer_statuses": "select status from staging.customer_statuses",
}


def list_parameters(con) -> dict[str, list[str]]:
    """Every value-set parameter: from the seeds in the warehouse and the landing contract."""
    from pipelines.lib.landing_contract import KNOWN_CURRENCIES, ORDER_STATUSES

    existing = {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'staging'"
        ).fetchall()
    }
    parameters: dict[str, list[str]] = {
        "currencies": list(KNOWN_CURRENCIES),
        "order_statuses": list(ORDER_STATUSES),
    }
    for name, sql in SEED_LISTS.items():
        seed = sql.split(" from staging.", 1)[1].split()[0]
        if seed in existing:
            parameters[name] = [value for (value,) in con.execute(sql).fetchall()]
    return parameters


def suite_path(table: str, expectations_dir: Path | None = None) -> Path:
    """`expectations/<schema>.<table>.json`, e.g. `marts.cac_daily.json`."""
    return (expectations_dir or EXPECTATIONS_DIR) / f"{table}.json"


def suite_tables(expectations_dir: Path | None = None) -> list[str]:
    """Qualified names (`schema.table`) of every table that has a suite."""
    return sorted(p.stem for p in (expectations_dir or EXPECTATIONS_DIR).glob("*.*.json"))


def suite_document(table: str, expectations_dir: Path | None = None) -> dict[str, Any]:
    return json.loads(suite_path(table, expectations_dir).read_text())


def load_suite(table: str, expectations_dir: Path | None = None) -> ExpectationSuite:
    import great_expectations as gx

    return gx.ExpectationSuite(**suite_document(table, expectations_dir))


def split_suite(document: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The suite as (table-level expectations, row-level expectations), both GE documents."""
    expectations = document.get("expectations", [])
    table_level = [e for e in expectations if e["type"] in TABLE_LEVEL_EXPECTATIONS]
    row_level = [e for e in expectations if e["type"] not in TABLE_LEVEL_EXPECTATIONS]
    return {**document, "expectations": table_level}, {**document, "expectations": row_level}


def slice_condition(document: Mapping[str, Any], existing_tables: set[str]) -> str | None:
    """The predicate selecting the rows a daily run validates, or None for the whole table."""
    name = (document.get("meta") or {}).get("slice")
    if not name:
        return None
    if name not in SLICES:
        raise ValueError(f"suite {document.get('name')}: unknown meta.slice {name!r}")
    condition, needs = SLICES[name]
    return condition if all(t in existing_tables for t in needs) else None


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
