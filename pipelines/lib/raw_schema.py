"""DDL of the warehouse's `raw` schema, derived from the landing contract.

Every raw table: the contract columns typed, `_extra_columns`, then the lineage columns.
`raw.erasure_requests` is the exception: it keeps the e-mail only as its `customer_key` (the
keyed hash), so the erasure list itself holds no direct identifier.
`raw.load_log` has one row per entity and landing day loaded (replaced when the day is
reloaded, in the same transaction): the batch dbt builds from.
`raw.erased_keys` remembers the contact and order ids of erased people, so rows that land
later (or are re-extracted from old files) are kept out even when they carry no e-mail.
"""

from __future__ import annotations

from pipelines.lib.landing_contract import (
    ENTITIES,
    EXTRA_COLUMNS_COLUMN,
    LINEAGE_COLUMNS,
    REJECTED_ROWS_COLUMNS,
    REJECTED_ROWS_TABLE,
    Entity,
)

RAW_SCHEMA = "raw"
ERASED_KEYS_TABLE = "erased_keys"
LOAD_LOG_TABLE = "load_log"
LOAD_LOG_COLUMNS = (
    ("entity", "VARCHAR"),
    ("partition_date", "DATE"),
    ("source_file", "VARCHAR"),  # NULL when the day had no file
    ("loaded_at", "TIMESTAMP"),  # equal to the rows' _loaded_at
    ("data_records", "BIGINT"),
    ("rows_loaded", "BIGINT"),
    ("rows_rejected", "BIGINT"),
    ("rows_erased", "BIGINT"),  # rows of erased people this load kept out of or moved out of raw
)
ERASURE_COLUMNS = (
    ("customer_key", "VARCHAR"),
    ("requested_at", "TIMESTAMP"),
)


def table_columns(entity: Entity) -> tuple[tuple[str, str], ...]:
    """(name, type) of the raw table of an entity, in order."""
    if entity.name == "erasure_requests":
        contract = ERASURE_COLUMNS
    else:
        contract = tuple((c.name, c.type) for c in entity.columns)
    return contract + (EXTRA_COLUMNS_COLUMN,) + LINEAGE_COLUMNS


def _create(name: str, columns) -> str:
    body = ",\n    ".join(f'"{n}" {t}' for n, t in columns)
    return f"create table if not exists {RAW_SCHEMA}.{name} (\n    {body}\n);"


def raw_schema_ddl() -> str:
    """Idempotent DDL creating the raw schema and all its tables."""
    statements = [f"create schema if not exists {RAW_SCHEMA};"]
    statements += [_create(e.name, table_columns(e)) for e in ENTITIES]
    statements.append(_create(REJECTED_ROWS_TABLE, REJECTED_ROWS_COLUMNS))
    statements.append(_create(LOAD_LOG_TABLE, LOAD_LOG_COLUMNS))
    statements.append(
        _create(ERASED_KEYS_TABLE, (("key_type", "VARCHAR"), ("key_value", "VARCHAR")))
    )
    return "\n".join(statements)
