"""People, simulated one creation-day cohort at a time with that cohort's own random stream.

A cohort is everyone whose contact is created on day c (plus the day's buyers who never get
a CRM record). Its whole future is simulated at once: touches from up to LOOKAHEAD_DAYS
before creation, the CRM stage machine, orders until the buyer churns, and refunds. Rows are
dated by their UTC timestamp; the writer files each row under its day. Everything within a
cohort is vectorised; only the stage machine and the repeat-order chain step in a loop, one
step for all people at once.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from pipelines.generator import model as m
from pipelines.generator import randomness as r
from pipelines.generator.market import MarketDays, campaign_number

_EMPTY = np.empty(0, dtype=np.int64)


def cohort_sizes(
    seed: int, start: dt.date, contacts_per_day: int, n_cohorts: int
) -> tuple[np.ndarray, np.ndarray]:
    """(contacts, buyers without CRM record) created on each day 0..n_cohorts-1."""
    crm = np.empty(n_cohorts, dtype=np.int64)
    direct = np.empty(n_cohorts, dtype=np.int64)
    for day in range(n_cohorts):
        date = start + dt.timedelta(days=day)
        season = 1.0 + 0.08 * np.sin(2 * np.pi * date.timetuple().tm_yday / 365.25)
        mean = contacts_per_day * m.WEEKDAY_FACTOR[date.weekday()] * season
        rng = r.stream(seed, r.COHORT_SIZE, day)
        crm[day] = rng.poisson(mean)
        direct[day] = rng.poisson(mean * m.DIRECT_BUYER_SHARE)
    return crm, direct


def _time_of_day(rng: np.random.Generator, size: int) -> np.ndarray:
    """Seconds after midnight UTC: mostly European/US business hours, some at any time."""
    busy = np.clip(rng.normal(14 * m.HOUR, 4 * m.HOUR, size), 0, m.DAY - 1)
    anytime = rng.integers(0, m.DAY, size)
    return np.where(rng.random(size) < 0.7, busy, anytime).astype(np.int64)


def _gamma_seconds(rng: np.random.Generator, mean_days: np.ndarray | float, size: int):
    return (rng.gamma(1.5, np.asarray(mean_days) / 1.5, size) * m.DAY).astype(np.int64)


def _touch_channels(
    rng: np.random.Generator, base_weights: np.ndarray, ts: np.ndarray, market: MarketDays
) -> np.ndarray:
    """Channel per touch; paid channels weigh more on days their platform spends more."""
    weights = np.tile(base_weights, (ts.size, 1))
    weights[:, : m.N_PAID] *= market.spend_level[market.rows(ts // m.DAY)]
    return r.row_choice(rng.random(ts.size), weights)


def _touch_campaigns(
    rng: np.random.Generator, channel: np.ndarray, ts: np.ndarray, market: MarketDays
) -> tuple[np.ndarray, np.ndarray]:
    """(campaign number, live-campaign column) per touch.

    A paid touch goes to a live campaign of its platform, by that day's spend mix; an e-mail
    touch to the week's newsletter; other channels have no campaign (-1).
    """
    day = ts // m.DAY
    uniforms = rng.random(ts.size)
    campaign = np.full(ts.size, -1, dtype=np.int64)
    column = np.full(ts.size, -1, dtype=np.int64)
    paid = channel < m.N_PAID
    rows = market.rows(day[paid])
    column[paid] = r.row_choice(uniforms[paid], market.campaign_weight[rows, channel[paid]])
    period = market.campaign_period[rows, column[paid]]
    campaign[paid] = campaign_number(channel[paid], period, market.slot[column[paid]])
    campaign[channel == m.EMAIL] = day[channel == m.EMAIL] // 7 + 1
    return campaign, column


def _touch_types(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    u = rng.random(channel.size)
    kind = np.full(channel.size, m.TOUCH_TYPES.index("visit"))
    paid = channel < m.N_PAID
    kind[paid] = np.where(u[paid] < 0.85, m.TOUCH_TYPES.index("click"), m.TOUCH_TYPES.index("view"))
    email = channel == m.EMAIL
    kind[email] = np.where(
        u[email] < 0.6, m.TOUCH_TYPES.index("open"), m.TOUCH_TYPES.index("click")
    )
    return kind


def _within_owner(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows repeated `counts` times per owner: (owner, position within owner)."""
    owner = np.repeat(np.arange(counts.size), counts)
    position = np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, position


def _stage_machine(rng, created: np.ndarray, quality: np.ndarray):
    """CRM stage events and first-purchase times of contacts created with these qualities.

    Each step moves everyone still in play at once: buy, advance (sometimes skipping a
    stage), move back, or drop off at the current stage.
    """
    n = created.size
    person = np.arange(n)
    stage = r.choice_index(rng, m.START_STAGE_WEIGHTS, n)
    ts = created + rng.integers(0, 120, n)
    events, buyers, buy_ts = [], [_EMPTY], [_EMPTY]
    for _ in range(m.MAX_STAGE_STEPS):
        events.append((person, stage, ts))
        if person.size == 0:
            break
        q = quality[person]
        p_buy = np.minimum(m.P_BUY[stage] * q, 0.9)
        p_advance = m.P_ADVANCE[stage] * q
        p_back = m.P_BACK[stage]
        total = p_buy + p_advance + p_back
        scale = np.where(total > 0.95, 0.95 / total, 1.0)
        p_buy, p_advance, p_back = p_buy * scale, p_advance * scale, p_back * scale
        u = rng.random(person.size)
        skip = rng.random(person.size) < m.P_SKIP_GIVEN_ADVANCE[stage]
        wait = 60 + _gamma_seconds(rng, m.MEAN_DAYS_IN_STAGE[stage], person.size)
        wait_back = 60 + _gamma_seconds(rng, m.MEAN_DAYS_BEFORE_BACK, person.size)
        buy = u < p_buy
        advance = ~buy & (u < p_buy + p_advance)
        back = ~buy & ~advance & (u < p_buy + p_advance + p_back)
        buyers.append(person[buy])
        buy_ts.append(ts[buy] + wait[buy])
        next_stage = np.where(advance, np.minimum(stage + 1 + skip, 3), stage - 1)
        next_ts = ts + np.where(back, wait_back, wait)
        moving = advance | back
        person, stage, ts = person[moving], next_stage[moving], next_ts[moving]
    return (
        tuple(np.concatenate(parts) for parts in zip(*events, strict=True)),
        np.concatenate(buyers),
        np.concatenate(buy_ts),
    )


def _orders(rng, first_ts: np.ndarray):
    """(buyer, order number, timestamp) of every order: repeats with declining propensity
    until the buyer churns (an exponential lifetime from the first order)."""
    n = first_ts.size
    spend = 15.0 + rng.gamma(2.0, 45.0, n)
    mean_gap_days = rng.lognormal(np.log(m.MEDIAN_DAYS_BETWEEN_ORDERS), 0.5, n)
    lifetime_end = first_ts + (rng.exponential(m.MEAN_LIFETIME_DAYS, n) * m.DAY).astype(np.int64)
    buyer, ts = np.arange(n), first_ts
    parts = []
    for number in range(m.MAX_ORDERS):
        parts.append((buyer, np.full(buyer.size, number), ts))
        if buyer.size == 0:
            break
        p_repeat = m.P_REPEAT_FIRST * m.REPEAT_DECAY**number
        gap = m.HOUR + (rng.gamma(2.0, mean_gap_days[buyer] / 2.0) * m.DAY).astype(np.int64)
        next_ts = ts + gap
        again = (rng.random(buyer.size) < p_repeat) & (next_ts < lifetime_end[buyer])
        buyer, ts = buyer[again], next_ts[again]
    buyer, number, ts = (np.concatenate(p) for p in zip(*parts, strict=True))
    return buyer, number, ts, spend


def simulate_cohort(
    seed: int, day: int, n_crm: int, n_direct: int, first_person: int, market: MarketDays
) -> dict[str, dict[str, np.ndarray]]:
    """Clean rows of everyone created on `day`, per entity (no messy rows yet)."""
    rng = r.stream(seed, r.COHORT, day)
    n = n_crm + n_direct
    person = first_person + np.arange(n)
    country = r.choice_index(rng, m.COUNTRY_WEIGHTS, n)
    west = (rng.random(n) < m.WEST_COAST_SHARE) & (country <= 1)
    utc_offset = np.where(west, m.WEST_COAST_OFFSET, m.COUNTRY_UTC_OFFSET[country])
    created = day * m.DAY + _time_of_day(rng, n)
    consent = rng.random(n) < m.P_MARKETING_CONSENT

    # Touches: awareness and consideration before the lead exists, nurture after it.
    crm_created = created[:n_crm]
    has_touch = rng.random(n_crm) < m.P_HAS_TOUCH
    n_pre = np.where(has_touch, 1 + rng.poisson(m.MEAN_PRE_TOUCHES, n_crm), 0)
    lead_time = rng.exponential(m.MEAN_FIRST_TOUCH_LEAD_DAYS * m.DAY, n_crm)
    lead_time = 60 + np.minimum(lead_time, m.LOOKAHEAD_DAYS * m.DAY - 120).astype(np.int64)
    pre_owner, pre_position = _within_owner(n_pre)
    share_of_lead_time = np.where(pre_position == 0, 1.0, 1.0 - rng.random(pre_owner.size))
    pre_ts = crm_created[pre_owner] - 1 - (lead_time[pre_owner] * share_of_lead_time).astype(int)
    pre_channel = _touch_channels(rng, m.FIRST_TOUCH_WEIGHTS, pre_ts, market)
    first_channel = pre_channel[pre_position == 0]  # owners with touches, in order
    repeat = (pre_position > 0) & (rng.random(pre_owner.size) < m.SAME_CHANNEL_AGAIN)
    owner_first = np.full(n_crm, m.DIRECT)
    owner_first[has_touch] = first_channel
    pre_channel = np.where(repeat, owner_first[pre_owner], pre_channel)
    n_post = np.where(has_touch, rng.poisson(m.MEAN_POST_TOUCHES, n_crm), 0)
    post_owner, _ = _within_owner(n_post)
    post_delay = rng.exponential(m.MEAN_POST_TOUCH_DAYS * m.DAY, post_owner.size)
    post_delay = np.minimum(post_delay, m.POST_TOUCH_MAX_DAYS * m.DAY).astype(np.int64)
    post_ts = crm_created[post_owner] + 60 + post_delay
    post_channel = _touch_channels(rng, m.POST_TOUCH_WEIGHTS, post_ts, market)
    touch_owner = np.concatenate([pre_owner, post_owner])
    touch_ts = np.concatenate([pre_ts, post_ts])
    touch_channel = np.concatenate([pre_channel, post_channel])
    touch_campaign, touch_column = _touch_campaigns(rng, touch_channel, touch_ts, market)
    touch_type = _touch_types(rng, touch_channel)

    # CRM stages; the acquisition channel sets how well a person converts.
    quality = m.CHANNEL_QUALITY[owner_first] * rng.lognormal(0.0, 0.3, n_crm)
    (stage_owner, stage, stage_ts), crm_buyers, crm_first_buy = _stage_machine(
        rng, crm_created, quality
    )
    marked = rng.random(crm_buyers.size) < m.P_CRM_MARKS_CUSTOMER
    customer_ts = crm_first_buy[marked] + rng.integers(60, 2 * m.DAY, int(marked.sum()))
    stage_owner = np.concatenate([stage_owner, crm_buyers[marked]])
    stage = np.concatenate([stage, np.full(int(marked.sum()), m.CUSTOMER_STAGE)])
    stage_ts = np.concatenate([stage_ts, customer_ts])

    # Orders of CRM buyers and of buyers with no CRM record (their first order is "created").
    direct = np.arange(n_crm, n)
    buyer_person = np.concatenate([crm_buyers, direct])
    buyer, number, order_ts, spend = _orders(rng, np.concatenate([crm_first_buy, created[direct]]))
    owner = buyer_person[buyer]
    amount_usd = np.maximum(spend[buyer] * rng.gamma(4.0, 0.25, buyer.size), 3.0)
    in_usd = rng.random(buyer.size) < m.ORDER_IN_USD_SHARE
    currency = np.where(in_usd, m.USD, m.COUNTRY_CURRENCY[country[owner]])
    cents = np.round(amount_usd * m.BASE_UNITS_PER_USD[currency] * 100).astype(np.int64)
    cents = np.maximum(cents, 100)
    status = r.choice_index(rng, m.ORDER_STATUS_WEIGHTS, buyer.size)

    refunded = np.flatnonzero(status == m.ORDER_STATUSES.index("refunded"))
    full = rng.random(refunded.size) < m.P_FULL_REFUND
    share = rng.uniform(0.1, 0.8, refunded.size)
    refund_cents = np.where(
        full, cents[refunded], np.maximum(np.round(cents[refunded] * share), 1).astype(np.int64)
    )
    band = r.choice_index(rng, m.REFUND_LAG_WEIGHTS, refunded.size)
    low, high = m.REFUND_LAG_BOUNDS_DAYS[band, 0], m.REFUND_LAG_BOUNDS_DAYS[band, 1]
    lag = (rng.uniform(low, high) * m.DAY).astype(np.int64)

    return {
        "contacts": {
            "person": person[:n_crm],
            "created": crm_created,
            "updated": crm_created,
            "country": country[:n_crm],
            "consent": consent[:n_crm],
            "utc_offset": utc_offset[:n_crm],
        },
        "lifecycle_events": {
            "person": person[stage_owner],
            "stage": stage,
            "ts": stage_ts,
        },
        "touchpoints": {
            "person": person[touch_owner],
            "ts": touch_ts,
            "channel": touch_channel,
            "campaign": touch_campaign,
            "column": touch_column,  # for counting touches per live campaign
            "touch_type": touch_type,
        },
        "orders": {
            "person": person[owner],
            "number": number,
            "ts": order_ts,
            "status": status,
            "currency": currency,
            "cents": cents,
            "utc_offset": utc_offset[owner],
        },
        "refunds": {
            "person": person[owner[refunded]],
            "number": number[refunded],
            "ts": order_ts[refunded] + lag,
            "currency": currency[refunded],
            "cents": refund_cents,
        },
    }


def add_messy_flags(
    seed: int, day: int, rows: dict[str, dict[str, np.ndarray]], messy_rate: float
) -> None:
    """Contact updates on later days, duplicate and malformed flags, messy e-mails.

    Drawn from the cohort's separate messy stream, so the clean rows never depend on
    messy_rate; with messy_rate 0 no flag is set.
    """
    rng = r.stream(seed, r.COHORT_MESSY, day)
    contacts = rows["contacts"]
    n = contacts["person"].size
    update = np.flatnonzero(rng.random(n) < messy_rate)
    later_days = 1 + rng.exponential(m.CONTACT_UPDATE_MEAN_DAYS, update.size).astype(np.int64)
    update_day = contacts["created"][update] // m.DAY + later_days
    updated = update_day * m.DAY + rng.integers(0, m.DAY, update.size)
    flip_consent = rng.random(update.size) < 0.6
    other_country = (
        contacts["country"][update] + rng.integers(1, len(m.COUNTRIES), update.size)
    ) % len(m.COUNTRIES)
    rows["contacts"] = {
        "person": np.concatenate([contacts["person"], contacts["person"][update]]),
        "created": np.concatenate([contacts["created"], contacts["created"][update]]),
        "updated": np.concatenate([contacts["updated"], updated]),
        "country": np.concatenate(
            [
                contacts["country"],
                np.where(flip_consent, contacts["country"][update], other_country),
            ]
        ),
        "consent": np.concatenate(
            [contacts["consent"], contacts["consent"][update] ^ flip_consent]
        ),
        "utc_offset": np.concatenate([contacts["utc_offset"], contacts["utc_offset"][update]]),
    }
    for entity in ("contacts", "lifecycle_events", "touchpoints", "orders", "refunds"):
        table = rows[entity]
        size = table["person"].size
        table["seq"] = np.arange(size)  # tie-break for rows of one person at the same second
        table["dup"] = rng.random(size) < messy_rate
        kinds = len(m.MALFORMED_KINDS[entity])
        malformed = rng.random(size) < messy_rate
        table["malformed"] = np.where(malformed, rng.integers(1, kinds + 1, size), 0)
        if entity in ("contacts", "orders"):
            messy_email = rng.random(size) < messy_rate
            variant = rng.integers(1, m.EMAIL_VARIANTS + 1, size)
            table["email_variant"] = np.where(messy_email, variant, 0)


def simulate_people(
    seed: int,
    start: dt.date,
    contacts_per_day: int,
    last_cohort: int,
    market: MarketDays,
    messy_rate: float,
) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray]:
    """All rows of cohorts 0..last_cohort, per entity, and the people created before each day.

    Returns (rows per entity, persons_before) where persons_before[d] counts the people
    (contacts and buyers without CRM record) created on days before d.
    """
    crm, direct = cohort_sizes(seed, start, contacts_per_day, last_cohort + 1)
    persons_before = np.concatenate([[0], np.cumsum(crm + direct)])
    parts: dict[str, list[dict[str, np.ndarray]]] = {}
    for day in range(last_cohort + 1):
        rows = simulate_cohort(
            seed, day, int(crm[day]), int(direct[day]), int(persons_before[day]) + 1, market
        )
        add_messy_flags(seed, day, rows, messy_rate)
        for entity, table in rows.items():
            parts.setdefault(entity, []).append(table)
    people = {
        entity: {col: np.concatenate([t[col] for t in tables]) for col in tables[0]}
        for entity, tables in parts.items()
    }
    return people, persons_before
