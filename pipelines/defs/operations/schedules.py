"""The daily schedule: at 02:00 (FUNNEL_SCHEDULE_TIMEZONE, default UTC), the previous day."""

import datetime as dt

import dagster as dg

from pipelines.defs.operations.day_runs import day_already_run, run_key
from pipelines.defs.operations.jobs import daily_job
from pipelines.settings import load_settings


def previous_day(scheduled: dt.datetime) -> str:
    """The partition a run scheduled at `scheduled` (local time) processes: the day before."""
    return (scheduled.date() - dt.timedelta(days=1)).isoformat()


@dg.schedule(
    name="daily_funnel_schedule",
    cron_schedule="0 2 * * *",
    job=daily_job,
    execution_timezone=load_settings().schedule_timezone,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Runs the whole graph for the previous day at 02:00. Turn it on in the UI "
    "(Automation) for production use.",
)
def daily_funnel_schedule(context: dg.ScheduleEvaluationContext):
    day = previous_day(context.scheduled_execution_time)
    if day_already_run(context.instance, day):
        return dg.SkipReason(f"{day} already has a run (the landing sensor started it)")
    return dg.RunRequest(run_key=run_key(day), partition_key=day)
