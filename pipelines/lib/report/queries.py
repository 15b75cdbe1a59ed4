"""The report's reads from the published marts: selects, filters, joins and ordering only.

Every number and every list the report shows is a row of a mart (dbt computes them; see
`marts.report_headline` for the headline figures and the seeds' display lists). Nothing here
sums, counts, averages or divides: a query picks rows and columns, and orders them by the
seeds' display order (carried by `report_headline`).

The serving file keeps the marts in its default schema (`main`; DuckDB names the database
`marts` after the file), the warehouse in schema `marts`: `use_marts_schema` makes whichever
holds the marts the default, so queries name tables bare.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

HEADLINE = "report_headline"
# Day grain of retention_recurring: the heatmap shows the cohorts of the latest 90 days (the
# mart's day offsets stop at 90 too), so the page stays small on years of data.
RETENTION_DAY_COHORT_DAYS = 90
# Display order of the marts' period grains (their contract's accepted values); a grain the
# marts add later sorts after these.
GRAIN_ORDER = ("day", "week", "month")


@dataclass(frozen=True)
class Figure:
    item: str
    label: str
    description: str
    unit: str  # count, money, ratio or share
    value: float | None


@dataclass(frozen=True)
class Channel:
    channel: str
    label: str
    colour: str | None
    is_paid: bool | None
    cac_30d_reliable_from: date | None


@dataclass
class Headline:
    """`marts.report_headline`: figures and display lists, in the seeds' display order."""

    as_of: date | None = None
    figures: list[Figure] = field(default_factory=list)
    channels: dict[str, Channel] = field(default_factory=dict)  # `all` first
    stages: list[str] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)  # attribution model -> label
    lifecycle_states: dict[str, tuple[str, str | None]] = field(default_factory=dict)

    def figure(self, item: str) -> Figure | None:
        return next((f for f in self.figures if f.item == item), None)


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def use_marts_schema(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Make the schema holding the marts the default; return its tables that hold rows
    (missing and empty tables read the same)."""
    found = con.execute(
        """
        select table_schema, list(table_name order by table_name)
        from information_schema.tables
        where table_catalog = current_database() and table_schema in ('marts', 'main')
        group by table_schema
        order by table_schema = 'marts' desc
        """
    ).fetchall()
    if not found:
        return set()
    # the warehouse's `marts` schema when it exists, else the serving file's `main`
    schema, tables = found[0]
    catalog = con.execute("select current_database()").fetchone()[0]
    con.execute(f"use {quote_identifier(catalog)}.{quote_identifier(schema)}")
    return {
        table
        for table in tables
        if con.execute(f"select 1 from {quote_identifier(table)} limit 1").fetchone()
    }


def headline(con: duckdb.DuckDBPyConnection, present: set[str]) -> Headline:
    result = Headline()
    if HEADLINE not in present:
        return result
    rows = con.execute(
        f"""
        select item_kind, item, display_label, description, unit, figure_value, colour,
               is_paid, cac_30d_reliable_from, as_of_date
        from {HEADLINE}
        order by item_kind, display_order, item
        """
    ).fetchall()
    for kind, item, label, description, unit, value, colour, is_paid, reliable, as_of in rows:
        result.as_of = as_of
        if kind == "figure":
            value = None if value is None else float(value)
            result.figures.append(Figure(item, label, description or "", unit or "", value))
        elif kind == "channel":
            result.channels[item] = Channel(item, label, colour, is_paid, reliable)
        elif kind == "stage":
            result.stages.append(item)
        elif kind == "attribution_model":
            result.models[item] = label
        elif kind == "lifecycle_state":
            result.lifecycle_states[item] = (label, colour)
    return result


def headline_figures(marts_db_path: Path) -> tuple[date | None, list[Figure]]:
    """The as-of date and headline figures of a marts file (for the CLI summary)."""
    with duckdb.connect(str(marts_db_path), read_only=True) as con:
        found = headline(con, use_marts_schema(con))
    return found.as_of, found.figures


# Joins to report_headline order rows by the seeds' display order.
_CHANNEL_ORDER = f"""
    left join {HEADLINE} as channel_item
        on channel_item.item_kind = 'channel' and channel_item.item = {{column}}
"""


def _channel_join(column: str) -> str:
    return _CHANNEL_ORDER.format(column=column)


def cac_series(con: duckdb.DuckDBPyConnection, present: set[str]) -> list[tuple]:
    """(attribution_model, channel, date, cac_30d) of the paid channels and `all`, from each
    channel's `cac_30d_reliable_from` on (earlier windows hold too few new customers)."""
    if not {"cac_daily", HEADLINE} <= present:
        return []
    return con.execute(
        f"""
        select cac.attribution_model, cac.channel, cac.date, cac.cac_30d
        from cac_daily as cac
        {_channel_join("cac.channel")}
        left join {HEADLINE} as model_item
            on model_item.item_kind = 'attribution_model'
            and model_item.item = cac.attribution_model
        where (channel_item.is_paid or cac.channel = 'all')
          and cac.date >= channel_item.cac_30d_reliable_from
        order by model_item.display_order, cac.attribution_model,
                 channel_item.display_order, cac.channel, cac.date
        """
    ).fetchall()


def funnel_summary(con: duckdb.DuckDBPyConnection, present: set[str]) -> list[tuple]:
    """funnel_summary rows: (period_grain, period_start, channel, stage, entered,
    converted_to_next, conversion_rate, median_hours_to_next, p90_hours_to_next,
    overall_conversion_to_purchase, is_window_complete)."""
    if "funnel_summary" not in present:
        return []
    return con.execute(
        f"""
        select summary.period_grain, summary.period_start, summary.channel, summary.stage,
               summary.entered, summary.converted_to_next, summary.conversion_rate,
               summary.median_hours_to_next, summary.p90_hours_to_next,
               summary.overall_conversion_to_purchase, summary.is_window_complete
        from funnel_summary as summary
        {_channel_join("summary.channel")}
        order by summary.period_grain, summary.period_start,
                 channel_item.display_order, summary.channel, summary.stage_order
        """
    ).fetchall()


def retention_recurring(con: duckdb.DuckDBPyConnection, present: set[str]) -> list[tuple]:
    """retention_recurring rows: (period_grain, period_start, channel, periods_since,
    retention_rate, active_customers, retained_customers, is_period_complete); day cohorts
    of the latest RETENTION_DAY_COHORT_DAYS days only."""
    if "retention_recurring" not in present:
        return []
    return con.execute(
        f"""
        select retention.period_grain, retention.period_start, retention.channel,
               retention.periods_since, retention.retention_rate,
               retention.active_customers, retention.retained_customers,
               retention.is_period_complete
        from retention_recurring as retention
        {_channel_join("retention.channel")}
        where retention.period_grain <> 'day'
           or retention.period_start > (
               select as_of_date from {HEADLINE} where item_kind = 'figure' limit 1
           ) - {RETENTION_DAY_COHORT_DAYS}
        order by retention.period_grain, channel_item.display_order, retention.channel,
                 retention.period_start, retention.periods_since
        """
    ).fetchall()


def cohort_rows(con: duckdb.DuckDBPyConnection, present: set[str], column: str) -> list[tuple]:
    """(cohort 'YYYY-MM', months_since_first_purchase, <column>, cohort_customers) of the
    `all` cohorts of ltv_cohorts."""
    if "ltv_cohorts" not in present:
        return []
    return con.execute(
        f"""
        select strftime(cohort_month, '%Y-%m'), months_since_first_purchase,
               {quote_identifier(column)}, cohort_customers
        from ltv_cohorts
        where channel = 'all'
        order by cohort_month, months_since_first_purchase
        """
    ).fetchall()


def unit_economics(con: duckdb.DuckDBPyConnection, present: set[str]) -> list[tuple]:
    """(cohort_month, channel, ltv_to_cac, is_ltv_12m_complete, ltv_months_observed, ltv_12m,
    cac, new_customers, payback_months) of the paid channels and `all`, where a ratio
    exists."""
    if not {"unit_economics_monthly", HEADLINE} <= present:
        return []
    return con.execute(
        f"""
        select economics.cohort_month, economics.channel, economics.ltv_to_cac,
               economics.is_ltv_12m_complete, economics.ltv_months_observed,
               economics.ltv_12m, economics.cac, economics.new_customers,
               economics.payback_months
        from unit_economics_monthly as economics
        {_channel_join("economics.channel")}
        where economics.ltv_to_cac is not null and isfinite(economics.ltv_to_cac)
          and (channel_item.is_paid or economics.channel = 'all')
        order by channel_item.display_order, economics.channel, economics.cohort_month
        """
    ).fetchall()


def lifecycle(con: duckdb.DuckDBPyConnection, present: set[str]) -> list[tuple]:
    """(month, state, customers) of lifecycle_monthly, states in the seed's order."""
    if "lifecycle_monthly" not in present:
        return []
    return con.execute(
        f"""
        select lifecycle.month, lifecycle.state, lifecycle.customers
        from lifecycle_monthly as lifecycle
        left join {HEADLINE} as state_item
            on state_item.item_kind = 'lifecycle_state' and state_item.item = lifecycle.state
        order by state_item.display_order, lifecycle.state, lifecycle.month
        """
    ).fetchall()
