"""With the schedule and the landing sensor both on, a day runs once (issue 17)."""

from __future__ import annotations

import datetime as dt
import uuid

import dagster as dg
import pytest

from pipelines.defs.operations.day_runs import DAILY_JOB_NAME, day_already_run, run_key
from pipelines.defs.operations.schedules import daily_funnel_schedule

pytestmark = pytest.mark.unit


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
    with dg.instance_for_test() as instance:
        assert not day_already_run(instance, "2026-01-04")
        _add_run(instance, "2026-01-04", dg.DagsterRunStatus.FAILURE)
        assert not day_already_run(instance, "2026-01-04")  # a failed day may run again
        _add_run(instance, "2026-01-05", dg.DagsterRunStatus.STARTED)
        _add_run(instance, "2026-01-06", dg.DagsterRunStatus.SUCCESS)
        assert day_already_run(instance, "2026-01-05")
        assert day_already_run(instance, "2026-01-06")
        assert not day_already_run(instance, "2026-01-07")


def test_the_schedule_skips_a_day_the_sensor_already_ran():
    at = dt.datetime(2026, 1, 7, 2, 0, tzinfo=dt.UTC)
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=at)
        request = daily_funnel_schedule(context)
        assert isinstance(request, dg.RunRequest)
        assert request.run_key == run_key("2026-01-06") and request.partition_key == "2026-01-06"

        _add_run(instance, "2026-01-06", dg.DagsterRunStatus.SUCCESS)
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=at)
        assert isinstance(daily_funnel_schedule(context), dg.SkipReason)
