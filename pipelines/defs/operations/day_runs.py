"""One run per landing day, whichever of the schedule and the landing sensor asks first.

Run keys deduplicate only within one schedule or sensor, so with both turned on a day would
run twice. Both ask `day_already_run` instead: a day with a queued, running or successful
run of the daily job is not requested again (a failed or cancelled one may be retried).
"""

import dagster as dg

DAILY_JOB_NAME = "daily_funnel_job"
_LIVE_OR_DONE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.SUCCESS,
]


def day_already_run(instance: dg.DagsterInstance, day: str) -> bool:
    """True when the daily job has a queued, running or successful run for `day`."""
    runs = instance.get_run_records(
        filters=dg.RunsFilter(
            job_name=DAILY_JOB_NAME,
            tags={"dagster/partition": day},
            statuses=_LIVE_OR_DONE,
        ),
        limit=1,
    )
    return bool(runs)


def run_key(day: str) -> str:
    """The one run key of a day, the same for the schedule and the sensor."""
    return f"daily-{day}"
