"""What a run stores does not grow with the days it covers (issue 12).

The same generated zone is run once as one day and once as a 30-day range, each on a fresh
warehouse and a fresh persistent Dagster home. What the instance stores for the run is then
counted from its own event log: asset-check rows (planned and evaluated) must be equal, and
every other event equal too, except the one materialisation per raw asset and landing day
that partition status needs (the landing day is the raw assets' partition; nothing else is
partitioned).
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter

import pytest

from tests.conftest import E2E_START, make_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAYS = 30


def _run_and_count(root, days: int) -> tuple[Counter, int]:
    """Run [E2E_START, +days) on a fresh warehouse and home; stored events by type."""
    from dagster import DagsterEventType, DagsterInstance

    from pipelines.cli import execute_range
    from pipelines.generator import generate_landing_zone

    env = make_env(root)
    env.activate()
    generate_landing_zone(env.landing_dir, E2E_START, DAYS, 4, seed=5, messy_rate=0.0)
    home = root / "dagster_home"
    home.mkdir()
    previous = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        result, outcome = execute_range(E2E_START, E2E_START + dt.timedelta(days=days - 1))
        assert result.success, (outcome.failures, outcome.checks_not_passed)
        with DagsterInstance.get() as instance:
            stored = instance.all_logs(outcome.run_id)
            raw_materialisations = sum(
                1
                for entry in stored
                if entry.dagster_event is not None
                and entry.dagster_event.event_type == DagsterEventType.ASSET_MATERIALIZATION
                and entry.dagster_event.asset_key.path[0] == "raw"
                and entry.dagster_event.partition is not None
            )
            by_type = Counter(
                entry.dagster_event.event_type_value
                for entry in stored
                if entry.dagster_event is not None
            )
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = previous
    return by_type, raw_materialisations


def test_a_30_day_run_stores_what_a_one_day_run_stores_but_the_raw_days(tmp_path):
    from pipelines.lib.landing_contract import ENTITIES

    one, raw_one = _run_and_count(tmp_path / "one", 1)
    thirty, raw_thirty = _run_and_count(tmp_path / "thirty", DAYS)

    # One materialisation per raw asset and day, and nothing else that grows with days.
    assert raw_one == len(ENTITIES)
    assert raw_thirty == len(ENTITIES) * DAYS
    checks = ("ASSET_CHECK_EVALUATION_PLANNED", "ASSET_CHECK_EVALUATION")
    for event_type in checks:
        assert thirty[event_type] == one[event_type] > 0, event_type
    assert thirty["ASSET_MATERIALIZATION_PLANNED"] == one["ASSET_MATERIALIZATION_PLANNED"]
    others_one = sum(one.values()) - raw_one
    others_thirty = sum(thirty.values()) - raw_thirty
    # A few step log events may differ (e.g. a warning about a day's rejected rows).
    assert abs(others_thirty - others_one) <= 5, (one, thirty)
