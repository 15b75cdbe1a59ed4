"""Freshness of the published marts: stale when not updated for 36 hours."""

import datetime as dt

import dagster as dg

from pipelines.lib.serving import MARTS

STALE_AFTER = dt.timedelta(hours=36)

mart_freshness_checks = dg.build_last_update_freshness_checks(
    assets=[dg.AssetKey(["marts", m]) for m in MARTS] + [dg.AssetKey(["serving", "marts"])],
    lower_bound_delta=STALE_AFTER,
)
freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=mart_freshness_checks, name="mart_freshness_sensor"
)
