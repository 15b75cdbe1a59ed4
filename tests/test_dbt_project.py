"""The dbt project, run by real dbt on real DuckDB warehouses.

- The SQL logic through dbt's own unit tests (`unit_tests:` in the models' YAML). They need
  their upstream relations to exist (dbt reads their columns to type the fixture rows), so
  the test builds the raw schema, loads the seeds and runs every model with `--empty` (zero
  rows) first; then it runs the unit tests and `dbt docs generate`.
- Incrementality: a build after one landed day (a refund 61 days late, a repeat purchase, an
  erasure) restates exactly that day's people, gives the hand-worked figures and exactly the
  tables of a full rebuild, in every layer.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.raw_schema import raw_schema_ddl

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

# The unit tests of the staging-to-core layer; each must run and pass (marts' unit tests run
# too, but are owned by their own suite).
CORE_UNIT_TESTS = {
    "fx_rates_filled_carries_nearest_earlier_rates_to_a_non_usd_reporting_currency",
    "refunds_convert_at_their_own_day_rate_and_stop_at_the_order_amount",
    "stage_events_follow_the_seed_rules",
    "conversions_take_the_earliest_entry_at_or_after_their_stage",
    "journeys_order_touches_and_weigh_them_by_time_decay",
    "attribution_credits_of_each_model_on_hand_made_journeys",
    "attribution_position_based_over_five_touches",
    "funnel_stage_fills_skipped_stages_at_the_later_stage_moment",
    "orders_net_revenue_deducts_each_accepted_refund",
    "orders_incremental_build_restates_only_the_people_changed",
    "ad_spend_converts_at_the_nearest_earlier_rate",
    "customers_status_thresholds_on_as_of_date",
    "lifecycle_states_new_returning_dormant_resurrecting",
}


def _dbt_on_new_warehouse(root: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh warehouse with the raw schema, and a function running dbt in-process on it.
    Target and logs go to `root` so dbt runs in dbt_project/ (a developer's, Dagster's) are
    not disturbed."""
    from dbt.cli.main import dbtRunner

    warehouse = root / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute(raw_schema_ddl())
    con.execute(LOAD_LOG_DDL)
    con.close()
    monkeypatch.setenv("FUNNEL_WAREHOUSE_PATH", str(warehouse))
    runner = dbtRunner()

    def invoke(*args: str):
        return runner.invoke(
            [
                *args,
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(root / "target"),
                "--log-path",
                str(root / "logs"),
                "--quiet",
            ]
        )

    return warehouse, invoke


@pytest.fixture()
def dbt_invoke(tmp_path, monkeypatch):
    return _dbt_on_new_warehouse(tmp_path, monkeypatch)[1]


@pytest.mark.unit
def test_dbt_unit_tests_pass_on_an_empty_warehouse(dbt_invoke):
    seeded = dbt_invoke("seed")
    assert seeded.success, seeded.exception
    built = dbt_invoke("run", "--empty")
    assert built.success, built.exception

    tested = dbt_invoke("test", "--select", "test_type:unit")
    failures = {
        r.node.name: r.message
        for r in tested.result
        if r.status not in ("pass", "success")  # the on-run-end hook reports "success"
    }
    assert not failures, failures
    assert tested.success, tested.exception
    ran = {r.node.name for r in tested.result if r.node.resource_type == "unit_test"}
    assert CORE_UNIT_TESTS <= ran, f"not run: {sorted(CORE_UNIT_TESTS - ran)}"

    docs = dbt_invoke("docs", "generate")
    assert docs.success, docs.exception


CORE_TABLES = (
    "fct_funnel_stage",
    "fct_orders",
    "fct_attribution_credits",
    "fct_ad_spend_daily",
    "dim_customers",
    "fct_customer_lifecycle_monthly",
)
LINEAGE = "_source_file, _source_line, _loaded_at, _partition_date"
LOAD_LOG_DDL = """
create table if not exists raw.load_log (entity varchar, partition_date date,
    source_file varchar, loaded_at timestamp, data_records bigint, rows_loaded bigint,
    rows_rejected bigint, rows_erased bigint)
"""
FIRST_DAYS = f"""
insert into raw.contacts (contact_id, email, full_name, created_at, updated_at,
    marketing_consent, {LINEAGE}) values
    ('c1', 'alice@example.com', 'Alice', '2026-01-02 10:00', '2026-01-02 10:00', true,
     'crm/contacts/2026-01-02.csv', 2, now(), '2026-01-02'),
    ('c2', 'bob@example.com', 'Bob', '2026-01-03 10:00', '2026-01-03 10:00', false,
     'crm/contacts/2026-01-03.csv', 2, now(), '2026-01-03');
insert into raw.touchpoints (contact_id, occurred_at, channel, {LINEAGE}) values
    ('c1', '2026-01-01 09:00', 'google_ads', 'f', 2, now(), '2026-01-01'),
    ('c2', '2026-01-02 09:00', 'organic_search', 'f', 2, now(), '2026-01-02');
insert into raw.lifecycle_events (contact_id, crm_stage, occurred_at, {LINEAGE}) values
    ('c2', 'MQL', '2026-01-05 00:00', 'f', 2, now(), '2026-01-05');
insert into raw.orders (order_id, customer_email, ordered_at, status, currency, amount,
    {LINEAGE}) values
    ('o1', 'Bob@Example.com ', '2026-01-10 12:00', 'paid', 'EUR', 100, 'f', 2, now(), '2026-01-10'),
    ('o2', 'alice@example.com', '2026-01-12 12:00', 'paid', 'USD', 50, 'f', 2, now(), '2026-01-12'),
    ('o3', 'dave@example.com', '2026-01-10 18:00', 'paid', 'EUR', 40, 'f', 2, now(), '2026-01-10');
insert into raw.fx_rates (date, currency, units_per_usd, {LINEAGE}) values
    ('2026-01-01', 'EUR', 0.8, 'f', 2, now(), '2026-01-01'),
    ('2026-03-01', 'EUR', 0.5, 'f', 2, now(), '2026-03-01');
insert into raw.google_ads (date, campaign_id, campaign_name, impressions, clicks,
    cost_micros, currency_code, {LINEAGE}) values
    ('2026-01-01', 'g1', 'Brand', 100, 10, 2500000, 'EUR', 'f', 2, now(), '2026-01-01');
"""


def _log_loads(con: duckdb.DuckDBPyConnection, erased: dict[str, int] | None = None) -> None:
    """What the extractor records: a load_log row per entity and day of the rows loaded since
    the last logged load, plus the days whose load erased rows."""
    tables = [t for (t,) in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw'"
        " and table_name not in ('load_log', 'rejected_rows', 'suppression_list')"
    ).fetchall()]  # fmt: skip
    for table in tables:
        con.execute(f"""
            insert into raw.load_log
            select '{table}', _partition_date, 'f', max(_loaded_at), count(*), count(*), 0, 0
            from raw.{table}
            where _loaded_at > (select coalesce(max(loaded_at), timestamp '1900-01-01')
                                from raw.load_log where entity = '{table}')
            group by _partition_date
        """)
    for day, rows in (erased or {}).items():
        con.execute(
            "insert into raw.load_log values ('erasure_requests', ?, 'f', now(), 1, 1, 0, ?)",
            [day, rows],
        )


def _land_day_2026_03_12(con: duckdb.DuckDBPyConnection) -> None:
    """One landed day: a refund of Dave's o3 61 days after it (Dave has nothing else in the
    batch), Bob's second purchase, and Alice's erasure (the extractor removes her raw rows
    and records, in the load log, that the day's load erased rows)."""
    con.execute(f"""
        insert into raw.refunds (refund_id, order_id, refunded_at, currency, amount, {LINEAGE})
        values ('r1', 'o3', '2026-03-12 09:00', 'EUR', 20, 'f', 2, now(), '2026-03-12');
        insert into raw.orders (order_id, customer_email, ordered_at, status, currency, amount,
            {LINEAGE})
        values ('o4', 'bob@example.com', '2026-03-12 12:00', 'paid', 'USD', 10,
                'f', 2, now(), '2026-03-12');
        delete from raw.contacts where contact_id = 'c1';
        delete from raw.touchpoints where contact_id = 'c1';
        delete from raw.orders where order_id = 'o2';
    """)
    _log_loads(con, erased={"2026-03-12": 3})


def _built_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table dbt builds, but the per-build scope and the change feeds."""
    return [
        f"{schema}.{name}"
        for schema, name in con.execute(
            """select table_schema, table_name from information_schema.tables
            where table_schema in ('staging', 'intermediate', 'core', 'predict', 'marts')
                and table_type = 'BASE TABLE' and not ends_with(table_name, '__changes')
                and table_name <> 'int_people_changed'
            order by 1, 2"""
        ).fetchall()
    ]


@pytest.mark.e2e
@pytest.mark.slow
def test_incremental_build_over_one_day_equals_a_full_rebuild(tmp_path, monkeypatch):
    from pipelines.lib.pseudonymise import customer_key
    from pipelines.settings import load_settings

    warehouse, dbt = _dbt_on_new_warehouse(tmp_path, monkeypatch)
    secret = load_settings().pseudonymisation_secret
    alice, bob = (customer_key(e, secret) for e in ("alice@example.com", "bob@example.com"))

    with duckdb.connect(str(warehouse)) as con:
        con.execute(LOAD_LOG_DDL)
        con.execute(FIRST_DAYS)
        _log_loads(con)
    assert dbt("seed").success
    assert dbt("run").success
    with duckdb.connect(str(warehouse)) as con:
        _land_day_2026_03_12(con)
    assert dbt("run").success

    with duckdb.connect(str(warehouse)) as con:
        # The batch was exactly the one landed day, and the build restated only its people.
        pending = con.execute(
            "select distinct partition_date from batch.batch_loads_pending"
        ).fetchall()
        assert pending == [(dt.date(2026, 3, 12),)]
        restated = {k for (k,) in con.execute(
            "select customer_key from intermediate.int_people_changed").fetchall()}  # fmt: skip
        dave = customer_key("dave@example.com", secret)
        # Alice (erased) was restated too, but the committed build forgets her key: no
        # person is left under it, and it must not outlive her erasure.
        assert restated == {bob, dave}
        orders = {
            row[0]: row[1:]
            for row in con.execute(
                "select order_id, amount_reporting, refunded_amount_reporting, net_revenue,"
                " purchase_number from core.fct_orders"
            ).fetchall()
        }
        # o1: 100 EUR at 1/0.8 = 125 USD. o3: 40 EUR = 50 USD; its refund, 61 days later,
        # 20 EUR at that day's nearest earlier rate 1/0.5 = 40 USD.
        assert orders == {
            "o1": (125.0, 0.0, 125.0, 1),
            "o3": (50.0, 40.0, 10.0, 1),
            "o4": (10.0, 0.0, 10.0, 2),
        }
        bob_stages = con.execute(
            "select stage from core.fct_funnel_stage where customer_key = ? order by stage_order",
            [bob],
        ).fetchall()
        assert [s for (s,) in bob_stages] == [
            "awareness", "interest", "consideration", "intent", "purchase", "loyalty",
        ]  # fmt: skip
        tables = _built_tables(con)
        assert len(tables) > 25
        for table in tables:
            columns = {c for (c,) in con.execute(
                "select column_name from information_schema.columns"
                " where table_schema || '.' || table_name = ?", [table]).fetchall()}  # fmt: skip
            if "customer_key" in columns:
                left = con.execute(
                    f"select count(*) from {table} where customer_key = ?", [alice]
                ).fetchall()[0][0]
                assert left == 0, f"erased person still in {table}"
        for table in tables:
            name = table.replace(".", "__")
            con.execute(f"create table main.incremental__{name} as select * from {table}")

    assert dbt("run", "--full-refresh").success
    with duckdb.connect(str(warehouse)) as con:
        for table in tables:
            name = table.replace(".", "__")
            differing = con.execute(
                f"""select count(*) from (
                    (select * from main.incremental__{name} except all select * from {table})
                    union all
                    (select * from {table} except all select * from main.incremental__{name})
                )"""
            ).fetchall()[0][0]
            assert differing == 0, f"{table}: incremental differs from full rebuild"
