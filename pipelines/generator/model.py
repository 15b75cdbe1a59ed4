"""The simulated business: every constant that shapes the generated data, in one place.

Probabilities are per person or per row; times are in seconds (UTC) unless a name says days.
Index order of every tuple here is part of the generator's output: changing it changes the
files a seed produces.
"""

from __future__ import annotations

import numpy as np

from pipelines.lib.landing_contract import CHANNELS

DAY = 86_400
HOUR = 3_600

# Awareness can precede contact creation by up to this many days. A day's files hold events
# of contacts created up to this many days later, so the simulation looks ahead this far.
LOOKAHEAD_DAYS = 30
POST_TOUCH_MAX_DAYS = 120  # nurture touches stop this long after contact creation

# Order of CHANNELS: google_ads, meta_ads, linkedin_ads, organic_search, email, referral, direct
assert CHANNELS[:3] == ("google_ads", "meta_ads", "linkedin_ads")
CHANNEL_INDEX = {name: i for i, name in enumerate(CHANNELS)}
DIRECT = CHANNEL_INDEX["direct"]
EMAIL = CHANNEL_INDEX["email"]
N_PAID = 3
# Relative weight of each channel for a person's first (awareness) touch and the touches
# before lead creation; paid channels are further scaled by that day's spend.
FIRST_TOUCH_WEIGHTS = np.array([0.20, 0.17, 0.06, 0.26, 0.04, 0.10, 0.17])
# After lead creation nurture e-mail and retargeting dominate.
POST_TOUCH_WEIGHTS = np.array([0.12, 0.12, 0.04, 0.12, 0.40, 0.05, 0.15])
SAME_CHANNEL_AGAIN = 0.45  # chance a later pre-lead touch repeats the first touch's channel
# Multiplies every conversion probability of a person acquired on that channel.
CHANNEL_QUALITY = np.array([1.00, 0.65, 1.15, 1.20, 1.40, 1.60, 1.10])
P_HAS_TOUCH = 0.94  # the rest have no touchpoint at all (acquisition channel `direct`)
MEAN_PRE_TOUCHES = 1.2  # extra touches before lead creation, beyond the first
MEAN_POST_TOUCHES = 1.6
MEAN_FIRST_TOUCH_LEAD_DAYS = 7.0  # awareness to lead creation
MEAN_POST_TOUCH_DAYS = 20.0
TOUCH_TYPES = ("click", "view", "visit", "open")

# Weekly rhythm of new contacts (Mon..Sun; mean 1) and of paid spend per platform.
WEEKDAY_FACTOR = np.array([1.1, 1.1, 1.1, 1.1, 1.1, 0.75, 0.75])
SPEND_WEEKDAY_FACTOR = np.array(
    [
        [1.1, 1.1, 1.1, 1.05, 1.0, 0.85, 0.8],  # google_ads
        [0.9, 0.9, 0.95, 1.0, 1.05, 1.1, 1.1],  # meta_ads
        [1.2, 1.2, 1.2, 1.15, 1.0, 0.6, 0.6],  # linkedin_ads
    ]
)
DIRECT_BUYER_SHARE = 0.02  # buyers with no CRM record, per contact created

COUNTRIES = ("US", "CA", "GB", "IE", "DE", "FR", "NL", "ES", "FI", "GR")
COUNTRY_WEIGHTS = np.array([0.34, 0.06, 0.16, 0.03, 0.12, 0.09, 0.06, 0.06, 0.04, 0.04])
# UTC offset (minutes) used when a system renders a person's local time; North Americans
# are east- or west-coast. No daylight saving: offsets are what the source systems wrote.
COUNTRY_UTC_OFFSET = np.array([-300, -300, 0, 0, 60, 60, 60, 60, 120, 120])
WEST_COAST_SHARE = 0.3
WEST_COAST_OFFSET = -480

CURRENCIES = ("USD", "EUR", "GBP", "CAD")
USD = 0
BASE_UNITS_PER_USD = np.array([1.0, 0.92, 0.79, 1.36])
FX_DAILY_VOLATILITY = 0.004
FX_SKIP_RATE = 0.05  # chance a non-USD currency has no rate on a day
COUNTRY_CURRENCY = np.array([0, 3, 2, 1, 1, 1, 1, 1, 1, 1])
ORDER_IN_USD_SHARE = 0.06  # shop orders charged in USD whatever the country

# CRM stages and the stage machine. Per stage (lead, mql, sql, opportunity): chance to buy,
# to advance (some advances skip a stage), to move back; the rest drop off there.
CRM_STAGES = ("lead", "mql", "sql", "opportunity", "customer")
CUSTOMER_STAGE = 4
START_STAGE_WEIGHTS = np.array([0.92, 0.06, 0.02, 0.0])
P_BUY = np.array([0.02, 0.02, 0.03, 0.40])
P_ADVANCE = np.array([0.36, 0.50, 0.55, 0.0])
P_SKIP_GIVEN_ADVANCE = np.array([0.10, 0.12, 0.0, 0.0])
P_BACK = np.array([0.0, 0.05, 0.08, 0.07])
MEAN_DAYS_IN_STAGE = np.array([6.0, 8.0, 10.0, 14.0])
MEAN_DAYS_BEFORE_BACK = 5.0
MAX_STAGE_STEPS = 12
P_CRM_MARKS_CUSTOMER = 0.9  # the rest of buyers never get the CRM stage `customer`
P_MARKETING_CONSENT = 0.78

# Purchases: first order, then repeats with declining propensity until the buyer churns.
P_REPEAT_FIRST = 0.55
REPEAT_DECAY = 0.88
MAX_ORDERS = 40
MEAN_LIFETIME_DAYS = 540.0
MEDIAN_DAYS_BETWEEN_ORDERS = 55.0
ORDER_STATUSES = ("paid", "cancelled", "refunded")
ORDER_STATUS_WEIGHTS = np.array([0.87, 0.05, 0.08])
P_FULL_REFUND = 0.65
# Refund lag after its order: within a week, within a month, or 30-90 days late.
REFUND_LAG_WEIGHTS = np.array([0.45, 0.25, 0.30])
REFUND_LAG_BOUNDS_DAYS = np.array([[1 / 24, 7.0], [7.0, 30.0], [30.0, 90.0]])

# Ad platforms: campaigns rotate every PERIOD_DAYS and each runs two periods, so on any day
# 2 * slots campaigns are live. Campaign ids are `<prefix>-NNN`.
PLATFORM_PREFIX = ("gads", "meta", "li")
CAMPAIGN_SLOTS = (4, 3, 2)
MAX_SLOTS = max(CAMPAIGN_SLOTS)
PERIOD_DAYS = 28
CAMPAIGN_THEMES = (
    ("Search Brand", "Search Generic", "Performance Max", "Display Remarketing"),
    ("Prospecting Lookalike", "Retargeting Carousel", "Video Awareness", ""),
    ("Sponsored Content ABM", "Lead Gen Forms", "", ""),
)
MEAN_CPC_USD = np.array([1.6, 0.9, 5.5])
MEAN_CTR = np.array([0.035, 0.012, 0.006])
# Account currency of each platform's campaigns (index into CURRENCIES).
PLATFORM_CURRENCY_WEIGHTS = np.array(
    [
        [0.7, 0.3, 0.0, 0.0],
        [0.3, 0.5, 0.2, 0.0],
        [0.5, 0.0, 0.5, 0.0],
    ]
)
# Tracked contact touches are a fraction of the clicks a platform reports.
UNTRACKED_CLICKS_PER_TOUCH = 3.0

ERASURES_PER_CONTACT = 1 / 10_000
GUARANTEED_ERASURE_EVERY_DAYS = 60  # so even a small demo has some

# Messy rows. Each kind of malformed row is an extra, corrupted copy of a valid row, so the
# clean data stays complete and the pipeline can be checked to recover it exactly.
MALFORMED_KINDS = {
    # entity: ((column, how), ...); a malformed row gets one of these, chosen uniformly
    "contacts": (("contact_id", "missing"), ("created_at", "bad_date")),
    "lifecycle_events": (("contact_id", "missing"), ("occurred_at", "bad_date")),
    "touchpoints": (
        ("contact_id", "missing"),
        ("occurred_at", "bad_date"),
        ("channel", "unknown_channel"),
    ),
    "orders": (("order_id", "missing"), ("ordered_at", "bad_date"), ("amount", "bad_number")),
    "refunds": (("order_id", "missing"), ("refunded_at", "bad_date"), ("amount", "bad_number")),
    "google_ads": (("campaign_id", "missing"), ("date", "bad_date"), ("cost_micros", "bad_number")),
    "meta_ads": (("campaign_id", "missing"), ("date_start", "bad_date"), ("spend", "bad_number")),
    "linkedin_ads": (
        ("campaign_id", "missing"),
        ("day", "bad_date"),
        ("cost_in_local_currency", "bad_number"),
    ),
    "fx_rates": (("date", "bad_date"), ("units_per_usd", "bad_number")),
}
EMAIL_VARIANTS = 4  # upper case, capitalised, leading spaces, trailing space
CONTACT_UPDATE_MEAN_DAYS = 20.0

FIRST_NAMES = (
    "Aaliyah", "Adam", "Aiko", "Alba", "Alex", "Amara", "Anna", "Arjun", "Astrid", "Ben",
    "Bruno", "Carla", "Chloe", "Chen", "Daniel", "Dara", "Diego", "Elena", "Emil", "Emma",
    "Fatima", "Finn", "Freya", "Gabriel", "Greta", "Hana", "Hugo", "Ines", "Isaac", "Ivy",
    "Jakob", "James", "Jana", "Jonas", "Julia", "Kai", "Karin", "Leo", "Lena", "Liam",
    "Lucia", "Maja", "Marco", "Maria", "Mateo", "Mia", "Nadia", "Nico", "Nora", "Olivia",
    "Omar", "Paula", "Pedro", "Priya", "Rafael", "Rosa", "Sara", "Sofia", "Tomas", "Vera",
    "Viktor", "Yara", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Adams", "Alvarez", "Andersen", "Bauer", "Becker", "Berg", "Brown", "Carter", "Costa",
    "Dubois", "Eriksson", "Evans", "Fischer", "Garcia", "Gomez", "Green", "Hall", "Hansen",
    "Hoffmann", "Ivanova", "Jansen", "Johnson", "Kaya", "Keller", "Khan", "Kowalski", "Larsen",
    "Laurent", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Muller", "Murphy", "Nguyen",
    "Nielsen", "Novak", "Okafor", "Olsen", "Patel", "Perez", "Petrov", "Quinn", "Rossi",
    "Russo", "Schmidt", "Schulz", "Silva", "Smith", "Sousa", "Suzuki", "Taylor", "Thomas",
    "Virtanen", "Wagner", "Walker", "Weber", "White", "Wilson", "Wright", "Young", "Zhang",
    "Ziegler",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
