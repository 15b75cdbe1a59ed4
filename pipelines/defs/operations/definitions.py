"""The daily job, its schedule, the landing sensor and the alerts (freshness: freshness.py)."""

import dagster as dg

from pipelines.defs.operations.alerts import ALERT_SENSORS
from pipelines.defs.operations.jobs import daily_job
from pipelines.defs.operations.schedules import daily_funnel_schedule
from pipelines.defs.operations.sensors import landing_sensor

defs = dg.Definitions(
    jobs=[daily_job],
    schedules=[daily_funnel_schedule],
    sensors=[landing_sensor, *ALERT_SENSORS],
)
