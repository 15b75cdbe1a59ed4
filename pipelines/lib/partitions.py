"""The one daily partitions definition every partitioned asset shares.

A partition is a UTC calendar day of landing files. Runs over several days are single runs
(BackfillPolicy.single_run), so dbt is invoked once per range, not once per day.
"""

import dagster as dg

from pipelines.settings import load_settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=load_settings().start_date.isoformat(), timezone="UTC"
)
single_run = dg.BackfillPolicy.single_run()


def window_days(context: dg.AssetExecutionContext) -> list[str]:
    """The days (YYYY-MM-DD) of the run's partition window, in order."""
    return list(context.partition_keys)
