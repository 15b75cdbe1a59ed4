"""Erasure keeps no key of the erased (issue 13): one suppression list of one-way hashes, no
e-mail, customer_key, contact id or order id of an erased person left in any raw table, and
re-extracting old files keeps them out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.extract import ERASED_REASON, extract_entity
from pipelines.lib.landing_contract import ENTITIES_BY_NAME
from pipelines.lib.pseudonymise import customer_key, suppression_hash
from pipelines.lib.raw_schema import raw_schema_ddl
from pipelines.lib.warehouse import warehouse_connection

pytestmark = pytest.mark.unit

SECRET = "test-secret"
DAY1, DAY2 = "2026-03-01", "2026-03-02"
TS = "2026-03-01T10:00:00Z"
ALICE_KEY = customer_key("alice@example.com", SECRET)
ALICE_IDS = ("C1", "O1", "O9")  # O9: her order rejected for its negative amount

FILES = {
    ("contacts", DAY1): (
        "contact_id,email,full_name,country,created_at,updated_at,marketing_consent\n"
        f"C1,Alice@Example.com,Alice Smith,DE,{TS},{TS},true\n"  # line 2
        f"C2,bob@example.com,Bob,US,{TS},{TS},false\n"  # line 3
        f"C1,alice@example.com,Alice Smith,DE,2026-13-45T00:00:00Z,{TS},true\n"  # 4: bad date
    ),
    ("touchpoints", DAY1): (
        "contact_id,occurred_at,channel,campaign_id,touch_type\n"
        f"C1,{TS},google_ads,gads-001,click\n"  # line 2
        f"C1,{TS},tiktok,,view\n"  # line 3: unknown channel, Alice's
        f"C2,{TS},email,,open\n"  # line 4
    ),
    ("orders", DAY1): (
        "order_id,customer_email,ordered_at,status,currency,amount\n"
        f"O1,alice@example.com,{TS},paid,EUR,10.50\n"  # line 2
        f"O2,bob@example.com,{TS},paid,EUR,5\n"  # line 3
        f"O9,ALICE@example.com,{TS},paid,EUR,-1\n"  # line 4: negative amount, Alice's
    ),
    ("refunds", DAY2): (
        f"refund_id,order_id,refunded_at,currency,amount\nR1,O1,{TS},EUR,2.50\nR2,O2,{TS},EUR,1\n"
    ),
}
ENTITIES = ("contacts", "touchpoints", "orders", "refunds")


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    landing = tmp_path / "landing"
    for (entity, day), text in FILES.items():
        path = landing / ENTITIES_BY_NAME[entity].file_path(day)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return landing


def _load(warehouse: Path, landing: Path, entity: str, days=(DAY1, DAY2)):
    with warehouse_connection(warehouse, SECRET) as con:
        return extract_entity(con, landing, ENTITIES_BY_NAME[entity], list(days))


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _every_text_value(warehouse: Path) -> list[tuple[str, str, str]]:
    """(table, column, value) of every VARCHAR and MAP value of every raw table."""
    columns = _rows(
        warehouse,
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_schema = 'raw' and (data_type = 'VARCHAR' or data_type like 'MAP%')",
    )
    values = []
    for table, column, _ in columns:
        for (value,) in _rows(
            warehouse, f'select "{column}"::VARCHAR from raw.{table} where "{column}" is not null'
        ):
            values.append((table, column, value))
    return values


def _traces_of_alice(warehouse: Path) -> list[tuple[str, str, str]]:
    return [
        (t, c, v)
        for t, c, v in _every_text_value(warehouse)
        if "alice" in v.lower() or ALICE_KEY in v or v in ALICE_IDS
    ]


def _request(landing: Path, text: str, day: str = DAY2) -> None:
    path = landing / ENTITIES_BY_NAME["erasure_requests"].file_path(day)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_erasure_leaves_no_key_of_the_person_in_any_raw_table(tmp_path, landing):
    warehouse = tmp_path / "wh.duckdb"
    for entity in ENTITIES:
        _load(warehouse, landing, entity)
    assert len(_traces_of_alice(warehouse)) > 10  # she is there before the request
    _request(landing, "email,requested_at\n  ALICE@example.COM ,2026-03-02T09:00:00Z\n")
    (report, _) = reversed(_load(warehouse, landing, "erasure_requests"))

    assert _traces_of_alice(warehouse) == []
    # The list: her e-mail (as the hash of her customer_key) and the ids found through it.
    requested = "2026-03-02 09:00:00"
    assert sorted(
        _rows(
            warehouse, "select key_type, key_hash, requested_at::varchar from raw.suppression_list"
        )
    ) == sorted(
        [
            ("email", suppression_hash("email", ALICE_KEY), requested),
            ("contact_id", suppression_hash("contact_id", "C1"), requested),
            ("order_id", suppression_hash("order_id", "O1"), requested),
            ("order_id", suppression_hash("order_id", "O9"), requested),
        ]
    )
    assert ALICE_KEY not in {
        h for (h,) in _rows(warehouse, "select key_hash from raw.suppression_list")
    }
    # The request itself keeps only its time and lineage.
    assert _rows(warehouse, "select * exclude (_loaded_at) from raw.erasure_requests") == [
        (
            dt.datetime.fromisoformat(requested),
            "privacy/erasure_requests/2026-03-02.csv",
            2,
            dt.date.fromisoformat(DAY2),
        )
    ]
    # Her rows: C1 x2 in contacts (one rejected for its date), touchpoints x2 (one rejected
    # for its channel), O1 and the rejected O9 in orders, R1 in refunds. Rows moved by the
    # sweep are 'erased'; the ones already rejected keep their reason without its value.
    assert _rows(
        warehouse,
        "select entity, source_line, reason, raw_line, person_customer_key, person_contact_id,"
        " person_order_id from raw.rejected_rows order by all",
    ) == [
        ("contacts", 2, ERASED_REASON, None, None, None, None),
        ("contacts", 4, "unparseable date", None, None, None, None),
        ("orders", 2, ERASED_REASON, None, None, None, None),
        ("orders", 4, "negative amount", None, None, None, None),
        ("refunds", 2, ERASED_REASON, None, None, None, None),
        ("touchpoints", 2, ERASED_REASON, None, None, None, None),
        ("touchpoints", 3, "unknown channel", None, None, None, None),
    ]
    # Bob is untouched; the sweep's 4 moved rows count on the request's load_log row.
    assert _rows(warehouse, "select contact_id from raw.contacts") == [("C2",)]
    assert _rows(
        warehouse,
        "select partition_date::varchar, rows_loaded, rows_erased from raw.load_log"
        " where entity = 'erasure_requests' order by 1",
    ) == [(DAY1, 0, 4), (DAY2, 1, 0)]

    # A backfill re-extracts the old files: she stays out, every line still reconciles.
    for entity in ENTITIES:
        for r in _load(warehouse, landing, entity):
            if r.file:
                assert r.rows_loaded + r.rows_rejected == r.data_lines
    assert _traces_of_alice(warehouse) == []
    assert _rows(
        warehouse,
        "select entity, rows_loaded, rows_rejected, rows_erased from raw.load_log"
        " where entity <> 'erasure_requests' and source_file is not null order by 1",
    ) == [
        ("contacts", 1, 2, 1),
        ("orders", 1, 2, 1),
        ("refunds", 1, 1, 1),
        ("touchpoints", 1, 2, 1),
    ]


def test_a_person_landing_after_the_request_is_kept_out_under_every_id(tmp_path, landing):
    warehouse = tmp_path / "wh.duckdb"
    _request(landing, "email,requested_at\nalice@example.com,2026-03-01T00:00:00Z\n", DAY1)
    _load(warehouse, landing, "erasure_requests")
    _load(warehouse, landing, "refunds")  # R1 of O1 loads: O1 is not yet known as hers
    assert _rows(warehouse, "select refund_id from raw.refunds order by 1") == [("R1",), ("R2",)]
    for entity in ("orders", "touchpoints", "contacts"):
        _load(warehouse, landing, entity)
    assert _rows(warehouse, "select refund_id from raw.refunds") == [("R2",)]
    assert _traces_of_alice(warehouse) == []


def test_tables_of_the_former_erasure_design_are_migrated(tmp_path, landing):
    warehouse = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute(raw_schema_ddl())
    con.execute("drop table raw.erasure_requests")
    con.execute(
        "create table raw.erasure_requests (customer_key VARCHAR, requested_at TIMESTAMP,"
        " _extra_columns MAP(VARCHAR, VARCHAR), _source_file VARCHAR, _source_line BIGINT,"
        " _loaded_at TIMESTAMP, _partition_date DATE)"
    )
    con.execute(
        "insert into raw.erasure_requests values (?, '2026-03-02 09:00', null,"
        " 'privacy/erasure_requests/2026-03-02.csv', 2, now(), '2026-03-02')",
        [ALICE_KEY],
    )
    con.execute("create table raw.erased_keys (key_type VARCHAR, key_value VARCHAR)")
    con.execute("insert into raw.erased_keys values ('contact_id', 'C1')")
    con.close()
    _load(warehouse, landing, "touchpoints")
    assert _rows(warehouse, "select key_type, key_hash from raw.suppression_list order by 1") == [
        ("contact_id", suppression_hash("contact_id", "C1")),
        ("email", suppression_hash("email", ALICE_KEY)),
    ]
    assert _rows(
        warehouse,
        "select count(*) from information_schema.tables where table_name = 'erased_keys'",
    ) == [(0,)]
    assert _rows(warehouse, "select contact_id from raw.touchpoints") == [("C2",)]
    assert _traces_of_alice(warehouse) == []
