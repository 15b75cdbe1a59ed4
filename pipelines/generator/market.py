"""Day-level state of the market: campaigns, spend levels, FX rates, ad exports, erasures.

Each calendar day's values come from that day's own random stream (see randomness.py), so
they are pure functions of (seed, day) and can be computed for any range of days.
Days are indices from the landing zone's first day (day 0); negative days exist for
touches that precede it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from pipelines.generator import model as m
from pipelines.generator import randomness as r

N_COLUMNS = 2 * m.MAX_SLOTS  # live campaign columns per platform-day: previous, current period


@dataclass(frozen=True)
class Campaigns:
    """Campaign attributes per platform, period (from `first_period`) and slot."""

    first_period: int
    budget: np.ndarray  # [platform, period, slot], relative daily budget
    currency: np.ndarray  # index into model.CURRENCIES
    cpc_usd: np.ndarray
    ctr: np.ndarray


@dataclass(frozen=True)
class MarketDays:
    """Spend level and live-campaign mix per platform and day, from `first_day`."""

    first_day: int
    spend_level: np.ndarray  # [day, platform]
    campaign_weight: np.ndarray  # [day, platform, column]; 0 where no campaign
    campaign_period: np.ndarray  # [day, column]
    slot: np.ndarray  # [column]

    def rows(self, days: np.ndarray) -> np.ndarray:
        return days - self.first_day


def campaign_number(platform: np.ndarray, period: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """The NNN of campaign id `<prefix>-NNN`: campaigns numbered in launch order from 1."""
    slots = np.asarray(m.CAMPAIGN_SLOTS)[platform]
    return (period + 1) * slots + slot + 1


def campaigns(seed: int, first_period: int, last_period: int) -> Campaigns:
    shape = (m.N_PAID, last_period - first_period + 1, m.MAX_SLOTS)
    budget, cpc, ctr = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    currency = np.zeros(shape, dtype=np.int64)
    for platform in range(m.N_PAID):
        for i, period in enumerate(range(first_period, last_period + 1)):
            rng = r.stream(seed, r.CAMPAIGN, platform, period)
            budget[platform, i] = rng.lognormal(0.0, 0.5, m.MAX_SLOTS)
            weights = m.PLATFORM_CURRENCY_WEIGHTS[platform]
            currency[platform, i] = r.choice_index(rng, weights, m.MAX_SLOTS)
            cpc[platform, i] = m.MEAN_CPC_USD[platform] * rng.lognormal(0.0, 0.25, m.MAX_SLOTS)
            ctr[platform, i] = m.MEAN_CTR[platform] * rng.lognormal(0.0, 0.3, m.MAX_SLOTS)
    # Platforms with fewer slots have no campaign in the last ones.
    budget *= np.arange(m.MAX_SLOTS)[None, None, :] < np.asarray(m.CAMPAIGN_SLOTS)[:, None, None]
    return Campaigns(first_period, budget, currency, cpc, ctr)


def market_days(seed: int, start: dt.date, first_day: int, last_day: int) -> MarketDays:
    days = np.arange(first_day, last_day + 1)
    level = np.empty((days.size, m.N_PAID))
    mix = np.empty((days.size, m.N_PAID, N_COLUMNS))
    for i, day in enumerate(days):
        rng = r.stream(seed, r.DAY_MARKET, day)
        level[i] = rng.lognormal(0.0, 0.2, m.N_PAID)
        mix[i] = rng.lognormal(0.0, 0.4, (m.N_PAID, N_COLUMNS))
    weekday = (start.weekday() + days) % 7
    level *= m.SPEND_WEEKDAY_FACTOR[:, weekday].T
    column = np.arange(N_COLUMNS)
    period = days[:, None] // m.PERIOD_DAYS - 1 + column[None, :] // m.MAX_SLOTS
    slot = column % m.MAX_SLOTS
    catalogue = campaigns(seed, int(period.min()), int(period.max()))
    budget = catalogue.budget[:, period - catalogue.first_period, slot[None, :]]  # [p, day, col]
    weight = mix * np.transpose(budget, (1, 0, 2))
    return MarketDays(first_day, level, weight, period, slot)


def fx_units_per_usd(seed: int, last_day: int) -> tuple[np.ndarray, np.ndarray]:
    """Rates [day, currency] for days 0..last_day, and which of them are published.

    A random walk from the base rates; its steps are per day, so a day's rate depends only
    on the days before it. A non-USD currency now and then has no rate on a day (never on
    day 0, so every amount has an earlier rate).
    """
    n_days = last_day + 1
    steps = np.zeros((n_days, len(m.CURRENCIES)))
    published = np.ones((n_days, len(m.CURRENCIES)), dtype=bool)
    for day in range(n_days):
        rng = r.stream(seed, r.DAY_FX, day)
        steps[day, 1:] = rng.normal(0.0, m.FX_DAILY_VOLATILITY, len(m.CURRENCIES) - 1)
        published[day, 1:] = (rng.random(len(m.CURRENCIES) - 1) >= m.FX_SKIP_RATE) | (day == 0)
    rates = m.BASE_UNITS_PER_USD[None, :] * np.exp(np.cumsum(steps, axis=0))
    return rates, published


def ad_rows(
    seed: int,
    start: dt.date,
    first_day: int,
    last_day: int,
    touches_per_column: np.ndarray,
    rates: np.ndarray,
) -> dict[str, np.ndarray]:
    """Campaign-day rows of all three platforms for days first_day..last_day.

    Clicks are the tracked contact touches of the campaign that day plus untracked clicks, so
    spend follows touches. `touches_per_column` is [day, platform, column].
    """
    market = market_days(seed, start, first_day, last_day)
    n_days = last_day - first_day + 1
    shape = (n_days, m.N_PAID, N_COLUMNS)
    extra_clicks = np.empty(shape, dtype=np.int64)
    impression_noise, cost_noise = np.empty(shape), np.empty(shape)
    for i in range(n_days):
        rng = r.stream(seed, r.DAY_ADS, first_day + i)
        lam = m.UNTRACKED_CLICKS_PER_TOUCH * touches_per_column[i] + 2.0 * market.spend_level[i][
            :, None
        ] * (market.campaign_weight[i] > 0)
        extra_clicks[i] = rng.poisson(lam)
        impression_noise[i] = rng.lognormal(0.0, 0.15, (m.N_PAID, N_COLUMNS))
        cost_noise[i] = rng.lognormal(0.0, 0.1, (m.N_PAID, N_COLUMNS))
    day_idx, platform, column = np.nonzero(market.campaign_weight > 0)
    period = market.campaign_period[day_idx, column]
    slot = market.slot[column]
    catalogue = campaigns(seed, int(period.min()), int(period.max()))
    at = (platform, period - catalogue.first_period, slot)
    clicks = touches_per_column[day_idx, platform, column] + extra_clicks[day_idx, platform, column]
    ctr = catalogue.ctr[at]
    impressions = clicks + np.round(
        clicks * (1.0 / ctr - 1.0) * impression_noise[day_idx, platform, column]
    ).astype(np.int64)
    currency = catalogue.currency[at]
    day = first_day + day_idx
    cost_usd = clicks * catalogue.cpc_usd[at] * cost_noise[day_idx, platform, column]
    cost_local = cost_usd * rates[day, currency]
    return {
        "day": day,
        "day_index": day_idx,
        "column": column,
        "platform": platform,
        "campaign": campaign_number(platform, period, slot),
        "period": period,
        "slot": slot,
        "impressions": impressions,
        "clicks": clicks,
        "cost_micros": np.round(cost_local * 100).astype(np.int64) * 10_000,
        "cost_cents": np.round(cost_local * 100).astype(np.int64),
        "currency": currency,
    }


def erasure_rows(
    seed: int, contacts_per_day: int, first_day: int, last_day: int, persons_before: np.ndarray
) -> dict[str, np.ndarray]:
    """Erasure requests for people created before the request day.

    `persons_before[d]` is the number of people created before day d (numbered from 1).
    """
    day_parts, person_parts, second_parts = [], [], []
    for day in range(first_day, last_day + 1):
        rng = r.stream(seed, r.DAY_ERASURE, day)
        count = rng.poisson(contacts_per_day * m.ERASURES_PER_CONTACT)
        count += int(day % m.GUARANTEED_ERASURE_EVERY_DAYS == m.GUARANTEED_ERASURE_EVERY_DAYS - 1)
        if count == 0 or persons_before[day] == 0:
            continue
        person_parts.append(rng.integers(1, persons_before[day] + 1, count))
        second_parts.append(rng.integers(0, m.DAY, count))
        day_parts.append(np.full(count, day))
    if not day_parts:
        return {"person": np.empty(0, np.int64), "ts": np.empty(0, np.int64)}
    day = np.concatenate(day_parts)
    return {
        "person": np.concatenate(person_parts),
        "ts": day * m.DAY + np.concatenate(second_parts),
    }


def day_messy_flags(
    seed: int, first_day: int, last_day: int, messy_rate: float
) -> dict[str, np.ndarray]:
    """Duplicate and malformed flags for ad rows [day, platform, column] and FX rows."""
    n_days = last_day - first_day + 1
    ads_shape = (m.N_PAID, N_COLUMNS)
    flags = {
        "ads_dup": np.zeros((n_days, *ads_shape), dtype=bool),
        "ads_mal": np.zeros((n_days, *ads_shape), dtype=np.int64),
        "fx_dup": np.zeros((n_days, len(m.CURRENCIES)), dtype=bool),
        "fx_mal": np.zeros((n_days, len(m.CURRENCIES)), dtype=np.int64),
    }
    ads_kinds = len(m.MALFORMED_KINDS["google_ads"])
    fx_kinds = len(m.MALFORMED_KINDS["fx_rates"])
    for i in range(n_days):
        rng = r.stream(seed, r.DAY_MESSY, first_day + i)
        flags["ads_dup"][i] = rng.random(ads_shape) < messy_rate
        is_mal = rng.random(ads_shape) < messy_rate
        flags["ads_mal"][i] = np.where(is_mal, rng.integers(1, ads_kinds + 1, ads_shape), 0)
        flags["fx_dup"][i] = rng.random(len(m.CURRENCIES)) < messy_rate
        is_mal = rng.random(len(m.CURRENCIES)) < messy_rate
        flags["fx_mal"][i] = np.where(is_mal, rng.integers(1, fx_kinds + 1, len(m.CURRENCIES)), 0)
    return flags
