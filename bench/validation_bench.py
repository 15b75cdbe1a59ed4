"""Validation cost: every GE suite (inside DuckDB) versus the same checks as plain DuckDB SQL.

    .venv/bin/python bench/validation_bench.py            # 1 and 10 million rows
    .venv/bin/python bench/validation_bench.py --rows 1000000

For each scale N it writes a synthetic warehouse whose tables pass their suites (N rows in each
large table: raw contacts, lifecycle events, touchpoints, orders; core funnel stages, orders,
attribution credits; smaller tables in proportion), then times:

- GE: `pipelines.lib.validation.validate_tables` over all suites (GE's SQL execution engine,
  read-only, one GE context), after GE is imported;
- SQL: the same expectations written by hand as DuckDB SQL (one aggregate query per table for
  the column checks, one count per custom-SQL check), the lower bound for the same answers.

Prints a table per scale and the ratio GE / SQL (goal: at most 2). Not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.lib import validation  # noqa: E402
from pipelines.lib.landing_contract import (  # noqa: E402
    CHANNELS,
    ENTITIES,
    KNOWN_CURRENCIES,
    PAID_CHANNELS,
)
from pipelines.lib.raw_schema import raw_schema_ddl, table_columns  # noqa: E402

STAGES = ["awareness", "interest", "consideration", "intent", "purchase", "loyalty"]
MODELS = ["first_touch", "last_touch", "linear", "position_based", "time_decay"]
STATES = ["new", "returning", "resurrecting", "dormant"]
STATUSES = ["active", "at_risk", "churned"]
ALL_CHANNELS = [*CHANNELS, "all"]
BIG_RAW = {"contacts", "lifecycle_events", "touchpoints", "orders"}


def _list(values) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _pick(values, index_sql: str) -> str:
    return f"{_list(values)}[({index_sql}) % {len(values)} + 1]"


KEY = "md5(p::varchar) || md5(p::varchar || 'k')"  # 64 hex characters


def _raw_sql(entity, n: int) -> str:
    allowed = {c.name: c.allowed for c in entity.columns}
    day = "(date '2024-01-01' + (i // 10000)::integer)"
    exprs = []
    for name, type_ in table_columns(entity):
        if name == "_source_file":
            value = f"'{entity.directory}/' || strftime({day}, '%Y-%m-%d') || '.csv'"
        elif name == "_source_line":
            value = "i % 10000 + 2"
        elif name == "_partition_date":
            value = day
        elif name == "customer_key":
            value = KEY.replace("p", "i")
        elif type_ == "VARCHAR":
            value = _pick(allowed[name], "i") if allowed.get(name) else f"'{name}-' || i"
        else:
            value = {
                "TIMESTAMP": "timestamp '2024-01-01' + to_seconds(i % 90000000)",
                "DATE": "date '2024-01-01' + (i % 1000)::integer",
                "BIGINT": "i % 1000",
                "DECIMAL(18,4)": "((i % 100000) / 100.0)::decimal(18,4)",
                "DOUBLE": "0.5 + (i % 100) / 100.0",
                "BOOLEAN": "i % 2 = 0",
                "MAP(VARCHAR, VARCHAR)": "map()",
            }[type_]
        exprs.append(f"{value} as {name}")
    return f"insert into raw.{entity.name} select {', '.join(exprs)} from range({n}) t(i)"


def build_warehouse(path: Path, n: int) -> dict[str, int]:
    """Tables that pass their suites, with N rows in the large ones. Returns rows per table."""
    con = duckdb.connect(str(path))
    con.execute("set preserve_insertion_order = false")
    con.execute(raw_schema_ddl())
    con.execute("create schema if not exists core; create schema if not exists marts;")
    for entity in ENTITIES:
        size = n if entity.name in BIG_RAW else max(n // 100, 10)
        con.execute(_raw_sql(entity, size))
    q, big, tenth, hundredth, thousandth = n // 4, n, n // 10, n // 100, max(n // 1000, 8)
    tables = {
        "core.fct_funnel_stage": f"""
            select {KEY} as customer_key, {_list(STAGES)}[s] as stage, s as stage_order,
                   t0 + to_hours(24 * (s - 1)) as entered_at,
                   cast(t0 + to_hours(24 * (s - 1)) as date) as entered_date,
                   false as is_skipped,
                   case when s > 1 then {_list(STAGES)}[s - 1] end as previous_stage,
                   case when s > 1 then t0 + to_hours(24 * (s - 2)) end
                       as previous_stage_entered_at,
                   case when s > 1 then 24.0 end as hours_in_previous_stage,
                   {_pick(CHANNELS, "p")} as acquisition_channel
            from (select i // 3 as p, i % 3 + 1 as s,
                         timestamp '2024-01-01' + to_seconds(i // 3 % 90000000) as t0
                  from range({big}) t(i))""",
        "core.fct_orders": f"""
            select 'o' || i as order_id, {KEY} as customer_key, ts as ordered_at,
                   cast(ts as date) as order_date, status, status <> 'cancelled' as is_purchase,
                   {_pick(KNOWN_CURRENCIES, "i")} as currency, amount,
                   amount * 1.1 as amount_reporting,
                   case when status = 'refunded' then amount * 1.1 else 0.0 end
                       as refunded_amount_reporting,
                   case when status = 'paid' then amount * 1.1 else 0.0 end as net_revenue,
                   case when status <> 'cancelled' then (i % 4 + 1)::integer end
                       as purchase_number,
                   i % 4 = 0 as is_first_purchase
            from (select i, i // 4 as p, {_list(["paid", "paid", "refunded", "cancelled"])}
                             [i % 4 + 1] as status,
                         (i % 1000) / 10.0 as amount,
                         timestamp '2024-01-01' + to_seconds(i % 90000000) as ts
                  from range({big}) t(i))""",
        "core.fct_ad_spend_daily": f"""
            select date '2024-01-01' + (i // 300)::integer as spend_date,
                   {_pick(PAID_CHANNELS, "i")} as channel, 'c' || (i % 300 // 3) as campaign_id,
                   'campaign' as campaign_name, i % 1000 as impressions, i % 50 as clicks,
                   (i % 500) / 10.0 as spend, 'USD' as currency,
                   (i % 500) / 10.0 as spend_reporting
            from range({hundredth}) t(i)""",
        "core.fct_attribution_credits": f"""
            select {KEY} as customer_key, {_list(["lead", "customer"])}[g % 2 + 1]
                       as conversion_type,
                   timestamp '2024-01-01' + to_seconds(g % 90000000) as conversion_at,
                   cast(timestamp '2024-01-01' + to_seconds(g % 90000000) as date)
                       as conversion_date,
                   {_list(MODELS)}[r // 2 + 1] as attribution_model, r % 2 + 1 as touch_index,
                   {_pick(CHANNELS, "r % 2 + p")} as channel,
                   [1.0, 0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.75][r + 1] as credit
            from (select i // 10 as g, i // 20 as p, i % 10 as r from range({big}) t(i))""",
        "core.dim_customers": f"""
            select {KEY} as customer_key, cast(date_trunc('month', d) as date) as cohort_month,
                   {_pick(CHANNELS, "p")} as acquisition_channel, d as first_purchase_date,
                   d + (p % 30)::integer as last_purchase_date, 1 + p % 3 as purchases,
                   (p % 1000) / 10.0 as net_revenue, {_pick(STATUSES, "p")} as status,
                   p % 2 = 0 as marketing_consent, p % 3 = 0 as is_crm_contact
            from (select i as p, date '2024-01-01' + (i % 1000)::integer as d
                  from range({q}) t(i))""",
        "core.fct_customer_lifecycle_monthly": f"""
            select {KEY} as customer_key,
                   cast(date '2024-01-01' + to_months(i % 2) as date) as month,
                   {_list(["new", "returning"])}[i % 2 + 1] as state
            from (select i, i // 2 as p from range({n // 2}) t(i))""",
        "marts.funnel_daily": f"""
            select date '2000-01-01' + (i // 42)::integer as date,
                   {_list(CHANNELS)}[i % 42 // 6 + 1] as channel, {_list(STAGES)}[i % 6 + 1]
                       as stage,
                   10 + i % 5 as entered,
                   case when i % 6 < 5 then (10 + i % 5) // 2 end as converted_to_next,
                   case when i % 6 < 5 then ((10 + i % 5) // 2) / (10 + i % 5) end
                       as conversion_rate,
                   24.0 as median_hours_to_next, i % 2 = 0 as is_window_complete,
                   case when i % 6 = 1 then 1.5 end as median_days_to_purchase,
                   case when i % 6 = 1 then 3.0 end as p90_days_to_purchase
            from range({hundredth}) t(i)""",
        "marts.cac_daily": f"""
            select date '2000-01-01' + (i // 40)::integer as date, {_list(ALL_CHANNELS)}[c + 1]
                       as channel, {_list(MODELS)}[i % 40 // 8 + 1] as attribution_model,
                   spend, leads as new_leads, customers as new_customers,
                   spend / leads as cpl, spend / customers as cac, spend / customers as cac_7d,
                   spend / customers as cac_30d
            from (select i, i % 8 as c,
                         case when i % 8 < 3 then 10.0 + i % 8 when i % 8 = 7 then 33.0
                              else 0.0 end as spend,
                         case when i % 8 = 7 then 7.0 else 1.0 end as leads,
                         case when i % 8 = 7 then 3.5 else 0.5 end as customers
                  from range({tenth // 40 * 40}) t(i))""",
        "marts.ltv_cohorts": f"""
            select cast(date '2000-01-01' + to_months(g // 8) as date) as cohort_month,
                   {_list(ALL_CHANNELS)}[g % 8 + 1] as channel, k as months_since_first_purchase,
                   100 as cohort_customers, 100 - 5 * k as active_customers,
                   (100 - 5 * k) / 100.0 as retention_rate,
                   1000.0 * (k + 1) as cumulative_net_revenue, 10.0 * (k + 1) as ltv_per_customer
            from (select i // 13 as g, i % 13 as k from range({hundredth}) t(i))""",
        "marts.lifecycle_monthly": f"""
            select cast(date '2000-01-01' + to_months(i // 4) as date) as month,
                   {_list(STATES)}[i % 4 + 1] as state, i % 100 as customers
            from range({thousandth}) t(i)""",
        "marts.unit_economics_monthly": f"""
            select cast(date '2000-01-01' + to_months(i // 8) as date) as cohort_month,
                   {_list(ALL_CHANNELS)}[i % 8 + 1] as channel, spend, 10 as new_customers,
                   spend / 10 as cac, 50.0 as ltv_12m, 12 as ltv_months_observed,
                   true as is_ltv_12m_complete,
                   case when spend > 0 then 50.0 / (spend / 10) end as ltv_to_cac,
                   3 as payback_months
            from (select i, case when i % 8 < 3 or i % 8 = 7 then 100.0 else 0.0 end as spend
                  from range({thousandth}) t(i))""",
        "marts.customers": f"""
            select {KEY} as customer_key, cast(date_trunc('month', d) as date) as cohort_month,
                   {_pick(CHANNELS, "p")} as acquisition_channel, d as first_purchase_date,
                   d + (p % 30)::integer as last_purchase_date, 1 + p % 3 as purchases,
                   (p % 1000) / 10.0 as net_revenue, {_pick(STATUSES, "p")} as status,
                   p % 2 = 0 as marketing_consent, 0.5 as p_alive, 10.0 as predicted_ltv_12m
            from (select i as p, date '2024-01-01' + (i % 1000)::integer as d
                  from range({q}) t(i))""",
    }
    for table, select in tables.items():
        con.execute(f"create table {table} as {select}")
    counts = {
        t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in validation.suite_tables()
    }
    con.close()
    return counts


# ------------------------------------------------------------------------------- plain SQL


def _condition(kind: str, kw: dict) -> str:
    """The unexpected-row condition of a column expectation, as GE defines it (nulls skipped)."""
    col = f'"{kw["column"]}"'
    if kind == "expect_column_values_to_not_be_null":
        return f"{col} is null"
    if kind == "expect_column_values_to_be_in_set":
        values = ", ".join("'" + str(v).replace("'", "''") + "'" for v in kw["value_set"])
        return f"{col} is not null and {col} not in ({values})"
    if kind == "expect_column_values_to_be_between":
        bounds = []
        if kw.get("min_value") is not None:
            bounds.append(f"{col} {'>' if kw.get('strict_min') else '>='} {kw['min_value']}")
        if kw.get("max_value") is not None:
            bounds.append(f"{col} {'<' if kw.get('strict_max') else '<='} {kw['max_value']}")
        condition = f"{col} is not null and not ({' and '.join(bounds)})"
        rc = kw.get("row_condition")
        if rc:
            op = "=" if rc["operator"] == "==" else rc["operator"]
            condition += f' and "{rc["column"]["name"]}" {op} {rc["parameter"]}'
        return condition
    raise ValueError(kind)


def plain_sql_checks(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, int]:
    """The suite's checks as hand-written DuckDB SQL: unexpected count per expectation."""
    suite = json.loads(validation.suite_path(table).read_text())
    schema, name = table.split(".")
    aggregates, results = ["count(*)"], {}
    labels = []
    for index, e in enumerate(suite["expectations"]):
        kind, kw = e["type"], e["kwargs"]
        label = f"{index}:{kind}"
        if kind.startswith("expect_column_values_to_be_unique"):
            aggregates.append(f'count("{kw["column"]}") - count(distinct "{kw["column"]}")')
            labels.append(label)
        elif kind.startswith("expect_column_values"):
            aggregates.append(f"count(*) filter (where {_condition(kind, kw)})")
            labels.append(label)
        elif kind == "unexpected_rows_expectation":
            query = kw["unexpected_rows_query"].replace("{batch}", f"{schema}.{name}")
            results[label] = con.execute(f"select count(*) from ({query})").fetchone()[0]
        elif kind == "expect_table_columns_to_match_set":
            actual = {
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ?",
                    [schema, name],
                ).fetchall()
            }
            results[label] = len(
                set(kw["column_set"]) ^ actual
                if kw["exact_match"]
                else set(kw["column_set"]) - actual
            )
    row = con.execute(f"select {', '.join(aggregates)} from {schema}.{name}").fetchone()
    results["row_count"] = row[0]
    results.update(zip(labels, row[1:], strict=True))
    return results


# ------------------------------------------------------------------------------- timing


def run_scale(workdir: Path, n: int) -> None:
    path = workdir / f"bench_{n}.duckdb"
    path.unlink(missing_ok=True)
    started = time.perf_counter()
    counts = build_warehouse(path, n)
    print(
        f"\n== N = {n:,} rows per large table: {sum(counts.values()):,} rows in "
        f"{len(counts)} tables (built in {time.perf_counter() - started:.1f} s, "
        f"{path.stat().st_size / 1e9:.2f} GB)"
    )
    tables = validation.suite_tables()

    con = duckdb.connect(str(path), read_only=True)
    for table in tables:  # warm the OS page cache for both contenders
        plain_sql_checks(con, table)
    sql_seconds, sql_failures = {}, {}
    for table in tables:
        t0 = time.perf_counter()
        unexpected = plain_sql_checks(con, table)
        sql_seconds[table] = time.perf_counter() - t0
        sql_failures[table] = sum(v for k, v in unexpected.items() if k != "row_count")
    con.close()

    t0 = time.perf_counter()
    results = validation.validate_tables(path, tables)
    ge_total = time.perf_counter() - t0

    print(f"{'table':40s} {'rows':>12s} {'GE s':>8s} {'SQL s':>8s} {'GE/SQL':>7s}  ok")
    for table in tables:
        r = results[table]
        ratio = r.seconds / sql_seconds[table] if sql_seconds[table] else float("nan")
        ok = "yes" if r.success and sql_failures[table] == 0 else f"NO {r.failures}"
        print(
            f"{table:40s} {counts[table]:12,d} {r.seconds:8.2f} {sql_seconds[table]:8.2f} "
            f"{ratio:7.1f}  {ok}"
        )
    sql_total = sum(sql_seconds.values())
    expectations = sum(len(r.outcomes) for r in results.values())
    print(
        f"{'all suites':40s} {sum(counts.values()):12,d} {ge_total:8.2f} {sql_total:8.2f} "
        f"{ge_total / sql_total:7.1f}  ({expectations} expectations)"
    )
    path.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="validation_bench_"))
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    import great_expectations  # noqa: F401  # imported once, outside the timings

    print(f"import great_expectations: {time.perf_counter() - t0:.1f} s (once per process)")
    try:
        for n in args.rows:
            run_scale(workdir, n)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
