"""Raw assets: one per landing entity, loading a partition window into schema `raw`.

Errors that a retry cannot fix fail the step at once (`dg.Failure(allow_retries=False)`):
a landing file breaking the contract (`LandingContractError`), a configuration error, and
any DuckDB error about the data itself or the SQL. Their messages name files, lines and
reasons, never landing content: the extractor already drops DuckDB's own messages (which
quote lines) from reader errors, and data errors raised elsewhere are reported here by type
only, without their message or traceback chain. Only other errors (I/O, locks, memory) are
retried by the retry policy.
"""

import dagster as dg
import duckdb

from pipelines.lib.extract import FileReport, LandingContractError, extract_entity
from pipelines.lib.landing_contract import ENTITIES, Entity
from pipelines.lib.partitions import daily_partitions, single_run, window_days
from pipelines.lib.warehouse import warehouse_connection
from pipelines.settings import MissingSecretError, load_settings

ERASURE_KEY = dg.AssetKey(["raw", "erasure_requests"])


def _summary_table(reports: list[FileReport]) -> str:
    lines = ["| day | file | rows loaded | rows rejected |", "|---|---|---:|---:|"]
    for r in reports:
        file = r.file or "*(no file)*"
        lines.append(f"| {r.partition_date} | {file} | {r.rows_loaded} | {r.rows_rejected} |")
    return "\n".join(lines)


def _metadata(reports: list[FileReport]) -> dict:
    present = [r for r in reports if r.file_present]
    loaded = sum(r.rows_loaded for r in reports)
    rejected = sum(r.rows_rejected for r in reports)
    metadata: dict = {
        "rows_loaded": dg.MetadataValue.int(loaded),
        "rows_rejected": dg.MetadataValue.int(rejected),
        "files": dg.MetadataValue.int(len(present)),
        "days_without_file": dg.MetadataValue.int(len(reports) - len(present)),
        "file_present": dg.MetadataValue.bool(len(present) == len(reports)),
        "dagster/row_count": dg.MetadataValue.int(loaded),
        "per_file": dg.MetadataValue.md(_summary_table(reports)),
    }
    if len(reports) == 1:
        metadata["file"] = dg.MetadataValue.text(reports[0].file or "")
    return metadata


def build_raw_asset(entity: Entity) -> dg.AssetsDefinition:
    deps = [] if entity.name == "erasure_requests" else [ERASURE_KEY]

    @dg.asset(
        key=dg.AssetKey(["raw", entity.name]),
        group_name="raw",
        description=f"`raw.{entity.name}`: {entity.description} Landing files "
        f"`{entity.directory}/YYYY-MM-DD.csv` (or .parquet/.jsonl), typed, with lineage "
        "columns; breaching rows go to `raw.rejected_rows`; one row per day in `raw.load_log`.",
        partitions_def=daily_partitions,
        backfill_policy=single_run,
        required_resource_keys={"warehouse_lock"},
        deps=deps,
        kinds={"duckdb", "csv"},
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5),
    )
    def raw_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        try:
            settings = load_settings()
            secret = settings.pseudonymisation_secret
        except (ValueError, MissingSecretError) as exc:
            raise dg.Failure(
                description=f"configuration error: {exc}", allow_retries=False
            ) from exc
        days = window_days(context)
        context.log.info(
            f"Extracting {entity.name} for {days[0]}..{days[-1]} ({len(days)} days) "
            f"from {settings.landing_dir}"
        )
        with warehouse_connection(settings.warehouse_path, secret) as con:
            try:
                reports = extract_entity(
                    con,
                    settings.landing_dir,
                    entity,
                    days,
                    missing_file_policy=settings.missing_file_policy,
                )
            except LandingContractError as exc:
                # A contract breach is not transient: fail at once, without retries. The
                # message names file, line and reason only (see pipelines/lib/extract.py).
                raise dg.Failure(description=str(exc), allow_retries=False) from exc
            except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
                # About the data: not transient, and DuckDB's message may quote it.
                raise dg.Failure(
                    description=f"{entity.name}: the load failed on the data"
                    f" ({type(exc).__name__}; message withheld: it may quote landing content)",
                    allow_retries=False,
                ) from None
            except (
                duckdb.BinderException,
                duckdb.CatalogException,
                duckdb.ParserException,
                duckdb.NotImplementedException,
            ) as exc:
                # The extractor's SQL does not fit the warehouse: a retry cannot help.
                raise dg.Failure(
                    description=f"{entity.name}: extraction failed ({type(exc).__name__})",
                    allow_retries=False,
                ) from exc
        for r in reports:
            if r.rows_rejected:
                context.log.warning(
                    f"{r.file}: {r.rows_rejected} of {r.data_lines} rows rejected "
                    "(see raw.rejected_rows)"
                )
        loaded = sum(r.rows_loaded for r in reports)
        context.log.info(f"{entity.name}: {loaded} rows loaded from {len(reports)} day(s)")
        return dg.MaterializeResult(metadata=_metadata(reports))

    return raw_asset


raw_assets = [build_raw_asset(e) for e in ENTITIES]
defs = dg.Definitions(assets=raw_assets)
