"""stop_on_signals: SIGTERM/SIGINT stop a run within seconds at any step, in a long DuckDB
query or a long subprocess (as dagster-dbt runs dbt), inside Dagster's execute_in_process or
not, and leave no child process running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

CHILD = textwrap.dedent(
    """
    import subprocess, sys, time, uuid
    from pathlib import Path
    from pipelines.lib.interrupts import StoppedBySignal, stop_on_signals

    mode, home = sys.argv[1], sys.argv[2]
    def log(message):  # one write per line: Dagster writes to stderr from this process too
        sys.stderr.write(message + "\\n")
        sys.stderr.flush()

    def long_query():
        import duckdb
        con = duckdb.connect()
        print("READY", flush=True)
        con.execute("select count(*) from range(10000000000000) t(i) where i % 7 = 3").fetchall()

    def long_subprocess():  # what dagster-dbt does with dbt: Popen, then read its stdout
        proc = subprocess.Popen(["sleep", "120"], stdout=subprocess.PIPE)
        print(f"GRANDCHILD {proc.pid}", flush=True)
        print("READY", flush=True)
        for _ in proc.stdout:
            pass
        proc.wait()

    def stubborn():  # swallows every interrupt: only the forced exit can stop it
        proc = subprocess.Popen(["sleep", "120"])
        print(f"GRANDCHILD {proc.pid}", flush=True)
        print("READY", flush=True)
        while True:
            try:
                time.sleep(10)
            except BaseException:
                pass

    def in_dagster(body):
        import dagster as dg

        @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2))
        def slow_step():
            body()

        defs = dg.Definitions(assets=[slow_step], jobs=[dg.define_asset_job("j")])
        job = defs.resolve_job_def("j")
        instance = dg.DagsterInstance.local_temp(home)
        run_id = str(uuid.uuid4())
        with stop_on_signals(log, instance=instance, run_id=run_id):
            job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)

    def wait_for_lock():
        from pipelines.lib.run_lock import warehouse_lock
        with stop_on_signals(log) as stop:
            stop.phase = "waiting for the warehouse lock"
            print("READY", flush=True)
            warehouse = Path(home) / "w.duckdb"
            with warehouse_lock(warehouse, run_id="waiter", timeout_seconds=300, log=log):
                pass

    def hold_lock():
        from pipelines.lib.run_lock import warehouse_lock
        with warehouse_lock(Path(home) / "w.duckdb", run_id="holder", timeout_seconds=0, log=log):
            print("READY", flush=True)
            time.sleep(120)

    bodies = {"query": long_query, "subprocess": long_subprocess}
    try:
        if mode in bodies:
            with stop_on_signals(log):
                bodies[mode]()
        elif mode.startswith("dagster-"):
            in_dagster({**bodies, "stubborn": stubborn}[mode.removeprefix("dagster-")])
        elif mode == "lock":
            wait_for_lock()
        elif mode == "holder":
            hold_lock()
    except StoppedBySignal as stopped:
        sys.exit(stopped.exit_code)
    log("the body returned without being stopped")
    """
)


def start_child(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, list[str]]:
    """The child process and its stdout lines up to READY."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, str(script), mode, str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    for line in proc.stdout:
        lines.append(line.strip())
        if line.strip() == "READY":
            return proc, lines
    raise AssertionError(f"child {mode} never got ready: {proc.stderr.read()[-3000:]}")


def grandchildren(lines: list[str]) -> list[int]:
    return [int(line.split()[1]) for line in lines if line.startswith("GRANDCHILD")]


def is_running(pid: int) -> bool:
    """Alive and not a zombie (a zombie is dead, only not yet reaped by its new parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"


def stop_child(proc: subprocess.Popen, signum: int) -> tuple[int, float, str]:
    time.sleep(0.5)  # well inside the long operation
    sent = time.monotonic()
    proc.send_signal(signum)
    try:
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return code, time.monotonic() - sent, proc.stderr.read()


def assert_no_child_left(pids: list[int]) -> None:
    deadline = time.monotonic() + 5
    while any(is_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in pids if is_running(p)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "orphaned child processes"


def stop_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("stopped by ")]


@pytest.mark.parametrize(
    ("mode", "signum", "step"),
    [
        ("query", signal.SIGTERM, "none (no step was running)"),
        ("query", signal.SIGINT, "none (no step was running)"),
        ("subprocess", signal.SIGTERM, "none (no step was running)"),
    ],
)
def test_stops_outside_dagster(tmp_path, mode, signum, step):
    proc, lines = start_child(tmp_path, mode)
    code, elapsed, stderr = stop_child(proc, signum)
    name = signal.Signals(signum).name
    assert code == 128 + signum, stderr[-3000:]
    assert elapsed < 10
    assert stop_lines(stderr) == [f"stopped by {name} at step {step}"]
    assert_no_child_left(grandchildren(lines))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["dagster-query", "dagster-subprocess", "dagster-stubborn"])
def test_stops_a_dagster_run_and_records_it_failed(tmp_path, mode):
    import dagster as dg

    proc, lines = start_child(tmp_path, mode)
    code, elapsed, stderr = stop_child(proc, signal.SIGTERM)
    assert code == 143, stderr[-3000:]
    assert elapsed < 10
    assert stop_lines(stderr) == ["stopped by SIGTERM at step slow_step"]
    forced = any(line.startswith("still running") for line in stderr.splitlines())
    assert forced == (mode == "dagster-stubborn")  # the others stop on their own
    assert_no_child_left(grandchildren(lines))
    with dg.DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        (record,) = instance.get_run_records()
        assert record.dagster_run.status == dg.DagsterRunStatus.FAILURE
        # Stopped, not retried: the asset's retry policy did not start it again.
        starts = instance.all_logs(
            record.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_START
        )
        assert len(starts) == 1


def test_stops_while_waiting_for_the_warehouse_lock(tmp_path):
    holder, _ = start_child(tmp_path, "holder")
    try:
        proc, _ = start_child(tmp_path, "lock")
        time.sleep(1.0)  # into the wait
        code, elapsed, stderr = stop_child(proc, signal.SIGTERM)
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert code == 143, stderr[-3000:]
    assert elapsed < 10
    assert "Waiting for the warehouse lock" in stderr
    assert stop_lines(stderr) == ["stopped by SIGTERM at step waiting for the warehouse lock"]
