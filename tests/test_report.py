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
    "Funnel: stage entries and conversion",
    "CAC by channel over time",
    "Cohort retention",
    "LTV curves by cohort",
    "LTV:CAC by channel",
    "Customer lifecycle by month",
]
CHART_COUNT = 6  # one figure per section above

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
    ltv_to_cac double, payback_months integer);
create table customers (
    customer_key varchar, cohort_month date, acquisition_channel varchar,
    first_purchase_date date, last_purchase_date date, purchases integer, net_revenue double,
    status varchar, marketing_consent boolean, p_alive double, predicted_ltv_12m double);
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

UNIT_ECONOMICS_ROWS = """
insert into unit_economics_monthly
select cohort_month::date, channel, spend, new_customers, cac, ltv_12m, observed, false,
       ltv_12m / nullif(cac, 0), payback
from (values
    ('2026-01-01', 'all', 400.0, 4, 100.0, 175.0, 2, 0),
    ('2026-01-01', 'google_ads', 300.0, 2, 150.0, 160.0, 2, 2),
    ('2026-01-01', 'organic_search', 0.0, 1, 0.0, 140.0, 2, 0),
    ('2026-02-01', 'all', 300.0, 2, 150.0, 105.0, 1, null),
    ('2026-02-01', 'google_ads', 200.0, 1, 200.0, 120.0, 1, null),
    ('2026-03-01', 'all', 200.0, 1, 200.0, 90.0, 0, null)
) as t(cohort_month, channel, spend, new_customers, cac, ltv_12m, observed, payback);
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

    # Header: 7 customers; blended CAC = last 30 days of 'all' spend (170 + d, d = 60..89:
    # 5,100 + 2,235 = 7,335) over 30 * 10 new customers = 24.45; 3 of 7 repeat = 42.9%;
    # net revenue 300 + 200 + 100 + 100 + 150 + 60 + 90 = 1,000.
    assert _header_cards(html_text) == {
        "Customers": "7",
        "Blended CAC, last 30 days": "24.45 USD",
        "Repeat customers": "42.9%",
        "Net revenue": "1,000 USD",
    }

    # Funnel: entered summed over all days; rates only over window-complete days
    # (the 2026-03-20 rows would pull awareness -> interest down to 11 / 23).
    assert parser.tables["funnel-table"][1:] == [
        ["awareness", "23", "interest", "15", "10", "66.7%"],
        ["interest", "11", "consideration", "10", "6", "60.0%"],
        ["consideration", "6", "intent", "6", "5", "83.3%"],
        ["intent", "5", "purchase", "5", "3", "60.0%"],
        ["purchase", "3", "loyalty", "3", "1", "33.3%"],
        ["loyalty", "1", "–", "–", "–", "–"],
    ]

    # Cohort rows use channel 'all' only (the google_ads cohort has 2 customers).
    for label in ("2026-01 (n=4)", "2026-02 (n=2)", "2026-03 (n=1)"):
        assert label in html_text
    assert "2026-01 (n=2)" not in html_text
    assert '"updatemenus"' in html_text
    for model in MODELS_IN_MENU:
        assert f'"label":"{model}"' in html_text


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
    assert html_text.count("No data yet") == len(SECTION_TITLES)
    for title in SECTION_TITLES:
        assert f"<h2>{title}</h2>" in html_text
    assert set(_header_cards(html_text).values()) == {"n/a"}
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
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"Debian chromium not installed at {CHROMIUM}")
def test_report_renders_in_headless_chromium(marts_db, tmp_path):
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
            page.on(
                "request",
                lambda req: (
                    None
                    if req.url.startswith(("file:", "data:", "blob:", "about:"))
                    else fetched.append(req.url)
                ),
            )
            page.goto(report.as_uri(), wait_until="load")
            page.wait_for_function(
                "n => document.querySelectorAll('.js-plotly-plot').length === n "
                "&& document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
                arg=CHART_COUNT,
                timeout=30_000,
            )

            # Retention heatmap holds the hand-written channel 'all' rates.
            z = page.evaluate("document.getElementById('chart-retention').data[0].z")
            assert z == [[1, 0.25, 0.5], [1, 0.5, None], [1, None, None]]

            # Model selector: google_ads trailing-30-day CAC on the as-of date is
            # (sum of 100 + d, d = 60..89 = 5,235) / (30 days * new customers per day).
            visible_google_cac = """() => document.getElementById('chart-cac').data
                .filter(t => t.name === 'google_ads' && t.visible !== false)
                .map(t => t.y[t.y.length - 1])"""
            labels = page.evaluate(
                "document.getElementById('chart-cac').layout.updatemenus[0].buttons"
                ".map(b => b.label)"
            )
            assert labels == MODELS_IN_MENU
            assert page.evaluate(visible_google_cac) == [pytest.approx(5235 / 60)]
            page.click("#chart-cac .updatemenu-header")
            page.click("#chart-cac .updatemenu-dropdown-button:has-text('first_touch')")
            page.wait_for_function(
                "() => document.getElementById('chart-cac').layout.title.text"
                ".includes('first_touch')"
            )
            assert page.evaluate(visible_google_cac) == [pytest.approx(5235 / 120)]

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
