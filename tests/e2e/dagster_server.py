"""`dagster dev` (webserver + daemon) as a subprocess on a free loopback port, for tests.

The server runs in its own process group so that stopping it also stops the daemon, the
code server and any run worker it started.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGSTER = REPO_ROOT / ".venv" / "bin" / "dagster"
LOCATION = "funnel"
REPOSITORY = "__repository__"
TERMINAL_RUN_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}


def free_port() -> int:
    """A loopback port nobody listens on (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GraphQLError(RuntimeError):
    pass


@dataclass
class DagsterServer:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict:
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
        if payload.get("errors"):
            raise GraphQLError(json.dumps(payload["errors"])[:2000])
        return payload["data"]

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_until_ready(self, timeout: float) -> None:
        """Until the webserver answers and the code location has loaded, or fail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            if self._location_loaded():
                return
            time.sleep(2)
        raise TimeoutError(f"dagster dev not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def _location_loaded(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/server_info", timeout=5) as response:
                if response.status != 200:
                    return False
            data = self.graphql(
                "{ workspaceOrError { __typename ... on Workspace { locationEntries {"
                " name loadStatus locationOrLoadError { __typename"
                " ... on PythonError { message } } } } } }"
            )
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError, GraphQLError):
            return False
        entries = data["workspaceOrError"].get("locationEntries", [])
        for entry in entries:
            if entry["name"] == LOCATION and entry["loadStatus"] == "LOADED":
                error = entry["locationOrLoadError"]
                if error and error["__typename"] == "PythonError":
                    raise RuntimeError(f"code location failed to load: {error['message']}")
                return True
        return False

    def stop(self, grace: float = 20) -> None:
        """Stop the whole process group: SIGTERM, then SIGKILL after `grace` seconds."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=grace)
        except ProcessLookupError:
            pass

    # --- runs -------------------------------------------------------------------------------

    def launch_range_run(self, job: str, start: str, end: str) -> str:
        """Launch one run of `job` over the partition range [start, end]; its run id."""
        data = self.graphql(
            """
            mutation Launch($params: ExecutionParams!) {
              launchRun(executionParams: $params) {
                __typename
                ... on LaunchRunSuccess { run { runId } }
                ... on PythonError { message }
                ... on RunConfigValidationInvalid { errors { message } }
                ... on InvalidSubsetError { message }
              }
            }
            """,
            {
                "params": {
                    "selector": {
                        "repositoryLocationName": LOCATION,
                        "repositoryName": REPOSITORY,
                        "jobName": job,
                    },
                    "runConfigData": {},
                    "executionMetadata": {
                        "tags": [
                            {"key": "dagster/asset_partition_range_start", "value": start},
                            {"key": "dagster/asset_partition_range_end", "value": end},
                        ]
                    },
                }
            },
        )
        result = data["launchRun"]
        if result["__typename"] != "LaunchRunSuccess":
            raise GraphQLError(f"launchRun failed: {json.dumps(result)[:2000]}")
        return result["run"]["runId"]

    def run(self, run_id: str) -> dict:
        """Status, times and tags of a run."""
        data = self.graphql(
            """
            query Run($runId: ID!) {
              runOrError(runId: $runId) {
                __typename
                ... on Run { runId status startTime endTime tags { key value } }
              }
            }
            """,
            {"runId": run_id},
        )
        return data["runOrError"]

    def wait_for_runs(self, run_ids: list[str], timeout: float) -> list[dict]:
        """Until every run has ended (any outcome), or fail; their final records."""
        deadline = time.monotonic() + timeout
        while True:
            runs = [self.run(run_id) for run_id in run_ids]
            if all(r.get("status") in TERMINAL_RUN_STATUSES for r in runs):
                return runs
            if time.monotonic() > deadline:
                raise TimeoutError(f"runs not finished after {timeout:.0f} s: {runs}")
            time.sleep(5)

    def backfills(self) -> list[dict]:
        """Recent backfills with their status and their runs."""
        data = self.graphql(
            """
            {
              partitionBackfillsOrError(limit: 20) {
                __typename
                ... on PartitionBackfills {
                  results {
                    id status numPartitions partitionNames
                    runs(limit: 20) { runId status tags { key value } }
                  }
                }
              }
            }
            """
        )
        return data["partitionBackfillsOrError"]["results"]

    def run_logs_failure_summary(self, run_id: str) -> str:
        """The step failure messages of a run, for a readable assertion message."""
        query = """
            query Logs($runId: ID!, $cursor: String) {
              logsForRun(runId: $runId, afterCursor: $cursor, limit: 1000) {
                __typename
                ... on EventConnection {
                  cursor
                  hasMore
                  events {
                    __typename
                    ... on ExecutionStepFailureEvent { stepKey error { message } }
                    ... on RunFailureEvent { message }
                  }
                }
              }
            }
        """
        lines: list[str] = []
        cursor = None
        while True:
            logs = self.graphql(query, {"runId": run_id, "cursor": cursor})["logsForRun"]
            for event in logs.get("events", []):
                if event["__typename"] == "ExecutionStepFailureEvent":
                    message = (event.get("error") or {}).get("message")
                    lines.append(f"{event['stepKey']}: {message}")
                elif event["__typename"] == "RunFailureEvent":
                    lines.append(f"run: {event.get('message')}")
            if not logs.get("hasMore"):
                return "\n".join(lines)[:4000]
            cursor = logs["cursor"]


def start_dagster_dev(env: Mapping[str, str], log_path: Path, ready_timeout: float = 180):
    """Start `dagster dev -w workspace.yaml` from the repo root on a free loopback port and
    wait until its code location has loaded. The caller must call `stop()`."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            str(DAGSTER),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO_ROOT,
        env=dict(env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()  # the child holds its own descriptor
    server = DagsterServer(process, port, log_path)
    try:
        server.wait_until_ready(ready_timeout)
    except BaseException:
        server.stop()
        raise
    return server
