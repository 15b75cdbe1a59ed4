"""A dbt-duckdb plugin: registers the pipeline's SQL macros on every dbt connection and cursor.

Named in dbt_project/profiles.yml (`plugins: - module: pipelines.lib.duckdb_macros`).
The macros are TEMP (never stored in the warehouse file, since they embed the secret's pads)
and a DuckDB cursor is a connection of its own, so each cursor gets them too.
The secret comes from FUNNEL_PSEUDONYMISATION_SECRET, as for the extractor.
"""

from dbt.adapters.duckdb.plugins import BasePlugin

from pipelines.lib.pseudonymise import macro_sql
from pipelines.settings import load_settings


class Plugin(BasePlugin):
    def configure_connection(self, conn) -> None:
        conn.execute(macro_sql(load_settings().pseudonymisation_secret))

    def configure_cursor(self, cursor) -> None:
        cursor.execute(macro_sql(load_settings().pseudonymisation_secret))
