"""Where a pipeline run's time went: Dagster step durations and dbt's own node timings.

Read after the run from its console log (Dagster's `STEP_SUCCESS ... in <duration>` lines,
so an ephemeral instance will do) and from the target folder dagster-dbt gave that run's
`dbt build` (`<op>-<run id[:7]>-<uuid>/run_results.json`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

DBT_TARGET_DIR = Path(__file__).resolve().parents[1] / "dbt_project" / "target"
_STEP_DONE = re.compile(
    r" - (?P<run>[0-9a-f-]{36}) - \d+ - (?P<step>\S+) - STEP_SUCCESS - "
    r'Finished execution of step "[^"]+" in (?P<duration>[0-9hms.]+)\.'
)
_RUN_EVENT = re.compile(
    r"^(?P<at>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) \+0000 .* - (?P<run>[0-9a-f-]{36}) - \d+ - "
    r"(?P<event>RUN_START|RUN_SUCCESS|RUN_FAILURE) - "
)
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    """Dagster's humanised durations: '325ms', '14.91s', '1m28s', '1h2m'."""
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


def _group(step_key: str) -> str:
    if "ge_suite" in step_key:  # pipelines.defs.quality's checks, once wired into the job
        return "GE checks"
    if step_key.startswith("raw__"):
        return "raw extraction"
    if step_key.startswith("funnel_dbt_assets"):
        return "dbt build"
    if step_key.startswith("freshness_check"):
        return "freshness checks"
    return step_key.split("__", 1)[0]


def dbt_timings(run_id: str) -> dict | None:
    folders = sorted(DBT_TARGET_DIR.glob(f"*-{run_id[:7]}-*/run_results.json"))
    if not folders:
        return None
    results = json.loads(folders[-1].read_text())
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


def run_breakdown(log_path: Path) -> dict | None:
    """Step durations (s) grouped by area, run time, and dbt's timings, from a run's log."""
    steps: dict[str, float] = {}
    run_events: dict[str, dt.datetime] = {}
    run_id = None
    materializations = 0
    with log_path.open(errors="replace") as log:
        for line in log:
            if " - ASSET_MATERIALIZATION - " in line:
                materializations += 1
            elif "STEP_SUCCESS" in line and (found := _STEP_DONE.search(line)):
                run_id = found["run"]
                steps[found["step"]] = duration_seconds(found["duration"])
            elif "RUN_" in line and (found := _RUN_EVENT.search(line)):
                run_id = found["run"]
                run_events[found["event"]] = dt.datetime.fromisoformat(found["at"])
    if run_id is None:
        return None
    groups: dict[str, float] = {}
    for step, seconds in steps.items():
        groups[_group(step)] = groups.get(_group(step), 0.0) + seconds
    end = run_events.get("RUN_SUCCESS") or run_events.get("RUN_FAILURE")
    start = run_events.get("RUN_START")
    return {
        "run_id": run_id,
        "run_seconds": (end - start).total_seconds() if start and end else None,
        "steps": groups,
        "materialization_events": materializations,
        "dbt": dbt_timings(run_id),
    }
