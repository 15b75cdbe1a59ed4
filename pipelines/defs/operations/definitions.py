"""Jobs, schedules, sensors and freshness checks of the daily run."""

import dagster as dg

from pipelines.defs.operations.freshness import freshness_sensor, mart_freshness_checks
from pipelines.defs.operations.jobs import daily_job
from pipelines.defs.operations.schedules import daily_funnel_schedule
from pipelines.defs.operations.sensors import landing_sensor

defs = dg.Definitions(
    jobs=[daily_job],
    schedules=[daily_funnel_schedule],
    sensors=[landing_sensor, freshness_sensor],
    asset_checks=mart_freshness_checks,
)
