"""With the schedule and the landing sensor both on, a day runs once (issue 17)."""

from __future__ import annotations

import uuid

import dagster as dg
import pytest

from pipelines.defs.operations.day_runs import DAILY_JOB_NAME, day_already_run

pytestmark = pytest.mark.unit
# An ephemeral instance, not instance_for_test: the latter leaves Dagster's definitions-state
# storage pointing at its deleted folder, which breaks later tests' materialize().


def _add_run(instance: dg.DagsterInstance, day: str, status: dg.DagsterRunStatus) -> None:
    instance.add_run(
        dg.DagsterRun(
            job_name=DAILY_JOB_NAME,
            run_id=str(uuid.uuid4()),
            tags={"dagster/partition": day},
            status=status,
        )
    )


def test_a_day_with_a_live_or_successful_run_is_not_requested_again():
    with dg.DagsterInstance.ephemeral() as instance:
        assert not day_already_run(instance, "2026-01-04")
        _add_run(instance, "2026-01-04", dg.DagsterRunStatus.FAILURE)
        assert not day_already_run(instance, "2026-01-04")  # a failed day may run again
        _add_run(instance, "2026-01-05", dg.DagsterRunStatus.STARTED)
        _add_run(instance, "2026-01-06", dg.DagsterRunStatus.SUCCESS)
        assert day_already_run(instance, "2026-01-05")
        assert day_already_run(instance, "2026-01-06")
        assert not day_already_run(instance, "2026-01-07")
