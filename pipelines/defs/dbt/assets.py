"""Every dbt model, seed and test as Dagster assets and asset checks, built by one `dbt build`.

Keys are `[schema, name]` (e.g. `core/fct_orders`, `marts/cac_daily`), so they line up with
the raw assets (`raw/contacts`, the dbt sources). All dbt assets share the daily partitions;
a run over any window invokes dbt once, passing the window as vars, and incremental models
use it to limit their work.
"""

import datetime as dt
import json
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines.defs.dbt.project import DBT_PROJECT_DIR, dbt_env, dbt_executable, dbt_project
from pipelines.lib.partitions import WAREHOUSE_POOL, daily_partitions, single_run
from pipelines.lib.warehouse import warehouse_connection
from pipelines.settings import load_settings


class FunnelDbtTranslator(DagsterDbtTranslator):
    """Keys `[schema, name]` and groups by schema (staging, intermediate, core, marts)."""

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        schema = props.get("schema") or "main"
        return spec.replace_attributes(
            key=dg.AssetKey([schema, props["name"]]),
            group_name=schema,
        )


def dbt_vars(window: dg.TimeWindow) -> dict[str, str]:
    """The run's partition window as dbt vars (max_date inclusive)."""
    return {
        "min_date": window.start.date().isoformat(),
        "max_date": (window.end - dt.timedelta(days=1)).date().isoformat(),
    }


def dbt_build_args(window: dg.TimeWindow) -> list[str]:
    """`dbt build` for the window. Unit tests check SQL logic on fixed rows, not data: they
    run in the test suite (tests/test_dbt_project.py), not in every production build."""
    return ["build", "--vars", json.dumps(dbt_vars(window)), "--exclude", "test_type:unit"]


def _with_row_counts(events: list, keys_by_output: Mapping[str, dg.AssetKey]) -> list:
    """Add `dagster/row_count` to each model's output, counted once dbt has let go of the
    file (DuckDB allows no reader beside dbt's writer)."""
    outputs = [e for e in events if isinstance(e, dg.Output)]
    if not outputs:
        return events
    settings = load_settings()
    counts: dict[str, Any] = {}
    with warehouse_connection(settings.warehouse_path, read_only=True) as con:
        existing = set(
            con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        )
        for output in outputs:
            path = tuple(keys_by_output[output.output_name].path)
            if len(path) == 2 and path in existing:
                counts[output.output_name] = con.execute(
                    f'select count(*) from "{path[0]}"."{path[1]}"'
                ).fetchall()[0][0]
    return [
        e.with_metadata(
            {**e.metadata, "dagster/row_count": dg.MetadataValue.int(counts[e.output_name])}
        )
        if isinstance(e, dg.Output) and e.output_name in counts
        else e
        for e in events
    ]


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    dagster_dbt_translator=FunnelDbtTranslator(),
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    pool=WAREHOUSE_POOL,
)
def funnel_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    window = context.partition_time_window
    context.log.info(f"dbt build with vars {dbt_vars(window)}")
    os.environ.update(dbt_env())
    # Events are held until dbt exits so each model's row count can be read from the file.
    events = list(dbt.cli(dbt_build_args(window), context=context).stream())
    yield from _with_row_counts(events, context.assets_def.keys_by_output_name)


dbt_resource = DbtCliResource(
    project_dir=str(DBT_PROJECT_DIR),
    profiles_dir=str(DBT_PROJECT_DIR),
    dbt_executable=dbt_executable(),  # the venv's dbt, whether or not the venv is on PATH
)
defs = dg.Definitions(assets=[funnel_dbt_assets], resources={"dbt": dbt_resource})
