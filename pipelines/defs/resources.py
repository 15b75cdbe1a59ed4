"""Resources every run shares.

`warehouse_lock`: the run holds the warehouse's lock (pipelines/lib/run_lock.py: an flock the
kernel frees when the process dies) from its first step to its end, so runs launched from the
UI, the schedule, the sensor or the CLI never write the DuckDB file at the same time, and a
killed run never leaves anything that blocks the next one. The CLI takes the lock itself
before the run starts (so it can recover dead runs while holding it); the resource then sees
its own process holding it for this run and does not take it twice.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from pipelines.lib.run_lock import read_holder, warehouse_lock
from pipelines.settings import load_settings


class WarehouseLock(dg.ConfigurableResource):
    """Holds the warehouse lock for the whole run (see module doc)."""

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["WarehouseLock"]:
        settings = load_settings()
        holder = read_holder(settings.warehouse_path)
        if holder is not None and holder.pid == os.getpid() and holder.run_id == context.run_id:
            yield self  # the CLI took it for this run
            return
        with warehouse_lock(
            settings.warehouse_path,
            run_id=context.run_id or "",
            timeout_seconds=settings.lock_timeout_seconds,
            log=context.log.info if context.log else print,
        ):
            yield self


RESOURCES = {"warehouse_lock": WarehouseLock()}
