"""The published `marts.duckdb` opens in DuckDB 1.1 (what older BI drivers bundle): every mart
of the real dbt project, with the dbt docs as comments and money as DECIMAL, read by DuckDB
1.1.3 in its own virtual environment (installed on first use, cached outside the repo)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.mart_docs import mart_descriptions
from pipelines.lib.serving import publish_marts

pytestmark = pytest.mark.slow

OLD_DUCKDB = "1.1.3"
OLD_VENV = Path(
    os.environ.get("FUNNEL_OLD_DUCKDB_VENV")
    or Path(tempfile.gettempdir()) / f"funnel-duckdb-{OLD_DUCKDB}"
)
DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"

# What the lead adds to the marts' YAML as `meta: {money: true}` (amounts in the reporting
# currency); set here so the test covers DECIMAL columns before the YAML carries them.
MONEY = {
    "cac_daily": ["spend", "cpl", "cac", "cac_7d", "cac_30d"],
    "ltv_cohorts": ["cumulative_net_revenue", "ltv_per_customer"],
    "unit_economics_monthly": ["spend", "cac", "ltv_12m"],
    "customers": ["net_revenue", "predicted_ltv_12m"],
}

READER = """
import json, sys
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
out = {"version": duckdb.__version__, "tables": {}}
for (table, comment) in con.execute(
    "select table_name, comment from duckdb_tables() order by 1"
).fetchall():
    rows = con.execute(f"select * from {table}").fetchall()
    columns = con.execute(
        "select column_name, data_type, comment from duckdb_columns()"
        " where table_name = ? order by column_index", [table]
    ).fetchall()
    out["tables"][table] = {
        "comment": comment, "rows": [[str(v) for v in r] for r in rows],
        "columns": {name: [data_type, text] for name, data_type, text in columns},
    }
print(json.dumps(out))
"""


def old_duckdb_python() -> Path:
    python = OLD_VENV / "bin" / "python"
    check = [str(python), "-c", f"import duckdb; assert duckdb.__version__ == '{OLD_DUCKDB}'"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    shutil.rmtree(OLD_VENV, ignore_errors=True)
    base = shutil.which("python3.11") or sys.executable
    subprocess.run([base, "-m", "venv", str(OLD_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"duckdb=={OLD_DUCKDB}"], check=True
    )
    return python


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    """The dbt project's manifest, parsed into a temporary target."""
    from dbt.cli.main import dbtRunner

    root = tmp_path_factory.mktemp("dbt")
    os.environ.setdefault("FUNNEL_ENV", "dev")
    result = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(root / "target"),
            "--log-path",
            str(root / "logs"),
            "--quiet",
        ]  # fmt: skip
    )
    assert result.success, result.exception
    return root / "target" / "manifest.json"


def _warehouse_with_every_mart(path: Path, manifest_path: Path) -> dict[str, list[str]]:
    """Every mart as its contract types it, one hand-made row each; returns its columns."""
    manifest = json.loads(manifest_path.read_text())
    samples = {
        "date": "date '2026-03-01'", "varchar": "'google_ads'", "boolean": "true",
        "integer": "3", "bigint": "7", "double": "12.345",
    }  # fmt: skip
    columns: dict[str, list[str]] = {}
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        for node in manifest["nodes"].values():
            if node["resource_type"] != "model" or node["config"].get("schema") != "marts":
                continue
            cols = node["columns"]
            select = ", ".join(
                f"cast({samples.get(c['data_type'].lower(), 'null')} as {c['data_type']}) as {n}"
                for n, c in cols.items()
            )
            con.execute(f"create table marts.{node['name']} as select {select}")
            columns[node["name"]] = list(cols)
    finally:
        con.close()
    return columns


def test_duckdb_1_1_reads_every_published_mart_with_comments_and_decimals(manifest, tmp_path):
    python = old_duckdb_python()
    warehouse, serving = tmp_path / "warehouse.duckdb", tmp_path / "serving"
    columns = _warehouse_with_every_mart(warehouse, manifest)
    descriptions = mart_descriptions(manifest)
    assert set(descriptions) == set(columns) >= set(MONEY)
    for mart, money in MONEY.items():
        descriptions[mart]["money"] = money
    published = publish_marts(warehouse, serving, descriptions=descriptions)

    # The file written by DuckDB 2.0 with its own format is what older readers refuse.
    plain = tmp_path / "plain.duckdb"
    duckdb.connect(str(plain)).close()
    refused = subprocess.run(
        [str(python), "-c", f"import duckdb; duckdb.connect('{plain}', read_only=True)"],
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "version number" in refused.stderr

    done = subprocess.run(
        [str(python), "-c", READER, str(serving / "marts.duckdb")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout)
    assert read["version"] == "1.1.3"
    tables = read["tables"]
    assert set(tables) == set(columns)
    for mart, table in tables.items():
        assert list(table["columns"]) == columns[mart]
        assert len(table["rows"]) == published[mart] == 1
        assert table["comment"] == descriptions[mart]["table"] != ""
        for name, (data_type, comment) in table["columns"].items():
            assert comment == descriptions[mart]["columns"].get(name)
            if name in MONEY.get(mart, []):
                assert data_type == "DECIMAL(18,2)"

    cac = tables["cac_daily"]
    assert cac["columns"]["new_customers"][0] == "DOUBLE"
    assert "fractional" in cac["columns"]["new_customers"][1]
    assert "fractional" in cac["columns"]["new_leads"][1]
    spend = list(cac["columns"]).index("spend")
    assert cac["rows"][0][spend] == "12.35"  # to the cent
    counts = tables["ltv_cohorts"]["columns"]
    assert counts["cohort_customers"][0] == "BIGINT"
