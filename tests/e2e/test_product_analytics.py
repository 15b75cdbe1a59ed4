"""The product-analytics semantics on hand-written landing zones, every figure worked out by
hand (the arithmetic is in the comments), never by project code: conversion windows in
minutes and hours, the funnel over weeks and months, recurring retention by day, week and
month, and the repeat purchase rate.

The window is set for a run the way a deployment sets it, through the environment variables
that `dbt_project.yml` reads (FUNNEL_CONVERSION_WINDOW_UNIT / _LENGTH, and
FUNNEL_REPEAT_WINDOW_DAYS); each run starts from a fresh warehouse, i.e. a full build.

The minute world (5-minute window, 30-day repeat window), 2026-01-05 .. 2026-05-10 (the last
landed day, so as_of_date, a Sunday). All times UTC.
- Pia (email): touch 04-06 09:00, contact created 09:04 (+4 min), mql 09:06 (+2 min), order
  P1 50 USD 09:10 (intent skipped: entered at 09:10, 4 min after mql; purchase 0 min later).
- Raj (email): touch 04-07 09:00, contact 09:06 (+6 min: out), mql 09:09 (+3 min).
- Sue (email): touch 04-08 10:00, contact 11:00 (+60 min: out), mql 05-10 12:00.
- Tom (google_ads): touch 04-09 08:00, contact 08:01 (+1 min).
- Dee, Wes, Mia: shop customers with no CRM record (acquisition channel direct), each
  passing awareness .. purchase at their first purchase and loyalty at the second:
    Dee buys 01-05, 01-06, 01-09 10:00 (days 1, 2 and 5 of the week of Monday 01-05);
    Wes buys 01-07, 01-14, 02-04 10:00 (weeks 1, 2 and 5: the weeks of 01-05, 01-12, 02-02);
    Mia buys 01-20, 02-20, 05-05 10:00 (months 1, 2 and 5: January, February, May).
One google_ads spend row (01-05) and a USD rate on the first and last days.

The hour world (36-hour window), 2026-01-05 .. 2026-01-12 (as_of_date):
- Hal (referral): touch 01-05 00:00, contact 01-06 12:00 (+36 h: in, the bound).
- Ivy (referral): touch 01-05 00:00, contact 01-06 13:00 (+37 h: out, although the next
  calendar day, which a calendar-day window counts).
- Joe (referral): touch 01-10 12:00, contact 01-11 12:00 (+24 h).
- Kim and Lou: shop customers (direct) so the run has customers to predict for.
"""

from __future__ import annotations

import datetime as dt
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.landing_contract import ENTITIES_BY_NAME

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CHANNELS = (
    "google_ads", "meta_ads", "linkedin_ads", "organic_search", "email", "referral", "direct",
)  # fmt: skip
NEW_MARTS = ("funnel_summary", "retention_recurring")
T, F, N = True, False, None
MINUTE = 1 / 60  # one minute in hours


def d(month: int, day: int) -> dt.date:
    return dt.date(2026, month, day)


# ------------------------------------------------------------------------- landing zones
# The first column of each line is the landing day (the file it goes to); the rest, under
# the header, is written verbatim to <entity dir>/<landing day>.csv.
MINUTE_WORLD = {
    "contacts": """\
landing_day,contact_id,email,full_name,country,created_at,updated_at,marketing_consent
2026-04-06,C1,pia@example.com,Pia Park,DE,2026-04-06T09:04:00+00:00,2026-04-06T09:04:00+00:00,true
2026-04-07,C2,raj@example.com,Raj Rao,IN,2026-04-07T09:06:00+00:00,2026-04-07T09:06:00+00:00,true
2026-04-08,C3,sue@example.com,Sue Sato,JP,2026-04-08T11:00:00+00:00,2026-04-08T11:00:00+00:00,true
2026-04-09,C4,tom@example.com,Tom Tate,US,2026-04-09T08:01:00+00:00,2026-04-09T08:01:00+00:00,true
""",
    "touchpoints": """\
landing_day,contact_id,occurred_at,channel,campaign_id,touch_type
2026-04-06,C1,2026-04-06T09:00:00+00:00,email,em-1,open
2026-04-07,C2,2026-04-07T09:00:00+00:00,email,em-1,open
2026-04-08,C3,2026-04-08T10:00:00+00:00,email,em-1,open
2026-04-09,C4,2026-04-09T08:00:00+00:00,google_ads,g-1,click
""",
    "lifecycle_events": """\
landing_day,contact_id,crm_stage,occurred_at
2026-04-06,C1,mql,2026-04-06T09:06:00+00:00
2026-04-07,C2,mql,2026-04-07T09:09:00+00:00
2026-05-10,C3,mql,2026-05-10T12:00:00+00:00
""",
    "orders": """\
landing_day,order_id,customer_email,ordered_at,status,currency,amount
2026-01-05,D1,dee@example.com,2026-01-05T10:00:00+00:00,paid,USD,10.00
2026-01-06,D2,dee@example.com,2026-01-06T10:00:00+00:00,paid,USD,10.00
2026-01-07,W1,wes@example.com,2026-01-07T10:00:00+00:00,paid,USD,10.00
2026-01-09,D3,dee@example.com,2026-01-09T10:00:00+00:00,paid,USD,10.00
2026-01-14,W2,wes@example.com,2026-01-14T10:00:00+00:00,paid,USD,10.00
2026-01-20,M1,mia@example.com,2026-01-20T10:00:00+00:00,paid,USD,10.00
2026-02-04,W3,wes@example.com,2026-02-04T10:00:00+00:00,paid,USD,10.00
2026-02-20,M2,mia@example.com,2026-02-20T10:00:00+00:00,paid,USD,10.00
2026-04-06,P1,pia@example.com,2026-04-06T09:10:00+00:00,paid,USD,50.00
2026-05-05,M3,mia@example.com,2026-05-05T10:00:00+00:00,paid,USD,10.00
""",
    "google_ads": """\
landing_day,date,campaign_id,campaign_name,impressions,clicks,cost_micros,currency_code
2026-01-05,2026-01-05,g-1,Brand,1000,10,30000000,USD
""",
    "fx_rates": """\
landing_day,date,currency,units_per_usd
2026-01-05,2026-01-05,USD,1.0
2026-05-10,2026-05-10,USD,1.0
""",
}

HOUR_WORLD = {
    "contacts": """\
landing_day,contact_id,email,full_name,country,created_at,updated_at,marketing_consent
2026-01-06,C1,hal@example.com,Hal Hart,GB,2026-01-06T12:00:00+00:00,2026-01-06T12:00:00+00:00,true
2026-01-06,C2,ivy@example.com,Ivy Ines,GB,2026-01-06T13:00:00+00:00,2026-01-06T13:00:00+00:00,true
2026-01-11,C3,joe@example.com,Joe Jung,GB,2026-01-11T12:00:00+00:00,2026-01-11T12:00:00+00:00,true
""",
    "touchpoints": """\
landing_day,contact_id,occurred_at,channel,campaign_id,touch_type
2026-01-05,C1,2026-01-05T00:00:00+00:00,referral,,visit
2026-01-05,C2,2026-01-05T00:00:00+00:00,referral,,visit
2026-01-10,C3,2026-01-10T12:00:00+00:00,referral,,visit
""",
    "orders": """\
landing_day,order_id,customer_email,ordered_at,status,currency,amount
2026-01-07,K1,kim@example.com,2026-01-07T10:00:00+00:00,paid,USD,20.00
2026-01-08,L1,lou@example.com,2026-01-08T10:00:00+00:00,paid,USD,30.00
2026-01-09,K2,kim@example.com,2026-01-09T10:00:00+00:00,paid,USD,20.00
""",
    "google_ads": """\
landing_day,date,campaign_id,campaign_name,impressions,clicks,cost_micros,currency_code
2026-01-05,2026-01-05,g-1,Brand,1000,10,30000000,USD
""",
    "fx_rates": """\
landing_day,date,currency,units_per_usd
2026-01-05,2026-01-05,USD,1.0
2026-01-12,2026-01-12,USD,1.0
""",
}


def _write_landing_zone(landing_dir: Path, world: dict[str, str]) -> None:
    for entity_name, text in world.items():
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


@dataclass(frozen=True)
class WorldRun:
    succeeded: bool
    warehouse: Path
    serving: Path


@contextmanager
def _environment(**values: str):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _run_world(root: Path, world: dict[str, str], first: dt.date, last: dt.date, **settings):
    from pipelines.cli import run_range
    from tests.conftest import make_env

    env = make_env(root)
    _write_landing_zone(env.landing_dir, world)
    with _environment(
        FUNNEL_LANDING_DIR=str(env.landing_dir),
        FUNNEL_WAREHOUSE_PATH=str(env.warehouse_path),
        FUNNEL_SERVING_DIR=str(env.serving_dir),
        **settings,
    ):
        succeeded = run_range(first, last)
    return WorldRun(succeeded, env.warehouse_path, env.serving_dir / "marts.duckdb")


@pytest.fixture(scope="module")
def minute_run(tmp_path_factory) -> WorldRun:
    return _run_world(
        tmp_path_factory.mktemp("minute_world"), MINUTE_WORLD, d(1, 5), d(5, 10),
        FUNNEL_CONVERSION_WINDOW_UNIT="minute", FUNNEL_CONVERSION_WINDOW_LENGTH="5",
        FUNNEL_REPEAT_WINDOW_DAYS="30",
    )  # fmt: skip


@pytest.fixture(scope="module")
def hour_run(tmp_path_factory) -> WorldRun:
    return _run_world(
        tmp_path_factory.mktemp("hour_world"), HOUR_WORLD, d(1, 5), d(1, 12),
        FUNNEL_CONVERSION_WINDOW_UNIT="hour", FUNNEL_CONVERSION_WINDOW_LENGTH="36",
    )  # fmt: skip


# ------------------------------------------------------------------------------ helpers
def _rows(path: Path, mart: str, where: str = "true") -> list[dict]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        cursor = con.execute(f"select * from marts.{mart} where {where}")
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _same(actual, expected) -> bool:
    if expected is None or actual is None:
        return actual is expected
    if isinstance(expected, float):
        return actual == pytest.approx(expected, rel=1e-9, abs=1e-12)
    return actual == expected


def _mismatches(actual: list[dict], expected: dict[tuple, dict], key: tuple[str, ...]):
    """Every difference between the mart's rows and the expected ones, keyed by the grain."""
    by_key = {tuple(r[k] for k in key): r for r in actual}
    assert len(by_key) == len(actual), "duplicate grain"
    problems = [f"missing row {k}" for k in sorted(set(expected) - set(by_key), key=str)]
    problems += [
        f"unexpected row {k}: {by_key[k]}" for k in sorted(set(by_key) - set(expected), key=str)
    ]
    for k in sorted(set(expected) & set(by_key), key=str):
        for column, value in expected[k].items():
            if not _same(by_key[k][column], value):
                problems.append(f"{k} {column}: expected {value!r}, got {by_key[k][column]!r}")
    return problems


def test_both_runs_succeed_and_publish_the_new_marts(minute_run, hour_run):
    for run in (minute_run, hour_run):
        assert run.succeeded, "run_range failed: see the FAILED step on stderr"
        for mart in (*NEW_MARTS, "funnel_daily", "unit_economics_monthly"):
            con = duckdb.connect(str(run.serving), read_only=True)
            try:
                published = con.execute(f"select * from marts.{mart} order by all").fetchall()
            finally:
                con.close()
            con = duckdb.connect(str(run.warehouse), read_only=True)
            try:
                built = con.execute(f"select * from marts.{mart} order by all").fetchall()
            finally:
                con.close()
            assert published == built, mart


# ------------------------------------------------------------------------------------
# funnel_daily under the 5-minute window: every email row. An entry converts when the next
# stage is entered at most 5 minutes later; a day's window is complete when the end of the
# day + 5 minutes is at or before the end of 05-10, i.e. for every day before 05-10.
# ------------------------------------------------------------------------------------
DAILY_COLUMNS = (
    "entered", "converted_to_next", "conversion_rate", "median_hours_to_next",
    "is_window_complete", "median_days_to_purchase",
)  # fmt: skip
EXPECTED_MINUTE_DAILY_EMAIL = {
    # Pia: touch 09:00 -> contact 09:04 = 4 min (in)
    (d(4, 6), "awareness"): (1, 1, 1.0, 4 * MINUTE, T, N),
    # Pia: contact 09:04 -> mql 09:06 = 2 min; sales cycle 09:04 -> 09:10 = 6 min = 6/1440 d
    (d(4, 6), "interest"): (1, 1, 1.0, 2 * MINUTE, T, 6 / 1440),
    # Pia: mql 09:06 -> intent (skipped, at her purchase) 09:10 = 4 min
    (d(4, 6), "consideration"): (1, 1, 1.0, 4 * MINUTE, T, N),
    (d(4, 6), "intent"): (1, 1, 1.0, 0.0, T, N),
    # Pia bought once: no loyalty
    (d(4, 6), "purchase"): (1, 0, 0.0, N, T, N),
    # Raj: touch 09:00 -> contact 09:06 = 6 min (out; a calendar-day window counts it)
    (d(4, 7), "awareness"): (1, 0, 0.0, N, T, N),
    # Raj: contact 09:06 -> mql 09:09 = 3 min; never bought
    (d(4, 7), "interest"): (1, 1, 1.0, 3 * MINUTE, T, N),
    (d(4, 7), "consideration"): (1, 0, 0.0, N, T, N),
    # Sue: touch 10:00 -> contact 11:00 = 60 min (out); mql a month later (out)
    (d(4, 8), "awareness"): (1, 0, 0.0, N, T, N),
    (d(4, 8), "interest"): (1, 0, 0.0, N, T, N),
    # Sue's mql on as_of_date: 05-10 00:00 + 5 min > 05-10 00:00 (an entry at 23:59 of the
    # day closes after the end of the day): open
    (d(5, 10), "consideration"): (1, 0, 0.0, N, F, N),
}


def test_funnel_daily_five_minute_window(minute_run):
    expected = {
        (date, "email", stage): dict(zip(DAILY_COLUMNS, figures, strict=True))
        for (date, stage), figures in EXPECTED_MINUTE_DAILY_EMAIL.items()
    }
    rows = _rows(minute_run.warehouse, "funnel_daily", "channel = 'email'")
    assert _mismatches(rows, expected, ("date", "channel", "stage")) == []


# ------------------------------------------------------------------------------------
# funnel_summary under the 5-minute window: every row. Weeks are ISO weeks from Monday.
# Columns: entered, converted_to_next, conversion_rate, median and p90 hours to next,
# overall_conversion_to_purchase (first stage only), is_window_complete (the period's last
# day + 5 min at or before the end of 05-10: every period but the week of 05-04 and May).
# ------------------------------------------------------------------------------------
SUMMARY_COLUMNS = (
    "stage_order", "entered", "converted_to_next", "conversion_rate", "median_hours_to_next",
    "p90_hours_to_next", "overall_conversion_to_purchase", "is_window_complete",
)  # fmt: skip
STAGE_ORDER = {
    "awareness": 1, "interest": 2, "consideration": 3, "intent": 4, "purchase": 5, "loyalty": 6,
}  # fmt: skip


def _direct_first_purchases(people: int) -> dict[str, tuple]:
    """Shop customers without CRM: every stage up to purchase at the purchase moment, so each
    stage converts to the next after 0 hours (median and p90 0) and the overall conversion is
    1; purchase -> loyalty takes a day or more: never within 5 minutes."""
    same_moment = (people, people, 1.0, 0.0, 0.0)
    return {
        "awareness": (*same_moment, 1.0),
        "interest": (*same_moment, N),
        "consideration": (*same_moment, N),
        "intent": (*same_moment, N),
        "purchase": (people, 0, 0.0, N, N, N),
    }


LOYALTY_ONLY = (N, N, N, N, N)  # the last stage has no next stage

# April: Pia, Raj, Sue (email) and Tom (google_ads), all in the week of 04-06.
APRIL_EMAIL = {
    # Pia 4 min (in), Raj 6 (out), Sue 60 (out): 1 of 3. Overall: Pia bought 10 min after
    # her touch, beyond 5 min -> 0 of 3
    "awareness": (3, 1, 1 / 3, 4 * MINUTE, 4 * MINUTE, 0.0),
    # Pia 2 min, Raj 3 min, Sue out: 2 of 3; median of two (2 + 3) / 2 = 2.5 min; p90
    # 2 + 0.9 * (3 - 2) = 2.9 min
    "interest": (3, 2, 2 / 3, 2.5 * MINUTE, 2.9 * MINUTE, N),
    # Pia 4 min to intent; Raj never reached intent
    "consideration": (2, 1, 0.5, 4 * MINUTE, 4 * MINUTE, N),
    "intent": (1, 1, 1.0, 0.0, 0.0, N),
    "purchase": (1, 0, 0.0, N, N, N),
}
APRIL_GOOGLE = {
    # Tom: touch 08:00 -> contact 08:01 = 1 min; no mql
    "awareness": (1, 1, 1.0, 1 * MINUTE, 1 * MINUTE, 0.0),
    "interest": (1, 0, 0.0, N, N, N),
}
APRIL_ALL = {
    # Pia 4 min, Tom 1 min converted of 4: median of two (1 + 4) / 2 = 2.5 min, p90 1 + 0.9 *
    # 3 = 3.7 min; overall 0 of 4
    "awareness": (4, 2, 0.5, 2.5 * MINUTE, 3.7 * MINUTE, 0.0),
    # Pia 2 min, Raj 3 min of 4 (Sue and Tom never reached mql)
    "interest": (4, 2, 0.5, 2.5 * MINUTE, 2.9 * MINUTE, N),
    "consideration": APRIL_EMAIL["consideration"],
    "intent": APRIL_EMAIL["intent"],
    "purchase": APRIL_EMAIL["purchase"],
}


def _expected_minute_summary() -> dict[tuple, dict]:
    periods: dict[tuple, dict[str, tuple]] = {
        # week of 01-05: Dee (01-05) and Wes (01-07) first purchases; Dee's second purchase
        # 01-06 (loyalty)
        ("week", d(1, 5), "direct"): {**_direct_first_purchases(2), "loyalty": (1, *LOYALTY_ONLY)},
        # Wes's second purchase 01-14
        ("week", d(1, 12), "direct"): {"loyalty": (1, *LOYALTY_ONLY)},
        # Mia's first purchase 01-20
        ("week", d(1, 19), "direct"): _direct_first_purchases(1),
        # Mia's second purchase 02-20
        ("week", d(2, 16), "direct"): {"loyalty": (1, *LOYALTY_ONLY)},
        ("week", d(4, 6), "email"): APRIL_EMAIL,
        ("week", d(4, 6), "google_ads"): APRIL_GOOGLE,
        ("week", d(4, 6), "all"): APRIL_ALL,
        # Sue's mql on 05-10 (nothing after it)
        ("week", d(5, 4), "email"): {"consideration": (1, 0, 0.0, N, N, N)},
        # January: Dee, Wes, Mia; loyalty Dee 01-06 and Wes 01-14
        ("month", d(1, 1), "direct"): {**_direct_first_purchases(3), "loyalty": (2, *LOYALTY_ONLY)},
        ("month", d(2, 1), "direct"): {"loyalty": (1, *LOYALTY_ONLY)},  # Mia 02-20
        ("month", d(4, 1), "email"): APRIL_EMAIL,
        ("month", d(4, 1), "google_ads"): APRIL_GOOGLE,
        ("month", d(4, 1), "all"): APRIL_ALL,
        ("month", d(5, 1), "email"): {"consideration": (1, 0, 0.0, N, N, N)},
    }
    # Periods with people of one channel only: `all` is that channel's row.
    for (grain, start, channel), stages in list(periods.items()):
        if channel != "all" and (grain, start, "all") not in periods:
            periods[(grain, start, "all")] = stages
    expected = {}
    for (grain, start, channel), stages in periods.items():
        complete = (grain, start) not in {("week", d(5, 4)), ("month", d(5, 1))}
        for stage, figures in stages.items():
            expected[(grain, start, channel, stage)] = dict(
                zip(SUMMARY_COLUMNS, (STAGE_ORDER[stage], *figures, complete), strict=True)
            )
    return expected


def test_funnel_summary_five_minute_window_every_row(minute_run):
    rows = _rows(minute_run.warehouse, "funnel_summary")
    problems = _mismatches(
        rows, _expected_minute_summary(), ("period_grain", "period_start", "channel", "stage")
    )
    assert problems == [], "\n".join(problems)


# ------------------------------------------------------------------------------------
# The 36-hour window (hour world), as of 01-12: referral rows (Kim and Lou are direct).
# ------------------------------------------------------------------------------------
EXPECTED_HOUR_DAILY_REFERRAL = {
    # Hal 36 h (in), Ivy 37 h (out): 1 of 2, median 36 h. Complete: 01-05 + 36 h = 01-06
    # 12:00 <= 01-12 00:00
    (d(1, 5), "awareness"): (2, 1, 0.5, 36.0, T, N),
    # Hal and Ivy: no mql
    (d(1, 6), "interest"): (2, 0, 0.0, N, T, N),
    # Joe: 01-10 12:00 -> 01-11 12:00 = 24 h. Complete: 01-10 + 36 h = 01-11 12:00 <= 01-12
    (d(1, 10), "awareness"): (1, 1, 1.0, 24.0, T, N),
    # 01-11 + 36 h = 01-12 12:00 > 01-12 00:00 (an entry at 23:59 on 01-11 closes at 01-13
    # 11:59, after the end of 01-12): open
    (d(1, 11), "interest"): (1, 0, 0.0, N, F, N),
}


def test_funnel_daily_36_hour_window(hour_run):
    expected = {
        (date, "referral", stage): dict(zip(DAILY_COLUMNS, figures, strict=True))
        for (date, stage), figures in EXPECTED_HOUR_DAILY_REFERRAL.items()
    }
    rows = _rows(hour_run.warehouse, "funnel_daily", "channel = 'referral'")
    assert _mismatches(rows, expected, ("date", "channel", "stage")) == []


def test_funnel_summary_36_hour_window(hour_run):
    # The week of 12-29 holds nothing; week of 01-05 (to Sunday 01-11) and January hold all
    # three: awareness Hal 36 h, Ivy out, Joe 24 h -> 2 of 3, median (24 + 36) / 2 = 30 h,
    # p90 24 + 0.9 * 12 = 34.8 h, nobody bought -> overall 0. Interest: nobody reached mql.
    # Complete: the week's last day 01-11 + 36 h = 01-12 12:00 > 01-12 00:00: open; January
    # is in progress: open.
    stages = {
        "awareness": (1, 3, 2, 2 / 3, 30.0, 34.8, 0.0, F),
        "interest": (2, 3, 0, 0.0, N, N, N, F),
    }
    expected = {
        (grain, start, "referral", stage): dict(zip(SUMMARY_COLUMNS, figures, strict=True))
        for grain, start in (("week", d(1, 5)), ("month", d(1, 1)))
        for stage, figures in stages.items()
    }
    rows = _rows(hour_run.warehouse, "funnel_summary", "channel = 'referral'")
    problems = _mismatches(rows, expected, ("period_grain", "period_start", "channel", "stage"))
    assert problems == [], "\n".join(problems)


# ------------------------------------------------------------------------------------
# retention_recurring (minute world), as of Sunday 05-10. Purchase days by customer:
#   Dee (direct) 01-05, 01-06, 01-09; Wes (direct) 01-07, 01-14, 02-04;
#   Mia (direct) 01-20, 02-20, 05-05; Pia (email) 04-06.
# Each period below: its buyers, the last offset k (days: min(90, days to 05-10); weeks:
# weeks to the week of 05-04; months: months to May) and the offsets with a return; every
# other k from 0 to the last has retained 0. No period has buyers of two channels, so each
# `all` row equals its channel's row.
# ------------------------------------------------------------------------------------
EXPECTED_RETENTION = {
    # (grain, period_start, channel): (active_customers, last k, {k: retained})
    # day: Dee's days 1, 2 and 5 of the week: from 01-05, 01-06 is k = 1 and 01-09 k = 4
    ("day", d(1, 5), "direct"): (1, 90, {0: 1, 1: 1, 4: 1}),  # 125 days to 05-10: cap 90
    ("day", d(1, 6), "direct"): (1, 90, {0: 1, 3: 1}),  # 01-09
    ("day", d(1, 7), "direct"): (1, 90, {0: 1, 7: 1, 28: 1}),  # Wes 01-14, 02-04
    ("day", d(1, 9), "direct"): (1, 90, {0: 1}),
    ("day", d(1, 14), "direct"): (1, 90, {0: 1, 21: 1}),  # 02-04
    # Mia 02-20 is k = 31; 05-05 is k = 105, beyond the cap of 90
    ("day", d(1, 20), "direct"): (1, 90, {0: 1, 31: 1}),
    # 02-04 -> 05-10 = 24 + 31 + 30 + 10 = 95 days: cap 90; Wes never again
    ("day", d(2, 4), "direct"): (1, 90, {0: 1}),
    # 02-20 -> 05-10 = 8 + 31 + 30 + 10 = 79 days; 05-05 is k = 79 - 5 = 74
    ("day", d(2, 20), "direct"): (1, 79, {0: 1, 74: 1}),
    ("day", d(4, 6), "email"): (1, 34, {0: 1}),  # 24 + 10 = 34 days to 05-10
    ("day", d(5, 5), "direct"): (1, 5, {0: 1}),
    # week: the week of 01-05 holds Dee (3 days, one buyer) and Wes; Wes's weeks 1, 2, 5
    # are k = 0, 1 and 4 (02-02 is 28 days after 01-05). 01-05 -> 05-04 = 119 days = 17 weeks
    ("week", d(1, 5), "direct"): (2, 17, {0: 2, 1: 1, 4: 1}),
    ("week", d(1, 12), "direct"): (1, 16, {0: 1, 3: 1}),  # Wes again in the week of 02-02
    # Mia: week of 02-16 is k = 4, week of 05-04 k = 15 (105 days)
    ("week", d(1, 19), "direct"): (1, 15, {0: 1, 4: 1, 15: 1}),
    ("week", d(2, 2), "direct"): (1, 13, {0: 1}),  # 91 days to 05-04
    ("week", d(2, 16), "direct"): (1, 11, {0: 1, 11: 1}),  # 77 days to 05-04
    ("week", d(4, 6), "email"): (1, 4, {0: 1}),
    ("week", d(5, 4), "direct"): (1, 0, {0: 1}),
    # month: January's buyers Dee, Wes, Mia; in February Wes and Mia; in May Mia (months 1,
    # 2 and 5 of Mia: k = 0, 1, 4)
    ("month", d(1, 1), "direct"): (3, 4, {0: 3, 1: 2, 4: 1}),
    ("month", d(2, 1), "direct"): (2, 3, {0: 2, 3: 1}),  # Mia in May
    ("month", d(4, 1), "email"): (1, 1, {0: 1}),
    ("month", d(5, 1), "direct"): (1, 0, {0: 1}),
}


def _period_end(grain: str, start: dt.date, k: int) -> dt.date:
    """Last day of period start + k."""
    if grain == "day":
        return start + dt.timedelta(days=k)
    if grain == "week":
        return start + dt.timedelta(days=7 * k + 6)
    month = start.month - 1 + k
    first_of_next = dt.date(start.year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return first_of_next - dt.timedelta(days=1)


def _expected_retention() -> dict[tuple, dict]:
    expected = {}
    for (grain, start, channel), (active, last_k, returns) in EXPECTED_RETENTION.items():
        for k in range(last_k + 1):
            retained = returns.get(k, 0)
            row = {
                "active_customers": active,
                "retained_customers": retained,
                "retention_rate": retained / active,
                # only May (to 05-31) is still in progress on 05-10
                "is_period_complete": _period_end(grain, start, k) <= d(5, 10),
            }
            expected[(grain, start, k, channel)] = row
            expected[(grain, start, k, "all")] = row
    return expected


def test_retention_recurring_every_row(minute_run):
    expected = _expected_retention()
    # the rule for the incomplete periods agrees with the hand: May only
    assert {k for k, r in expected.items() if not r["is_period_complete"]} == {
        ("month", d(1, 1), 4, "direct"), ("month", d(1, 1), 4, "all"),
        ("month", d(2, 1), 3, "direct"), ("month", d(2, 1), 3, "all"),
        ("month", d(4, 1), 1, "email"), ("month", d(4, 1), 1, "all"),
        ("month", d(5, 1), 0, "direct"), ("month", d(5, 1), 0, "all"),
    }  # fmt: skip
    rows = _rows(minute_run.warehouse, "retention_recurring")
    problems = _mismatches(
        rows, expected, ("period_grain", "period_start", "periods_since", "channel")
    )
    assert problems == [], f"{len(problems)} differences:\n" + "\n".join(problems[:60])


# ------------------------------------------------------------------------------------
# unit_economics_monthly repeat purchase (minute world, repeat window 30 days), January to
# May x 7 channels + all. January (direct): Dee's second purchase 1 day after her first
# (in), Wes's 7 days (in), Mia's 01-20 -> 02-20 = 31 days (out): 2 of 3. April (email): Pia
# bought once: 0 of 1. Other months and channels: no new customers, rate null.
# Window complete when the month's last day + 30 <= 05-10: January (03-02), February (03-30),
# March (04-30) yes; April (05-30) and May no.
# ------------------------------------------------------------------------------------
EXPECTED_REPEAT = {
    (d(1, 1), "direct"): 2 / 3,
    (d(1, 1), "all"): 2 / 3,
    (d(4, 1), "email"): 0.0,
    (d(4, 1), "all"): 0.0,
}


def test_unit_economics_repeat_purchase_rate_and_window(minute_run):
    expected = {}
    for month in (d(1, 1), d(2, 1), d(3, 1), d(4, 1), d(5, 1)):
        for channel in (*CHANNELS, "all"):
            expected[(month, channel)] = {
                "repeat_purchase_rate": EXPECTED_REPEAT.get((month, channel)),
                "is_repeat_window_complete": month <= d(3, 1),
            }
    rows = _rows(minute_run.warehouse, "unit_economics_monthly")
    assert _mismatches(rows, expected, ("cohort_month", "channel")) == []
