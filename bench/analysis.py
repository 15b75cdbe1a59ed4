"""Each goal a run misses: what bounds it (from that run's breakdown), what would move it."""

from __future__ import annotations

from bench.report import Phase, Ratio


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f} s"


def goal_notes(phases: dict[str, Phase], ratios: list[Ratio], details: dict) -> list[str]:
    missed = {r.name: r for r in ratios if r.met is False}
    full_steps = details.get("full_build_steps") or {}
    incr_steps = details.get("incremental_steps") or {}
    load = details.get("definitions_load_seconds")
    notes: list[str] = []

    def before_run(phase_key: str, steps: dict) -> float | None:
        phase = phases.get(phase_key)
        if not phase or phase.wall_seconds is None or steps.get("run_seconds") is None:
            return None
        return phase.wall_seconds - steps["run_seconds"]

    def dbt_parts(steps: dict) -> tuple[float | None, float | None, str]:
        """(dbt step, dbt's own elapsed, how that time splits) of a run."""
        dbt = steps.get("dbt") or {}
        by_kind = dbt.get("seconds_by_kind") or {}
        split = (
            f"on {dbt.get('threads', '?')} dbt threads; summed node time: tests "
            f"{_s(by_kind.get('test'))}, models {_s(by_kind.get('model'))}"
        )
        return (steps.get("steps") or {}).get("dbt build"), dbt.get("elapsed"), split

    def others(steps: dict) -> str:
        """The steps beside extraction and dbt (GE checks, predictions, serving), timed."""
        rest = {
            group: seconds
            for group, seconds in (steps.get("steps") or {}).items()
            if group not in ("raw extraction", "dbt build")
        }
        return ", ".join(f"{group} {_s(seconds)}" for group, seconds in sorted(rest.items()))

    if "full / raw SQL" in missed and full_steps:
        step, elapsed, split = dbt_parts(full_steps)
        raw = full_steps["steps"].get("raw extraction")
        extract = phases.get("ingest")
        outside_dbt = step - elapsed if step is not None and elapsed is not None else None
        by_kind = (full_steps.get("dbt") or {}).get("seconds_by_kind") or {}
        model_time = by_kind.get("model", 0.0) + by_kind.get("seed", 0.0) if by_kind else None
        raw_sql_phase = phases.get("raw_sql")
        notes.append(
            "- **full / raw SQL** is bounded by work the lower bound does not do, most of it "
            "independent of the data volume: "
            f"{_s(before_run('full', full_steps))} before the run starts "
            f"({_s(load)} of it Python start-up and definitions load; the rest is run creation, "
            "where Dagster's SQLite/in-memory event log stores one planned event per asset and "
            "partition); the raw extraction steps "
            f"{_s(raw)} against {_s(extract.work_seconds if extract else None)} for the same "
            "extraction without Dagster (one materialization event per asset and partition, "
            f"{full_steps.get('materialization_events', 0):,} in all); the dbt step "
            f"{_s(step)}, of which dbt's own elapsed time {_s(elapsed)} ({split}) "
            f"and {_s(outside_dbt)} dbt start-up plus dagster-dbt's event handling; and steps "
            f"(c) has no counterpart for: {others(full_steps)}. What would "
            "move it: fewer events per range run (`DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_"
            "EVENTS=true` stores one planned event per asset for a single-run backfill; dbt "
            "assets without daily partitions, the window passed as config, would also store one "
            "materialization per model); a long-lived code server (`dagster dev`/daemon) pays "
            "the definitions load once, not per run; dbt tests limited to keys and the run "
            "window (a `where:` config on the vars). The models themselves: dbt's summed "
            f"model and seed time {_s(model_time)} against "
            f"{_s(raw_sql_phase.wall_seconds if raw_sql_phase else None)} for (c) (dbt adds "
            "introspection, a transaction and a rename per model)."
        )
    if "incremental / full" in missed and incr_steps:
        step, elapsed, split = dbt_parts(incr_steps)
        raw_sql = details.get("raw_sql") or {}
        kinds = raw_sql.get("materialized") or {}
        incremental = [f"`{n}`" for n, kind in sorted(kinds.items()) if kind == "incremental"]
        tables = sum(1 for kind in kinds.values() if kind == "table")
        heavy = [
            f"`{uid.split('.')[-1]}`"
            for uid, _ in raw_sql.get("slowest") or []
            if kinds.get(uid.split(".")[-1]) == "table"
        ][:2]
        notes.append(
            "- **incremental / full** is bounded by the fixed cost of any run, which one day "
            f"pays in full: {_s(before_run('incremental', incr_steps))} before the run starts "
            f"(definitions load {_s(load)}), then the dbt step {_s(step)}: dbt's own elapsed "
            f"time {_s(elapsed)} ({split}); the tests scan whole tables whatever the window"
            f"; other steps: {others(incr_steps)}; of the models only "
            f"{', '.join(incremental) or 'none'} are incremental while {tables} "
            "table-materialised models are rebuilt in full. At a small scale the full build "
            "is itself mostly fixed cost, so the ratio falls as the data grows; what would move "
            "it further: tests on the window only (`where:` on `_partition_date` between the "
            "vars), the heaviest full-rebuild tables "
            f"({', '.join(heavy) or 'see (c)'}) incremental, and a long-lived process for the "
            "daily run."
        )
    if "ingest / read_csv (rows/s)" in missed:
        notes.append(
            "- **ingest / read_csv** is bounded by what the raw assets add to one typed read: "
            "the all-text scan numbers each file's lines with window functions over every row "
            "(`row_number() over ()`, then `min() over (partition by file)`), which hold the "
            "scan in order; every row is typed with `try_cast` and checked by a first-breach "
            "CASE per column into a temporary table before the insert; each file holding a "
            "rejected row is read a second time in full (`read_text`) for its raw line; then a "
            "header check per file in Python, the delete of the window and, once erasure "
            "requests exist, the HMAC of every e-mail. With one small file per entity and day, "
            "per-file costs weigh most at small scales. What would move it: DuckDB's typed "
            "`read_csv` with `store_rejects` (line number and raw line of unparseable rows at "
            "reader speed), leaving only the contract checks (ids, allowed values) to one SQL "
            "pass inserted straight into the raw table, and erasure matching on ids "
            "(`raw.erased_keys`) before hashing e-mails."
        )
    if "validation / transform" in missed:
        validation = details.get("validation") or {}
        notes.append(
            "- **validation / transform** is bounded by Great Expectations' per-expectation "
            f"cost: {validation.get('expectations', '?')} expectations in "
            f"{validation.get('suites', '?')} suites, each several metric queries plus GE's "
            "own Python (and its import, several seconds, once per process). This cost is "
            "nearly flat in the number of rows while the transform grows with them, so the "
            "ratio falls with scale. What would move it: fewer round trips (expectations of one "
            "table batched in one query, as `bench/validation_bench.py` measures for plain "
            "SQL), suites on the marts and core facts only in daily runs, raw-layer suites "
            "replaced by the extract's own reconciliation."
        )
    if "peak RSS (GiB)" in missed:
        notes.append(
            "- **peak RSS** is bounded by DuckDB's memory limit (80% of RAM by default) in the "
            "dbt process: `memory_limit` in the dbt profile's settings would move it."
        )
    return notes
