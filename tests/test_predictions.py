"""The predictions as the dbt project builds them (models/predict/): the RFM summaries in SQL,
the fits and predictions as dbt Python models, the holdout evaluation, and the Dagster check
that reads it. Each warehouse holds only hand-made (or CDNOW) core.fct_orders rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.defs.predict.checks import holdout_result
from tests.dbt_models import build_predictions
from tests.test_clv_models import (
    CDNOW_CALIBRATION_END,
    PUBLISHED_BGNBD,
    PUBLISHED_GAMMA_GAMMA,
    _assert_two_decimals,
    _load_cdnow_orders,
)

HAND_MADE_ORDERS = """
create schema if not exists core;
create table core.fct_orders as select * from (values
    -- ann: two orders on her first day, a repeat day with a partial refund already
    -- deducted, a cancelled order and a later purchase
    ('a1', 'ann', date '2026-01-01', true, 10.0),
    ('a2', 'ann', date '2026-01-01', true, 5.0),
    ('a3', 'ann', date '2026-01-15', true, 15.0),
    ('a4', 'ann', date '2026-01-15', true, 5.0),
    ('a5', 'ann', date '2026-01-22', false, 0.0),
    ('a6', 'ann', date '2026-02-20', true, 99.0),
    -- bob: one repeat purchase, refunded in full
    ('b1', 'bob', date '2026-01-08', true, 30.0),
    ('b2', 'bob', date '2026-01-29', true, 0.0),
    -- cat: a single purchase
    ('c1', 'cat', date '2026-01-29', true, 12.0)
) as t(order_id, customer_key, order_date, is_purchase, net_revenue)
"""


def _warehouse(tmp_path: Path, orders_sql: str, as_of: str) -> Path:
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(orders_sql)
    build_predictions(warehouse, tmp_path, as_of)
    return warehouse


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    # Not read-only: in-process dbt may still hold the file open read-write.
    with duckdb.connect(str(warehouse)) as con:
        return con.execute(sql).fetchall()


@pytest.mark.slow
def test_rfm_summaries_count_purchase_days_and_hold_out_the_last_third(tmp_path):
    warehouse = _warehouse(tmp_path, HAND_MADE_ORDERS, "2026-03-01")
    # As of 03-01 (orders after it would not count; all are before): ann's purchase days
    # 01-01 (15), 01-15 (20), 02-20 (99): 2 repeats, recency 50 days, age 59 days, mean
    # repeat spend (20 + 99) / 2. bob: 01-08 and 01-29 (0): 1 repeat over 21 days, age 52.
    # cat: one day, 01-29: age 31 days.
    summary = _rows(
        warehouse,
        "select customer_key, frequency, recency_weeks * 7, age_weeks * 7,"
        " mean_repeat_net_spend from predict.customer_rfm_summary order by 1",
    )
    assert summary == [
        ("ann", 2, 50.0, 59.0, 59.5),
        ("bob", 1, 21.0, 52.0, 0.0),
        ("cat", 0, 0.0, 31.0, 0.0),
    ]
    # The holdout: min(26 weeks, a third of the 59 days since the first purchase) = 19 days,
    # so the calibration ends 02-10. ann by then: days 01-01, 01-15 (1 repeat, recency 14,
    # age 40, mean repeat 20); in the holdout: 02-20 (1 day, 99). bob: recency 21, age 33.
    # cat: age 12.
    calibration = _rows(
        warehouse,
        "select customer_key, frequency, recency_weeks * 7, age_weeks * 7,"
        " mean_repeat_net_spend, holdout_purchase_days, holdout_net_revenue,"
        " calibration_end, holdout_days from predict.customer_rfm_calibration order by 1",
    )
    end = dt.date(2026, 2, 10)
    assert calibration == [
        ("ann", 1, 14.0, 40.0, 20.0, 1, 99.0, end, 19),
        ("bob", 1, 21.0, 33.0, 0.0, 0, 0.0, end, 19),
        ("cat", 0, 0.0, 12.0, 0.0, 0, 0.0, end, 19),
    ]


@pytest.mark.slow
def test_cdnow_fits_predictions_and_holdout(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        _load_cdnow_orders(con)
        # The first 39 weeks only, so the fit sees what Fader, Hardie & Lee fitted.
        con.execute(
            f"delete from core.fct_orders where order_date > date '{CDNOW_CALIBRATION_END}'"
        )
    build_predictions(warehouse, tmp_path, CDNOW_CALIBRATION_END.isoformat())
    fits = {
        row[0]: row[1:]
        for row in _rows(
            warehouse,
            "select model, converged, r, alpha, a, b, p, q, v, customers"
            " from predict.customer_prediction_fits",
        )
    }
    converged, r, alpha, a, b, *_, customers = fits["bgnbd"]
    assert converged and customers == 2357
    _assert_two_decimals({"r": r, "alpha": alpha, "a": a, "b": b}, PUBLISHED_BGNBD)
    converged, *_, p, q, v, customers = fits["gamma_gamma"]
    assert converged and customers == 946
    _assert_two_decimals({"p": p, "q": q, "v": v}, PUBLISHED_GAMMA_GAMMA)
    counts = _rows(
        warehouse,
        """
        select count(*), count(*) filter (where p_alive between 0 and 1),
               count(*) filter (where predicted_ltv_12m >= 0)
        from predict.customer_predictions
        """,
    )
    assert counts == [(2357, 2357, 2357)]


@pytest.mark.slow
def test_cdnow_holdout_is_evaluated_within_twenty_percent(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        _load_cdnow_orders(con)
    build_predictions(warehouse, tmp_path, "1998-06-30")
    ((outcome, holdout_weeks, converged, error),) = _rows(
        warehouse,
        "select outcome, holdout_weeks, converged, aggregate_error"
        " from predict.customer_prediction_holdout",
    )
    # 1997-01-01 .. 1998-06-30 is 545 days: the holdout is min(182, 545 // 3 = 181) days.
    assert (outcome, converged) == ("evaluated", True)
    assert holdout_weeks == pytest.approx(181 / 7)
    # BG/NBD tracks CDNOW's holdout closely (FHL 2005, Fig. 2): within 20% in aggregate.
    assert abs(error) < 0.2


@pytest.mark.slow
def test_one_time_buyers_give_null_predictions_and_a_skipped_holdout(tmp_path):
    orders = """
        create schema core;
        create table core.fct_orders as
        select 'o' || i as order_id, 'c' || i as customer_key,
               date '2026-01-01' + (i % 90)::int as order_date, true as is_purchase,
               10.0 as net_revenue
        from range(300) as t(i)
    """
    warehouse = _warehouse(tmp_path, orders, "2026-04-01")
    assert _rows(
        warehouse, "select converged from predict.customer_prediction_fits where model = 'bgnbd'"
    ) == [(False,)]
    assert _rows(
        warehouse,
        "select count(*), count(p_alive), count(predicted_ltv_12m)"
        " from predict.customer_predictions",
    ) == [(300, 0, 0)]
    ((outcome, reason),) = _rows(
        warehouse, "select outcome, reason from predict.customer_prediction_holdout"
    )
    assert outcome == "skipped" and "did not converge" in reason


@pytest.mark.slow
def test_no_orders_yet_gives_no_predictions_and_a_skipped_holdout(tmp_path):
    orders = (
        "create schema core; create table core.fct_orders (order_id varchar,"
        " customer_key varchar, order_date date, is_purchase boolean, net_revenue double)"
    )
    warehouse = _warehouse(tmp_path, orders, "2026-04-01")
    assert _rows(warehouse, "select count(*) from predict.customer_predictions") == [(0,)]
    ((outcome, reason),) = _rows(
        warehouse, "select outcome, reason from predict.customer_prediction_holdout"
    )
    assert outcome == "skipped" and "too short" in reason


@pytest.mark.unit
def test_the_holdout_check_passes_warns_and_skips_with_reasons():
    within = holdout_result({"outcome": "evaluated", "aggregate_error": -0.12})
    assert within.passed and "-12.0%" in within.description
    beyond = holdout_result({"outcome": "evaluated", "aggregate_error": 0.35})
    assert not beyond.passed and beyond.severity == dg.AssetCheckSeverity.WARN
    skipped = holdout_result({"outcome": "skipped", "reason": "history too short"})
    assert skipped.passed and skipped.metadata["skipped"].value == "history too short"
    assert "Skipped" in skipped.description
    assert holdout_result(None).passed
