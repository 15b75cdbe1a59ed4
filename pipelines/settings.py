"""Every environment setting of the pipeline, read in one place.

Each setting has a working default so that `make demo` runs on a fresh clone. Paths are
resolved against the current working directory, as a user typing them would expect.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

DEV_SECRET = "funnel-dev-secret-change-me"


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_path: Path
    serving_dir: Path
    start_date: dt.date
    pseudonymisation_secret: str
    missing_file_policy: str  # "empty" (default) or "fail"
    schedule_timezone: str

    @property
    def uses_dev_secret(self) -> bool:
        return self.pseudonymisation_secret == DEV_SECRET


def _path(name: str, default: str) -> Path:
    return Path(os.environ.get(name) or default).expanduser().resolve()


def load_settings() -> Settings:
    """Read the FUNNEL_* environment variables (documented in the README)."""
    policy = os.environ.get("FUNNEL_MISSING_FILE_POLICY", "empty").strip().lower()
    if policy not in ("empty", "fail"):
        raise ValueError(f"FUNNEL_MISSING_FILE_POLICY must be 'empty' or 'fail', not {policy!r}")
    start = os.environ.get("FUNNEL_START_DATE") or "2026-01-01"
    try:
        start_date = dt.date.fromisoformat(start)
    except ValueError as exc:
        raise ValueError(f"FUNNEL_START_DATE must be YYYY-MM-DD, not {start!r}") from exc
    return Settings(
        landing_dir=_path("FUNNEL_LANDING_DIR", "data/landing"),
        warehouse_path=_path("FUNNEL_WAREHOUSE_PATH", "data/warehouse.duckdb"),
        serving_dir=_path("FUNNEL_SERVING_DIR", "data/serving"),
        start_date=start_date,
        pseudonymisation_secret=os.environ.get("FUNNEL_PSEUDONYMISATION_SECRET") or DEV_SECRET,
        missing_file_policy=policy,
        schedule_timezone=os.environ.get("FUNNEL_SCHEDULE_TIMEZONE") or "UTC",
    )
