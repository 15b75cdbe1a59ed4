"""The warehouse run lock: exclusive, freed by the kernel when its holder dies, waits by
sleeping, names its holder, and never passes to a dbt-like child process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipelines.lib.run_lock import (
    WarehouseBusyError,
    lock_path_for,
    pid_exists,
    read_holder,
    warehouse_lock,
)

pytestmark = pytest.mark.unit

# A holder in another process: takes the lock, optionally starts `sleep` (as dagster-dbt
# starts dbt), says so on stdout, then sleeps until killed or for `hold` seconds.
HOLDER = textwrap.dedent(
    """
    import subprocess, sys, time
    from pathlib import Path
    from pipelines.lib.run_lock import warehouse_lock

    warehouse, run_id, hold, spawn = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
    with warehouse_lock(warehouse, run_id=run_id, timeout_seconds=0, log=print):
        child = subprocess.Popen(["sleep", "60"]) if spawn == "spawn" else None
        print("LOCKED", child.pid if child else 0, flush=True)
        time.sleep(hold)
    """
)


def start_holder(warehouse: Path, run_id: str, *, hold: float = 60, spawn: bool = False):
    """The holder process and the pid of its child (0 without one), once it holds the lock."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(warehouse), run_id, str(hold), "spawn" * spawn or "-"],
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.startswith("LOCKED"), line
    return proc, int(line.split()[1])


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def test_holder_is_recorded_and_cleared_on_release(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    lines: list[str] = []
    with warehouse_lock(warehouse, run_id="run-a", timeout_seconds=0, log=lines.append) as me:
        recorded = json.loads(lock_path_for(warehouse).read_text())
        assert recorded["run_id"] == "run-a" and recorded["pid"] == os.getpid()
        assert read_holder(warehouse) == me
    assert lock_path_for(warehouse).read_text() == ""  # released cleanly: nobody holds it
    assert read_holder(warehouse) is None
    with warehouse_lock(warehouse, run_id="run-b", timeout_seconds=0, log=lines.append):
        assert read_holder(warehouse).run_id == "run-b"
    assert lines == []  # nothing to wait for, nobody died: silent


def test_waiter_sleeps_logs_once_and_names_the_holder_on_timeout(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder, _ = start_holder(warehouse, "run-holder")
    try:
        lines: list[str] = []
        cpu_before, wall_before = time.process_time(), time.monotonic()
        with pytest.raises(WarehouseBusyError) as raised:
            with warehouse_lock(
                warehouse, run_id="run-waiter", timeout_seconds=2.5, log=lines.append
            ):
                pytest.fail("got a lock another process holds")
        waited = time.monotonic() - wall_before
        cpu = time.process_time() - cpu_before
    finally:
        kill(holder)
    assert waited >= 2.5
    assert cpu < 0.5 * waited  # sleeping, not spinning (a busy wait burns a whole core)
    assert len(lines) == 1, lines  # one line saying what it waits for
    assert "run-holder" in lines[0] and f"pid {holder.pid}" in lines[0]
    assert raised.value.holder.run_id == "run-holder"
    assert "run-holder" in str(raised.value) and "FUNNEL_LOCK_TIMEOUT_SECONDS" in str(raised.value)


def test_waiter_gets_the_lock_when_the_holder_releases_it(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder, _ = start_holder(warehouse, "run-short", hold=1.0)
    lines: list[str] = []
    with warehouse_lock(warehouse, run_id="run-next", timeout_seconds=30, log=lines.append):
        assert read_holder(warehouse).run_id == "run-next"
    holder.wait(timeout=10)
    assert "run-short" in lines[0]
    assert lines[-1].startswith("Got the warehouse lock")


def test_kill_9_of_the_holder_frees_the_lock_and_says_so(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder, _ = start_holder(warehouse, "run-killed")
    kill(holder)
    assert not pid_exists(holder.pid)
    lines: list[str] = []
    started = time.monotonic()
    with warehouse_lock(warehouse, run_id="run-after", timeout_seconds=0, log=lines.append):
        assert time.monotonic() - started < 5  # no waiting: the kernel freed it
    assert len(lines) == 1
    assert "run-killed" in lines[0] and f"pid {holder.pid} is gone" in lines[0]


def test_a_child_process_does_not_inherit_the_lock(tmp_path):
    """dbt runs as a subprocess: if the run dies, a surviving dbt must not keep the lock."""
    warehouse = tmp_path / "warehouse.duckdb"
    holder, child_pid = start_holder(warehouse, "run-with-child", spawn=True)
    try:
        kill(holder)
        assert pid_exists(child_pid)  # the child outlived its parent...
        with warehouse_lock(warehouse, run_id="run-after", timeout_seconds=0, log=lambda _: None):
            pass  # ...and the lock is free all the same
    finally:
        os.kill(child_pid, signal.SIGKILL)


def test_reports_rarely_while_waiting(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    holder, _ = start_holder(warehouse, "run-holder")
    lines: list[str] = []
    try:
        with pytest.raises(WarehouseBusyError):
            with warehouse_lock(
                warehouse,
                run_id="run-waiter",
                timeout_seconds=3.5,
                log=lines.append,
                poll_seconds=0.2,
                report_every_seconds=1.0,
            ):
                pass
    finally:
        kill(holder)
    assert lines[0].startswith("Waiting for the warehouse lock")
    reminders = [line for line in lines if line.startswith("Still waiting")]
    assert 1 <= len(reminders) <= 4  # about once a report interval, not once a poll (17)
