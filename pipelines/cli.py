"""Command line for cron/CI users and the demo, without the Dagster daemon.

python -m pipelines generate ...              the bundled landing-zone generator
python -m pipelines run --start D --end D     the whole graph for a window of landing days
python -m pipelines run --yesterday           the previous UTC day (what the schedule runs)
python -m pipelines demo                      generate 120 days, run everything, summarise

`run` prints one line per step (and progress of the dbt and check steps); the full log is
in the Dagster run and in <warehouse folder>/logs/run-<run id>.log. It exits 0 on success,
1 when the run failed, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# A range run stores one planned materialisation per asset, not one per asset and day (read
# by Dagster when a run is created; `make` exports it too, for the UI).
PLANNED_EVENTS_FLAG = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
DEMO_DAYS = 120
DEMO_SEED = 42
DEMO_CONTACTS_PER_DAY = 40


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from exc


def _instance():
    """The persistent instance under DAGSTER_HOME (so CLI runs show in the UI), else ephemeral."""
    from dagster import DagsterInstance

    home = os.environ.get("DAGSTER_HOME")
    if not home:
        return DagsterInstance.ephemeral()
    home_path = Path(home)
    home_path.mkdir(parents=True, exist_ok=True)
    config = home_path / "dagster.yaml"
    # The repo-local home (the Makefile's default) follows the repo's dagster.yaml; a home
    # elsewhere gets it once and is then the user's to edit.
    repo_local = home_path.resolve() == (REPO_ROOT / ".dagster_home").resolve()
    if (repo_local or not config.exists()) and (REPO_ROOT / "dagster.yaml").exists():
        shutil.copy(REPO_ROOT / "dagster.yaml", config)
    return DagsterInstance.get()


@dataclass
class RunOutcome:
    """What a run did, as the CLI reports it."""

    success: bool
    run_id: str
    log_file: Path
    failures: list[str] = field(default_factory=list)  # "step: one-line error"
    checks_not_passed: list[str] = field(default_factory=list)  # "asset check: severity, why"
    events: int = 0


def _run_config(log_file: Path, quiet: bool) -> dict:
    return {
        "loggers": {
            # Dagster's own console output only for warnings and errors: the progress logger
            # prints the step lines, and the full log goes to the file.
            "console": {"config": {"log_level": "WARNING"}},
            "progress": {"config": {"log_file": str(log_file), "quiet": quiet}},
        }
    }


def _outcome(result, run_id: str, log_file: Path) -> RunOutcome:
    from dagster import DagsterEventType

    outcome = RunOutcome(success=result.success, run_id=run_id, log_file=log_file)
    outcome.events = len(result.all_events)
    for event in result.all_events:
        if event.event_type == DagsterEventType.STEP_FAILURE:
            error = event.step_failure_data.error
            cause = error
            while cause is not None and cause.cause is not None:  # the real cause, not a wrapper
                cause = cause.cause
            message = (cause or error).message.strip().splitlines()[0] if error else "failed"
            outcome.failures.append(f"{event.step_key}: {message}")
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed or "skipped" in (evaluation.metadata or {}):
            why = evaluation.description or ""
            if "skipped" in (evaluation.metadata or {}) and evaluation.passed:
                why = f"skipped: {evaluation.metadata['skipped'].value}"
            severity = evaluation.severity.value if not evaluation.passed else "INFO"
            outcome.checks_not_passed.append(
                f"{evaluation.asset_key.to_user_string()} {evaluation.check_name}: {severity}"
                + (f", {why}" if why else "")
            )
    return outcome


def _say(message: str) -> None:
    print(message, flush=True)


def execute_range(
    start: dt.date,
    end: dt.date,
    *,
    selection: str | None = None,
    quiet: bool = False,
):
    """Materialise the graph (or `selection`) for landing days [start, end] in one run.

    The run holds the warehouse lock from before it starts (a run that must wait says for
    whom), first marks runs whose process died as failed, and stops within seconds on
    SIGTERM or SIGINT (raising StoppedBySignal). Returns (Dagster's result, RunOutcome)."""
    from pipelines.lib.interrupts import stop_on_signals
    from pipelines.lib.run_lock import warehouse_lock
    from pipelines.lib.run_recovery import process_tags, recover_dead_runs
    from pipelines.settings import load_settings

    settings = load_settings()
    settings.require_secret()  # a clear error now rather than inside a step
    os.environ.setdefault(PLANNED_EVENTS_FLAG, "true")
    run_id = str(uuid.uuid4())
    log_file = settings.warehouse_path.parent / "logs" / f"run-{run_id}.log"
    tags = {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
        **process_tags(),
    }
    with _instance() as instance, stop_on_signals(_say, instance=instance, run_id=run_id) as stop:
        # Loading the definitions may run `dbt parse`: a signal must stop that too.
        stop.phase = "loading the definitions"
        from pipelines.definitions import defs

        job = defs.resolve_job_def("daily_funnel_job")
        asset_selection = None
        if selection:
            from dagster import AssetSelection

            graph = defs.resolve_asset_graph()
            asset_selection = list(AssetSelection.from_string(selection).resolve(graph))
        stop.phase = "waiting for the warehouse lock"
        with warehouse_lock(
            settings.warehouse_path,
            run_id=run_id,
            timeout_seconds=settings.lock_timeout_seconds,
            log=_say,
        ):
            stop.phase = None
            recover_dead_runs(instance, _say)
            result = job.execute_in_process(
                instance=instance,
                run_id=run_id,
                tags=tags,
                raise_on_error=False,
                asset_selection=asset_selection,
                run_config=_run_config(log_file, quiet),
            )
    return result, _outcome(result, run_id, log_file)


def run_range(start: dt.date, end: dt.date, **options) -> bool:
    """Materialise the whole graph for [start, end] in one run; True when it succeeded."""
    _result, outcome = execute_range(start, end, **options)
    _print_outcome(outcome)
    return outcome.success


def _print_outcome(outcome: RunOutcome) -> None:
    for failure in outcome.failures:
        print(f"FAILED {failure}", file=sys.stderr)
    if outcome.checks_not_passed:
        print("Checks that did not pass:")
        for line in outcome.checks_not_passed:
            print(f"  {line}")
    print(f"Full log: {outcome.log_file}")


def _window(args: argparse.Namespace) -> tuple[dt.date, dt.date] | None:
    if args.yesterday:
        if args.start or args.end:
            return None
        day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        return day, day
    if not args.start:
        return None
    return args.start, args.end or args.start


def _cmd_run(args: argparse.Namespace) -> int:
    window = _window(args)
    if window is None:
        print("give --start [--end] or --yesterday (not both)", file=sys.stderr)
        return 2
    start, end = window
    if end < start:
        print("--end is before --start", file=sys.stderr)
        return 2
    if args.full_checks:
        # Read by dbt's tests and the suites; set before the run, for this process and dbt.
        os.environ["FUNNEL_CHECK_SCOPE"] = "full"
    print(f"Running {start}..{end}" + (f" ({args.select})" if args.select else "") + " ...")
    started = time.perf_counter()
    ok, code = _guarded(lambda: run_range(start, end, selection=args.select, quiet=args.quiet))
    if code is not None:
        return code
    elapsed = time.perf_counter() - started
    print(f"{'Succeeded' if ok else 'FAILED'}: {start}..{end} in {elapsed:.1f} s")
    return 0 if ok else 1


def _guarded(run) -> tuple[bool, int | None]:
    """(whether `run()` succeeded, the exit code when it could not run or was stopped)."""
    from pipelines.lib.interrupts import StoppedBySignal
    from pipelines.lib.run_lock import WarehouseBusyError
    from pipelines.settings import MissingSecretError

    try:
        return run(), None
    except MissingSecretError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return False, 2
    except WarehouseBusyError as error:
        print(f"Gave up waiting for the warehouse: {error}", file=sys.stderr)
        return False, 1
    except StoppedBySignal as stopped:
        print(f"Stopped by {stopped.signal_name}.", file=sys.stderr)
        return False, stopped.exit_code


def _cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.generator import generate_landing_zone
    from pipelines.settings import load_settings

    if not os.environ.get("FUNNEL_PSEUDONYMISATION_SECRET"):
        # The demo's data is generated: the public development secret is the right one here.
        os.environ.setdefault("FUNNEL_ENV", "dev")
        print("FUNNEL_ENV=dev: the demo uses the public development secret.")
    settings = load_settings()
    start = settings.start_date
    end = start + dt.timedelta(days=DEMO_DAYS - 1)
    if not (settings.landing_dir / "_generator.json").exists():
        print(f"Generating a {DEMO_DAYS}-day landing zone in {settings.landing_dir} ...")
        generate_landing_zone(
            settings.landing_dir, start, DEMO_DAYS, DEMO_CONTACTS_PER_DAY, seed=DEMO_SEED
        )
    print(f"Running the pipeline for {start}..{end} ...")
    started = time.perf_counter()
    ok, code = _guarded(lambda: run_range(start, end))
    if code is not None:
        return code
    if not ok:
        return 1
    print(f"Pipeline succeeded in {time.perf_counter() - started:.1f} s\n")
    _print_summary(settings)
    return 0


def _print_summary(settings) -> None:
    serving = settings.serving_dir
    print("Outputs:")
    print(f"  warehouse     {settings.warehouse_path}")
    print(f"  serving marts {serving / 'marts.duckdb'}")
    print(f"  parquet       {serving / 'parquet'}/<mart>.parquet")
    print(f"  report        {serving / 'report.html'}")
    print(f"  data docs     {serving / 'data_docs' / 'index.html'}")
    # The figures are rows of marts.report_headline (dbt computes them): printed, not computed.
    from pipelines.defs.dbt.project import dbt_var
    from pipelines.lib.report import format_figure, headline_figures

    currency = dbt_var("reporting_currency")
    as_of, figures = headline_figures(serving / "marts.duckdb")
    print(f"\nHeadline numbers (as of {as_of or 'no landed day'}, marts.report_headline):")
    width = max((len(f.label) for f in figures), default=0)
    for figure in figures:
        print(f"  {figure.label:<{width}}  {format_figure(figure, currency)}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("generate", help="generate a landing zone (see generate --help)")
    run = commands.add_parser(
        "run",
        help="run the graph for a window of landing days",
        description="Extract the landing days [--start, --end] (or --yesterday), then build, "
        "check and publish everything downstream, in one Dagster run recorded in "
        "$DAGSTER_HOME (ephemeral without it).",
    )
    run.add_argument("--start", type=_date, help="first landing day, YYYY-MM-DD")
    run.add_argument("--end", type=_date, help="last landing day (default: --start)")
    run.add_argument(
        "--yesterday", action="store_true", help="the previous UTC day (what the schedule runs)"
    )
    run.add_argument(
        "--select",
        help="a Dagster asset selection, e.g. 'key:raw/orders+' or 'group:marts' "
        "(default: the whole graph)",
    )
    run.add_argument(
        "--full-checks",
        action="store_true",
        help="check whole tables, not only what this run changed (FUNNEL_CHECK_SCOPE=full)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress lines, only the outcome")
    run.set_defaults(handler=_cmd_run)
    demo = commands.add_parser("demo", help="generate 120 days and run everything")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # A range run plans each raw asset for every day of the range; with this flag Dagster
    # records one planned event per asset naming the days, not one per asset and day.
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
    if argv and argv[0] == "generate":
        from pipelines.generator.cli import main as generate_main

        return generate_main(argv[1:])
    args = _parser().parse_args(argv)
    return args.handler(args)
