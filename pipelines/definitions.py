"""The code location: every area's definitions, merged, with the platform-wide policies."""

import dagster as dg

from pipelines.defs.dbt import assets as dbt_area
from pipelines.defs.ingest import assets as ingest_area
from pipelines.defs.ingest import audit as audit_area
from pipelines.defs.operations import definitions as operations_area
from pipelines.defs.operations.progress import progress_logger
from pipelines.defs.predict import checks as predict_area
from pipelines.defs.publish import assets as publish_area
from pipelines.defs.quality import checks as quality_area
from pipelines.defs.resources import RESOURCES

defs = dg.Definitions.merge(
    ingest_area.defs,
    audit_area.defs,
    dbt_area.defs,
    quality_area.defs,
    predict_area.defs,
    publish_area.defs,
    operations_area.defs,
    # Start-up, not data, dominates a run here: run every step in one process. Every run
    # logs to the console (warnings) and to the progress logger (step lines, log file).
    dg.Definitions(
        resources=RESOURCES,
        executor=dg.in_process_executor,
        loggers={"console": dg.colored_console_logger, "progress": progress_logger},
    ),
)
