"""The landing-zone contract (METRICS.md section 1): one entry per source entity.

This module is the single source of truth for file locations, required columns and their
types, shared by the generator, the extractor and the tests. It is pure data: no I/O.

A raw table holds the contract columns typed as below, then `_extra_columns` (any column
the file had beyond the contract, as a map), then the lineage columns. Timestamps are
stored as naive `TIMESTAMP` in UTC; a landed timestamp must carry a UTC offset or zone
(`Z`, `+02:00`, `-0500`, `UTC`), one without is rejected ('timestamp without offset').
"""

from __future__ import annotations

from dataclasses import dataclass, field

PAID_CHANNELS = ("google_ads", "meta_ads", "linkedin_ads")
UNPAID_CHANNELS = ("organic_search", "email", "referral", "direct")
CHANNELS = PAID_CHANNELS + UNPAID_CHANNELS
ORDER_STATUSES = ("paid", "cancelled", "refunded")

# ISO 4217 codes the extractor accepts; a row in any other currency is rejected.
KNOWN_CURRENCIES = (
    "AUD", "BRL", "CAD", "CHF", "CNY", "CZK", "DKK", "EUR", "GBP", "HKD", "HUF", "INR",
    "JPY", "KRW", "MXN", "NOK", "NZD", "PLN", "SEK", "SGD", "TRY", "USD", "ZAR",
)  # fmt: skip

LINEAGE_COLUMNS = (
    ("_source_file", "VARCHAR"),  # path relative to the landing dir
    ("_source_line", "BIGINT"),  # line in the file; the header is line 1
    ("_loaded_at", "TIMESTAMP"),  # UTC time of the load
    ("_partition_date", "DATE"),  # the day in the file name
)
EXTRA_COLUMNS_COLUMN = ("_extra_columns", "MAP(VARCHAR, VARCHAR)")

REJECTED_ROWS_TABLE = "rejected_rows"
REJECTED_ROWS_COLUMNS = (
    ("entity", "VARCHAR"),
    ("source_file", "VARCHAR"),
    ("source_line", "BIGINT"),
    ("column_name", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("raw_line", "VARCHAR"),  # NULL when redacted by an erasure request
    ("partition_date", "DATE"),
    ("loaded_at", "TIMESTAMP"),
    # Keys of the person the row belongs to, kept only so a later erasure can find it; NULL
    # (like raw_line) once the person is erased.
    ("person_customer_key", "VARCHAR"),
    ("person_contact_id", "VARCHAR"),
    ("person_order_id", "VARCHAR"),
)

FILE_FORMATS = ("csv", "parquet", "jsonl")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type of the raw table column
    required_value: bool = True  # an empty value rejects the row
    allowed: tuple[str, ...] | None = None  # accepted values after trim (case-insensitive)
    is_id: bool = False
    # A value rule beyond the type: "positive_finite" (a rate: > 0, not NaN or infinite) or
    # "non_negative" (an amount: >= 0).
    check: str | None = None


@dataclass(frozen=True)
class Entity:
    name: str  # raw table and asset name
    directory: str  # relative to the landing dir; files are <directory>/YYYY-MM-DD.<ext>
    columns: tuple[Column, ...]
    # Columns that identify a person, for erasure requests.
    email_column: str | None = None
    contact_id_column: str | None = None
    order_id_column: str | None = None
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def file_path(self, day: str, ext: str = "csv") -> str:
        return f"{self.directory}/{day}.{ext}"


def _c(name, type_, required=True, allowed=None, is_id=False, check=None) -> Column:
    return Column(name, type_, required, allowed, is_id, check)


TS = "TIMESTAMP"
MONEY = "DECIMAL(18,4)"

ENTITIES: tuple[Entity, ...] = (
    Entity(
        "contacts",
        "crm/contacts",
        (
            _c("contact_id", "VARCHAR", is_id=True),
            _c("email", "VARCHAR"),
            _c("full_name", "VARCHAR", required=False),
            _c("country", "VARCHAR", required=False),
            _c("created_at", TS),
            _c("updated_at", TS),
            _c("marketing_consent", "BOOLEAN", required=False),
        ),
        email_column="email",
        contact_id_column="contact_id",
        description="Contact created or updated that day (latest updated_at wins).",
    ),
    Entity(
        "lifecycle_events",
        "crm/lifecycle_events",
        (
            _c("contact_id", "VARCHAR", is_id=True),
            _c("crm_stage", "VARCHAR"),
            _c("occurred_at", TS),
        ),
        contact_id_column="contact_id",
        description="CRM stage change of a contact.",
    ),
    Entity(
        "touchpoints",
        "crm/touchpoints",
        (
            _c("contact_id", "VARCHAR", is_id=True),
            _c("occurred_at", TS),
            _c("channel", "VARCHAR", allowed=CHANNELS),
            _c("campaign_id", "VARCHAR", required=False),
            _c("touch_type", "VARCHAR", required=False),
        ),
        contact_id_column="contact_id",
        description="Marketing touch of a contact.",
    ),
    Entity(
        "google_ads",
        "ads/google_ads",
        (
            _c("date", "DATE"),
            _c("campaign_id", "VARCHAR", is_id=True),
            _c("campaign_name", "VARCHAR", required=False),
            _c("impressions", "BIGINT"),
            _c("clicks", "BIGINT"),
            _c("cost_micros", "BIGINT"),
            _c("currency_code", "VARCHAR", allowed=KNOWN_CURRENCIES),
        ),
        description="Campaign-day, Google Ads export shape (cost in micros).",
    ),
    Entity(
        "meta_ads",
        "ads/meta_ads",
        (
            _c("date_start", "DATE"),
            _c("campaign_id", "VARCHAR", is_id=True),
            _c("campaign_name", "VARCHAR", required=False),
            _c("impressions", "BIGINT"),
            _c("inline_link_clicks", "BIGINT"),
            _c("spend", MONEY),
            _c("account_currency", "VARCHAR", allowed=KNOWN_CURRENCIES),
        ),
        description="Campaign-day, Meta export shape.",
    ),
    Entity(
        "linkedin_ads",
        "ads/linkedin_ads",
        (
            _c("day", "DATE"),
            _c("campaign_id", "VARCHAR", is_id=True),
            _c("campaign_name", "VARCHAR", required=False),
            _c("impressions", "BIGINT"),
            _c("clicks", "BIGINT"),
            _c("cost_in_local_currency", MONEY),
            _c("currency", "VARCHAR", allowed=KNOWN_CURRENCIES),
        ),
        description="Campaign-day, LinkedIn export shape.",
    ),
    Entity(
        "orders",
        "shop/orders",
        (
            _c("order_id", "VARCHAR", is_id=True),
            _c("customer_email", "VARCHAR"),
            _c("ordered_at", TS),
            _c("status", "VARCHAR", allowed=ORDER_STATUSES),
            _c("currency", "VARCHAR", allowed=KNOWN_CURRENCIES),
            _c("amount", MONEY, check="non_negative"),
        ),
        email_column="customer_email",
        order_id_column="order_id",
        description="Order placed that day.",
    ),
    Entity(
        "refunds",
        "shop/refunds",
        (
            _c("refund_id", "VARCHAR", is_id=True),
            _c("order_id", "VARCHAR", is_id=True),
            _c("refunded_at", TS),
            _c("currency", "VARCHAR", allowed=KNOWN_CURRENCIES),
            _c("amount", MONEY),
        ),
        order_id_column="order_id",
        description="Refund issued that day (may be months after its order).",
    ),
    Entity(
        "fx_rates",
        "fx/rates",
        (
            _c("date", "DATE"),
            _c("currency", "VARCHAR", allowed=KNOWN_CURRENCIES),
            _c("units_per_usd", "DOUBLE", check="positive_finite"),
        ),
        description="Currency-day: units of the currency one US dollar buys.",
    ),
    Entity(
        "erasure_requests",
        "privacy/erasure_requests",
        (
            _c("email", "VARCHAR"),
            _c("requested_at", TS),
        ),
        email_column="email",
        description="GDPR/CCPA erasure request. Raw keeps no identifier: the request becomes a"
        " one-way hash in raw.suppression_list; raw.erasure_requests keeps only requested_at"
        " and lineage.",
    ),
)

ENTITIES_BY_NAME = {e.name: e for e in ENTITIES}
