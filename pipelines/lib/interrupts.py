"""Stop a run within seconds on SIGTERM or SIGINT, at any step, leaving no child behind.

Why this is needed. Python runs a signal handler only in the main thread, between bytecodes.
DuckDB's client does call the handler during a long query, but it swallows any exception the
handler raises and carries on (measured with DuckDB 2.0: the query ran to its end), so neither
Python's KeyboardInterrupt nor Dagster's own interrupt (`DagsterExecutionInterruptedError`,
raised by the handler Dagster installs for the length of `execute_in_process`) stops it; only
`connection.interrupt()` does. A dbt subprocess spawned by dagster-dbt gets SIGINT forwarded
only if the interrupt reaches dagster-dbt, which then waits up to 25 s
(DAGSTER_DBT_TERMINATION_TIMEOUT_SECONDS) and gives up, leaving dbt running if it has not
exited.

How. `stop_on_signals` installs handlers for SIGTERM and SIGINT and, through
`signal.set_wakeup_fd`, a watchdog thread that wakes on the signal at C level whatever Python
handler is installed (Dagster replaces ours during the run) and whatever the main thread is
doing. On the first signal the watchdog:
1. logs one line, `stopped by SIGTERM at step <step>` (the steps the run has started and not
   finished, read from the instance; or the phase the caller set, e.g. the lock wait);
2. interrupts every open DuckDB connection of the process (found by the garbage collector, so
   cursors, dbt's and GE's connections count too) and keeps doing so every 0.25 s, since a
   retry may open a new one;
3. sends SIGTERM to every descendant process (dbt), then SIGKILL to those alive after
   `kill_children_after` seconds (sparing helpers that end with us: Dagster's compute-log
   `tail`, multiprocessing's resource tracker);
4. re-sends the signal to the process while Dagster's handler is installed, so Dagster stops
   the run itself once the main thread is back in Python (the run is then recorded failed);
5. if the block has not ended `grace_seconds` after the signal, marks the run failed in the
   instance (with its slots freed), kills what is left and exits the process with the signal's
   code (`os._exit`: nothing else can be trusted to return by then).

When the block ends after a signal, the context manager kills any descendant still alive and
raises `StoppedBySignal` (whatever the block returned or raised), whose `exit_code` is
128 + the signal number (143 for SIGTERM, 130 for SIGINT). Call it from the main thread,
outside any running asyncio loop (it owns the process's wakeup fd while active).

Dagster turns an interrupt inside an asset with a retry policy into a retry (our assets retry
twice); the re-sent signal interrupts the retry too, so the run still ends within seconds.

How the CLI wires it (pipelines/cli.py, around the lock and the run):

    run_id = str(uuid.uuid4())  # Dagster's run ids are UUID4 strings
    try:
        with _instance() as instance, stop_on_signals(
            log, instance=instance, run_id=run_id
        ) as stop:
            stop.phase = "waiting for the warehouse lock"
            with warehouse_lock(settings.warehouse_path, run_id=run_id, ...):
                stop.phase = None
                recover_dead_runs(instance, log)
                result = job.execute_in_process(
                    instance=instance, run_id=run_id, tags={**tags, **process_tags()}, ...
                )
    except StoppedBySignal as stopped:
        return stopped.exit_code  # 143 for SIGTERM, 130 for SIGINT
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

LogFn = Callable[[str], None]
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
GRACE_SECONDS = 3.0
KILL_CHILDREN_AFTER_SECONDS = 1.0
REPEAT_SECONDS = 0.25
RESIGNAL_EVERY_SECONDS = 1.0
_SHUTDOWN = b"\0"  # written by __exit__ to wake the watchdog; not a signal number


def exit_code_for(signum: int) -> int:
    """The shell's convention for a process ended by a signal."""
    return 128 + signum


class StopRequested(BaseException):  # a request, like SystemExit: not an Exception
    """Raised in the main thread by our handler, outside Dagster's, to unwind the block."""


class StoppedBySignal(Exception):
    """The block was stopped by SIGTERM or SIGINT; the CLI exits with `exit_code`."""

    def __init__(self, signal_name: str, step: str, exit_code: int) -> None:
        super().__init__(f"stopped by {signal_name} at step {step}")
        self.signal_name = signal_name
        self.step = step
        self.exit_code = exit_code


@dataclass
class StopState:
    """What the watchdog knows; `phase` is the caller's note for when no step is running."""

    phase: str | None = None
    signum: int | None = None
    step: str | None = None
    started: float = 0.0
    block_done: threading.Event = field(default_factory=threading.Event)
    exiting: bool = False  # set by the first statement of __exit__, one bytecode
    handler: Any = field(default=None, repr=False)  # our Python handler, to tell it apart

    @property
    def stopped(self) -> bool:
        return self.signum is not None


class stop_on_signals:  # lower case: used like a function, `with stop_on_signals(...)`
    """Run the block so that SIGTERM/SIGINT stop it within `grace_seconds` (see module doc).

    A class rather than @contextmanager: our handler may raise StopRequested at any bytecode
    of the block, and it must never do so inside __exit__, whose code it can recognise.
    """

    def __init__(
        self,
        log: LogFn,
        *,
        instance: Any = None,
        run_id: str | None = None,
        grace_seconds: float = GRACE_SECONDS,
        kill_children_after: float = KILL_CHILDREN_AFTER_SECONDS,
    ) -> None:
        self.state = StopState()
        self._log, self._instance, self._run_id = log, instance, run_id
        self._grace_seconds, self._kill_children_after = grace_seconds, kill_children_after

    def __enter__(self) -> StopState:
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("stop_on_signals must be entered from the main thread")
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self._watchdog = _Watchdog(
            self.state,
            self._reader,
            self._log,
            self._instance,
            self._run_id,
            self._grace_seconds,
            self._kill_children_after,
        )
        self._previous = _install(self.state, self._writer.fileno())
        self._watchdog.start()
        return self.state

    def __exit__(self, exc_type, exc, traceback) -> bool:
        self.state.exiting = True  # first: from here on our handler never raises
        self.state.block_done.set()
        _finish(self.state, self._watchdog, self._writer, self._reader, self._previous)
        if self.state.stopped:
            raise _stopped(self.state) from exc
        return False


_EXIT_CODE = stop_on_signals.__exit__.__code__


def _stopped(state: StopState) -> StoppedBySignal:
    signum = state.signum or signal.SIGTERM
    return StoppedBySignal(signal.Signals(signum).name, state.step or "?", exit_code_for(signum))


def _install(state: StopState, wakeup_fd: int) -> tuple[dict[int, Any], int]:
    """Our handlers and wakeup fd; returns what they replace, for _finish to restore.

    The handler raises StopRequested once, to unwind a block waiting in Python (a sleep, a
    pipe read); later signals, the watchdog's re-sends among them, are only recorded.
    """

    def on_signal(signum: int, frame: FrameType | None) -> None:
        first = state.signum is None
        if first:
            state.signum = signum  # the watchdog may not have read the wakeup byte yet
        in_exit = frame is not None and frame.f_code is _EXIT_CODE
        if first and not in_exit and not state.exiting:
            raise StopRequested()

    state.handler = on_signal
    handlers = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
    old_fd = signal.set_wakeup_fd(wakeup_fd, warn_on_full_buffer=False)
    return handlers, old_fd


def _finish(state, watchdog, writer: socket.socket, reader: socket.socket, previous) -> None:
    """Stop the watchdog, make sure no child outlives us, restore handlers and wakeup fd."""
    with suppress(OSError):
        writer.send(_SHUTDOWN)
    watchdog.join(timeout=5)
    if state.stopped:
        kill_workers(wait_seconds=1.0)
    handlers, old_fd = previous
    signal.set_wakeup_fd(old_fd)
    for signum, handler in handlers.items():
        signal.signal(signum, handler)
    writer.close()
    reader.close()


class _Watchdog(threading.Thread):
    """Wakes on a stop signal and makes the main thread return (see module doc)."""

    def __init__(self, state, reader, log, instance, run_id, grace_seconds, kill_children_after):
        super().__init__(name="stop-on-signals", daemon=True)
        self.state, self.reader, self.log = state, reader, log
        self.instance, self.run_id = instance, run_id
        self.grace_seconds, self.kill_children_after = grace_seconds, kill_children_after

    def run(self) -> None:
        signum = self._wait_for_signal()
        if signum is not None:
            self._handle_stop(signum)

    def _wait_for_signal(self) -> int | None:
        wanted = {int(s) for s in STOP_SIGNALS}
        while True:
            data = self.reader.recv(64)
            for byte in data:  # a signal first: it may arrive with the shutdown byte
                if byte in wanted:
                    return byte
            if not data or _SHUTDOWN[0] in data:
                return None

    def _handle_stop(self, signum: int) -> None:
        state = self.state
        if state.signum is None:
            state.signum = signum
        state.started = time.monotonic()
        state.step = self._current_step()
        self.log(f"stopped by {signal.Signals(signum).name} at step {state.step}")
        children = set(_workers())
        _signal_all(children, signal.SIGTERM)
        self._until_block_ends(signum, children)
        if not state.block_done.is_set():
            self._force_exit(signum)

    def _until_block_ends(self, signum: int, children: set[int]) -> None:
        """Interrupt DuckDB and children repeatedly until the block ends or grace runs out."""
        state = self.state
        next_resignal = state.started
        killed = False
        deadline = state.started + self.grace_seconds
        while not state.block_done.is_set() and time.monotonic() < deadline:
            interrupt_duckdb_connections()
            now = time.monotonic()
            if now >= next_resignal and self._foreign_handler(signum):
                os.kill(os.getpid(), signum)  # for Dagster's handler, once back in Python
                next_resignal = now + RESIGNAL_EVERY_SECONDS
            if not killed and now - state.started >= self.kill_children_after:
                children |= set(_workers())
                _signal_all(children, signal.SIGKILL)
                killed = True
            state.block_done.wait(REPEAT_SECONDS)

    def _foreign_handler(self, signum: int) -> bool:
        """Whether someone else's Python handler (Dagster's) is installed for the signal."""
        handler = signal.getsignal(signum)
        return callable(handler) and handler is not self.state.handler

    def _current_step(self) -> str:
        running = self._running_steps()
        if running:
            return running
        return self.state.phase or "none (no step was running)"

    def _running_steps(self) -> str | None:
        if self.instance is None or self.run_id is None:
            return None
        from pipelines.lib.run_recovery import died_at_step

        try:
            if self.instance.get_run_by_id(self.run_id) is None:
                return None
            return died_at_step(self.instance, self.run_id)
        except Exception as exc:  # the instance is only read to name the step
            return f"unknown (could not read the run's events: {exc})"

    def _force_exit(self, signum: int) -> None:
        """The block did not return in time: record the run failed, kill children, exit."""
        threading.Timer(2.0, os._exit, args=(exit_code_for(signum),)).start()  # last resort
        name = signal.Signals(signum).name
        self.log(
            f"still running {self.grace_seconds:.0f} s after {name}: exiting now "
            f"with code {exit_code_for(signum)}"
        )
        self._mark_run_failed(name)
        kill_workers(wait_seconds=0.5)
        _flush_logs()
        os._exit(exit_code_for(signum))

    def _mark_run_failed(self, signal_name: str) -> None:
        if self.instance is None or self.run_id is None:
            return
        from pipelines.lib.run_recovery import free_slots

        with suppress(Exception):
            run = self.instance.get_run_by_id(self.run_id)
            if run is not None and not run.is_finished:
                message = f"stopped by {signal_name} at step {self.state.step}"
                self.instance.report_run_failed(run, message)
                free_slots(self.instance, self.run_id)


def interrupt_duckdb_connections() -> int:
    """Interrupt the running query, if any, of every DuckDB connection of this process."""
    duckdb = sys.modules.get("duckdb")
    if duckdb is None:
        return 0  # never imported: no connection to interrupt
    connection_type = duckdb.DuckDBPyConnection
    count = 0
    for obj in gc.get_objects():
        if isinstance(obj, connection_type):
            with suppress(Exception):  # closed connections refuse; nothing to interrupt there
                obj.interrupt()
                count += 1
    return count


def descendants(pid: int) -> list[int]:
    """Every process below pid (children, grandchildren, ...), from /proc or `ps`."""
    parents = _parent_map()
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found


def _workers() -> list[int]:
    """Our descendants except helpers that end with us and must not end before: Dagster's
    compute-log mirrors (`tail -F` and its orphan watcher) copy the step's captured output to
    our stderr, so killing them would hide the last log lines (Dagster stops them at the end of
    the step, and the watcher kills `tail` when we die); multiprocessing's resource tracker
    exits when we do, and killing it first only adds tracebacks.
    """
    return [pid for pid in descendants(os.getpid()) if not _is_helper(pid)]


def _is_helper(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    is_tail = Path(argv[0].decode(errors="replace")).name == "tail" and b"-F" in argv
    return (
        is_tail
        or any(arg.endswith(b"watch_orphans.py") for arg in argv)
        or any(b"multiprocessing.resource_tracker" in arg for arg in argv)
    )


def _parent_map() -> dict[int, int]:
    proc = Path("/proc")
    if proc.is_dir():
        parents = {}
        for entry in proc.iterdir():
            if entry.name.isdigit():
                with suppress(OSError, ValueError, IndexError):
                    stat = (entry / "stat").read_text()
                    parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        return parents
    listing = subprocess.run(["ps", "-A", "-o", "pid=,ppid="], capture_output=True, text=True)
    pairs = (line.split() for line in listing.stdout.splitlines())
    return {int(p[0]): int(p[1]) for p in pairs if len(p) == 2}


def kill_workers(*, wait_seconds: float) -> None:
    """SIGTERM every descendant but the helpers, SIGKILL those still alive after wait_seconds."""
    children = _workers()
    if not children:
        return
    _signal_all(children, signal.SIGTERM)
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline and _any_alive(children):
        time.sleep(0.05)
    _signal_all(set(children) | set(_workers()), signal.SIGKILL)


def _signal_all(pids, signum: int) -> None:
    for pid in pids:
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def _any_alive(pids) -> bool:
    """True while any pid runs. A child that exited stays a zombie until its Popen waits for it:
    we never reap it ourselves (Popen would then read exit status 0), so zombies count as gone.
    """
    alive = False
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        except PermissionError:
            pass
        alive = alive or not _is_zombie(pid)
    return alive


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] == "Z"


def _flush_logs() -> None:
    import logging

    for handler in logging.getLogger().handlers:
        with suppress(Exception):
            handler.flush()
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
