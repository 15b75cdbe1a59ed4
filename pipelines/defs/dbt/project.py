"""The dbt project, prepared once: its manifest is parsed only when missing or stale.

`dbt parse` costs seconds, so it never runs at import when target/manifest.json is newer
than every file of the project; after a change to the project the next load re-parses.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.settings import load_settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[3] / "dbt_project"
_SOURCE_DIRS = ("models", "macros", "seeds", "tests", "snapshots")


def dbt_env() -> dict[str, str]:
    """Environment for dbt: the warehouse as an absolute path (dbt runs in its project dir)."""
    settings = load_settings()
    return {"FUNNEL_WAREHOUSE_PATH": str(settings.warehouse_path)}


def export_dbt_env() -> None:
    """Put `dbt_env()` in this process's environment, which dbt's subprocesses inherit.

    Done once, when the definitions load (a relative FUNNEL_WAREHOUSE_PATH means the folder
    the pipeline was started from, while dbt runs in dbt_project/); never during a run.
    """
    os.environ.update(dbt_env())


def _newest_source_mtime() -> float:
    paths = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in _SOURCE_DIRS:
        paths += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in paths if p.exists())


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


@functools.cache
def dbt_project() -> DbtProject:
    export_dbt_env()
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    manifest = project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime():
        subprocess.run(
            [dbt_executable(), "parse", "--quiet", "--profiles-dir", str(DBT_PROJECT_DIR)],
            cwd=DBT_PROJECT_DIR,
            env={**os.environ, **dbt_env()},
            check=True,
        )
    return project


def dbt_var(name: str):
    """A metric setting from the `vars:` of dbt_project.yml (the one place they live)."""
    import yaml

    config = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return config["vars"][name]


def mart_names() -> list[str]:
    """The marts: every dbt model in the `marts` schema (models/marts/), by name."""
    import json

    manifest = json.loads(dbt_project().manifest_path.read_text())
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts"
    )


KEEP_DBT_TARGETS = 5  # each dbt invocation of dagster-dbt writes target/<id>/ (logs, results)


def prune_dbt_targets(keep: int = KEEP_DBT_TARGETS) -> list[Path]:
    """Remove all but the newest `keep` per-invocation dbt target folders (logs and run
    results of old runs), keeping target/ itself (manifest, partial parse state)."""
    import shutil

    target = DBT_PROJECT_DIR / "target"
    runs = sorted(
        (p for p in target.iterdir() if p.is_dir() and (p / "run_results.json").exists()),
        key=lambda p: p.stat().st_mtime,
    ) if target.exists() else []  # fmt: skip
    removed = runs[: max(0, len(runs) - keep)]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed
