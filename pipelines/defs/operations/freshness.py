"""Freshness of what BI tools read: a mart or the serving copy not updated for 36 hours is
stale (WARN after 26 hours, a missed daily run). Dagster's FreshnessPolicy, attached to the
assets (the dbt translator sets it on the marts, the publish asset on itself) and evaluated
by the daemon; nothing to schedule."""

import datetime as dt

import dagster as dg

STALE_AFTER = dt.timedelta(hours=36)
LATE_AFTER = dt.timedelta(hours=26)

MART_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=STALE_AFTER, warn_window=LATE_AFTER)
