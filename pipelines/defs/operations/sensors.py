"""The landing sensor: starts a day's run once every expected landing file of that day exists.

Expected: one file per entity and day, except erasure requests (they land only on days that
have some). The sensor looks back over the last LOOKBACK_DAYS days so a late file still
triggers its day; the cursor remembers the days already requested, and a day the schedule
already ran is skipped (day_runs.py).
"""

import datetime as dt
import json

import dagster as dg

from pipelines.defs.operations.day_runs import day_already_run, run_key
from pipelines.defs.operations.jobs import daily_job
from pipelines.lib.extract import find_day_file
from pipelines.lib.landing_contract import ENTITIES
from pipelines.settings import load_settings

LOOKBACK_DAYS = 7
EXPECTED_ENTITIES = tuple(e for e in ENTITIES if e.name != "erasure_requests")


def complete_days(landing_dir, candidates: list[str]) -> list[str]:
    """The candidate days for which every expected entity has its file."""
    return [
        day
        for day in candidates
        if all(find_day_file(landing_dir, entity, day) for entity in EXPECTED_ENTITIES)
    ]


@dg.sensor(
    name="landing_sensor",
    job=daily_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts a day's run when all of that day's expected landing files exist.",
)
def landing_sensor(context: dg.SensorEvaluationContext):
    settings = load_settings()
    requested = set(json.loads(context.cursor or "[]"))
    today = dt.datetime.now(dt.UTC).date()
    first = max(settings.start_date, today - dt.timedelta(days=LOOKBACK_DAYS))
    candidates = [
        (first + dt.timedelta(days=i)).isoformat() for i in range((today - first).days + 1)
    ]
    ready = [
        d
        for d in complete_days(settings.landing_dir, candidates)
        if d not in requested and not day_already_run(context.instance, d)
    ]
    for day in ready:
        yield dg.RunRequest(run_key=run_key(day), partition_key=day)
    if not ready:
        yield dg.SkipReason(f"No new complete landing day since {first}")
    window = {d for d in requested | set(ready) if d >= first.isoformat()}
    context.update_cursor(json.dumps(sorted(window)))
