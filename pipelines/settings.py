"""Every environment setting of the pipeline, read in one place.

Each setting has a working default so that `make demo` runs on a fresh clone, except the
pseudonymisation secret: a known default would let anyone hash a candidate e-mail and
re-identify a `customer_key`. Without `FUNNEL_PSEUDONYMISATION_SECRET`, reading the secret
raises `MissingSecretError`, unless `FUNNEL_ENV=dev` opts into the development secret.
`load_settings()` itself never raises for a missing secret: Dagster imports the definitions
(the UI, a sensor) without needing it, and only what hashes e-mails must have it.

Paths are resolved against the current working directory, as a user typing them would expect.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

# Kept as it always was: changing it would re-key every existing development warehouse.
DEV_SECRET = "funnel-dev-secret-change-me"
DEV_ENV = "dev"
DEFAULT_LOCK_TIMEOUT_SECONDS = 3600.0


class MissingSecretError(RuntimeError):
    """The pseudonymisation secret is needed and neither set nor opted out of (dev)."""


MISSING_SECRET_MESSAGE = (
    "FUNNEL_PSEUDONYMISATION_SECRET is not set. Set it to a long random value and keep it "
    "stable (it keys the HMAC of every customer_key; changing it re-keys every person). "
    "On a development machine, set FUNNEL_ENV=dev instead to use the development secret, "
    "which is public: never use it for real data."
)


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_path: Path
    serving_dir: Path
    start_date: dt.date
    missing_file_policy: str  # "empty" (default) or "fail"
    schedule_timezone: str
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    environment: str = ""  # FUNNEL_ENV; only "dev" changes behaviour (the secret)
    # The raw FUNNEL_PSEUDONYMISATION_SECRET, None when unset; never shown in a repr.
    configured_secret: str | None = field(default=None, repr=False)

    @property
    def is_dev(self) -> bool:
        return self.environment == DEV_ENV

    @property
    def uses_dev_secret(self) -> bool:
        """True when no secret is set and FUNNEL_ENV=dev selects the development one."""
        return self.configured_secret is None and self.is_dev

    def require_secret(self) -> str:
        """The secret that keys `customer_key`; raises MissingSecretError when there is none."""
        if self.configured_secret is not None:
            return self.configured_secret
        if self.is_dev:
            return DEV_SECRET
        raise MissingSecretError(MISSING_SECRET_MESSAGE)

    @property
    def pseudonymisation_secret(self) -> str:
        """Attribute access for existing callers; raises MissingSecretError like require_secret."""
        return self.require_secret()


def _path(name: str, default: str) -> Path:
    return Path(os.environ.get(name) or default).expanduser().resolve()


def _missing_file_policy() -> str:
    policy = os.environ.get("FUNNEL_MISSING_FILE_POLICY", "empty").strip().lower()
    if policy not in ("empty", "fail"):
        raise ValueError(f"FUNNEL_MISSING_FILE_POLICY must be 'empty' or 'fail', not {policy!r}")
    return policy


def _start_date() -> dt.date:
    start = os.environ.get("FUNNEL_START_DATE") or "2026-01-01"
    try:
        return dt.date.fromisoformat(start)
    except ValueError as exc:
        raise ValueError(f"FUNNEL_START_DATE must be YYYY-MM-DD, not {start!r}") from exc


def _lock_timeout_seconds() -> float:
    text = os.environ.get("FUNNEL_LOCK_TIMEOUT_SECONDS") or str(DEFAULT_LOCK_TIMEOUT_SECONDS)
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also rejects nan
        raise ValueError(f"FUNNEL_LOCK_TIMEOUT_SECONDS must be a number >= 0, not {text!r}")
    return seconds


def load_settings() -> Settings:
    """Read the FUNNEL_* environment variables (documented in the README); cheap, no I/O."""
    return Settings(
        landing_dir=_path("FUNNEL_LANDING_DIR", "data/landing"),
        warehouse_path=_path("FUNNEL_WAREHOUSE_PATH", "data/warehouse.duckdb"),
        serving_dir=_path("FUNNEL_SERVING_DIR", "data/serving"),
        start_date=_start_date(),
        missing_file_policy=_missing_file_policy(),
        schedule_timezone=os.environ.get("FUNNEL_SCHEDULE_TIMEZONE") or "UTC",
        lock_timeout_seconds=_lock_timeout_seconds(),
        environment=(os.environ.get("FUNNEL_ENV") or "").strip().lower(),
        configured_secret=os.environ.get("FUNNEL_PSEUDONYMISATION_SECRET") or None,
    )
