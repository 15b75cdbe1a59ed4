"""publish_marts: atomic swaps, orphans of a killed publication removed, and the retention
(previous version kept until the next publication, none kept after an erasure)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.serving import current_version, publish_marts

# The marts of this fixture warehouse (the real list is the dbt project's marts folder).
MARTS = (
    "funnel_daily", "cac_daily", "ltv_cohorts", "lifecycle_monthly", "unit_economics_monthly",
    "customers",
)  # fmt: skip

pytestmark = pytest.mark.unit

ERASED_KEY = "ck-erased-5f1e0c9a7b3d4e21a8c6f0b2d4e6a8c0"


def make_warehouse(path: Path, customer_keys: list[str]) -> None:
    """A warehouse with every mart; `customers` holds one row per key."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        for mart in MARTS:
            con.execute(f"create or replace table marts.{mart} as select 1 as n")
        con.execute(
            "create or replace table marts.customers (customer_key varchar, net_revenue double)"
        )
        for key in customer_keys:
            con.execute("insert into marts.customers values (?, 10.0)", [key])
    finally:
        con.close()


def serving_files(serving: Path) -> list[Path]:
    return [p for p in serving.rglob("*") if p.is_file() and not p.is_symlink()]


def files_holding(serving: Path, needle: str) -> list[Path]:
    return [p for p in serving_files(serving) if needle.encode() in p.read_bytes()]


def versions(serving: Path) -> set[str]:
    return {p.name for p in (serving / ".versions").iterdir()}


def customer_keys(db: Path) -> list[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return [
            r[0] for r in con.execute("select customer_key from customers order by 1").fetchall()
        ]
    finally:
        con.close()


def test_publishes_every_mart_and_returns_rows(tmp_path):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    make_warehouse(warehouse, ["a", "b", "c"])
    rows = publish_marts(warehouse, serving)
    assert rows == {**{m: 1 for m in MARTS}, "customers": 3}
    assert customer_keys(serving / "marts.duckdb") == ["a", "b", "c"]
    assert (serving / "parquet").is_symlink()
    assert {p.name for p in (serving / "parquet").iterdir()} == {f"{m}.parquet" for m in MARTS}
    assert current_version(serving) == (serving / "parquet").resolve()


def test_previous_version_stays_until_the_next_publication(tmp_path):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    make_warehouse(warehouse, ["a"])
    publish_marts(warehouse, serving)
    first = current_version(serving)
    reader = duckdb.connect(str(serving / "marts.duckdb"), read_only=True)  # a BI session
    try:
        make_warehouse(warehouse, ["a", "b"])
        publish_marts(warehouse, serving)
        second = current_version(serving)
        assert versions(serving) == {first.name, second.name}  # the previous one stays
        # The open session keeps reading the version it opened, undisturbed.
        assert reader.execute("select count(*) from customers").fetchall() == [(1,)]
    finally:
        reader.close()
    assert customer_keys(serving / "marts.duckdb") == ["a", "b"]
    publish_marts(warehouse, serving)
    assert first.name not in versions(serving)  # deleted when the next publication started
    assert versions(serving) == {second.name, current_version(serving).name}


def test_erasure_deletes_every_old_version_at_once(tmp_path):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    make_warehouse(warehouse, ["kept", ERASED_KEY])
    publish_marts(warehouse, serving)
    publish_marts(warehouse, serving)
    assert files_holding(serving, ERASED_KEY)  # Parquet keeps keys readable as bytes

    make_warehouse(warehouse, ["kept"])  # the erasure run removed the person
    publish_marts(warehouse, serving)
    # Without the flag the previous version (with the person) is kept for open queries...
    assert files_holding(serving, ERASED_KEY)

    make_warehouse(warehouse, ["kept", ERASED_KEY])
    publish_marts(warehouse, serving)
    make_warehouse(warehouse, ["kept"])
    publish_marts(warehouse, serving, erasure_applied=True)
    # ...with it, no file of the serving folder holds the person when it returns.
    assert files_holding(serving, ERASED_KEY) == []
    assert versions(serving) == {current_version(serving).name}
    assert customer_keys(serving / "marts.duckdb") == ["kept"]


def test_leftovers_of_a_killed_publication_are_removed(tmp_path):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    make_warehouse(warehouse, ["a"])
    publish_marts(warehouse, serving)
    current = current_version(serving)
    # What a publication killed at various points leaves behind.
    orphan_db = serving / ".marts.duckdb.0123456789ab"
    orphan_db.write_bytes(ERASED_KEY.encode())
    (serving / ".marts.duckdb.0123456789ab.wal").write_bytes(b"wal")
    orphan_version = serving / ".versions" / "parquet-0123456789ab"
    orphan_version.mkdir()
    (orphan_version / "customers.parquet").write_bytes(ERASED_KEY.encode())
    orphan_link = serving / ".parquet.parquet-0123456789ab"
    orphan_link.symlink_to(Path(".versions") / "parquet-0123456789ab")

    publish_marts(warehouse, serving)

    assert not orphan_db.exists() and not orphan_version.exists()
    assert not os.path.lexists(orphan_link)
    assert not list(serving.glob(".marts.duckdb.*"))
    assert versions(serving) == {current.name, current_version(serving).name}
    assert files_holding(serving, ERASED_KEY) == []


def test_a_failed_publication_keeps_the_last_good_version(tmp_path):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    make_warehouse(warehouse, ["a"])
    publish_marts(warehouse, serving)
    good = current_version(serving)
    con = duckdb.connect(str(warehouse))
    con.execute("drop table marts.customers")
    con.close()
    with pytest.raises(duckdb.CatalogException):
        publish_marts(warehouse, serving, marts=MARTS)  # customers is listed but gone
    assert current_version(serving) == good
    assert customer_keys(serving / "marts.duckdb") == ["a"]
    make_warehouse(warehouse, ["a", "b"])
    publish_marts(warehouse, serving)  # cleans the failed attempt's leftovers
    assert not list(serving.glob(".marts.duckdb.*"))
    assert versions(serving) == {good.name, current_version(serving).name}


def test_money_and_counts_are_typed_and_the_dbt_docs_become_comments(tmp_path):
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    make_warehouse(warehouse, ["a"])
    con = duckdb.connect(str(warehouse))
    con.execute(
        "create or replace table marts.cac_daily as select * from (values"
        " ('google_ads', 10.004, 0.5::double, 2.0::double, 20.008),"
        " ('all', 10.004, 1.0::double, 2.0::double, null)"
        ") t(channel, spend, new_customers, cohort_customers, cac)"
    )
    con.close()
    descriptions = {
        "cac_daily": {
            "table": "Daily spend and CAC. It's per channel.",
            "columns": {
                "spend": "Ad spend in reporting currency.",
                "new_customers": "A sum of fractional credits.",
                "not_a_column": "ignored",
            },
            "money": ["spend", "cac"],
            "counts": ["cohort_customers"],
        }
    }
    publish_marts(warehouse, serving, descriptions=descriptions)

    con = duckdb.connect(str(serving / "marts.duckdb"), read_only=True)
    try:
        types = dict(
            con.execute(
                "select column_name, data_type from duckdb_columns() where table_name = 'cac_daily'"
            ).fetchall()
        )
        assert types == {
            "channel": "VARCHAR",
            "spend": "DECIMAL(18,2)",
            "new_customers": "DOUBLE",  # attributed credit stays fractional
            "cohort_customers": "BIGINT",
            "cac": "DECIMAL(18,2)",
        }
        comments = dict(
            con.execute(
                "select column_name, comment from duckdb_columns() where table_name = 'cac_daily'"
            ).fetchall()
        )
        assert comments["new_customers"] == "A sum of fractional credits."
        assert comments["channel"] is None
        assert con.execute(
            "select comment from duckdb_tables() where table_name = 'cac_daily'"
        ).fetchall() == [("Daily spend and CAC. It's per channel.",)]
        rows = con.execute("select spend, cac from cac_daily order by channel").fetchall()
        assert [tuple(str(v) for v in r) for r in rows] == [("10.00", "None"), ("10.00", "20.01")]
        # A mart without a description is copied as it is.
        assert con.execute(
            "select data_type from duckdb_columns() where table_name = 'customers'"
            " and column_name = 'net_revenue'"
        ).fetchall() == [("DOUBLE",)]
        parquet = str(serving / "parquet" / "cac_daily.parquet")
        assert con.execute(
            f"select typeof(spend), typeof(cac), typeof(cohort_customers) from '{parquet}' limit 1"
        ).fetchall() == [("DECIMAL(18,2)", "DECIMAL(18,2)", "BIGINT")]
    finally:
        con.close()
    assert not list(serving.glob("*.wal")) and not list(serving.glob(".marts.duckdb.*"))


def test_mart_descriptions_read_the_marts_docs_and_meta_from_the_manifest(tmp_path):
    from pipelines.lib.mart_docs import mart_descriptions

    def model(name, schema, columns):
        return {
            "resource_type": "model",
            "name": name,
            "config": {"schema": schema},
            "description": f"  About {name}.\n",
            "columns": columns,
        }

    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "nodes": {
                    "model.funnel.cac_daily": model(
                        "cac_daily",
                        "marts",
                        {
                            "spend": {"description": "Spend.", "meta": {"money": True}},
                            "cac": {"description": "CAC.", "config": {"meta": {"money": True}}},
                            "new_customers": {"description": "Fractional credit.", "meta": {}},
                            "customers": {"description": "", "meta": {"count": True}},
                        },
                    ),
                    "model.funnel.fct_orders": model("fct_orders", "core", {}),
                    "test.funnel.x": {"resource_type": "test", "name": "x", "config": {}},
                }
            }
        )
    )
    assert mart_descriptions(manifest) == {
        "cac_daily": {
            "table": "About cac_daily.",
            "columns": {"spend": "Spend.", "cac": "CAC.", "new_customers": "Fractional credit."},
            "money": ["spend", "cac"],
            "counts": ["customers"],
        }
    }
