"""Bench scales and their landing zones: generated once per scale, reused while unchanged."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from pipelines.generator.landing_zone import PARAMS_FILE, GeneratorParams, load_params
from pipelines.lib.landing_contract import ENTITIES

MARKER_FILE = "_bench.json"
SEED = 42
MESSY_RATE = 0.01


@dataclass(frozen=True)
class Scale:
    name: str
    contacts_per_day: int
    days: int
    start: dt.date

    @property
    def last_day(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days - 1)

    @property
    def appended_day(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days)

    def day_keys(self) -> list[str]:
        return [(self.start + dt.timedelta(days=i)).isoformat() for i in range(self.days)]


# tiny: the bench's own smoke test (use --no-write). default: 1 million contacts over 3 years
# (913 a day for 1095 days); large: twice as many.
# Fixed start dates keep a generated landing zone reusable from one bench run to the next.
SCALES = {
    "tiny": Scale("tiny", 10, 10, dt.date(2025, 1, 6)),  # a smoke test of the bench itself
    "small": Scale("small", 60, 120, dt.date(2025, 1, 6)),
    "default": Scale("default", 913, 1095, dt.date(2023, 1, 2)),
    "large": Scale("large", 1826, 1095, dt.date(2023, 1, 2)),
}


def fitted_to_today(scale: Scale, today: dt.date) -> Scale:
    """Daily partitions end yesterday: move the start back if the appended day is not past."""
    latest = today - dt.timedelta(days=1)
    if scale.appended_day <= latest:
        return scale
    return dataclasses.replace(scale, start=latest - dt.timedelta(days=scale.days))


def _params(scale: Scale) -> GeneratorParams:
    return GeneratorParams(scale.start, scale.days, scale.contacts_per_day, SEED, MESSY_RATE)


def reusable(landing_dir: Path, scale: Scale) -> bool:
    """The landing zone holds (at least) this scale's days, generated with its parameters."""
    marker = landing_dir / MARKER_FILE
    if not marker.exists() or not (landing_dir / PARAMS_FILE).exists():
        return False
    expected = _params(scale)
    current = load_params(landing_dir)
    return (
        json.loads(marker.read_text()).get("params") == expected.to_json()
        and current.days >= scale.days
        and dataclasses.replace(current, days=scale.days) == expected
    )


def trim_appended_days(landing_dir: Path, scale: Scale) -> int:
    """Remove days a previous bench appended, so the zone is exactly the scale's days again.

    A day's files are a pure function of seed and day, so the remaining files are exactly what
    generating `scale.days` days writes. Returns how many days were removed."""
    params = load_params(landing_dir)
    extra_days = [scale.start + dt.timedelta(days=i) for i in range(scale.days, params.days)]
    for day in extra_days:
        for entity in ENTITIES:
            (landing_dir / entity.file_path(day.isoformat())).unlink(missing_ok=True)
    if extra_days:
        (landing_dir / PARAMS_FILE).write_text(_params(scale).to_json())
    return len(extra_days)


def write_marker(landing_dir: Path, scale: Scale, rows: dict[str, int], seconds: float) -> None:
    marker = {"params": _params(scale).to_json(), "rows": rows, "generate_seconds": seconds}
    (landing_dir / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n")


def read_marker(landing_dir: Path) -> dict:
    return json.loads((landing_dir / MARKER_FILE).read_text())


def generate_args(landing_dir: Path, scale: Scale) -> list[str]:
    """Arguments of `python` generating the scale's landing zone."""
    return [
        "-m",
        "pipelines",
        "generate",
        "--start",
        scale.start.isoformat(),
        "--days",
        str(scale.days),
        "--contacts-per-day",
        str(scale.contacts_per_day),
        "--seed",
        str(SEED),
        "--messy-rate",
        str(MESSY_RATE),
        "--landing-dir",
        str(landing_dir),
    ]


def _data_lines(path: Path) -> int:
    """Data lines of a CSV landing file (lines after the header)."""
    newlines, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    lines = newlines + (last != b"\n")
    return max(lines - 1, 0)


def count_rows(landing_dir: Path, days: list[str]) -> dict[str, int]:
    """Data lines per entity in the landing files of `days` (rows as they landed, messy ones
    included)."""
    rows = {}
    for entity in ENTITIES:
        paths = [landing_dir / entity.file_path(day) for day in days]
        rows[entity.name] = sum(_data_lines(p) for p in paths if p.exists())
    return rows
