"""The metrics layer: MetricFlow's `mf query` on the project's semantic models gives, for one
channel and month, the CAC computed directly from `marts.cac_daily` (sum of spend / sum of
new customers over that slice), leaves the `all` rows out, and its blended CAC matches them.

The project is copied to a temporary folder (dbt and mf write its target/ there), the time
spine is built by dbt, and `marts.cac_daily` holds hand-written rows."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
MF = Path(sys.executable).parent / "mf"
DBT = Path(sys.executable).parent / "dbt"

# date, channel, attribution_model, spend, new_leads, new_customers (credits)
CAC_ROWS = [
    ("2026-01-05", "google_ads", "linear", 100.0, 2.0, 1.5),
    ("2026-01-20", "google_ads", "linear", 50.0, 1.0, 0.5),
    ("2026-01-05", "google_ads", "last_touch", 100.0, 2.0, 1.0),
    ("2026-01-20", "google_ads", "last_touch", 50.0, 1.0, 2.0),
    ("2026-02-01", "google_ads", "linear", 70.0, 1.0, 1.0),
    ("2026-01-05", "email", "linear", 0.0, 1.0, 0.5),
    ("2026-01-20", "email", "linear", 0.0, 0.0, 0.5),
    ("2026-01-05", "email", "last_touch", 0.0, 1.0, 1.0),
    ("2026-01-20", "email", "last_touch", 0.0, 0.0, 0.0),
    ("2026-02-01", "email", "linear", 0.0, 0.0, 0.0),
    # Totals over channels, as the mart publishes them: left out by every metric.
    ("2026-01-05", "all", "linear", 100.0, 3.0, 2.0),
    ("2026-01-20", "all", "linear", 50.0, 1.0, 1.0),
    ("2026-01-05", "all", "last_touch", 100.0, 3.0, 2.0),
    ("2026-01-20", "all", "last_touch", 50.0, 1.0, 2.0),
    ("2026-02-01", "all", "linear", 70.0, 1.0, 1.0),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A copy of the dbt project on a warehouse with the time spine and marts.cac_daily."""
    root = tmp_path_factory.mktemp("metrics")
    copy = root / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    warehouse = root / "warehouse.duckdb"
    env = {
        **os.environ,
        "FUNNEL_ENV": "dev",
        "FUNNEL_WAREHOUSE_PATH": str(warehouse),
        "DBT_PROFILES_DIR": str(copy),
    }
    # A subprocess, as mf is: in-process dbt would keep the warehouse file locked.
    done = subprocess.run(
        [str(DBT), "run", "--select", "metricflow_time_spine", "--quiet"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (copy / "target" / "semantic_manifest.json").exists()

    con = duckdb.connect(str(warehouse))
    con.execute("create schema marts")
    con.execute(
        "create table marts.cac_daily (date date, channel varchar, attribution_model varchar,"
        " spend double, new_leads double, new_customers double, cpl double, cac double,"
        " cac_7d double, cac_30d double)"
    )
    con.executemany(
        "insert into marts.cac_daily values (?, ?, ?, ?, ?, ?, null, null, null, null)", CAC_ROWS
    )
    con.close()
    return copy, env


def mf_query(project, *args: str) -> list[dict[str, str]]:
    copy, env = project
    out = copy / "query.csv"
    done = subprocess.run(
        [str(MF), "query", *args, "--csv", str(out)],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with out.open() as f:
        return list(csv.DictReader(f))


def direct_cac(warehouse: str, channel: str, model: str, month: str) -> float:
    con = duckdb.connect(warehouse, read_only=True)
    try:
        return con.execute(
            "select sum(spend) / sum(new_customers) from marts.cac_daily"
            " where channel = ? and attribution_model = ?"
            " and date_trunc('month', date) = cast(? as date)",
            [channel, model, month],
        ).fetchone()[0]
    finally:
        con.close()


def test_cac_by_channel_and_month_is_the_ratio_of_sums_of_cac_daily(project):
    linear = "{{ Dimension('cac_day__attribution_model') }} = 'linear'"
    rows = mf_query(
        project,
        "--metrics", "cac,spend,new_customers",
        "--group-by", "metric_time__month,channel",
        "--where", linear,
        "--order", "metric_time__month,channel",
    )  # fmt: skip
    by_slice = {(r["metric_time__month"][:10], r["channel"]): r for r in rows}
    # No 'all' rows: they are totals over the channel rows.
    assert set(by_slice) == {
        ("2026-01-01", "email"),
        ("2026-01-01", "google_ads"),
        ("2026-02-01", "email"),
        ("2026-02-01", "google_ads"),
    }
    google_january = by_slice[("2026-01-01", "google_ads")]
    expected = direct_cac(project[1]["FUNNEL_WAREHOUSE_PATH"], "google_ads", "linear", "2026-01-01")
    assert expected == 75.0  # (100 + 50) / (1.5 + 0.5), not the mean of 66.7 and 100
    assert float(google_january["cac"]) == pytest.approx(expected)
    assert float(google_january["spend"]) == 150.0
    assert float(google_january["new_customers"]) == 2.0
    assert float(by_slice[("2026-01-01", "email")]["cac"]) == 0.0  # unpaid: spend 0
    assert by_slice[("2026-02-01", "email")]["cac"] == ""  # no customers: null, not infinite


def test_blended_cac_over_channels_equals_the_all_rows(project):
    for model in ("linear", "last_touch"):
        rows = mf_query(
            project,
            "--metrics", "cac",
            "--group-by", "metric_time__month",
            "--where", f"{{{{ Dimension('cac_day__attribution_model') }}}} = '{model}'",
        )  # fmt: skip
        january = next(r for r in rows if r["metric_time__month"].startswith("2026-01"))
        warehouse = project[1]["FUNNEL_WAREHOUSE_PATH"]
        assert float(january["cac"]) == pytest.approx(
            direct_cac(warehouse, "all", model, "2026-01-01")
        )
