"""One benchmark phase = one fresh subprocess: its wall time, CPU time and peak memory.

CPU seconds are user + system time of the whole process tree, as `os.wait4` reports it for
the child (its own time plus that of every descendant it waited for, such as the `dbt`
process Dagster launches): the figure the load of a shared machine barely changes.

Peak RSS comes from two sources, and the larger is reported:
- `os.wait4` on the child (what `/usr/bin/time -v` reads): the largest resident set of any
  single process of the phase's tree (the child and every descendant it waited for, such as
  the `dbt` process Dagster launches). Exact, but per process, not summed.
- sampling, a few times a second, the summed RSS of every process in the child's process
  group: catches the Dagster process and `dbt` holding memory at the same time.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
SAMPLE_SECONDS = 0.2


@dataclass
class PhaseResult:
    name: str
    command: list[str]
    wall_seconds: float
    peak_rss_bytes: int
    returncode: int
    log_path: Path
    cpu_seconds: float = 0.0  # user + sys of the process tree (wait4)
    started_epoch: float = 0.0  # time.time() just before the child was started
    ended_epoch: float = 0.0  # time.time() once it was reaped

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def log_tail(self, lines: int = 25) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def _group_rss_bytes(pgid: int) -> int:
    """Summed RSS of the processes whose process group is `pgid`."""
    total = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:  # the process ended meanwhile
            continue
        # Fields after the parenthesised command name (which may hold spaces).
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[2]) == pgid:  # field 5: pgrp
            total += int(fields[21]) * _PAGE_BYTES  # field 24: rss in pages
    return total


class _GroupSampler(threading.Thread):
    def __init__(self, pgid: int) -> None:
        super().__init__(daemon=True)
        self.pgid = pgid
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.peak = max(self.peak, _group_rss_bytes(self.pgid))
            except (OSError, ValueError, IndexError):
                pass
            self._stop_event.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def run_phase(
    name: str,
    command: list[str],
    *,
    env: dict[str, str],
    cwd: Path,
    log_dir: Path,
    echo: bool = True,
) -> PhaseResult:
    """Run `command` in a new session, wait for it; its wall and CPU time and peak RSS."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    if echo:
        print(f"  [{name}] {' '.join(command)}", flush=True)
    with log_path.open("wb") as log:
        started_epoch = time.time()
        started = time.perf_counter()
        # A session of its own, so its process group is exactly this phase's processes.
        child = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        sampler = _GroupSampler(child.pid)
        sampler.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        except BaseException:
            os.killpg(child.pid, 15)
            child.wait()
            raise
        wall = time.perf_counter() - started
        ended_epoch = time.time()
        sampler.stop()
        child.returncode = os.waitstatus_to_exitcode(status)
    peak = max(sampler.peak, usage.ru_maxrss * 1024)  # ru_maxrss is in KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    result = PhaseResult(
        name, command, wall, peak, child.returncode, log_path, cpu, started_epoch, ended_epoch
    )
    if echo:
        state = "ok" if result.ok else f"FAILED (exit {result.returncode}, log {log_path})"
        print(
            f"  [{name}] wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {peak / 2**20:,.0f} MiB: "
            f"{state}",
            flush=True,
        )
    return result
