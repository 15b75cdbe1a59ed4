"""Extraction into raw: reconciliation, idempotency, contract errors, erasure (issue 3)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.extract import ERASED_REASON, LandingContractError, extract_entity
from pipelines.lib.landing_contract import ENTITIES_BY_NAME
from pipelines.lib.warehouse import warehouse_connection

pytestmark = pytest.mark.unit

SECRET = "test-secret"
DAY1, DAY2 = "2026-03-01", "2026-03-02"

CONTACTS = """contact_id,email,full_name,country,created_at,updated_at,marketing_consent,utm_source
C1, Alice@Example.com ,"Smith, Alice",DE,2026-03-01T10:00:00+02:00,2026-03-01T10:00:00Z,true,news
C2,bob@example.com,Bob,US,2026-13-45T00:00:00Z,2026-03-01T10:00:00Z,false,
,carol@example.com,Carol,US,2026-03-01T00:00:00Z,2026-03-01T00:00:00Z,true,
C4,dan@example.com,Dan,US,2026-03-01T00:00:00Z,2026-03-01T00:00:00Z,true,,surplus
C5,eve@example.com
C1, Alice@Example.com ,"Smith, Alice",DE,2026-03-01T10:00:00+02:00,2026-03-01T10:00:00Z,true,news
"""
ORDERS = """order_id,customer_email,ordered_at,status,currency,amount
O1,alice@example.com,2026-03-01T11:00:00Z,paid,EUR,10.50
O2,bob@example.com,2026-03-01T11:00:00Z,paid,XXX,5
O3,zed@example.com,2026-03-01T11:00:00Z,shipped,USD,5
O4,zed@example.com,2026-03-01T11:00:00Z,paid,USD,12.5x
O5,zed@example.com,2026-03-01T12:30:00-05:00,refunded,usd,7
"""
TOUCHPOINTS = """contact_id,occurred_at,channel,campaign_id,touch_type
C1,2026-03-01T09:00:00Z,google_ads,gads-001,click
C2,2026-03-01T09:00:00Z,tiktok,,view
C1,2026-03-01T09:30:00Z,email,,open
"""
REFUNDS = """refund_id,order_id,refunded_at,currency,amount
R1,O1,2026-03-02T10:00:00Z,EUR,2.50
"""


def _write(landing: Path, entity: str, day: str, text: str, ext: str = "csv") -> Path:
    path = landing / ENTITIES_BY_NAME[entity].file_path(day, ext)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    _write(landing, "contacts", DAY1, CONTACTS)
    _write(landing, "orders", DAY1, ORDERS)
    _write(landing, "touchpoints", DAY1, TOUCHPOINTS)
    _write(landing, "refunds", DAY2, REFUNDS)
    return landing


def _load(warehouse: Path, landing: Path, entity: str, days=(DAY1, DAY2), **kw):
    with warehouse_connection(warehouse, SECRET) as con:
        return extract_entity(con, landing, ENTITIES_BY_NAME[entity], list(days), **kw)


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_every_line_is_loaded_or_rejected_with_file_line_column_and_reason(tmp_path, landing):
    warehouse = tmp_path / "wh.duckdb"
    reports = {r.partition_date: r for r in _load(warehouse, landing, "contacts")}
    # The file has 6 data lines: C1, its exact duplicate, and four broken lines.
    assert (reports[DAY1].rows_loaded, reports[DAY1].rows_rejected) == (2, 4)
    assert reports[DAY1].data_lines == len(CONTACTS.strip().splitlines()) - 1
    assert reports[DAY2].file is None and not reports[DAY2].file_present

    rejected = _rows(
        warehouse,
        "select source_file, source_line, column_name, reason, raw_line from raw.rejected_rows"
        " order by source_line",
    )
    lines = CONTACTS.splitlines()
    assert rejected == [
        ("crm/contacts/2026-03-01.csv", 3, "created_at", "unparseable date: 2026-13-45T00:00:00Z",
         lines[2]),
        ("crm/contacts/2026-03-01.csv", 4, "contact_id", "missing id", lines[3]),
        ("crm/contacts/2026-03-01.csv", 5, "*", "more fields than the header", lines[4]),
        ("crm/contacts/2026-03-01.csv", 6, "created_at", "missing value", lines[5]),
    ]  # fmt: skip
    loaded = _rows(
        warehouse,
        "select contact_id, email, full_name, created_at::varchar, marketing_consent,"
        " _extra_columns['utm_source'], _source_file, _source_line, _partition_date::varchar"
        " from raw.contacts order by _source_line",
    )
    assert loaded[0] == (
        "C1", "Alice@Example.com", "Smith, Alice", "2026-03-01 08:00:00", True, "news",
        "crm/contacts/2026-03-01.csv", 2, DAY1,
    )  # fmt: skip
    assert loaded[1][7] == 7  # the duplicate keeps its own line; staging deduplicates


def test_unknown_currency_channel_and_status_and_bad_numbers_are_rejected(tmp_path, landing):
    warehouse = tmp_path / "wh.duckdb"
    _load(warehouse, landing, "orders")
    _load(warehouse, landing, "touchpoints")
    reasons = _rows(
        warehouse,
        "select entity, source_line, column_name, reason from raw.rejected_rows order by all",
    )
    assert reasons == [
        ("orders", 3, "currency", "unknown currency: XXX"),
        ("orders", 4, "status", "unknown status: shipped"),
        ("orders", 5, "amount", "unparseable decimal(18,4): 12.5x"),
        ("touchpoints", 3, "channel", "unknown channel: tiktok"),
    ]
    # Offsets are normalised to UTC; currency case is accepted and kept as landed.
    assert _rows(warehouse, "select ordered_at::varchar, currency from raw.orders where "
                 "order_id = 'O5'") == [("2026-03-01 17:30:00", "usd")]  # fmt: skip


def test_reconciliation_holds_for_every_file(tmp_path, landing):
    warehouse = tmp_path / "wh.duckdb"
    for entity in ("contacts", "orders", "touchpoints", "refunds"):
        for report in _load(warehouse, landing, entity):
            if report.file is None:
                continue
            text = (landing / report.file).read_text()
            data_lines = len(text.strip().splitlines()) - 1
            loaded = _rows(
                warehouse,
                f"select count(*) from raw.{entity} where _source_file = '{report.file}'",
            )[0][0]
            rejected = _rows(
                warehouse,
                f"select count(*) from raw.rejected_rows where source_file = '{report.file}'",
            )[0][0]
            assert loaded + rejected == data_lines == report.data_lines
            assert (loaded, rejected) == (report.rows_loaded, report.rows_rejected)


def test_rerunning_a_window_leaves_identical_tables(tmp_path, landing):
    warehouse = tmp_path / "wh.duckdb"
    snapshot_sql = (
        "select * exclude (_loaded_at) from raw.{t} order by all",
        "select * exclude (loaded_at) from raw.rejected_rows order by all",
    )

    def snapshot():
        out = []
        for entity in ("contacts", "orders", "touchpoints", "refunds"):
            out.append(_rows(warehouse, snapshot_sql[0].format(t=entity)))
        out.append(_rows(warehouse, snapshot_sql[1]))
        return out

    for entity in ("contacts", "orders", "touchpoints", "refunds"):
        _load(warehouse, landing, entity)
    first = snapshot()
    for entity in ("contacts", "orders", "touchpoints", "refunds"):
        _load(warehouse, landing, entity)
        _load(warehouse, landing, entity, days=(DAY1,))
    assert snapshot() == first
    assert sum(len(t) for t in first) > 10


def test_a_missing_required_column_names_the_file_and_the_column(tmp_path, landing):
    path = _write(
        landing, "refunds", DAY1, "refund_id,order_id,refunded_at,amount\nR9,O1,2026-03-01,1\n"
    )
    with pytest.raises(LandingContractError) as error:
        _load(tmp_path / "wh.duckdb", landing, "refunds")
    assert str(path) in str(error.value)
    assert "missing required column currency" in str(error.value)


def test_a_day_without_a_file_is_empty_or_fails_by_setting(tmp_path, landing):
    reports = _load(tmp_path / "wh.duckdb", landing, "refunds", days=(DAY1,))
    assert [(r.file_present, r.rows_loaded) for r in reports] == [(False, 0)]
    with pytest.raises(LandingContractError, match="no landing file"):
        _load(tmp_path / "wh.duckdb", landing, "refunds", days=(DAY1,), missing_file_policy="fail")


def test_parquet_and_json_lines_are_accepted(tmp_path, landing):
    warehouse = tmp_path / "wh.duckdb"
    rows = [
        {"refund_id": "R7", "order_id": "O1", "refunded_at": "2026-03-01T00:00:00Z",
         "currency": "EUR", "amount": "1.25"},
        {"refund_id": "R8", "order_id": "O1", "refunded_at": "2026-03-01T00:00:00Z",
         "currency": "EUR", "amount": "oops"},
    ]  # fmt: skip
    _write(landing, "refunds", DAY1, "\n".join(json.dumps(r) for r in rows) + "\n", "jsonl")
    con = duckdb.connect()
    parquet = landing / ENTITIES_BY_NAME["fx_rates"].file_path(DAY1, "parquet")
    parquet.parent.mkdir(parents=True)
    con.execute(
        f"copy (select DATE '{DAY1}' as date, 'EUR' as currency, 0.92 as units_per_usd)"
        f" to '{parquet}' (format parquet)"
    )
    refunds = _load(warehouse, landing, "refunds", days=(DAY1,))
    assert (refunds[0].rows_loaded, refunds[0].rows_rejected) == (1, 1)
    fx = _load(warehouse, landing, "fx_rates", days=(DAY1,))
    assert fx[0].rows_loaded == 1
    assert _rows(warehouse, "select source_line, column_name from raw.rejected_rows") == [
        (2, "amount")
    ]


def test_erasure_removes_the_person_everywhere_and_keeps_them_out(tmp_path, landing):
    warehouse = tmp_path / "wh.duckdb"
    for entity in ("contacts", "orders", "touchpoints", "refunds"):
        _load(warehouse, landing, entity)
    assert _rows(warehouse, "select count(*) from raw.refunds")[0][0] == 1
    # Alice asks to be forgotten; her e-mail differs in case and spaces from the CRM's.
    _write(
        landing,
        "erasure_requests",
        DAY2,
        "email,requested_at\n ALICE@example.COM,2026-03-02T09:00:00Z\n",
    )
    _load(warehouse, landing, "erasure_requests")

    def alice_everywhere():
        return _rows(
            warehouse,
            """
            select 'contacts', count(*) from raw.contacts where contact_id = 'C1' union all
            select 'touchpoints', count(*) from raw.touchpoints where contact_id = 'C1' union all
            select 'orders', count(*) from raw.orders where order_id = 'O1' union all
            select 'refunds', count(*) from raw.refunds where order_id = 'O1' union all
            select 'pii in rejects', count(*) from raw.rejected_rows
                where raw_line ilike '%alice%' union all
            select 'suppression list rows (e-mail, C1, O1)', count(*) - 3 from raw.suppression_list
            """,
        )

    assert all(n == 0 for _, n in alice_everywhere()), alice_everywhere()
    # Re-extracting old files (a backfill) never brings her back, and lines still reconcile.
    for entity in ("contacts", "touchpoints", "orders", "refunds"):
        reports = _load(warehouse, landing, entity)
        for r in reports:
            if r.file:
                assert r.rows_loaded + r.rows_rejected == r.data_lines
    assert all(n == 0 for _, n in alice_everywhere()), alice_everywhere()
    erased = _rows(
        warehouse,
        f"select entity, count(*) from raw.rejected_rows where reason = '{ERASED_REASON}'"
        " group by 1 order by 1",
    )
    assert erased == [("contacts", 2), ("orders", 1), ("refunds", 1), ("touchpoints", 2)]


def test_an_erasure_that_lands_before_the_persons_rows_keeps_them_out(tmp_path, landing):
    warehouse = tmp_path / "wh.duckdb"
    _write(
        landing,
        "erasure_requests",
        DAY1,
        "email,requested_at\nalice@example.com,2026-03-01T00:00:00Z\n",
    )
    _load(warehouse, landing, "erasure_requests")
    # Touchpoints land first: C1 is not yet known to be Alice's, so they load...
    _load(warehouse, landing, "touchpoints")
    assert _rows(warehouse, "select count(*) from raw.touchpoints where contact_id = 'C1'") == [
        (2,)
    ]
    # ...until her contact row arrives, is set aside, and its id sweeps the other tables.
    _load(warehouse, landing, "contacts")
    _load(warehouse, landing, "orders")
    _load(warehouse, landing, "refunds")
    assert _rows(
        warehouse,
        "select (select count(*) from raw.touchpoints where contact_id = 'C1'),"
        " (select count(*) from raw.contacts where contact_id = 'C1'),"
        " (select count(*) from raw.refunds where order_id = 'O1')",
    ) == [(0, 0, 0)]
