"""DDL of the warehouse's `raw` schema, derived from the landing contract.

Every raw table: the contract columns typed, `_extra_columns`, then the lineage columns.
`raw.erasure_requests` is the exception: one row per request holding only `requested_at` and
the lineage columns (no e-mail, no customer_key, no extra columns), so the Dagster asset, its
load_log rows and its GE suite keep working while the table identifies no one.
`raw.load_log` has one row per entity and landing day loaded (replaced when the day is
reloaded, in the same transaction): the batch dbt builds from.

`raw.suppression_list` (key_type, key_hash, requested_at) is the one list of erased people:
one row per key of an erased person, `key_type` one of `email`, `contact_id`, `order_id`,
`key_hash` the lower-case hex SHA-256 of `'suppress:' || key_type || ':' || value`, where the
value is the e-mail's customer_key for `email` and the raw id for the others
(`pseudonymise.suppression_hash`). The hash is one-way and unkeyed on purpose: it is never
equal to a customer_key or an id, so the list holds nothing that joins to any other table
or to the marts, yet the extractor can test every landed row against it (re-extractions and
backfills of old files included). It is append-only: an erasure is never undone.
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
SUPPRESSION_TABLE = "suppression_list"
SUPPRESSION_COLUMNS = (
    ("key_type", "VARCHAR"),  # email | contact_id | order_id
    ("key_hash", "VARCHAR"),  # sha256 hex of 'suppress:<key_type>:<value>'
    ("requested_at", "TIMESTAMP"),  # the erasure request's time, UTC
)
# Tables of the former erasure design (raw e-mail keys and raw ids): migrated, then dropped.
LEGACY_ERASED_KEYS_TABLE = "erased_keys"
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
ERASURE_COLUMNS = (("requested_at", "TIMESTAMP"),)


def table_columns(entity: Entity) -> tuple[tuple[str, str], ...]:
    """(name, type) of the raw table of an entity, in order."""
    if entity.name == "erasure_requests":
        return ERASURE_COLUMNS + LINEAGE_COLUMNS
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
    statements.append(_create(SUPPRESSION_TABLE, SUPPRESSION_COLUMNS))
    return "\n".join(statements)
