"""recover_dead_runs: a run whose process died is marked failed and its concurrency slots are
freed; live runs, other hosts' runs and finished runs are left alone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import pytest

from pipelines.lib.run_recovery import (
    TAG_HOST,
    TAG_PID,
    died_at_step,
    process_start_time,
    process_tags,
    recover_dead_runs,
)

pytestmark = pytest.mark.unit

POOL = "duckdb_warehouse"
HOST = socket.gethostname()


@dg.op
def only_step():
    pass


@dg.job
def tiny_job():
    only_step()


@pytest.fixture
def instance(tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        instance.event_log_storage.set_concurrency_slots(POOL, 1)
        yield instance


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def started_run(instance, tags: dict[str, str], *, claim: bool = True) -> dg.DagsterRun:
    """A run the instance believes is running, holding the pool's only slot."""
    run = instance.create_run_for_job(tiny_job, status=dg.DagsterRunStatus.STARTED, tags=tags)
    if claim:
        claim_status = instance.event_log_storage.claim_concurrency_slot(
            POOL, run.run_id, "only_step"
        )
        assert claim_status.is_claimed
    return run


def slots_of(instance, run_id: str) -> list[str]:
    info = instance.event_log_storage.get_concurrency_info(POOL)
    return [slot.step_key for slot in info.claimed_slots if slot.run_id == run_id]


def status(instance, run_id: str) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run_id).status


def test_dead_run_is_failed_and_its_slot_freed(instance):
    pid = dead_pid()
    run = started_run(instance, {TAG_PID: str(pid), TAG_HOST: HOST})
    assert slots_of(instance, run.run_id) == ["only_step"]
    lines: list[str] = []

    assert recover_dead_runs(instance, lines.append) == [run.run_id]

    assert status(instance, run.run_id) == dg.DagsterRunStatus.FAILURE
    assert slots_of(instance, run.run_id) == []
    assert lines == [
        f"run {run.run_id} (pid {pid}) died at step none (before its first step); "
        f"marked failed, freed its slots ({POOL}: 1)"
    ]
    # The next run can claim the slot at once.
    other = instance.create_run_for_job(tiny_job, tags={})
    claim = instance.event_log_storage.claim_concurrency_slot(POOL, other.run_id, "only_step")
    assert claim.is_claimed
    assert recover_dead_runs(instance, lines.append) == []  # idempotent


def test_live_runs_other_hosts_and_finished_runs_are_left_alone(instance):
    sleeper = subprocess.Popen(["sleep", "60"])  # started before the run: may be the run
    try:
        alive = started_run(instance, {TAG_PID: str(sleeper.pid), TAG_HOST: HOST})
        elsewhere = started_run(
            instance, {TAG_PID: str(dead_pid()), TAG_HOST: "another-host"}, claim=False
        )
        finished = instance.create_run_for_job(
            tiny_job,
            status=dg.DagsterRunStatus.SUCCESS,
            tags={TAG_PID: str(dead_pid()), TAG_HOST: HOST},
        )
        mine = started_run(instance, process_tags(), claim=False)  # the caller's own run
        assert recover_dead_runs(instance, lambda _: None) == []
    finally:
        sleeper.kill()
        sleeper.wait()
    assert status(instance, alive.run_id) == dg.DagsterRunStatus.STARTED
    assert slots_of(instance, alive.run_id) == ["only_step"]
    assert status(instance, elsewhere.run_id) == dg.DagsterRunStatus.STARTED
    assert status(instance, finished.run_id) == dg.DagsterRunStatus.SUCCESS
    assert status(instance, mine.run_id) == dg.DagsterRunStatus.STARTED


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times: Linux")
def test_a_reused_pid_does_not_keep_a_dead_run_alive(instance):
    """A process that started after the run was created cannot be the run."""
    run = instance.create_run_for_job(tiny_job, status=dg.DagsterRunStatus.STARTED, tags={})
    time.sleep(1.0)
    newcomer = subprocess.Popen(["sleep", "60"])
    try:
        assert (
            process_start_time(newcomer.pid)
            > instance.get_run_record_by_id(run.run_id).create_timestamp.timestamp()
        )
        instance.add_run_tags(run.run_id, {TAG_PID: str(newcomer.pid), TAG_HOST: HOST})
        assert recover_dead_runs(instance, lambda _: None) == [run.run_id]
    finally:
        newcomer.kill()
        newcomer.wait()
    assert status(instance, run.run_id) == dg.DagsterRunStatus.FAILURE


def test_untagged_runs_only_on_request(instance):
    """A daemon-launched run has no funnel tags, only its worker's pid in an engine event."""
    from dagster._core.events import EngineEventData

    run = started_run(instance, {})
    pid = dead_pid()
    instance.report_engine_event(
        f"Executing steps in process (pid: {pid})", run, EngineEventData.in_process(pid)
    )
    assert recover_dead_runs(instance, lambda _: None) == []
    assert status(instance, run.run_id) == dg.DagsterRunStatus.STARTED
    assert recover_dead_runs(instance, lambda _: None, include_untagged=True) == [run.run_id]
    assert status(instance, run.run_id) == dg.DagsterRunStatus.FAILURE
    assert slots_of(instance, run.run_id) == []


# A run killed for real: the child executes a job whose step holds the pool's slot and
# sleeps; the test kills it with SIGKILL mid-step.
KILLED_RUN = textwrap.dedent(
    """
    import sys, time
    import dagster as dg
    from pipelines.lib.run_recovery import process_tags

    @dg.op(pool="duckdb_warehouse")
    def slow_step():
        print("IN_STEP", flush=True)
        time.sleep(120)

    @dg.job
    def job():
        slow_step()

    with dg.DagsterInstance.local_temp(sys.argv[1]) as instance:
        job.execute_in_process(instance=instance, tags=process_tags())
    """
)


@pytest.mark.slow
def test_recovers_a_run_killed_with_sigkill_mid_step(tmp_path, instance):
    script = tmp_path / "killed_run.py"
    script.write_text(KILLED_RUN)
    home = tmp_path  # the fixture's instance lives here too
    proc = subprocess.Popen([sys.executable, str(script), str(home)], stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _claimed_by_anyone(instance):
            time.sleep(0.2)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    (record,) = instance.get_run_records()
    run_id = record.dagster_run.run_id
    assert record.dagster_run.status == dg.DagsterRunStatus.STARTED  # what kill -9 leaves
    assert slots_of(instance, run_id) == ["slow_step"]
    lines: list[str] = []

    assert recover_dead_runs(instance, lines.append) == [run_id]

    assert status(instance, run_id) == dg.DagsterRunStatus.FAILURE
    assert slots_of(instance, run_id) == []
    assert died_at_step(instance, run_id) == "slow_step"
    assert lines[0].startswith(f"run {run_id} (pid {proc.pid}) died at step slow_step;")


def _claimed_by_anyone(instance) -> bool:
    return bool(instance.event_log_storage.get_concurrency_info(POOL).claimed_slots)
