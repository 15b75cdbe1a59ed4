"""The lower bound of the transformation: dbt's compiled SQL run directly in one DuckDB process.

    python -m bench.raw_sql --database DB --manifest target/manifest.json --result out.json

`prepare` (not timed) builds DB: a new warehouse file holding only the raw schema, copied from
a built warehouse, then `dbt compile`s the project against it, so every model's SQL is the
first-build (non-incremental) SQL, qualified with DB's name. The timed run (`main`) loads the
seeds with `read_csv` and runs every model in DAG order as `create or replace table|view
<relation> as <compiled select>`, with the same TEMP macros dbt's connections get; a Python
model (the predictions) runs its compiled code as dbt-duckdb does (`model(dbt, con)`, the
result stored as a table). No dbt, no Dagster, no tests, no hooks.
"""

from __future__ import annotations

import argparse
import graphlib
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
_BUILT = {"table", "incremental", "view", "seed"}


def copy_raw_schema(built_warehouse: Path, database: Path) -> list[str]:
    """A fresh DuckDB file with only `raw.*` of the built warehouse; returns the tables."""
    database.unlink(missing_ok=True)
    con = duckdb.connect(str(database))
    try:
        con.execute(f"attach '{built_warehouse}' as built (read_only)")
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables()"
                " where database_name = 'built' and schema_name = 'raw' order by 1"
            ).fetchall()
        ]
        con.execute("create schema raw")
        for name in tables:
            con.execute(f'create table raw."{name}" as select * from built.raw."{name}"')
        con.execute("detach built")
    finally:
        con.close()
    return tables


def compile_command(target_dir: Path) -> list[str]:
    dbt = Path(sys.executable).with_name("dbt")
    return [
        str(dbt) if dbt.exists() else "dbt",
        "compile",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target_dir / "target"),
        "--log-path",
        str(target_dir / "logs"),
        "--select",
        "resource_type:model",
        "--quiet",
    ]


def prepare(built_warehouse: Path, database: Path, work_dir: Path, env: dict) -> Path:
    """Copy the raw schema and compile the project against the copy; returns the manifest."""
    copy_raw_schema(built_warehouse, database)
    # Compiled against the copy itself: relations are qualified with its database name, and
    # no model exists there yet, so incremental models compile to their full-build SQL.
    subprocess.run(
        compile_command(work_dir),
        cwd=DBT_PROJECT_DIR,
        env={**env, "FUNNEL_WAREHOUSE_PATH": str(database)},
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return work_dir / "target" / "manifest.json"


def _statement(node: dict) -> str:
    relation = node["relation_name"]
    if node["resource_type"] == "seed":
        path = DBT_PROJECT_DIR / node["original_file_path"]
        types = node["config"].get("column_types") or {}
        spec = ", ".join(f"'{name}': '{type_}'" for name, type_ in types.items())
        options = f", types = {{{spec}}}" if spec else ""
        return (
            f"create or replace table {relation} as"
            f" select * from read_csv('{path}', header = true{options})"
        )
    kind = "view" if node["config"]["materialized"] == "view" else "table"
    select = node["compiled_code"].strip().rstrip(";")
    return f"create or replace {kind} {relation} as (\n{select}\n)"


def _run_python_model(con, node: dict) -> None:
    """A dbt Python model as dbt-duckdb runs it: `model(dbtObj(load), con)`, then a table."""
    namespace: dict = {"__name__": node["name"]}
    exec(compile(node["compiled_code"], node["original_file_path"], "exec"), namespace)
    dbt = namespace["dbtObj"](lambda table_name: con.sql(f"select * from {table_name}"))
    df = namespace["model"](dbt, con)
    name = f"__bench_python_model_{node['name']}"
    con.register(name, df)
    try:
        con.execute(f"create or replace table {node['relation_name']} as select * from {name}")
    finally:
        con.unregister(name)


def build_order(manifest: dict) -> list[dict]:
    """Seeds and models that make a relation, each after everything it depends on."""
    nodes = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in ("model", "seed")
        and (node["resource_type"] == "seed" or node["config"]["materialized"] in _BUILT)
    }
    graph = {
        uid: [dep for dep in node.get("depends_on", {}).get("nodes", []) if dep in nodes]
        for uid, node in nodes.items()
    }
    return [nodes[uid] for uid in graphlib.TopologicalSorter(graph).static_order()]


def run(database: Path, manifest_path: Path) -> dict:
    from pipelines.lib.pseudonymise import macro_sql
    from pipelines.settings import load_settings

    nodes = build_order(json.loads(manifest_path.read_text()))
    started = time.perf_counter()
    con = duckdb.connect(str(database))
    timings = []
    try:
        con.execute("set TimeZone = 'UTC'")  # as the dbt profile sets it
        con.execute(macro_sql(load_settings().pseudonymisation_secret))
        for schema in sorted({node["schema"] for node in nodes}):
            con.execute(f'create schema if not exists "{schema}"')
        for node in nodes:
            began = time.perf_counter()
            if node.get("language") == "python":
                _run_python_model(con, node)
            else:
                con.execute(_statement(node))
            timings.append((node["unique_id"], time.perf_counter() - began))
    finally:
        con.close()  # includes the checkpoint, as the end of a dbt run does
    return {
        "seconds": time.perf_counter() - started,
        "relations": len(nodes),
        "python_models": sum(1 for node in nodes if node.get("language") == "python"),
        "slowest": sorted(timings, key=lambda t: -t[1])[:8],
        "materialized": {
            node["name"]: node["config"].get("materialized", "seed") for node in nodes
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.raw_sql")
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--manifest", type=Path, required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    result = run(args.database, args.manifest)
    args.result.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
