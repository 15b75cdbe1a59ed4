"""The whole graph on a generated messy landing zone: nothing lost, properties of the marts,
idempotent re-runs, and an atomic publication for BI readers."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipelines.defs.dbt.project import mart_names
from pipelines.lib.landing_contract import ENTITIES
from tests.conftest import E2E_START

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
MARTS = tuple(mart_names())

END = E2E_START + dt.timedelta(days=44)


def _query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _data_records(path: Path) -> int:
    with path.open(newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def test_every_landed_line_is_loaded_or_rejected(generated_run):
    env = generated_run
    checked = 0
    for entity in ENTITIES:
        counted = dict(
            _query(
                env.warehouse_path,
                f"select _source_file, count(*) from raw.{entity.name} group by 1",
            )
        )
        rejected = dict(
            _query(
                env.warehouse_path,
                "select source_file, count(*) from raw.rejected_rows"
                f" where entity = '{entity.name}' group by 1",
            )
        )
        for path in sorted((env.landing_dir / entity.directory).glob("*.csv")):
            name = str(path.relative_to(env.landing_dir))
            assert counted.get(name, 0) + rejected.get(name, 0) == _data_records(path), name
            checked += 1
    assert checked >= 9 * 45
    reasons = {r for (r,) in _query(env.warehouse_path, "select reason from raw.rejected_rows")}
    # The generator's messy rows are caught for what they are.
    assert any(r.startswith("unparseable date") for r in reasons)
    assert any(r.startswith("missing id") for r in reasons)


def test_no_personal_data_after_staging(generated_run):
    columns = _query(
        generated_run.warehouse_path,
        "select table_schema, table_name, column_name from information_schema.columns"
        " where table_schema in ('intermediate', 'core', 'marts')"
        " and (column_name ilike '%email%' or column_name ilike '%name%')"
        " and column_name not in ('campaign_name', 'attribution_model')",
    )
    assert columns == []
    published = _query(
        generated_run.serving_dir / "marts.duckdb",
        "select column_name from information_schema.columns"
        " where column_name ilike '%email%' or column_name ilike '%full_name%'",
    )
    assert published == []


def test_attributed_new_customers_add_up_to_all_new_customers(generated_run):
    serving = generated_run.serving_dir / "marts.duckdb"
    mismatches = _query(
        serving,
        """
        with by_channel as (
            select date, attribution_model, sum(new_customers) as channels_sum,
                   sum(new_leads) as leads_sum
            from marts.cac_daily where channel <> 'all' group by all
        ),
        first_purchases as (
            select first_purchase_date as date, count(*) as customers
            from marts.customers group by 1
        )
        select b.date, b.attribution_model, b.channels_sum, a.new_customers, f.customers
        from by_channel b
        join marts.cac_daily a
          on a.channel = 'all' and a.date = b.date and a.attribution_model = b.attribution_model
        left join first_purchases f on f.date = b.date
        where abs(b.channels_sum - a.new_customers) > 1e-9
           or abs(b.channels_sum - coalesce(f.customers, 0)) > 1e-9
        """,
    )
    assert mismatches == []
    models = {
        m for (m,) in _query(serving, "select distinct attribution_model from marts.cac_daily")
    }
    assert models == {"first_touch", "last_touch", "linear", "position_based", "time_decay"}
    total = _query(serving, "select count(*) from marts.customers")[0][0]
    assert total > 20


def test_cac_and_cpl_are_null_not_infinite_without_conversions(generated_run):
    serving = generated_run.serving_dir / "marts.duckdb"
    rows = _query(
        serving,
        """
        select
            count(*) filter (where new_customers = 0),
            count(*) filter (where new_customers = 0 and cac is not null),
            count(*) filter (where new_leads = 0 and cpl is not null),
            count(*) filter (where isinf(cac) or isinf(cpl) or isinf(cac_7d) or isinf(cac_30d))
        from marts.cac_daily
        """,
    )[0]
    assert rows[0] > 0, "the generated data should have channel-days without customers"
    assert rows[1:] == (0, 0, 0)


def test_retention_at_month_zero_is_one(generated_run):
    serving = generated_run.serving_dir / "marts.duckdb"
    values = _query(
        serving,
        "select distinct retention_rate from marts.ltv_cohorts"
        " where months_since_first_purchase = 0",
    )
    assert values == [(1.0,)]


def _marts_snapshot(serving: Path) -> dict[str, list[tuple]]:
    return {
        mart: _query(serving / "marts.duckdb", f"select * from marts.{mart} order by all")
        for mart in MARTS
    }


def test_rerunning_the_range_republishes_identical_marts_atomically(generated_run):
    from pipelines.cli import run_range

    env = generated_run
    env.activate()
    before = _marts_snapshot(env.serving_dir)
    parquet_before = {
        p.name: duckdb.connect().execute(f"select count(*) from '{p}'").fetchall()[0][0]
        for p in (env.serving_dir / "parquet").glob("*.parquet")
    }
    # A BI tool holding a read-only connection neither blocks the run nor sees it change.
    reader = duckdb.connect(str(env.serving_dir / "marts.duckdb"), read_only=True)
    try:
        held = reader.execute("select count(*), sum(net_revenue) from marts.customers").fetchall()
        assert run_range(E2E_START, END)
        assert (
            reader.execute("select count(*), sum(net_revenue) from marts.customers").fetchall()
            == held
        )
    finally:
        reader.close()
    assert _marts_snapshot(env.serving_dir) == before
    assert set(parquet_before) == {f"{m}.parquet" for m in MARTS}
