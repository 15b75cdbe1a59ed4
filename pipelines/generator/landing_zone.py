"""Generate a landing zone, or append its next day (the daily drop).

The parameters live in `<landing_dir>/_generator.json`, so `append_day` continues exactly
where the last run stopped. A day's files are a pure function of the seed and the day (see
randomness.py), so appending day N gives the files generating N + 1 days at once would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
from pathlib import Path

import duckdb
import numpy as np

from pipelines.generator import model as m
from pipelines.generator.cohorts import simulate_people
from pipelines.generator.market import (
    N_COLUMNS,
    ad_rows,
    day_messy_flags,
    erasure_rows,
    fx_units_per_usd,
    market_days,
)
from pipelines.generator.writer import macros_sql, with_name_indices, write_entity
from pipelines.lib.landing_contract import ENTITIES

PARAMS_FILE = "_generator.json"
_DAY_FILE = re.compile(r"^\d{4}-\d{2}-\d{2}\.csv$")
_ROW_DAY = {
    "contacts": "updated",
    "lifecycle_events": "ts",
    "touchpoints": "ts",
    "orders": "ts",
    "refunds": "ts",
}


@dataclasses.dataclass(frozen=True)
class GeneratorParams:
    start: dt.date
    days: int  # days generated so far: files exist for start .. start + days - 1
    contacts_per_day: int
    seed: int
    messy_rate: float

    def validate(self) -> None:
        if self.days < 1:
            raise ValueError(f"days must be at least 1, not {self.days}")
        if self.contacts_per_day < 1:
            raise ValueError(f"contacts_per_day must be at least 1, not {self.contacts_per_day}")
        if self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, not {self.seed}")
        if not 0.0 <= self.messy_rate <= 0.5:
            raise ValueError(f"messy_rate must be within [0, 0.5], not {self.messy_rate}")

    def to_json(self) -> str:
        fields = dataclasses.asdict(self) | {"start": self.start.isoformat()}
        return json.dumps(fields, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> GeneratorParams:
        fields = json.loads(text)
        return cls(
            start=dt.date.fromisoformat(fields["start"]),
            days=int(fields["days"]),
            contacts_per_day=int(fields["contacts_per_day"]),
            seed=int(fields["seed"]),
            messy_rate=float(fields["messy_rate"]),
        )


def generate_landing_zone(
    landing_dir: Path,
    start: dt.date,
    days: int,
    contacts_per_day: int,
    seed: int,
    messy_rate: float = 0.01,
) -> dict[str, int]:
    """Write `days` days of every landing entity from `start`; returns data rows per entity.

    A landing dir generated before is cleared of its generated day files first; a dir
    holding day files the generator did not write is refused rather than mixed into.
    """
    landing_dir = Path(landing_dir)
    params = GeneratorParams(start, days, contacts_per_day, seed, messy_rate)
    params.validate()
    _clear_generated(landing_dir)
    # Saved first: it marks the dir as generated, so a rerun after a failure may clear it.
    _save_params(landing_dir, params)
    return _write_days(landing_dir, params, 0, days - 1)


def append_day(landing_dir: Path) -> dict[str, int]:
    """Write the day after the last generated one; returns data rows per entity that day."""
    landing_dir = Path(landing_dir)
    params_path = landing_dir / PARAMS_FILE
    if not params_path.exists():
        raise FileNotFoundError(
            f"{params_path} not found: generate a landing zone before appending a day"
        )
    params = GeneratorParams.from_json(params_path.read_text())
    counts = _write_days(landing_dir, params, params.days, params.days)
    _save_params(landing_dir, dataclasses.replace(params, days=params.days + 1))
    return counts


def load_params(landing_dir: Path) -> GeneratorParams:
    return GeneratorParams.from_json((Path(landing_dir) / PARAMS_FILE).read_text())


def _save_params(landing_dir: Path, params: GeneratorParams) -> None:
    path = landing_dir / PARAMS_FILE
    landing_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.tmp")
    partial.write_text(params.to_json())
    os.replace(partial, path)


def _day_files(landing_dir: Path) -> list[Path]:
    return [
        path
        for entity in ENTITIES
        if (landing_dir / entity.directory).is_dir()
        for path in (landing_dir / entity.directory).iterdir()
        if _DAY_FILE.match(path.name)
    ]


def _clear_generated(landing_dir: Path) -> None:
    files = _day_files(landing_dir)
    if files and not (landing_dir / PARAMS_FILE).exists():
        raise FileExistsError(
            f"{landing_dir} holds landing files the generator did not write "
            f"(no {PARAMS_FILE}); choose an empty directory"
        )
    for path in files:
        path.unlink()


def _in_window(rows: dict[str, np.ndarray], day: np.ndarray, first: int, last: int):
    keep = (day >= first) & (day <= last)
    return {col: values[keep] for col, values in rows.items()}


def _touches_per_column(touches: dict[str, np.ndarray], first: int, last: int) -> np.ndarray:
    """Tracked touches per [day, platform, live-campaign column] in the window."""
    day = touches["ts"] // m.DAY
    paid = (touches["channel"] < m.N_PAID) & (day >= first) & (day <= last)
    flat = ((day[paid] - first) * m.N_PAID + touches["channel"][paid]) * N_COLUMNS
    flat += touches["column"][paid]
    size = (last - first + 1) * m.N_PAID * N_COLUMNS
    counts = np.bincount(flat, minlength=size)
    return counts.reshape(last - first + 1, m.N_PAID, N_COLUMNS)


def _write_days(landing_dir: Path, params: GeneratorParams, first: int, last: int):
    seed, start = params.seed, params.start
    # Contacts created up to LOOKAHEAD_DAYS after the last day touched it before existing.
    last_cohort = last + m.LOOKAHEAD_DAYS
    market = market_days(
        seed, start, -m.LOOKAHEAD_DAYS - 2, last_cohort + m.POST_TOUCH_MAX_DAYS + 2
    )
    people, persons_before = simulate_people(
        seed, start, params.contacts_per_day, last_cohort, market, params.messy_rate
    )
    rates, published = fx_units_per_usd(seed, last)
    flags = day_messy_flags(seed, first, last, params.messy_rate)
    ads = ad_rows(
        seed, start, first, last, _touches_per_column(people["touchpoints"], first, last), rates
    )
    ads_at = (ads.pop("day_index"), ads["platform"], ads.pop("column"))
    ads["dup"] = flags["ads_dup"][ads_at]
    ads["malformed"] = flags["ads_mal"][ads_at]
    fx_day, fx_currency = np.nonzero(published[first:])
    fx = {
        "day": fx_day + first,
        "currency": fx_currency,
        "rate": rates[fx_day + first, fx_currency],
        "dup": flags["fx_dup"][fx_day, fx_currency],
        "malformed": flags["fx_mal"][fx_day, fx_currency],
    }
    tables = {
        entity: _in_window(rows, rows[_ROW_DAY[entity]] // m.DAY, first, last)
        for entity, rows in people.items()
    }
    for platform, entity in enumerate(("google_ads", "meta_ads", "linkedin_ads")):
        tables[entity] = {col: v[ads["platform"] == platform] for col, v in ads.items()}
    tables["fx_rates"] = fx
    erasures = erasure_rows(seed, params.contacts_per_day, first, last, persons_before)
    tables["erasure_requests"] = erasures
    for entity in ("contacts", "orders", "erasure_requests"):
        tables[entity] = with_name_indices(tables[entity], seed)

    days = range(first, last + 1)
    counts = {}
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        con.execute(macros_sql(start))
        for entity in ENTITIES:
            counts[entity.name] = write_entity(
                con,
                landing_dir,
                start,
                entity.name,
                tables[entity.name],
                days,
                only_days_with_rows=entity.name == "erasure_requests",
            )
    return counts
