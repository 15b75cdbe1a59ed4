"""`make bench SCALE=small|default|large`: what a run costs and how that grows (issue 12).

    python -m bench [--scale small|default|large] [--work-dir DIR] [--history-days H1,H2]
                    [--no-history] [--regenerate] [--keep] [--no-write]

Every phase runs in a fresh process, timed for wall and CPU seconds (user + sys of its
process tree, from `wait4`) and peak RSS:

1. the scale's landing zone in DIR/landing (reused when generated with the same parameters);
2. (a) the whole graph over all days (`python -m pipelines run --start --end`) on a fresh
   warehouse and a fresh persistent DAGSTER_HOME (SQLite, in DIR), whose event log is then
   read back: events and asset-check rows stored for the run, step durations;
3. (c) the lower bound: dbt's compiled SQL (and Python models) in one DuckDB, no tests;
4. (p) plain `dbt build` (models, seeds, data tests) on a copy of (a)'s raw schema;
5. (v) every Great Expectations suite, whole tables, on (a)'s warehouse;
6. (d) ingest of every landing file through the raw assets' extraction, then through
   DuckDB's typed `read_csv`;
7. (b) one appended day (`generate --append-day`), run on (a)'s warehouse and instance;
8. the history table: the same one-appended-day run after H1 and H2 days of history at the
   scale's contacts per day (a history equal to the scale's days reuses (a) and (b)).

Prints the figures and the ratios against the goals of issue 12 and writes them into the
scale's section of BENCHMARKS.md. Benchmarks print figures; they assert no timings.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import re
import shlex
import shutil
import sys
from pathlib import Path

from bench import analysis, landing, raw_sql, report
from bench.measure import PhaseResult, run_phase

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
GIB = 2**30
# The history table's days of history per scale (issue 12: 1 and 3 years at the default).
HISTORY_DAYS = {"tiny": (10, 20), "small": (120, 360), "default": (365, 1095), "large": (365, 1095)}
_RUN_ID = re.compile(r"run-([0-9a-f-]{36})\.log")


class Chain:
    """One landing zone with its warehouse, serving folder and persistent Dagster home: a
    full run over its days, then one appended day run on top of it."""

    def __init__(self, bench: Bench, scale: landing.Scale, folder: Path) -> None:
        self.bench = bench
        self.scale = scale
        self.folder = folder
        self.landing_dir = folder / "landing"
        self.warehouse = folder / "warehouse" / "warehouse.duckdb"
        self.serving = folder / "serving"
        self.dagster_home = folder / "dagster_home"
        self.runs: dict[str, dict] = {}  # "full" / "day" -> events and timings of the run
        self.measured: dict[str, PhaseResult] = {}

    def env(self) -> dict[str, str]:
        return self.bench.env() | {
            "FUNNEL_LANDING_DIR": str(self.landing_dir),
            "FUNNEL_WAREHOUSE_PATH": str(self.warehouse),
            "FUNNEL_SERVING_DIR": str(self.serving),
            "FUNNEL_START_DATE": self.scale.start.isoformat(),
            "DAGSTER_HOME": str(self.dagster_home),
        }

    def run(self, name: str, args: list[str], **kw) -> PhaseResult:
        return self.bench.run(name, args, env=self.env(), **kw)

    def landing_zone(self, regenerate: bool) -> tuple[dict[str, int], PhaseResult | None, float]:
        """(rows per entity, the generation phase or None when reused, its seconds)."""
        scale, landing_dir = self.scale, self.landing_dir
        if not regenerate and landing.reusable(landing_dir, scale):
            removed = landing.trim_appended_days(landing_dir, scale)
            marker = landing.read_marker(landing_dir)
            print(
                f"Reusing the landing zone in {landing_dir}"
                + (f" (removed {removed} appended day(s))" if removed else "")
            )
            return marker["rows"], None, marker["generate_seconds"]
        shutil.rmtree(landing_dir, ignore_errors=True)
        print(f"Generating the landing zone in {landing_dir} ...")
        generated = self.run(f"generate_{scale.name}", landing.generate_args(landing_dir, scale))
        if not generated.ok:
            raise SystemExit(f"generation failed: see {generated.log_path}")
        rows = landing.count_rows(landing_dir, scale.day_keys())
        landing.write_marker(landing_dir, scale, rows, generated.wall_seconds)
        return rows, generated, generated.wall_seconds

    def pipeline_run(self, key: str, name: str, start: dt.date, end: dt.date) -> PhaseResult:
        command = ["-m", "pipelines", "run", "--start", start.isoformat()]
        measured = self.run(name, [*command, "--end", end.isoformat(), "--quiet"])
        self.measured[key] = measured
        found = _RUN_ID.search(measured.log_path.read_text(errors="replace"))
        if found is None:
            print(f"  (no run id in {measured.log_path}: no event counts)")
            return measured
        result_path = self.bench.results / f"{name}_events.json"
        counted = self.run(
            f"{name}_events",
            [
                "-m",
                "bench.run_events",
                "--dagster-home",
                str(self.dagster_home),
                "--run-id",
                found.group(1),
                "--result",
                str(result_path),
            ],
            echo=False,
        )
        if counted.ok:
            events = json.loads(result_path.read_text())
            events["before_run_seconds"] = _since(events.get("run_start_epoch"), measured)
            events["run_creation_seconds"] = _between(
                events.get("first_event_epoch"), events.get("run_start_epoch")
            )
            events["planned_rows_seconds"] = _between(
                events.get("first_event_epoch"), events.get("planned_end_epoch")
            )
            events["launch_seconds"] = _since(events.get("first_event_epoch"), measured)
            events["after_run_seconds"] = _between(
                events.get("run_end_epoch"), measured.ended_epoch
            )
            self.runs[key] = events
        else:
            print(f"  (counting the events failed: {counted.log_path})")
        return measured

    def full_run(self) -> PhaseResult:
        for path in (self.warehouse.parent, self.serving, self.dagster_home):
            shutil.rmtree(path, ignore_errors=True)
        self.bench.warm_dbt_manifest(self.env())
        return self.pipeline_run(
            "full", f"full_{self.scale.name}", self.scale.start, self.scale.last_day
        )

    def appended_day_run(self) -> tuple[PhaseResult | None, PhaseResult | None, int]:
        """(append phase, one-day run phase, landing rows of the day)."""
        day = self.scale.appended_day
        appended = self.run(
            f"append_{self.scale.name}",
            ["-m", "pipelines", "generate", "--append-day", "--landing-dir", str(self.landing_dir)],
        )
        day_rows = sum(landing.count_rows(self.landing_dir, [day.isoformat()]).values())
        if not appended.ok:
            return appended, None, day_rows
        self.bench.warm_dbt_manifest(self.env())
        return appended, self.pipeline_run("day", f"day_{self.scale.name}", day, day), day_rows


def _since(epoch: float | None, measured: PhaseResult) -> float | None:
    return None if epoch is None else epoch - measured.started_epoch


def _between(first: float | None, second: float | None) -> float | None:
    return None if first is None or second is None else second - first


class Bench:
    def __init__(self, scale: landing.Scale, work_dir: Path) -> None:
        self.scale = scale
        self.work = work_dir
        self.python = sys.executable
        self.logs = work_dir / "logs"
        self.results = work_dir / "results"
        self.phases: list[report.Phase] = []
        self.details: dict = {}
        self.main = Chain(self, scale, work_dir)
        self.history: list[dict] = []

    # ------------------------------------------------------------------ plumbing

    def env(self) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        # The bench runs on generated data: the development secret is fine unless one is set.
        if not env.get("FUNNEL_PSEUDONYMISATION_SECRET"):
            env.setdefault("FUNNEL_ENV", "dev")
        # As `make` and the CLI set it: one planned event per asset for a range run.
        env.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
        env.pop("FUNNEL_CHECK_SCOPE", None)  # the runs' default: checks on the slice
        return env

    def run(self, name: str, args: list[str], env=None, echo: bool = True) -> PhaseResult:
        return run_phase(
            name,
            [self.python, *args],
            env=env or self.main.env(),
            cwd=REPO_ROOT,
            log_dir=self.logs,
            echo=echo,
        )

    def result_json(self, name: str) -> dict:
        path = self.results / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def add(self, key, label, measured: PhaseResult | None, rows, **kw) -> report.Phase:
        phase = report.Phase(
            key=key,
            label=label,
            wall_seconds=measured.wall_seconds if measured else None,
            cpu_seconds=measured.cpu_seconds if measured else None,
            peak_rss_bytes=measured.peak_rss_bytes if measured else None,
            rows=rows,
            ok=kw.pop("ok", measured is not None and measured.ok),
            **kw,
        )
        self.phases.append(phase)
        if measured and not measured.ok:
            print(f"--- last lines of {measured.log_path} ---\n{measured.log_tail()}\n---")
        return phase

    def phase(self, key: str) -> report.Phase | None:
        return next((p for p in self.phases if p.key == key and p.ok), None)

    def warm_dbt_manifest(self, env: dict[str, str]) -> None:
        """Parse the dbt project now if its manifest is stale, so no phase pays for it."""
        code = "from pipelines.defs.dbt.project import dbt_project as p; p()"
        warmed = self.run("dbt_manifest", ["-c", code], env=env, echo=False)
        print(f"  [dbt_manifest] up to date in {warmed.wall_seconds:.1f} s (not timed)")

    def floors(self) -> None:
        """Fixed costs any run pays, each alone in a fresh process (for the notes)."""
        for key, label, args in (
            ("python", "Python start-up", ["-c", "pass"]),
            ("definitions", "Python start-up + `import pipelines.definitions`", None),
            ("ge_import", "Python start-up + `import great_expectations`", None),
        ):
            if args is None:
                module = "pipelines.definitions" if key == "definitions" else "great_expectations"
                args = ["-c", f"import {module}"]
            measured = self.run(f"floor_{key}", args, echo=False)
            self.details.setdefault("floors", {})[key] = {
                "label": label,
                "wall": measured.wall_seconds,
                "cpu": measured.cpu_seconds,
            }
            print(f"  [floor {key}] {_wall_cpu(measured)}")
        # dbt's start-up and (partial) parse: `dbt parse` with a copy of the project's state.
        folder = self.work / "dbt_floor"
        _fresh_dbt_target(folder)
        measured = run_phase(
            "floor_dbt_parse",
            [*_dbt_command("parse", folder)],
            env=self.main.env() | {"FUNNEL_WAREHOUSE_PATH": str(folder / "unused.duckdb")},
            cwd=DBT_PROJECT_DIR,
            log_dir=self.logs,
            echo=False,
        )
        self.details["floors"]["dbt_parse"] = {
            "label": "`dbt parse` (start-up and partial parse)",
            "wall": measured.wall_seconds,
            "cpu": measured.cpu_seconds,
        }
        print(f"  [floor dbt_parse] {_wall_cpu(measured)}")

    # ------------------------------------------------------------------ phases

    def landing_zone(self, regenerate: bool) -> dict[str, int]:
        rows, generated, seconds = self.main.landing_zone(regenerate)
        note = "" if generated else f"reused (generated in {seconds:,.0f} s)"
        self.add(
            "generate", "generate landing zone", generated, sum(rows.values()), note=note, ok=True
        )
        return rows

    def full_build(self, rows: int) -> None:
        measured = self.main.full_run()
        events = self.main.runs.get("full")
        self.details["full_run"] = events
        self.add("full", f"(a) full run, {self.scale.days} days", measured, rows)

    def raw_sql_lower_bound(self, rows: int) -> None:
        folder = self.work / "rawsql"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        database = folder / "rawsql.duckdb"
        print("  [c_raw_sql] copying the raw schema and compiling the dbt project (not timed)")
        manifest = raw_sql.prepare(self.main.warehouse, database, folder, self.main.env())
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
                str(self.results / "c_raw_sql.json"),
            ],
        )
        result = self.result_json("c_raw_sql")
        self.details["raw_sql"] = result
        note = (
            f"{result.get('relations', '?')} seeds and models "
            f"({result.get('python_models', 0)} Python), no tests"
        )
        self.add("raw_sql", "(c) compiled dbt SQL in one DuckDB", measured, rows, note=note)

    def plain_dbt(self, rows: int) -> None:
        folder = self.work / "plain_dbt"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        database = folder / "warehouse.duckdb"
        print("  [p_plain_dbt] copying the raw schema (not timed)")
        raw_sql.copy_raw_schema(self.main.warehouse, database)
        _fresh_dbt_target(folder)
        measured = run_phase(
            "p_plain_dbt",
            _dbt_command("build", folder, "--exclude", "test_type:unit"),
            env=self.main.env() | {"FUNNEL_WAREHOUSE_PATH": str(database)},
            cwd=DBT_PROJECT_DIR,
            log_dir=self.logs,
        )
        results_path = folder / "target" / "run_results.json"
        if results_path.exists():
            from bench.run_events import summarise_run_results

            self.details["plain_dbt"] = summarise_run_results(json.loads(results_path.read_text()))
        counts = (self.details.get("plain_dbt") or {}).get("nodes_by_kind") or {}
        note = ", ".join(f"{n} {k}s" for k, n in sorted(counts.items()))
        self.add("plain_dbt", "(p) plain `dbt build` on the raw schema", measured, rows, note=note)

    def validation(self) -> None:
        measured = self.run(
            "v_validation",
            [
                "-m",
                "bench.validate_phase",
                "--warehouse",
                str(self.main.warehouse),
                "--result",
                str(self.results / "validation.json"),
            ],
        )
        result = self.result_json("validation")
        self.details["validation"] = result
        note = (
            f"{result.get('suites', '?')} suites, {result.get('expectations', '?')} "
            f"expectations, whole tables; GE import {result.get('import_seconds', 0):,.1f} s"
        )
        if result.get("failed_suites"):
            note += f"; failing: {', '.join(result['failed_suites'])}"
        self.add(
            "validation",
            "(v) all GE suites on the built warehouse",
            measured,
            result.get("rows"),
            work_seconds=result.get("seconds"),
            work_cpu_seconds=result.get("cpu_seconds"),
            note=note,
        )

    def ingest(self, rows: int) -> None:
        folder = self.work / "ingest"
        folder.mkdir(parents=True, exist_ok=True)
        for how, key, label in (
            ("extract", "ingest", "(d) ingest via the raw assets' extraction"),
            ("read_csv", "read_csv", "(d) DuckDB typed read_csv, same files"),
        ):
            measured = self.run(
                f"d_{how}",
                [
                    "-m",
                    "bench.ingest_phase",
                    how,
                    "--landing",
                    str(self.main.landing_dir),
                    "--start",
                    self.scale.start.isoformat(),
                    "--days",
                    str(self.scale.days),
                    "--database",
                    str(folder / f"{how}.duckdb"),
                    "--result",
                    str(self.results / f"d_{how}.json"),
                ],
            )
            result = self.result_json(f"d_{how}")
            note = f"{result.get('rows_loaded', 0):,} rows loaded" if result else ""
            self.add(
                key,
                label,
                measured,
                rows,
                work_seconds=result.get("seconds"),
                work_cpu_seconds=result.get("cpu_seconds"),
                note=note,
            )

    def incremental(self) -> None:
        appended, measured, day_rows = self.main.appended_day_run()
        day = self.scale.appended_day.isoformat()
        self.add("append", f"generate --append-day ({day})", appended, day_rows)
        if measured is None:
            return
        self.details["day_run"] = self.main.runs.get("day")
        self.add("day", "(b) one appended day on top of (a)", measured, day_rows)

    def history_table(self, history_days: list[int], regenerate: bool) -> None:
        for days in history_days:
            if days == self.scale.days:
                chain, reused = self.main, True
            else:
                scale = dataclasses.replace(
                    self.scale, name=f"{self.scale.name}-history-{days}", days=days
                )
                scale = landing.fitted_to_today(scale, dt.date.today())
                chain, reused = Chain(self, scale, self.work / f"history-{days}"), False
                print(f"History of {days} days ({scale.start} .. {scale.last_day}):")
                rows, _, _ = chain.landing_zone(regenerate)
                chain.full_run()
                chain.appended_day_run()
                chain.history_rows = sum(rows.values())
            full, day = chain.measured.get("full"), chain.measured.get("day")
            self.history.append(
                {
                    "days": days,
                    "start": chain.scale.start.isoformat(),
                    "reused": reused,
                    "landing_rows": getattr(chain, "history_rows", None)
                    or sum(landing.read_marker(chain.landing_dir)["rows"].values()),
                    "full": _measured_dict(full),
                    "day": _measured_dict(day),
                    "full_events": chain.runs.get("full"),
                    "day_events": chain.runs.get("day"),
                }
            )

    # ------------------------------------------------------------------ ratios

    def ratios(self) -> list[report.Ratio]:
        def div(a, b):
            return a / b if a is not None and b else None

        def both(key_a, key_b, work=False):
            a, b = self.phase(key_a), self.phase(key_b)
            if not a or not b:
                return None, None
            if work:
                return div(b.work_seconds, a.work_seconds), div(
                    b.work_cpu_seconds, a.work_cpu_seconds
                )
            return div(a.wall_seconds, b.wall_seconds), div(a.cpu_seconds, b.cpu_seconds)

        full_events = self.details.get("full_run") or {}
        day_events = self.details.get("day_run") or {}

        def checks_over_dbt(events):
            groups = events.get("step_groups") or {}
            checks = sum(s for g, s in groups.items() if g in ("GE checks", "raw load audit"))
            return div(checks or None, groups.get("dbt build"))

        validation_cpu = div(
            (self.phase("validation").work_cpu_seconds if self.phase("validation") else None),
            (self.phase("plain_dbt").cpu_seconds if self.phase("plain_dbt") else None),
        )
        peaks = [
            p.peak_rss_bytes
            for p in self.phases
            if p.key in ("full", "day", "ingest", "validation", "plain_dbt") and p.peak_rss_bytes
        ]
        history_wall = history_cpu = None
        if len(self.history) >= 2:
            first, last = self.history[0]["day"], self.history[-1]["day"]
            if first and last:
                history_wall = div(last["wall"], first["wall"])
                history_cpu = div(last["cpu"], first["cpu"])
        h = [str(r["days"]) for r in self.history]
        return [
            report.Ratio("full graph / raw DuckDB SQL", *both("full", "raw_sql"), "<= 2.0",
                         "(a) / (c); aim 1.25"),
            report.Ratio("full graph / plain `dbt build`", *both("full", "plain_dbt"), None,
                         "(a) / (p); no goal set"),
            report.Ratio("one appended day / full run", *both("day", "full"), "<= 0.10",
                         "(b) / (a); aim 0.05"),
            report.Ratio(
                f"one-day run, {h[-1] if h else '?'} / {h[0] if h else '?'} days of history",
                history_wall, history_cpu, "<= 1.3", "history table below",
            ),
            report.Ratio("ingest / DuckDB typed read_csv (rows/s)",
                         *both("ingest", "read_csv", work=True),
                         ">= 0.9", "rows/s of the work inside (d)'s processes"),
            report.Ratio("validation / transform, full run", checks_over_dbt(full_events), None,
                         "<= 0.10",
                         "check steps (raw audit + GE suites) / dbt step of (a), step wall time"),
            report.Ratio("validation / transform, one-day run", checks_over_dbt(day_events), None,
                         "<= 0.10", "the same for (b): checks on the slice"),
            report.Ratio("validation / transform, whole tables", None, validation_cpu,
                         "<= 0.10", "CPU of (v)'s suites (GE import included) / CPU of (p)"),
            report.Ratio("peak RSS (GiB)", max(peaks) / GIB if peaks else None, None, "<= 3",
                         "largest of (a), (b), (p), (d) extraction, (v)", plain=True),
        ]  # fmt: skip


def _wall_cpu(measured: PhaseResult) -> str:
    return f"wall {measured.wall_seconds:.1f} s, CPU {measured.cpu_seconds:.1f} s"


def _measured_dict(measured: PhaseResult | None) -> dict | None:
    if measured is None or not measured.ok:
        return None
    return {
        "wall": measured.wall_seconds,
        "cpu": measured.cpu_seconds,
        "peak_rss_bytes": measured.peak_rss_bytes,
    }


def _dbt_command(verb: str, folder: Path, *extra: str) -> list[str]:
    from pipelines.defs.dbt.project import dbt_executable

    return [
        dbt_executable(),
        verb,
        *extra,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(folder / "target"),
        "--log-path",
        str(folder / "logs"),
        "--quiet",
    ]


def _fresh_dbt_target(folder: Path) -> None:
    """A target folder of its own holding the project's partial-parse state, as a pipeline run
    has it (dbt then re-parses only what changed, as in the run)."""
    target = folder / "target"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in ("partial_parse.msgpack", "manifest.json", "semantic_manifest.json"):
        source = DBT_PROJECT_DIR / "target" / name
        if source.exists():
            shutil.copy2(source, target / name)


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
        "--history-days",
        help="days of history of the history table, comma-separated (default: "
        + "; ".join(f"{s}: {','.join(map(str, h))}" for s, h in HISTORY_DAYS.items())
        + ")",
    )
    parser.add_argument("--no-history", action="store_true", help="skip the history table")
    parser.add_argument("--regenerate", action="store_true", help="never reuse a landing zone")
    parser.add_argument("--keep", action="store_true", help="keep the scratch DuckDB files")
    parser.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="measure nothing: rewrite the section from the work dir's bench.json (the last "
        "run's figures), re-reading what its runs stored from their Dagster homes",
    )
    args = parser.parse_args(argv)

    scale = landing.fitted_to_today(landing.SCALES[args.scale], dt.date.today())
    history_days = [] if args.no_history else list(HISTORY_DAYS.get(scale.name, ()))
    if args.history_days and not args.no_history:
        history_days = [int(d) for d in args.history_days.split(",") if d.strip()]
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

    bench = Bench(scale, work_dir)
    if args.render_only:
        return _render_only(bench, [a for a in argv if a != "--render-only"], args.no_write)
    bench.results.mkdir(parents=True, exist_ok=True)
    entity_rows = bench.landing_zone(args.regenerate)
    rows = sum(entity_rows.values())
    for name, count in entity_rows.items():
        print(f"  {name:<18} {count:>12,} rows")
    print(f"  {'total':<18} {rows:>12,} rows")

    bench.floors()
    bench.full_build(rows)
    if bench.main.warehouse.exists():
        bench.raw_sql_lower_bound(rows)
        bench.plain_dbt(rows)
        bench.validation()
    bench.ingest(rows)
    if bench.main.warehouse.exists():
        bench.incremental()
    bench.history_table(history_days, args.regenerate)
    if not args.keep:
        for scratch in ("rawsql", "plain_dbt", "ingest", "dbt_floor"):
            shutil.rmtree(work_dir / scratch, ignore_errors=True)

    summary = {
        "scale": scale.name,
        "command": _command_markdown(argv),
        "title": title,
        "machine": machine,
        "entity_rows": entity_rows,
        "phases": [vars(p) for p in bench.phases],
        "details": bench.details,
        "history": bench.history,
    }
    return _render(bench, summary, write=not args.no_write)


def _render_only(bench: Bench, argv: list[str], no_write: bool) -> int:
    """The section again from the last run's bench.json (nothing is measured)."""
    path = bench.work / "bench.json"
    summary = json.loads(path.read_text())
    bench.phases = [report.Phase(**p) for p in summary["phases"]]
    bench.details = summary["details"]
    bench.history = summary["history"]
    from bench.run_events import sqlite_rows

    events = [bench.details.get("full_run"), bench.details.get("day_run")]
    events += [h.get(key) for h in bench.history for key in ("full_events", "day_events")]
    for found in filter(None, events):
        home = found.get("dagster_home")
        homes = [Path(home)] if home else [bench.work / "dagster_home"]
        homes += [p.parent for p in bench.work.glob("history-*/dagster_home/dagster.yaml")]
        for candidate in homes:
            if (candidate / "history" / "runs" / f"{found['run_id']}.db").exists():
                found["sqlite_rows"] = sqlite_rows(candidate, found["run_id"])
                found["dagster_home"] = str(candidate)
                break
    summary.setdefault("command", _command_markdown(argv))
    summary.setdefault(
        "title",
        f"{bench.scale.contacts_per_day:,} contacts/day x {bench.scale.days:,} days "
        f"({bench.scale.start} .. {bench.scale.last_day}), seed {landing.SEED}",
    )
    summary["rendered_again"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return _render(bench, summary, write=not no_write)


def _render(bench: Bench, summary: dict, write: bool) -> int:
    scale, work_dir = bench.scale, bench.work
    ratios = bench.ratios()
    events_table = report.events_table(
        [
            ("(a) full run", bench.details.get("full_run")),
            ("(b) one appended day", bench.details.get("day_run")),
            *[
                (f"{label} after {h['days']} days{' (= (a)/(b))' if h['reused'] else ''}", h[key])
                for h in bench.history
                for label, key in (("full run", "full_events"), ("one day", "day_events"))
            ],
        ]
    )
    history_table = report.history_table(bench.history, scale.contacts_per_day)
    notes = analysis.where_time_went(bench)
    goal_notes = analysis.goal_notes(bench, ratios)
    blocks = [
        "Dagster events and asset-check rows stored per run (read back from the run's "
        "persistent SQLite instance):",
        "",
        *events_table,
        "",
        f"History: the same one-appended-day run after H days of history at "
        f"{scale.contacts_per_day:,} contacts/day (a full run over the history first, on a "
        "fresh warehouse and instance):",
        "",
        *history_table,
        "",
        "Where the time went:",
        "",
        *notes,
        "",
        *(["Goals not met: what bounds them.", "", *goal_notes, ""] if goal_notes else []),
    ]
    report.print_tables(bench.phases, ratios, blocks)
    summary["ratios"] = [vars(r) for r in ratios]
    (work_dir / "bench.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    if write:
        command = summary["command"]
        if summary.get("rendered_again"):
            command += (
                " (tables and notes rendered again from that run's bench.json with "
                f"`--render-only`, {summary['rendered_again']})"
            )
        section = report.section_markdown(
            scale.name,
            summary["title"],
            command,
            summary["machine"],
            summary["entity_rows"],
            bench.phases,
            ratios,
            blocks,
        )
        report.write_section(scale.name, section)
        print(f"\nWrote the `{scale.name}` section of {report.BENCHMARKS_MD}")
    return 0 if all(p.ok for p in bench.phases) else 1


if __name__ == "__main__":
    sys.exit(main())
