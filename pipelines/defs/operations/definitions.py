"""The daily job, its schedule and the landing sensor (freshness policies: freshness.py)."""

import dagster as dg

from pipelines.defs.operations.jobs import daily_job
from pipelines.defs.operations.schedules import daily_funnel_schedule
from pipelines.defs.operations.sensors import landing_sensor

defs = dg.Definitions(
    jobs=[daily_job],
    schedules=[daily_funnel_schedule],
    sensors=[landing_sensor],
)
