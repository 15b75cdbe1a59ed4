"""A range run and day-by-day runs publish identical marts (issue 7)."""

import datetime as dt
import shutil

import duckdb
import pytest

from pipelines.defs.dbt.project import mart_names
from tests.conftest import E2E_START, make_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
MARTS = tuple(mart_names())


def _marts(serving_dir) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(serving_dir / "marts.duckdb"), read_only=True)
    try:
        return {m: con.execute(f"select * from {m} order by all").fetchall() for m in MARTS}
    finally:
        con.close()


def test_a_range_and_day_by_day_runs_publish_identical_marts(generated_run, tmp_path):
    from pipelines.cli import run_range

    # The reference: the session's single run over all 45 days.
    reference = _marts(generated_run.serving_dir)
    # The same landing zone, loaded as a range up to day 42 and then one day at a time.
    env = make_env(tmp_path)
    shutil.copytree(generated_run.landing_dir, env.landing_dir)
    env.activate()
    try:
        assert run_range(E2E_START, E2E_START + dt.timedelta(days=41))
        for offset in (42, 43, 44):
            day = E2E_START + dt.timedelta(days=offset)
            assert run_range(day, day)
        assert _marts(env.serving_dir) == reference
        assert sum(len(rows) for rows in reference.values()) > 100
    finally:
        generated_run.activate()
