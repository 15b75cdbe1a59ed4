"""The daily job: the whole graph for a window of landing days, in one process.

Only the raw assets are partitioned (a landing day); a run over any window extracts those
days and then builds, checks and publishes everything downstream once.
"""

import dagster as dg

# Every run of the job writes to the warehouse; the run queue admits one at a time
# (dagster.yaml: tag_concurrency_limits on this tag).
WAREHOUSE_RUN_TAG = {"funnel/warehouse": "writer"}

daily_job = dg.define_asset_job(
    name="daily_funnel_job",
    selection=dg.AssetSelection.all(),
    tags=WAREHOUSE_RUN_TAG,
    description="Extract the day's landing files, build dbt, validate, predict and publish.",
)
