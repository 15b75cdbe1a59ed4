"""The code location: every area's definitions, merged, with the platform-wide policies."""

import dagster as dg

from pipelines.defs.dbt.assets import defs as dbt_defs
from pipelines.defs.ingest.assets import defs as ingest_defs
from pipelines.defs.operations.jobs import daily_job
from pipelines.defs.publish.assets import defs as publish_defs

defs = dg.Definitions.merge(
    ingest_defs,
    dbt_defs,
    publish_defs,
    dg.Definitions(jobs=[daily_job], executor=dg.in_process_executor),
)
