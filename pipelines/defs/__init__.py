"""Dagster definitions, one folder per area: ingest, dbt, quality, predict, publish, operations."""

import warnings

import dagster as dg

# Single-run backfill policies and freshness checks are marked beta/preview in Dagster 1.13;
# we rely on them knowingly, and their warnings (raised as the definitions are built) would
# only drown the logs.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)
