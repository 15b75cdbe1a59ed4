"""Every dbt model, seed and test as Dagster assets and asset checks, built by one `dbt build`.

Keys are `[schema, name]` (e.g. `core/fct_orders`, `marts/cac_daily`), so they line up with
the raw assets (`raw/contacts`, the dbt sources). The dbt assets are not partitioned: what a
build restates is decided inside dbt from the warehouse itself (the loads since the last
committed build, see dbt_project/models/batch/), so a run over one day or a year records
one materialisation per model and one check result per test, and dbt's partial parsing stays
valid (no `--vars` change between runs).
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from pipelines.defs.dbt.project import (
    DBT_PROJECT_DIR,
    dbt_executable,
    dbt_project,
    prune_dbt_targets,
)
from pipelines.defs.operations.freshness import MART_FRESHNESS
from pipelines.defs.resources import WarehouseLock
from pipelines.lib.warehouse import warehouse_connection
from pipelines.settings import load_settings

# Unit tests check SQL logic on fixed rows, not data: they run in the test suite
# (tests/test_dbt_project.py), not in every production build.
DBT_BUILD_ARGS = ("build", "--exclude", "test_type:unit")
# The batch of a build is read after the raw layer's audit, whose raw suites validate exactly
# that batch (before dbt commits it).
AUDIT_KEY = dg.AssetKey(["raw", "load_audit"])
BATCH_MODEL = "batch_loads_pending"


class FunnelDbtTranslator(DagsterDbtTranslator):
    """Keys `[schema, name]` and groups by schema (staging, intermediate, core, marts)."""

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        props = self.get_resource_props(manifest, unique_id)
        if props["resource_type"] == "source":
            return spec
        schema = props.get("schema") or "main"
        spec = spec.replace_attributes(
            key=dg.AssetKey([schema, props["name"]]),
            group_name=schema,
        )
        if props["name"] == BATCH_MODEL:
            spec = spec.merge_attributes(deps=[AUDIT_KEY])
        if schema == "marts":
            spec = spec.replace_attributes(freshness_policy=MART_FRESHNESS)
        return spec


def dbt_build_args() -> list[str]:
    """The dbt command of every run: the same whatever the run's days (see module doc)."""
    return list(DBT_BUILD_ARGS)


def _with_row_counts(events: list, keys_by_output: Mapping[str, dg.AssetKey]) -> list:
    """Add `dagster/row_count` to each model's output, counted once dbt has let go of the
    file (DuckDB allows no reader beside dbt's writer)."""
    outputs = [e for e in events if isinstance(e, dg.Output)]
    if not outputs:
        return events
    counts: dict[str, Any] = {}
    with warehouse_connection(load_settings().warehouse_path, read_only=True) as con:
        existing = set(
            con.execute(
                "select table_schema, table_name from information_schema.tables"
                " where table_type = 'BASE TABLE'"
            ).fetchall()
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
)
def funnel_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse_lock: WarehouseLock
):
    # Events are held until dbt exits so each model's row count can be read from the file.
    events = list(dbt.cli(dbt_build_args(), context=context).stream())
    prune_dbt_targets()  # each invocation leaves target/<id>/; keep the latest few
    yield from _with_row_counts(events, context.assets_def.keys_by_output_name)


dbt_resource = DbtCliResource(
    project_dir=str(DBT_PROJECT_DIR),
    profiles_dir=str(DBT_PROJECT_DIR),
    dbt_executable=dbt_executable(),  # the venv's dbt, whether or not the venv is on PATH
)
defs = dg.Definitions(assets=[funnel_dbt_assets], resources={"dbt": dbt_resource})
