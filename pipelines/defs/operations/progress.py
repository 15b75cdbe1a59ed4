"""What a person watching a run sees: one line per step, and progress of the long steps.

The `progress` logger (a Dagster logger, so it sees every event of the run as it happens)
prints, for every step, `step ... done in 12.3 s: 4,567 rows` (or the error), and while the
dbt step and the check steps run, a line every few seconds counting models built and checks
evaluated. The full log stays in the Dagster run and, with `log_file`, in a file: one line per
event at DEBUG. Neither ever holds landing content (no step logs any).
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import dagster as dg

PROGRESS_EVERY_SECONDS = 5.0
_META = "dagster_meta"  # where Dagster puts a log record's run, step and event


class ProgressHandler(logging.Handler):
    """Turns the run's events into short progress lines (see module doc)."""

    def __init__(self, stream=None, every_seconds: float = PROGRESS_EVERY_SECONDS) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream or sys.stdout
        self.every_seconds = every_seconds
        self.started: dict[str, float] = {}
        self.materialized: dict[str, int] = {}
        self.checked: dict[str, int] = {}
        self.rows: dict[str, int] = {}
        self.last_progress: dict[str, float] = {}

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, _META, None)
        event = meta.get("dagster_event") if meta else None
        if event is None:
            return
        step = event.step_key or ""
        kind = event.event_type_value
        now = time.monotonic()
        if kind == "STEP_START":
            self.started[step] = now
            self.last_progress[step] = now
        elif kind == "ASSET_MATERIALIZATION":
            self.materialized[step] = self.materialized.get(step, 0) + 1
            metadata = event.event_specific_data.materialization.metadata
            for name in ("dagster/row_count", "rows_loaded"):
                if name in metadata and isinstance(metadata[name].value, int):
                    self.rows[step] = self.rows.get(step, 0) + metadata[name].value
                    break
            self._maybe_progress(step, now)
        elif kind == "ASSET_CHECK_EVALUATION":
            self.checked[step] = self.checked.get(step, 0) + 1
            self._maybe_progress(step, now)
        elif kind == "STEP_SUCCESS":
            self._print(f"  {step:<40} done in {self._elapsed(step, now)}{self._counts(step)}")
        elif kind == "STEP_FAILURE":
            error = event.step_failure_data.error
            message = error.message.strip().splitlines()[0] if error else "failed"
            self._print(f"  {step:<40} FAILED after {self._elapsed(step, now)}: {message}")
        elif kind == "STEP_SKIPPED":
            self._print(f"  {step:<40} skipped (an upstream step failed or a check blocked it)")

    def _elapsed(self, step: str, now: float) -> str:
        return f"{now - self.started.get(step, now):.1f} s"

    def _counts(self, step: str) -> str:
        parts = []
        if self.materialized.get(step, 0) > 1:
            parts.append(f"{self.materialized[step]} assets")
        if self.rows.get(step):
            parts.append(f"{self.rows[step]:,} rows")
        if self.checked.get(step):
            parts.append(f"{self.checked[step]} checks")
        return (": " + ", ".join(parts)) if parts else ""

    def _maybe_progress(self, step: str, now: float) -> None:
        if now - self.last_progress.get(step, now) >= self.every_seconds:
            self.last_progress[step] = now
            built, checked = self.materialized.get(step, 0), self.checked.get(step, 0)
            self._print(f"  {step:<40} ... {built} built, {checked} checked so far")


@dg.logger(
    {
        "log_file": dg.Field(str, is_required=False, description="Full log of the run here."),
        "quiet": dg.Field(bool, default_value=False, description="No progress lines."),
    },
    description="Progress lines per step (and the full log in a file, if given).",
)
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger(f"funnel.progress.{id(init_context)}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    if not init_context.logger_config["quiet"]:
        logger.addHandler(ProgressHandler())
    log_file = init_context.logger_config.get("log_file")
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    return logger
