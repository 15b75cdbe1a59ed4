"""Extraction is honest about bad input (issue 13): physical line numbers and exact raw text,
encodings, headers, contract rules per row, misnamed files, and errors without content.

Every expected figure is worked out by hand from the file written in the test."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.lib.extract import (
    MAX_LINE_BYTES,
    LandingContractError,
    check_utf8,
    extract_entity,
)
from pipelines.lib.landing_contract import ENTITIES_BY_NAME
from pipelines.lib.warehouse import warehouse_connection

pytestmark = pytest.mark.unit

SECRET = "test-secret"
DAY = "2026-03-01"
CONTACTS_HEADER = "contact_id,email,full_name,country,created_at,updated_at,marketing_consent"
TS = "2026-03-01T10:00:00Z"


def _write(landing: Path, entity: str, text: str | bytes, day: str = DAY, ext: str = "csv"):
    path = landing / ENTITIES_BY_NAME[entity].file_path(day, ext)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _load(tmp_path: Path, entity: str, days=(DAY,)):
    with warehouse_connection(tmp_path / "wh.duckdb", SECRET) as con:
        return extract_entity(con, tmp_path / "landing", ENTITIES_BY_NAME[entity], list(days))


def _rows(tmp_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# ---------------------------------------------------------------- 1. physical lines


def _multiline_contacts(newline: str) -> tuple[str, str]:
    """The file and the exact text of its record on lines 5-7 (rejected)."""
    bad = f'C2,b@x.com,"Multi{newline}{newline}line",US,2026-13-45T00:00:00Z,{TS},false'
    lines = [
        CONTACTS_HEADER,  # line 1
        f'C1,a@x.com,"Line one{newline}line two",DE,{TS},{TS},true',  # lines 2-3
        "",  # line 4: blank
        bad,  # lines 5-7
        "",  # line 8: blank
        f"C3,c@x.com,Carol,US,{TS},{TS},true",  # line 9
        f",d@x.com,Dan,US,{TS},{TS},true",  # line 10: missing id
    ]
    return newline.join(lines) + newline, bad


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_lines_are_physical_after_quoted_newlines_and_blank_lines(tmp_path, newline):
    text, bad = _multiline_contacts(newline)
    _write(tmp_path / "landing", "contacts", text)
    (report,) = _load(tmp_path, "contacts")
    # Four records under the header: C1, C2, C3 and the one without an id.
    assert (report.data_lines, report.rows_loaded, report.rows_rejected) == (4, 2, 2)
    assert _rows(
        tmp_path, "select contact_id, full_name, _source_line from raw.contacts order by 3"
    ) == [("C1", f"Line one{newline}line two", 2), ("C3", "Carol", 9)]
    assert _rows(
        tmp_path,
        "select source_line, column_name, reason, raw_line from raw.rejected_rows order by 1",
    ) == [
        (5, "created_at", "unparseable date: 2026-13-45T00:00:00Z", bad),
        (10, "contact_id", "missing id", f",d@x.com,Dan,US,{TS},{TS},true"),
    ]
    assert _rows(tmp_path, "select data_records, rows_loaded, rows_rejected from raw.load_log") == [
        (4, 2, 2)
    ]


def test_json_lines_keep_physical_lines_across_blank_lines(tmp_path):
    rows = [
        '{"refund_id": "R1", "order_id": "O1", "refunded_at": "2026-03-01T00:00:00Z",'
        ' "currency": "EUR", "amount": "1.25"}',
        "",
        '{"refund_id": "R2", "order_id": "O1", "refunded_at": "2026-03-01T00:00:00Z",'
        ' "currency": "EUR", "amount": "oops"}',
    ]
    _write(tmp_path / "landing", "refunds", "\n".join(rows) + "\n", ext="jsonl")
    (report,) = _load(tmp_path, "refunds")
    assert (report.rows_loaded, report.rows_rejected) == (1, 1)
    assert _rows(tmp_path, "select _source_line from raw.refunds") == [(1,)]
    assert _rows(tmp_path, "select source_line, column_name, raw_line from raw.rejected_rows") == [
        (3, "amount", rows[2])
    ]


# ------------------------------------------------------------- 2. encodings, headers


def test_a_utf8_bom_is_accepted(tmp_path):
    _write(
        tmp_path / "landing",
        "contacts",
        f"\ufeff{CONTACTS_HEADER}\nC1,a@x.com,Zoë,DE,{TS},{TS},true\n",
    )
    (report,) = _load(tmp_path, "contacts")
    assert (report.rows_loaded, report.rows_rejected) == (1, 0)
    assert _rows(tmp_path, "select contact_id, full_name, _source_line from raw.contacts") == [
        ("C1", "Zoë", 2)
    ]


def test_non_utf8_bytes_fail_with_the_byte_offset_and_no_content(tmp_path):
    header = (CONTACTS_HEADER + "\n").encode()
    body = f"C1,jos\xe9@x.com,Jose,ES,{TS},{TS},true\n".encode("latin-1")
    path = _write(tmp_path / "landing", "contacts", header + body)
    with pytest.raises(LandingContractError) as error:
        _load(tmp_path, "contacts")
    # The header is 7 names of 68 characters, 6 commas and a newline: bytes 0-74; then
    # 'C1,jos' is bytes 75-80, so the latin-1 é is at byte offset 81.
    assert len(header) == 75
    assert str(error.value) == f"{path}: not UTF-8: invalid byte at byte offset 81"


def test_the_utf8_check_counts_offsets_across_chunks(tmp_path):
    path = tmp_path / "f.csv"
    # 'ab' + é (2 bytes, split by the 3-byte chunks) + 'c' + a lone continuation byte.
    path.write_bytes(b"ab\xc3\xa9c\x80d")
    with pytest.raises(LandingContractError, match="byte offset 5$"):
        check_utf8(path, chunk_bytes=3)
    path.write_bytes(b"ab\xc3")  # truncated at the end of the file
    with pytest.raises(LandingContractError, match="byte offset 2$"):
        check_utf8(path, chunk_bytes=2)


@pytest.mark.parametrize(
    ("extra", "named"),
    [(",email", "'email'"), (", Email ", "'Email'"), (",EMAIL", "'EMAIL'")],
)
def test_duplicated_or_colliding_headers_fail_naming_file_and_column(tmp_path, extra, named):
    path = _write(
        tmp_path / "landing",
        "contacts",
        f"{CONTACTS_HEADER}{extra}\nC1,a@x.com,A,DE,{TS},{TS},true,x\n",
    )
    with pytest.raises(LandingContractError) as error:
        _load(tmp_path, "contacts")
    assert str(path) in str(error.value)
    assert f"column name {named}" in str(error.value)
    assert "a@x.com" not in str(error.value)


# ------------------------------------------------------------------- 3. row rules


def test_fx_rates_must_be_positive_and_finite(tmp_path):
    _write(
        tmp_path / "landing",
        "fx_rates",
        "date,currency,units_per_usd\n"
        f"{DAY},EUR,NaN\n{DAY},GBP,0\n{DAY},CHF,-0.9\n{DAY},SEK,inf\n{DAY},JPY,150.5\n",
    )
    (report,) = _load(tmp_path, "fx_rates")
    assert (report.rows_loaded, report.rows_rejected) == (1, 4)
    assert _rows(
        tmp_path, "select source_line, column_name, reason from raw.rejected_rows order by 1"
    ) == [
        (2, "units_per_usd", "not a positive finite rate: NaN"),
        (3, "units_per_usd", "not a positive finite rate: 0"),
        (4, "units_per_usd", "not a positive finite rate: -0.9"),
        (5, "units_per_usd", "not a positive finite rate: inf"),
    ]
    assert _rows(tmp_path, "select currency, units_per_usd from raw.fx_rates") == [("JPY", 150.5)]


def test_naive_timestamps_and_negative_amounts_are_rejected(tmp_path):
    _write(
        tmp_path / "landing",
        "orders",
        "order_id,customer_email,ordered_at,status,currency,amount\n"
        "O1,a@x.com,2026-03-01T11:00:00,paid,EUR,10\n"  # line 2: no offset
        "O2,a@x.com,2026-03-01 11:00:00+01,paid,EUR,0\n"  # line 3: loads (10:00 UTC)
        "O3,a@x.com,2026-03-01T11:00:00-0500,paid,EUR,-5.00\n"  # line 4: negative
        "O4,a@x.com,2026-03-01,paid,EUR,5\n"  # line 5: a date is no timestamp with offset
        "O5,a@x.com,2026-03-01T11:00:00.250Z,refunded,EUR,5\n",  # line 6: loads
    )
    (report,) = _load(tmp_path, "orders")
    assert (report.rows_loaded, report.rows_rejected) == (2, 3)
    assert _rows(
        tmp_path, "select source_line, column_name, reason from raw.rejected_rows order by 1"
    ) == [
        (2, "ordered_at", "timestamp without offset"),
        (4, "amount", "negative amount: -5.00"),
        (5, "ordered_at", "timestamp without offset"),
    ]
    assert _rows(tmp_path, "select order_id, ordered_at::varchar from raw.orders order by 1") == [
        ("O2", "2026-03-01 10:00:00"),
        ("O5", "2026-03-01 11:00:00.25"),
    ]


def test_a_refund_of_an_unknown_order_still_loads(tmp_path):
    # Matching refunds to orders is dbt's job (int_refunds_unmatched), not the extractor's.
    _write(
        tmp_path / "landing",
        "refunds",
        f"refund_id,order_id,refunded_at,currency,amount\nR1,O-never-seen,{TS},EUR,1\n",
    )
    (report,) = _load(tmp_path, "refunds")
    assert (report.rows_loaded, report.rows_rejected) == (1, 0)


# ------------------------------------------------------------------ 4. file names


def test_misnamed_day_files_fail_the_load_naming_them(tmp_path):
    landing = tmp_path / "landing"
    good = _write(landing, "contacts", f"{CONTACTS_HEADER}\nC1,a@x.com,A,DE,{TS},{TS},true\n")
    folder = good.parent
    for name in ("2026-1-7.csv", "2026-01-32.csv", "2026-03-02.CSV", "notes.csv"):
        (folder / name).write_text(CONTACTS_HEADER + "\n")
    with pytest.raises(LandingContractError) as error:
        _load(tmp_path, "contacts")
    assert str(error.value).startswith(
        f"{folder}: misnamed landing files 2026-01-32.csv, 2026-03-02.CSV, 2026-1-7.csv,"
        " notes.csv ("
    )


def test_hidden_and_non_data_files_are_tolerated(tmp_path):
    landing = tmp_path / "landing"
    good = _write(landing, "contacts", f"{CONTACTS_HEADER}\nC1,a@x.com,A,DE,{TS},{TS},true\n")
    for name in (".DS_Store", "README", "notes.md", ".2026-03-02.csv.tmp"):
        (good.parent / name).write_text("x")
    (good.parent / "archive").mkdir()
    (report,) = _load(tmp_path, "contacts")
    assert (report.rows_loaded, report.rows_rejected) == (1, 0)


# ------------------------------------------------- 2 and 6. errors carry no content


def test_an_over_long_line_fails_naming_file_and_line_without_content(tmp_path):
    long_value = "SECRET" * (MAX_LINE_BYTES // 6 + 1)
    path = _write(
        tmp_path / "landing",
        "contacts",
        f"{CONTACTS_HEADER}\nC1,a@x.com,A,DE,{TS},{TS},true\nC2,b@x.com,{long_value},DE,{TS},{TS},true\n",
    )
    with pytest.raises(LandingContractError) as error:
        _load(tmp_path, "contacts")
    assert str(error.value) == f"{path}: line 3: longer than {MAX_LINE_BYTES} bytes"


def test_an_unterminated_quote_fails_naming_the_line_without_content(tmp_path):
    path = _write(
        tmp_path / "landing",
        "contacts",
        f'{CONTACTS_HEADER}\nC1,a@x.com,A,DE,{TS},{TS},true\nC2,b@x.com,"SECRET name,DE\n'
        f"C3,c@x.com,C,DE,{TS},{TS},true\n",
    )
    with pytest.raises(LandingContractError) as error:
        _load(tmp_path, "contacts")
    assert str(error.value) == f"{path}: line 3: a quoted field is never closed"


def test_reader_errors_are_reraised_without_the_lines_content(tmp_path):
    good = (
        '{"refund_id": "R1", "order_id": "O1", "refunded_at": "2026-03-01T00:00:00Z",'
        ' "currency": "EUR", "amount": "1"}'
    )
    path = _write(
        tmp_path / "landing",
        "refunds",
        good + '\n{"refund_id": "SECRET-R2", "order_id": "SECRET\n',
        ext="jsonl",
    )
    with pytest.raises(LandingContractError) as error:
        _load(tmp_path, "refunds")
    message = str(error.value)
    assert message.startswith(str(path)) and message.endswith("malformed JSON")
    assert "SECRET" not in message
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_a_broken_parquet_file_fails_without_content(tmp_path):
    path = _write(tmp_path / "landing", "fx_rates", b"SECRET not parquet", ext="parquet")
    with pytest.raises(LandingContractError) as error:
        _load(tmp_path, "fx_rates")
    assert str(error.value) == f"{path}: not a readable Parquet file"


def test_a_failed_load_leaves_the_previous_load_in_place(tmp_path):
    _write(tmp_path / "landing", "contacts", f"{CONTACTS_HEADER}\nC1,a@x.com,A,DE,{TS},{TS},true\n")
    _load(tmp_path, "contacts")
    _write(tmp_path / "landing", "contacts", f'{CONTACTS_HEADER}\nC1,"a@x.com\n')
    with pytest.raises(LandingContractError):
        _load(tmp_path, "contacts")
    assert _rows(tmp_path, "select contact_id from raw.contacts") == [("C1",)]


def test_the_raw_asset_fails_without_retries_and_without_content(tmp_path, monkeypatch):
    import dagster as dg

    from pipelines.defs.ingest.assets import build_raw_asset

    landing = tmp_path / "landing"
    path = _write(landing, "contacts", f'{CONTACTS_HEADER}\nC1,"SECRET@x.com\n')
    monkeypatch.setenv("FUNNEL_LANDING_DIR", str(landing))
    monkeypatch.setenv("FUNNEL_WAREHOUSE_PATH", str(tmp_path / "wh.duckdb"))
    asset = build_raw_asset(ENTITIES_BY_NAME["contacts"])
    context = dg.build_asset_context(
        partition_key=DAY, resources={"warehouse_lock": dg.ResourceDefinition.none_resource()}
    )
    with pytest.raises(dg.Failure) as failure:
        asset(context)
    assert failure.value.allow_retries is False
    assert failure.value.description == f"{path}: line 2: a quoted field is never closed"


def test_json_lines_with_a_duplicated_key_or_a_bom_fail(tmp_path):
    row = '{"refund_id": "R1", "order_id": "O1", "refunded_at": "2026-03-01T00:00:00Z",'
    path = _write(
        tmp_path / "landing",
        "refunds",
        row + ' "currency": "EUR", "amount": "1", "amount": "2"}\n',
        ext="jsonl",
    )
    with pytest.raises(LandingContractError, match="duplicated column name 'amount'$"):
        _load(tmp_path, "refunds")
    path.write_text("\ufeff" + row + ' "currency": "EUR", "amount": "1"}\n')
    with pytest.raises(LandingContractError) as error:
        _load(tmp_path, "refunds")
    assert (
        str(error.value) == f"{path}: a byte order mark (BOM), which JSON Lines files may not have"
    )
