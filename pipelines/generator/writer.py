"""Render simulated rows as the landing contract's CSV files, one file per entity and day.

Rows arrive as numeric numpy columns. numpy adds the messy copies (exact duplicates,
corrupted copies) and fixes a total row order; DuckDB formats the rows (ids, e-mails,
ISO-8601 timestamps with offsets, money) a chunk of days at a time and writes each day with
`COPY ... TO`. Output bytes depend only on the rows, so the same rows give the same files.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines.generator import model as m
from pipelines.generator.randomness import mix64
from pipelines.lib.landing_contract import CHANNELS, ENTITIES_BY_NAME


@dataclass(frozen=True)
class EntitySql:
    day_from: str  # source column giving the row's file day: `day`, or UTC seconds
    sort_keys: tuple[str, ...]  # with the day, a total order of the clean rows
    columns: dict[str, str]  # contract column -> SQL over the source columns, in order


def _sql_list(values: Iterable[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def macros_sql(start: dt.date) -> str:
    """TEMP macros the formatting SQL uses; the start date anchors day and second offsets."""
    start_us = (start - dt.date(1970, 1, 1)).days * m.DAY * 1_000_000
    themes = [theme for platform in m.CAMPAIGN_THEMES for theme in platform]
    return f"""
create or replace temp macro fmt_ts(sec, off, zulu) as
    strftime(make_timestamp(({start_us} + (sec + off * 60) * 1000000)::bigint),
             '%Y-%m-%dT%H:%M:%S')
    || case when off = 0 and zulu then 'Z'
            else printf('%s%02d:%02d', case when off < 0 then '-' else '+' end,
                        abs(off) // 60, abs(off) % 60) end;
create or replace temp macro fmt_date(day) as
    strftime(date '{start.isoformat()}' + day::integer, '%Y-%m-%d');
create or replace temp macro money(cents) as
    (cents // 100)::varchar || '.' || lpad((cents % 100)::varchar, 2, '0');
create or replace temp macro padded(prefix, n, width) as prefix || lpad(n::varchar, width, '0');
create or replace temp macro first_name(i) as {_sql_list(m.FIRST_NAMES)}[i + 1];
create or replace temp macro last_name(i) as {_sql_list(m.LAST_NAMES)}[i + 1];
create or replace temp macro email_of(fi, li, di, person) as
    lower(first_name(fi)) || '.' || lower(last_name(li)) || person::varchar || '@'
    || {_sql_list(m.EMAIL_DOMAINS)}[di + 1];
create or replace temp macro messy_email(email, variant) as case variant
    when 1 then upper(email)
    when 2 then upper(email[1]) || email[2:]
    when 3 then '  ' || email
    when 4 then email || ' '
    else email end;
create or replace temp macro bad_date(s) as substr(s, 1, 5) || '13-45' || substr(s, 11);
create or replace temp macro bad_number(s) as replace(s, '.', ',') || 'x';
create or replace temp macro country_code(i) as {_sql_list(m.COUNTRIES)}[i + 1];
create or replace temp macro currency_code(i) as {_sql_list(m.CURRENCIES)}[i + 1];
create or replace temp macro channel_name(i) as {_sql_list(CHANNELS)}[i + 1];
create or replace temp macro stage_name(i) as {_sql_list(m.CRM_STAGES)}[i + 1];
create or replace temp macro status_name(i) as {_sql_list(m.ORDER_STATUSES)}[i + 1];
create or replace temp macro touch_type_name(i) as {_sql_list(m.TOUCH_TYPES)}[i + 1];
create or replace temp macro campaign_name(platform, slot, period) as
    {_sql_list(themes)}[platform * {m.MAX_SLOTS} + slot + 1]
    || ' ' || fmt_date(period * {m.PERIOD_DAYS});
"""


_CONTACT_ID = "padded('C', person, 8)"
_ORDER_ID = "padded('O', person, 8) || lpad((number + 1)::varchar, 2, '0')"
_EMAIL = "email_of(first_i, last_i, domain_i, person)"


def _ads_sql(date_col, clicks_col, cost_col, cost_sql, currency_col, prefix) -> EntitySql:
    return EntitySql(
        "day",
        ("campaign",),
        {
            date_col: "fmt_date(day)",
            "campaign_id": f"padded('{prefix}-', campaign, 3)",
            "campaign_name": "campaign_name(platform, slot, period)",
            "impressions": "impressions::varchar",
            clicks_col: "clicks::varchar",
            cost_col: cost_sql,
            currency_col: "currency_code(currency)",
        },
    )


ENTITY_SQL = {
    "contacts": EntitySql(
        "updated",
        ("updated", "person", "seq"),
        {
            "contact_id": _CONTACT_ID,
            "email": f"messy_email({_EMAIL}, email_variant)",
            "full_name": "first_name(first_i) || ' ' || last_name(last_i)",
            "country": "country_code(country)",
            "created_at": "fmt_ts(created, utc_offset, false)",
            "updated_at": "fmt_ts(updated, utc_offset, false)",
            "marketing_consent": "case when consent then 'true' else 'false' end",
        },
    ),
    "lifecycle_events": EntitySql(
        "ts",
        ("ts", "person", "seq"),
        {
            "contact_id": _CONTACT_ID,
            "crm_stage": "stage_name(stage)",
            "occurred_at": "fmt_ts(ts, 0, true)",
        },
    ),
    "touchpoints": EntitySql(
        "ts",
        ("ts", "person", "seq"),
        {
            "contact_id": _CONTACT_ID,
            "occurred_at": "fmt_ts(ts, 0, false)",
            "channel": "channel_name(channel)",
            "campaign_id": f"""case
                when channel < {m.N_PAID} then padded(
                    {_sql_list(m.PLATFORM_PREFIX)}[channel + 1] || '-', campaign, 3)
                when channel = {m.EMAIL} then padded('em-', campaign, 3) end""",
            "touch_type": "touch_type_name(touch_type)",
        },
    ),
    "orders": EntitySql(
        "ts",
        ("ts", "person", "number"),
        {
            "order_id": _ORDER_ID,
            "customer_email": f"messy_email({_EMAIL}, email_variant)",
            "ordered_at": "fmt_ts(ts, utc_offset, true)",
            "status": "status_name(status)",
            "currency": "currency_code(currency)",
            "amount": "money(cents)",
        },
    ),
    "refunds": EntitySql(
        "ts",
        ("ts", "person", "number"),
        {
            "refund_id": "padded('R', person, 8) || lpad((number + 1)::varchar, 2, '0')",
            "order_id": _ORDER_ID,
            "refunded_at": "fmt_ts(ts, 0, true)",
            "currency": "currency_code(currency)",
            "amount": "money(cents)",
        },
    ),
    "google_ads": _ads_sql(
        "date", "clicks", "cost_micros", "cost_micros::varchar", "currency_code", "gads"
    ),
    "meta_ads": _ads_sql(
        "date_start", "inline_link_clicks", "spend", "money(cost_cents)", "account_currency", "meta"
    ),
    "linkedin_ads": _ads_sql(
        "day", "clicks", "cost_in_local_currency", "money(cost_cents)", "currency", "li"
    ),
    "fx_rates": EntitySql(
        "day",
        ("currency",),
        {
            "date": "fmt_date(day)",
            "currency": "currency_code(currency)",
            "units_per_usd": "printf('%.6f', rate)",
        },
    ),
    "erasure_requests": EntitySql(
        "ts",
        ("ts", "person"),
        {"email": _EMAIL, "requested_at": "fmt_ts(ts, 0, false)"},
    ),
}

_MALFORMED_SQL = {
    "missing": "null",
    "bad_date": "bad_date({col})",
    "bad_number": "bad_number({col})",
    "unknown_channel": "'tiktok_ads'",
}


def with_name_indices(rows: dict[str, np.ndarray], seed: int) -> dict[str, np.ndarray]:
    """Add the name and e-mail domain of each row's person: a hash of the person number, so
    any system (CRM, shop, erasure requests) derives the same e-mail for a person."""
    h = mix64(rows["person"], seed)
    return {
        **rows,
        "first_i": (h % np.uint64(len(m.FIRST_NAMES))).astype(np.int64),
        "last_i": ((h >> np.uint64(16)) % np.uint64(len(m.LAST_NAMES))).astype(np.int64),
        "domain_i": ((h >> np.uint64(32)) % np.uint64(len(m.EMAIL_DOMAINS))).astype(np.int64),
    }


def _formatted_sql(entity: str, source: str) -> str:
    """One projection: the contract columns, corrupted where `_malformed` names a kind."""
    columns = dict(ENTITY_SQL[entity].columns)
    for kind, (col, how) in enumerate(m.MALFORMED_KINDS.get(entity, ()), start=1):
        bad = _MALFORMED_SQL[how].format(col=f"({columns[col]})")
        columns[col] = f"case when _malformed = {kind} then {bad} else {columns[col]} end"
    projection = ", ".join(f'{sql} as "{col}"' for col, sql in columns.items())
    return f"select _file_day, _ord, {projection} from {source}"


def _expanded(entity: str, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rows plus their messy copies (exact duplicates, corrupted copies) in file order:
    by day, the entity's sort keys, then original before duplicate before corrupted copy."""
    spec = ENTITY_SQL[entity]
    day = rows[spec.day_from]
    if spec.day_from != "day":
        day = day // m.DAY
    n = day.size
    dup = np.flatnonzero(rows["dup"]) if "dup" in rows else np.empty(0, np.int64)
    bad = np.flatnonzero(rows["malformed"]) if "malformed" in rows else np.empty(0, np.int64)
    index = np.concatenate([np.arange(n), dup, bad])
    copy = np.repeat([0, 1, 2], [n, dup.size, bad.size])
    malformed = np.zeros(index.size, dtype=np.int64)
    if bad.size:
        malformed[n + dup.size :] = rows["malformed"][bad]
    keys = [copy] + [rows[k][index] for k in reversed(spec.sort_keys)] + [day[index]]
    order = np.lexsort(keys)
    source_row = index[order]
    out = {col: values[source_row] for col, values in rows.items() if col != "dup"}
    out["_file_day"] = day[source_row]
    out["_malformed"] = malformed[order]
    return out


# Rows formatted per DuckDB statement: small enough that per-day scans stay cheap.
_CHUNK_ROWS = 200_000


def write_entity(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    start: dt.date,
    entity: str,
    rows: dict[str, np.ndarray],
    days: range,
    only_days_with_rows: bool = False,
) -> int:
    """Write one CSV per day in `days` for the entity; returns the data lines written.

    `rows` must already be limited to `days`. Days without rows get a header-only file
    unless `only_days_with_rows`.
    """
    rows = _expanded(entity, rows)
    file_day = rows["_file_day"]
    bounds = np.searchsorted(file_day, [days.start, *[d + 1 for d in days]])
    names = ", ".join(f'"{col}"' for col in ENTITY_SQL[entity].columns)
    directory = landing_dir / ENTITIES_BY_NAME[entity].directory
    directory.mkdir(parents=True, exist_ok=True)
    chunk_start = 0
    while chunk_start < len(days):
        # Whole days, up to _CHUNK_ROWS rows (at least one day).
        first_row = bounds[chunk_start]
        chunk_end = int(np.searchsorted(bounds, first_row + _CHUNK_ROWS, side="right")) - 1
        chunk_end = min(max(chunk_end, chunk_start + 1), len(days))
        last_row = bounds[chunk_end]
        chunk = {col: values[first_row:last_row] for col, values in rows.items()}
        chunk["_ord"] = np.arange(last_row - first_row)
        con.register("chunk_rows", pd.DataFrame(chunk))
        con.execute(
            "create or replace temp table chunk_out as " + _formatted_sql(entity, "chunk_rows")
        )
        con.unregister("chunk_rows")
        for i in range(chunk_start, chunk_end):
            if only_days_with_rows and bounds[i] == bounds[i + 1]:
                continue
            day = days[i]
            path = directory / f"{(start + dt.timedelta(days=day)).isoformat()}.csv"
            target = str(path).replace("'", "''")
            con.execute(
                f"copy (select {names} from chunk_out where _file_day = {day} order by _ord) "
                f"to '{target}' (format csv, header true, delimiter ',')"
            )
        chunk_start = chunk_end
    con.execute("drop table if exists chunk_out")
    return int(bounds[-1] - bounds[0])
