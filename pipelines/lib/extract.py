"""Extraction of landing files into the warehouse's raw schema, done by DuckDB itself.

One call loads one entity for a set of days (a partition window) in one transaction:

1. find each day's file (`.csv`, `.parquet` or `.jsonl`) and check its header against the
   contract: a missing required column raises `LandingContractError` naming file and column;
2. scan all files of the window in one `read_csv` (all columns as text, a global ordinal
   turned into the line number within each file);
3. type every contract column with `try_cast` and give each row its first contract breach
   (missing value or id, unparseable date/number, unknown currency/channel/status, more
   fields than the header); rows of people with an erasure request are set aside too;
4. replace the window's rows in the raw table and in `raw.rejected_rows`, then apply all
   erasure requests to every raw table.

So for every file, rows loaded + rows rejected = data lines, and re-running a window leaves
identical tables (apart from `_loaded_at`).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.lib.landing_contract import (
    ENTITIES,
    REJECTED_ROWS_TABLE,
    Column,
    Entity,
)
from pipelines.lib.raw_schema import ERASED_KEYS_TABLE, LOAD_LOG_TABLE, RAW_SCHEMA, table_columns

ERASED_REASON = "erased: privacy request"
_EXTENSIONS = ("csv", "parquet", "jsonl")


class LandingContractError(ValueError):
    """A landing file breaks the contract in a way that stops the whole load."""


@dataclass(frozen=True)
class FileReport:
    """What happened to one landing file (or to a day without one)."""

    entity: str
    partition_date: str
    file: str | None  # relative to the landing dir; None when the day has no file
    data_lines: int
    rows_loaded: int
    rows_rejected: int

    @property
    def file_present(self) -> bool:
        return self.file is not None


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def find_day_file(landing_dir: Path, entity: Entity, day: str) -> Path | None:
    found = [
        landing_dir / entity.file_path(day, ext)
        for ext in _EXTENSIONS
        if (landing_dir / entity.file_path(day, ext)).exists()
    ]
    if len(found) > 1:
        names = ", ".join(str(p) for p in found)
        raise LandingContractError(f"{entity.name} {day}: more than one file for the day: {names}")
    return found[0] if found else None


def _file_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Column names of a landing file, from its header (CSV) or schema."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), None)
        if not header:
            raise LandingContractError(f"{path}: empty file, no header row")
        return [h.strip() for h in header]
    if path.suffix == ".parquet":
        rows = con.execute(
            "select name from parquet_schema(?) where num_children is null", [str(path)]
        ).fetchall()
        return [r[0] for r in rows]
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
    return list(json.loads(first).keys()) if first.strip() else []


def check_columns(entity: Entity, path: Path, columns: list[str]) -> None:
    missing = [c for c in entity.column_names if c not in columns]
    if missing:
        raise LandingContractError(
            f"{path}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} for {entity.name} "
            f"(the contract requires: {', '.join(entity.column_names)})"
        )


def _scan_sql(fmt: str, paths: list[Path], columns: list[str]) -> str:
    """A scan of same-shaped files: `_file`, `_line`, every column as text, `_overflow`."""
    files = "[" + ", ".join(_lit(str(p)) for p in paths) + "]"
    if fmt == "csv":
        spec = ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in columns + ["_overflow"])
        scan = (
            f"read_csv({files}, header = true, auto_detect = false, delim = ',', quote = '\"',"
            f" escape = '\"', columns = {{{spec}}}, null_padding = true, strict_mode = false,"
            " filename = '_file')"
        )
        first_line = 2  # line 1 is the header
    elif fmt == "jsonl":
        spec = ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in columns)
        scan = (
            f"read_json({files}, format = 'newline_delimited', columns = {{{spec}}},"
            " filename = '_file')"
        )
        first_line = 1
    else:
        scan = f"read_parquet({files}, filename = '_file')"
        first_line = 1
    casts = ", ".join(f"{_q(c)}::VARCHAR as {_q(c)}" for c in columns)
    overflow = "_overflow" if fmt == "csv" else "null::VARCHAR as _overflow"
    # The reader keeps file order (preserve_insertion_order), so a global ordinal minus the
    # first ordinal of each file is the record's position in that file.
    return f"""
        select _file, _ord - min(_ord) over (partition by _file) + {first_line} as _line,
               {casts}, {overflow}
        from (select *, row_number() over () as _ord from {scan})
    """


def _raw(col: Column) -> str:
    """The landed text of a column, trimmed; empty means missing."""
    return f"nullif(trim({_q(col.name)}), '')"


def _typed(col: Column) -> str:
    raw = _raw(col)
    if col.type == "VARCHAR":
        return raw
    if col.type == "TIMESTAMP":
        return f"cast(try_cast({raw} as timestamptz) at time zone 'UTC' as timestamp)"
    return f"try_cast({raw} as {col.type})"


def _breach_cases(entity: Entity) -> tuple[str, str]:
    """CASE expressions giving the first breached column and the reason, NULL when clean."""
    whens_col, whens_reason = (
        ["when _overflow is not null then '*'"],
        ["when _overflow is not null then 'more fields than the header'"],
    )
    for col in entity.columns:
        raw = _raw(col)
        name = _lit(col.name)
        if col.required_value:
            what = "missing id" if col.is_id else "missing value"
            whens_col.append(f"when {raw} is null then {name}")
            whens_reason.append(f"when {raw} is null then '{what}'")
        if col.type != "VARCHAR":
            bad = f"{raw} is not null and {_typed(col)} is null"
            kind = "date" if col.type in ("DATE", "TIMESTAMP") else col.type.lower()
            whens_col.append(f"when {bad} then {name}")
            whens_reason.append(f"when {bad} then 'unparseable {kind}: ' || {raw}")
        if col.allowed is not None:
            allowed = ", ".join(_lit(v.lower()) for v in col.allowed)
            bad = f"{raw} is not null and lower({raw}) not in ({allowed})"
            label = {"channel": "channel", "status": "status"}.get(col.name, "currency")
            whens_col.append(f"when {bad} then {name}")
            whens_reason.append(f"when {bad} then 'unknown {label}: ' || {raw}")
    return (
        "case " + " ".join(whens_col) + " end",
        "case " + " ".join(whens_reason) + " end",
    )


def _erasure_match(entity: Entity) -> str:
    """SQL condition: the (typed) row belongs to a person with an erasure request."""
    conditions = []
    erased = f"{RAW_SCHEMA}.{ERASED_KEYS_TABLE}"
    if entity.email_column and entity.name != "erasure_requests":
        conditions.append(
            f"customer_key({_q(entity.email_column)}) in "
            f"(select customer_key from {RAW_SCHEMA}.erasure_requests)"
        )
    if entity.contact_id_column:
        conditions.append(
            f"{_q(entity.contact_id_column)} in (select key_value from {erased}"
            " where key_type = 'contact_id')"
        )
    if entity.order_id_column:
        conditions.append(
            f"{_q(entity.order_id_column)} in (select key_value from {erased}"
            " where key_type = 'order_id')"
        )
    return " or ".join(conditions) if conditions else "false"


def _has_erasures(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(
        f"select exists (select 1 from {RAW_SCHEMA}.erasure_requests)"
        f" or exists (select 1 from {RAW_SCHEMA}.{ERASED_KEYS_TABLE})"
    ).fetchall()[0][0]


def _person_keys(entity: Entity, prefix: str = "") -> str:
    email = f"customer_key({prefix}{_q(entity.email_column)})" if entity.email_column else "null"
    contact = f"{prefix}{_q(entity.contact_id_column)}" if entity.contact_id_column else "null"
    order = f"{prefix}{_q(entity.order_id_column)}" if entity.order_id_column else "null"
    return f"{email}, {contact}, {order}"


def extract_entity(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    entity: Entity,
    days: list[str],
    *,
    missing_file_policy: str = "empty",
) -> list[FileReport]:
    """Load `entity` for `days` (YYYY-MM-DD) into raw, replacing those days. See module doc.

    `con` must have the raw schema and the `customer_key` macro (see `prepare_connection`).
    """
    files: dict[str, Path] = {}
    for day in days:
        path = find_day_file(landing_dir, entity, day)
        if path is None and missing_file_policy == "fail":
            expected = landing_dir / entity.file_path(day)
            raise LandingContractError(f"{entity.name} {day}: no landing file ({expected})")
        if path is not None:
            files[day] = path

    # Group files by format and header so each group is one scan.
    groups: dict[tuple[str, tuple[str, ...]], list[Path]] = {}
    for path in files.values():
        columns = _file_columns(con, path)
        check_columns(entity, path, columns)
        fmt = path.suffix.lstrip(".")
        groups.setdefault((fmt, tuple(columns)), []).append(path)

    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    day_of_file = {str(p): day for day, p in files.items()}
    rel = {str(p): str(p.relative_to(landing_dir)) for p in files.values()}
    table = f"{RAW_SCHEMA}.{entity.name}"
    rejects = f"{RAW_SCHEMA}.{REJECTED_ROWS_TABLE}"
    breach_column, breach_reason = _breach_cases(entity)
    days_list = ", ".join(f"DATE {_lit(d)}" for d in days) or "NULL"

    con.execute("begin transaction")
    try:
        con.execute(f"delete from {table} where _partition_date in ({days_list})")
        con.execute(
            f"delete from {rejects} where entity = {_lit(entity.name)}"
            f" and partition_date in ({days_list})"
        )
        con.execute(
            "create or replace temp table _file_map (_file VARCHAR, source_file VARCHAR,"
            " partition_date DATE)"
        )
        if files:
            values = ", ".join(
                f"({_lit(p)}, {_lit(rel[p])}, DATE {_lit(day_of_file[p])})" for p in rel
            )
            con.execute(f"insert into _file_map values {values}")
        scanned: dict[str, int] = {}
        for (fmt, columns), paths in groups.items():
            scanned |= _load_group(
                con, entity, fmt, list(columns), paths, loaded_at, breach_column, breach_reason
            )
        swept = 0
        if entity.name == "erasure_requests":
            swept = apply_erasures(con, loaded_at)
        elif _register_erased_ids(con, from_raw_tables=False):
            # This load met an erased person under an id not seen before (say, a contact
            # that landed after the request): sweep the other tables for that id too.
            swept = apply_erasures(con, loaded_at)
        counts = _day_counts(con, entity, days_list)
        _write_load_log(con, entity, days, files, rel, scanned, counts, loaded_at, swept)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise

    reports = []
    for day in days:
        path = files.get(day)
        if path is None:
            reports.append(FileReport(entity.name, day, None, 0, 0, 0))
            continue
        name = rel[str(path)]
        loaded, rejected = counts.get((name, "loaded"), 0), counts.get((name, "rejected"), 0)
        reports.append(FileReport(entity.name, day, name, loaded + rejected, loaded, rejected))
    return reports


def _day_counts(con, entity: Entity, days_list: str) -> dict[tuple[str, str], int]:
    """Rows loaded, rejected and erased-at-load of the window, by (source file, kind)."""
    table = f"{RAW_SCHEMA}.{entity.name}"
    rejects = f"{RAW_SCHEMA}.{REJECTED_ROWS_TABLE}"
    return dict(
        ((f, kind), n)
        for f, kind, n in con.execute(
            f"""
            select _source_file, 'loaded', count(*) from {table}
            where _partition_date in ({days_list}) group by 1
            union all
            select source_file, 'rejected', count(*) from {rejects}
            where entity = {_lit(entity.name)} and partition_date in ({days_list}) group by 1
            union all
            select source_file, 'erased', count(*) from {rejects}
            where entity = {_lit(entity.name)} and partition_date in ({days_list})
                and reason = {_lit(ERASED_REASON)} group by 1
            """
        ).fetchall()
    )


def _write_load_log(con, entity, days, files, rel, scanned, counts, loaded_at, swept) -> None:
    """Replace the window's rows of raw.load_log: one per day, in the load's transaction.

    `data_records` is what the reader scanned from the file, counted before rows are split
    into loaded and rejected, so the load audit's reconciliation checks that split.
    `swept` rows of other tables moved out by an erasure sweep count on the window's first
    day, so the batch that follows knows it erased rows."""
    log = f"{RAW_SCHEMA}.{LOAD_LOG_TABLE}"
    days_list = ", ".join(f"DATE {_lit(d)}" for d in days) or "NULL"
    con.execute(
        f"delete from {log} where entity = {_lit(entity.name)} and partition_date in ({days_list})"
    )
    values = []
    for i, day in enumerate(days):
        path = files.get(day)
        name = rel[str(path)] if path is not None else None
        loaded = counts.get((name, "loaded"), 0) if name else 0
        rejected = counts.get((name, "rejected"), 0) if name else 0
        erased = (counts.get((name, "erased"), 0) if name else 0) + (swept if i == 0 else 0)
        source = _lit(name) if name else "NULL"
        values.append(
            f"({_lit(entity.name)}, DATE {_lit(day)}, {source}, TIMESTAMP {_lit(str(loaded_at))},"
            f" {scanned.get(name, 0) if name else 0}, {loaded}, {rejected}, {erased})"
        )
    if values:
        con.execute(f"insert into {log} values {', '.join(values)}")


def _load_group(
    con, entity, fmt, columns, paths, loaded_at, breach_column, breach_reason
) -> dict[str, int]:
    """Load one group of same-shaped files; returns the records scanned per source file."""
    contract = set(entity.column_names)
    extra = [c for c in columns if c not in contract]
    extra_map = (
        "map(["
        + ", ".join(_lit(c) for c in extra)
        + "], ["
        + ", ".join(_q(c) for c in extra)
        + "])"
        if extra
        else "null::MAP(VARCHAR, VARCHAR)"
    )
    if entity.name == "erasure_requests":
        requested_at = next(c for c in entity.columns if c.name == "requested_at")
        contract_select = (
            f"customer_key(email) as customer_key, {_typed(requested_at)} as requested_at"
        )
        erased = "false"
    else:
        contract_select = ", ".join(f"{_typed(c)} as {_q(c.name)}" for c in entity.columns)
        erased = _erasure_match(entity) if _has_erasures(con) else "false"
    erased_column = _lit(
        entity.contact_id_column or entity.order_id_column or entity.email_column or "*"
    )
    # One pass: scan, line numbers, types, the first breach, and erasure (decided on typed
    # values, so the e-mail hash sees the normalised address).
    con.execute(
        f"""
        create or replace temp table _typed as
        with typed as (
            select {contract_select}, {extra_map} as _extra_columns,
                   m.source_file as _source_file, s._line as _source_line,
                   TIMESTAMP {_lit(str(loaded_at))} as _loaded_at,
                   m.partition_date as _partition_date,
                   {breach_column} as _breach_column, {breach_reason} as _breach_reason, _file
            from ({_scan_sql(fmt, paths, columns)}) s join _file_map m using (_file)
        )
        select * replace (
            case when _breach_reason is null and ({erased}) then {erased_column}
                 else _breach_column end as _breach_column,
            case when _breach_reason is null and ({erased}) then {_lit(ERASED_REASON)}
                 else _breach_reason end as _breach_reason)
        from typed
        """
    )
    names = ", ".join(_q(n) for n, _ in table_columns(entity))
    con.execute(
        f"insert into {RAW_SCHEMA}.{entity.name} ({names})"
        f" select {names} from _typed where _breach_reason is null"
    )
    _insert_rejects(con, entity, fmt, loaded_at)
    return {
        source_file: n
        for source_file, n in con.execute(
            "select _source_file, count(*) from _typed group by 1"
        ).fetchall()
    }


def _insert_rejects(con, entity: Entity, fmt: str, loaded_at) -> None:
    # Raw text of a rejected CSV line, read back from its file; other formats as JSON.
    # Erased people's lines and all erasure-request lines are never kept (they hold PII).
    reject_files = [
        r[0]
        for r in con.execute(
            "select distinct _file from _typed where _breach_reason is not null"
        ).fetchall()
    ]
    if not reject_files:
        return
    if fmt == "csv":
        raw_line = "rtrim(l.lines[t._source_line], chr(13))"
        listed = "[" + ", ".join(_lit(f) for f in reject_files) + "]"
        lines_join = (
            "left join (select filename as _file, string_split(content, chr(10)) as lines"
            f" from read_text({listed})) l using (_file)"
        )
    else:
        raw_line = "null"
        lines_join = ""
    redact = entity.name == "erasure_requests"
    keys = _person_keys(entity, "t.") if entity.name != "erasure_requests" else "null, null, null"
    con.execute(
        f"""
        insert into {RAW_SCHEMA}.{REJECTED_ROWS_TABLE}
        select {_lit(entity.name)}, t._source_file, t._source_line, t._breach_column,
               t._breach_reason,
               case when {str(redact).lower()} or t._breach_reason = {_lit(ERASED_REASON)}
                    then null else {raw_line} end,
               t._partition_date, TIMESTAMP {_lit(str(loaded_at))}, {keys}
        from _typed t {lines_join}
        where t._breach_reason is not null
        """
    )


def _register_erased_ids(con: duckdb.DuckDBPyConnection, from_raw_tables: bool) -> int:
    """Remember the contact and order ids of erased people; returns how many were new.

    Ids come from rows already set aside as erased and, for a full sweep, from the raw
    tables (hashing every e-mail there, so only the erasure asset asks for it)."""
    erased = f"{RAW_SCHEMA}.{ERASED_KEYS_TABLE}"
    keys = f"(select customer_key from {RAW_SCHEMA}.erasure_requests)"
    rejects = f"{RAW_SCHEMA}.{REJECTED_ROWS_TABLE}"
    from_raw = f"""
        select distinct 'contact_id', contact_id from {RAW_SCHEMA}.contacts
        where customer_key(email) in {keys}
        union
        select distinct 'order_id', order_id from {RAW_SCHEMA}.orders
        where customer_key(customer_email) in {keys}
        union
    """
    return con.execute(
        f"""
        insert into {erased}
        {from_raw if from_raw_tables else ""}
        select distinct 'contact_id', person_contact_id from {rejects}
        where person_customer_key in {keys} and person_contact_id is not null
        union
        select distinct 'order_id', person_order_id from {rejects}
        where person_customer_key in {keys} and person_order_id is not null
        except
        select key_type, key_value from {erased}
        """
    ).fetchall()[0][0]


def apply_erasures(con: duckdb.DuckDBPyConnection, loaded_at: dt.datetime) -> int:
    """Move every row of an erased person out of the raw tables, into rejected_rows without
    its content; remember their contact and order ids. Returns the number of rows moved."""
    erased = f"{RAW_SCHEMA}.{ERASED_KEYS_TABLE}"
    keys = f"(select customer_key from {RAW_SCHEMA}.erasure_requests)"
    rejects = f"{RAW_SCHEMA}.{REJECTED_ROWS_TABLE}"
    if not _has_erasures(con):
        return 0
    _register_erased_ids(con, from_raw_tables=True)
    moved = 0
    for entity in ENTITIES:
        if entity.name == "erasure_requests":
            continue
        match = _erasure_match(entity)
        if match == "false":
            continue
        table = f"{RAW_SCHEMA}.{entity.name}"
        key_col = entity.contact_id_column or entity.order_id_column or entity.email_column
        moved += con.execute(
            f"""
            insert into {rejects}
            select {_lit(entity.name)}, _source_file, _source_line, {_lit(key_col)},
                   {_lit(ERASED_REASON)}, null, _partition_date,
                   TIMESTAMP {_lit(str(loaded_at))}, {_person_keys(entity)}
            from {table} where {match}
            """
        ).fetchall()[0][0]
        con.execute(f"delete from {table} where {match}")
    # Lines set aside for other reasons that belong to an erased person lose their content.
    con.execute(
        f"""
        update {rejects} set raw_line = null
        where raw_line is not null and (
            person_customer_key in {keys}
            or person_contact_id in (select key_value from {erased}
                                     where key_type = 'contact_id')
            or person_order_id in (select key_value from {erased} where key_type = 'order_id'))
        """
    )
    return moved
