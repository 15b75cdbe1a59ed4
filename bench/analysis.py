"""The notes of a section: where each run's time went, and what bounds each missed goal.

Every figure is one the bench measured in this run: the phases, the fixed costs each timed
alone in a fresh process (`Bench.floors`), the step durations read back from the runs' event
logs and dbt's own timings from its run_results.json.
"""

from __future__ import annotations

RUN_LABELS = {"full": "(a) full run", "day": "(b) one appended day"}


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} s"


def _pct(part: float | None, whole: float | None) -> str:
    if part is None or not whole:
        return "n/a"
    return f"{100 * part / whole:.0f}%"


def _floor(bench, key: str, kind: str = "wall") -> float | None:
    return ((bench.details.get("floors") or {}).get(key) or {}).get(kind)


def _run_parts(events: dict, wall: float | None) -> list[str]:
    """`part s (share of the run's wall)` for the phases of one pipeline run."""
    groups = events.get("step_groups") or {}
    parts = [
        ("before the run starts (Python, definitions, lock, run creation)",
         events.get("before_run_seconds")),
        ("of which up to the first stored event (Python, definitions, lock)",
         events.get("launch_seconds")),
        ("and storing the planned materialisation and check rows",
         events.get("planned_rows_seconds")),
        *sorted(groups.items(), key=lambda g: -g[1]),
        ("after the run (process exit)", events.get("after_run_seconds")),
    ]  # fmt: skip
    return [f"{name} {_s(s)} ({_pct(s, wall)})" for name, s in parts if s is not None]


def _dbt_split(events: dict) -> tuple[float | None, float | None, str]:
    """(dbt step, dbt's own elapsed, the summed node time by kind) of a run."""
    step = (events.get("step_groups") or {}).get("dbt build")
    dbt = events.get("dbt") or {}
    kinds = ", ".join(
        f"{dbt['nodes_by_kind'].get(k, 0)} {k}s {_s(s)}"
        for k, s in sorted((dbt.get("seconds_by_kind") or {}).items())
    )
    return step, dbt.get("elapsed"), kinds


def _materialisations_planned(events: dict) -> str:
    span = (events.get("planned_spans") or {}).get("ASSET_MATERIALIZATION_PLANNED")
    if not span:
        return ""
    return (
        f" and the {events['materialization_planned']:,} planned materialisations "
        f"{_s(span[1] - span[0])}"
    )


def where_time_went(bench) -> list[str]:
    lines = []
    floors = bench.details.get("floors") or {}
    if floors:
        lines.append(
            "- Fixed costs, each alone in a fresh process (wall / CPU): "
            + "; ".join(f"{f['label']} {_s(f['wall'])} / {_s(f['cpu'])}" for f in floors.values())
            + "."
        )
    for key, label in RUN_LABELS.items():
        events = bench.details.get(f"{key}_run") or {}
        phase = bench.phase(key)
        if not events or not phase:
            continue
        lines.append(
            f"- {label}: wall {_s(phase.wall_seconds)}, CPU {_s(phase.cpu_seconds)}; "
            + "; ".join(_run_parts(events, phase.wall_seconds))
            + "."
        )
        step, elapsed, kinds = _dbt_split(events)
        if step is not None and elapsed is not None:
            parse = _floor(bench, "dbt_parse")
            rest = step - elapsed - (parse or 0.0)
            lines.append(
                f"  - dbt step {_s(step)}: dbt's own elapsed {_s(elapsed)} (summed node time: "
                f"{kinds}); of the other {_s(step - elapsed)}, dbt's start-up and partial "
                f"parse, timed alone, is {_s(parse)}, which leaves {_s(rest)} "
                f"({_pct(rest, step)} of the step) to dagster-dbt's handling of dbt's events "
                "(one materialisation per model, one check evaluation per test) and the row "
                "counts."
            )
        raw_step = (events.get("step_groups") or {}).get("raw extraction")
        ingest = bench.phase("ingest")
        if key == "full" and raw_step is not None and ingest and ingest.work_seconds:
            sqlite = events.get("sqlite_rows") or {}
            materialised = (sqlite.get("bytes_by_type") or {}).get("ASSET_MATERIALIZATION")
            count = events["raw_partition_materializations"] + events["other_materializations"]
            lines.append(
                f"  - the raw extraction steps take {_s(raw_step)} against "
                f"{_s(ingest.work_seconds)} for the same extraction without Dagster ((d)): the "
                f"difference, {_s(raw_step - ingest.work_seconds)}, is Dagster's part of those "
                f"steps, which store {events['raw_partition_materializations']:,} "
                "materialisations, one per raw asset and landing day"
                + (
                    f" (all {count:,} materialisations of the run: "
                    f"{materialised / 2**20:,.1f} MiB of serialised events, "
                    f"{materialised / max(count, 1) / 1024:,.1f} KiB each on average)"
                    if materialised
                    else ""
                )
                + "."
            )
    full, day = bench.details.get("full_run") or {}, bench.details.get("day_run") or {}
    if full and day:
        lines.append(
            f"- Stored per run: the full run {full['stored_entries']:,} event-log entries, "
            f"{full['check_rows']:,} asset-check rows ({full['check_planned']:,} planned, "
            f"{full['check_evaluations']:,} evaluations); the one-day run "
            f"{day['stored_entries']:,} entries, {day['check_rows']:,} check rows. The check rows "
            "are one planned row and one evaluation per check and run, whatever the days; what "
            "grows with the days is one materialisation per raw asset and landing day "
            f"({full['raw_partition_materializations']:,} against "
            f"{day['raw_partition_materializations']:,}), and with "
            "`DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS` on, one planned materialisation "
            f"per asset ({full['materialization_planned']:,} and "
            f"{day['materialization_planned']:,})."
        )
        check_planned = "ASSET_CHECK_EVALUATION_PLANNED"
        spans = [
            (label, events, (events.get("planned_spans") or {}).get(check_planned))
            for label, events in (("full run", full), ("one-day run", day))
        ]
        timed = [
            f"{label} {_s(events.get('planned_rows_seconds'))} before RUN_START, of which the "
            f"{events['check_planned']:,} planned check rows {_s(span[1] - span[0])} "
            f"({1000 * (span[1] - span[0]) / max(events['check_planned'], 1):.0f} ms a row)"
            + _materialisations_planned(events)
            for label, events, span in spans
            if span and events.get("planned_rows_seconds") is not None
        ]
        if timed:
            lines.append(
                "- Storing the planned rows (SQLite, one write per row, before the run starts): "
                + "; ".join(timed)
                + ". The check rows are most of it; both counts are the same whatever the days."
            )
    raw = bench.details.get("raw_sql") or {}
    if raw.get("slowest"):
        named = ", ".join(f"{uid.split('.')[-1]} {s:.1f} s" for uid, s in raw["slowest"][:3])
        lines.append(f"- slowest relations in (c): {named}.")
    plain = bench.details.get("plain_dbt") or {}
    if plain:
        kinds = ", ".join(
            f"{plain['nodes_by_kind'].get(k, 0)} {k}s {_s(s)}"
            for k, s in sorted(plain["seconds_by_kind"].items())
        )
        lines.append(
            f"- (p) plain `dbt build`: dbt's own elapsed {_s(plain['elapsed'])}; summed node "
            f"time {kinds}."
        )
    validation = bench.details.get("validation") or {}
    if validation.get("slowest"):
        named = ", ".join(f"{t} {s:.1f} s" for t, s in validation["slowest"][:3])
        lines.append(f"- slowest suites in (v): {named}.")
    history = history_note(bench)
    if history:
        lines.append(history)
    return lines


def history_note(bench) -> str | None:
    """How the one-day run after the longest history differs from the shortest, by step."""
    if len(bench.history) < 2:
        return None
    first, last = bench.history[0], bench.history[-1]
    if not (first.get("day_events") and last.get("day_events") and first["day"] and last["day"]):
        return None
    a, b = first["day_events"], last["day_events"]
    ga, gb = a.get("step_groups") or {}, b.get("step_groups") or {}
    parts = [(g, gb.get(g, 0.0) - ga.get(g, 0.0)) for g in set(ga) | set(gb)] + [
        (
            "before the run starts",
            (b.get("before_run_seconds") or 0.0) - (a.get("before_run_seconds") or 0.0),
        )
    ]
    parts.sort(key=lambda d: -d[1])
    ratio_full = last["day"]["cpu"] / last["full"]["cpu"] if last.get("full") else None
    return (
        f"- History: the one-day run after {last['days']} days costs "
        f"{_s(last['day']['cpu'])} of CPU against {_s(first['day']['cpu'])} after "
        f"{first['days']} ({last['day']['cpu'] / first['day']['cpu']:.2f}; wall "
        f"{last['day']['wall'] / first['day']['wall']:.2f}); by part, wall after {last['days']} "
        f"minus after {first['days']}: "
        + ", ".join(f"{g} {d:+.1f} s" for g, d in parts)
        + f". Both store the same {b['check_rows']:,} check rows. After {last['days']} days "
        f"one day / full run is "
        + ("n/a" if ratio_full is None else f"{ratio_full:.2f}")
        + " on CPU."
    )


def goal_notes(bench, ratios) -> list[str]:
    missed = {r.name: r for r in ratios if r.met is False}
    notes: list[str] = []
    definitions = _floor(bench, "definitions")
    definitions_cpu = _floor(bench, "definitions", "cpu")
    dbt_parse, dbt_parse_cpu = _floor(bench, "dbt_parse"), _floor(bench, "dbt_parse", "cpu")
    ge_import, ge_import_cpu = _floor(bench, "ge_import"), _floor(bench, "ge_import", "cpu")
    python, python_cpu = _floor(bench, "python"), _floor(bench, "python", "cpu")

    def fixed(phase) -> str:
        """The fixed costs measured alone, as shares of a run's wall and CPU time."""
        if ge_import is None or python is None or definitions is None or dbt_parse is None:
            return "n/a"
        ge_only, ge_only_cpu = ge_import - python, ge_import_cpu - python_cpu
        wall = definitions + dbt_parse + ge_only
        cpu = definitions_cpu + dbt_parse_cpu + ge_only_cpu
        return (
            f"Python start-up with the definitions load {_s(definitions)} "
            f"({_pct(definitions, phase.wall_seconds)} of the wall, "
            f"{_pct(definitions_cpu, phase.cpu_seconds)} of the CPU), dbt's start-up and "
            f"partial parse {_s(dbt_parse)} ({_pct(dbt_parse, phase.wall_seconds)}, "
            f"{_pct(dbt_parse_cpu, phase.cpu_seconds)}), the GE import {_s(ge_only)} "
            f"({_pct(ge_only, phase.wall_seconds)}, {_pct(ge_only_cpu, phase.cpu_seconds)}): "
            f"together {_s(wall)} of wall, {_s(cpu)} of CPU "
            f"({_pct(wall, phase.wall_seconds)} / {_pct(cpu, phase.cpu_seconds)} of the run)"
        )

    day, full = bench.phase("day"), bench.phase("full")
    day_events = bench.details.get("day_run") or {}
    full_events = bench.details.get("full_run") or {}
    name = "one appended day / full run"
    if name in missed and day and full and day_events:
        step, elapsed, kinds = _dbt_split(day_events)
        notes.append(
            f"- **{name}** ({missed[name].value:.2f} on CPU) is bounded by what any run pays "
            f"whatever its rows: {fixed(day)}. Of the one-day run's {_s(day.wall_seconds)}: "
            + "; ".join(_run_parts(day_events, day.wall_seconds))
            + (
                f". Inside its dbt step ({_s(step)}) dbt's own work is {_s(elapsed)} ({kinds})."
                if step is not None and elapsed is not None
                else "."
            )
            + " The full run at this scale is itself small, so the same fixed costs are a "
            "large part of it too (see the history table for a longer history)."
        )
    name = "full graph / raw DuckDB SQL"
    raw = bench.phase("raw_sql")
    if name in missed and full and raw and full_events:
        step, elapsed, kinds = _dbt_split(full_events)
        notes.append(
            f"- **{name}** ({missed[name].value:.1f} on CPU; (c) takes {_s(raw.wall_seconds)} "
            f"wall, {_s(raw.cpu_seconds)} CPU) is bounded by work (c) does not do: {fixed(full)}; "
            "then of the full run's wall: "
            + "; ".join(_run_parts(full_events, full.wall_seconds))
            + (
                f". dbt's own elapsed time in its step is {_s(elapsed)} ({kinds}); the data "
                "tests, the row counts and the checks have no counterpart in (c)."
                if elapsed is not None
                else "."
            )
        )
    name = next((n for n in missed if n.startswith("one-day run,")), None)
    if name:
        notes.append(f"- **{name}** ({missed[name].value:.2f} on CPU): see History above.")
    name = "ingest / DuckDB typed read_csv (rows/s)"
    ingest, read_csv = bench.phase("ingest"), bench.phase("read_csv")
    if name in missed and ingest and read_csv and ingest.work_seconds and read_csv.work_seconds:
        gap = ingest.work_seconds - read_csv.work_seconds
        notes.append(
            f"- **{name}** ({missed[name].value:.2f} on CPU): the extraction takes "
            f"{_s(ingest.work_seconds)} against {_s(read_csv.work_seconds)} for one typed "
            f"`read_csv` per entity over the same files; the {_s(gap)} "
            f"({_pct(gap, ingest.work_seconds)} of the extraction) is what the raw layer's "
            "promises add (per-file header and UTF-8 checks, the contract rules, rejected rows "
            "with file, line and reason, the load log, erasure), one entity and file group at a "
            "time."
        )
    validation = bench.phase("validation")
    for key, events in (("full run", full_events), ("one-day run", day_events)):
        name = f"validation / transform, {key}"
        if name in missed and events:
            groups = events.get("step_groups") or {}
            checks = groups.get("GE checks", 0.0) + groups.get("raw load audit", 0.0)
            ge_only = ge_import - python if ge_import is not None and python is not None else None
            notes.append(
                f"- **{name}** ({missed[name].value:.2f}): the check steps take {_s(checks)} "
                f"against the dbt step's {_s(groups.get('dbt build'))}; GE's import alone is "
                f"{_s(ge_only)} ({_pct(ge_only, checks)} of the check steps), paid once per run "
                "whatever the rows, then each suite's metric queries."
            )
    name = "validation / transform, whole tables"
    if name in missed and validation:
        result = bench.details.get("validation") or {}
        notes.append(
            f"- **{name}** ({missed[name].value:.2f} on CPU): {result.get('expectations', '?')} "
            f"expectations in {result.get('suites', '?')} suites take "
            f"{_s(validation.work_cpu_seconds)} of CPU, GE's import "
            f"{_s(result.get('import_cpu_seconds'))} of it, against (p)'s "
            f"{_s(bench.phase('plain_dbt').cpu_seconds if bench.phase('plain_dbt') else None)}."
        )
    if "peak RSS (GiB)" in missed:
        notes.append(
            "- **peak RSS** is bounded by DuckDB's memory limit (80% of RAM by default) in the "
            "dbt process: `memory_limit` in the dbt profile's settings would move it."
        )
    return notes
