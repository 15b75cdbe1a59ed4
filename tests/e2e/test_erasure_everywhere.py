"""An erased person leaves every file the pipeline keeps (issue 13).

A 10-day generated zone is run; a buyer's e-mail, name, contact id and customer_key are then
found in the warehouse file's bytes (so the search can see them). The next day's drop
carries their erasure request; after that run, the four strings are searched in the bytes
of every file under the warehouse folder (warehouse, logs, validation results), the serving
folder (marts, Parquet versions, data docs, report), the Dagster home (event logs, run
storage) and the dbt project's target/ and logs/. The suppression list keeps only one-way
hashes, which differ from all four.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import E2E_START, make_env

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DAYS = 10
DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def _rows(landing: Path, entity) -> list[dict]:
    rows = []
    for path in sorted((landing / entity.directory).glob("*.csv")):
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows += list(csv.DictReader(handle))
    return rows


def _a_buyer(landing: Path) -> dict[str, str]:
    """A contact with a paid order and a name no other contact has."""
    from pipelines.lib.landing_contract import ENTITIES_BY_NAME

    contacts = _rows(landing, ENTITIES_BY_NAME["contacts"])
    names = Counter(c["full_name"] for c in contacts)
    buyers = {
        o["customer_email"].strip().lower()
        for o in _rows(landing, ENTITIES_BY_NAME["orders"])
        if o["status"] == "paid"
    }
    for contact in contacts:
        if contact["email"].strip().lower() in buyers and names[contact["full_name"]] == 1:
            return contact
    raise AssertionError("the generated zone has no buyer with a unique name")


def _files_holding(files, needles: dict[str, bytes]) -> dict[str, list[str]]:
    """For each needle, the files whose bytes contain it."""
    found: dict[str, list[str]] = {}
    for path in files:
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        for what, needle in needles.items():
            if needle in data:
                found.setdefault(what, []).append(str(path))
    return found


def test_an_erased_person_is_in_no_file_after_the_erasure_run(tmp_path):
    from pipelines.cli import run_range
    from pipelines.generator import append_day, generate_landing_zone
    from pipelines.lib.landing_contract import ENTITIES_BY_NAME
    from pipelines.lib.pseudonymise import customer_key

    env = make_env(tmp_path)
    env.activate()
    home = tmp_path / "dagster_home"
    os.environ["DAGSTER_HOME"] = str(home)
    try:
        generate_landing_zone(env.landing_dir, E2E_START, DAYS, 10, seed=17, messy_rate=0.0)
        person = _a_buyer(env.landing_dir)
        key = customer_key(person["email"], os.environ["FUNNEL_PSEUDONYMISATION_SECRET"])
        needles = {
            "email": person["email"].strip().lower().encode(),
            "name": person["full_name"].encode(),
            "contact_id": person["contact_id"].encode(),
            "customer_key": key.encode(),
        }
        assert run_range(E2E_START, E2E_START + dt.timedelta(days=DAYS - 1))
        before = _files_holding([env.warehouse_path], needles)
        # The search sees them while the person is in (else the test below proves nothing).
        assert set(before) == set(needles), before

        append_day(env.landing_dir)
        day = (E2E_START + dt.timedelta(days=DAYS)).isoformat()
        request = env.landing_dir / ENTITIES_BY_NAME["erasure_requests"].file_path(day)
        request.parent.mkdir(parents=True, exist_ok=True)
        request.write_text(f"email,requested_at\n{person['email']},{day}T09:00:00+00:00\n")
        assert run_range(dt.date.fromisoformat(day), dt.date.fromisoformat(day))
    finally:
        os.environ.pop("DAGSTER_HOME", None)

    roots = [
        env.warehouse_path.parent,  # warehouse, its logs and validation results
        env.serving_dir,
        home,
        DBT_PROJECT_DIR / "target",
        DBT_PROJECT_DIR / "logs",
    ]
    kept = {path for root in roots for path in root.rglob("*")}
    # The landing zone itself is the source system's, not the pipeline's.
    kept = [p for p in kept if env.landing_dir not in p.parents]
    assert env.warehouse_path in kept and any(env.serving_dir in p.parents for p in kept)
    assert _files_holding(sorted(kept), needles) == {}
