"""Every figure of every published mart on a tiny hand-written landing zone, checked against
values worked out by hand (METRICS.md and the decided dbt interface), never by project code.

The world: six people over 2026-01-05 .. 2026-03-06 (the last landed day, so as_of_date).
All times below are UTC unless a row says otherwise. Reporting currency USD.

- Ann (ann@): google_ads touch 01-05 11:00, linkedin_ads 01-12 11:00, contact created 01-12
  18:00, mql 01-13 12:00, sql 01-14 12:00, email touch 01-19 11:00, order A1 100 USD
  01-19 12:00 (purchase), meta_ads touch 02-01 (after her conversion: credits nothing),
  order A2 50 USD 02-10 12:00 with a messy e-mail (loyalty; returning in February), refund
  of 25 USD on A1 landing 03-02 (restates January). Acquisition google_ads.
- Ben (ben@): organic_search touch 01-06 10:00, contact created 01-07 10:00 (consent true,
  then an update on 01-15 sets consent false), CRM `opportunity` 01-09 10:00 (intent with
  consideration skipped), order B1 80 USD 01-20 10:00 (landed twice, exact duplicate),
  nothing in February (dormant), order B2 40 USD 03-03 10:00 with status `refunded` and a
  full refund 03-04 (a purchase worth 0: loyalty, resurrecting in March).
- Cat (cat@): meta_ads touch 01-08 12:00, contact created 2026-01-10T01:00+02:00 = 01-09
  23:00 UTC, an unmapped CRM stage, mql 02-08 22:00: 30 calendar days after interest
  (converts, at the window edge). Never buys.
- Dan (dan@): no CRM record, order D1 80 EUR at 2026-01-25T07:00-05:00 = 12:00 UTC, a day
  with no EUR rate (nearest earlier rate 0.8 -> 100 USD). Passes awareness .. intent at the
  purchase moment (skipped), acquisition channel direct.
- Eve (eve@): referral touch 01-20 09:00, contact created 01-21 09:00, mql 01-22 09:00, sql
  01-25 09:00, back to mql 01-28 (no re-entry), google_ads touch 01-27, order E1 cancelled
  02-02 (not a purchase: never a customer).
- Fay (fay@): meta_ads touch 01-09 08:00, contact created 01-09 10:00, mql 02-09 09:00: 31
  calendar days after interest (does not convert, although under 31 x 24 hours), order F1
  25 GBP 03-05 10:00 (0.25 GBP per USD -> 100 USD; intent skipped; March cohort). Her sales
  cycle of 55 days counts although it is longer than the conversion window.
- Zed (zed@): contact, referral touch and a 1000 USD order, then an erasure request: he must
  be in no figure at all.

Ad spend (USD at the spend day's rate, nearest earlier when that day has none):
  google_ads   01-05 30; 01-12 20; 01-19 50 + 8 EUR at 0.8 = 10 -> 60; 03-02 30
  meta_ads     01-09 40; 02-09 20
  linkedin_ads 01-12 50 GBP, no GBP rate that day, 01-11's 0.5 -> 100; 01-14 10 GBP at
               0.25 -> 40
  by month: January google 110, meta 40, linkedin 140, all 290; February meta 20 (all 20);
  March google 30 (all 30).
FX: USD 1 every day; EUR 0.8 up to 01-24, none on 01-25, 1.0 from 01-26; GBP 0.5 up to
01-11, none on 01-12 and 01-13, 0.25 from 01-14 (rates change across each gap, so only the
nearest *earlier* rate gives the figures below).
Net revenue per order: A1 100 - 25 = 75, A2 50, B1 80, B2 40 - 40 = 0, D1 100, F1 100.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.landing_contract import ENTITIES_BY_NAME

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FIRST_DAY = dt.date(2026, 1, 5)
LAST_DAY = dt.date(2026, 3, 6)  # the last landed day: as_of_date
MODELS = ("first_touch", "last_touch", "linear", "position_based", "time_decay")
CHANNELS = (
    "google_ads", "meta_ads", "linkedin_ads", "organic_search", "email", "referral", "direct",
)  # fmt: skip

# Landing files. The first column of each line is the landing day (the file it goes to);
# the rest, under the header, is written verbatim to <entity dir>/<landing day>.csv.
CONTACTS = """\
landing_day,contact_id,email,full_name,country,created_at,updated_at,marketing_consent
2026-01-07,C2,Ben@Example.com,Ben Bell,gb,2026-01-07T10:00:00+00:00,2026-01-07T10:00:00+00:00,true
2026-01-09,C5,fay@example.com,Fay Fox,US,2026-01-09T10:00:00+00:00,2026-01-09T10:00:00+00:00,true
2026-01-10,C3,cat@example.com,Cat Cole,FR,2026-01-10T01:00:00+02:00,2026-01-10T01:00:00+02:00,true
2026-01-12,C1,ann@example.com,Ann Able,DE,2026-01-12T18:00:00+00:00,2026-01-12T18:00:00+00:00,true
2026-01-15,C2,ben@example.com,Ben Bell,GB,2026-01-07T10:00:00+00:00,2026-01-15T09:00:00+00:00,false
2026-01-15,C9,zed@example.com,Zed Zane,US,2026-01-15T09:00:00+00:00,2026-01-15T09:00:00+00:00,true
2026-01-21,C4,eve@example.com,Eve Ewing,US,2026-01-21T09:00:00+00:00,2026-01-21T09:00:00+00:00,true
"""

LIFECYCLE_EVENTS = """\
landing_day,contact_id,crm_stage,occurred_at
2026-01-09,C2,opportunity,2026-01-09T10:00:00+00:00
2026-01-10,C3,subscriber,2026-01-09T23:30:00+00:00
2026-01-13,C1,mql,2026-01-13T12:00:00+00:00
2026-01-14,C1,sql,2026-01-14T12:00:00+00:00
2026-01-22,C4,mql,2026-01-22T09:00:00+00:00
2026-01-25,C4,sql,2026-01-25T09:00:00+00:00
2026-01-28,C4,mql,2026-01-28T09:00:00+00:00
2026-02-08,C3,mql,2026-02-08T22:00:00+00:00
2026-02-09,C5,mql,2026-02-09T09:00:00+00:00
"""

TOUCHPOINTS = """\
landing_day,contact_id,occurred_at,channel,campaign_id,touch_type
2026-01-05,C1,2026-01-05T11:00:00+00:00,google_ads,g-1,click
2026-01-06,C2,2026-01-06T10:00:00+00:00,organic_search,,visit
2026-01-08,C3,2026-01-08T12:00:00+00:00,meta_ads,m-1,click
2026-01-09,C5,2026-01-09T08:00:00+00:00,meta_ads,m-1,click
2026-01-12,C1,2026-01-12T11:00:00+00:00,linkedin_ads,li-1,click
2026-01-15,C9,2026-01-15T10:00:00+00:00,referral,,visit
2026-01-19,C1,2026-01-19T11:00:00+00:00,email,em-1,open
2026-01-20,C4,2026-01-20T09:00:00+00:00,referral,,visit
2026-01-27,C4,2026-01-27T09:00:00+00:00,google_ads,g-1,click
2026-02-01,C1,2026-02-01T12:00:00+00:00,meta_ads,m-1,click
"""

GOOGLE_ADS = """\
landing_day,date,campaign_id,campaign_name,impressions,clicks,cost_micros,currency_code
2026-01-05,2026-01-05,g-1,Brand,1000,10,30000000,USD
2026-01-12,2026-01-12,g-1,Brand,800,8,20000000,USD
2026-01-19,2026-01-19,g-1,Brand,1500,15,50000000,USD
2026-01-19,2026-01-19,g-2,Generic EU,500,5,8000000,EUR
2026-03-02,2026-03-02,g-1,Brand,900,9,30000000,USD
"""

# Meta's export carries an extra column (reach): kept in raw, ignored downstream.
META_ADS = """\
landing_day,date_start,campaign_id,campaign_name,impressions,inline_link_clicks,spend,account_currency,reach
2026-01-09,2026-01-09,m-1,Prospecting,2000,20,40.00,USD,1500
2026-02-09,2026-02-09,m-1,Prospecting,1000,10,20.00,USD,800
"""

LINKEDIN_ADS = """\
landing_day,day,campaign_id,campaign_name,impressions,clicks,cost_in_local_currency,currency
2026-01-12,2026-01-12,li-1,ABM,300,3,50.00,GBP
2026-01-14,2026-01-14,li-1,ABM,200,2,10.00,GBP
"""

ORDERS = """\
landing_day,order_id,customer_email,ordered_at,status,currency,amount
2026-01-16,Z1,zed@example.com,2026-01-16T10:00:00+00:00,paid,USD,1000.00
2026-01-19,A1,ann@example.com,2026-01-19T12:00:00+00:00,paid,USD,100.00
2026-01-20,B1,ben@example.com,2026-01-20T10:00:00+00:00,paid,USD,80.00
2026-01-20,B1,ben@example.com,2026-01-20T10:00:00+00:00,paid,USD,80.00
2026-01-25,D1,dan@example.com,2026-01-25T07:00:00-05:00,paid,EUR,80.00
2026-02-02,E1,eve@example.com,2026-02-02T09:00:00+00:00,cancelled,USD,60.00
2026-02-10,A2," ANN@Example.COM ",2026-02-10T12:00:00+00:00,paid,USD,50.00
2026-03-03,B2,ben@example.com,2026-03-03T10:00:00+00:00,refunded,USD,40.00
2026-03-05,F1,fay@example.com,2026-03-05T10:00:00+00:00,paid,GBP,25.00
"""

REFUNDS = """\
landing_day,refund_id,order_id,refunded_at,currency,amount
2026-03-02,R1,A1,2026-03-02T10:00:00+00:00,USD,25.00
2026-03-04,R2,B2,2026-03-04T10:00:00+00:00,USD,40.00
"""

ERASURE_REQUESTS = """\
landing_day,email,requested_at
2026-02-01,zed@example.com,2026-02-01T08:00:00+00:00
"""

LANDING = {
    "contacts": CONTACTS,
    "lifecycle_events": LIFECYCLE_EVENTS,
    "touchpoints": TOUCHPOINTS,
    "google_ads": GOOGLE_ADS,
    "meta_ads": META_ADS,
    "linkedin_ads": LINKEDIN_ADS,
    "orders": ORDERS,
    "refunds": REFUNDS,
    "erasure_requests": ERASURE_REQUESTS,
}

# units_per_usd by currency over inclusive landing days; one fx file per day of the range.
FX_RATE_PERIODS = (
    ("USD", "2026-01-05", "2026-03-06", 1.0),
    ("EUR", "2026-01-05", "2026-01-24", 0.8),  # no EUR rate on 01-25
    ("EUR", "2026-01-26", "2026-03-06", 1.0),
    ("GBP", "2026-01-05", "2026-01-11", 0.5),  # no GBP rate on 01-12, 01-13
    ("GBP", "2026-01-14", "2026-03-06", 0.25),
)

MART_NAMES = (
    "funnel_daily", "cac_daily", "ltv_cohorts", "lifecycle_monthly", "unit_economics_monthly",
    "customers",
)  # fmt: skip

EMAILS = {
    "ann": "ann@example.com",
    "ben": "ben@example.com",
    "dan": "dan@example.com",
    "fay": "fay@example.com",
}


def d(month: int, day: int) -> dt.date:
    return dt.date(2026, month, day)


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def _write_landing_zone(landing_dir: Path) -> None:
    for entity_name, text in LANDING.items():
        header, *lines = text.splitlines()
        by_day: dict[str, list[str]] = {}
        for line in lines:
            day, rest = line.split(",", 1)
            by_day.setdefault(day, []).append(rest)
        directory = landing_dir / ENTITIES_BY_NAME[entity_name].directory
        directory.mkdir(parents=True, exist_ok=True)
        for day, rows in by_day.items():
            body = [header.split(",", 1)[1], *rows]
            (directory / f"{day}.csv").write_text("\n".join(body) + "\n")
    fx_dir = landing_dir / ENTITIES_BY_NAME["fx_rates"].directory
    fx_dir.mkdir(parents=True, exist_ok=True)
    for day in _days(FIRST_DAY, LAST_DAY):
        rows = ["date,currency,units_per_usd"]
        for currency, first, last, rate in FX_RATE_PERIODS:
            if dt.date.fromisoformat(first) <= day <= dt.date.fromisoformat(last):
                rows.append(f"{day.isoformat()},{currency},{rate}")
        (fx_dir / f"{day.isoformat()}.csv").write_text("\n".join(rows) + "\n")


@dataclass(frozen=True)
class HandRun:
    succeeded: bool  # run_range's verdict: every step, check and the publication passed
    warehouse: Path  # dbt's marts schema, built before the prediction and publish steps
    serving: Path  # the published copy a BI tool reads


@pytest.fixture(scope="module")
def hand_run(tmp_path_factory) -> HandRun:
    """The hand-written landing zone run end to end once. The figures are read from the
    warehouse marts so that a blocked publication (asserted on its own below) does not hide
    them; the published file must then hold exactly the same rows."""
    from pipelines.cli import run_range
    from tests.conftest import make_env

    saved = {k: os.environ.get(k) for k in ("FUNNEL_LANDING_DIR", "FUNNEL_WAREHOUSE_PATH",
                                            "FUNNEL_SERVING_DIR")}  # fmt: skip
    env = make_env(tmp_path_factory.mktemp("by_hand"))
    env.activate()
    try:
        _write_landing_zone(env.landing_dir)
        succeeded = run_range(FIRST_DAY, LAST_DAY)
        yield HandRun(succeeded, env.warehouse_path, env.serving_dir / "marts.duckdb")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def marts(hand_run) -> Path:
    return hand_run.warehouse


def test_the_run_succeeds_and_publishes_exactly_the_warehouse_marts(hand_run):
    assert hand_run.succeeded, "run_range failed: see the FAILED step on stderr"
    for mart in MART_NAMES:
        published = _query(hand_run.serving, f"select * from marts.{mart} order by all")
        built = _query(hand_run.warehouse, f"select * from marts.{mart} order by all")
        # The serving copy publishes money as DECIMAL(18, 2): the built amount to the cent.
        assert len(published) == len(built), mart
        for served_row, built_row in zip(published, built, strict=True):
            assert [
                round(Decimal(str(b)), 2) if isinstance(p, Decimal) and b is not None else b
                for p, b in zip(served_row, built_row, strict=True)
            ] == list(served_row), mart
        assert _columns(hand_run.serving, mart) == _columns(hand_run.warehouse, mart), mart


def _query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _rows(path: Path, mart: str) -> list[dict]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cursor = con.execute(f"select * from marts.{mart}")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _same(actual, expected) -> bool:
    if expected is None or actual is None:
        return actual is expected
    if isinstance(expected, float):
        return actual == pytest.approx(expected, rel=1e-9, abs=1e-9)
    return actual == expected


def _mismatches(actual: list[dict], expected: dict[tuple, dict], key: tuple[str, ...]):
    """Every difference between the mart and the expected rows, keyed by the mart's grain."""
    by_key = {tuple(r[k] for k in key): r for r in actual}
    problems = []
    assert len(by_key) == len(actual), "duplicate grain"
    for missing in sorted(set(expected) - set(by_key), key=str):
        problems.append(f"missing row {missing}")
    for extra in sorted(set(by_key) - set(expected), key=str):
        problems.append(f"unexpected row {extra}: {by_key[extra]}")
    for k in sorted(set(expected) & set(by_key), key=str):
        for column, value in expected[k].items():
            if not _same(by_key[k][column], value):
                problems.append(f"{k} {column}: expected {value!r}, got {by_key[k][column]!r}")
    return problems


# ---------------------------------------------------------------------------------------
# funnel_daily: every row. Rows are people entering `stage` on `date` with that
# acquisition channel; is_window_complete iff date + 30 <= 03-06, i.e. date <= 02-04.
# ---------------------------------------------------------------------------------------
FUNNEL_COLUMNS = (
    "entered", "converted_to_next", "conversion_rate", "median_hours_to_next",
    "is_window_complete", "median_days_to_purchase", "p90_days_to_purchase",
)  # fmt: skip
T, F, N = True, False, None
EXPECTED_FUNNEL = {
    # Ann (google_ads): awareness 01-05 11:00 -> interest 01-12 18:00 = 7 d 7 h = 175 h
    (d(1, 5), "google_ads", "awareness"): (1, 1, 1.0, 175.0, T, N, N),
    # Ben (organic_search): touch 01-06 10:00 -> contact 01-07 10:00 = 24 h
    (d(1, 6), "organic_search", "awareness"): (1, 1, 1.0, 24.0, T, N, N),
    # Ben: interest 01-07 10:00 -> consideration skipped, entered with intent 01-09 10:00
    # = 48 h; sales cycle interest -> purchase 01-20 10:00 = 13 days
    (d(1, 7), "organic_search", "interest"): (1, 1, 1.0, 48.0, T, 13.0, 13.0),
    # Cat (meta_ads): touch 01-08 12:00 -> contact 01-09 23:00 UTC = 35 h
    (d(1, 8), "meta_ads", "awareness"): (1, 1, 1.0, 35.0, T, N, N),
    # Fay (meta_ads): touch 01-09 08:00 -> contact 01-09 10:00 = 2 h
    (d(1, 9), "meta_ads", "awareness"): (1, 1, 1.0, 2.0, T, N, N),
    # Cat + Fay enter interest 01-09. Cat's mql 02-08 is day 30 (in), 719 h later
    # (01-09 23:00 -> 02-08 22:00); Fay's mql 02-09 is day 31 (out) though only 743 h.
    # 1 of 2 -> 0.5; median hours over converted = 719. Sales cycle: only Fay bought:
    # 01-09 10:00 -> 03-05 10:00 = 22 + 28 + 5 = 55 days (not capped by the window).
    (d(1, 9), "meta_ads", "interest"): (2, 1, 0.5, 719.0, T, 55.0, 55.0),
    # Ben's skipped consideration, entered at intent's moment: 0 h to intent
    (d(1, 9), "organic_search", "consideration"): (1, 1, 1.0, 0.0, T, N, N),
    # Ben: intent 01-09 10:00 -> purchase 01-20 10:00 = 11 days = 264 h
    (d(1, 9), "organic_search", "intent"): (1, 1, 1.0, 264.0, T, N, N),
    # Ann: interest 01-12 18:00 -> mql 01-13 12:00 = 18 h; sales cycle to 01-19 12:00 =
    # 6 d 18 h = 6.75 days
    (d(1, 12), "google_ads", "interest"): (1, 1, 1.0, 18.0, T, 6.75, 6.75),
    # Ann: mql 01-13 12:00 -> sql 01-14 12:00 = 24 h
    (d(1, 13), "google_ads", "consideration"): (1, 1, 1.0, 24.0, T, N, N),
    # Ann: sql 01-14 12:00 -> purchase 01-19 12:00 = 120 h
    (d(1, 14), "google_ads", "intent"): (1, 1, 1.0, 120.0, T, N, N),
    # Ann: purchase 01-19 12:00 -> loyalty 02-10 12:00 = 22 days = 528 h
    (d(1, 19), "google_ads", "purchase"): (1, 1, 1.0, 528.0, T, N, N),
    # Ben: purchase 01-20 -> loyalty 03-03 = 42 days > 30: not converted
    (d(1, 20), "organic_search", "purchase"): (1, 0, 0.0, N, T, N, N),
    # Eve (referral): touch 01-20 09:00 -> contact 01-21 09:00 = 24 h
    (d(1, 20), "referral", "awareness"): (1, 1, 1.0, 24.0, T, N, N),
    # Eve: contact 01-21 09:00 -> mql 01-22 09:00 = 24 h; never purchased: no sales cycle
    (d(1, 21), "referral", "interest"): (1, 1, 1.0, 24.0, T, N, N),
    # Eve: mql 01-22 09:00 -> sql 01-25 09:00 = 72 h (her later mql re-enters nothing)
    (d(1, 22), "referral", "consideration"): (1, 1, 1.0, 72.0, T, N, N),
    # Eve: intent, her only order cancelled: not converted
    (d(1, 25), "referral", "intent"): (1, 0, 0.0, N, T, N, N),
    # Dan (direct, no CRM): every stage up to purchase at 01-25 12:00 UTC, 0 h apart;
    # sales cycle 0 days
    (d(1, 25), "direct", "awareness"): (1, 1, 1.0, 0.0, T, N, N),
    (d(1, 25), "direct", "interest"): (1, 1, 1.0, 0.0, T, 0.0, 0.0),
    (d(1, 25), "direct", "consideration"): (1, 1, 1.0, 0.0, T, N, N),
    (d(1, 25), "direct", "intent"): (1, 1, 1.0, 0.0, T, N, N),
    (d(1, 25), "direct", "purchase"): (1, 0, 0.0, N, T, N, N),
    # Cat: consideration 02-08, no intent; window open (02-08 + 30 = 03-10 > 03-06)
    (d(2, 8), "meta_ads", "consideration"): (1, 0, 0.0, N, F, N, N),
    # Fay: mql 02-09 09:00 -> intent skipped, entered with purchase 03-05 10:00 = 24 days
    # + 1 h = 577 h
    (d(2, 9), "meta_ads", "consideration"): (1, 1, 1.0, 577.0, F, N, N),
    # Ann's second purchase; loyalty is the last stage: conversion columns null
    (d(2, 10), "google_ads", "loyalty"): (1, N, N, N, F, N, N),
    # Ben's second purchase (status refunded still counts as a purchase)
    (d(3, 3), "organic_search", "loyalty"): (1, N, N, N, F, N, N),
    # Fay: skipped intent at her purchase moment, 0 h to purchase
    (d(3, 5), "meta_ads", "intent"): (1, 1, 1.0, 0.0, F, N, N),
    (d(3, 5), "meta_ads", "purchase"): (1, 0, 0.0, N, F, N, N),
}


def test_funnel_daily_every_row(marts):
    expected = {k: dict(zip(FUNNEL_COLUMNS, v, strict=True)) for k, v in EXPECTED_FUNNEL.items()}
    problems = _mismatches(_rows(marts, "funnel_daily"), expected, ("date", "channel", "stage"))
    assert problems == []


# ---------------------------------------------------------------------------------------
# cac_daily. Conversions and credits worked out by hand:
# leads (interest entry):
#   Ben 01-07 10:00: touches organic 01-06 -> organic_search 1 in every model
#   Fay 01-09 10:00: meta 01-09 08:00 -> meta_ads 1; Cat 01-09 23:00 UTC: meta 01-08 -> 1
#   Ann 01-12 18:00: google 01-05 11:00, linkedin 01-12 11:00 (7 days apart):
#     first_touch google 1; last_touch linkedin 1; linear 1/2 each; position_based (two
#     touches) 1/2 each; time_decay weights 0.5 : 1 -> google 1/3, linkedin 2/3
#   Eve 01-21 09:00: referral 01-20 -> referral 1 (her google touch 01-27 is later)
#   Dan 01-25 12:00 (interest passed at his purchase): no touch -> direct 1
# new customers (first purchase):
#   Ann 01-19 12:00: google 01-05 11:00, linkedin 01-12 11:00, email 01-19 11:00 (14, 7 and
#     0 days apart; the 02-01 meta touch is later): first_touch google 1; last_touch email
#     1; linear 1/3 each; position_based 0.4 / 0.2 / 0.4; time_decay 0.25 : 0.5 : 1 ->
#     1/7, 2/7, 4/7
#   Ben 01-20 10:00: organic_search 1; Dan 01-25 12:00: direct 1; Fay 03-05 10:00: meta 1
# Spend (USD): see the module docstring.
# ---------------------------------------------------------------------------------------
CAC_COLUMNS = ("spend", "new_leads", "new_customers", "cpl", "cac")
EXPECTED_CAC_NONZERO = {
    # (date, channel, model or "*" for every model): (spend, leads, customers, cpl, cac)
    (d(1, 5), "google_ads", "*"): (30.0, 0.0, 0.0, N, N),
    (d(1, 7), "organic_search", "*"): (0.0, 1.0, 0.0, 0.0, N),  # cpl 0 / 1
    (d(1, 9), "meta_ads", "*"): (40.0, 2.0, 0.0, 20.0, N),  # Cat + Fay: 40 / 2
    # Ann's lead on 01-12, google share: cpl = 20 / share
    (d(1, 12), "google_ads", "first_touch"): (20.0, 1.0, 0.0, 20.0, N),
    (d(1, 12), "google_ads", "last_touch"): (20.0, 0.0, 0.0, N, N),
    (d(1, 12), "google_ads", "linear"): (20.0, 0.5, 0.0, 40.0, N),
    (d(1, 12), "google_ads", "position_based"): (20.0, 0.5, 0.0, 40.0, N),
    (d(1, 12), "google_ads", "time_decay"): (20.0, 1 / 3, 0.0, 60.0, N),
    # linkedin 50 GBP at 01-11's 0.5 = 100 USD; cpl = 100 / share
    (d(1, 12), "linkedin_ads", "first_touch"): (100.0, 0.0, 0.0, N, N),
    (d(1, 12), "linkedin_ads", "last_touch"): (100.0, 1.0, 0.0, 100.0, N),
    (d(1, 12), "linkedin_ads", "linear"): (100.0, 0.5, 0.0, 200.0, N),
    (d(1, 12), "linkedin_ads", "position_based"): (100.0, 0.5, 0.0, 200.0, N),
    (d(1, 12), "linkedin_ads", "time_decay"): (100.0, 2 / 3, 0.0, 150.0, N),
    # 10 GBP at 0.25 = 40 USD
    (d(1, 14), "linkedin_ads", "*"): (40.0, 0.0, 0.0, N, N),
    # Ann's purchase on 01-19; google spend 50 + 8 EUR / 0.8 = 60; cac = 60 / share
    (d(1, 19), "google_ads", "first_touch"): (60.0, 0.0, 1.0, N, 60.0),
    (d(1, 19), "google_ads", "last_touch"): (60.0, 0.0, 0.0, N, N),
    (d(1, 19), "google_ads", "linear"): (60.0, 0.0, 1 / 3, N, 180.0),
    (d(1, 19), "google_ads", "position_based"): (60.0, 0.0, 0.4, N, 150.0),
    (d(1, 19), "google_ads", "time_decay"): (60.0, 0.0, 1 / 7, N, 420.0),
    # linkedin has no spend on 01-19: cac 0 where it has a share
    (d(1, 19), "linkedin_ads", "linear"): (0.0, 0.0, 1 / 3, N, 0.0),
    (d(1, 19), "linkedin_ads", "position_based"): (0.0, 0.0, 0.2, N, 0.0),
    (d(1, 19), "linkedin_ads", "time_decay"): (0.0, 0.0, 2 / 7, N, 0.0),
    (d(1, 19), "email", "last_touch"): (0.0, 0.0, 1.0, N, 0.0),
    (d(1, 19), "email", "linear"): (0.0, 0.0, 1 / 3, N, 0.0),
    (d(1, 19), "email", "position_based"): (0.0, 0.0, 0.4, N, 0.0),
    (d(1, 19), "email", "time_decay"): (0.0, 0.0, 4 / 7, N, 0.0),
    (d(1, 20), "organic_search", "*"): (0.0, 0.0, 1.0, N, 0.0),  # Ben
    (d(1, 21), "referral", "*"): (0.0, 1.0, 0.0, 0.0, N),  # Eve's lead
    (d(1, 25), "direct", "*"): (0.0, 1.0, 1.0, 0.0, 0.0),  # Dan: lead and customer
    (d(2, 9), "meta_ads", "*"): (20.0, 0.0, 0.0, N, N),
    (d(3, 2), "google_ads", "*"): (30.0, 0.0, 0.0, N, N),
    (d(3, 5), "meta_ads", "*"): (0.0, 0.0, 1.0, N, 0.0),  # Fay
    # Blended ('all'): all paid spend, people counted (the same in every model)
    (d(1, 5), "all", "*"): (30.0, 0.0, 0.0, N, N),
    (d(1, 7), "all", "*"): (0.0, 1.0, 0.0, 0.0, N),  # Ben's lead
    (d(1, 9), "all", "*"): (40.0, 2.0, 0.0, 20.0, N),  # Cat, Fay
    (d(1, 12), "all", "*"): (120.0, 1.0, 0.0, 120.0, N),  # 20 + 100; Ann
    (d(1, 14), "all", "*"): (40.0, 0.0, 0.0, N, N),
    (d(1, 19), "all", "*"): (60.0, 0.0, 1.0, N, 60.0),  # Ann
    (d(1, 20), "all", "*"): (0.0, 0.0, 1.0, N, 0.0),  # Ben
    (d(1, 21), "all", "*"): (0.0, 1.0, 0.0, 0.0, N),  # Eve
    (d(1, 25), "all", "*"): (0.0, 1.0, 1.0, 0.0, 0.0),  # Dan
    (d(2, 9), "all", "*"): (20.0, 0.0, 0.0, N, N),
    (d(3, 2), "all", "*"): (30.0, 0.0, 0.0, N, N),
    (d(3, 5), "all", "*"): (0.0, 0.0, 1.0, N, 0.0),  # Fay
}
ZERO_DAY = (0.0, 0.0, 0.0, N, N)

# A few trailing CACs worked out in full (the rest follow the same rule, computed below
# from the daily figures above: sum of spend / sum of new customers over the window).
EXPECTED_TRAILING = {
    # (date, channel, model): (cac_7d, cac_30d)
    # 7d 01-13..01-19: spend 40 + 60 = 100, 1 customer; 30d: 30+40+120+40+60 = 290 / 1
    (d(1, 19), "all", "linear"): (100.0, 290.0),
    # 7d 01-19..01-25: 60 / 3 customers = 20; 30d 12-27..01-25: 290 / 3
    (d(1, 25), "all", "first_touch"): (20.0, 290 / 3),
    # 7d 02-03..02-09: 20 spend, no customer -> null; 30d 01-11..02-09: 120+40+60+20 = 240
    # over 3 customers = 80
    (d(2, 9), "all", "time_decay"): (N, 80.0),
    # 7d 02-28..03-06: 30 / 1 (Fay); 30d 02-05..03-06: 20 + 30 = 50 / 1
    (d(3, 6), "all", "position_based"): (30.0, 50.0),
    # google linear 7d 01-13..01-19: 60 / (1/3) = 180; 30d: 110 / (1/3) = 330
    (d(1, 19), "google_ads", "linear"): (180.0, 330.0),
    # google time_decay 01-25, 7d 01-19..01-25: 60 / (1/7) = 420; 30d 110 / (1/7) = 770
    (d(1, 25), "google_ads", "time_decay"): (420.0, 770.0),
    # linkedin linear 01-19: 7d 40 / (1/3) = 120; 30d 140 / (1/3) = 420
    (d(1, 19), "linkedin_ads", "linear"): (120.0, 420.0),
    # linkedin first_touch never credited: null
    (d(1, 19), "linkedin_ads", "first_touch"): (N, N),
    # meta 03-05: 7d 02-27..03-05: 0 spend / 1 = 0; 30d 02-04..03-05: 20 / 1 = 20
    (d(3, 5), "meta_ads", "linear"): (0.0, 20.0),
    # organic 01-21: 7d includes Ben's 01-20 purchase at no spend: 0
    (d(1, 21), "organic_search", "last_touch"): (0.0, 0.0),
}


def _expected_cac_daily() -> dict[tuple, dict]:
    dates = _days(FIRST_DAY, LAST_DAY)  # first spend 01-05 .. as_of_date
    daily: dict[tuple, tuple] = {}
    for date in dates:
        for channel in (*CHANNELS, "all"):
            for model in MODELS:
                figures = EXPECTED_CAC_NONZERO.get(
                    (date, channel, model), EXPECTED_CAC_NONZERO.get((date, channel, "*"))
                )
                daily[(date, channel, model)] = figures or ZERO_DAY
    expected = {}
    for (date, channel, model), figures in daily.items():
        row = dict(zip(CAC_COLUMNS, figures, strict=True))
        for column, days in (("cac_7d", 7), ("cac_30d", 30)):
            window = [date - dt.timedelta(days=i) for i in range(days)]
            spend = sum(daily[(w, channel, model)][0] for w in window if w >= FIRST_DAY)
            customers = sum(daily[(w, channel, model)][2] for w in window if w >= FIRST_DAY)
            row[column] = spend / customers if customers else None
        expected[(date, channel, model)] = row
    return expected


def test_cac_daily_every_row(marts):
    expected = _expected_cac_daily()
    assert len(expected) == 61 * 8 * 5  # 01-05..03-06 x 7 channels + all x 5 models
    for key, (cac_7d, cac_30d) in EXPECTED_TRAILING.items():
        assert _same(expected[key]["cac_7d"], cac_7d), key  # the rule agrees with the hand
        assert _same(expected[key]["cac_30d"], cac_30d), key
    problems = _mismatches(
        _rows(marts, "cac_daily"), expected, ("date", "channel", "attribution_model")
    )
    assert problems == [], f"{len(problems)} differences:\n" + "\n".join(problems[:60])


def test_cac_daily_channel_credits_add_up_to_the_blended_row(marts):
    rows = _rows(marts, "cac_daily")
    totals: dict[tuple, list[float]] = {}
    for r in rows:
        if r["channel"] != "all":
            sums = totals.setdefault((r["date"], r["attribution_model"]), [0.0, 0.0])
            sums[0] += r["new_leads"]
            sums[1] += r["new_customers"]
    blended = {(r["date"], r["attribution_model"]): r for r in rows if r["channel"] == "all"}
    for key, (leads, customers) in totals.items():
        assert leads == pytest.approx(blended[key]["new_leads"]), key
        assert customers == pytest.approx(blended[key]["new_customers"]), key


# ---------------------------------------------------------------------------------------
# ltv_cohorts. January cohort: Ann (google_ads), Ben (organic_search), Dan (direct); March
# cohort: Fay (meta_ads). as_of month March: January ages 0-2, March age 0.
# Net revenue by order month: Ann Jan 75 (100 - 25 refunded in March), Feb 50;
# Ben Jan 80, Mar 0 (B2 refunded in full, still a purchase); Dan Jan 100; Fay Mar 100.
# ---------------------------------------------------------------------------------------
LTV_COLUMNS = (
    "cohort_customers", "active_customers", "retention_rate", "cumulative_net_revenue",
    "ltv_per_customer",
)  # fmt: skip
EXPECTED_LTV = {
    (d(1, 1), "google_ads", 0): (1, 1, 1.0, 75.0, 75.0),
    (d(1, 1), "google_ads", 1): (1, 1, 1.0, 125.0, 125.0),  # 75 + 50
    (d(1, 1), "google_ads", 2): (1, 0, 0.0, 125.0, 125.0),
    (d(1, 1), "organic_search", 0): (1, 1, 1.0, 80.0, 80.0),
    (d(1, 1), "organic_search", 1): (1, 0, 0.0, 80.0, 80.0),
    (d(1, 1), "organic_search", 2): (1, 1, 1.0, 80.0, 80.0),  # B2: active, + 0
    (d(1, 1), "direct", 0): (1, 1, 1.0, 100.0, 100.0),
    (d(1, 1), "direct", 1): (1, 0, 0.0, 100.0, 100.0),
    (d(1, 1), "direct", 2): (1, 0, 0.0, 100.0, 100.0),
    # all: 75 + 80 + 100 = 255 over 3 = 85; + 50 = 305 (101.67); + 0
    (d(1, 1), "all", 0): (3, 3, 1.0, 255.0, 85.0),
    (d(1, 1), "all", 1): (3, 1, 1 / 3, 305.0, 305 / 3),  # Ann
    (d(1, 1), "all", 2): (3, 1, 1 / 3, 305.0, 305 / 3),  # Ben
    (d(3, 1), "meta_ads", 0): (1, 1, 1.0, 100.0, 100.0),
    (d(3, 1), "all", 0): (1, 1, 1.0, 100.0, 100.0),
}


def test_ltv_cohorts_every_row(marts):
    expected = {k: dict(zip(LTV_COLUMNS, v, strict=True)) for k, v in EXPECTED_LTV.items()}
    problems = _mismatches(
        _rows(marts, "ltv_cohorts"),
        expected,
        ("cohort_month", "channel", "months_since_first_purchase"),
    )
    assert problems == []


# ---------------------------------------------------------------------------------------
# lifecycle_monthly, every month and state (0 where nobody):
#   January: new Ann, Ben, Dan.
#   February: returning Ann (Jan + Feb); dormant Ben, Dan (Jan, not Feb).
#   March: new Fay; resurrecting Ben (Mar, not Feb, but Jan); dormant Ann (Feb, not Mar).
#   Dan in March: no purchase in February or March -> in no state.
# ---------------------------------------------------------------------------------------
EXPECTED_LIFECYCLE = {
    (d(1, 1), "new"): 3,
    (d(1, 1), "returning"): 0,
    (d(1, 1), "resurrecting"): 0,
    (d(1, 1), "dormant"): 0,
    (d(2, 1), "new"): 0,
    (d(2, 1), "returning"): 1,
    (d(2, 1), "resurrecting"): 0,
    (d(2, 1), "dormant"): 2,
    (d(3, 1), "new"): 1,
    (d(3, 1), "returning"): 0,
    (d(3, 1), "resurrecting"): 1,
    (d(3, 1), "dormant"): 1,
}


def test_lifecycle_monthly_every_row(marts):
    expected = {k: {"customers": v} for k, v in EXPECTED_LIFECYCLE.items()}
    problems = _mismatches(_rows(marts, "lifecycle_monthly"), expected, ("month", "state"))
    assert problems == []


# ---------------------------------------------------------------------------------------
# unit_economics_monthly: every month Jan..Mar x 7 channels + all. new_customers by
# acquisition channel; cac = month's spend / new customers; ltv_12m read at the cohort's
# age so far (Jan 2, Feb 1, Mar 0; never complete); ltv_to_cac = ltv * 1.0 / cac (null when
# cac is null or 0); payback = first age with ltv_per_customer >= cac.
# repeat_purchase_rate: of the month's new customers, those whose second purchase came within
# 365 days of the first (Ann 01-19 -> 02-10, Ben 01-20 -> 03-03 (refunded, still a purchase);
# Dan and Fay bought once); null without new customers. The window (month end + 365 days) is
# open on as_of 03-06 for every cohort.
# ---------------------------------------------------------------------------------------
UE_COLUMNS = (
    "spend", "new_customers", "cac", "ltv_12m", "ltv_months_observed", "is_ltv_12m_complete",
    "ltv_to_cac", "payback_months", "repeat_purchase_rate", "is_repeat_window_complete",
)  # fmt: skip
EXPECTED_UE_NONEMPTY = {
    # google: 30 + 20 + 60 = 110 for Ann -> cac 110; ltv at age 2 = 125; 125 / 110;
    # payback: age 0 75 < 110, age 1 125 >= 110 -> 1
    (d(1, 1), "google_ads"): (110.0, 1, 110.0, 125.0, 2, F, 125 / 110, 1, 1.0, F),
    (d(1, 1), "meta_ads"): (40.0, 0, N, N, 2, F, N, N, N, F),
    (d(1, 1), "linkedin_ads"): (140.0, 0, N, N, 2, F, N, N, N, F),  # 100 + 40
    (d(1, 1), "organic_search"): (0.0, 1, 0.0, 80.0, 2, F, N, 0, 1.0, F),  # Ben at cac 0
    (d(1, 1), "direct"): (0.0, 1, 0.0, 100.0, 2, F, N, 0, 0.0, F),  # Dan at cac 0
    # blended 290 / 3; ltv 305 / 3; ratio 305 / 290; age 0 85 < 96.67, age 1 101.67 -> 1
    (d(1, 1), "all"): (290.0, 3, 290 / 3, 305 / 3, 2, F, 305 / 290, 1, 2 / 3, F),
    (d(2, 1), "meta_ads"): (20.0, 0, N, N, 1, F, N, N, N, F),
    (d(2, 1), "all"): (20.0, 0, N, N, 1, F, N, N, N, F),
    (d(3, 1), "google_ads"): (30.0, 0, N, N, 0, F, N, N, N, F),
    (d(3, 1), "meta_ads"): (0.0, 1, 0.0, 100.0, 0, F, N, 0, 0.0, F),  # Fay at cac 0
    # blended 30 / 1; ltv 100; 100 / 30; age 0 100 >= 30 -> 0
    (d(3, 1), "all"): (30.0, 1, 30.0, 100.0, 0, F, 100 / 30, 0, 0.0, F),
}


def test_unit_economics_monthly_every_row(marts):
    expected = {}
    for month, age in ((d(1, 1), 2), (d(2, 1), 1), (d(3, 1), 0)):
        for channel in (*CHANNELS, "all"):
            figures = EXPECTED_UE_NONEMPTY.get((month, channel), (0.0, 0, N, N, age, F, N, N, N, F))
            expected[(month, channel)] = dict(zip(UE_COLUMNS, figures, strict=True))
    problems = _mismatches(
        _rows(marts, "unit_economics_monthly"), expected, ("cohort_month", "channel")
    )
    assert problems == []


# ---------------------------------------------------------------------------------------
# customers: one row per person with a purchase (Eve's only order is cancelled; Zed is
# erased). customer_key = HMAC-SHA256(secret, lower(trim(email))), computed here with the
# standard library. as_of 03-06: every last purchase is within 90 days -> active.
# ---------------------------------------------------------------------------------------
CUSTOMER_COLUMNS = (
    "cohort_month", "acquisition_channel", "first_purchase_date", "last_purchase_date",
    "purchases", "net_revenue", "status", "marketing_consent",
)  # fmt: skip
EXPECTED_CUSTOMERS = {
    # 100 - 25 + 50 = 125; last purchase 02-10 (24 days before as_of)
    "ann": (d(1, 1), "google_ads", d(1, 19), d(2, 10), 2, 125.0, "active", True),
    # 80 + (40 - 40) = 80; consent false after the 01-15 update
    "ben": (d(1, 1), "organic_search", d(1, 20), d(3, 3), 2, 80.0, "active", False),
    # 80 EUR at 0.8 = 100; no CRM record -> direct, consent false
    "dan": (d(1, 1), "direct", d(1, 25), d(1, 25), 1, 100.0, "active", False),
    # 25 GBP at 0.25 = 100
    "fay": (d(3, 1), "meta_ads", d(3, 5), d(3, 5), 1, 100.0, "active", True),
}


def _customer_key(email: str) -> str:
    secret = os.environ["FUNNEL_PSEUDONYMISATION_SECRET"].encode()
    return hmac.new(secret, email.strip().lower().encode(), hashlib.sha256).hexdigest()


def test_customers_every_row(marts):
    rows = _rows(marts, "customers")
    expected = {
        (_customer_key(EMAILS[name]),): dict(zip(CUSTOMER_COLUMNS, figures, strict=True))
        for name, figures in EXPECTED_CUSTOMERS.items()
    }
    assert _mismatches(rows, expected, ("customer_key",)) == []
    for row in rows:
        # statistical model outputs: only their range is checkable by hand
        assert row["p_alive"] is None or 0.0 <= row["p_alive"] <= 1.0
        assert row["predicted_ltv_12m"] is None or (
            row["predicted_ltv_12m"] >= 0.0 and not math.isinf(row["predicted_ltv_12m"])
        )


def test_marts_have_the_published_columns(marts):
    columns = {mart: _columns(marts, mart) for mart in MART_NAMES}
    assert columns == {
        "funnel_daily": ["date", "channel", "stage", *FUNNEL_COLUMNS],
        "cac_daily": ["date", "channel", "attribution_model", *CAC_COLUMNS, "cac_7d", "cac_30d"],
        "ltv_cohorts": ["cohort_month", "channel", "months_since_first_purchase", *LTV_COLUMNS],
        "lifecycle_monthly": ["month", "state", "customers"],
        "unit_economics_monthly": ["cohort_month", "channel", *UE_COLUMNS],
        "customers": ["customer_key", *CUSTOMER_COLUMNS, "p_alive", "predicted_ltv_12m"],
    }


def _columns(path: Path, mart: str) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [c[0] for c in con.execute(f"select * from marts.{mart} limit 0").description]
    finally:
        con.close()
