"""The daily job: the whole graph for a partition window, in one process."""

import dagster as dg

from pipelines.lib.partitions import daily_partitions

# Every run of the job writes to the warehouse; the run queue admits one at a time
# (dagster.yaml: tag_concurrency_limits on this tag).
WAREHOUSE_RUN_TAG = {"funnel/warehouse": "writer"}

daily_job = dg.define_asset_job(
    name="daily_funnel_job",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    tags=WAREHOUSE_RUN_TAG,
    description="Extract the day's landing files, build dbt, validate, predict and publish.",
)
