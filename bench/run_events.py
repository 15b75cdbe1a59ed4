"""What a pipeline run stored, read back from its persistent Dagster instance (not timed).

    python -m bench.run_events --dagster-home H --run-id ID --result R

Counts the run's stored event log (`instance.all_logs`): entries, Dagster events by type, the
asset-check rows (planned and evaluated), materialisations of the partitioned raw assets and
of everything else; the rows of the run's SQLite `event_logs` table and its rows in
`asset_check_executions`, when the instance is SQLite; and, from the events' timestamps, when
the run was created (first stored event), how long storing its planned rows took, when it
started and ended, and each step's duration. The
dbt step's own timings come from the `run_results.json` dagster-dbt left for the run.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections import Counter
from pathlib import Path

DBT_TARGET_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "target"
CHECK_TYPES = ("ASSET_CHECK_EVALUATION_PLANNED", "ASSET_CHECK_EVALUATION")


def step_group(step_key: str) -> str:
    """Steps grouped by area: raw extraction, raw audit, dbt, checks, predictions, serving."""
    if step_key.startswith("raw__load_audit"):
        return "raw load audit"
    if step_key.startswith("raw__"):
        return "raw extraction"
    if step_key.startswith("funnel_dbt_assets"):
        return "dbt build"
    if "suite" in step_key:
        return "GE checks"
    if step_key.startswith("freshness"):
        return "freshness checks"
    return step_key.split("__", 1)[0]


def dbt_timings(run_id: str, target_dir: Path = DBT_TARGET_DIR) -> dict | None:
    """dbt's own elapsed time and summed node time by kind, from the run's run_results.json."""
    folders = sorted(target_dir.glob(f"*-{run_id[:7]}-*/run_results.json"))
    if not folders:
        return None
    return summarise_run_results(json.loads(folders[-1].read_text()))


def summarise_run_results(results: dict) -> dict:
    by_kind: dict[str, float] = {}
    counts: dict[str, int] = {}
    for node in results["results"]:
        kind = node["unique_id"].split(".", 1)[0]  # model, seed, test
        by_kind[kind] = by_kind.get(kind, 0.0) + node["execution_time"]
        counts[kind] = counts.get(kind, 0) + 1
    slowest = sorted(results["results"], key=lambda n: -n["execution_time"])[:5]
    return {
        "elapsed": results["elapsed_time"],
        "threads": len({node.get("thread_id") for node in results["results"]}),
        "seconds_by_kind": by_kind,
        "nodes_by_kind": counts,
        "slowest": [(n["unique_id"], round(n["execution_time"], 2)) for n in slowest],
    }


def sqlite_rows(home: Path, run_id: str) -> dict:
    rows: dict = {}
    runs = home / "history" / "runs"  # SqliteEventLogStorage: one file per run, an index
    run_db = runs / f"{run_id}.db"
    if run_db.exists():
        with sqlite3.connect(run_db) as con:
            rows["event_logs"] = con.execute("select count(*) from event_logs").fetchone()[0]
            # What the rows hold (serialised events), by type: what each kind costs to store.
            rows["bytes_by_type"] = dict(
                con.execute(
                    "select coalesce(dagster_event_type, 'log message'), sum(length(event))"
                    " from event_logs group by 1 order by 2 desc"
                ).fetchall()
            )
            rows["event_bytes"] = sum(rows["bytes_by_type"].values())
    index_db = runs / "index.db"
    if index_db.exists():
        with sqlite3.connect(index_db) as con:
            tables = {n for (n,) in con.execute("select name from sqlite_master")}
            if "asset_check_executions" in tables:
                rows["asset_check_executions"] = con.execute(
                    "select count(*) from asset_check_executions where run_id = ?", (run_id,)
                ).fetchone()[0]
    return rows


def run_events(home: Path, run_id: str) -> dict:
    import os

    os.environ["DAGSTER_HOME"] = str(home.resolve())
    from dagster import DagsterEventType, DagsterInstance

    with DagsterInstance.get() as instance:
        entries = instance.all_logs(run_id)
    by_type: Counter = Counter()
    raw_partitioned = other_materialisations = 0
    starts: dict[str, float] = {}
    steps: dict[str, float] = {}
    at: dict[str, float] = {}
    planned: dict[str, list[float]] = {}  # event type -> [first, last] timestamp
    for entry in entries:
        event = entry.dagster_event
        if event is None:
            continue
        by_type[event.event_type_value] += 1
        if event.event_type_value.endswith("_PLANNED"):
            span = planned.setdefault(event.event_type_value, [entry.timestamp, entry.timestamp])
            span[0], span[1] = min(span[0], entry.timestamp), max(span[1], entry.timestamp)
        kind = event.event_type
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            if event.asset_key.path[0] == "raw" and event.partition is not None:
                raw_partitioned += 1
            else:
                other_materialisations += 1
        elif kind == DagsterEventType.STEP_START:
            starts[entry.step_key] = entry.timestamp
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            steps[entry.step_key] = entry.timestamp - starts.get(entry.step_key, entry.timestamp)
        elif kind in (
            DagsterEventType.RUN_START,
            DagsterEventType.RUN_SUCCESS,
            DagsterEventType.RUN_FAILURE,
        ):
            at[kind.name] = entry.timestamp  # stored as PIPELINE_START etc.: compare names
    groups: dict[str, float] = {}
    for step, seconds in steps.items():
        groups[step_group(step)] = groups.get(step_group(step), 0.0) + seconds
    end = at.get("RUN_SUCCESS") or at.get("RUN_FAILURE")
    return {
        "run_id": run_id,
        "stored_entries": len(entries),
        "dagster_events": sum(by_type.values()),
        "by_type": dict(sorted(by_type.items())),
        "check_rows": sum(by_type[t] for t in CHECK_TYPES),
        "check_planned": by_type["ASSET_CHECK_EVALUATION_PLANNED"],
        "check_evaluations": by_type["ASSET_CHECK_EVALUATION"],
        "materialization_planned": by_type["ASSET_MATERIALIZATION_PLANNED"],
        "raw_partition_materializations": raw_partitioned,
        "other_materializations": other_materialisations,
        "sqlite_rows": sqlite_rows(home, run_id),
        "dagster_home": str(home),
        "first_event_epoch": min((e.timestamp for e in entries), default=None),
        "planned_spans": planned,
        "planned_end_epoch": max((span[1] for span in planned.values()), default=None),
        "run_start_epoch": at.get("RUN_START"),
        "run_end_epoch": end,
        "run_seconds": end - at["RUN_START"] if end and "RUN_START" in at else None,
        "steps": steps,
        "step_groups": groups,
        "dbt": dbt_timings(run_id),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run_events")
    parser.add_argument("--dagster-home", type=Path, required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args(argv)
    result = run_events(args.dagster_home, args.run_id)
    args.result.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("steps", "dbt")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
