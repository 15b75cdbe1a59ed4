"""Build selected dbt models of the real project on a test warehouse (in-process dbt)."""

from __future__ import annotations

import os
from pathlib import Path

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


def run_dbt(warehouse: Path, work_dir: Path, *args: str):
    """`dbt <args>` on `warehouse`, with target and logs in `work_dir` (not the project's)."""
    from dbt.cli.main import dbtRunner

    previous = os.environ.get("FUNNEL_WAREHOUSE_PATH")
    os.environ["FUNNEL_WAREHOUSE_PATH"] = str(warehouse)
    try:
        return dbtRunner().invoke(
            [
                *args,
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(work_dir / "target"),
                "--log-path",
                str(work_dir / "logs"),
                "--quiet",
            ]  # fmt: skip
        )
    finally:
        if previous is None:
            os.environ.pop("FUNNEL_WAREHOUSE_PATH", None)
        else:
            os.environ["FUNNEL_WAREHOUSE_PATH"] = previous


PREDICT_MODELS = (
    "customer_rfm_summary customer_rfm_calibration customer_prediction_fits "
    "customer_predictions customer_prediction_holdout"
)


def build_predictions(warehouse: Path, work_dir: Path, as_of: str) -> None:
    """The predict models on a warehouse holding only core.fct_orders: as_of_date is set by
    hand (intermediate.int_as_of_date), the rest of the project is not built."""
    import duckdb

    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists intermediate")
        con.execute(
            f"create or replace table intermediate.int_as_of_date as"
            f" select date '{as_of}' as as_of_date"
        )
    result = run_dbt(warehouse, work_dir, "run", "--select", *PREDICT_MODELS.split())
    assert result.success, result.exception
