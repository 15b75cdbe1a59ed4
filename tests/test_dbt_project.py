"""The dbt project, run by real dbt on real DuckDB warehouses.

- The SQL logic through dbt's own unit tests (`unit_tests:` in the models' YAML). They need
  their upstream relations to exist (dbt reads their columns to type the fixture rows), so
  the test builds the raw schema, loads the seeds and runs every model with `--empty` (zero
  rows) first; then it runs the unit tests and `dbt docs generate`.
- Incrementality: a run over one landed day (a refund 61 days late, a repeat purchase, an
  erasure) gives the hand-worked figures and exactly the core tables of a full rebuild.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.lib.raw_schema import raw_schema_ddl

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

# The unit tests of the staging-to-core layer; each must run and pass (marts' unit tests run
# too, but are owned by their own suite).
CORE_UNIT_TESTS = {
    "fx_rates_filled_carries_nearest_earlier_rates_to_a_non_usd_reporting_currency",
    "attribution_credits_of_each_model_on_hand_made_journeys",
    "attribution_five_touches_weekly_apart",
    "funnel_stage_fills_skipped_stages_at_the_later_stage_moment",
    "orders_net_revenue_deducts_each_refund_at_its_own_day_rate",
    "orders_incremental_run_restates_an_order_when_its_refund_lands_60_days_late",
    "ad_spend_converts_at_the_nearest_earlier_rate",
    "customer_status_thresholds_on_as_of_date",
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
    failures = {r.node.name: r.message for r in tested.result if r.status != "pass"}
    assert not failures, failures
    assert tested.success, tested.exception
    ran = {r.node.name for r in tested.result}
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


def _land_day_2026_03_12(con: duckdb.DuckDBPyConnection, alice_key: str) -> None:
    """One landed day: a refund of Dave's o3 61 days after it (Dave has nothing else in the
    window), Bob's second purchase, and Alice's erasure (the extractor removes her raw rows
    and records the request)."""
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
        insert into raw.erasure_requests (customer_key, requested_at, {LINEAGE})
        values ('{alice_key}', '2026-03-12 08:00', 'f', 2, now(), '2026-03-12');
    """)


@pytest.mark.e2e
@pytest.mark.slow
def test_incremental_run_over_one_day_equals_a_full_rebuild(tmp_path, monkeypatch):
    from pipelines.lib.pseudonymise import customer_key
    from pipelines.settings import load_settings

    warehouse, dbt = _dbt_on_new_warehouse(tmp_path, monkeypatch)
    secret = load_settings().pseudonymisation_secret
    alice, bob = (customer_key(e, secret) for e in ("alice@example.com", "bob@example.com"))
    core_only = ("--select", "+path:models/core")

    with duckdb.connect(str(warehouse)) as con:
        con.execute(FIRST_DAYS)
    assert dbt("seed").success
    assert dbt("run", *core_only).success
    with duckdb.connect(str(warehouse)) as con:
        _land_day_2026_03_12(con, alice)
    window = '{"min_date": "2026-03-12", "max_date": "2026-03-12"}'
    assert dbt("run", *core_only, "--vars", window).success

    with duckdb.connect(str(warehouse)) as con:
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
        for table in CORE_TABLES:
            if table != "fct_ad_spend_daily":
                left = con.execute(
                    f"select count(*) from core.{table} where customer_key = ?", [alice]
                ).fetchall()[0][0]
                assert left == 0, f"erased person still in core.{table}"
        for table in CORE_TABLES:
            con.execute(f"create table main.incremental_{table} as select * from core.{table}")

    assert dbt("run", *core_only, "--full-refresh").success
    with duckdb.connect(str(warehouse)) as con:
        for table in CORE_TABLES:
            differing = con.execute(
                f"""select count(*) from (
                    (select * from main.incremental_{table} except all select * from core.{table})
                    union all
                    (select * from core.{table} except all select * from main.incremental_{table})
                )"""
            ).fetchall()[0][0]
            assert differing == 0, f"core.{table}: incremental differs from full rebuild"
