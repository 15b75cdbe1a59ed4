"""The validation layer: GE suites as files, validated inside DuckDB, as Dagster asset checks.

Real Great Expectations, real DuckDB files, real Dagster runs; expected counts are worked out
by hand from the rows written here.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.lib import validation
from pipelines.lib.landing_contract import ENTITIES
from pipelines.lib.raw_schema import raw_schema_ddl, table_columns

K1 = "1" * 64
K2 = "ab" * 32

CORE_TABLES = {
    "fct_funnel_stage",
    "fct_orders",
    "fct_ad_spend_daily",
    "fct_attribution_credits",
    "dim_customers",
    "fct_customer_lifecycle_monthly",
}
MART_TABLES = {
    "funnel_daily",
    "cac_daily",
    "ltv_cohorts",
    "lifecycle_monthly",
    "unit_economics_monthly",
    "customers",
    "funnel_summary",
    "retention_recurring",
}

KNOWN_SUITES = (
    {f"raw.{e.name}" for e in ENTITIES}
    | {f"core.{t}" for t in CORE_TABLES}
    | {f"marts.{t}" for t in MART_TABLES}
    | {"predict.customer_predictions"}
)

# Valid rows for every core table and mart (one table per suite, consistent within itself).
VALID_TABLES_SQL = f"""
create schema core;
create schema marts;

create table core.fct_funnel_stage as select * from (values
    ('{K1}', 'awareness', 1, timestamp '2026-01-01 10:00', date '2026-01-01', false,
     null, null::timestamp, null::double, 'email'),
    ('{K1}', 'interest', 2, timestamp '2026-01-02 10:00', date '2026-01-02', false,
     'awareness', timestamp '2026-01-01 10:00', 24.0, 'email')
) t(customer_key, stage, stage_order, entered_at, entered_date, is_skipped, previous_stage,
    previous_stage_entered_at, hours_in_previous_stage, acquisition_channel);

create table core.fct_orders as select * from (values
    ('o1', '{K1}', timestamp '2026-01-03 09:00', date '2026-01-03', 'paid', true, 'EUR',
     10.0, 11.0, 0.0, 11.0, 1, true),
    ('o2', '{K1}', timestamp '2026-01-04 09:00', date '2026-01-04', 'refunded', true, 'USD',
     5.0, 5.0, 5.0, 0.0, 2, false),
    ('o3', '{K1}', timestamp '2026-01-05 09:00', date '2026-01-05', 'cancelled', false, 'USD',
     7.0, 7.0, 0.0, 0.0, null, false)
) t(order_id, customer_key, ordered_at, order_date, status, is_purchase, currency, amount,
    amount_reporting, refunded_amount_reporting, net_revenue, purchase_number,
    is_first_purchase);

create table core.fct_ad_spend_daily as select * from (values
    (date '2026-01-01', 'google_ads', 'c1', 'Brand', 100, 5, 12.5, 'USD', 12.5)
) t(spend_date, channel, campaign_id, campaign_name, impressions, clicks, spend, currency,
    spend_reporting);

create table core.fct_attribution_credits as
select '{K1}' as customer_key, 'lead' as conversion_type,
       timestamp '2026-01-02 10:00' as conversion_at, date '2026-01-02' as conversion_date,
       model as attribution_model, touch_index, channel, credit
from (values
    ('first_touch', 1, 'email', 1.0), ('first_touch', 2, 'google_ads', 0.0),
    ('last_touch', 1, 'email', 0.0), ('last_touch', 2, 'google_ads', 1.0),
    ('linear', 1, 'email', 0.5), ('linear', 2, 'google_ads', 0.5),
    ('position_based', 1, 'email', 0.5), ('position_based', 2, 'google_ads', 0.5),
    ('time_decay', 1, 'email', 0.25), ('time_decay', 2, 'google_ads', 0.75)
) t(model, touch_index, channel, credit);

create table core.dim_customers as select * from (values
    ('{K1}', date '2026-01-01', 'email', true, true, date '2026-01-03', date '2026-01-04', 2,
     11.0)
) t(customer_key, cohort_month, acquisition_channel, marketing_consent, is_crm_contact,
    first_purchase_date, last_purchase_date, purchases, net_revenue);

create table core.fct_customer_lifecycle_monthly as select * from (values
    ('{K1}', date '2026-01-01', 'new'), ('{K1}', date '2026-02-01', 'dormant')
) t(customer_key, month, state);

create table marts.funnel_daily as select * from (values
    (date '2026-01-01', 'email', 'awareness', 2, 1, 0.5, 24.0, true, null::double,
     null::double),
    (date '2026-01-02', 'email', 'interest', 1, 1, 1.0, 12.0, true, 1.5, 2.0),
    (date '2026-01-03', 'email', 'loyalty', 1, null, null, null, false, null, null)
) t(date, channel, stage, entered, converted_to_next, conversion_rate, median_hours_to_next,
    is_window_complete, median_days_to_purchase, p90_days_to_purchase);

create table marts.cac_daily as select * from (values
    (date '2026-01-01', 'google_ads', 'first_touch', 10.0, 1.0, 1.0, 10.0, 10.0, 10.0, 10.0),
    (date '2026-01-01', 'email', 'first_touch', 0.0, 1.0, 0.0, 0.0, null, null, null),
    (date '2026-01-01', 'all', 'first_touch', 10.0, 2.0, 1.0, 5.0, 10.0, 10.0, 10.0),
    (date '2026-01-01', 'google_ads', 'linear', 10.0, 0.5, 0.5, 20.0, 20.0, 20.0, 20.0),
    (date '2026-01-01', 'email', 'linear', 0.0, 1.5, 0.5, 0.0, 0.0, 0.0, 0.0),
    (date '2026-01-01', 'all', 'linear', 10.0, 2.0, 1.0, 5.0, 10.0, 10.0, 10.0)
) t(date, channel, attribution_model, spend, new_leads, new_customers, cpl, cac, cac_7d,
    cac_30d);

create table marts.ltv_cohorts as select * from (values
    (date '2026-01-01', 'email', 0, 2, 2, 1.0, 30.0, 15.0),
    (date '2026-01-01', 'email', 1, 2, 1, 0.5, 40.0, 20.0),
    (date '2026-01-01', 'all', 0, 2, 2, 1.0, 30.0, 15.0)
) t(cohort_month, channel, months_since_first_purchase, cohort_customers, active_customers,
    retention_rate, cumulative_net_revenue, ltv_per_customer);

create table marts.lifecycle_monthly as select * from (values
    (date '2026-01-01', 'new', 2), (date '2026-01-01', 'dormant', 0)
) t(month, state, customers);

create table marts.unit_economics_monthly as select * from (values
    (date '2026-01-01', 'google_ads', 100.0, 2, 50.0, 60.0, 1, false, 1.2, 1, 0.5, false),
    (date '2026-01-01', 'email', 0.0, 0, null, null, 1, false, null, null, null, false),
    (date '2025-01-01', 'all', 100.0, 4, 25.0, 80.0, 12, true, 3.2, 2, 0.25, true)
) t(cohort_month, channel, spend, new_customers, cac, ltv_12m, ltv_months_observed,
    is_ltv_12m_complete, ltv_to_cac, payback_months, repeat_purchase_rate,
    is_repeat_window_complete);

-- one ISO week (Monday 2026-01-05): two people enter awareness by email, one goes on
create table marts.funnel_summary as select * from (values
    ('week', date '2026-01-05', 'email', 'awareness', 1, 2, 1, 0.5, 3.0, 3.0, 0.0, true),
    ('week', date '2026-01-05', 'all', 'awareness', 1, 2, 1, 0.5, 3.0, 3.0, 0.0, true),
    ('week', date '2026-01-05', 'email', 'loyalty', 5, 1, null, null, null, null, null, true),
    ('week', date '2026-01-05', 'all', 'loyalty', 5, 1, null, null, null, null, null, true)
) t(period_grain, period_start, channel, stage, stage_order, entered, converted_to_next,
    conversion_rate, median_hours_to_next, p90_hours_to_next, overall_conversion_to_purchase,
    is_window_complete);

-- two January buyers by email, one of them buying again in February
create table marts.retention_recurring as select * from (values
    ('month', date '2026-01-01', 0, 'email', 2, 2, 1.0, true),
    ('month', date '2026-01-01', 1, 'email', 2, 1, 0.5, false),
    ('month', date '2026-01-01', 0, 'all', 2, 2, 1.0, true),
    ('month', date '2026-01-01', 1, 'all', 2, 1, 0.5, false)
) t(period_grain, period_start, periods_since, channel, active_customers, retained_customers,
    retention_rate, is_period_complete);

create table marts.customers as select * from (values
    ('{K1}', date '2026-01-01', 'email', date '2026-01-03', date '2026-01-04', 2, 11.0,
     'active', true, 0.8, 20.0),
    ('{K2}', date '2026-02-01', 'direct', date '2026-02-03', date '2026-02-03', 1, 4.0,
     'active', false, null, null)
) t(customer_key, cohort_month, acquisition_channel, first_purchase_date, last_purchase_date,
    purchases, net_revenue, status, marketing_consent, p_alive, predicted_ltv_12m);

create schema predict;
create table predict.customer_predictions as select * from (values
    ('{K1}', 0.8, 20.0), ('{K2}', null::double, null::double)
) t(customer_key, p_alive, predicted_ltv_12m);
"""
SEEDS_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds"


def _load_seeds(con: duckdb.DuckDBPyConnection) -> None:
    """The dbt seeds, as dbt loads them (schema staging): the suites' value sets."""
    con.execute("create schema if not exists staging")
    for seed in SEEDS_DIR.glob("*.csv"):
        con.execute(
            f"create table staging.{seed.stem} as select * from read_csv('{seed}', header = true)"
        )


_VALUE_BY_TYPE = {
    "TIMESTAMP": "timestamp '2026-01-02 03:04:05'",
    "DATE": "date '2026-01-02'",
    "BIGINT": "1",
    "DECIMAL(18,4)": "1.5",
    "DOUBLE": "1.1",
    "BOOLEAN": "true",
    "MAP(VARCHAR, VARCHAR)": "map()",
}


def _valid_raw_row(entity) -> str:
    """One row of a raw table that keeps the landing contract (a value per column type)."""
    allowed = {c.name: c.allowed for c in entity.columns}
    values = []
    for name, type_ in table_columns(entity):
        if name == "_source_file":
            values.append(f"'{entity.directory}/2026-01-02.csv'")
        elif name == "_source_line":
            values.append("2")
        elif name == "customer_key":
            values.append(f"'{K1}'")
        elif type_ == "VARCHAR":
            options = allowed.get(name)
            values.append(f"'{options[0]}'" if options else f"'{name}-1'")
        else:
            values.append(_VALUE_BY_TYPE[type_])
    return f"insert into raw.{entity.name} values ({', '.join(values)})"


@pytest.fixture(scope="module")
def valid_warehouse(tmp_path_factory) -> Path:
    """Every raw table (the real DDL), core table and mart with valid rows."""
    path = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute(raw_schema_ddl())
    for entity in ENTITIES:
        con.execute(_valid_raw_row(entity))
    con.execute(VALID_TABLES_SQL)
    _load_seeds(con)
    con.close()
    return path


# ------------------------------------------------------------------------------- suites


@pytest.mark.unit
def test_every_raw_core_and_mart_table_has_a_suite_that_loads_in_ge():
    assert KNOWN_SUITES <= set(validation.suite_tables())
    for table in validation.suite_tables():
        suite = validation.load_suite(table)
        assert suite.name == table
        types = [e.expectation_type for e in suite.expectations]
        assert "expect_table_row_count_to_be_between" in types, table
        assert len(types) >= 5, table


@pytest.mark.unit
def test_raw_suites_follow_the_landing_contract():
    for entity in ENTITIES:
        suite = json.loads(validation.suite_path(f"raw.{entity.name}").read_text())
        by_type: dict[str, list[dict]] = {}
        for e in suite["expectations"]:
            by_type.setdefault(e["type"], []).append(e["kwargs"])
        (columns,) = by_type["expect_table_columns_to_match_set"]
        assert columns["column_set"] == [n for n, _ in table_columns(entity)]
        assert columns["exact_match"] is True
        not_null = {k["column"] for k in by_type["expect_column_values_to_not_be_null"]}
        contract_columns = {n for n, _ in table_columns(entity)}
        required = {c.name for c in entity.columns if c.required_value} & contract_columns
        assert required <= not_null, entity.name
        queries = " ".join(
            k["unexpected_rows_query"] for k in by_type["unexpected_rows_expectation"]
        )
        for column in entity.columns:
            for value in column.allowed or ():
                assert f"'{value.lower()}'" in queries, (entity.name, column.name, value)


@pytest.mark.unit
def test_row_count_bounds_come_from_the_previous_run():
    suite = validation.load_suite("marts.cac_daily")
    assert validation.row_count_parameters(suite, None) == {
        "min_row_count": 0,
        "max_row_count": None,
    }
    # min_ratio 0.9, no upper bound (backfills legitimately grow tables)
    assert validation.row_count_parameters(suite, 1005) == {
        "min_row_count": 904,
        "max_row_count": None,
    }


# ------------------------------------------------------------------------------- validator

SCORES_SUITE = {
    "name": "marts.scores",
    "expectations": [
        {
            "type": "expect_table_row_count_to_be_between",
            "kwargs": {
                "min_value": {"$PARAMETER": "min_row_count"},
                "max_value": {"$PARAMETER": "max_row_count"},
            },
            "meta": {"row_count_vs_previous_run": {"min_ratio": 0.5, "max_ratio": 2.0}},
        },
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "rate", "min_value": 0, "max_value": 1},
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "channel", "value_set": ["email", "direct"]},
        },
        {
            "type": "expect_column_values_to_be_between",
            "kwargs": {
                "column": "rate",
                "min_value": 1,
                "max_value": 1,
                "row_condition": {
                    "type": "comparison",
                    "column": {"name": "age"},
                    "operator": "==",
                    "parameter": 0,
                },
            },
        },
        {
            "type": "unexpected_rows_expectation",
            "kwargs": {
                "unexpected_rows_query": "select id, count(*) from {batch} group by id "
                "having count(*) > 1"
            },
            "description": "One row per id.",
        },
    ],
}


@pytest.fixture()
def scores_warehouse(tmp_path) -> tuple[Path, Path]:
    """marts.good_scores passes SCORES_SUITE; marts.scores breaks it on purpose."""
    expectations_dir = tmp_path / "expectations"
    expectations_dir.mkdir()
    (expectations_dir / "marts.scores.json").write_text(json.dumps(SCORES_SUITE))
    good = dict(SCORES_SUITE, name="marts.good_scores")
    (expectations_dir / "marts.good_scores.json").write_text(json.dumps(good))
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        """create table marts.good_scores as select * from (values
            (1, 0, 1.0, 'email'), (2, 1, 0.4, 'direct'), (3, 2, 0.0, 'email')
        ) t(id, age, rate, channel)"""
    )
    # id 2 twice (1 duplicated id), id null once, rates 1.5 and -0.1 out of [0, 1],
    # 'tiktok' and 'sms' not in the set, rate 0.5 at age 0 (the null-id row).
    con.execute(
        """create table marts.scores as select * from (values
            (1, 0, 1.0, 'email'), (2, 1, 1.5, 'tiktok'), (2, 1, 0.2, 'email'),
            (null, 0, 0.5, 'sms'), (5, 3, -0.1, 'direct'), (6, 4, 0.3, 'direct')
        ) t(id, age, rate, channel)"""
    )
    con.close()
    return path, expectations_dir


@pytest.mark.unit
def test_validator_reports_exactly_the_violated_expectations(scores_warehouse):
    path, expectations_dir = scores_warehouse
    results = validation.validate_tables(
        path, ["marts.good_scores", "marts.scores"], {"marts.scores": 6}, expectations_dir
    )
    good, bad = results["marts.good_scores"], results["marts.scores"]

    assert good.success and not good.failures and good.row_count == 3
    assert len(good.outcomes) == len(SCORES_SUITE["expectations"])
    assert good.result is not None and good.result.success  # GE's own result object

    assert not bad.success and bad.row_count == 6
    failed = {(o.expectation, o.target, o.description): o.unexpected_count for o in bad.failures}
    assert failed == {
        ("expect_column_values_to_not_be_null", "id", ""): 1,
        ("expect_column_values_to_be_between", "rate", "min_value=0.0, max_value=1.0"): 2,
        ("expect_column_values_to_be_in_set", "channel", 'value_set=["email", "direct"]'): 2,
        (
            "expect_column_values_to_be_between",
            "rate",
            "min_value=1.0, max_value=1.0 where age == 0",
        ): 1,
        ("unexpected_rows_expectation", "table", "One row per id."): 1,
    }
    assert all(o.error is None for o in bad.outcomes)
    passed_row_count = [o for o in bad.outcomes if o.expectation.startswith("expect_table_row")]
    assert passed_row_count[0].success  # 6 rows within [3, 12] of the previous 6

    markdown = validation.summary_markdown(bad)
    assert markdown.startswith("5 of 6 expectations of `marts.scores` failed")
    assert "| `expect_column_values_to_be_in_set` (critical) | channel | 2 |" in markdown


@pytest.mark.unit
def test_row_count_far_below_the_previous_run_fails(scores_warehouse):
    path, expectations_dir = scores_warehouse
    result = validation.validate_table(path, "marts.good_scores", 8, expectations_dir)
    (failure,) = result.failures  # 3 rows < 0.5 * 8
    assert failure.expectation == "expect_table_row_count_to_be_between"
    assert failure.observed == "3"
    assert result.previous_row_count == 8


@pytest.mark.unit
def test_a_missing_table_fails_with_its_name(scores_warehouse, tmp_path):
    path, expectations_dir = scores_warehouse
    (expectations_dir / "marts.absent.json").write_text(
        json.dumps(dict(SCORES_SUITE, name="marts.absent"))
    )
    result = validation.validate_table(path, "marts.absent", None, expectations_dir)
    assert not result.success
    (failure,) = result.failures
    assert failure.expectation == "table_exists" and "absent" in failure.error


@pytest.mark.unit
def test_validation_reads_the_file_read_only_and_releases_it(scores_warehouse):
    path, expectations_dir = scores_warehouse
    validation.validate_table(path, "marts.good_scores", None, expectations_dir)
    # The file is free for a writer again as soon as validation returns.
    con = duckdb.connect(str(path))
    con.execute("insert into marts.good_scores values (4, 5, 0.1, 'email')")
    con.close()


@pytest.mark.unit
def test_rows_survive_the_connection_going_back_to_the_pool(scores_warehouse):
    """The duckdb-engine failure under GE (GX 10738, 11579): fetch after release."""
    import sqlalchemy as sa

    from pipelines.lib.validation import sqlalchemy_duckdb

    path, _ = scores_warehouse
    engine = sa.create_engine(
        sqlalchemy_duckdb.CONNECTION_STRING, **sqlalchemy_duckdb.engine_kwargs(path, "marts")
    )
    with engine.connect() as connection:
        first = connection.execute(sa.text("select id from good_scores order by id"))
        second = connection.execute(sa.text("select count(*) from scores"))
    assert first.fetchall() == [(1,), (2,), (3,)]
    assert second.fetchall() == [(6,)]
    columns = sa.inspect(engine).get_columns("good_scores")
    assert [(c["name"], type(c["type"]).__name__) for c in columns] == [
        ("id", "Integer"),
        ("age", "Integer"),
        ("rate", "Numeric"),
        ("channel", "String"),
    ]
    engine.dispose()


@pytest.mark.unit
def test_warning_severity_failures_do_not_block(scores_warehouse):
    import dagster as dg

    from pipelines.defs.quality.checks import check_result

    path, expectations_dir = scores_warehouse
    suite = {
        "name": "marts.scores",
        "expectations": [
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "channel", "value_set": ["email", "direct"]},
                "severity": "warning",
            }
        ],
    }
    (expectations_dir / "marts.scores.json").write_text(json.dumps(suite))
    result = validation.validate_table(path, "marts.scores", None, expectations_dir)
    (failure,) = result.failures
    assert failure.severity == "warning" and failure.unexpected_count == 2
    check = check_result(result, dg.AssetKey(["marts", "scores"]), blocking=True)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN


@pytest.mark.slow
def test_every_real_suite_runs_clean_on_valid_tables(valid_warehouse):
    results = validation.validate_tables(valid_warehouse, sorted(KNOWN_SUITES))
    errors = {t: [o for o in r.outcomes if o.error] for t, r in results.items()}
    assert errors == {t: [] for t in results}
    failures = {t: r.failures for t, r in results.items() if r.failures}
    assert failures == {}
    assert results["marts.cac_daily"].row_count == 6
    assert results["raw.orders"].row_count == 1


@pytest.mark.unit
def test_real_mart_and_core_suites_catch_the_issue_examples(tmp_path):
    path = tmp_path / "bad.duckdb"
    con = duckdb.connect(str(path))
    con.execute(VALID_TABLES_SQL)
    _load_seeds(con)
    # retention at month 0 below 1 on one cohort row
    con.execute(
        "update marts.ltv_cohorts set retention_rate = 0.5, active_customers = 1 "
        "where channel = 'all'"
    )
    # one person's linear credits sum to 0.9
    con.execute(
        "update core.fct_attribution_credits set credit = 0.4 "
        "where attribution_model = 'linear' and touch_index = 1"
    )
    # a conversion rate above 1 (and so no longer converted / entered)
    con.execute("update marts.funnel_daily set conversion_rate = 1.5 where stage = 'interest'")
    con.close()
    results = validation.validate_tables(
        path, ["marts.ltv_cohorts", "core.fct_attribution_credits", "marts.funnel_daily"]
    )
    failed = {
        t: {(o.expectation, o.target, o.description): o.unexpected_count for o in r.failures}
        for t, r in results.items()
    }
    assert failed == {
        "marts.ltv_cohorts": {
            (
                "expect_column_values_to_be_between",
                "retention_rate",
                "Retention at month 0 is 1 (every customer purchased in the cohort month).",
            ): 1
        },
        "core.fct_attribution_credits": {
            (
                "unexpected_rows_expectation",
                "table",
                "A person's credits sum to exactly 1 per conversion and attribution model.",
            ): 1
        },
        "marts.funnel_daily": {
            (
                "expect_column_values_to_be_between",
                "conversion_rate",
                "min_value=0.0, max_value=1.0",
            ): 1,
            (
                "unexpected_rows_expectation",
                "table",
                "conversion_rate = converted_to_next / entered.",
            ): 1,
        },
    }


# ------------------------------------------------------------------------------- docs


@pytest.mark.unit
def test_results_round_trip_and_data_docs_are_written(scores_warehouse, tmp_path):
    path, expectations_dir = scores_warehouse
    results = validation.validate_tables(
        path, ["marts.good_scores", "marts.scores"], None, expectations_dir
    )
    results_dir = tmp_path / "results"
    validation.save_results(results.values(), results_dir)
    loaded = {r.suite_name: r for r in validation.load_results(results_dir)}
    assert {n: r.success for n, r in loaded.items()} == {
        "marts.good_scores": True,
        "marts.scores": False,
    }

    serving = tmp_path / "serving"
    (serving / "data_docs").mkdir(parents=True)
    (serving / "data_docs" / "stale.html").write_text("old site")
    index = validation.build_data_docs(loaded.values(), serving, expectations_dir)
    assert index == serving / "data_docs" / "index.html"
    html = index.read_text()
    assert "marts.scores" in html and "marts.good_scores" in html
    assert not (serving / "data_docs" / "stale.html").exists()  # the site was swapped whole
    pages = list((serving / "data_docs" / "validations").rglob("*.html"))
    assert len(pages) == 2
    bad_page = next(p for p in pages if "marts.scores" in str(p)).read_text()
    assert "expect_column_values_to_be_in_set" in bad_page or "values must belong" in bad_page
    assert [p.name for p in serving.iterdir()] == ["data_docs"]  # nothing left aside
    # No sample of the offending values is kept (raw tables hold e-mails; marts hold keys
    # of people who may be erased later): 'tiktok' and 'sms' broke the set, 1.5 the range.
    kept = [*results_dir.rglob("*.json"), *(serving / "data_docs").rglob("*.html")]
    for value in (b"tiktok", b"sms"):
        assert [str(f) for f in kept if f.is_file() and value in f.read_bytes()] == []


# ------------------------------------------------------------------------------- Dagster


@pytest.mark.e2e
def test_suite_check_blocks_downstream_and_bounds_row_counts_by_the_previous_run(tmp_path):
    import dagster as dg

    from pipelines.defs.quality.checks import CHECK_NAME, build_suite_checks
    from pipelines.defs.resources import WarehouseLock

    warehouse = tmp_path / "warehouse.duckdb"
    serving = tmp_path / "serving"
    rows_to_write: list[str] = []

    @dg.asset(key=["marts", "lifecycle_monthly"])
    def lifecycle_monthly():
        con = duckdb.connect(str(warehouse))
        if not con.execute(
            "select 1 from information_schema.tables where table_name = 'lifecycle_states'"
        ).fetchall():
            _load_seeds(con)
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.lifecycle_monthly "
            "(month date, state varchar, customers bigint)"
        )
        con.execute(f"insert into marts.lifecycle_monthly values {', '.join(rows_to_write)}")
        con.close()
        # as dbt's assets do: the previous run's count bounds the row-count expectation
        return dg.MaterializeResult(metadata={"dagster/row_count": len(rows_to_write)})

    published: list[int] = []

    @dg.asset(key=["serving", "marts"], deps=[lifecycle_monthly])
    def publish() -> None:
        published.append(1)

    checks = build_suite_checks(
        "mart_suites",
        {"marts.lifecycle_monthly": dg.AssetKey(["marts", "lifecycle_monthly"])},
        blocking=True,
        warehouse_path_fn=lambda: warehouse,
        serving_dir_fn=lambda: serving,
    )
    instance = dg.DagsterInstance.ephemeral()

    def run() -> dg.AssetCheckEvaluation:
        result = dg.materialize(
            [lifecycle_monthly, publish, checks],
            resources={"warehouse_lock": WarehouseLock()},
            instance=instance,
            raise_on_error=False,
        )
        (evaluation,) = result.get_asset_check_evaluations()
        assert evaluation.check_name == CHECK_NAME
        return evaluation

    months = [f"date '2026-{m:02d}-01'" for m in range(1, 6)]
    rows_to_write[:] = [f"({m}, 'new', 3)" for m in months] + [
        f"({m}, 'dormant', 1)" for m in months
    ]
    good = run()
    assert good.passed and published == [1]
    assert good.metadata["row_count"].value == 10
    assert "previous_row_count" not in good.metadata

    # 'zombie' is no lifecycle state: the blocking check fails with ERROR, nothing is published
    rows_to_write.append("(date '2026-06-01', 'zombie', 2)")
    bad = run()
    assert not bad.passed and bad.severity == dg.AssetCheckSeverity.ERROR
    assert published == [1]
    assert bad.metadata["previous_row_count"].value == 10
    assert bad.metadata["unexpected:expect_column_values_to_be_in_set:state"].value == 1
    failures = bad.metadata["failures"].value
    assert "| `expect_column_values_to_be_in_set` (critical) | state | 1 |" in failures
    assert (serving / "data_docs" / "index.html").exists()  # docs show why it was blocked

    # back to 4 valid rows: fewer than 0.9 x the previous run's 11
    rows_to_write[:] = [f"({m}, 'new', 3)" for m in months[:4]]
    shrunk = run()
    assert not shrunk.passed and published == [1]
    assert shrunk.metadata["previous_row_count"].value == 11
    assert "expect_table_row_count_to_be_between" in shrunk.metadata["failures"].value
