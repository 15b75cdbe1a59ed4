"""One chain of runs on one landing zone, each killed at a different step and recovered by the
next, ends with the same published marts as an uninterrupted run; SIGTERM stops a run within
seconds.

The chain (one persistent Dagster instance, one warehouse, one serving folder):
1. killed with `kill -9` in extraction (raw__orders);
2. recovers run 1, killed in dbt (funnel_dbt_assets) once it has built some models;
3. recovers run 2, killed in the mart suites (mart_suites);
4. recovers run 3, killed in the publication (serving__marts) while marts.duckdb is being
   built aside: the serving folder still holds the previous version, whole and openable;
5. recovers run 4, stopped by SIGTERM during dbt: it exits within seconds, leaving no child;
6. completes, recovering nothing (run 5 recorded its own end), and publishes the marts an
   uninterrupted run (the reference, on a copy of the same zone) published.
The serving folder starts with a copy of the reference's publication, as a deployment's would
hold yesterday's: the kill in run 4 has a previous version to keep whole.

Every run here is the real CLI (`python -m pipelines run`) in its own process group, with a
persistent DAGSTER_HOME in the scenario's folder so the next run sees the dead one. The step a
run is at is read from its full log (`<warehouse folder>/logs/run-<run id>.log`, one line per
event, flushed as it happens): the progress lines on stdout only say when a step is done.
Each kill is checked to have landed inside the step aimed at: the next run's recovery notice
names the step the dead run had started and not finished, and the test asserts it is that one
(a step that ended before the kill fails the test).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.conftest import E2E_START, PipelineEnv, make_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
DAYS = 6  # the cost of a run is dbt's per-model overhead, not the data
CONTACTS_PER_DAY = 8
SEED = 23
START, END = E2E_START, E2E_START + dt.timedelta(days=DAYS - 1)
RUN_TIMEOUT_SECONDS = 420  # a whole run takes one to two and a half minutes on two busy cores
CHAIN_TIMEOUT_SECONDS = 1800  # the reference and six runs, five of them cut short
WAIT_FOR_STEP_SECONDS = 300
SIGTERM_BOUND_SECONDS = 30.0  # the CLI's grace is 3 s: this only catches a hang
POLL_SECONDS = 0.01
EXTRACTION_DELAY_SECONDS = 0.05  # raw__orders takes about 0.5 s
CHECKS_DELAY_SECONDS = 0.5  # mart_suites takes about 5 s
# run_recovery._recover's notice: "run <id> (pid <pid>) died at step <step>; marked failed, ..."
NOTICE = re.compile(
    r"^run (?P<run_id>\S+) \(pid (?P<pid>\d+)\) died at step (?P<step>.+); "
    r"marked failed, freed its slots \((?P<freed>.*)\)$",
    re.MULTILINE,
)
DBT_MODEL_BUILT = re.compile(r"\b\d+ of \d+ OK created ")


@dataclass
class Cli:
    """A CLI run started in its own process group, its output going to files."""

    proc: subprocess.Popen
    stdout: Path
    stderr: Path
    logs_dir: Path
    logs_before: frozenset[str]
    started: float

    def output(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    log: Path | None = None

    def run_log(self) -> Path | None:
        """This run's full log, once the run has created it. Remembered when first seen, while
        it is the only new log: the next run of the chain adds its own."""
        if self.log is None:
            new = sorted(set(_listing(self.logs_dir)) - self.logs_before)
            assert len(new) <= 1, f"more than one new log: {new}"
            self.log = self.logs_dir / new[0] if new else None
        return self.log

    def run_id(self) -> str:
        log = self.run_log()
        assert log is not None, "the run never created its log"
        return log.name.removeprefix("run-").removesuffix(".log")

    def describe(self) -> str:
        tail = "\n".join(self.output().splitlines()[-60:])
        return f"exit {self.proc.returncode}; last output:\n{tail}"


def _listing(folder: Path) -> list[str]:
    return [p.name for p in folder.glob("run-*.log")] if folder.is_dir() else []


def _cli_env(env: PipelineEnv) -> dict[str, str]:
    environ = dict(os.environ)
    environ.pop("FUNNEL_CHECK_SCOPE", None)
    environ.update(
        FUNNEL_LANDING_DIR=str(env.landing_dir),
        FUNNEL_WAREHOUSE_PATH=str(env.warehouse_path),
        FUNNEL_SERVING_DIR=str(env.serving_dir),
        FUNNEL_START_DATE=E2E_START.isoformat(),
        FUNNEL_PSEUDONYMISATION_SECRET=os.environ.get(
            "FUNNEL_PSEUDONYMISATION_SECRET", "test-secret"
        ),
        DAGSTER_HOME=str(env.root / "dagster_home"),
        PYTHONUNBUFFERED="1",
    )
    return environ


def start_cli(env: PipelineEnv, name: str) -> Cli:
    stdout, stderr = env.root / f"{name}.stdout", env.root / f"{name}.stderr"
    logs_dir = env.warehouse_path.parent / "logs"
    logs_before = frozenset(_listing(logs_dir))
    with stdout.open("wb") as out, stderr.open("wb") as err:
        proc = subprocess.Popen(
            [str(PYTHON), "-m", "pipelines", "run", "--start", str(START), "--end", str(END)],
            cwd=REPO_ROOT,
            env=_cli_env(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # its own process group: dbt and helpers die with it
        )
    return Cli(proc, stdout, stderr, logs_dir, logs_before, time.monotonic())


def kill_group(cli: Cli, signum: int = signal.SIGKILL) -> None:
    try:
        os.killpg(cli.proc.pid, signum)
    except ProcessLookupError:
        pass


def group_alive(pgid: int) -> bool:
    """Whether any process (a zombie aside) is left in the process group."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def wait_group_gone(cli: Cli, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not group_alive(cli.proc.pid):
            return True
        time.sleep(0.1)
    return not group_alive(cli.proc.pid)


def finish(cli: Cli, timeout: float = RUN_TIMEOUT_SECONDS) -> int:
    """Wait for the run to end; a hang is killed and fails the test."""
    try:
        return cli.proc.wait(timeout=max(1.0, timeout - (time.monotonic() - cli.started)))
    except subprocess.TimeoutExpired:
        kill_group(cli)
        cli.proc.wait()
        pytest.fail(f"the run did not finish within {timeout:.0f} s: {cli.describe()}")


def wait_for_step_start(cli: Cli, step: str, then: re.Pattern | None = None) -> None:
    """Return as soon as the run's log records the step's STEP_START (and, with `then`, the
    output matches it after that); fails if the run ends or times out first."""
    marker = f" - {step} - STEP_START - "
    deadline = time.monotonic() + WAIT_FOR_STEP_SECONDS
    started = False
    offset = 0
    while time.monotonic() < deadline:
        if cli.proc.poll() is not None:
            pytest.fail(f"the run ended before step {step} started ({cli.describe()})")
        if not started:
            log = cli.run_log()
            if log is not None:
                with log.open("rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read()
                # Only complete lines count; the rest is read again next time.
                complete = chunk[: chunk.rfind(b"\n") + 1]
                offset += len(complete)
                started = marker in complete.decode(errors="replace")
        if started and (then is None or then.search(cli.output())):
            return
        time.sleep(POLL_SECONDS)
    kill_group(cli)
    pytest.fail(f"step {step} did not start within {WAIT_FOR_STEP_SECONDS} s: {cli.describe()}")


def published_marts(serving_dir: Path) -> dict[str, list[tuple]]:
    """Every table of the serving file, all rows in a fixed order."""
    con = duckdb.connect(str(serving_dir / "marts.duckdb"), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()
        return {
            f"{schema}.{table}": con.execute(
                f'select * from "{schema}"."{table}" order by all'
            ).fetchall()
            for schema, table in tables
        }
    finally:
        con.close()


def parquet_row_counts(serving_dir: Path) -> dict[str, int]:
    """Rows of every Parquet file the serving folder's `parquet` link points to."""
    con = duckdb.connect()
    try:
        counts = {}
        for path in sorted((serving_dir / "parquet").glob("*.parquet")):
            query = "select count(*) from read_parquet(?)"
            counts[path.stem] = con.execute(query, [str(path)]).fetchall()[0][0]
        return counts
    finally:
        con.close()


def row_counts(marts: dict[str, list[tuple]]) -> dict[str, int]:
    return {name.split(".", 1)[1]: len(rows) for name, rows in marts.items()}


def asides(serving_dir: Path) -> list[str]:
    """What a publication builds aside before swapping it in (`.marts.duckdb.<tag>`, its WAL)."""
    return sorted(p.name for p in serving_dir.glob(".marts.duckdb.*"))


def run_statuses(env: PipelineEnv, run_ids: list[str]) -> dict[str, str]:
    """The runs' statuses as the persistent instance records them, read in a subprocess
    (an instance opened here would hold DAGSTER_HOME's SQLite files open)."""
    code = (
        "import sys; from dagster import DagsterInstance\n"
        "with DagsterInstance.get() as instance:\n"
        "    for run_id in sys.argv[1:]:\n"
        "        print(run_id, instance.get_run_by_id(run_id).status.value)\n"
    )
    result = subprocess.run(
        [str(PYTHON), "-c", code, *run_ids],
        cwd=REPO_ROOT,
        env=_cli_env(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [line.split() for line in result.stdout.splitlines()]
    return {fields[0]: fields[1] for fields in lines if len(fields) == 2 and fields[0] in run_ids}


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    from pipelines.generator import generate_landing_zone

    folder = tmp_path_factory.mktemp("crash_landing") / "landing"
    generate_landing_zone(folder, START, DAYS, CONTACTS_PER_DAY, seed=SEED, messy_rate=0.03)
    return folder


def fresh_env(root: Path, landing: Path) -> PipelineEnv:
    env = make_env(root)
    shutil.copytree(landing, env.landing_dir)
    return env


@dataclass(frozen=True)
class Reference:
    marts: dict[str, list[tuple]]
    serving_dir: Path


@pytest.fixture(scope="module")
def reference(tmp_path_factory, landing) -> Reference:
    """The marts an uninterrupted run publishes from the landing zone, and its serving folder."""
    env = fresh_env(tmp_path_factory.mktemp("crash_reference"), landing)
    cli = start_cli(env, "reference")
    assert finish(cli) == 0, f"the reference run failed: {cli.describe()}"
    assert NOTICE.search(cli.output()) is None  # nothing to recover in a new instance
    marts = published_marts(env.serving_dir)
    assert len(marts) >= 5 and sum(len(rows) for rows in marts.values()) > 100, marts.keys()
    assert parquet_row_counts(env.serving_dir) == row_counts(marts)
    print(f"reference run: {time.monotonic() - cli.started:.0f} s", file=sys.stderr)
    return Reference(marts, env.serving_dir)


def kill_in_step(
    cli: Cli, step: str, *, then: re.Pattern | None = None, delay_seconds: float = 0.0
) -> None:
    """`kill -9` the run's whole process group once it is inside `step`."""
    wait_for_step_start(cli, step, then)
    time.sleep(delay_seconds)
    kill_group(cli)
    cli.proc.wait(timeout=30)
    assert cli.proc.returncode == -signal.SIGKILL, cli.describe()
    assert wait_group_gone(cli, 10), f"a process of the run killed in {step} outlived kill -9"
    cli.run_id()  # remembered now, before the next run adds its log
    print(f"killed in {step} after {time.monotonic() - cli.started:.0f} s", file=sys.stderr)


def wait_for_aside(cli: Cli, serving_dir: Path) -> None:
    """Return once the publication has started writing its new marts.duckdb aside."""
    deadline = time.monotonic() + WAIT_FOR_STEP_SECONDS
    while time.monotonic() < deadline:
        if cli.proc.poll() is not None:
            pytest.fail(f"the run ended before writing marts.duckdb aside ({cli.describe()})")
        if asides(serving_dir):
            return
        time.sleep(POLL_SECONDS)
    kill_group(cli)
    pytest.fail(f"no marts.duckdb was built aside within {WAIT_FOR_STEP_SECONDS} s")


def assert_recovered(cli: Cli, dead: Cli, step: str) -> None:
    """The run's output holds one recovery notice: the dead run's, naming `step`."""
    notices = list(NOTICE.finditer(cli.output()))
    assert len(notices) == 1, f"expected one recovery notice (for {step}): {cli.describe()}"
    notice = notices[0]
    assert notice["run_id"] == dead.run_id(), notice.group(0)
    assert int(notice["pid"]) == dead.proc.pid, notice.group(0)
    # The kill landed inside the step aimed at (not before it, nor after it ended).
    assert notice["step"] == step, (
        f"the kill was meant to land in {step} but the dead run was at {notice['step']!r}; "
        "the step may be too fast to catch"
    )


@pytest.mark.timeout(CHAIN_TIMEOUT_SECONDS)
def test_a_chain_of_runs_killed_at_each_step_recovers_and_publishes_the_reference(
    tmp_path, landing, reference
):
    env = fresh_env(tmp_path, landing)
    # Yesterday's publication: what a kill during the publication must leave whole.
    shutil.copytree(reference.serving_dir, env.serving_dir, symlinks=True)
    previous_inode = (env.serving_dir / "marts.duckdb").stat().st_ino
    previous_parquet = os.readlink(env.serving_dir / "parquet")
    started: list[Cli] = []

    def start(name: str) -> Cli:
        cli = start_cli(env, name)
        started.append(cli)
        return cli

    try:
        # 1. Extraction: this entity's load under way.
        extraction = start("1-extraction")
        kill_in_step(extraction, "raw__orders", delay_seconds=EXTRACTION_DELAY_SECONDS)

        # 2. dbt: killed once it has built some models, so the warehouse is half rebuilt.
        dbt = start("2-dbt")
        kill_in_step(dbt, "funnel_dbt_assets", then=DBT_MODEL_BUILT)
        assert_recovered(dbt, extraction, "raw__orders")

        # 3. The mart suites (Great Expectations), which take seconds.
        checks = start("3-checks")
        kill_in_step(checks, "mart_suites", delay_seconds=CHECKS_DELAY_SECONDS)
        assert_recovered(checks, dbt, "funnel_dbt_assets")

        # 4. The publication, while the new marts.duckdb is half written aside.
        publication = start("4-publication")
        wait_for_step_start(publication, "serving__marts")
        wait_for_aside(publication, env.serving_dir)
        kill_in_step(publication, "serving__marts")
        assert_recovered(publication, checks, "mart_suites")
        # The kill landed before the swap: the half-written file is still aside ...
        assert asides(env.serving_dir), "marts.duckdb was swapped in before the kill"
        # ... and a reader sees the previous version, whole: the same file and Parquet folder,
        # openable, every table and Parquet file complete.
        assert (env.serving_dir / "marts.duckdb").stat().st_ino == previous_inode
        assert os.readlink(env.serving_dir / "parquet") == previous_parquet
        assert published_marts(env.serving_dir) == reference.marts
        assert parquet_row_counts(env.serving_dir) == row_counts(reference.marts)

        # 5. SIGTERM during dbt stops the run within seconds.
        terminated = start("5-sigterm")
        wait_for_step_start(terminated, "funnel_dbt_assets", DBT_MODEL_BUILT)
        signalled = time.monotonic()
        os.kill(terminated.proc.pid, signal.SIGTERM)  # the CLI alone, as `kill <pid>` would
        try:
            code = terminated.proc.wait(timeout=SIGTERM_BOUND_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {SIGTERM_BOUND_SECONDS:.0f} s after SIGTERM")
        took = time.monotonic() - signalled
        output = terminated.output()
        assert code != 0, terminated.describe()
        assert code == 128 + signal.SIGTERM, terminated.describe()
        assert "stopped by SIGTERM at step funnel_dbt_assets" in output, terminated.describe()
        assert "Stopped by SIGTERM." in output, terminated.describe()
        # No dbt (or other child) left behind writing the warehouse; the compute-log helpers
        # end on their own once the CLI is gone.
        assert wait_group_gone(terminated, 10), "a child of the stopped run is still alive"
        print(f"SIGTERM to exit: {took:.1f} s", file=sys.stderr)
        assert_recovered(terminated, publication, "serving__marts")

        # 6. A full run: nothing to recover, the reference's marts published.
        final = start("6-final")
        code = finish(final)
        assert code == 0, final.describe()
        # The stopped run recorded its own end: there is no dead run to recover.
        assert NOTICE.search(final.output()) is None, final.describe()
        print(f"final run: {time.monotonic() - final.started:.0f} s", file=sys.stderr)
    finally:
        for cli in started:
            if cli.proc.poll() is None or group_alive(cli.proc.pid):
                kill_group(cli)
                cli.proc.wait()

    dead = [extraction, dbt, checks, publication, terminated]
    statuses = run_statuses(env, [cli.run_id() for cli in dead])
    assert statuses == {cli.run_id(): "FAILURE" for cli in dead}
    # The final run published (a new file and Parquet folder), the reference's marts ...
    assert (env.serving_dir / "marts.duckdb").stat().st_ino != previous_inode
    assert os.readlink(env.serving_dir / "parquet") != previous_parquet
    assert published_marts(env.serving_dir) == reference.marts
    assert parquet_row_counts(env.serving_dir) == row_counts(reference.marts)
    # ... and removed what the killed publication left aside.
    assert asides(env.serving_dir) == []
