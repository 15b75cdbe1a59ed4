"""Per-customer RFM summaries built inside DuckDB, and the write-back of predictions.

Only the aggregated summary (one row per customer, a few numbers) leaves DuckDB; the order
fact never does.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd

ORDERS_TABLE = "core.fct_orders"
CUSTOMERS_TABLE = "marts.customers"

# Frequency counts repeat purchase *days*: several purchases on one day are one occasion,
# as in Fader & Hardie's CDNOW data. Spend per occasion is that day's net revenue (refunds
# already deducted in fct_orders), so the first-day total is left out of the repeat mean.
_SUMMARY_SQL = """
create or replace temp table {summary_table} as
with purchase_days as (
    select
        customer_key,
        order_date,
        sum(coalesce(net_revenue, 0)) as day_net_revenue
    from {orders_table}
    where is_purchase and customer_key is not null and order_date <= $cutoff
    group by customer_key, order_date
),

summary as (
    select
        customer_key,
        count(*) - 1 as frequency,
        date_diff('day', min(order_date), max(order_date)) / 7.0 as recency_weeks,
        date_diff('day', min(order_date), $cutoff) / 7.0 as age_weeks,
        coalesce(
            (sum(day_net_revenue) - arg_min(day_net_revenue, order_date))
            / nullif(count(*) - 1, 0),
            0
        ) as mean_repeat_net_spend
    from purchase_days
    group by customer_key
),

holdout as (
    select
        customer_key,
        count(distinct order_date) as holdout_purchase_days,
        sum(coalesce(net_revenue, 0)) as holdout_net_revenue
    from {orders_table}
    where is_purchase and order_date > $cutoff and order_date <= $holdout_end
    group by customer_key
)

select
    row_number() over (order by summary.customer_key) as customer_id,
    summary.*,
    coalesce(holdout.holdout_purchase_days, 0) as holdout_purchase_days,
    coalesce(holdout.holdout_net_revenue, 0) as holdout_net_revenue
from summary
left join holdout using (customer_key)
"""


def _one_row(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> tuple:
    # fetchall, not fetchone: DuckDB 2 refuses register() while a result is left unfinished.
    rows = con.execute(sql, params).fetchall() if params else con.execute(sql).fetchall()
    return rows[0] if rows else (None,)


def resolve_as_of_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The date the predictions are made at.

    The dbt project's `int_as_of_date` model (column `as_of_date`: the latest landed day)
    when the warehouse has it, so predictions agree with the marts' status columns;
    otherwise the latest order_date in core.fct_orders. None when there are no orders.
    """
    (schema,) = _one_row(
        con,
        """
        select table_schema from information_schema.columns
        where table_catalog = current_database()
            and table_name = 'int_as_of_date' and column_name = 'as_of_date'
        order by table_schema
        limit 1
        """,
    )
    if schema is not None:
        (value,) = _one_row(con, f'select max(as_of_date) from "{schema}".int_as_of_date')
        if value is not None:
            return _as_date(value)
    (value,) = _one_row(con, f"select max(order_date) from {ORDERS_TABLE}")
    return None if value is None else _as_date(value)


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def first_purchase_date(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    (value,) = _one_row(con, f"select min(order_date) from {ORDERS_TABLE} where is_purchase")
    return None if value is None else _as_date(value)


def create_rfm_summary(
    con: duckdb.DuckDBPyConnection,
    summary_table: str,
    cutoff: dt.date,
    holdout_end: dt.date | None = None,
    orders_table: str = ORDERS_TABLE,
) -> int:
    """Create TEMP table `summary_table` with one row per customer who purchased by `cutoff`.

    Columns: customer_id (1..n, by customer_key), customer_key, frequency (repeat purchase
    days), recency_weeks (first to last purchase day), age_weeks (first purchase day to
    cutoff), mean_repeat_net_spend (0 without repeat purchases), and, when `holdout_end` is
    given, holdout_purchase_days / holdout_net_revenue in (cutoff, holdout_end]. Returns the
    number of customers.
    """
    con.execute(
        _SUMMARY_SQL.format(summary_table=summary_table, orders_table=orders_table),
        {"cutoff": cutoff, "holdout_end": holdout_end or cutoff},
    )
    return int(_one_row(con, f"select count(*) from {summary_table}")[0])


def fetch_summary_arrays(
    con: duckdb.DuckDBPyConnection, summary_table: str, with_holdout: bool = False
) -> dict[str, np.ndarray]:
    """The numeric summary columns as numpy arrays, ordered by customer_id."""
    columns = ["frequency", "recency_weeks", "age_weeks", "mean_repeat_net_spend"]
    if with_holdout:
        columns += ["holdout_purchase_days", "holdout_net_revenue"]
    casts = ", ".join(f"{name}::double as {name}" for name in columns)
    fetched = con.execute(f"select {casts} from {summary_table} order by customer_id").fetchnumpy()
    return {name: np.asarray(fetched[name], dtype=np.float64) for name in columns}


def write_predictions(
    con: duckdb.DuckDBPyConnection,
    summary_table: str,
    p_alive: np.ndarray,
    predicted_ltv_12m: np.ndarray,
    customers_table: str = CUSTOMERS_TABLE,
) -> dict[str, int]:
    """Set p_alive and predicted_ltv_12m on every customers row in one transaction.

    Arrays are indexed by customer_id - 1 of `summary_table`. NaN/inf become NULL, and so do
    the predictions of customers absent from the summary (none when the mart and the order
    fact agree), so a rerun never leaves stale values behind.
    """
    predictions = pd.DataFrame(
        {
            "customer_id": np.arange(1, len(p_alive) + 1, dtype=np.int64),
            "p_alive": np.where(np.isfinite(p_alive), p_alive, np.nan),
            "predicted_ltv_12m": np.where(
                np.isfinite(predicted_ltv_12m), predicted_ltv_12m, np.nan
            ),
        }
    )
    con.register("clv_predictions", predictions)
    try:
        con.execute("begin transaction")
        try:
            # Two statements on the one key join each: ~2x faster than one UPDATE over a
            # customers-left-join-summary subquery at a million customers.
            con.execute(
                f"""
                update {customers_table} as target
                set p_alive = source.p_alive, predicted_ltv_12m = source.predicted_ltv_12m
                from (
                    select summary.customer_key, predictions.p_alive, predictions.predicted_ltv_12m
                    from {summary_table} as summary
                    inner join clv_predictions as predictions using (customer_id)
                ) as source
                where target.customer_key = source.customer_key
                """
            )
            con.execute(
                f"""
                update {customers_table} set p_alive = null, predicted_ltv_12m = null
                where customer_key not in (select customer_key from {summary_table})
                """
            )
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    finally:
        con.unregister("clv_predictions")
    counts = _one_row(
        con,
        f"""
        select
            count(*) as customers_rows,
            count(predicted_ltv_12m) as customers_predicted,
            count(*) filter (where customer_key not in (select customer_key from {summary_table}))
                as customers_without_orders
        from {customers_table}
        """,
    )
    return {
        "customers_rows": int(counts[0]),
        "customers_predicted": int(counts[1]),
        "customers_without_orders": int(counts[2]),
    }
