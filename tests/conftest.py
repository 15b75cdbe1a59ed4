"""Shared fixtures. End-to-end tests run the real graph (real dbt, real DuckDB files, real GE)
on a small generated landing zone in a temporary folder."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

# Partitions are defined at import from FUNNEL_START_DATE: pin it before anything imports them.
E2E_START = dt.date(2026, 1, 1)
os.environ["FUNNEL_START_DATE"] = E2E_START.isoformat()
os.environ.setdefault("FUNNEL_PSEUDONYMISATION_SECRET", "test-secret")
# Runs of the tests go to an ephemeral Dagster instance, not the developer's DAGSTER_HOME.
os.environ.pop("DAGSTER_HOME", None)


@dataclass(frozen=True)
class PipelineEnv:
    root: Path
    landing_dir: Path
    warehouse_path: Path
    serving_dir: Path

    def activate(self) -> None:
        os.environ["FUNNEL_LANDING_DIR"] = str(self.landing_dir)
        os.environ["FUNNEL_WAREHOUSE_PATH"] = str(self.warehouse_path)
        os.environ["FUNNEL_SERVING_DIR"] = str(self.serving_dir)


def make_env(root: Path) -> PipelineEnv:
    return PipelineEnv(root, root / "landing", root / "warehouse.duckdb", root / "serving")


@pytest.fixture(scope="session")
def generated_run(tmp_path_factory) -> PipelineEnv:
    """A 45-day generated, messy landing zone, run end to end once for the whole range."""
    from pipelines.cli import run_range
    from pipelines.generator import generate_landing_zone

    env = make_env(tmp_path_factory.mktemp("generated"))
    env.activate()
    generate_landing_zone(env.landing_dir, E2E_START, 45, 12, seed=11, messy_rate=0.03)
    assert run_range(E2E_START, E2E_START + dt.timedelta(days=44))
    return env
