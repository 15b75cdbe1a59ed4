"""The Dagster UI and daemon over a small generated landing zone, as an analyst uses them.

One `dagster dev` (webserver + daemon, the repo's workspace.yaml and dagster.yaml) serves the
whole module. Two runs launched at the same moment materialise the first week (the run queue
lets one warehouse writer in at a time, so both complete); then headless Chromium clicks
through the UI to backfill three more days, which must run as one single run over the range
and publish the new days to the serving marts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.e2e.dagster_server import REPO_ROOT, DagsterServer, start_dagster_dev

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIRST_DAY = dt.date(2026, 1, 1)
LANDED_DAYS = 10
CONTACTS_PER_DAY = 8
SEED = 5
JOB = "daily_funnel_job"
# The two runs launched together: the first week, split in two ranges.
FIRST_RANGES = (("2026-01-01", "2026-01-04"), ("2026-01-05", "2026-01-07"))
BACKFILL_START, BACKFILL_END = "2026-01-08", "2026-01-10"

SERVER_READY_TIMEOUT = 240  # the code location parses the dbt manifest when stale
RUNS_TIMEOUT = 30 * 60  # two whole-graph runs, one after the other, on a busy 2-core machine
BACKFILL_TIMEOUT = 20 * 60
UI_TIMEOUT_MS = 60_000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SUCCESSFUL_BACKFILL = {"COMPLETED", "COMPLETED_SUCCESS"}
ENDED_BACKFILL = SUCCESSFUL_BACKFILL | {"FAILED", "COMPLETED_FAILED", "CANCELED"}


@dataclass(frozen=True)
class UiEnv:
    root: Path
    serving_marts: Path
    server: DagsterServer


@pytest.fixture(scope="module")
def ui_env(tmp_path_factory) -> Iterator[UiEnv]:
    """A generated landing zone and `dagster dev` over it, stopped at the end whatever happens."""
    from pipelines.generator import generate_landing_zone

    root = tmp_path_factory.mktemp("dagster_ui")
    landing = root / "landing"
    generate_landing_zone(landing, FIRST_DAY, LANDED_DAYS, CONTACTS_PER_DAY, seed=SEED)
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "FUNNEL_LANDING_DIR": str(landing),
        "FUNNEL_WAREHOUSE_PATH": str(root / "warehouse.duckdb"),
        "FUNNEL_SERVING_DIR": str(root / "serving"),
        "FUNNEL_START_DATE": FIRST_DAY.isoformat(),
        "DAGSTER_HOME": str(home),
    }
    server = start_dagster_dev(env, root / "dagster_dev.log", SERVER_READY_TIMEOUT)
    try:
        yield UiEnv(root, root / "serving" / "marts.duckdb", server)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def first_week_runs(ui_env) -> list[dict]:
    """Two runs of the daily job launched at the same moment, waited for; their records."""
    server = ui_env.server
    run_ids = [server.launch_range_run(JOB, start, end) for start, end in FIRST_RANGES]
    return server.wait_for_runs(run_ids, RUNS_TIMEOUT)


def _query(path: Path, sql: str) -> tuple:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchone()
    finally:
        con.close()


def _funnel_days(path: Path, first: str, last: str) -> int:
    """Days between first and last (inclusive) with at least one row in the funnel mart."""
    return _query(
        path,
        f"select count(distinct date) from marts.funnel_daily where date between '{first}' and"
        f" '{last}'",
    )[0]


def _assert_succeeded(server: DagsterServer, runs: list[dict]) -> None:
    failed = {r["runId"]: r["status"] for r in runs if r["status"] != "SUCCESS"}
    details = "\n".join(
        f"{run_id}:\n{server.run_logs_failure_summary(run_id)}" for run_id in failed
    )
    assert not failed, f"runs did not succeed: {failed}\n{details}"


@pytest.mark.timeout(RUNS_TIMEOUT + SERVER_READY_TIMEOUT + 300)
def test_two_runs_launched_together_both_complete(ui_env, first_week_runs):
    _assert_succeeded(ui_env.server, first_week_runs)
    first, second = sorted(first_week_runs, key=lambda r: r["startTime"])
    # One warehouse writer at a time: the queue held the second run until the first ended.
    assert second["startTime"] >= first["endTime"]
    for run, (start, end) in zip(first_week_runs, FIRST_RANGES, strict=True):
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert tags["dagster/asset_partition_range_start"] == start
        assert tags["dagster/asset_partition_range_end"] == end
        assert tags["funnel/warehouse"] == "writer"
    # Both ranges reached the published funnel.
    for start, end in FIRST_RANGES:
        assert _funnel_days(ui_env.serving_marts, start, end) > 0, (start, end)


# --- the browser test ---------------------------------------------------------------------


def _screenshot_dirs(root: Path) -> list[Path]:
    dirs = [root / "screenshots"]
    if os.environ.get("FUNNEL_SCREENSHOT_DIR"):
        dirs.append(Path(os.environ["FUNNEL_SCREENSHOT_DIR"]))
    for folder in dirs:
        folder.mkdir(parents=True, exist_ok=True)
    return dirs


def _screenshot(page, root: Path, name: str) -> list[Path]:
    paths = [folder / f"{name}.png" for folder in _screenshot_dirs(root)]
    page.screenshot(path=str(paths[0]), full_page=True)
    for path in paths[1:]:
        shutil.copy(paths[0], path)
    return paths


def _appears(locator, timeout_ms: int) -> bool:
    """Whether an element that only sometimes shows becomes visible within the timeout."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    try:
        locator.wait_for(state="visible", timeout=timeout_ms)
    except PlaywrightTimeoutError:
        return False
    return True


def _dismiss_community_dialog(page) -> None:
    """The first visit may greet with a newsletter dialog; skip it when it shows."""
    skip = page.get_by_role("dialog").get_by_role("button", name="Skip")
    if _appears(skip, 5_000):
        skip.click()


def _launch_backfill_in_ui(page, server: DagsterServer) -> str:
    """Jobs > daily_funnel_job > Materialize all… > three days > Launch backfill; its id."""
    page.goto(server.url, timeout=UI_TIMEOUT_MS)
    _dismiss_community_dialog(page)
    page.get_by_role("navigation").get_by_text("Jobs", exact=True).click()
    page.get_by_role("link", name=JOB).first.click()
    page.get_by_role("button", name="Materialize all…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Partition selection").wait_for()
    # The dialog shows the last 90 days only; our days are older than that.
    if _appears(dialog.get_by_role("button", name="Show all partitions"), 10_000):
        dialog.get_by_role("button", name="Show all partitions").click()
    selector = dialog.get_by_role("textbox").first
    selector.fill(f"[{BACKFILL_START}...{BACKFILL_END}]")
    selector.press("Enter")
    dialog.get_by_text("3 partitions", exact=True).wait_for()
    dialog.get_by_role("button", name="Launch backfill").click()
    toast = page.get_by_text(re.compile(r"Created backfill"))
    toast.wait_for()
    page.get_by_role("link", name="View", exact=True).click()
    page.wait_for_url(re.compile(r"/runs/b/[^/?#]+"))
    return re.search(r"/runs/b/([^/?#]+)", page.url).group(1)


def _expect_backfill_page_succeeded(page) -> None:
    """The backfill page: status Succeeded; 3 partitions targeted, 3 succeeded, 0 failed."""
    from playwright.sync_api import expect

    status = page.get_by_text("Status", exact=True).locator("xpath=..")
    expect(status).to_contain_text("Succeeded", timeout=UI_TIMEOUT_MS)
    row = page.get_by_role("row").filter(has_text=f"{JOB}_partition_set")
    expect(row).to_contain_text("100% completed", timeout=UI_TIMEOUT_MS)
    cells = [text.strip() for text in row.get_by_role("cell").all_inner_texts()]
    # Columns: job name, partitions targeted, in progress, succeeded, failed.
    assert cells[1:] == ["3", "0", "3", "0"], cells


def _wait_for_backfill(server: DagsterServer, backfill_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        backfill = next(b for b in server.backfills() if b["id"] == backfill_id)
        runs_ended = all(
            r["status"] in {"SUCCESS", "FAILURE", "CANCELED"} for r in backfill["runs"]
        )
        if backfill["status"] in ENDED_BACKFILL and runs_ended:
            return backfill
        if time.monotonic() > deadline:
            raise TimeoutError(f"backfill {backfill_id} not done after {timeout:.0f} s: {backfill}")
        time.sleep(10)


@pytest.mark.browser
@pytest.mark.timeout(RUNS_TIMEOUT + SERVER_READY_TIMEOUT + BACKFILL_TIMEOUT + 600)
def test_backfill_three_days_from_the_ui(ui_env, first_week_runs):
    from playwright.sync_api import expect, sync_playwright

    server = ui_env.server
    _assert_succeeded(server, first_week_runs)
    rows_before, entered_before = _query(
        ui_env.serving_marts, "select count(*), sum(entered) from marts.funnel_daily"
    )
    assert rows_before > 0
    assert _funnel_days(ui_env.serving_marts, BACKFILL_START, BACKFILL_END) == 0

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(UI_TIMEOUT_MS)
    try:
        backfill_id = _launch_backfill_in_ui(page, server)
        backfill = _wait_for_backfill(server, backfill_id, BACKFILL_TIMEOUT)
        # Single-run backfill policy: the three days are one run over the range.
        assert len(backfill["runs"]) == 1, backfill
        run = backfill["runs"][0]
        tags = {t["key"]: t["value"] for t in run["tags"]}
        assert tags["dagster/asset_partition_range_start"] == BACKFILL_START
        assert tags["dagster/asset_partition_range_end"] == BACKFILL_END
        _assert_succeeded(server, [run])
        assert sorted(backfill["partitionNames"]) == [
            "2026-01-08",
            "2026-01-09",
            "2026-01-10",
        ]
        # What the analyst sees: the backfill page reports it completed, nothing failed.
        page.goto(f"{server.url}/runs/b/{backfill_id}")
        _expect_backfill_page_succeeded(page)
        screenshots = _screenshot(page, ui_env.root, "dagster_backfill_succeeded")
        page.goto(f"{server.url}/runs/{run['runId']}")
        expect(page.get_by_text("Success", exact=True).first).to_be_visible(timeout=UI_TIMEOUT_MS)
        _screenshot(page, ui_env.root, "dagster_backfill_run_succeeded")
    except Exception:
        # For diagnosis; a failing screenshot must not hide the original error.
        with contextlib.suppress(Exception):
            _screenshot(page, ui_env.root, f"failure_{int(time.time())}")
        raise
    finally:
        browser.close()
        playwright.stop()
    assert screenshots[0].stat().st_size > 0

    rows_after, entered_after = _query(
        ui_env.serving_marts, "select count(*), sum(entered) from marts.funnel_daily"
    )
    assert _funnel_days(ui_env.serving_marts, BACKFILL_START, BACKFILL_END) > 0
    assert rows_after > rows_before
    assert entered_after > entered_before
