"""A dbt-duckdb plugin: registers the pipeline's SQL macros on every dbt connection.

Named in dbt_project/profiles.yml (`plugins: - module: pipelines.lib.duckdb_macros`).
The secret comes from FUNNEL_PSEUDONYMISATION_SECRET, as for the extractor.
"""

from __future__ import annotations

from dbt.adapters.duckdb.plugins import BasePlugin

from pipelines.lib.pseudonymise import macro_sql
from pipelines.settings import load_settings


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        conn.execute(macro_sql(load_settings().pseudonymisation_secret))
