"""One run at a time on the warehouse, with a lock the kernel frees when its holder dies.

`warehouse_lock(warehouse_path, run_id=..., timeout_seconds=..., log=...)` takes an exclusive
`fcntl.flock` on `<warehouse>.lock` (beside the warehouse file) for the whole run. The lock
belongs to the open file, so the kernel releases it when the holding process exits in any
way, `kill -9` included: nothing a dead run held can block a later one (a Dagster
concurrency pool slot, by contrast, stays claimed in the instance's database).

The holder writes who it is (run id, pid, host, since) into the file, so a run that must wait
logs one line saying what it waits for, then sleeps, polling about once a second and logging
again only every `report_every_seconds`; after `timeout_seconds` it raises
`WarehouseBusyError` naming the holder. A lock taken over from a holder that died says so.

The lock file is never deleted: removing it while another process has it open would let two
processes lock two different files of the same name. The descriptor is close-on-exec, so a
subprocess (dbt) never inherits the lock and cannot keep it after the run died; a process
forked without exec would (not used here: the in-process executor runs every step).

Typical use (the caller reads the timeout from `Settings.lock_timeout_seconds`):

    with warehouse_lock(settings.warehouse_path, run_id=run_id,
                        timeout_seconds=settings.lock_timeout_seconds, log=log.info):
        ...  # the whole run
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

LogFn = Callable[[str], None]
POLL_SECONDS = 1.0
REPORT_EVERY_SECONDS = 60.0


class WarehouseBusyError(RuntimeError):
    """Another run held the warehouse lock for longer than the caller would wait."""

    def __init__(self, message: str, holder: LockHolder | None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class LockHolder:
    """Who holds (or last held) the lock, as written in the lock file."""

    run_id: str
    pid: int
    host: str
    since: str  # ISO 8601, UTC

    def describe(self) -> str:
        return f"run {self.run_id} (pid {self.pid} on {self.host}, since {self.since})"

    def is_alive(self) -> bool | None:
        """Whether the holder's process still exists; None when it ran on another host."""
        if self.host != socket.gethostname():
            return None
        return pid_exists(self.pid)


def lock_path_for(warehouse_path: Path) -> Path:
    """The lock file of a warehouse: `<warehouse file name>.lock` beside it."""
    return warehouse_path.with_name(warehouse_path.name + ".lock")


def pid_exists(pid: int) -> bool:
    """True when a process with this pid exists (ours to signal or not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def read_holder(warehouse_path: Path) -> LockHolder | None:
    """The holder recorded in the lock file, or None (no file, released, or mid-write)."""
    try:
        text = lock_path_for(warehouse_path).read_text(encoding="utf-8")
        fields = json.loads(text)
        return LockHolder(
            run_id=str(fields["run_id"]),
            pid=int(fields["pid"]),
            host=str(fields["host"]),
            since=str(fields["since"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def warehouse_lock(
    warehouse_path: Path,
    *,
    run_id: str,
    timeout_seconds: float,
    log: LogFn,
    poll_seconds: float = POLL_SECONDS,
    report_every_seconds: float = REPORT_EVERY_SECONDS,
) -> Iterator[LockHolder]:
    """Hold the warehouse's exclusive lock for the duration of the block; yields our record."""
    lock_path = lock_path_for(warehouse_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        _acquire(fd, warehouse_path, timeout_seconds, log, poll_seconds, report_every_seconds)
        me = _record_holder(fd, warehouse_path, run_id, log)
        try:
            yield me
        finally:
            os.ftruncate(fd, 0)  # released cleanly: nobody holds it any more
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return False
        raise
    return True


def _acquire(
    fd: int,
    warehouse_path: Path,
    timeout_seconds: float,
    log: LogFn,
    poll_seconds: float,
    report_every_seconds: float,
) -> None:
    """Take the lock, sleeping between attempts (never spinning), until the timeout."""
    if _try_lock(fd):
        return
    started = time.monotonic()
    deadline = started + timeout_seconds
    log(
        f"Waiting for the warehouse lock {lock_path_for(warehouse_path)}, held by "
        f"{_waiting_for(warehouse_path)}; waiting up to {timeout_seconds:.0f} s"
    )
    next_report = started + report_every_seconds
    while True:
        now = time.monotonic()
        if now >= deadline:
            holder = read_holder(warehouse_path)
            raise WarehouseBusyError(
                f"The warehouse {warehouse_path} is still locked after {timeout_seconds:.0f} s "
                f"by {_waiting_for(warehouse_path)}; try again later or raise "
                "FUNNEL_LOCK_TIMEOUT_SECONDS",
                holder,
            )
        time.sleep(min(poll_seconds, deadline - now))
        if _try_lock(fd):
            log(f"Got the warehouse lock after {time.monotonic() - started:.0f} s of waiting")
            return
        if time.monotonic() >= next_report:
            waited = time.monotonic() - started
            log(
                f"Still waiting for the warehouse lock after {waited:.0f} s, held by "
                f"{_waiting_for(warehouse_path)}"
            )
            next_report += report_every_seconds


def _waiting_for(warehouse_path: Path) -> str:
    """What a waiting run waits for, in words: the holder, and whether its process lives."""
    holder = read_holder(warehouse_path)
    if holder is None:
        return "a holder that has not recorded itself yet"
    alive = holder.is_alive()
    if alive is False:
        # The kernel frees a dead process's flock: whoever still holds it inherited the
        # descriptor (a child forked without exec) or is a tool that ignores the file's content.
        return (
            f"{holder.describe()}, whose process is gone; a process that inherited its lock "
            "still holds it"
        )
    return holder.describe()


def _fate(holder: LockHolder) -> str:
    alive = holder.is_alive()
    if alive is None:
        return f"it ran on {holder.host}, which this host cannot check"
    if alive:
        return f"pid {holder.pid} now belongs to another process"
    return f"pid {holder.pid} is gone"


def _record_holder(fd: int, warehouse_path: Path, run_id: str, log: LogFn) -> LockHolder:
    """Write our record over the previous holder's, saying so if that holder died holding it."""
    previous = read_holder(warehouse_path)
    if previous is not None:  # a clean release empties the file: this holder died holding it
        log(
            f"Took the warehouse lock; its previous holder {previous.describe()} never released "
            f"it: {_fate(previous)}, and the kernel freed the lock when it died"
        )
    me = LockHolder(
        run_id=run_id,
        pid=os.getpid(),
        host=socket.gethostname(),
        since=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    payload = (json.dumps(asdict(me)) + "\n").encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, payload, 0)
    return me
