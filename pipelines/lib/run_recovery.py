"""Mark runs whose process died as failed, and free the concurrency slots they still claim.

A run killed with `kill -9` (or by the OOM killer, or a power cut) never records its end: the
instance keeps it STARTED forever, and any concurrency slot it claimed stays claimed, so later
runs that need the slot wait forever. `recover_dead_runs(instance, log)` finds such runs and
closes them through public instance APIs.

How a run is known dead. The CLI tags every run it starts with `process_tags()`:
`funnel/pid` (its process id) and `funnel/host`. A run of this host still NOT_STARTED,
STARTING, STARTED or CANCELING is dead when that pid no longer exists, or exists but is
another process (the pid was reused: on Linux, a process that started after the run was
created cannot be the run). Runs of other hosts are left alone: this host cannot see their
processes.

Runs launched by the daemon carry no such tag; their worker's pid is in the run's engine
events ("Executing steps in process (pid: N)"), but not its host. `include_untagged=True`
recovers them too, assuming they ran on this host: true for this project's local instance
(SQLite storage under DAGSTER_HOME, default run launcher), wrong for an instance shared
between machines. The daemon's run monitoring (dagster.yaml) cannot do this with the default
run launcher, which has no worker health check: it only fails runs stuck STARTING or
CANCELING and frees slots of runs that ended.

Call it while holding the warehouse lock (pipelines/lib/run_lock.py), before starting a run:
every run of the pipeline holds that lock while it lives, so no live run is mistaken for a
dead one even where process start times cannot be read.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus, RunRecord, RunsFilter

LogFn = Callable[[str], None]

TAG_PID = "funnel/pid"
TAG_HOST = "funnel/host"

# NOT_STARTED counts for tagged runs only: execute_in_process creates its run NOT_STARTED.
LIVE_STATUSES = (
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
)
UNTAGGED_STATUSES = (
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
)
# A pid's start time is known to about 10 ms; a run is created seconds after its process starts.
START_TIME_SLACK_SECONDS = 0.5
_STEP_STARTS = {DagsterEventType.STEP_START, DagsterEventType.STEP_RESTARTED}
# A step up for retry is not over: the run is still at that step.
_STEP_ENDS = {
    DagsterEventType.STEP_SUCCESS,
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.STEP_SKIPPED,
}


def process_tags() -> dict[str, str]:
    """The tags the CLI adds to a run it executes in this process."""
    return {TAG_PID: str(os.getpid()), TAG_HOST: socket.gethostname()}


def recover_dead_runs(
    instance: DagsterInstance, log: LogFn, *, include_untagged: bool = False
) -> list[str]:
    """Mark every dead run of this host failed and free its slots; returns their run ids."""
    recovered = []
    for record, pid in _candidates(instance, include_untagged):
        if pid == os.getpid() or _is_alive(pid, record.create_timestamp.timestamp()):
            continue
        _recover(instance, record, pid, log)
        recovered.append(record.dagster_run.run_id)
    return recovered


def _candidates(instance: DagsterInstance, include_untagged: bool) -> list[tuple[RunRecord, int]]:
    """(run record, pid) of every unfinished run this host could check."""
    host = socket.gethostname()
    tagged = instance.get_run_records(
        filters=RunsFilter(statuses=list(LIVE_STATUSES), tags={TAG_HOST: host})
    )
    found = [(r, _int(r.dagster_run.tags.get(TAG_PID))) for r in tagged]
    if include_untagged:
        unfinished = instance.get_run_records(filters=RunsFilter(statuses=list(UNTAGGED_STATUSES)))
        untagged = [r for r in unfinished if TAG_HOST not in r.dagster_run.tags]
        found += [(r, _engine_pid(instance, r.dagster_run.run_id)) for r in untagged]
    return [(record, pid) for record, pid in found if pid is not None]


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _engine_pid(instance: DagsterInstance, run_id: str) -> int | None:
    """The pid a run's worker recorded in its last engine event that names one."""
    pid = None
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        data = entry.dagster_event.engine_event_data if entry.dagster_event else None
        value = data.metadata.get("pid") if data is not None else None
        if value is not None:
            pid = _int(str(value.value))
    return pid


def _is_alive(pid: int, run_created_at: float) -> bool:
    """True when pid exists and may be the run's process (it started before the run)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    started_at = process_start_time(pid)
    if started_at is None:
        return True  # cannot tell a reused pid here: assume it is the run
    return started_at <= run_created_at + START_TIME_SLACK_SECONDS


def process_start_time(pid: int) -> float | None:
    """When a process started (epoch seconds), from /proc on Linux; None elsewhere or if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    # Field 22 (starttime, clock ticks after boot); split after the command name, which may
    # itself hold spaces or parentheses.
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[19])
    boot = time.time() - uptime
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _recover(instance: DagsterInstance, record: RunRecord, pid: int, log: LogFn) -> None:
    run = record.dagster_run
    step = died_at_step(instance, run.run_id)
    message = f"The run's process (pid {pid}) died at step {step}; marked failed by recovery."
    instance.report_run_failed(run, message)
    freed = free_slots(instance, run.run_id)
    log(
        f"run {run.run_id} (pid {pid}) died at step {step}; marked failed, "
        f"freed its slots ({freed})"
    )


def died_at_step(instance: DagsterInstance, run_id: str) -> str:
    """The step(s) a run had started and not finished (or left up for retry), in words."""
    in_flight: dict[str, None] = {}
    last_finished = None
    events = instance.all_logs(run_id, of_type=_STEP_STARTS | _STEP_ENDS)
    for entry in events:
        step_key = entry.step_key
        if step_key is None or entry.dagster_event is None:
            continue
        if entry.dagster_event.event_type in _STEP_STARTS:
            in_flight[step_key] = None
        else:
            in_flight.pop(step_key, None)
            last_finished = step_key
    if in_flight:
        return ", ".join(in_flight)
    if last_finished:
        return f"none running (after {last_finished})"
    return "none (before its first step)"


def free_slots(instance: DagsterInstance, run_id: str) -> str:
    """Free every concurrency slot and pending claim of a run; says what was freed."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return "no concurrency slots on this instance"
    claimed = _claimed_slots(storage, run_id)
    storage.free_concurrency_slots_for_run(run_id)
    if not claimed:
        return "none claimed"
    return ", ".join(f"{key}: {count}" for key, count in sorted(claimed.items()))


def _claimed_slots(storage, run_id: str) -> dict[str, int]:
    keys: Sequence[str] = sorted(storage.get_concurrency_keys())
    claimed: dict[str, int] = {}
    for key, info in storage.get_concurrency_infos(keys).items():
        count = sum(1 for slot in info.claimed_slots if slot.run_id == run_id)
        if count:
            claimed[key] = count
    return claimed
