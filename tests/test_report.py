"""The offline HTML report: built from a small hand-written marts file, checked as HTML and
rendered in headless Chromium.

Expected figures below are worked out by hand from the fixture rows, not by project code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from pipelines.lib.report import build_report

CHROMIUM = Path("/usr/bin/chromium")
AS_OF = "2026-03-31"
MODELS_IN_MENU = ["last_touch", "first_touch", "linear", "position_based", "time_decay"]
SECTION_TITLES = [
    "Funnel by week and month",
    "CAC by channel over time",
    "Recurring retention by day, week and month",
    "Cohort retention",
    "LTV curves by cohort",
    "LTV:CAC by channel",
    "Customer lifecycle by month",
]
CHART_COUNT = 7  # one figure per section above
REPORT_PACKAGE = Path(__file__).resolve().parents[1] / "pipelines" / "lib" / "report"

# The serving layout: marts.duckdb with the marts in its default schema.
MARTS_DDL = """
create table funnel_daily (
    date date, channel varchar, stage varchar, entered integer, converted_to_next integer,
    conversion_rate double, median_hours_to_next double, is_window_complete boolean,
    median_days_to_purchase double, p90_days_to_purchase double);
create table cac_daily (
    date date, channel varchar, attribution_model varchar, spend double, new_leads double,
    new_customers double, cpl double, cac double, cac_7d double, cac_30d double);
create table ltv_cohorts (
    cohort_month date, channel varchar, months_since_first_purchase integer,
    cohort_customers integer, active_customers integer, retention_rate double,
    cumulative_net_revenue double, ltv_per_customer double);
create table lifecycle_monthly (month date, state varchar, customers integer);
create table unit_economics_monthly (
    cohort_month date, channel varchar, spend double, new_customers integer, cac double,
    ltv_12m double, ltv_months_observed integer, is_ltv_12m_complete boolean,
    ltv_to_cac double, payback_months integer, repeat_purchase_rate double,
    is_repeat_window_complete boolean);
create table customers (
    customer_key varchar, cohort_month date, acquisition_channel varchar,
    first_purchase_date date, last_purchase_date date, purchases integer, net_revenue double,
    status varchar, marketing_consent boolean, p_alive double, predicted_ltv_12m double);
create table funnel_summary (
    period_grain varchar, period_start date, channel varchar, stage varchar,
    stage_order integer, entered bigint, converted_to_next bigint, conversion_rate double,
    median_hours_to_next double, p90_hours_to_next double,
    overall_conversion_to_purchase double, is_window_complete boolean);
create table retention_recurring (
    period_grain varchar, period_start date, periods_since integer, channel varchar,
    active_customers bigint, retained_customers bigint, retention_rate double,
    is_period_complete boolean);
create table report_headline (
    item_kind varchar, item varchar, display_order integer, display_label varchar,
    description varchar, unit varchar, figure_value decimal(18, 4), colour varchar,
    is_paid boolean, cac_30d_reliable_from date, as_of_date date);
"""

# 2026-02-01 is window-complete (+30 days <= 2026-03-31); 2026-03-20 is not.
FUNNEL_ROWS = """
insert into funnel_daily
select date::date, channel, stage, entered, converted_to_next,
       converted_to_next / nullif(entered, 0), 24.0, is_window_complete,
       case when stage = 'interest' then 12.0 end, case when stage = 'interest' then 20.0 end
from (values
    ('2026-02-01', 'google_ads', 'awareness', 10, 6, true),
    ('2026-02-01', 'google_ads', 'interest', 6, 4, true),
    ('2026-02-01', 'google_ads', 'consideration', 4, 3, true),
    ('2026-02-01', 'google_ads', 'intent', 3, 2, true),
    ('2026-02-01', 'google_ads', 'purchase', 2, 1, true),
    ('2026-02-01', 'google_ads', 'loyalty', 1, null, true),
    ('2026-02-01', 'organic_search', 'awareness', 5, 4, true),
    ('2026-02-01', 'organic_search', 'interest', 4, 2, true),
    ('2026-02-01', 'organic_search', 'consideration', 2, 2, true),
    ('2026-02-01', 'organic_search', 'intent', 2, 1, true),
    ('2026-02-01', 'organic_search', 'purchase', 1, 0, true),
    ('2026-03-20', 'google_ads', 'awareness', 8, 1, false),
    ('2026-03-20', 'google_ads', 'interest', 1, 0, false)
) as t(date, channel, stage, entered, converted_to_next, is_window_complete);
"""

# 90 days (d = 0..89) from 2026-01-01 to 2026-03-31, 7 channels + 'all', 5 models.
# Spend: google_ads 100 + d, meta_ads 50, linkedin_ads 20, unpaid 0, all = 170 + d.
# New customers per day: google_ads 4 (first_touch) / 2 (last_touch) / 3 (others), meta_ads 3,
# linkedin_ads 1, direct the rest of 10; all = 10 in every model.
CAC_ROWS = """
insert into cac_daily
with days as (
    select (date '2026-01-01' + d * interval 1 day)::date as date, d
    from range(90) as r(d)
),
models as (
    select * from (values ('first_touch'), ('last_touch'), ('linear'), ('position_based'),
                          ('time_decay')) as m(attribution_model)
),
channels as (
    select * from (values ('google_ads'), ('meta_ads'), ('linkedin_ads'), ('organic_search'),
                          ('email'), ('referral'), ('direct'), ('all')) as c(channel)
),
grid as (
    select days.date, days.d, channels.channel, models.attribution_model,
           case attribution_model when 'first_touch' then 4 when 'last_touch' then 2 else 3 end
               as google_customers
    from days, channels, models
),
base as (
    select date, channel, attribution_model,
           case channel when 'google_ads' then 100 + d when 'meta_ads' then 50
                        when 'linkedin_ads' then 20 when 'all' then 170 + d else 0 end
               ::double as spend,
           case channel when 'google_ads' then google_customers when 'meta_ads' then 3
                        when 'linkedin_ads' then 1 when 'direct' then 6 - google_customers
                        when 'all' then 10 else 0 end::double as new_customers
    from grid
)
select date, channel, attribution_model, spend, 2 * new_customers as new_leads, new_customers,
       spend / nullif(2 * new_customers, 0) as cpl,
       spend / nullif(new_customers, 0) as cac,
       sum(spend) over w7 / nullif(sum(new_customers) over w7, 0) as cac_7d,
       sum(spend) over w30 / nullif(sum(new_customers) over w30, 0) as cac_30d
from base
window w7 as (partition by channel, attribution_model order by date
              rows between 6 preceding and current row),
       w30 as (partition by channel, attribution_model order by date
               rows between 29 preceding and current row);
"""

LTV_ROWS = """
insert into ltv_cohorts
select cohort_month::date, channel, k, size, active, active / size, revenue, revenue / size
from (values
    ('2026-01-01', 'all', 0, 4, 4, 400.0),
    ('2026-01-01', 'all', 1, 4, 1, 520.0),
    ('2026-01-01', 'all', 2, 4, 2, 700.0),
    ('2026-02-01', 'all', 0, 2, 2, 150.0),
    ('2026-02-01', 'all', 1, 2, 1, 210.0),
    ('2026-03-01', 'all', 0, 1, 1, 90.0),
    ('2026-01-01', 'google_ads', 0, 2, 2, 250.0),
    ('2026-01-01', 'google_ads', 1, 2, 2, 300.0),
    ('2026-01-01', 'google_ads', 2, 2, 1, 320.0)
) as t(cohort_month, channel, k, size, active, revenue);
"""

LIFECYCLE_ROWS = """
insert into lifecycle_monthly
select month::date, state, customers
from (values
    ('2026-01-01', 'new', 4),
    ('2026-02-01', 'new', 2), ('2026-02-01', 'returning', 1), ('2026-02-01', 'dormant', 3),
    ('2026-03-01', 'new', 1), ('2026-03-01', 'resurrecting', 2), ('2026-03-01', 'dormant', 1)
) as t(month, state, customers);
"""

# Repeat purchase rates of the `all` cohorts: 2 of 4, 1 of 2, 0 of 1.
UNIT_ECONOMICS_ROWS = """
insert into unit_economics_monthly
select cohort_month::date, channel, spend, new_customers, cac, ltv_12m, observed, false,
       ltv_12m / nullif(cac, 0), payback, repeat_rate, false
from (values
    ('2026-01-01', 'all', 400.0, 4, 100.0, 175.0, 2, 0, 0.5),
    ('2026-01-01', 'google_ads', 300.0, 2, 150.0, 160.0, 2, 2, 0.5),
    ('2026-01-01', 'organic_search', 0.0, 1, 0.0, 140.0, 2, 0, 1.0),
    ('2026-02-01', 'all', 300.0, 2, 150.0, 105.0, 1, null, 0.5),
    ('2026-02-01', 'google_ads', 200.0, 1, 200.0, 120.0, 1, null, 0.0),
    ('2026-03-01', 'all', 200.0, 1, 200.0, 90.0, 0, null, 0.0)
) as t(cohort_month, channel, spend, new_customers, cac, ltv_12m, observed, payback,
       repeat_rate);
"""

# 7 customers; 3 with 2+ purchases; net revenue 1,000 in total.
CUSTOMER_ROWS = """
insert into customers
select key, cohort::date, channel, first::date, last::date, purchases, revenue, status, true,
       null, null
from (values
    ('k1', '2026-01-01', 'google_ads', '2026-01-03', '2026-03-10', 3, 300.0, 'active'),
    ('k2', '2026-01-01', 'google_ads', '2026-01-05', '2026-02-11', 2, 200.0, 'active'),
    ('k3', '2026-01-01', 'organic_search', '2026-01-09', '2026-01-09', 1, 100.0, 'active'),
    ('k4', '2026-01-01', 'direct', '2026-01-20', '2026-01-20', 1, 100.0, 'active'),
    ('k5', '2026-02-01', 'meta_ads', '2026-02-02', '2026-03-01', 2, 150.0, 'active'),
    ('k6', '2026-02-01', 'direct', '2026-02-14', '2026-02-14', 1, 60.0, 'active'),
    ('k7', '2026-03-01', 'linkedin_ads', '2026-03-05', '2026-03-05', 1, 90.0, 'active')
) as t(key, cohort, channel, first, last, purchases, revenue, status);
"""

# Month rows are the table's default grain (the coarsest); week rows are hidden until chosen.
FUNNEL_SUMMARY_ROWS = """
insert into funnel_summary
select grain, start::date, channel, stage, stage_order, entered, converted,
       converted / entered, median, p90, overall, complete
from (values
    ('month', '2026-02-01', 'all', 'awareness', 1, 20, 10, 30.0, 60.0, 0.15, true),
    ('month', '2026-02-01', 'all', 'interest', 2, 12, 6, 48.0, 96.0, null, true),
    ('month', '2026-02-01', 'google_ads', 'awareness', 1, 10, 6, 24.0, 50.0, 0.2, true),
    ('month', '2026-03-01', 'all', 'awareness', 1, 8, 2, 12.0, 20.0, 0.125, false),
    ('week', '2026-02-02', 'all', 'awareness', 1, 5, 3, 10.0, 18.0, 0.2, true),
    ('week', '2026-03-23', 'all', 'awareness', 1, 2, 1, 5.0, 5.0, 0.0, false)
) as t(grain, start, channel, stage, stage_order, entered, converted, median, p90, overall,
       complete);
"""

# The day cohort of 2025-12-31 is 90 days before the as-of date: outside the report's
# 90-day window of day cohorts (it keeps period_start > 2026-03-31 - 90 = 2025-12-31).
RETENTION_RECURRING_ROWS = """
insert into retention_recurring
select grain, start::date, k, channel, active, retained, retained / active, complete
from (values
    ('month', '2026-01-01', 0, 'all', 4, 4, true),
    ('month', '2026-01-01', 1, 'all', 4, 1, true),
    ('month', '2026-01-01', 2, 'all', 4, 2, false),
    ('month', '2026-02-01', 0, 'all', 2, 2, true),
    ('month', '2026-02-01', 1, 'all', 2, 1, false),
    ('month', '2026-01-01', 0, 'google_ads', 2, 2, true),
    ('month', '2026-01-01', 1, 'google_ads', 2, 2, true),
    ('week', '2026-03-23', 0, 'all', 4, 4, true),
    ('week', '2026-03-23', 1, 'all', 4, 1, false),
    ('day', '2025-12-31', 0, 'all', 1, 1, true),
    ('day', '2026-03-30', 0, 'all', 2, 2, true),
    ('day', '2026-03-30', 1, 'all', 2, 1, false)
) as t(grain, start, k, channel, active, retained, complete);
"""

# marts.report_headline as dbt computes it from the rows above (worked out by hand):
# - customers 7; net revenue 300 + 200 + 100 + 100 + 150 + 60 + 90 = 1,000;
# - blended CAC: cac_30d of the `all` row on 2026-03-31: 'all' spend 170 + d, d = 60..89,
#   = 5,100 + 2,235 = 7,335 over 30 * 10 new customers = 24.45;
# - blended LTV:CAC over every `all` cohort: (4 * 175 + 2 * 105 + 1 * 90) / (400 + 300 + 200)
#   = 1,000 / 900 = 1.1111; paid only (google_ads, the only paid channel with cohorts):
#   (2 * 160 + 1 * 120) / (300 + 200) = 440 / 500 = 0.88 (margin 1);
# - repeat purchase rate: (0.5 * 4 + 0.5 * 2 + 0 * 1) / 7 = 3 / 7 = 0.4286;
# - threshold 10 new customers in the trailing 30 days, in every model: google_ads gets 2
#   (last_touch), 4 (first_touch) or 3 a day: 10 by day 5 (2026-01-05); meta_ads 3 a day:
#   day 4; linkedin_ads 1 a day: day 10; direct 6 - google: 2 a day in first_touch: day 5;
#   `all` 10 a day: day 1; organic_search, email and referral never.
REPORT_HEADLINE_ROWS = """
insert into report_headline
select kind, item, display_order, label, description, unit, value, colour, is_paid,
       reliable::date, date '2026-03-31'
from (values
    ('figure', 'customers', 1, 'Customers', 'People with at least one purchase.', 'count',
     7, null, null, null),
    ('figure', 'net_revenue', 2, 'Net revenue', 'All time, after refunds.', 'money', 1000,
     null, null, null),
    ('figure', 'blended_cac_30d', 3, 'Blended CAC, last 30 days',
     'All paid spend / all new customers.', 'money', 24.45, null, null, null),
    ('figure', 'blended_ltv_to_cac', 4, 'LTV:CAC, blended (incl. organic customers)',
     'Organic customers cost nothing.', 'ratio', 1.1111, null, null, null),
    ('figure', 'paid_ltv_to_cac', 5, 'LTV:CAC, paid channels only', 'Paid channels only.',
     'ratio', 0.88, null, null, null),
    ('figure', 'repeat_purchase_rate', 6, 'Repeat purchase rate', 'Within 365 days.',
     'share', 0.4286, null, null, null),
    ('figure', 'cac_min_window_customers', 7, 'CAC chart: minimum new customers per window',
     'Thinner windows are not drawn.', 'count', 10, null, null, null),
    ('channel', 'all', 0, 'All channels (blended)', null, null, null, '#333333', null,
     '2026-01-01'),
    ('channel', 'google_ads', 1, 'Google Ads', null, null, null, '#4285f4', true,
     '2026-01-05'),
    ('channel', 'meta_ads', 2, 'Meta Ads', null, null, null, '#7b4fd6', true, '2026-01-04'),
    ('channel', 'linkedin_ads', 3, 'LinkedIn Ads', null, null, null, '#0a8f8f', true,
     '2026-01-10'),
    ('channel', 'organic_search', 4, 'Organic search', null, null, null, '#2ca02c', false,
     null),
    ('channel', 'email', 5, 'E-mail', null, null, null, '#ff7f0e', false, null),
    ('channel', 'referral', 6, 'Referral', null, null, null, '#d62728', false, null),
    ('channel', 'direct', 7, 'Direct', null, null, null, '#8c564b', false, '2026-01-05'),
    ('stage', 'awareness', 1, 'awareness', null, null, null, null, null, null),
    ('stage', 'interest', 2, 'interest', null, null, null, null, null, null),
    ('stage', 'consideration', 3, 'consideration', null, null, null, null, null, null),
    ('stage', 'intent', 4, 'intent', null, null, null, null, null, null),
    ('stage', 'purchase', 5, 'purchase', null, null, null, null, null, null),
    ('stage', 'loyalty', 6, 'loyalty', null, null, null, null, null, null),
    ('attribution_model', 'last_touch', 1, 'Last touch', null, null, null, null, null, null),
    ('attribution_model', 'first_touch', 2, 'First touch', null, null, null, null, null,
     null),
    ('attribution_model', 'linear', 3, 'Linear', null, null, null, null, null, null),
    ('attribution_model', 'position_based', 4, 'Position-based (40/20/40)', null, null,
     null, null, null, null),
    ('attribution_model', 'time_decay', 5, 'Time decay (7-day half-life)', null, null, null,
     null, null, null),
    ('lifecycle_state', 'new', 1, 'New', null, null, null, '#2ca02c', null, null),
    ('lifecycle_state', 'returning', 2, 'Returning', null, null, null, '#4285f4', null,
     null),
    ('lifecycle_state', 'resurrecting', 3, 'Resurrecting', null, null, null, '#ff7f0e',
     null, null),
    ('lifecycle_state', 'dormant', 4, 'Dormant', null, null, null, '#b0b0b0', null, null)
) as t(kind, item, display_order, label, description, unit, value, colour, is_paid,
       reliable);
"""


def _write_marts(path: Path, *, with_rows: bool) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(MARTS_DDL)
        if with_rows:
            for sql in (
                FUNNEL_ROWS,
                CAC_ROWS,
                LTV_ROWS,
                LIFECYCLE_ROWS,
                UNIT_ECONOMICS_ROWS,
                CUSTOMER_ROWS,
                FUNNEL_SUMMARY_ROWS,
                RETENTION_RECURRING_ROWS,
                REPORT_HEADLINE_ROWS,
            ):
                con.execute(sql)
    return path


@pytest.fixture
def marts_db(tmp_path: Path) -> Path:
    return _write_marts(tmp_path / "marts.duckdb", with_rows=True)


class _TagCollector(HTMLParser):
    """Start tags with their attributes, and the text of table cells (script bodies are
    raw text to HTMLParser, so URLs inside plotly.js never look like tags)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "table":
            self._table = attributes.get("class") or "table"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table:
            self.tables[self._table][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _parse(html_text: str) -> _TagCollector:
    parser = _TagCollector()
    parser.feed(html_text)
    return parser


def _external_references(parser: _TagCollector) -> list[str]:
    """Anything the browser would fetch: script src, stylesheet links, media sources."""
    found = []
    for tag, attrs in parser.tags:
        if tag == "script" and attrs.get("src"):
            found.append(f"<script src={attrs['src']}>")
        if tag == "link" and attrs.get("href"):
            found.append(f"<link href={attrs['href']}>")
        if tag in ("img", "iframe", "embed", "source", "audio", "video") and attrs.get("src"):
            if not attrs["src"].startswith("data:"):
                found.append(f"<{tag} src={attrs['src']}>")
    return found


def _header_cards(html_text: str) -> dict[str, str]:
    return dict(
        re.findall(r'<div class="label">([^<]*)</div><div class="value">([^<]*)</div>', html_text)
    )


def _rows_shown(parser: _TagCollector, table: str) -> list[list[str]]:
    return parser.tables[table][1:]


def test_report_is_self_contained_and_shows_hand_computed_figures(marts_db, tmp_path):
    output = tmp_path / "serving" / "report.html"
    output.parent.mkdir()
    output.write_text("old report")  # replaced in place, not appended to

    meta = build_report(marts_db, output)

    html_text = output.read_text(encoding="utf-8")
    assert meta["size_bytes"] == output.stat().st_size
    assert meta["as_of_date"] == AS_OF
    assert meta["charts"] == CHART_COUNT
    assert meta["sections_without_data"] == []
    assert sorted(p.name for p in output.parent.iterdir()) == ["report.html"]  # no temp left

    parser = _parse(html_text)
    assert _external_references(parser) == []
    # plotly.js inlined exactly once: one big inline script, not one per figure.
    inline_scripts = re.findall(r"<script[^>]*>(.*?)</script>", html_text, flags=re.S)
    assert sum(len(s) > 1_000_000 for s in inline_scripts) == 1
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in html_text
    assert f"As of {AS_OF}" in html_text
    assert "No data yet" not in html_text

    # Header: the report_headline figures as published (see REPORT_HEADLINE_ROWS), formatted
    # by unit; the blended LTV:CAC says it counts organic customers, the paid-only one sits
    # next to it; the CAC threshold is not a card.
    assert _header_cards(html_text) == {
        "Customers": "7",
        "Net revenue": "1,000.00 USD",
        "Blended CAC, last 30 days": "24.45 USD",
        "LTV:CAC, blended (incl. organic customers)": "1.11",
        "LTV:CAC, paid channels only": "0.88",
        "Repeat purchase rate": "42.9%",
    }
    cards = list(_header_cards(html_text))
    assert cards.index("LTV:CAC, paid channels only") == (
        cards.index("LTV:CAC, blended (incl. organic customers)") + 1
    )
    assert "at least 10 new customers in every model" in html_text

    # Filters: a date range and one checkbox per channel of report_headline, `all` first.
    assert ("input", {"type": "date", "id": "filter-from"}) in parser.tags
    assert ("input", {"type": "date", "id": "filter-to"}) in parser.tags
    channel_boxes = [
        a["value"] for t, a in parser.tags if t == "input" and a.get("name") == "channel"
    ]
    assert channel_boxes == [
        "all", "google_ads", "meta_ads", "linkedin_ads", "organic_search", "email", "referral",
        "direct",
    ]  # fmt: skip
    model_options = re.search(r'<select data-chart="chart-cac"[^>]*>(.*?)</select>', html_text)
    assert re.findall(r'<option value="([^"]+)"', model_options.group(1)) == MODELS_IN_MENU

    # Funnel table: funnel_summary rows as published, channels in the seed's order; the month
    # rows are shown first, the week rows are there but hidden.
    assert _rows_shown(parser, "funnel-summary-table") == [
        ["2026-02-01", "All channels (blended)", "awareness", "20", "10", "50.0%", "30.0", "60.0",
         "15.0%", "final"],
        ["2026-02-01", "All channels (blended)", "interest", "12", "6", "50.0%", "48.0", "96.0",
         "–", "final"],
        ["2026-02-01", "Google Ads", "awareness", "10", "6", "60.0%", "24.0", "50.0", "20.0%",
         "final"],
        ["2026-03-01", "All channels (blended)", "awareness", "8", "2", "25.0%", "12.0", "20.0",
         "12.5%", "open"],
        ["2026-02-02", "All channels (blended)", "awareness", "5", "3", "60.0%", "10.0", "18.0",
         "20.0%", "final"],
        ["2026-03-23", "All channels (blended)", "awareness", "2", "1", "50.0%", "5.0", "5.0",
         "0.0%", "open"],
    ]  # fmt: skip
    assert len(re.findall(r'<tr data-channel="[^"]+" data-date="[^"]+" data-grain="week" hidden>',
                          html_text)) == 2  # fmt: skip

    # Cohort rows use channel 'all' only (the google_ads cohort has 2 customers).
    for label in ("2026-01 (n=4)", "2026-02 (n=2)", "2026-03 (n=1)"):
        assert label in html_text
    assert "2026-01 (n=2)" not in html_text
    # Labels of the blended bars say they count organic customers.
    assert "blended (all channels, incl. organic customers)" in html_text


def test_report_and_cli_compute_no_number():
    """The report's SQL only selects, filters, joins and orders: no aggregate in a query."""
    import ast

    aggregate = re.compile(
        r"\b(sum|count|avg|mean|median|quantile\w*|min|max|stddev\w*|list|string_agg)\s*\(",
        re.I,
    )
    for path in sorted(REPORT_PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value
                if re.search(r"\bselect\b", text, re.I) and "from" in text.lower():
                    # list(...) in the schema lookup gathers table names, not figures
                    found = [m for m in aggregate.findall(text) if m.lower() != "list"]
                    assert not found, f"{path.name}: aggregate {found} in {text.strip()[:80]}"
                    assert not re.search(r"\bgroup\s+by\b", text, re.I) or "table_name" in text
    cli = (REPORT_PACKAGE.parents[1] / "cli.py").read_text()
    summary = cli[cli.index("def _print_summary") : cli.index("def _parser")]
    # the CLI runs no SQL of its own: it prints report_headline's figures
    assert not re.search(r"\bselect\b", summary, re.I)
    assert "headline_figures(" in summary


@pytest.mark.parametrize("with_tables", [True, False], ids=["empty-tables", "no-marts-schema"])
def test_empty_marts_still_produce_a_report(tmp_path, with_tables):
    marts = tmp_path / "marts.duckdb"
    if with_tables:
        _write_marts(marts, with_rows=False)
    else:
        duckdb.connect(str(marts)).close()
    output = tmp_path / "report.html"

    meta = build_report(marts, output)

    html_text = output.read_text(encoding="utf-8")
    assert meta["charts"] == 0
    assert meta["as_of_date"] is None
    assert len(meta["sections_without_data"]) == len(SECTION_TITLES)
    # every section, and the header (no report_headline rows, so no cards)
    assert html_text.count("No data yet") == len(SECTION_TITLES) + 1
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in html_text
    assert _header_cards(html_text) == {}
    assert _external_references(_parse(html_text)) == []


def test_report_reads_marts_while_another_process_holds_them_open(marts_db, tmp_path):
    # A BI tool's read-only connection must not block the report (a writable open would).
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, duckdb\n"
            f"con = duckdb.connect({str(marts_db)!r}, read_only=True)\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        meta = build_report(marts_db, tmp_path / "report.html")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert meta["charts"] == CHART_COUNT


def test_missing_marts_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="marts database not found"):
        build_report(tmp_path / "absent.duckdb", tmp_path / "report.html")
    assert not (tmp_path / "report.html").exists()


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.browser
@pytest.mark.slow
def test_report_renders_in_headless_chromium(marts_db, tmp_path):
    # No skip: CI and `make test` install Chromium (a missing one is a failure, not a skip).
    assert CHROMIUM.exists(), f"Debian chromium not installed at {CHROMIUM}"
    from playwright.sync_api import sync_playwright

    report = tmp_path / "report.html"
    build_report(marts_db, report)
    screenshot = tmp_path / "report.png"

    errors: list[str] = []
    fetched: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on(
                "console",
                lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
            )
            # Any request but the page itself is a failure: nothing may leave the page.
            page.on(
                "request",
                lambda req: None if req.url == report.as_uri() else fetched.append(req.url),
            )
            page.goto(report.as_uri(), wait_until="load")
            page.wait_for_function(
                "n => document.querySelectorAll('.js-plotly-plot').length === n "
                "&& document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
                arg=CHART_COUNT,
                timeout=30_000,
            )

            def visible(chart: str, expression: str):
                return page.evaluate(
                    f"document.getElementById('{chart}').data"
                    f".filter(t => t.visible !== false).map(t => {expression})"
                )

            # Cohort retention heatmap holds the hand-written channel 'all' rates.
            z = page.evaluate("document.getElementById('chart-retention').data[0].z")
            assert z == [[1, 0.25, 0.5], [1, 0.5, None]] + [[1, None, None]]

            # CAC: last_touch (the seed's first model) shown; google_ads' trailing-30-day CAC on
            # the as-of date is (sum of 100 + d, d = 60..89 = 5,235) / (30 days * 2 a day); its
            # line starts on its cac_30d_reliable_from, 2026-01-05, linkedin_ads' on 01-10, the
            # blended one on 01-01, and ends at the blended CAC of the header, 24.45.
            lines = "[t.meta.channel, t.x[0], t.y[t.y.length - 1]]"
            assert visible("chart-cac", lines) == [
                ["all", "2026-01-01", pytest.approx(24.45)],
                ["google_ads", "2026-01-05", pytest.approx(5235 / 60)],
                ["meta_ads", "2026-01-04", pytest.approx(50 / 3)],
                ["linkedin_ads", "2026-01-10", pytest.approx(20.0)],
            ]
            page.select_option('select[data-chart="chart-cac"]', "first_touch")
            assert visible("chart-cac", "[t.meta.channel, t.meta.model || null]")[:2] == [
                ["all", None],
                ["google_ads", "first_touch"],
            ]
            assert visible("chart-cac", "t.y[t.y.length - 1]")[1] == pytest.approx(5235 / 120)

            # Recurring retention: month grain, channel 'all' (first checked) by default; the
            # day grain holds only the cohorts after 2025-12-31 (90 days before the as-of date).
            assert visible("chart-recurring-retention", "[t.meta.channel, t.meta.grain, t.z]") == [
                ["all", "month", [[1, 0.25, 0.5], [1, 0.5, None]]]
            ]
            page.select_option('select[data-chart="chart-recurring-retention"]', "day")
            assert visible("chart-recurring-retention", "t.y") == [["2026-03-30"]]
            page.select_option('select[data-chart="chart-recurring-retention"]', "month")

            # Channel filter: unchecking google_ads hides its CAC line, its LTV:CAC bars and its
            # funnel table rows; unchecking `all` makes the retention heatmap show google_ads.
            page.uncheck('input[name=channel][value="google_ads"]')
            assert "google_ads" not in visible("chart-cac", "t.meta.channel")
            assert "google_ads" not in visible("chart-ltv-to-cac", "t.meta.channel")
            assert (
                page.locator('#funnel-summary-table tr[data-channel="google_ads"]:visible').count()
                == 0
            )
            page.check('input[name=channel][value="google_ads"]')
            page.uncheck('input[name=channel][value="all"]')
            assert visible("chart-recurring-retention", "[t.meta.channel, t.z]") == [
                ["google_ads", [[1, 1]]]
            ]
            assert page.inner_text('[data-shown-for="chart-recurring-retention"]') == (
                "showing: Google Ads"
            )
            page.check('input[name=channel][value="all"]')

            # Date filter: from 2026-02-01 narrows every date axis and hides earlier rows.
            page.fill("#filter-from", "2026-02-01")
            page.dispatch_event("#filter-from", "change")
            for chart in ("chart-cac", "chart-funnel", "chart-ltv-to-cac", "chart-lifecycle"):
                ranged = page.evaluate(f"document.getElementById('{chart}').layout.xaxis.range")
                assert str(ranged[0]).startswith("2026-02-01"), chart
            shown = page.locator("#funnel-summary-table tr[data-channel]:visible")
            assert shown.count() == 4  # month rows of 2026-02-01 (3) and 2026-03-01 (1)
            page.fill("#filter-to", "2026-02-28")
            page.dispatch_event("#filter-to", "change")
            assert shown.count() == 3

            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()

    assert errors == []
    assert fetched == []
    assert screenshot.stat().st_size > 50_000
    if os.environ.get("FUNNEL_SCREENSHOT_DIR"):
        target_dir = Path(os.environ["FUNNEL_SCREENSHOT_DIR"])
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, target_dir / "report.png")
