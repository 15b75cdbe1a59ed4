"""`make bench SCALE=small|default|large`: throughput and incremental cost at scale (issue 8).

    python -m bench [--scale small|default|large] [--work-dir DIR] [--instance ephemeral|sqlite]
                    [--regenerate] [--keep] [--no-write]

1. Generates the scale's landing zone in DIR/landing (default /tmp/funnel-bench/<scale>), or
   reuses it when it was generated with the same parameters; reports rows per entity.
2. Times, each phase in a fresh process (wall time, peak RSS, rows/s):
   a. the whole graph over all days on a fresh warehouse (`python -m pipelines run`);
   c. the same transformations as dbt's compiled SQL run directly in one DuckDB process, on a
      copy of that warehouse holding only the raw schema (the lower bound);
   -  all Great Expectations suites on the built warehouse (when the quality layer exists);
   d. ingest of every landing file through the raw assets' extraction, then through DuckDB's
      own typed `read_csv`, each into a fresh warehouse file;
   b. one appended day (`python -m pipelines generate --append-day`), run incrementally.
3. Prints the phases and the ratios against the goals of issue 8, and writes them, with the
   machine, into BENCHMARKS.md (the section of this scale; other scales' sections are kept).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import shlex
import shutil
import sys
from pathlib import Path

from bench import analysis, landing, raw_sql, report
from bench.measure import PhaseResult, run_phase
from bench.run_steps import run_breakdown

REPO_ROOT = Path(__file__).resolve().parents[1]
GIB = 2**30
GOAL_PEAK_RSS_BYTES = 3 * GIB
# For --instance sqlite: the runs are in-process, so queue and pool settings do not apply.
DAGSTER_YAML = "telemetry:\n  enabled: false\n"


class Bench:
    def __init__(
        self, scale: landing.Scale, work_dir: Path, instance: str, pipeline_env: dict[str, str]
    ) -> None:
        self.scale = scale
        self.work = work_dir
        self.instance = instance
        self.pipeline_env = pipeline_env
        self.python = sys.executable
        self.landing_dir = work_dir / "landing"
        self.warehouse = work_dir / "warehouse" / "warehouse.duckdb"
        self.serving = work_dir / "serving"
        self.dagster_home = work_dir / "dagster_home"
        self.logs = work_dir / "logs"
        self.results = work_dir / "results"
        self.phases: list[report.Phase] = []
        self.details: dict = {}

    # ------------------------------------------------------------------ plumbing

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "FUNNEL_LANDING_DIR": str(self.landing_dir),
            "FUNNEL_WAREHOUSE_PATH": str(self.warehouse),
            "FUNNEL_SERVING_DIR": str(self.serving),
            "FUNNEL_START_DATE": self.scale.start.isoformat(),
            "PYTHONPATH": str(REPO_ROOT),
            # Dagster's DEBUG events (step and run starts and ends with their durations) are
            # where the per-step breakdown is read from.
            "FUNNEL_LOG_LEVEL": "DEBUG",
        }
        # Without DAGSTER_HOME the CLI runs on an ephemeral (in-memory) instance, as cron/CI
        # users do; `make` exports the repo's, which the bench must neither use nor fill.
        env.pop("DAGSTER_HOME", None)
        if self.instance == "sqlite":
            env["DAGSTER_HOME"] = str(self.dagster_home)
        return env | self.pipeline_env

    def run(self, name: str, args: list[str]) -> PhaseResult:
        return run_phase(
            name, [self.python, *args], env=self.env(), cwd=REPO_ROOT, log_dir=self.logs
        )

    def result_json(self, name: str) -> dict | None:
        path = self.results / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def add(
        self, key, label, measured: PhaseResult | None, rows, work=None, note="", ok=None
    ) -> None:
        self.phases.append(
            report.Phase(
                key=key,
                label=label,
                wall_seconds=measured.wall_seconds if measured else None,
                peak_rss_bytes=measured.peak_rss_bytes if measured else None,
                rows=rows,
                work_seconds=work,
                ok=(measured is not None and measured.ok) if ok is None else ok,
                note=note,
            )
        )
        if measured and not measured.ok:
            print(f"--- last lines of {measured.log_path} ---\n{measured.log_tail()}\n---")

    def phase(self, key: str) -> report.Phase | None:
        return next((p for p in self.phases if p.key == key), None)

    def warm_dbt_manifest(self) -> None:
        """Parse the dbt project now if its manifest is stale, so no phase pays for it."""
        warmed = run_phase(
            "dbt_manifest",
            [self.python, "-c", "from pipelines.defs.dbt.project import dbt_project as p; p()"],
            env=self.env(),
            cwd=REPO_ROOT,
            log_dir=self.logs,
            echo=False,
        )
        print(f"  [dbt_manifest] up to date in {warmed.wall_seconds:.1f} s (not timed)")

    def time_definitions_load(self) -> None:
        """Python start-up plus loading the code location, alone: the floor of any run."""
        loaded = run_phase(
            "definitions_load",
            [self.python, "-c", "import pipelines.definitions"],
            env=self.env(),
            cwd=REPO_ROOT,
            log_dir=self.logs,
            echo=False,
        )
        self.details["definitions_load_seconds"] = loaded.wall_seconds
        print(f"  [definitions_load] {loaded.wall_seconds:.1f} s (not a phase; for the notes)")

    # ------------------------------------------------------------------ phases

    def landing_zone(self, regenerate: bool) -> dict[str, int]:
        scale, landing_dir = self.scale, self.landing_dir
        if not regenerate and landing.reusable(landing_dir, scale):
            removed = landing.trim_appended_days(landing_dir, scale)
            marker = landing.read_marker(landing_dir)
            print(
                f"Reusing the landing zone in {landing_dir}"
                + (f" (removed {removed} appended day(s))" if removed else "")
            )
            self.details["generate_seconds"] = marker["generate_seconds"]
            self.add(
                "generate",
                "generate landing zone",
                None,
                sum(marker["rows"].values()),
                note=f"reused (generated in {marker['generate_seconds']:,.0f} s)",
                ok=True,
            )
            return marker["rows"]
        print(f"Generating the landing zone in {landing_dir} ...")
        generated = self.run("generate", landing.generate_args(landing_dir, scale))
        if not generated.ok:
            raise SystemExit(f"generation failed: see {generated.log_path}")
        rows = landing.count_rows(landing_dir, scale.day_keys())
        landing.write_marker(landing_dir, scale, rows, generated.wall_seconds)
        self.add("generate", "generate landing zone", generated, sum(rows.values()))
        return rows

    def full_build(self, rows: int) -> None:
        for path in (self.warehouse.parent, self.serving, self.dagster_home):
            shutil.rmtree(path, ignore_errors=True)
        if self.instance == "sqlite":
            self.dagster_home.mkdir(parents=True)
            (self.dagster_home / "dagster.yaml").write_text(DAGSTER_YAML)
        self.warm_dbt_manifest()
        self.time_definitions_load()
        start, end = self.scale.start.isoformat(), self.scale.last_day.isoformat()
        measured = self.run(
            "a_full_build", ["-m", "pipelines", "run", "--start", start, "--end", end]
        )
        self.details["full_build_steps"] = self._breakdown(measured)
        self.add("full", f"(a) full build, {self.scale.days} days", measured, rows)

    def raw_sql_lower_bound(self, rows: int) -> None:
        if not self.warehouse.exists():
            self.add("raw_sql", "(c) compiled dbt SQL in one DuckDB", None, rows, note="no raw")
            return
        folder = self.work / "rawsql"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        database = folder / "rawsql.duckdb"
        dbt_vars = {
            "min_date": self.scale.start.isoformat(),
            "max_date": self.scale.last_day.isoformat(),
        }
        print("  [c_raw_sql] copying the raw schema and compiling the dbt project (not timed)")
        manifest = raw_sql.prepare(self.warehouse, database, folder, dbt_vars, self.env())
        result_path = self.results / "c_raw_sql.json"
        measured = self.run(
            "c_raw_sql",
            [
                "-m",
                "bench.raw_sql",
                "--database",
                str(database),
                "--manifest",
                str(manifest),
                "--result",
                str(result_path),
            ],
        )
        result = self.result_json("c_raw_sql") or {}
        self.details["raw_sql"] = result
        note = f"{result.get('relations', '?')} seeds and models, no tests"
        self.add("raw_sql", "(c) compiled dbt SQL in one DuckDB", measured, rows, note=note)

    def validation(self) -> None:
        has_layer = importlib.util.find_spec("pipelines.lib.validation") is not None and any(
            (REPO_ROOT / "expectations").glob("*.json")
        )
        if not has_layer or not self.warehouse.exists():
            return
        measured = self.run(
            "validation",
            [
                "-m",
                "bench.validate_phase",
                "--warehouse",
                str(self.warehouse),
                "--result",
                str(self.results / "validation.json"),
            ],
        )
        result = self.result_json("validation") or {}
        self.details["validation"] = result
        failed = result.get("failed_suites") or []
        note = f"{result.get('suites', '?')} suites, {result.get('expectations', '?')} expectations"
        if failed:
            note += f"; failing: {', '.join(failed)}"
        self.add(
            "validation",
            "all GE suites on the built warehouse",
            measured,
            result.get("rows"),
            work=result.get("seconds"),
            note=note,
        )

    def ingest(self, rows: int) -> None:
        folder = self.work / "ingest"
        folder.mkdir(parents=True, exist_ok=True)
        for how, key, label in (
            ("extract", "ingest", "(d) ingest via the raw assets' extraction"),
            ("read_csv", "read_csv", "(d) DuckDB typed read_csv, same files"),
        ):
            database = folder / f"{how}.duckdb"
            measured = self.run(
                f"d_{how}",
                [
                    "-m",
                    "bench.ingest_phase",
                    how,
                    "--landing",
                    str(self.landing_dir),
                    "--start",
                    self.scale.start.isoformat(),
                    "--days",
                    str(self.scale.days),
                    "--database",
                    str(database),
                    "--result",
                    str(self.results / f"d_{how}.json"),
                ],
            )
            result = self.result_json(f"d_{how}") or {}
            note = f"{result.get('rows_loaded', 0):,} rows loaded" if result else ""
            self.add(key, label, measured, rows, work=result.get("seconds"), note=note)

    def incremental(self) -> None:
        if not self.warehouse.exists():
            return
        day = self.scale.appended_day.isoformat()
        appended = self.run(
            "b_append_day",
            ["-m", "pipelines", "generate", "--append-day", "--landing-dir", str(self.landing_dir)],
        )
        day_rows = sum(landing.count_rows(self.landing_dir, [day]).values())
        self.add("append", f"generate --append-day ({day})", appended, day_rows)
        if not appended.ok:
            return
        self.warm_dbt_manifest()
        command = ["-m", "pipelines", "run", "--start", day, "--end", day]
        measured = self.run("b_incremental", command)
        self.details["incremental_steps"] = self._breakdown(measured)
        self.add("incremental", "(b) one appended day, incremental run", measured, day_rows)

    def _breakdown(self, measured: PhaseResult) -> dict | None:
        breakdown = run_breakdown(measured.log_path)
        if breakdown is None:
            print(f"  (no Dagster step events in {measured.log_path}: no breakdown)")
        return breakdown

    # ------------------------------------------------------------------ ratios and notes

    def ratios(self) -> list[report.Ratio]:
        def wall(key):
            p = self.phase(key)
            return p.wall_seconds if p and p.ok else None

        def work(key):
            p = self.phase(key)
            return p.rate_seconds if p and p.ok else None

        def div(a, b):
            return a / b if a is not None and b else None

        steps = self.details.get("full_build_steps") or {}
        transform = (steps.get("steps") or {}).get("dbt build")
        transform_source = "the dbt build step of (a)"
        if transform is None:
            transform, transform_source = wall("raw_sql"), "(c)"
        pipeline_phases = [
            p for p in self.phases if p.key in ("full", "incremental", "ingest", "validation")
        ]
        peaks = [p.peak_rss_bytes for p in pipeline_phases if p.peak_rss_bytes]
        return [
            report.Ratio(
                "full / raw SQL", div(wall("full"), wall("raw_sql")), "<= 1.25", "wall (a) / (c)"
            ),
            report.Ratio(
                "incremental / full",
                div(wall("incremental"), wall("full")),
                "<= 0.10",
                "wall (b) / (a)",
            ),
            report.Ratio(
                "ingest / read_csv (rows/s)",
                div(work("read_csv"), work("ingest")),
                ">= 0.90",
                "rows/s of (d) extraction / rows/s of read_csv, work inside the process",
            ),
            report.Ratio(
                "peak RSS (GiB)",
                max(peaks) / GIB if peaks else None,
                "<= 3",
                "largest of (a), (b), (d) extraction, validation",
            ),
            report.Ratio(
                "validation / transform",
                div(work("validation"), transform),
                "<= 0.10",
                f"validate_tables over all suites / {transform_source}",
            ),
        ]

    def diagnostics(self) -> list[str]:
        """Where (a)'s and (b)'s time went, and like-for-like lower bounds."""
        lines = []
        load = self.details.get("definitions_load_seconds")
        if load is not None:
            lines.append(
                f"- Python start-up and loading `pipelines.definitions` alone: {load:,.1f} s."
            )
        for key, name in (("full", "full_build_steps"), ("incremental", "incremental_steps")):
            phase, steps = self.phase(key), self.details.get(name)
            if not phase or not steps or phase.wall_seconds is None:
                continue
            run_seconds = steps.get("run_seconds")
            parts = ", ".join(f"{g} {s:,.1f} s" for g, s in sorted(steps["steps"].items()))
            line = f"- {phase.label}: wall {phase.wall_seconds:,.1f} s"
            if run_seconds is not None:
                line += (
                    f" = {phase.wall_seconds - run_seconds:,.1f} s before the run starts "
                    "(start-up, definitions, run creation: Dagster stores a planned event per "
                    f"asset and partition) + the Dagster run {run_seconds:,.1f} s"
                )
            events = steps.get("materialization_events")
            lines.append(
                line + f"; steps: {parts}; {events:,} materialization events (one per asset and "
                "partition)."
            )
            dbt = steps.get("dbt")
            if dbt:
                kinds = ", ".join(
                    f"{dbt['nodes_by_kind'][k]} {k}s {s:,.1f} s"
                    for k, s in sorted(dbt["seconds_by_kind"].items())
                )
                slowest = ", ".join(f"{_node_name(uid)} {s} s" for uid, s in dbt["slowest"][:3])
                lines.append(
                    f"  - inside the dbt step: dbt's own elapsed {dbt['elapsed']:,.1f} s on "
                    f"{dbt.get('threads', '?')} dbt threads; summed node time {kinds}; "
                    f"slowest: {slowest}."
                )
        raw = self.phase("raw_sql")
        full = self.phase("full")
        read_csv = self.phase("read_csv")
        full_steps = (self.details.get("full_build_steps") or {}).get("steps") or {}
        if raw and raw.ok and raw.wall_seconds:
            if "dbt build" in full_steps:
                ratio = full_steps["dbt build"] / raw.wall_seconds
                lines.append(
                    f"- dbt build step of (a) / (c): {ratio:.2f} (dbt with its tests versus the"
                    " same models as plain SQL)."
                )
            if full and full.ok and read_csv and read_csv.ok and read_csv.wall_seconds:
                bound = raw.wall_seconds + read_csv.wall_seconds
                lines.append(
                    f"- (a) / ((d) read_csv + (c)) = {full.wall_seconds / bound:.2f}: the whole "
                    "graph against plain DuckDB doing the ingest and the transformations."
                )
            slowest = (self.details.get("raw_sql") or {}).get("slowest") or []
            if slowest:
                named = ", ".join(f"{_node_name(uid)} {s:.1f} s" for uid, s in slowest[:3])
                lines.append(f"- slowest relations in (c): {named}.")
        validation = self.details.get("validation") or {}
        if validation.get("slowest"):
            named = ", ".join(f"{t} {s:.1f} s" for t, s in validation["slowest"][:3])
            lines.append(f"- slowest suites: {named}.")
        return lines


def _node_name(unique_id: str) -> str:
    """`model.funnel.fct_orders` -> `fct_orders` (tests keep their name, not their hash)."""
    parts = unique_id.split(".")
    return parts[2] if len(parts) > 2 else unique_id


def _command_markdown(argv: list[str]) -> str:
    """The exact command, as markdown: `make bench SCALE=x` when make ran it."""
    python = Path(sys.executable)
    try:
        python = python.relative_to(REPO_ROOT)
    except ValueError:
        pass
    plain = f"`{shlex.join([str(python), '-m', 'bench', *argv])}`"
    if os.environ.get("MAKELEVEL"):
        scale = next((a.split("=", 1)[1] for a in argv if a.startswith("--scale=")), None)
        if scale is None and "--scale" in argv:
            scale = argv[argv.index("--scale") + 1]
        return f"`make bench SCALE={scale}` (which runs {plain})"
    return plain


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scale", choices=sorted(landing.SCALES), default="default")
    parser.add_argument("--work-dir", type=Path, help="default: /tmp/funnel-bench/<scale>")
    parser.add_argument(
        "--instance",
        choices=("ephemeral", "sqlite"),
        default="ephemeral",
        help="Dagster instance of the runs: in memory (the CLI without DAGSTER_HOME, default) "
        "or a fresh SQLite DAGSTER_HOME in the work dir",
    )
    parser.add_argument(
        "--pipeline-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of every phase (to measure a setting), recorded in the notes",
    )
    parser.add_argument("--regenerate", action="store_true", help="never reuse a landing zone")
    parser.add_argument("--keep", action="store_true", help="keep the scratch DuckDB files")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = parser.parse_args(argv)

    scale = landing.fitted_to_today(landing.SCALES[args.scale], dt.date.today())
    work_dir = (args.work_dir or Path("/tmp/funnel-bench") / scale.name).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    machine = report.machine_description()
    title = (
        f"{scale.contacts_per_day:,} contacts/day x {scale.days:,} days "
        f"({scale.start} .. {scale.last_day}), seed {landing.SEED}"
    )
    print(f"Bench `{scale.name}`: {title}; work dir {work_dir}")
    print(
        f"Machine: {machine['nproc']} cores ({machine['cpu']}), {machine['memory']}, "
        f"load {machine['load_average_1m_at_start']}"
    )

    pipeline_env = dict(item.split("=", 1) for item in args.pipeline_env)
    bench = Bench(scale, work_dir, args.instance, pipeline_env)
    bench.results.mkdir(parents=True, exist_ok=True)
    entity_rows = bench.landing_zone(args.regenerate)
    rows = sum(entity_rows.values())
    for name, count in entity_rows.items():
        print(f"  {name:<18} {count:>12,} rows")
    print(f"  {'total':<18} {rows:>12,} rows")

    bench.full_build(rows)
    bench.raw_sql_lower_bound(rows)
    bench.validation()
    bench.ingest(rows)
    bench.incremental()
    if not args.keep:
        shutil.rmtree(work_dir / "rawsql", ignore_errors=True)
        shutil.rmtree(work_dir / "ingest", ignore_errors=True)

    ratios = bench.ratios()
    setup = (
        f"Dagster instance: {args.instance}"
        + (
            " (in memory: `python -m pipelines run` without DAGSTER_HOME)"
            if args.instance == "ephemeral"
            else " (SQLite, fresh DAGSTER_HOME)"
        )
        + "; runs log at DEBUG (`FUNNEL_LOG_LEVEL`) for their step timings"
        + (
            f"; extra environment: {', '.join(f'`{k}={v}`' for k, v in pipeline_env.items())}"
            if pipeline_env
            else ""
        )
        + "."
    )
    notes = [setup, "", *bench.diagnostics()]
    goal_notes = analysis.goal_notes({p.key: p for p in bench.phases}, ratios, bench.details)
    report.print_tables(bench.phases, ratios, notes + ([""] + goal_notes if goal_notes else []))
    summary = {
        "scale": scale.name,
        "machine": machine,
        "entity_rows": entity_rows,
        "phases": [vars(p) for p in bench.phases],
        "ratios": [{"name": r.name, "value": r.value, "goal": r.goal} for r in ratios],
        "details": bench.details,
    }
    (work_dir / "bench.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if not args.no_write:
        section = report.section_markdown(
            scale.name,
            title,
            _command_markdown(argv),
            machine,
            entity_rows,
            bench.phases,
            ratios,
            [
                "Where the time went:",
                "",
                *notes,
                "",
                *(
                    ["Goals not met: what bounds them, what would move them.", "", *goal_notes, ""]
                    if goal_notes
                    else []
                ),
            ],
        )
        report.write_section(scale.name, section)
        print(f"\nWrote the `{scale.name}` section of {report.BENCHMARKS_MD}")
    return 0 if all(p.ok for p in bench.phases) else 1


if __name__ == "__main__":
    sys.exit(main())
