"""Funnel and retention data pipeline: Dagster orchestration over dbt-duckdb and Great Expectations.

Kept import-light on purpose: `python -m pipelines generate` and dbt-duckdb plugins import
this package, and neither should pay for importing Dagster.
"""
