"""Extraction of landing files into the warehouse's raw schema, done by DuckDB itself.

One call loads one entity for a set of days (a partition window) in one transaction:

1. check the entity's folder: every file named like a day file must be exactly
   `YYYY-MM-DD.{csv,parquet,jsonl}` with a real date, else the load fails with
   `LandingContractError` naming the misnamed files (a `2026-1-7.csv`, `2026-01-32.csv`,
   `<day>.CSV` or `notes.csv` would otherwise be silently never loaded). Hidden files
   (`.DS_Store`, `.2026-01-07.csv.tmp`), folders and files that look like neither a day nor
   a data file (`README`, `notes.md`) are tolerated and ignored;
2. find each day's file and check it: CSV and JSON Lines must be UTF-8 (a UTF-8 BOM is
   accepted in CSV; the first invalid byte fails the load, naming the file and the byte
   offset); the header must hold every required column and no two names that collide once
   trimmed and lower-cased;
3. scan the files of the window: the structure of each text file (its physical lines, where
   each record starts and ends, honouring quoted fields with newlines, blank lines and CRLF)
   is computed by DuckDB from `read_text`, the fields by one `read_csv` / `read_json` with
   every column as text, and the two are matched record by record, so `_source_line` is
   the record's physical first line (the header is line 1) and a rejected row's `raw_line`
   is the record's exact text (all its lines). A record that cannot be matched
   (a stray quote), an unterminated quote, a physical line over `MAX_LINE_BYTES` or any
   reader error fails the load with `LandingContractError` naming file, line when known,
   and reason; never the content (DuckDB's own messages quote lines, so they are dropped);
4. type every contract column with `try_cast` and give each row its first contract breach
   (missing value or id, unparseable date/number, timestamp without a UTC offset, unknown
   currency/channel/status, FX rate not positive and finite, negative order amount, more
   fields than the header); rows of people on the suppression list are set aside too;
5. replace the window's rows in the raw table and in `raw.rejected_rows`, then apply the
   suppression list to every raw table (see `apply_erasures`), and write `raw.load_log`.

Erasure: an erasure request becomes a row of `raw.suppression_list` (a one-way hash, see
pipelines/lib/raw_schema.py); the e-mail, its customer_key and the person's ids are kept
nowhere. Every load tests its rows against the list, so re-extracting old files never
brings an erased person back; rejected rows of erased people keep no person keys, no raw
line and no value in their reason. After a load that erased rows the database is
checkpointed so that DuckDB rewrites what it can of the deleted rows' blocks.

So for every file, rows loaded + rows rejected = data records, and re-running a window
leaves identical tables (apart from `_loaded_at`).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.lib.landing_contract import (
    ENTITIES,
    ENTITIES_BY_NAME,
    REJECTED_ROWS_TABLE,
    Column,
    Entity,
)
from pipelines.lib.pseudonymise import suppression_hash_sql
from pipelines.lib.raw_schema import (
    LEGACY_ERASED_KEYS_TABLE,
    LOAD_LOG_TABLE,
    RAW_SCHEMA,
    SUPPRESSION_TABLE,
    table_columns,
)

ERASED_REASON = "erased: privacy request"
_EXTENSIONS = ("csv", "parquet", "jsonl")
# The longest physical line accepted (DuckDB's CSV reader stops at 2 MiB per line).
MAX_LINE_BYTES = 1_000_000
_DAY_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.(csv|parquet|jsonl)$")
_DATE_LIKE = re.compile(r"^\d{1,4}[-_]\d{1,2}[-_]\d{1,2}(\.|$)")
_DATA_LIKE_EXTENSIONS = ("csv", "parquet", "jsonl", "ndjson", "tsv")
# A timestamp carries a UTC offset or zone: ...HH:MM[:SS[.fff]] then Z, UTC or +HH[[:]MM].
_OFFSET_RE = r"\d:\d\d(:\d\d([.,]\d*)?)?\s*(?i:z|utc|gmt|[+-]\d\d(:?\d\d)?)$"
SUPPRESSION = f"{RAW_SCHEMA}.{SUPPRESSION_TABLE}"
ENTITIES_ERASURE = ENTITIES_BY_NAME["erasure_requests"]


class LandingContractError(ValueError):
    """A landing file breaks the contract in a way that stops the whole load.

    Its message names the file (and the line or byte offset when known) and the reason,
    never the file's content."""


@dataclass(frozen=True)
class FileReport:
    """What happened to one landing file (or to a day without one)."""

    entity: str
    partition_date: str
    file: str | None  # relative to the landing dir; None when the day has no file
    data_lines: int  # data records (a quoted field with newlines makes one record)
    rows_loaded: int
    rows_rejected: int

    @property
    def file_present(self) -> bool:
        return self.file is not None


def _q(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# ----------------------------------------------------------------------------- files


def check_entity_folder(landing_dir: Path, entity: Entity) -> None:
    """Fail on files of the entity's folder that look like day files but are misnamed."""
    folder = landing_dir / entity.directory
    if not folder.is_dir():
        return
    bad = []
    for path in folder.iterdir():
        name = path.name
        if name.startswith(".") or not path.is_file():
            continue
        match = _DAY_FILE.match(name)
        if match:
            try:
                dt.date.fromisoformat(match.group(1))
                continue
            except ValueError:
                bad.append(name)
                continue
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if _DATE_LIKE.match(name) or extension in _DATA_LIKE_EXTENSIONS:
            bad.append(name)
    if bad:
        raise LandingContractError(
            f"{folder}: misnamed landing file{'s' if len(bad) > 1 else ''} "
            f"{', '.join(sorted(bad))} (a day file is named YYYY-MM-DD.csv, .parquet or "
            ".jsonl with a real date, lower-case extension)"
        )


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


def check_utf8(path: Path, chunk_bytes: int = 1 << 20) -> None:
    """Fail at the first byte that is not valid UTF-8, naming the file and its byte offset."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(chunk_bytes)
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                at = offset - pending + exc.start
                raise LandingContractError(
                    f"{path}: not UTF-8: invalid byte at byte offset {at}"
                ) from None
            if not chunk:
                return
            offset += len(chunk)


def _file_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Column names of a landing file, from its header (CSV) or schema."""
    if path.suffix == ".csv":
        with path.open("rb") as handle:
            first = handle.readline(MAX_LINE_BYTES + 1)
        if len(first) > MAX_LINE_BYTES:
            raise LandingContractError(f"{path}: line 1: header longer than {MAX_LINE_BYTES} bytes")
        try:
            header = next(csv.reader(io.StringIO(first.decode("utf-8-sig"))), None)
        except csv.Error:
            raise LandingContractError(f"{path}: line 1: unreadable header row") from None
        if not header:
            raise LandingContractError(f"{path}: empty file, no header row")
        return [h.strip() for h in header]
    if path.suffix == ".parquet":
        try:
            rows = con.execute(
                "select name from parquet_schema(?) where num_children is null", [str(path)]
            ).fetchall()
        except (duckdb.InvalidInputException, duckdb.IOException):
            raise LandingContractError(f"{path}: not a readable Parquet file") from None
        return [r[0] for r in rows]
    with path.open(encoding="utf-8") as handle:
        first = handle.readline(MAX_LINE_BYTES + 1)
    if not first.strip():
        return []
    if first.startswith("\ufeff"):
        raise LandingContractError(
            f"{path}: a byte order mark (BOM), which JSON Lines files may not have"
        )
    try:
        # Pairs, not a dict, so that a duplicated key is seen (check_columns fails on it).
        record = json.loads(first, object_pairs_hook=list)
    except ValueError:
        raise LandingContractError(f"{path}: line 1: not a JSON object") from None
    if not isinstance(record, list):
        raise LandingContractError(f"{path}: line 1: not a JSON object")
    return [key for key, _ in record]


def check_columns(entity: Entity, path: Path, columns: list[str]) -> None:
    seen: dict[str, str] = {}
    for column in columns:
        key = column.strip().lower()
        if key in seen:
            same = seen[key] == column
            raise LandingContractError(
                f"{path}: {'duplicated' if same else 'colliding'} column name {column!r}"
                + ("" if same else f" (same as {seen[key]!r} once trimmed and lower-cased)")
            )
        seen[key] = column
    missing = [c for c in entity.column_names if c not in columns]
    if missing:
        raise LandingContractError(
            f"{path}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} for {entity.name} "
            f"(the contract requires: {', '.join(entity.column_names)})"
        )


# ------------------------------------------------------------------ reader and lines


def _reader_error(exc: duckdb.Error, paths: list[Path]) -> LandingContractError:
    """A reader error without the landing content DuckDB's message quotes."""
    message = str(exc)
    named = [p for p in paths if str(p) in message] or paths
    where = ", ".join(str(p) for p in named)
    line = re.search(r"\bline:? (\d+)", message, re.IGNORECASE)
    lower = message.lower()
    if "maximum line size" in lower or "max_line_size" in lower:
        reason = "a record longer than the reader's maximum line size"
    elif "byte order mark" in lower:
        reason = "a byte order mark (BOM), which JSON Lines files may not have"
    elif "unicode" in lower or "utf-8" in lower or "utf8" in lower:
        reason = "not UTF-8"
    elif "malformed json" in lower or "json" in lower:
        reason = "malformed JSON"
    elif "quote" in lower:
        reason = "an unterminated or misplaced quote"
    elif "parquet" in lower or "magic bytes" in lower:
        reason = "not a readable Parquet file"
    else:
        reason = f"the reader could not parse it ({type(exc).__name__})"
    at = f": near line {line.group(1)} (as the reader counts)" if line else ""
    return LandingContractError(f"{where}{at}: {reason}")


def _files_sql(paths: list[Path]) -> str:
    return "[" + ", ".join(_lit(str(p)) for p in paths) + "]"


def _build_records(con, fmt: str, paths: list[Path]) -> tuple[bool, bool]:
    """Match records to physical lines; returns (fast, multiline).

    Always fills the temp table `_record_counts(_file, n)`: the data records of each file.
    A file without any quote character or blank line has one record per line (`fast`: line
    = header + record ordinal). Otherwise the temp table `_records(_file, _n, _start, _end)`
    gives the n-th data record of each file and its first and last physical line: a
    physical line starts a record when the quotes before it are balanced, and a record that
    is one empty line (LF or CRLF) is skipped, as the readers skip it."""
    header = 1 if fmt == "csv" else 0
    nl, cr = "chr(10)", "chr(13)"
    odd_quotes = (
        "list_bool_or(list_transform(lines, lambda x:"
        " (strlen(x) - strlen(replace(x, '\"', ''))) % 2 = 1))"
        if fmt == "csv"
        else "false"
    )
    blank = f"list_contains(lines[:n_lines - 1], '') or list_contains(lines, {cr})"
    summary = con.execute(
        f"""
        create or replace temp table _record_counts as
        select _file, n_lines - (lines[n_lines] = '')::int - {header} as n, too_long,
               coalesce({odd_quotes}, false) as multiline, coalesce({blank}, false) as blank
        from (
            select filename as _file, string_split(content, {nl}) as lines,
                   len(lines) as n_lines,
                   list_position(list_transform(lines, lambda x: strlen(x) > {MAX_LINE_BYTES}),
                                 true) as too_long
            from read_text({_files_sql(paths)})
        );
        select _file, too_long, multiline, blank from _record_counts order by _file
        """
    ).fetchall()
    too_long = [(f, line) for f, line, _, _ in summary if line]
    if too_long:
        file, line = too_long[0]
        raise LandingContractError(f"{file}: line {line}: longer than {MAX_LINE_BYTES} bytes")
    if not any(multiline or blank for _, _, multiline, blank in summary):
        return True, False
    if not any(multiline for _, _, multiline, _ in summary):
        # Every line with balanced quotes: a record per non-blank line.
        con.execute(
            f"""
            create or replace temp table _records as
            select * from (
                select _file, generate_subscripts(starts, 1) - {header} as _n,
                       unnest(starts) as _start, unnest(starts) as _end
                from (
                    select filename as _file, string_split(content, {nl}) as lines,
                           list_filter(range(1, len(lines) + 1),
                                       lambda i: lines[i] <> '' and lines[i] <> {cr}) as starts
                    from read_text({_files_sql(paths)})
                )
            )
            where _n > 0
            """
        )
        con.execute(
            "create or replace temp table _record_counts as"
            " select _file, count(*) as n from _records group by 1"
        )
        return False, False
    quotes = "strlen(line) - strlen(replace(line, '\"', ''))" if fmt == "csv" else "0"
    con.execute(
        f"""
        create or replace temp table _lines as
        with t as (
            select filename as _file, string_split(content, {nl}) as lines
            from read_text({_files_sql(paths)})
        ),
        l as (
            select _file, len(lines) as n_lines, unnest(lines) as line,
                   generate_subscripts(lines, 1) as i
            from t
        ),
        q as (
            select _file, n_lines, i, (line = '' or line = {cr}) as blank, {quotes} as q
            from l
        )
        select _file, n_lines, i, blank, q,
               sum(q) over (partition by _file order by i
                            rows between unbounded preceding and current row) as cum
        from q
        """
    )
    unterminated = con.execute(
        """
        select _file, max(i) filter (where (cum - q) % 2 = 0) from _lines group by _file
        having max(cum) filter (where i = n_lines) % 2 = 1 order by 1
        """
    ).fetchall()
    if unterminated:
        file, line = unterminated[0]
        raise LandingContractError(f"{file}: line {line}: a quoted field is never closed")
    con.execute(
        f"""
        create or replace temp table _records as
        select _file, _n - {header} as _n, _start, _end from (
            select _file, i as _start, _end, blank,
                   row_number() over (partition by _file, blank order by i) as _n
            from (
                select _file, i, blank and q = 0 as blank,
                       coalesce(lead(i) over (partition by _file order by i), n_lines + 1) - 1
                           as _end
                from _lines where (cum - q) % 2 = 0
            )
        )
        where not blank and _n > {header}
        """
    )
    con.execute("drop table _lines")
    con.execute(
        "create or replace temp table _record_counts as"
        " select _file, count(*) as n from _records group by 1"
    )
    multiline = con.execute("select exists (select 1 from _records where _end > _start)")
    return False, multiline.fetchall()[0][0]


def _scan_sql(fmt: str, paths: list[Path], columns: list[str], multiline: bool) -> str:
    """A scan of same-shaped files: `_file`, `_n` (the record's ordinal in its file), every
    column as text, `_overflow`."""
    files = _files_sql(paths)
    if fmt == "csv":
        spec = ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in columns + ["_overflow"])
        # DuckDB's parallel CSV scanner cannot pad short rows of a file with quoted newlines.
        parallel = "false" if multiline else "true"
        scan = (
            f"read_csv({files}, header = true, auto_detect = false, delim = ',', quote = '\"',"
            f" escape = '\"', columns = {{{spec}}}, null_padding = true, strict_mode = false,"
            f" parallel = {parallel}, filename = '_file')"
        )
    elif fmt == "jsonl":
        spec = ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in columns)
        scan = (
            f"read_json({files}, format = 'newline_delimited', columns = {{{spec}}},"
            " filename = '_file')"
        )
    else:
        scan = f"read_parquet({files}, filename = '_file')"
    casts = ", ".join(f"{_q(c)}::VARCHAR as {_q(c)}" for c in columns)
    overflow = "_overflow" if fmt == "csv" else "null::VARCHAR as _overflow"
    # The reader keeps file order (preserve_insertion_order), so a global ordinal minus the
    # first ordinal of each file is the record's position in that file.
    return f"""
        select _file, _ord - min(_ord) over (partition by _file) + 1 as _n,
               {casts}, {overflow}
        from (select *, row_number() over () as _ord from {scan})
    """


# ------------------------------------------------------------------------ contract rules


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

    def rule(condition: str, name: str, reason: str) -> None:
        whens_col.append(f"when {condition} then {name}")
        whens_reason.append(f"when {condition} then {reason}")

    for col in entity.columns:
        raw = _raw(col)
        name = _lit(col.name)
        if col.required_value:
            rule(f"{raw} is null", name, _lit("missing id" if col.is_id else "missing value"))
        if col.type != "VARCHAR":
            kind = "date" if col.type in ("DATE", "TIMESTAMP") else col.type.lower()
            rule(
                f"{raw} is not null and {_typed(col)} is null",
                name,
                f"'unparseable {kind}: ' || {raw}",
            )
        if col.type == "TIMESTAMP":
            rule(
                f"{raw} is not null and not regexp_matches({raw}, {_lit(_OFFSET_RE)})",
                name,
                "'timestamp without offset'",
            )
        if col.allowed is not None:
            allowed = ", ".join(_lit(v.lower()) for v in col.allowed)
            label = {"channel": "channel", "status": "status"}.get(col.name, "currency")
            rule(
                f"{raw} is not null and lower({raw}) not in ({allowed})",
                name,
                f"'unknown {label}: ' || {raw}",
            )
        if col.check == "positive_finite":
            rule(
                f"not isfinite({_typed(col)}) or {_typed(col)} <= 0",
                name,
                f"'not a positive finite rate: ' || {raw}",
            )
        elif col.check == "non_negative":
            rule(f"{_typed(col)} < 0", name, f"'negative amount: ' || {raw}")
    return (
        "case " + " ".join(whens_col) + " end",
        "case " + " ".join(whens_reason) + " end",
    )


# ---------------------------------------------------------------------- suppression list


def _key_hashes(entity: Entity, prefix: str = "") -> tuple[str, str, str]:
    """SQL of the suppression hashes (email, contact_id, order_id) of a row, or NULL."""
    email = (
        suppression_hash_sql("email", f"customer_key({prefix}{_q(entity.email_column)})")
        if entity.email_column
        else "null::VARCHAR"
    )
    contact = (
        suppression_hash_sql("contact_id", f"{prefix}{_q(entity.contact_id_column)}")
        if entity.contact_id_column
        else "null::VARCHAR"
    )
    order = (
        suppression_hash_sql("order_id", f"{prefix}{_q(entity.order_id_column)}")
        if entity.order_id_column
        else "null::VARCHAR"
    )
    return email, contact, order


def _suppressed(*hashes: str) -> str:
    """SQL condition: any of the hash expressions is on the suppression list."""
    real = [h for h in hashes if h != "null::VARCHAR"]
    if not real:
        return "false"
    return " or ".join(f"{h} in (select key_hash from {SUPPRESSION})" for h in real)


def _has_erasures(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(f"select exists (select 1 from {SUPPRESSION})").fetchall()[0][0]


def _person_keys(entity: Entity, prefix: str = "") -> str:
    email = f"customer_key({prefix}{_q(entity.email_column)})" if entity.email_column else "null"
    contact = f"{prefix}{_q(entity.contact_id_column)}" if entity.contact_id_column else "null"
    order = f"{prefix}{_q(entity.order_id_column)}" if entity.order_id_column else "null"
    return f"{email}, {contact}, {order}"


def _add_suppressed_ids(con, source_sql: str) -> int:
    """Add (key_type, key_hash, requested_at) rows of `source_sql` not yet on the list."""
    return con.execute(
        f"""
        insert into {SUPPRESSION}
        select key_type, key_hash, min(requested_at) from ({source_sql}) s
        where key_hash is not null
            and key_hash not in (select key_hash from {SUPPRESSION})
        group by key_type, key_hash
        """
    ).fetchall()[0][0]


def _ids_of_matches(table_sql: str, email: str, contact: str, order: str, *, where: str = "true"):
    """SQL: the contact/order id hashes of rows of `table_sql` matching the list, with the
    matching request's time."""
    parts = []
    for key_type, key in (("contact_id", contact), ("order_id", order)):
        if key == "null::VARCHAR":
            continue
        parts.append(
            f"""
            select '{key_type}' as key_type, t.h_{key_type} as key_hash, s.requested_at
            from (select {email} as h_email, {contact} as h_contact_id, {order} as h_order_id
                  from {table_sql} where {where}) t
            join {SUPPRESSION} s
                on s.key_hash = t.h_email or s.key_hash = t.h_contact_id
                or s.key_hash = t.h_order_id
            """
        )
    return " union all ".join(parts)


def _migrate_legacy_erasure_tables(con: duckdb.DuckDBPyConnection, loaded_at) -> None:
    """Turn the former erasure tables (customer_keys, raw ids) into suppression hashes."""
    columns = {
        (t, c)
        for t, c in con.execute(
            "select table_name, column_name from information_schema.columns"
            f" where table_schema = {_lit(RAW_SCHEMA)}"
        ).fetchall()
    }
    legacy_requests = ("erasure_requests", "customer_key") in columns
    legacy_keys = any(t == LEGACY_ERASED_KEYS_TABLE for t, _ in columns)
    if not (legacy_requests or legacy_keys):
        return
    requests = f"{RAW_SCHEMA}.erasure_requests"
    con.execute("begin transaction")
    try:
        if legacy_requests:
            email = suppression_hash_sql("email", "customer_key")
            _add_suppressed_ids(
                con,
                f"select 'email' as key_type, {email} as key_hash, requested_at from {requests}",
            )
            names = ", ".join(_q(n) for n, _ in table_columns(ENTITIES_ERASURE))
            con.execute(f"create temp table _requests as select {names} from {requests}")
            con.execute(f"drop table {requests}")
            con.execute(f"create table {requests} as select * from _requests")
            con.execute("drop table _requests")
        if legacy_keys:
            legacy = f"{RAW_SCHEMA}.{LEGACY_ERASED_KEYS_TABLE}"
            hashes = " union all ".join(
                f"select '{k}' as key_type, {suppression_hash_sql(k, 'key_value')} as key_hash,"
                f" null::TIMESTAMP as requested_at from {legacy} where key_type = '{k}'"
                for k in ("contact_id", "order_id")
            )
            _add_suppressed_ids(con, hashes)
            con.execute(f"drop table {legacy}")
        apply_erasures(con, loaded_at)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    con.execute("checkpoint")


# ---------------------------------------------------------------------------- the load


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
    loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    _migrate_legacy_erasure_tables(con, loaded_at)
    check_entity_folder(landing_dir, entity)
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
        if path.suffix in (".csv", ".jsonl"):
            check_utf8(path)
        columns = _file_columns(con, path)
        check_columns(entity, path, columns)
        fmt = path.suffix.lstrip(".")
        groups.setdefault((fmt, tuple(columns)), []).append(path)

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
        new_ids = 0
        for (fmt, columns), paths in groups.items():
            group_scanned, group_ids = _load_group(
                con, entity, fmt, list(columns), paths, loaded_at, breach_column, breach_reason
            )
            scanned |= group_scanned
            new_ids += group_ids
        swept = 0
        if entity.name == "erasure_requests" or new_ids:
            # A request, or an erased person met under an id not seen before (say, a contact
            # that landed after the request): sweep every table for all their keys.
            swept = apply_erasures(con, loaded_at)
        counts = _day_counts(con, entity, days_list)
        _write_load_log(con, entity, days, files, rel, scanned, counts, loaded_at, swept)
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    erased_now = swept or any(kind == "erased" and n for (_, kind), n in counts.items())
    if entity.name == "erasure_requests" or erased_now:
        # Let DuckDB rewrite the blocks of the deleted rows where it can; the publication
        # step compacts the whole file afterwards.
        con.execute("checkpoint")

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
) -> tuple[dict[str, int], int]:
    """Load one group of same-shaped files; returns the records scanned per source file and
    the number of ids newly put on the suppression list."""
    try:
        return _load_group_unsafe(
            con, entity, fmt, columns, paths, loaded_at, breach_column, breach_reason
        )
    except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
        # DuckDB's reader messages quote the offending line: never pass them on.
        raise _reader_error(exc, paths) from None


def _load_group_unsafe(
    con, entity, fmt, columns, paths, loaded_at, breach_column, breach_reason
) -> tuple[dict[str, int], int]:
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
    has_erasures = _has_erasures(con)
    if entity.name == "erasure_requests":
        requested_at = next(c for c in entity.columns if c.name == "requested_at")
        email = suppression_hash_sql("email", "customer_key(email)")
        contract_select = (
            f"{_typed(requested_at)} as requested_at, {email} as _h_email,"
            " null::VARCHAR as _h_contact, null::VARCHAR as _h_order"
        )
        hashes = ""
        erased = "false"
    else:
        contract_select = ", ".join(f"{_typed(c)} as {_q(c.name)}" for c in entity.columns)
        if has_erasures:
            h_email, h_contact, h_order = _key_hashes(entity)
            hashes = f", {h_email} as _h_email, {h_contact} as _h_contact, {h_order} as _h_order"
            erased = _suppressed("_h_email", "_h_contact", "_h_order")
        else:
            hashes = (
                ", null::VARCHAR as _h_email, null::VARCHAR as _h_contact,"
                " null::VARCHAR as _h_order"
            )
            erased = "false"
    erased_column = _lit(
        entity.contact_id_column or entity.order_id_column or entity.email_column or "*"
    )
    if fmt == "parquet":
        multiline = False
        lines = "s._n as _source_line, s._n as _source_end"
        records_join = ""
    else:
        fast, multiline = _build_records(con, fmt, paths)
        if fast:
            first = 1 if fmt == "csv" else 0
            lines = f"s._n + {first} as _source_line, s._n + {first} as _source_end"
            records_join = ""
        else:
            lines = "r._start as _source_line, r._end as _source_end"
            records_join = "left join _records r on r._file = s._file and r._n = s._n"
    # One pass: scan, physical lines, types, the first breach, and erasure (decided on typed
    # values, so the e-mail hash sees the normalised address).
    con.execute(
        f"""
        create or replace temp table _typed as
        with typed as (
            select {contract_select}, {extra_map} as _extra_columns,
                   m.source_file as _source_file, {lines},
                   TIMESTAMP {_lit(str(loaded_at))} as _loaded_at,
                   m.partition_date as _partition_date,
                   {breach_column} as _breach_column, {breach_reason} as _breach_reason,
                   s._file
            from ({_scan_sql(fmt, paths, columns, multiline)}) s
            join _file_map m on m._file = s._file
            {records_join}
        ),
        hashed as (select *{hashes} from typed)
        select * replace (
            case when _breach_reason is null and _erased then {erased_column}
                 else _breach_column end as _breach_column,
            case when _breach_reason is null and _erased then {_lit(ERASED_REASON)}
                 else _breach_reason end as _breach_reason)
        from (select *, coalesce({erased}, false) as _erased from hashed)
        """
    )
    if fmt != "parquet":
        _check_records_matched(con)
    names = ", ".join(_q(n) for n, _ in table_columns(entity))
    con.execute(
        f"insert into {RAW_SCHEMA}.{entity.name} ({names})"
        f" select {names} from _typed where _breach_reason is null"
    )
    new_ids = 0
    if entity.name == "erasure_requests":
        _add_suppressed_ids(
            con,
            "select 'email' as key_type, _h_email as key_hash, requested_at from _typed"
            " where _breach_reason is null",
        )
    elif has_erasures and (entity.contact_id_column or entity.order_id_column):
        h_email, h_contact, h_order = _key_hashes(entity)
        source = _ids_of_matches("_typed", h_email, h_contact, h_order, where="_erased")
        new_ids = _add_suppressed_ids(con, source)
    _insert_rejects(con, entity, fmt, loaded_at)
    scanned = {
        source_file: n
        for source_file, n in con.execute(
            "select _source_file, count(*) from _typed group by 1"
        ).fetchall()
    }
    return scanned, new_ids


def _check_records_matched(con) -> None:
    """Every scanned row got its physical lines, and every record was scanned."""
    mismatched = con.execute(
        """
        select coalesce(a._file, b._file) from
            (select _file, count(*) as n, count(_source_line) as matched from _typed
             group by 1) a
            full join (select _file, n from _record_counts where n > 0) b
            on a._file = b._file
        where a.n is distinct from b.n or a.matched is distinct from a.n
        order by 1
        """
    ).fetchall()
    if mismatched:
        raise LandingContractError(
            f"{mismatched[0][0]}: records do not match the file's lines (a quote inside an"
            " unquoted field?)"
        )


def _insert_rejects(con, entity: Entity, fmt: str, loaded_at) -> None:
    # The exact text of a rejected record (all its physical lines), read back from its file.
    # Erased people's records and all erasure-request records are never kept (they hold PII).
    reject_files = [
        r[0]
        for r in con.execute(
            "select distinct _file from _typed where _breach_reason is not null"
        ).fetchall()
    ]
    if not reject_files:
        return
    if fmt in ("csv", "jsonl"):
        raw_line = (
            "regexp_replace(array_to_string(l.lines[t._source_line:t._source_end], chr(10)),"
            " '\\r$', '')"
        )
        lines_join = (
            "left join (select filename as _file, string_split(content, chr(10)) as lines"
            f" from read_text({_files_sql([Path(f) for f in reject_files])})) l using (_file)"
        )
    else:
        raw_line = "null"
        lines_join = ""
    redact = "true" if entity.name == "erasure_requests" else "t._erased"
    keys = _person_keys(entity, "t.") if entity.name != "erasure_requests" else "null, null, null"
    keys = ", ".join(f"case when {redact} then null else {k} end" for k in keys.split(", "))
    con.execute(
        f"""
        insert into {RAW_SCHEMA}.{REJECTED_ROWS_TABLE}
        select {_lit(entity.name)}, t._source_file, t._source_line, t._breach_column,
               case when {redact} and t._breach_reason <> {_lit(ERASED_REASON)}
                    then split_part(t._breach_reason, ':', 1) else t._breach_reason end,
               case when {redact} then null else {raw_line} end,
               t._partition_date, TIMESTAMP {_lit(str(loaded_at))}, {keys}
        from _typed t {lines_join}
        where t._breach_reason is not null
        """
    )


def apply_erasures(con: duckdb.DuckDBPyConnection, loaded_at: dt.datetime) -> int:
    """Apply the suppression list to every raw table. Returns the number of rows moved.

    First the contact and order ids of erased people (found by their e-mail's hash in
    contacts, orders and the person keys of rejected rows) join the list as hashes; then
    every raw row matching the list moves into rejected_rows without content or keys; then
    rejected rows of erased people lose their raw line, person keys and reason values."""
    rejects = f"{RAW_SCHEMA}.{REJECTED_ROWS_TABLE}"
    if not _has_erasures(con):
        return 0
    sources = []
    for entity in ENTITIES:
        if entity.name == "erasure_requests" or not entity.email_column:
            continue
        if not (entity.contact_id_column or entity.order_id_column):
            continue
        email, contact, order = _key_hashes(entity)
        sources.append(
            _ids_of_matches(
                f"{RAW_SCHEMA}.{entity.name}", email, contact, order, where=_suppressed(email)
            )
        )
    person_email = suppression_hash_sql("email", "person_customer_key")
    person_contact = suppression_hash_sql("contact_id", "person_contact_id")
    person_order = suppression_hash_sql("order_id", "person_order_id")
    sources.append(
        _ids_of_matches(
            rejects,
            person_email,
            person_contact,
            person_order,
            where="person_customer_key is not null",
        )
    )
    _add_suppressed_ids(con, " union all ".join(sources))
    moved = 0
    for entity in ENTITIES:
        if entity.name == "erasure_requests":
            continue
        match = _suppressed(*_key_hashes(entity))
        if match == "false":
            continue
        table = f"{RAW_SCHEMA}.{entity.name}"
        key_col = entity.contact_id_column or entity.order_id_column or entity.email_column
        moved += con.execute(
            f"""
            insert into {rejects}
            select {_lit(entity.name)}, _source_file, _source_line, {_lit(key_col)},
                   {_lit(ERASED_REASON)}, null, _partition_date,
                   TIMESTAMP {_lit(str(loaded_at))}, null, null, null
            from {table} where {match}
            """
        ).fetchall()[0][0]
        con.execute(f"delete from {table} where {match}")
    # Rows set aside for other reasons that belong to an erased person lose their content.
    con.execute(
        f"""
        update {rejects}
        set raw_line = null, person_customer_key = null, person_contact_id = null,
            person_order_id = null,
            reason = case when reason = {_lit(ERASED_REASON)} then reason
                          else split_part(reason, ':', 1) end
        where {_suppressed(person_email, person_contact, person_order)}
        """
    )
    return moved
