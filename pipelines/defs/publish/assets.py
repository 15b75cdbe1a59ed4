"""Publication for BI tools: the serving copy of the marts, and the offline HTML report.

`serving/marts` runs only after every mart's blocking checks passed in the same run; when a
check fails the serving files keep the last good version. Neither is partitioned: each run
publishes the marts once, whatever days it loaded.
"""

import dagster as dg

from pipelines.defs.dbt.project import dbt_project, mart_names, prune_dbt_targets
from pipelines.defs.quality.checks import write_data_docs
from pipelines.lib.compaction import compact_database
from pipelines.lib.erasure_sweep import erasures_to_sweep, record_sweep
from pipelines.lib.mart_docs import mart_descriptions
from pipelines.lib.serving import publish_marts
from pipelines.settings import load_settings

MART_KEYS = [dg.AssetKey(["marts", m]) for m in mart_names()]
PUBLISHED_KEY = dg.AssetKey(["serving", "marts"])


@dg.asset(
    key=PUBLISHED_KEY,
    group_name="serving",
    deps=MART_KEYS,
    kinds={"duckdb", "parquet"},
    required_resource_keys={"warehouse_lock"},
    description="The published marts: `$FUNNEL_SERVING_DIR/marts.duckdb` (schema `main`, in "
    "a storage format DuckDB 1.1+ opens, with the dbt docs as comments) and "
    "`$FUNNEL_SERVING_DIR/parquet/<mart>.parquet`, swapped in atomically.",
)
def published_marts(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = load_settings()
    erased_until = erasures_to_sweep(settings.warehouse_path)
    rows = publish_marts(
        settings.warehouse_path,
        settings.serving_dir,
        erasure_applied=erased_until is not None,
        marts=mart_names(),
        # table and column comments from the dbt docs; money as DECIMAL(18, 2), counts BIGINT
        descriptions=mart_descriptions(dbt_project().manifest_path),
    )
    context.log.info(f"Published {len(rows)} marts to {settings.serving_dir}")
    docs = write_data_docs(settings.warehouse_path, settings.serving_dir)
    context.log.info(f"Great Expectations data docs written to {docs}")
    sweep: dict = {}
    if erased_until is not None:
        # Erased people's rows still sit in the warehouse file's free blocks: rewrite it.
        compacted = compact_database(settings.warehouse_path)
        prune_dbt_targets()
        record_sweep(settings.warehouse_path, erased_until)
        context.log.info(
            f"Erasure sweep: older serving versions removed, warehouse rewritten in "
            f"{compacted.seconds:.1f} s ({compacted.bytes_before:,} -> {compacted.bytes_after:,} B)"
        )
        sweep = {"erasure_sweep_seconds": dg.MetadataValue.float(round(compacted.seconds, 2))}
    table = "\n".join(
        ["| mart | rows |", "|---|---:|", *(f"| {m} | {n} |" for m, n in rows.items())]
    )
    return dg.MaterializeResult(
        metadata={
            "serving_dir": dg.MetadataValue.path(str(settings.serving_dir)),
            "marts": dg.MetadataValue.md(table),
            **{f"rows_{m}": dg.MetadataValue.int(n) for m, n in rows.items()},
            **sweep,
        }
    )


@dg.asset(
    key=dg.AssetKey(["serving", "report"]),
    group_name="serving",
    deps=[PUBLISHED_KEY],
    kinds={"html"},
    description="`$FUNNEL_SERVING_DIR/report.html`: a self-contained offline report (headline "
    "figures, funnel by week and month, CAC by channel, recurring and cohort retention, LTV "
    "curves, LTV:CAC, lifecycle) with date-range and channel filters. It only selects from the "
    "published marts: its figures and lists are rows of `marts.report_headline`.",
)
def html_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    from pipelines.defs.dbt.project import dbt_var
    from pipelines.lib.report import build_report

    settings = load_settings()
    output = settings.serving_dir / "report.html"
    info = build_report(
        settings.serving_dir / "marts.duckdb",
        output,
        reporting_currency=dbt_var("reporting_currency"),
    )
    context.log.info(f"Report written to {output}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(output)),
            **{k: v for k, v in info.items() if isinstance(v, int | float | str)},
        }
    )


defs = dg.Definitions(assets=[published_marts, html_report])
