"""Predicted LTV wired into the graph: after the dbt `customers` mart, before publication."""

import dagster as dg

from pipelines.defs.predict.assets import build_predict_assets
from pipelines.lib.partitions import WAREHOUSE_POOL, daily_partitions
from pipelines.settings import load_settings

customer_predictions, customer_predictions_holdout = build_predict_assets(
    dg.AssetKey(["marts", "customers"]),
    lambda: load_settings().warehouse_path,
    daily_partitions,
    key_prefix=("predict",),
    pool=WAREHOUSE_POOL,
)

defs = dg.Definitions(assets=[customer_predictions], asset_checks=[customer_predictions_holdout])
