"""The landing-zone generator: determinism, the daily append, the contract, and its knobs.

Generated files are inspected with DuckDB's read_csv (all columns as text, as they land),
so every check reads what a downstream extractor would read.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from pipelines.generator import append_day, generate_landing_zone
from pipelines.generator.cli import main
from pipelines.lib.landing_contract import CHANNELS, ENTITIES, PAID_CHANNELS

pytestmark = pytest.mark.unit

START = dt.date(2026, 1, 1)
PAID_AD_ENTITIES = {"google_ads": "date", "meta_ads": "date_start", "linkedin_ads": "day"}
TIMESTAMP_COLUMNS = {
    "contacts": "created_at",
    "lifecycle_events": "occurred_at",
    "touchpoints": "occurred_at",
    "orders": "ordered_at",
    "refunds": "refunded_at",
}


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@functools.cache
def _db(zone: Path) -> duckdb.DuckDBPyConnection:
    """The zone's files loaded once, one all-text table per entity, named as the entity."""
    con = duckdb.connect()
    for entity in ENTITIES:
        if not any((zone / entity.directory).glob("*.csv")):
            continue  # erasure requests exist only on days with a request
        pattern = f"{zone / entity.directory}/*.csv"
        con.execute(
            f"create table {entity.name} as "
            f"select * from read_csv('{pattern}', all_varchar = true, header = true)"
        )
    return con


def _query(zone: Path, sql: str) -> list[tuple]:
    return _db(zone).sql(sql).fetchall()


def _one(zone: Path, sql: str):
    return _query(zone, sql)[0]


_VALID = {
    "contacts": "contact_id is not null and try_cast(created_at as timestamptz) is not null",
    "lifecycle_events": "contact_id is not null "
    "and try_cast(occurred_at as timestamptz) is not null",
    "touchpoints": "contact_id is not null and try_cast(occurred_at as timestamptz) is not null "
    f"and channel in {tuple(CHANNELS)}",
    "orders": "order_id is not null and try_cast(ordered_at as timestamptz) is not null "
    "and try_cast(amount as decimal(18, 4)) is not null",
    "refunds": "order_id is not null and try_cast(refunded_at as timestamptz) is not null "
    "and try_cast(amount as decimal(18, 4)) is not null",
}


def _valid(entity: str) -> str:
    """SQL of the rows of an entity whose ids, timestamps and amounts parse."""
    return f"(select * from {entity} where {_VALID[entity]})"


def _malformed_count(zone: Path) -> int:
    """Rows an extractor must reject, counted per entity from the contract's rules."""
    total = 0
    for entity in TIMESTAMP_COLUMNS:
        all_rows = _one(zone, f"select count(*) from {entity}")[0]
        valid = _one(zone, f"select count(*) from {_valid(entity)}")[0]
        total += all_rows - valid
    bad_ads = {
        "google_ads": "try_cast(cost_micros as bigint) is null",
        "meta_ads": "try_cast(spend as decimal(18, 4)) is null",
        "linkedin_ads": "try_cast(cost_in_local_currency as decimal(18, 4)) is null",
    }
    for entity, date_col in PAID_AD_ENTITIES.items():
        total += _one(
            zone,
            f"select count(*) from {entity} where campaign_id is null "
            f"or try_cast({date_col} as date) is null or {bad_ads[entity]}",
        )[0]
    total += _one(
        zone,
        "select count(*) from fx_rates where try_cast(date as date) is null "
        "or try_cast(units_per_usd as double) is null",
    )[0]
    return total


def _duplicate_count(zone: Path) -> int:
    total = 0
    for entity in ENTITIES:
        if entity.name == "erasure_requests":
            continue
        total += _one(
            zone,
            f"select (select count(*) from {entity.name}) "
            f"- (select count(*) from (select distinct * from {entity.name}))",
        )[0]
    return total


def _messy_email_count(zone: Path) -> int:
    contacts = _one(zone, "select count(*) from contacts where email <> lower(trim(email))")[0]
    orders = _one(
        zone, "select count(*) from orders where customer_email <> lower(trim(customer_email))"
    )[0]
    return contacts + orders


def _updated_contact_count(zone: Path) -> int:
    return _one(
        zone,
        f"select count(*) from (select contact_id from {_valid('contacts')} "
        "group by contact_id having count(distinct updated_at) > 1)",
    )[0]


@pytest.fixture(scope="module")
def zone(tmp_path_factory) -> Path:
    """A 90-day landing zone, small but long enough for late refunds and erasures."""
    root = tmp_path_factory.mktemp("zone")
    generate_landing_zone(root, START, days=90, contacts_per_day=25, seed=12, messy_rate=0.02)
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Generate (and cache) a short landing zone per parameter set."""
    made: dict[tuple, Path] = {}

    def make(days=8, contacts_per_day=15, seed=5, messy_rate=0.05) -> Path:
        key = (days, contacts_per_day, seed, messy_rate)
        if key not in made:
            root = tmp_path_factory.mktemp("tiny")
            generate_landing_zone(root, START, days, contacts_per_day, seed, messy_rate)
            made[key] = root
        return made[key]

    return make


def test_same_seed_gives_byte_identical_files(tiny, tmp_path):
    generate_landing_zone(tmp_path, START, days=8, contacts_per_day=15, seed=5, messy_rate=0.05)
    first, second = _hashes(tiny()), _hashes(tmp_path)
    assert len(first) > 8 * 9  # nine entities with a file a day, and the parameters file
    assert first == second


def test_append_day_equals_generating_one_more_day(tiny, tmp_path):
    generate_landing_zone(tmp_path, START, days=7, contacts_per_day=15, seed=5, messy_rate=0.05)
    before = _hashes(tmp_path)
    counts = append_day(tmp_path)
    after = _hashes(tmp_path)
    assert {name: after[name] for name in before if name != "_generator.json"} == {
        name: digest for name, digest in before.items() if name != "_generator.json"
    }
    new_files = sorted(set(after) - set(before))
    assert len(new_files) >= 9 and all("2026-01-08" in name for name in new_files)
    assert after == _hashes(tiny(days=8))  # generated in one go, same seed
    assert counts["contacts"] > 0 and counts["touchpoints"] > 0
    assert json.loads((tmp_path / "_generator.json").read_text())["days"] == 8


def test_a_days_files_do_not_depend_on_how_many_days_are_generated(tiny):
    short, longer = _hashes(tiny(days=8)), _hashes(tiny(days=20))
    del short["_generator.json"]
    assert {name: longer[name] for name in short} == short


def test_every_entity_has_exactly_the_contract_columns(zone):
    for entity in ENTITIES:
        files = sorted((zone / entity.directory).glob("*.csv"))
        if entity.name != "erasure_requests":
            assert len(files) == 90, entity.name  # a file every day, header-only if empty
        assert files, entity.name
        header = ",".join(entity.column_names)
        for path in files:
            with path.open() as lines:
                assert lines.readline().rstrip("\n") == header, path
        described = _query(zone, f"describe select * from {entity.name}")
        assert tuple(row[0] for row in described) == entity.column_names


def test_messy_rate_moves_malformed_duplicate_and_messy_email_counts(tiny):
    clean, messy = (
        tiny(days=10, contacts_per_day=20, messy_rate=0.0),
        tiny(days=10, contacts_per_day=20, messy_rate=0.2),
    )
    assert _malformed_count(clean) == 0
    assert _duplicate_count(clean) == 0
    assert _messy_email_count(clean) == 0
    assert _updated_contact_count(clean) == 0
    assert _malformed_count(messy) > 50
    assert _duplicate_count(messy) > 50
    assert _messy_email_count(messy) > 20
    assert _updated_contact_count(messy) > 5


def test_messy_rows_leave_the_clean_data_recoverable(tiny):
    """Messiness is added on top: deduplicated, normalised valid rows are the same."""
    clean, messy = (
        tiny(days=10, contacts_per_day=20, messy_rate=0.0),
        tiny(days=10, contacts_per_day=20, messy_rate=0.2),
    )

    def normalised_orders(zone: Path) -> set:
        return set(
            _query(
                zone,
                "select distinct order_id, lower(trim(customer_email)), ordered_at, status, "
                f"currency, amount from {_valid('orders')}",
            )
        )

    def touches(zone: Path) -> set:
        return set(_query(zone, f"select distinct * from {_valid('touchpoints')}"))

    assert normalised_orders(clean) and normalised_orders(clean) == normalised_orders(messy)
    assert touches(clean) and touches(clean) == touches(messy)


def test_contacts_per_day_scales_contacts(tiny):
    def contacts(zone: Path) -> int:
        return _one(zone, "select count(distinct contact_id) from contacts")[0]

    single = contacts(tiny(days=10, contacts_per_day=20, messy_rate=0.0))
    double = contacts(tiny(days=10, contacts_per_day=40, messy_rate=0.0))
    assert 170 <= single <= 230
    assert 1.7 <= double / single <= 2.3


def test_seed_changes_every_days_contacts(tiny):
    one, other = _hashes(tiny(seed=5)), _hashes(tiny(seed=6))
    contact_files = [name for name in one if name.startswith("crm/contacts/")]
    assert len(contact_files) == 8
    assert all(one[name] != other[name] for name in contact_files)


def test_touchpoints_use_all_seven_channels(zone):
    channels = _query(zone, f"select distinct channel from {_valid('touchpoints')}")
    assert {row[0] for row in channels} == set(CHANNELS)


def test_channels_convert_differently(zone):
    """Referral-acquired contacts become customers more often than Meta-acquired ones."""
    rates = dict(
        _query(
            zone,
            f"""
            with first_touch as (
                select contact_id, arg_min(channel, occurred_at::timestamptz) as channel
                from {_valid("touchpoints")} group by contact_id),
            customers as (
                select distinct contact_id from {_valid("lifecycle_events")}
                where crm_stage = 'customer')
            select channel, avg((customers.contact_id is not null)::int)
            from first_touch left join customers using (contact_id)
            group by channel
            """,
        )
    )
    assert rates["referral"] > 1.5 * rates["meta_ads"]


def test_touches_precede_contact_creation_for_most_contacts(zone):
    before, total = _one(
        zone,
        f"""
        with first_touch as (
            select contact_id, min(occurred_at::timestamptz) as at
            from {_valid("touchpoints")} group by contact_id),
        created as (
            select contact_id, min(created_at::timestamptz) as at
            from {_valid("contacts")} group by contact_id)
        select count(*) filter (where first_touch.at < created.at), count(*)
        from first_touch join created using (contact_id)
        """,
    )
    assert before > 0.8 * total


def test_crm_paths_skip_stages_and_move_back(zone):
    skipped, moved_back = _one(
        zone,
        f"""
        with ranked as (
            select contact_id, occurred_at::timestamptz as occurred,
                list_position(['lead', 'mql', 'sql', 'opportunity', 'customer'], crm_stage)
                    as rank
            from {_valid("lifecycle_events")}),
        steps as (
            select rank, lag(rank) over (partition by contact_id order by occurred, rank)
                as previous
            from ranked)
        select count(*) filter (where rank > previous + 1 and rank < 5),
            count(*) filter (where rank < previous)
        from steps
        """,
    )
    assert skipped > 0 and moved_back > 0
    stages = _query(zone, "select distinct crm_stage from lifecycle_events")
    assert {row[0] for row in stages} == {"lead", "mql", "sql", "opportunity", "customer"}


def test_orders_statuses_repeat_purchases_and_refunds(zone):
    statuses = dict(
        _query(zone, f"select status, count(*) from {_valid('orders')} group by status")
    )
    assert set(statuses) == {"paid", "cancelled", "refunded"}
    assert statuses["paid"] > 5 * (statuses["cancelled"] + statuses["refunded"]) / 2
    repeat_buyers = _one(
        zone,
        f"select count(*) from (select lower(trim(customer_email)) from "
        f"{_valid('orders')} group by 1 having count(distinct order_id) > 1)",
    )[0]
    assert repeat_buyers > 10
    full, partial, not_refunded_status, over_refunded = _one(
        zone,
        f"""
        select count(*) filter (where r.amount::decimal = o.amount::decimal),
            count(*) filter (where r.amount::decimal < o.amount::decimal),
            count(*) filter (where o.status <> 'refunded'),
            count(*) filter (where r.amount::decimal > o.amount::decimal)
        from (select distinct * from {_valid("refunds")}) r
        join (select distinct * from {_valid("orders")}) o using (order_id)
        """,
    )
    assert full > 0 and partial > 0
    assert not_refunded_status == 0 and over_refunded == 0


def test_some_refunds_land_30_or_more_days_after_their_order(zone):
    late = _one(
        zone,
        f"""
        select count(*) from {_valid("refunds")} r
        join {_valid("orders")} o using (order_id)
        where r.refunded_at::timestamptz >= o.ordered_at::timestamptz + interval 30 days
        """,
    )[0]
    assert late > 0


def test_some_orders_match_no_contact(zone):
    unmatched, matched = _one(
        zone,
        f"""
        with buyers as (select distinct lower(trim(customer_email)) as email
                        from {_valid("orders")}),
             contacts as (select distinct lower(trim(email)) as email
                          from contacts)
        select count(*) filter (where contacts.email is null),
               count(*) filter (where contacts.email is not null)
        from buyers left join contacts using (email)
        """,
    )
    assert unmatched > 0 and matched > unmatched


def test_fx_rates_have_three_currencies_and_gaps(zone):
    rows = _query(
        zone,
        "select currency, count(distinct date), min(units_per_usd::double), "
        "max(units_per_usd::double) from fx_rates "
        "where try_cast(units_per_usd as double) is not null and try_cast(date as date) "
        "is not null group by currency",
    )
    by_currency = {currency: (days, low, high) for currency, days, low, high in rows}
    assert {"USD", "EUR", "GBP"} <= set(by_currency)
    assert by_currency["USD"] == (90, 1.0, 1.0)
    assert any(days < 90 for days, _, _ in by_currency.values())  # a skipped day


def test_ad_spend_per_platform_and_paid_touch_campaigns_exist(zone):
    ads = " union all ".join(
        f"select '{entity}' as channel, {date_col} as date, campaign_id from {entity}"
        for entity, date_col in PAID_AD_ENTITIES.items()
    )
    unknown, paid_touches = _one(
        zone,
        f"""
        with ads as ({ads}),
        paid as (
            select channel, campaign_id,
                strftime(occurred_at::timestamptz at time zone 'UTC', '%Y-%m-%d') as date
            from {_valid("touchpoints")} where channel in {PAID_CHANNELS})
        select count(*) filter (where not exists (
                   select 1 from ads where ads.channel = paid.channel
                   and ads.campaign_id = paid.campaign_id and ads.date = paid.date)),
               count(*)
        from paid
        """,
    )
    assert paid_touches > 100 and unknown == 0
    campaigns_per_day = _one(
        zone,
        "select min(n) from (select date, count(distinct campaign_id) as n "
        "from google_ads group by date)",
    )[0]
    assert campaigns_per_day >= 3
    currencies = _one(
        zone,
        "select count(distinct currency) from ("
        "select currency_code as currency from google_ads union all "
        "select account_currency from meta_ads union all "
        "select currency from linkedin_ads)",
    )[0]
    assert currencies >= 3


def test_timestamps_carry_utc_and_local_offsets(zone):
    suffixes = set()
    for entity, column in TIMESTAMP_COLUMNS.items():
        suffixes |= {
            row[0]
            for row in _query(
                zone,
                f"select distinct regexp_extract({column}, '(Z|[+-]\\d\\d:\\d\\d)$') "
                f"from {_valid(entity)}",
            )
        }
    assert "" not in suffixes  # every valid timestamp has an offset
    assert {"Z", "+00:00"} <= suffixes
    assert suffixes - {"Z", "+00:00"}  # and some local offsets


def test_erasure_requests_name_existing_people(zone):
    requests = _query(
        zone, "select lower(trim(email)), requested_at::timestamptz from erasure_requests"
    )
    assert requests
    known = _one(
        zone,
        f"""
        with people as (
            select lower(trim(email)) as email, created_at::timestamptz as at
            from {_valid("contacts")}
            union all
            select lower(trim(customer_email)), ordered_at::timestamptz
            from {_valid("orders")}),
        requests as (select lower(trim(email)) as email, requested_at::timestamptz as at
                     from erasure_requests)
        select count(*) from requests
        where exists (select 1 from people where people.email = requests.email
                      and people.at <= requests.at)
        """,
    )[0]
    assert known == len(requests)


def test_cli_generates_and_appends(tmp_path, monkeypatch, capsys):
    landing = tmp_path / "landing"
    monkeypatch.setenv("FUNNEL_LANDING_DIR", str(landing))
    code = main(
        ["generate", "--start", "2026-03-01", "--days", "3", "--contacts-per-day", "5"]
        + ["--seed", "1", "--messy-rate", "0"]
    )
    assert code == 0
    assert "contacts" in capsys.readouterr().out
    assert main(["--append-day"]) == 0
    assert "appended 2026-03-04" in capsys.readouterr().out
    assert (landing / "crm/contacts/2026-03-04.csv").exists()
    assert json.loads((landing / "_generator.json").read_text()) == {
        "contacts_per_day": 5,
        "days": 4,
        "messy_rate": 0.0,
        "seed": 1,
        "start": "2026-03-01",
    }


def test_cli_refuses_what_it_cannot_do(tmp_path, capsys):
    assert main(["--append-day", "--landing-dir", str(tmp_path)]) == 2
    foreign = tmp_path / "crm" / "contacts"
    foreign.mkdir(parents=True)
    (foreign / "2026-01-01.csv").write_text("contact_id\n")
    assert main(["--days", "2", "--landing-dir", str(tmp_path)]) == 2
    assert "did not write" in capsys.readouterr().err
    assert (foreign / "2026-01-01.csv").read_text() == "contact_id\n"
