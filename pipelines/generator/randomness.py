"""Seeding that keeps the generated landing zone independent of how many days are generated.

Every random draw comes from a stream keyed by (seed, purpose, key...), where the key is a
cohort's creation day, a calendar day or a campaign period. What lands in a day's files then
depends only on the seed and that day's keys, never on the horizon, so appending a day
gives exactly the files that generating one more day at once would.
"""

from __future__ import annotations

import numpy as np

# Purposes of the random streams.
COHORT = 1  # people created on a day: attributes, journeys, orders
COHORT_MESSY = 2  # messy rows of a cohort (kept apart so messy_rate never moves clean data)
COHORT_SIZE = 3
DAY_MARKET = 4  # a day's spend level and campaign mix
DAY_ADS = 5
DAY_FX = 6
DAY_ERASURE = 7
DAY_MESSY = 8
CAMPAIGN = 9

_KEY_OFFSET = 1_000_000  # keys may be negative days (touches before the first day)


def stream(seed: int, purpose: int, *keys: int) -> np.random.Generator:
    entropy = [seed, purpose, *(int(k) + _KEY_OFFSET for k in keys)]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def mix64(values: np.ndarray, seed: int) -> np.ndarray:
    """SplitMix64 of each value with the seed: a stable hash for per-person attributes."""
    z = values.astype(np.uint64) ^ np.uint64((seed * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF)
    z = z + np.uint64(0x9E3779B97F4A7C15)  # uint64 arrays wrap around, as SplitMix64 wants
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def choice_index(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights; one uniform per draw."""
    cumulative = np.cumsum(weights / weights.sum())
    return np.minimum(np.searchsorted(cumulative, rng.random(size), side="right"), len(weights) - 1)


def row_choice(uniforms: np.ndarray, row_weights: np.ndarray) -> np.ndarray:
    """Per row, the column index drawn with that row's weights (rows need not be normalised)."""
    cumulative = np.cumsum(row_weights, axis=1)
    thresholds = uniforms * cumulative[:, -1]
    picked = (cumulative <= thresholds[:, None]).sum(axis=1)
    return np.minimum(picked, row_weights.shape[1] - 1)
