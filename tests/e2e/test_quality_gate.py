"""Bad data stops at the gate (issue 6): a landed batch that yields a bad mart row fails the
mart's Great Expectations check, naming the expectation; publication is blocked and the
serving files stay byte-identical."""

import csv
import datetime as dt
import hashlib

import pytest

from pipelines.lib.landing_contract import ENTITIES_BY_NAME
from tests.conftest import E2E_START, make_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAYS = 20


def _serving_fingerprint(serving_dir) -> dict[str, str]:
    files = [serving_dir / "marts.duckdb", *sorted((serving_dir / "parquet").glob("*.parquet"))]
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def _make_spend_negative(path) -> None:
    """An ad platform credit: a campaign-day whose cost is negative. The landing contract
    accepts it (a well-formed number), but a mart may never publish negative spend."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[0]["cost_micros"] = "-900000000000"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_bad_mart_row_blocks_publication_and_keeps_the_last_good_version(tmp_path):
    from pipelines.cli import execute_range
    from pipelines.defs.dbt.project import mart_names
    from pipelines.generator import append_day, generate_landing_zone

    env = make_env(tmp_path)
    env.activate()
    generate_landing_zone(env.landing_dir, E2E_START, DAYS, 8, seed=21, messy_rate=0.0)
    first, _ = execute_range(E2E_START, E2E_START + dt.timedelta(days=DAYS - 1))
    assert first.success
    published = _serving_fingerprint(env.serving_dir)
    assert len(published) == len(mart_names()) + 1  # marts.duckdb and a Parquet file per mart

    # The next day's drop carries the bad row.
    append_day(env.landing_dir)
    day = E2E_START + dt.timedelta(days=DAYS)
    _make_spend_negative(
        env.landing_dir / ENTITIES_BY_NAME["google_ads"].file_path(day.isoformat())
    )
    result, _ = execute_range(day, day)

    assert not result.success
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    gate = evaluations[("marts/cac_daily", "ge_suite")]
    assert not gate.passed
    assert gate.severity.value == "ERROR"
    failures = gate.metadata["failures"].value
    assert "expect_column_values_to_be_between" in failures and "spend" in failures
    # Publication did not run; the serving files are exactly the last good version.
    materialized = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert "serving/marts" not in materialized
    assert _serving_fingerprint(env.serving_dir) == published
