"""Alerts: a message when a run fails or a check fails, sent through apprise.

`FUNNEL_ALERT_URLS` holds comma-separated apprise URLs (Slack `slack://...`, Teams
`workflows://...`, e-mail `mailtos://...`, webhooks `json://host/path`, `jsons://...`). Unset,
alerting is off: both sensors still evaluate every run and skip with the reason.

- `run_failure_alert`: a run of any job failed. The message names the job, the run id, the
  partition range, each failed step with the first line of its error, and the run's failed
  checks.
- `check_failure_alert`: a run succeeded but some asset checks did not pass (non-blocking
  suites, WARN severity). The message lists each failed check with its severity.

A failed check is thus reported once: with the run failure when it failed the run, else on
its own. Messages carry names, ids and severities, never table values: a check's metadata
(which holds GE's unexpected samples) is not sent. Both sensors monitor every run of the
instance (`monitor_all_code_locations`), including the CLI's runs recorded in
`$DAGSTER_HOME`; they need the daemon (`make dev` starts it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from dagster_shared.error import SerializableErrorInfo

ALERT_URLS_ENV = "FUNNEL_ALERT_URLS"
NO_URLS_REASON = f"Alerts are off: {ALERT_URLS_ENV} is not set"


class AlertDeliveryError(RuntimeError):
    """No alert URL accepted the message (shown on the run and the sensor's tick)."""


@dataclass(frozen=True)
class FailedCheck:
    asset: str  # the asset key as a path, e.g. marts/cac_daily
    check_name: str
    severity: str  # ERROR or WARN

    def line(self) -> str:
        return f"- {self.asset} / {self.check_name} ({self.severity})"


@dataclass(frozen=True)
class FailedStep:
    step_key: str
    error: str  # the first line of the error

    def line(self) -> str:
        return f"- {self.step_key}: {self.error}"


def alert_urls(value: str | None = None) -> list[str]:
    """The apprise URLs of `FUNNEL_ALERT_URLS` (or `value`), blanks dropped."""
    raw = os.environ.get(ALERT_URLS_ENV, "") if value is None else value
    return [url.strip() for url in raw.split(",") if url.strip()]


def send_alert(title: str, body: str, urls: Sequence[str]) -> None:
    """Send one message to every URL; raises AlertDeliveryError when none accepted it."""
    import apprise

    notifier = apprise.Apprise()
    schemes = []
    for url in urls:
        if not notifier.add(url):
            # The URL itself may hold a token: name its scheme only.
            raise AlertDeliveryError(f"Not an apprise URL (scheme {_scheme(url)}://)")
        schemes.append(_scheme(url))
    if not notifier.notify(title=title, body=body, notify_type=apprise.NotifyType.FAILURE):
        raise AlertDeliveryError(
            "The alert was not delivered to at least one of: "
            + ", ".join(f"{s}://" for s in schemes)
        )


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "?"


def first_line(error: SerializableErrorInfo | None) -> str:
    """The first line of the innermost user error: Dagster wraps a step's exception in its own
    ("Error occurred while executing op ..."), the cause says what went wrong."""
    if error is None:
        return "failed (no error recorded)"
    while error.cause is not None and error.cls_name and error.cls_name.startswith("Dagster"):
        error = error.cause
    text = (error.message or "").strip()
    return text.splitlines()[0] if text else (error.cls_name or "error")


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[FailedCheck]:
    """The run's asset check evaluations that did not pass, any severity, in order."""
    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    checks = []
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event is not None else None
        if evaluation is None or evaluation.passed:
            continue
        checks.append(
            FailedCheck(
                evaluation.asset_key.to_user_string(),
                evaluation.check_name,
                evaluation.severity.value,
            )
        )
    return checks


def _run_lines(run: dg.DagsterRun) -> list[str]:
    lines = [f"Job: {run.job_name}", f"Run: {run.run_id}"]
    tags = run.tags
    if "dagster/partition" in tags:
        lines.append(f"Partition: {tags['dagster/partition']}")
    elif "dagster/asset_partition_range_start" in tags:
        start = tags["dagster/asset_partition_range_start"]
        end = tags.get("dagster/asset_partition_range_end", start)
        lines.append(f"Partitions: {start} to {end}")
    return lines


def run_failure_message(
    run: dg.DagsterRun, steps: Sequence[FailedStep], checks: Sequence[FailedCheck]
) -> tuple[str, str]:
    """(title, body) of the alert for a failed run."""
    lines = _run_lines(run)
    lines.append("Failed steps:")
    lines += [s.line() for s in steps] or ["- none recorded (the run failed outside a step)"]
    if checks:
        lines.append("Failed checks:")
        lines += [c.line() for c in checks]
    return f"Run failed: {run.job_name}", "\n".join(lines)


def check_failure_message(run: dg.DagsterRun, checks: Sequence[FailedCheck]) -> tuple[str, str]:
    """(title, body) of the alert for a run that succeeded with failed checks."""
    errors = sum(c.severity == "ERROR" for c in checks)
    lines = [*_run_lines(run), "Failed checks:", *(c.line() for c in checks)]
    summary = f"{len(checks)} failed check{'s' if len(checks) != 1 else ''}"
    if errors:
        summary += f" ({errors} ERROR)"
    return f"Checks failed: {run.job_name}: {summary}", "\n".join(lines)


@dg.run_failure_sensor(
    name="run_failure_alert",
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Sends an alert to {ALERT_URLS_ENV} when a run fails (off when it is unset).",
)
def run_failure_alert(context: dg.RunFailureSensorContext):
    run = context.dagster_run
    urls = alert_urls()
    if not urls:
        return dg.SkipReason(f"{NO_URLS_REASON}; run {run.run_id} of {run.job_name} failed")
    steps = [
        FailedStep(e.step_key or "?", first_line(e.step_failure_data.error))
        for e in context.get_step_failure_events()
    ]
    title, body = run_failure_message(run, steps, failed_checks(context.instance, run.run_id))
    send_alert(title, body, urls)
    context.log.info(f"Alert sent for failed run {run.run_id}")
    return None  # go on with the next failed run in the same tick


@dg.run_status_sensor(
    name="check_failure_alert",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitor_all_code_locations=True,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Sends an alert to {ALERT_URLS_ENV} when a run succeeded but some asset checks "
    "failed (ERROR or WARN; off when it is unset). Failed runs: run_failure_alert.",
)
def check_failure_alert(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    checks = failed_checks(context.instance, run.run_id)
    if not checks:
        return None
    urls = alert_urls()
    if not urls:
        return dg.SkipReason(f"{NO_URLS_REASON}; run {run.run_id} had {len(checks)} failed checks")
    title, body = check_failure_message(run, checks)
    send_alert(title, body, urls)
    context.log.info(f"Alert sent for {len(checks)} failed checks of run {run.run_id}")
    return None


ALERT_SENSORS = [run_failure_alert, check_failure_alert]
