"""Command line for cron/CI users and the demo, without the Dagster daemon.

python -m pipelines generate ...            the bundled landing-zone generator
python -m pipelines run --start D --end D   the whole graph for a date range, one run
python -m pipelines demo                    generate 120 days, run everything, summarise
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# A range run plans every asset for every day of the range; recording each plan as one event
# per partition is most of a long backfill's overhead (see BENCHMARKS.md). One event per
# asset, naming the partition subset, is what Dagster does with this flag.
os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
DEMO_DAYS = 120
DEMO_SEED = 42
DEMO_CONTACTS_PER_DAY = 40
LOG_LEVEL = os.environ.get("FUNNEL_LOG_LEVEL", "INFO").upper()


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


def execute_range(start: dt.date, end: dt.date):
    """Materialise the whole graph for [start, end] in one run; the Dagster run result."""
    from pipelines.definitions import defs

    job = defs.resolve_job_def("daily_funnel_job")
    tags = {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }
    with _instance() as instance:
        return job.execute_in_process(
            instance=instance,
            tags=tags,
            raise_on_error=False,
            # Step starts, rows loaded, dbt progress and failures; not every check's event.
            run_config={"loggers": {"console": {"config": {"log_level": LOG_LEVEL}}}},
        )


def run_range(start: dt.date, end: dt.date) -> bool:
    """Materialise the whole graph for [start, end] in one run; True when it succeeded."""
    from dagster import DagsterEventType

    result = execute_range(start, end)
    if not result.success:
        for event in result.all_events:
            if event.event_type == DagsterEventType.STEP_FAILURE:
                error = event.step_failure_data.error
                message = error.message.strip() if error else "unknown error"
                print(f"FAILED step {event.step_key}: {message}", file=sys.stderr)
    return result.success


def _cmd_run(args: argparse.Namespace) -> int:
    if args.end < args.start:
        print("--end is before --start", file=sys.stderr)
        return 2
    started = time.perf_counter()
    ok = run_range(args.start, args.end)
    elapsed = time.perf_counter() - started
    print(f"{'Succeeded' if ok else 'FAILED'}: {args.start}..{args.end} in {elapsed:.1f} s")
    return 0 if ok else 1


def _cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.generator import generate_landing_zone
    from pipelines.settings import load_settings

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
    if not run_range(start, end):
        return 1
    print(f"Pipeline succeeded in {time.perf_counter() - started:.1f} s\n")
    _print_summary(settings)
    return 0


def _print_summary(settings) -> None:
    import duckdb

    serving = settings.serving_dir
    print("Outputs:")
    print(f"  warehouse     {settings.warehouse_path}")
    print(f"  serving marts {serving / 'marts.duckdb'}")
    print(f"  parquet       {serving / 'parquet'}/<mart>.parquet")
    print(f"  report        {serving / 'report.html'}")
    print(f"  data docs     {serving / 'data_docs' / 'index.html'}")
    con = duckdb.connect(str(serving / "marts.duckdb"), read_only=True)
    try:
        customers, revenue = con.execute(
            "select count(*), sum(net_revenue) from marts.customers"
        ).fetchall()[0]
        blended = con.execute(
            "select sum(spend) / nullif(sum(new_customers), 0) from marts.cac_daily"
            " where channel = 'all' and attribution_model = 'linear'"
        ).fetchall()[0][0]
        funnel = con.execute(
            "select stage, sum(entered) from marts.funnel_daily f"
            " group by stage order by min(case stage when 'awareness' then 1"
            " when 'interest' then 2 when 'consideration' then 3 when 'intent' then 4"
            " when 'purchase' then 5 else 6 end)"
        ).fetchall()
    finally:
        con.close()
    print("\nHeadline numbers:")
    print(f"  customers        {customers:,}")
    print(f"  net revenue      {revenue or 0:,.2f} (reporting currency)")
    if blended is not None:
        print(f"  blended CAC      {blended:,.2f}")
    print("  funnel entries   " + ", ".join(f"{s} {n:,}" for s, n in funnel))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "generate":
        from pipelines.generator.cli import main as generate_main

        return generate_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m pipelines",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("generate", help="generate a landing zone (see generate --help)")
    run = commands.add_parser("run", help="run the whole graph for a date range")
    run.add_argument("--start", type=_date, required=True, help="first day, YYYY-MM-DD")
    run.add_argument("--end", type=_date, required=True, help="last day, YYYY-MM-DD")
    run.set_defaults(handler=_cmd_run)
    demo = commands.add_parser("demo", help="generate 120 days and run everything")
    demo.set_defaults(handler=_cmd_demo)
    args = parser.parse_args(argv)
    return args.handler(args)
