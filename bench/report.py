"""The bench's tables: printed, and written as one section per scale into BENCHMARKS.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
SCALE_ORDER = ("tiny", "small", "default", "large")
_HEADER = """# Benchmarks

Written by `make bench SCALE=small|default|large` (`bench/__main__.py`); each run replaces
the section of its scale. Every figure of a section comes from one run on one machine, and
the goals are stated as ratios of phases measured in that run, so they hold on a noisy
shared machine even when the absolute times do not. Each phase runs in a fresh process,
timed for wall time and CPU seconds (user + sys of its process tree, from `wait4`: the
figure a shared machine's load barely moves; goals are judged on it where it exists); peak
RSS is the larger of the biggest single process of the phase (`wait4`, as
`/usr/bin/time -v` reports it) and the sampled sum over the phase's processes (the Dagster
process and its `dbt` child together).
"""


@dataclass
class Phase:
    key: str
    label: str
    wall_seconds: float | None
    peak_rss_bytes: int | None
    rows: int | None
    cpu_seconds: float | None = None  # user + sys of the phase's process tree
    work_seconds: float | None = None  # the work alone, timed inside the process
    work_cpu_seconds: float | None = None  # its CPU time (time.process_time, all threads)
    ok: bool = True
    note: str = ""

    @property
    def rate_seconds(self) -> float | None:
        return self.work_seconds if self.work_seconds is not None else self.wall_seconds

    @property
    def rows_per_second(self) -> float | None:
        if self.rows is None or not self.rate_seconds:
            return None
        return self.rows / self.rate_seconds


@dataclass
class Ratio:
    name: str
    wall: float | None  # the ratio of wall times (or the plain value, with `plain`)
    cpu: float | None  # the ratio of CPU times
    goal: str | None  # e.g. "<= 2.0"
    definition: str
    plain: bool = False  # a value (peak RSS), not a ratio of times

    @property
    def value(self) -> float | None:
        """What the goal is judged on: CPU seconds where measured, else wall time."""
        return self.cpu if self.cpu is not None else self.wall

    @property
    def met(self) -> bool | None:
        if self.value is None or self.goal is None:
            return None
        op, bound = self.goal.split()
        return self.value <= float(bound) if op == "<=" else self.value >= float(bound)


def _fmt_seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def _fmt_mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 2**20:,.0f} MiB"


def _fmt_int(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def _met(ratio: Ratio) -> str:
    if ratio.goal is None:
        return ""
    return {True: "yes", False: "**no**", None: "n/a"}[ratio.met]


def _fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def machine_description() -> dict[str, str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = found.group(1).strip() if found else cpu
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        found = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.MULTILINE)
        memory = f"{int(found.group(1)) / 2**20:.1f} GiB" if found else memory
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    def version(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "nproc": str(cores),
        "memory": memory,
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": version("duckdb"),
        "dbt-core": version("dbt-core"),
        "dbt-duckdb": version("dbt-duckdb"),
        "dagster": version("dagster"),
        "dagster-dbt": version("dagster-dbt"),
        "great-expectations": version("great-expectations"),
        "load_average_1m_at_start": f"{load:.1f}",
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def phase_table(phases: list[Phase]) -> list[str]:
    lines = [
        "| phase | wall (s) | CPU (s) | peak RSS | rows | rows/s | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for p in phases:
        state = "" if p.ok else "**FAILED** "
        lines.append(
            f"| {p.label} | {_fmt_seconds(p.wall_seconds)} | {_fmt_seconds(p.cpu_seconds)} | "
            f"{_fmt_mib(p.peak_rss_bytes)} | {_fmt_int(p.rows)} | {_fmt_int(p.rows_per_second)} "
            f"| {state}{_work(p)}{p.note} |"
        )
    return lines


def _work(p: Phase) -> str:
    if p.work_seconds is None:
        return ""
    cpu = f", CPU {p.work_cpu_seconds:,.1f} s" if p.work_cpu_seconds is not None else ""
    return f"work {p.work_seconds:,.1f} s{cpu}; "


def ratio_table(ratios: list[Ratio]) -> list[str]:
    lines = [
        "| ratio | wall | CPU | goal | met | measured as |",
        "|---|---:|---:|---:|:-:|---|",
    ]
    for r in ratios:
        cpu = "" if r.plain else _fmt_ratio(r.cpu)
        lines.append(
            f"| {r.name} | {_fmt_ratio(r.wall)} | {cpu} | {r.goal or ''} | {_met(r)} | "
            f"{r.definition} |"
        )
    return lines


_EVENT_COLUMNS = (
    ("stored entries", "stored_entries"),
    ("Dagster events", "dagster_events"),
    ("materialisations: raw days", "raw_partition_materializations"),
    ("materialisations: other", "other_materializations"),
    ("materialisations planned", "materialization_planned"),
    ("check rows planned", "check_planned"),
    ("check evaluations", "check_evaluations"),
)


def events_table(runs: list[tuple[str, dict | None]]) -> list[str]:
    """Per run: what its persistent instance stored (see bench/run_events.py)."""
    header = " | ".join(name for name, _ in _EVENT_COLUMNS)
    lines = [
        f"| run | {header} | SQLite `event_logs` rows | their size (MiB) "
        "| `asset_check_executions` rows |",
        "|---|" + "---:|" * (len(_EVENT_COLUMNS) + 3),
    ]
    for label, events in runs:
        if not events:
            lines.append(f"| {label} |" + " n/a |" * (len(_EVENT_COLUMNS) + 3))
            continue
        sqlite = events.get("sqlite_rows") or {}
        size = sqlite.get("event_bytes")
        cells = [_fmt_int(events.get(key)) for _, key in _EVENT_COLUMNS]
        cells += [
            _fmt_int(sqlite.get("event_logs")),
            "n/a" if size is None else f"{size / 2**20:,.1f}",
            _fmt_int(sqlite.get("asset_check_executions")),
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def history_table(history: list[dict], contacts_per_day: int) -> list[str]:
    lines = [
        "| days of history | landing rows | full run wall (s) | full run CPU (s) "
        "| one-day run wall (s) | one-day run CPU (s) | one day / H1 (CPU) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    first_cpu = (history[0].get("day") or {}).get("cpu") if history else None
    for h in history:
        full, day = h.get("full") or {}, h.get("day") or {}
        ratio = (day["cpu"] / first_cpu) if day.get("cpu") and first_cpu else None
        reused = " (= (a), (b))" if h.get("reused") else ""
        lines.append(
            f"| {h['days']:,}{reused} | {_fmt_int(h.get('landing_rows'))} | "
            f"{_fmt_seconds(full.get('wall'))} | {_fmt_seconds(full.get('cpu'))} | "
            f"{_fmt_seconds(day.get('wall'))} | {_fmt_seconds(day.get('cpu'))} | "
            f"{_fmt_ratio(ratio)} |"
        )
    return lines


def print_tables(phases: list[Phase], ratios: list[Ratio], extra: list[str]) -> None:
    """The same tables as the file, laid out for a terminal."""
    print()
    print(
        f"{'phase':<44} {'wall s':>9} {'CPU s':>9} {'peak RSS':>11} {'rows':>12} {'rows/s':>11}"
        "  note"
    )
    for p in phases:
        state = "" if p.ok else "FAILED "
        print(
            f"{p.label:<44} {_fmt_seconds(p.wall_seconds):>9} {_fmt_seconds(p.cpu_seconds):>9} "
            f"{_fmt_mib(p.peak_rss_bytes):>11} {_fmt_int(p.rows):>12} "
            f"{_fmt_int(p.rows_per_second):>11}  {state}{_work(p)}{p.note}"
        )
    print()
    print(f"{'ratio':<48} {'wall':>8} {'CPU':>8} {'goal':>9}  met")
    for r in ratios:
        met = {True: "yes", False: "NO", None: ""}[r.met]
        cpu = "" if r.plain else _fmt_ratio(r.cpu)
        print(f"{r.name:<48} {_fmt_ratio(r.wall):>8} {cpu:>8} {r.goal or '':>9}  {met}")
    if extra:
        print()
        for line in extra:
            print(line)


def section_markdown(
    scale_name: str,
    title: str,
    command: str,
    machine: dict[str, str],
    entity_rows: dict[str, int],
    phases: list[Phase],
    ratios: list[Ratio],
    notes: list[str],
) -> str:
    m = machine
    lines = [
        f"<!-- bench:{scale_name}:start -->",
        f"## Scale `{scale_name}`: {title}",
        "",
        f"Command: {command}, run {m['date']}.",
        "",
        f"Machine: {m['nproc']} cores ({m['cpu']}), {m['memory']} RAM, {m['os']}; "
        f"1-minute load average {m['load_average_1m_at_start']} at the start (shared machine). "
        f"Python {m['python']}, DuckDB {m['duckdb']}, dbt-core {m['dbt-core']}, "
        f"dbt-duckdb {m['dbt-duckdb']}, dagster {m['dagster']}, dagster-dbt {m['dagster-dbt']}, "
        f"great-expectations {m['great-expectations']}.",
        "",
        "Landing zone (data lines per entity, messy rows included):",
        "",
        "| entity | rows |",
        "|---|---:|",
        *[f"| {name} | {rows:,} |" for name, rows in entity_rows.items()],
        f"| **total** | **{sum(entity_rows.values()):,}** |",
        "",
        *phase_table(phases),
        "",
        *ratio_table(ratios),
        "",
        *notes,
        f"<!-- bench:{scale_name}:end -->",
    ]
    return "\n".join(lines) + "\n"


def write_section(scale_name: str, section: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace (or add) the section of `scale_name`, keeping the other scales' sections."""
    text = path.read_text() if path.exists() else _HEADER
    pattern = re.compile(
        r"<!-- bench:(\w+):start -->.*?<!-- bench:\1:end -->\n?", re.DOTALL | re.MULTILINE
    )
    sections = {m.group(1): m.group(0) for m in pattern.finditer(text)}
    head = pattern.sub("", text).rstrip() + "\n"
    sections[scale_name] = section
    ordered = sorted(
        sections,
        key=lambda s: (SCALE_ORDER.index(s) if s in SCALE_ORDER else len(SCALE_ORDER), s),
    )
    path.write_text(head + "".join("\n" + sections[s] for s in ordered))
