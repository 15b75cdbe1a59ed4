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
SCALE_ORDER = ("small", "default", "large")
_HEADER = """# Benchmarks

Written by `make bench SCALE=small|default|large` (`bench/__main__.py`); each run replaces
the section of its scale. Every figure of a section comes from one run on one machine, and
the goals are stated as ratios of phases measured in that run, so they hold on a noisy
shared machine even when the absolute times do not. Each phase runs in a fresh process;
peak RSS is the larger of the biggest single process of the phase (`wait4`, as
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
    work_seconds: float | None = None  # the work alone, timed inside the process
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
    value: float | None
    goal: str  # e.g. "<= 1.25"
    definition: str

    @property
    def met(self) -> bool | None:
        if self.value is None:
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
    return {True: "yes", False: "**no**", None: "n/a"}[ratio.met]


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
        "| phase | wall time (s) | peak RSS | rows | rows/s | note |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for p in phases:
        state = "" if p.ok else "**FAILED** "
        work = f"work {p.work_seconds:,.1f} s; " if p.work_seconds is not None else ""
        lines.append(
            f"| {p.label} | {_fmt_seconds(p.wall_seconds)} | {_fmt_mib(p.peak_rss_bytes)} | "
            f"{_fmt_int(p.rows)} | {_fmt_int(p.rows_per_second)} | {state}{work}{p.note} |"
        )
    return lines


def ratio_table(ratios: list[Ratio]) -> list[str]:
    lines = ["| ratio | value | goal | met | measured as |", "|---|---:|---:|:-:|---|"]
    for r in ratios:
        value = "n/a" if r.value is None else f"{r.value:.3f}"
        lines.append(f"| {r.name} | {value} | {r.goal} | {_met(r)} | {r.definition} |")
    return lines


def print_tables(phases: list[Phase], ratios: list[Ratio], extra: list[str]) -> None:
    """The same tables as the file, laid out for a terminal."""
    print()
    print(f"{'phase':<44} {'wall s':>9} {'peak RSS':>11} {'rows':>12} {'rows/s':>11}  note")
    for p in phases:
        state = "" if p.ok else "FAILED "
        work = f"work {p.work_seconds:,.1f} s; " if p.work_seconds is not None else ""
        print(
            f"{p.label:<44} {_fmt_seconds(p.wall_seconds):>9} {_fmt_mib(p.peak_rss_bytes):>11} "
            f"{_fmt_int(p.rows):>12} {_fmt_int(p.rows_per_second):>11}  {state}{work}{p.note}"
        )
    print()
    print(f"{'ratio':<36} {'value':>8} {'goal':>9}  met")
    for r in ratios:
        value = "n/a" if r.value is None else f"{r.value:.3f}"
        met = {True: "yes", False: "NO", None: "n/a"}[r.met]
        print(f"{r.name:<36} {value:>8} {r.goal:>9}  {met}")
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
