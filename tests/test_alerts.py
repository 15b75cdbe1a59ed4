"""Alerts through apprise, for real: failing runs in a temporary Dagster instance, the sensors
evaluated on them, and the message received by a local HTTP webhook (`json://127.0.0.1`)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from pipelines.defs.operations.alerts import (
    ALERT_URLS_ENV,
    alert_urls,
    check_failure_alert,
    run_failure_alert,
)

pytestmark = pytest.mark.unit

# A table value a check's metadata holds; it must never reach an alert.
SAMPLE_VALUE = "ck-sample-7f3a9e"


@pytest.fixture()
def receiver():
    """A webhook on 127.0.0.1 that records every JSON body posted to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length", 0))
            received.append({"path": self.path, "body": json.loads(self.rfile.read(length))})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


@dg.op
def extract_day():
    raise ValueError("Landing file crm_contacts/2026-01-02.csv lacks column email\nmore detail")


@dg.job
def failing_job():
    extract_day()


@dg.asset(key=["marts", "cac_daily"])
def cac_daily():
    return 1


@dg.asset_check(asset=cac_daily, name="ge_suite", blocking=True)
def blocking_suite():
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.ERROR, metadata={"sample": SAMPLE_VALUE}
    )


@dg.asset(key=["marts", "funnel_daily"])
def funnel_daily():
    return 1


@dg.asset_check(asset=funnel_daily, name="row_count_drop")
def warning_check():
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, metadata={"sample": SAMPLE_VALUE}
    )


@dg.asset_check(asset=funnel_daily, name="ge_suite")
def passing_check():
    return dg.AssetCheckResult(passed=True)


@dg.asset(key=["serving", "marts"], deps=[cac_daily])
def published():
    return 1


def _failure_context(instance, result):
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()


def test_alert_urls_are_comma_separated(monkeypatch):
    assert alert_urls(" json://a/x , ,jsons://b/y") == ["json://a/x", "jsons://b/y"]
    monkeypatch.delenv(ALERT_URLS_ENV, raising=False)
    assert alert_urls() == []


def test_run_failure_posts_job_run_step_and_error(receiver, monkeypatch):
    port, received = receiver
    monkeypatch.setenv(ALERT_URLS_ENV, f"json://127.0.0.1:{port}/hooks/funnel")
    with dg.instance_for_test() as instance:
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        assert run_failure_alert(_failure_context(instance, result)) is None

    assert len(received) == 1
    post = received[0]
    assert post["path"] == "/hooks/funnel"
    message = post["body"]
    assert message["title"] == "Run failed: failing_job"
    assert message["type"] == "failure"
    lines = message["message"].splitlines()
    assert "Job: failing_job" in lines
    assert f"Run: {result.run_id}" in lines
    # The step and the first line of the user's error, not Dagster's wrapper nor the rest.
    assert (
        "- extract_day: ValueError: Landing file crm_contacts/2026-01-02.csv lacks column email"
        in lines
    )
    assert "more detail" not in message["message"]


def test_blocking_check_failure_fails_the_run_and_is_named_with_its_severity(receiver, monkeypatch):
    port, received = receiver
    monkeypatch.setenv(ALERT_URLS_ENV, f"json://127.0.0.1:{port}/a")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [cac_daily, blocking_suite, published], instance=instance, raise_on_error=False
        )
        assert not result.success
        run_failure_alert(_failure_context(instance, result))

    body = received[0]["body"]["message"]
    assert "Failed checks:\n- marts/cac_daily / ge_suite (ERROR)" in body
    assert "Failed steps:\n- " in body
    assert SAMPLE_VALUE not in body  # check metadata (GE samples) is never sent


def test_failed_checks_of_a_successful_run_are_alerted_once(receiver, monkeypatch):
    port, received = receiver
    monkeypatch.setenv(ALERT_URLS_ENV, f"json://127.0.0.1:{port}/b")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [funnel_daily, warning_check, passing_check], instance=instance, raise_on_error=False
        )
        assert result.success  # a WARN check does not fail the run
        context = dg.build_run_status_sensor_context(
            sensor_name="check_failure_alert",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_success_event(),
        )
        assert check_failure_alert(context) is None

        clean = dg.materialize([funnel_daily, passing_check], instance=instance)
        context = dg.build_run_status_sensor_context(
            sensor_name="check_failure_alert",
            dagster_instance=instance,
            dagster_run=clean.dagster_run,
            dagster_event=clean.get_run_success_event(),
        )
        assert check_failure_alert(context) is None  # nothing failed: nothing sent

    assert len(received) == 1
    message = received[0]["body"]
    assert message["title"] == "Checks failed: __ephemeral_asset_job__: 1 failed check"
    assert "- marts/funnel_daily / row_count_drop (WARN)" in message["message"]
    assert "ge_suite" not in message["message"]  # the passing one
    assert SAMPLE_VALUE not in message["message"]


def test_sensor_ticks_find_the_failed_run_and_skip_without_urls(receiver, monkeypatch):
    """The daemon's path: ticks read the instance's run-status events after their cursor."""
    port, received = receiver
    monkeypatch.delenv(ALERT_URLS_ENV, raising=False)
    with dg.instance_for_test() as instance:
        first = run_failure_alert.evaluate_tick(dg.build_sensor_context(instance=instance))
        cursor = first.cursor  # the first tick only sets the cursor
        result = failing_job.execute_in_process(instance=instance, raise_on_error=False)

        tick = run_failure_alert.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=cursor)
        )
        assert tick.skip_message.startswith(f"Alerts are off: {ALERT_URLS_ENV} is not set")
        assert result.run_id in tick.skip_message
        assert received == []

        # With a URL, the next failed run is alerted by the tick itself.
        monkeypatch.setenv(ALERT_URLS_ENV, f"json://127.0.0.1:{port}/tick")
        again = failing_job.execute_in_process(instance=instance, raise_on_error=False)
        run_failure_alert.evaluate_tick(
            dg.build_sensor_context(instance=instance, cursor=tick.cursor)
        )
    assert [r["path"] for r in received] == ["/tick"]
    assert f"Run: {again.run_id}" in received[0]["body"]["message"]


def test_an_undeliverable_alert_raises(monkeypatch):
    from pipelines.defs.operations.alerts import AlertDeliveryError, send_alert

    # Port 9 (discard) on 127.0.0.1: nothing listens, the POST is refused.
    with pytest.raises(AlertDeliveryError, match="json://"):
        send_alert("t", "b", ["json://127.0.0.1:9/x"])
