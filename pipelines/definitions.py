"""The code location: every area's definitions, merged, with the platform-wide policies."""

import dagster as dg

from pipelines.defs.dbt.assets import defs as dbt_defs
from pipelines.defs.ingest.assets import defs as ingest_defs
from pipelines.defs.operations.definitions import defs as operations_defs
from pipelines.defs.predict.definitions import defs as predict_defs
from pipelines.defs.publish.assets import defs as publish_defs

defs = dg.Definitions.merge(
    ingest_defs,
    dbt_defs,
    predict_defs,
    publish_defs,
    operations_defs,
    # Start-up, not data, dominates a run here: run every step in one process.
    dg.Definitions(executor=dg.in_process_executor),
)
